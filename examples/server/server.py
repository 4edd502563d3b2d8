#!/usr/bin/python3
"""Example model server for mlops-operator: serves one ModelVersion's scikit-learn model.

Reads, from the environment the operator sets on the serving container:
  MLOPS_MODEL, MLOPS_MODEL_VERSION   identity; the `model` and `version` label of every series
  MLOPS_MODEL_URI                    the artifact: file:///path/model.pkl or a plain path
  MLOPS_MODEL_DIGEST                 sha256:<hex> of that file; the server refuses to start when
                                     the file differs, or when no digest is given (unpickling
                                     unverified bytes would run whatever they contain)
and, optionally, from the pod template:
  MLOPS_LISTEN                       address:port to listen on (default 0.0.0.0:8080, the
                                     operator's default serving port)
  MLOPS_METRICS_PATH                 where Prometheus scrapes (default /metrics, as the
                                     ModelVersion's serving.metricsPath)
  MLOPS_DRIFT_WINDOW                 rows the drift statistic looks back over (default 1000)
  MLOPS_DRIFT_MIN_ROWS               rows needed before it is reported (default 100; NaN before)
  MLOPS_ACCURACY_WINDOW              labelled rows online accuracy looks back over (default 1000)
  MLOPS_FAULT_ERROR_SHARE            fault switch: this share (0..1) of prediction requests is
                                     answered 500, spread evenly (every request n where
                                     floor(n*share) grows), to build a broken version
  MLOPS_FAULT_DELAY_SECONDS          fault switch: added to every prediction request
  MLOPS_TERMINATION_LOG              where a fatal start-up error is also written
                                     (default /dev/termination-log, if writable)

HTTP:
  POST /predict  {"rows": [[f1, f2, ...], ...], "labels": [y1, ...]}  ("labels" optional)
                 -> {"predictions": [...], "model": ..., "version": ...}
                 Labels feed the online accuracy; every row feeds the drift statistic.
  GET /healthz   200 while the process serves
  GET /readyz    200 once the model is loaded, 503 while shutting down (SIGTERM)
  GET /metrics   Prometheus text format (version 0.0.4)

Metrics (each series labelled model and version; scrapes and probes are not counted):
  http_requests_total{handler,code}                  counter
  http_errors_total{handler,code}                    counter, codes >= 400
  http_request_duration_seconds{handler}             histogram
  model_predictions_total                            counter, rows predicted
  model_labelled_predictions_total                   counter, rows that came with a label
  model_correct_predictions_total                    counter, of those, predicted right
  model_online_accuracy                              gauge, over the last MLOPS_ACCURACY_WINDOW
                                                     labelled rows (NaN before the first)
  model_input_psi{feature}                           gauge, population stability index of the
                                                     last MLOPS_DRIFT_WINDOW rows against the
                                                     training reference, per feature
  model_input_psi_max, model_input_psi_mean          gauge, over the features
  model_drift_window_rows                            gauge, rows in the drift window
  model_info{digest}                                 gauge, 1

The drift reference is reference.json beside the model file, written by
examples/trainer; the model's mlops_reference_sha256_ attribute (covered by
the artifact digest) must match it. Without a reference the server serves and
reports no drift series.
"""

import hashlib
import json
import math
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

MAX_BODY_BYTES = 4 << 20
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REFERENCE_FILE = "reference.json"


class StartupError(Exception):
    """The server cannot serve this version; the message says why."""


class BadRequest(Exception):
    pass


def env_number(name, default, kind=float, low=None, high=None):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise StartupError("%s=%r is not a %s" % (name, raw, kind.__name__))
    if (low is not None and value < low) or (high is not None and value > high) or \
            (kind is float and not math.isfinite(value)):
        raise StartupError("%s=%r is outside [%s, %s]" % (name, raw, low, high))
    return value


