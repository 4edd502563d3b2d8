"""Checks the load generator: which targets it refuses, and traffic against the example server.

Run with Debian's interpreter (it has scikit-learn):
    /usr/bin/python3 -m unittest discover -s examples/loadgen -p "test_*.py" -v
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LOADGEN = os.path.join(HERE, "loadgen.py")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
sys.path.insert(0, os.path.join(HERE, "..", "trainer"))
import loadgen  # noqa: E402
import test_server  # noqa: E402 - its trainer and server helpers
import train  # noqa: E402


def run_loadgen(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if k != "MLOPS_LOADGEN_ALLOW"}
    environment.update(env or {})
    return subprocess.run([sys.executable, LOADGEN, "--report-every", "0"] + list(args), env=environment,
                          capture_output=True, text=True, timeout=300)


class TargetTest(unittest.TestCase):
    def setUp(self):
        os.environ.pop("MLOPS_LOADGEN_ALLOW", None)

    def test_refuses_anything_but_loopback_and_the_cluster_ip_range(self):
        networks = loadgen.allowed_networks([])
        for url in ("http://8.8.8.8:80", "http://192.168.1.10:8080", "http://10.0.1.5:8080",
                    "http://172.17.0.2:8080", "http://[2001:db8::1]:8080", "http://example.com",
                    "http://127.0.0.1.nip.io:8080", "https://127.0.0.1:8443", "ftp://127.0.0.1",
                    "http://:8080"):
            with self.subTest(url=url):
                with self.assertRaises(loadgen.Refused):
                    loadgen.check_target(url, networks)

    def test_allows_loopback_cluster_ips_and_named_networks(self):
        networks = loadgen.allowed_networks([])
        self.assertEqual(loadgen.check_target("http://127.0.0.1:8080", networks), ("127.0.0.1", 8080, ""))
        self.assertEqual(loadgen.check_target("http://localhost:9", networks), ("127.0.0.1", 9, ""))
        self.assertEqual(loadgen.check_target("http://[::1]:8080/", networks), ("::1", 8080, ""))
        self.assertEqual(loadgen.check_target("http://10.0.0.17", networks), ("10.0.0.17", 80, ""))
        extra = loadgen.allowed_networks(["10.88.0.0/24"])
        self.assertEqual(loadgen.check_target("http://10.88.0.5:8080/v1", extra), ("10.88.0.5", 8080, "/v1"))
        os.environ["MLOPS_LOADGEN_ALLOW"] = "10.89.0.0/24"
        try:
            self.assertEqual(loadgen.check_target("http://10.89.0.5:8080", loadgen.allowed_networks([]))[0],
                             "10.89.0.5")
        finally:
            del os.environ["MLOPS_LOADGEN_ALLOW"]

    def test_command_line_refuses_before_sending(self):
        proc = run_loadgen("--url", "http://192.168.1.10:8080", "--requests", "1")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("refused: 192.168.1.10 is not loopback", proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_shift_is_the_trainers(self):
        X, y = loadgen.load_rows("sklearn://digits", 1.5)
        X2, y2, _ = train.load_dataset("sklearn://digits?shift=1.5")
        self.assertEqual(X.tolist(), X2.tolist())
        self.assertEqual(y.tolist(), y2.tolist())


class ConnectionTest(unittest.TestCase):
    """Through a Service each connection lands on one pod: --reconnect-every spreads them."""

    def connections_for(self, reconnect_every, requests=6):
        import http.server
        import threading

        peers = set()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the example server

            def do_POST(self):
                peers.add(self.client_address)
                self.rfile.read(int(self.headers["Content-Length"]))
                body = b'{"predictions": []}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            client = loadgen.Client("127.0.0.1", server.server_address[1], 5, reconnect_every)
            codes = [client.post("/predict", b"{}")[0] for _ in range(requests)]
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(codes, [200] * requests)
        return len(peers)

    def test_one_connection_by_default(self):
        self.assertEqual(self.connections_for(0), 1)

    def test_reconnect_every_opens_new_connections(self):
        self.assertEqual(self.connections_for(1), 6)
        self.assertEqual(self.connections_for(2), 3)


class TrafficTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        results = test_server.train_model(os.path.join(cls.tmp.name, "model"))
        cls.server = test_server.Server(test_server.server_env(
            results["artifact"]["uri"], results["artifact"]["digest"], MLOPS_DRIFT_WINDOW="500"))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_labelled_traffic_then_a_shift_raises_psi(self):
        url = "http://%s:%d" % (self.server.host, self.server.port)
        proc = run_loadgen("--url", url, "--requests", "25", "--rate", "200", "--batch", "20", "--seed", "3")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        calm = json.loads(proc.stdout)
        self.assertEqual(calm["codes"], {"200": 25})
        self.assertEqual(calm["rows"], 500)
        self.assertGreater(calm["accuracy"], 0.9)
        series = test_server.parse_series(self.server.metrics())
        calm_psi = test_server.value(series, "model_input_psi_mean")
        self.assertEqual(test_server.value(series, "model_labelled_predictions_total"), 500)
        self.assertLess(calm_psi, 0.05)

        proc = run_loadgen("--url", url, "--requests", "25", "--rate", "200", "--batch", "20", "--seed", "4",
                           "--shift", "1.5")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        shifted = json.loads(proc.stdout)
        series = test_server.parse_series(self.server.metrics())
        shifted_psi = test_server.value(series, "model_input_psi_mean")
        print("\n[figure] loadgen 25x20 rows: PSI mean %.3f -> %.3f with --shift 1.5; client accuracy "
              "%.3f -> %.3f; client p50 %.1f ms" % (calm_psi, shifted_psi, calm["accuracy"],
                                                    shifted["accuracy"], calm["p50_ms"]))
        self.assertGreater(shifted_psi, 0.5)
        self.assertLess(shifted["accuracy"], calm["accuracy"])


if __name__ == "__main__":
    unittest.main()
