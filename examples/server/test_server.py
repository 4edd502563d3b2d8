"""Runs the example model server locally against artifacts the example trainer writes.

Run with Debian's interpreter (it has scikit-learn):
    /usr/bin/python3 -m unittest discover -s examples/server -p "test_*.py" -v
promtool (Debian's prometheus package) checks the metrics exposition.
"""

import hashlib
import http.client
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
TRAINER = os.path.join(HERE, "..", "trainer", "train.py")
sys.path.insert(0, os.path.join(HERE, "..", "trainer"))
import train  # noqa: E402 - the data set and its shift, as the trainer defines them

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def train_model(directory, seed=42, dataset="sklearn://digits"):
    """Trains with the example trainer into `directory`; returns its results (the termination log)."""
    log = os.path.join(directory, "termination-log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    env.update({"MLOPS_SEED": str(seed), "MLOPS_ARTIFACT_URI": "file://" + directory,
                "MLOPS_DATASET_URI": dataset, "MLOPS_TERMINATION_LOG": log,
                "MLOPS_HYPERPARAMETERS": json.dumps({"n_estimators": "20", "max_depth": "10"})})
    proc = subprocess.run([sys.executable, TRAINER], env=env, capture_output=True, text=True, timeout=240)
    if proc.returncode != 0:
        raise AssertionError("trainer failed: %s" % proc.stderr)
    with open(log, encoding="utf-8") as f:
        return json.load(f)