def artifact_path(uri):
    if not uri:
        raise StartupError("MLOPS_MODEL_URI is empty")
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise StartupError("MLOPS_MODEL_URI %r names a host; use file:///path" % uri)
        return unquote(parsed.path)
    if parsed.scheme == "":
        return uri
    raise StartupError("MLOPS_MODEL_URI scheme %r is out of scope of this example server: mount the "
                       "artifact volume and use a file:// URI or a path" % parsed.scheme)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def load_model(uri, digest):
    """(model, reference or None) after checking the artifact against its digest."""
    path = artifact_path(uri)
    if not digest:
        raise StartupError("MLOPS_MODEL_DIGEST is empty; refusing to unpickle %s unverified" % path)
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise StartupError("MLOPS_MODEL_DIGEST %r is not sha256:<64 hex digits>" % digest)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise StartupError("cannot read the artifact %s: %s" % (path, e.strerror or e))
    actual = "sha256:" + sha256_hex(data)
    if actual != digest.lower():
        raise StartupError("artifact %s has digest %s but MLOPS_MODEL_DIGEST is %s; refusing to serve"
                           % (path, actual, digest))
    try:
        model = pickle.loads(data)
    except Exception as e:  # anything unpickling raises means the same: not a model
        raise StartupError("artifact %s does not unpickle: %s" % (path, e))
    if not hasattr(model, "predict") or not hasattr(model, "n_features_in_"):
        raise StartupError("artifact %s is not a fitted scikit-learn estimator" % path)

    reference_path = os.path.join(os.path.dirname(path), REFERENCE_FILE)
    expected = getattr(model, "mlops_reference_sha256_", None)
    try:
        with open(reference_path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        if expected:
            raise StartupError("the model names a drift reference but %s is missing" % reference_path)
        print("warning: no %s; serving without drift statistics" % reference_path, file=sys.stderr)
        return model, None
    if expected and sha256_hex(raw) != expected:
        raise StartupError("%s has digest sha256:%s but the model was trained with sha256:%s"
                           % (reference_path, sha256_hex(raw), expected))
    if not expected:
        print("warning: the model does not pin %s's digest; using it unverified" % reference_path,
              file=sys.stderr)
    try:
        reference = json.loads(raw)
    except ValueError as e:
        raise StartupError("%s is not JSON: %s" % (reference_path, e))
    if len(reference.get("features", [])) != model.n_features_in_:
        raise StartupError("%s describes %d features; the model takes %d"
                           % (reference_path, len(reference.get("features", [])), model.n_features_in_))
    return model, reference


def population_stability_index(observed, expected, observed_rows, expected_rows):
    """PSI of counts `observed` against shares `expected`; zero cells get half a row (smoothing)."""
    import numpy as np

    p = np.maximum(observed / observed_rows, 0.5 / observed_rows)
    q = np.maximum(np.asarray(expected, dtype=float), 0.5 / expected_rows)
    return float(np.sum((p - q) * np.log(p / q)))


class DriftWindow:
    """Bin counts of the last `size` rows per feature, against the training reference."""

    def __init__(self, reference, size):
        import numpy as np

        self.np = np
        self.features = reference["features"]
        self.reference_rows = max(int(reference.get("rows", 1)), 1)
        self.edges = [np.asarray(f["edges"], dtype=float) for f in self.features]
        self.bins = np.zeros((size, len(self.features)), dtype=np.int16)
        self.counts = [np.zeros(len(f["proportions"]), dtype=np.int64) for f in self.features]
        self.size = size
        self.filled = 0
        self.next = 0

    def add(self, rows):
        np = self.np
        rows = rows[-self.size:]
        bins = np.empty((rows.shape[0], len(self.features)), dtype=np.int16)
        for j, edges in enumerate(self.edges):
            bins[:, j] = np.searchsorted(edges, rows[:, j], side="right")
        for row in bins:
            if self.filled == self.size:
                for j, b in enumerate(self.bins[self.next]):
                    self.counts[j][b] -= 1
            else:
                self.filled += 1
            self.bins[self.next] = row
            for j, b in enumerate(row):
                self.counts[j][b] += 1
            self.next = (self.next + 1) % self.size

    def psi(self):
        """[(feature name, PSI)], over the rows in the window."""
        return [(f["name"], population_stability_index(self.counts[j], f["proportions"], self.filled,
                                                       self.reference_rows))
                for j, f in enumerate(self.features)]


class State:
    """Everything the handlers share; one lock."""

    def __init__(self, config, model, reference):
        self.config = config
        self.model = model
        self.lock = threading.Lock()
        self.ready = True
        self.requests = {}  # (handler, code) -> count
        self.latency = {}  # handler -> [bucket counts..., sum, count]
        self.predictions = 0
        self.labelled = 0
        self.correct = 0
        self.recent_labelled = deque(maxlen=config["accuracy_window"])
        self.drift = DriftWindow(reference, config["drift_window"]) if reference else None
        self.fault_count = 0

    def inject_fault(self):
        """True when this prediction request is one the fault switch answers with 500."""
        share = self.config["fault_error_share"]
        with self.lock:
            self.fault_count += 1
            n = self.fault_count
        return math.floor(n * share) > math.floor((n - 1) * share)

    def observe(self, handler, code, seconds):
        with self.lock:
            self.requests[(handler, code)] = self.requests.get((handler, code), 0) + 1
            h = self.latency.setdefault(handler, [0] * (len(LATENCY_BUCKETS) + 2))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    h[i] += 1
            h[-2] += seconds
            h[-1] += 1

    def record_predictions(self, rows, predictions, labels):
        with self.lock:
            self.predictions += len(predictions)
            if labels is not None:
                for predicted, label in zip(predictions, labels):
                    right = predicted == label
                    self.labelled += 1
                    self.correct += int(right)
                    self.recent_labelled.append(right)
            if self.drift is not None:
                self.drift.add(rows)

    def exposition(self):
        c = self.config
        base = 'model="%s",version="%s"' % (escape(c["model"]), escape(c["version"]))
        out = []

        def family(name, kind, text):
            out.append("# HELP %s %s\n# TYPE %s %s\n" % (name, text, name, kind))

        def sample(name, labels, value):
            out.append("%s{%s} %s\n" % (name, labels, number(value)))

        with self.lock:
            family("http_requests_total", "counter", "Prediction API requests by handler and status code.")
            for (handler, code), n in sorted(self.requests.items()):
                sample("http_requests_total", '%s,handler="%s",code="%d"' % (base, handler, code), n)
            family("http_errors_total", "counter", "Prediction API requests answered with a status >= 400.")
            for (handler, code), n in sorted(self.requests.items()):
                if code >= 400:
                    sample("http_errors_total", '%s,handler="%s",code="%d"' % (base, handler, code), n)
            family("http_request_duration_seconds", "histogram", "Prediction API request latency.")
            for handler, h in sorted(self.latency.items()):
                labels = '%s,handler="%s"' % (base, handler)
                for i, bound in enumerate(LATENCY_BUCKETS):
                    sample("http_request_duration_seconds_bucket", '%s,le="%s"' % (labels, number(bound)), h[i])
                sample("http_request_duration_seconds_bucket", '%s,le="+Inf"' % labels, h[-1])
                sample("http_request_duration_seconds_sum", labels, h[-2])
                sample("http_request_duration_seconds_count", labels, h[-1])
            family("model_predictions_total", "counter", "Rows predicted.")
            sample("model_predictions_total", base, self.predictions)
            family("model_labelled_predictions_total", "counter", "Rows predicted that came with a label.")
            sample("model_labelled_predictions_total", base, self.labelled)
            family("model_correct_predictions_total", "counter", "Labelled rows predicted right.")
            sample("model_correct_predictions_total", base, self.correct)
            family("model_online_accuracy", "gauge",
                   "Accuracy over the last %d labelled rows (NaN before the first)." % c["accuracy_window"])
            recent = self.recent_labelled
            sample("model_online_accuracy", base, sum(recent) / len(recent) if recent else math.nan)
            if self.drift is not None:
                enough = self.drift.filled >= c["drift_min_rows"]
                values = self.drift.psi() if enough else [(f["name"], math.nan) for f in self.drift.features]
                psis = [v for _, v in values]
                family("model_input_psi", "gauge", "Population stability index of the last %d input rows "
                       "against the training reference, per feature (NaN below %d rows)."
                       % (c["drift_window"], c["drift_min_rows"]))
                for name, value in values:
                    sample("model_input_psi", '%s,feature="%s"' % (base, escape(name)), value)
                family("model_input_psi_max", "gauge", "Largest per-feature population stability index.")
                sample("model_input_psi_max", base, max(psis) if enough else math.nan)
                family("model_input_psi_mean", "gauge", "Mean per-feature population stability index.")
                sample("model_input_psi_mean", base, sum(psis) / len(psis) if enough else math.nan)
                family("model_drift_window_rows", "gauge", "Input rows in the drift window.")
                sample("model_drift_window_rows", base, self.drift.filled)
            family("model_info", "gauge", "The served version; always 1.")
            sample("model_info", '%s,digest="%s"' % (base, escape(c["digest"])), 1)
        return "".join(out).encode("utf-8")


def escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value):
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


def parse_predict_body(body, n_features):
    """(rows as a float array, labels or None) of a /predict body; BadRequest says what is wrong."""
    import numpy as np

    try:
        request = json.loads(body)
    except ValueError as e:
        raise BadRequest("body is not JSON: %s" % e)
    if not isinstance(request, dict) or not isinstance(request.get("rows"), list) or not request["rows"]:
        raise BadRequest('body must be {"rows": [[...], ...], "labels": [...]} with at least one row')
    rows = request["rows"]
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != n_features or \
                not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            raise BadRequest("rows[%d] must be a list of %d numbers" % (i, n_features))
    array = np.asarray(rows, dtype=float)
    if not np.all(np.isfinite(array)):
        raise BadRequest("rows must hold finite numbers")
    labels = request.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or len(labels) != len(rows):
            raise BadRequest("labels must be a list with one label per row")
    return array, labels


def plain(value):
    """A numpy scalar as the JSON value it stands for."""
    return value.item() if hasattr(value, "item") else value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mlops-example-server"
    # Headers and body go out in two writes; without TCP_NODELAY the second
    # waits for the client's delayed ACK (about 40 ms on Linux).
    disable_nagle_algorithm = True
    state = None  # set by make_server

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # one line per request would drown the pod log; metrics count them

    def send(self, code, body, content_type="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, code, obj):
        self.send(code, json.dumps(obj).encode("utf-8"))

    def do_GET(self):
        path = urlparse(self.path).path
        if path == self.state.config["metrics_path"]:
            self.send(200, self.state.exposition(), "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/healthz":
            self.send(200, b"ok\n", "text/plain")
        elif path == "/readyz":
            ready = self.state.ready
            self.send(200 if ready else 503, b"ready\n" if ready else b"shutting down\n", "text/plain")
        else:
            self.timed("other", lambda: (404, {"error": "not found"}))

    def do_POST(self):
        if urlparse(self.path).path == "/predict":
            self.timed("predict", self.predict)
        else:
            self.timed("other", lambda: (404, {"error": "not found"}))

    def timed(self, handler, work):
        start = time.perf_counter()
        code, obj = work()
        # Counted before the answer leaves, so a client that got its answer
        # finds the request in the next scrape.
        self.state.observe(handler, code, time.perf_counter() - start)
        self.send_json(code, obj)

    def predict(self):
        state = self.state
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return 413, {"error": "body larger than %d bytes" % MAX_BODY_BYTES}
        body = self.rfile.read(length)
        if state.config["fault_delay_seconds"]:
            time.sleep(state.config["fault_delay_seconds"])
        if state.config["fault_error_share"] and state.inject_fault():
            return 500, {"error": "injected fault (MLOPS_FAULT_ERROR_SHARE)"}
        try:
            rows, labels = parse_predict_body(body, state.model.n_features_in_)
        except BadRequest as e:
            return 400, {"error": str(e)}
        try:
            predictions = [plain(p) for p in state.model.predict(rows)]
        except Exception as e:  # the model's own failure; the client's input passed our checks
            return 500, {"error": "prediction failed: %s" % e}
        state.record_predictions(rows, predictions, labels)
        return 200, {"predictions": predictions, "model": state.config["model"],
                     "version": state.config["version"]}


def read_config():
    listen = os.environ.get("MLOPS_LISTEN") or "0.0.0.0:8080"
    host, _, port = listen.rpartition(":")
    try:
        port = int(port)
    except ValueError:
        raise StartupError("MLOPS_LISTEN=%r is not address:port" % listen)
    return {
        "model": os.environ.get("MLOPS_MODEL", ""),
        "version": os.environ.get("MLOPS_MODEL_VERSION", ""),
        "uri": os.environ.get("MLOPS_MODEL_URI", ""),
        "digest": os.environ.get("MLOPS_MODEL_DIGEST", ""),
        "host": host.strip("[]") or "0.0.0.0",
        "port": port,
        "metrics_path": os.environ.get("MLOPS_METRICS_PATH") or "/metrics",
        "drift_window": env_number("MLOPS_DRIFT_WINDOW", 1000, int, 1, 1 << 20),
        "drift_min_rows": env_number("MLOPS_DRIFT_MIN_ROWS", 100, int, 1),
        "accuracy_window": env_number("MLOPS_ACCURACY_WINDOW", 1000, int, 1, 1 << 20),
        "fault_error_share": env_number("MLOPS_FAULT_ERROR_SHARE", 0.0, float, 0.0, 1.0),
        "fault_delay_seconds": env_number("MLOPS_FAULT_DELAY_SECONDS", 0.0, float, 0.0, 60.0),
    }


def make_server(config, model, reference):
    state = State(config, model, reference)
    handler = type("BoundHandler", (Handler,), {"state": state})
    ThreadingHTTPServer.allow_reuse_address = True
    if ":" in config["host"]:
        import socket

        class Server6(ThreadingHTTPServer):
            address_family = socket.AF_INET6
        server = Server6((config["host"], config["port"]), handler)
    else:
        server = ThreadingHTTPServer((config["host"], config["port"]), handler)
    server.daemon_threads = True
    return server, state


def report_fatal(message):
    print(message, file=sys.stderr)
    try:
        with open(os.environ.get("MLOPS_TERMINATION_LOG") or "/dev/termination-log", "w") as f:
            f.write(message[:1000])
    except OSError:
        pass


def main():
    try:
        config = read_config()
        model, reference = load_model(config["uri"], config["digest"])
        server, state = make_server(config, model, reference)
    except StartupError as e:
        report_fatal("error: %s" % e)
        return 1
    except OSError as e:
        report_fatal("error: cannot listen on %s:%d: %s" % (config["host"], config["port"], e))
        return 1

    def stop(signum, frame):
        state.ready = False
        # shutdown() waits for serve_forever, which runs in this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    # One line tests and people wait for: the port really bound (MLOPS_LISTEN may say :0).
    print("serving model %s version %s (%s) on %s:%d%s" % (
        config["model"] or "?", config["version"] or "?", config["digest"], host, port,
        "" if reference else ", no drift reference"), flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