def server_env(uri, digest, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    env.update({"MLOPS_MODEL": "digits", "MLOPS_MODEL_VERSION": "3", "MLOPS_MODEL_URI": uri,
                "MLOPS_MODEL_DIGEST": digest, "MLOPS_LISTEN": "127.0.0.1:0"})
    env.update(extra)
    return env


class Server:
    """server.py in a subprocess on a free loopback port."""

    def __init__(self, env, argv=None):
        self.proc = subprocess.Popen(argv or [sys.executable, SERVER], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self._first_line(timeout=120)
        match = re.search(r" on ([0-9.]+):(\d+)", line)
        if not match:
            self.stop()
            raise AssertionError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.host, self.port = match.group(1), int(match.group(2))

    def _first_line(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if ready else ""

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def predict(self, rows, labels=None):
        body = {"rows": rows}
        if labels is not None:
            body["labels"] = labels
        code, data = self.request("POST", "/predict", json.dumps(body).encode("utf-8"))
        return code, json.loads(data)

    def metrics(self, path="/metrics"):
        code, data = self.request("GET", path)
        assert code == 200, code
        return data.decode("utf-8")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def parse_series(text):
    """{(name, frozenset of label pairs): value} of a text exposition; fails on lines it cannot read."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SERIES.match(line)
        assert match, "unparsable line: %r" % line
        labels = frozenset(LABEL.findall(match.group(2)))
        series[(match.group(1), labels)] = float(match.group(3))
    return series


def value(series, name, **labels):
    """The value of the one series `name` whose labels include `labels`."""
    found = [v for (n, ls), v in series.items() if n == name and set(labels.items()) <= ls]
    assert len(found) == 1, "%d series %s%s" % (len(found), name, labels)
    return found[0]


def rows_of(X, y, indices):
    return X[indices].tolist(), [int(v) for v in y[indices]]


SHARED = {}


def setUpModule():
    # One trained model for every test: training is the slow part.
    tmp = tempfile.TemporaryDirectory()
    artifacts = os.path.join(tmp.name, "digits", "run-1")
    SHARED.update(tmp=tmp, artifacts=artifacts, results=train_model(artifacts))


def tearDownModule():
    SHARED["tmp"].cleanup()


class ServerTestBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = SHARED["tmp"]
        cls.artifacts = SHARED["artifacts"]
        cls.results = SHARED["results"]
        cls.uri = cls.results["artifact"]["uri"]
        cls.digest = cls.results["artifact"]["digest"]
        cls.X, cls.y, _ = train.load_dataset("sklearn://digits")
        cls.X_shifted, _, _ = train.load_dataset("sklearn://digits?shift=1")

    def start(self, **extra):
        server = Server(server_env(self.uri, self.digest, **extra))
        self.addCleanup(server.stop)
        return server


class StartupTest(ServerTestBase):
    def run_server(self, env):
        log = os.path.join(self.tmp.name, "server-termination-log")
        if os.path.exists(log):
            os.unlink(log)
        env["MLOPS_TERMINATION_LOG"] = log
        proc = subprocess.run([sys.executable, SERVER], env=env, capture_output=True, text=True, timeout=120)
        text = ""
        if os.path.exists(log):
            with open(log, encoding="utf-8") as f:
                text = f.read()
        return proc.returncode, proc.stderr, text

    def test_refuses_an_artifact_that_differs_from_its_digest(self):
        wrong = "sha256:" + "0" * 64
        code, stderr, log = self.run_server(server_env(self.uri, wrong))
        self.assertEqual(code, 1)
        self.assertIn("has digest %s but MLOPS_MODEL_DIGEST is %s; refusing to serve" % (self.digest, wrong),
                      stderr)
        self.assertTrue(log.startswith("error: artifact "), log)

    def test_refuses_to_unpickle_without_a_digest(self):
        code, stderr, _ = self.run_server(server_env(self.uri, ""))
        self.assertEqual(code, 1)
        self.assertIn("MLOPS_MODEL_DIGEST is empty; refusing to unpickle", stderr)

    def test_refuses_a_reference_that_is_not_the_one_trained_with(self):
        copy = os.path.join(self.tmp.name, "tampered")
        shutil.copytree(self.artifacts, copy)
        with open(os.path.join(copy, "reference.json"), "a", encoding="utf-8") as f:
            f.write(" ")
        code, stderr, _ = self.run_server(server_env(os.path.join(copy, "model.pkl"), self.digest))
        self.assertEqual(code, 1)
        self.assertIn("but the model was trained with sha256:", stderr)

    def test_reports_a_missing_artifact_and_a_foreign_scheme(self):
        code, stderr, _ = self.run_server(server_env("file:///nonexistent/model.pkl", self.digest))
        self.assertEqual(code, 1)
        self.assertIn("cannot read the artifact /nonexistent/model.pkl", stderr)
        code, stderr, _ = self.run_server(server_env("s3://bucket/model.pkl", self.digest))
        self.assertEqual(code, 1)
        self.assertIn("scheme 's3' is out of scope", stderr)

    def test_loads_a_verified_artifact_from_a_plain_path(self):
        server = Server(server_env(self.uri[len("file://"):], self.digest))
        self.addCleanup(server.stop)
        self.assertEqual(server.request("GET", "/healthz")[0], 200)
        self.assertEqual(server.request("GET", "/readyz")[0], 200)
        self.assertEqual(server.stop(), 0)  # SIGTERM ends it cleanly


class PredictTest(ServerTestBase):
    def test_predicts_and_counts_online_accuracy(self):
        server = self.start()
        rows, labels = rows_of(self.X, self.y, list(range(0, 1797, 9)))
        code, body = server.predict(rows, labels)
        self.assertEqual(code, 200, body)
        self.assertEqual((body["model"], body["version"]), ("digits", "3"))
        self.assertEqual(len(body["predictions"]), len(rows))
        right = sum(p == t for p, t in zip(body["predictions"], labels))
        self.assertGreater(right / len(rows), 0.9)
        series = parse_series(server.metrics())
        self.assertEqual(value(series, "model_online_accuracy"), right / len(rows))
        self.assertEqual(value(series, "model_labelled_predictions_total"), len(rows))
        self.assertEqual(value(series, "model_correct_predictions_total"), right)
        # Unlabelled rows are predicted and counted, not scored.
        code, body = server.predict(rows[:3])
        self.assertEqual(code, 200)
        series = parse_series(server.metrics())
        self.assertEqual(value(series, "model_predictions_total"), len(rows) + 3)
        self.assertEqual(value(series, "model_labelled_predictions_total"), len(rows))

    def test_rejects_malformed_requests_with_400(self):
        server = self.start()
        cases = [b"not json", b"{}", b'{"rows": []}', b'{"rows": [[1, 2]]}',
                 json.dumps({"rows": [[0.0] * 64], "labels": [1, 2]}).encode(),
                 json.dumps({"rows": [[True] * 64]}).encode()]
        for body in cases:
            with self.subTest(body=body[:40]):
                code, data = server.request("POST", "/predict", body)
                self.assertEqual(code, 400, data)
                self.assertIn("error", json.loads(data))
        self.assertEqual(server.request("GET", "/nowhere")[0], 404)
        # Too large a body is refused on its Content-Length, before it is read.
        conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
        conn.putrequest("POST", "/predict")
        conn.putheader("Content-Length", str(5 << 20))
        conn.endheaders()
        response = conn.getresponse()
        self.assertEqual(response.status, 413)
        conn.close()
        series = parse_series(server.metrics())
        self.assertEqual(value(series, "http_errors_total", handler="predict", code="413"), 1)
        self.assertEqual(value(series, "http_requests_total", handler="predict", code="400"), len(cases))
        self.assertEqual(value(series, "http_errors_total", handler="predict", code="400"), len(cases))
        self.assertEqual(value(series, "http_errors_total", handler="other", code="404"), 1)

    def test_latency_figure(self):
        server = self.start()
        row, label = rows_of(self.X, self.y, [5])
        server.predict(row, label)  # warm-up
        times = []
        for _ in range(40):
            start = time.perf_counter()
            code, _ = server.predict(row, label)
            times.append(time.perf_counter() - start)
            self.assertEqual(code, 200)
        times.sort()
        print("\n[figure] example server: one-row /predict p50 %.1f ms, max %.1f ms over %d requests "
              "(20 trees, loopback)" % (times[len(times) // 2] * 1000, times[-1] * 1000, len(times)))


class MetricsTest(ServerTestBase):
    def test_exposition_parses_and_labels_every_series_with_model_and_version(self):
        server = self.start(MLOPS_METRICS_PATH="/custom-metrics", MLOPS_DRIFT_MIN_ROWS="10")
        rows, labels = rows_of(self.X, self.y, list(range(20)))
        self.assertEqual(server.predict(rows, labels)[0], 200)
        self.assertEqual(server.request("GET", "/metrics")[0], 404)  # only the configured path
        text = server.metrics("/custom-metrics")
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian package prometheus, hack/install-deps.sh) is missing")
        check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                               timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        series = parse_series(text)
        for (name, labels), _ in series.items():
            self.assertIn(("model", "digits"), labels, name)
            self.assertIn(("version", "3"), labels, name)
        names = {name for name, _ in series}
        for name in ("http_requests_total", "http_request_duration_seconds_bucket",
                     "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
                     "model_predictions_total", "model_online_accuracy", "model_input_psi",
                     "model_input_psi_max", "model_input_psi_mean", "model_drift_window_rows", "model_info"):
            self.assertIn(name, names)
        self.assertEqual(value(series, "http_request_duration_seconds_bucket", handler="predict", le="+Inf"), 1)
        self.assertEqual(len([1 for n, _ in series if n == "model_input_psi"]), 64)
        self.assertEqual(value(series, "model_input_psi", feature="pixel_3_4") >= 0, True)
        self.assertEqual(value(series, "model_info", digest=self.digest), 1)

    def test_drift_and_accuracy_are_nan_before_enough_rows(self):
        server = self.start(MLOPS_DRIFT_MIN_ROWS="50")
        series = parse_series(server.metrics())
        self.assertNotEqual(value(series, "model_online_accuracy"), value(series, "model_online_accuracy"))
        rows, _ = rows_of(self.X, self.y, list(range(49)))
        server.predict(rows)
        series = parse_series(server.metrics())
        self.assertNotEqual(value(series, "model_input_psi_max"), value(series, "model_input_psi_max"))
        self.assertEqual(value(series, "model_drift_window_rows"), 49)


class DriftTest(ServerTestBase):
    def test_psi_is_near_zero_in_distribution_and_large_when_shifted(self):
        import numpy as np

        server = self.start(MLOPS_DRIFT_WINDOW="600")
        rng = np.random.default_rng(7)
        for _ in range(6):
            rows, labels = rows_of(self.X, self.y, rng.integers(0, len(self.X), 100))
            self.assertEqual(server.predict(rows, labels)[0], 200)
        series = parse_series(server.metrics())
        calm_max, calm_mean = value(series, "model_input_psi_max"), value(series, "model_input_psi_mean")
        calm_accuracy = value(series, "model_online_accuracy")
        # The window forgets: 600 shifted rows replace the 600 in-distribution ones.
        for _ in range(6):
            rows, labels = rows_of(self.X_shifted, self.y, rng.integers(0, len(self.X), 100))
            self.assertEqual(server.predict(rows, labels)[0], 200)
        series = parse_series(server.metrics())
        drift_max, drift_mean = value(series, "model_input_psi_max"), value(series, "model_input_psi_mean")
        print("\n[figure] example server PSI over 600 rows: in distribution max %.3f mean %.3f; "
              "shifted by 1 sd max %.3f mean %.3f; online accuracy %.3f -> %.3f"
              % (calm_max, calm_mean, drift_max, drift_mean, calm_accuracy, value(series, "model_online_accuracy")))
        self.assertLess(calm_mean, 0.05)
        self.assertLess(calm_max, 0.2)  # 0.2: the usual "significant shift" bound of PSI
        self.assertGreater(drift_mean, 0.5)
        self.assertGreater(drift_max, 1.0)
        self.assertEqual(value(series, "model_drift_window_rows"), 600)

    def test_a_model_trained_on_the_shifted_data_sees_no_drift_in_it(self):
        import numpy as np

        retrained_dir = os.path.join(self.tmp.name, "digits", "retrained")
        results = train_model(retrained_dir, dataset="sklearn://digits?shift=1")
        server = Server(server_env(results["artifact"]["uri"], results["artifact"]["digest"],
                                   MLOPS_DRIFT_WINDOW="600"))
        self.addCleanup(server.stop)
        rng = np.random.default_rng(8)
        for _ in range(6):
            rows, labels = rows_of(self.X_shifted, self.y, rng.integers(0, len(self.X), 100))
            self.assertEqual(server.predict(rows, labels)[0], 200)
        series = parse_series(server.metrics())
        self.assertLess(value(series, "model_input_psi_mean"), 0.05)
        self.assertGreater(value(series, "model_online_accuracy"), 0.9)


class FaultTest(ServerTestBase):
    def test_fault_switch_answers_the_configured_share_with_500(self):
        server = self.start(MLOPS_FAULT_ERROR_SHARE="0.3")
        rows, labels = rows_of(self.X, self.y, [1, 2])
        codes = [server.predict(rows, labels)[0] for _ in range(50)]
        self.assertEqual(codes.count(500), 15)
        self.assertEqual(codes.count(200), 35)
        series = parse_series(server.metrics())
        self.assertEqual(value(series, "http_requests_total", handler="predict", code="500"), 15)
        self.assertEqual(value(series, "http_errors_total", handler="predict", code="500"), 15)
        self.assertEqual(value(series, "http_requests_total", handler="predict", code="200"), 35)

    def test_rejects_a_bad_fault_setting(self):
        proc = subprocess.run([sys.executable, SERVER],
                              env=server_env(self.uri, self.digest, MLOPS_FAULT_ERROR_SHARE="1.5",
                                             MLOPS_TERMINATION_LOG=os.devnull),
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("MLOPS_FAULT_ERROR_SHARE='1.5' is outside [0.0, 1.0]", proc.stderr)


if __name__ == "__main__":
    unittest.main()
