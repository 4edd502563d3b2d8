#!/usr/bin/env python3
"""A tiny, test-controlled Prometheus exporter for the local control plane.

Tests set gauge series over HTTP and the local Prometheus scrapes GET /metrics
every second, so PromQL queries made by the operator see real scraped samples.

API (all request bodies are JSON):
  PUT    /series      {"name": "m", "labels": {"k": "v"}, "value": 1.5 | "NaN"}
                      sets (creates or replaces) one gauge series
  DELETE /series      {"name": "m", "labels": {"k": "v"}} removes that series
  DELETE /series/all  removes every series
  GET    /series      the current series as JSON (debugging aid)
  GET    /metrics     Prometheus text exposition format 0.0.4
  GET    /healthz     "ok"

Invalid input (bad JSON, bad metric or label name, bad value) gets a 400 with a
one-line message. Only the Python standard library is used.

Usage: metrics_exporter.py --port PORT [--host 127.0.0.1]
"""

import argparse
import json
import math
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_BODY = 1 << 20  # 1 MiB is far more than any test needs
# Strings accepted as a value besides JSON numbers. "NaN" is the contract; the
# infinities cost nothing and are valid sample values in Prometheus.
SPECIAL_VALUES = {"NaN": math.nan, "+Inf": math.inf, "Inf": math.inf, "-Inf": -math.inf}


class BadRequest(Exception):
    """Raised for client errors; the message is returned with a 400."""


class Store:
    """Thread-safe map (name, sorted label pairs) -> float."""

    def __init__(self):
        self._lock = threading.Lock()
        self._series = {}

    def put(self, name, labels, value):
        with self._lock:
            self._series[(name, labels)] = value

    def delete(self, name, labels):
        with self._lock:
            return self._series.pop((name, labels), None) is not None

    def clear(self):
        with self._lock:
            n = len(self._series)
            self._series.clear()
            return n

    def snapshot(self):
        with self._lock:
            return sorted(self._series.items())


def escape_label_value(v):
    # The text format escapes exactly these three characters in label values.
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def render(snapshot):
    lines = []
    current = None
    for (name, labels), value in snapshot:
        if name != current:
            # One TYPE line per metric family; the snapshot is sorted by name,
            # so all series of a family are contiguous as the format requires.
            lines.append("# TYPE %s gauge" % name)
            current = name
        if labels:
            body = ",".join('%s="%s"' % (k, escape_label_value(v)) for k, v in labels)
            lines.append("%s{%s} %s" % (name, body, format_value(value)))
        else:
            lines.append("%s %s" % (name, format_value(value)))
    return "\n".join(lines) + ("\n" if lines else "")


def parse_series(body, need_value):
    """Validates a request body; returns (name, labels-tuple, value-or-None)."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("body is not valid JSON: %s" % e)
    if not isinstance(doc, dict):
        raise BadRequest("body must be a JSON object")
    allowed = {"name", "labels", "value"} if need_value else {"name", "labels"}
    unknown = sorted(set(doc) - allowed)
    if unknown:
        # Rejecting unknown keys catches typos such as "lables" early.
        raise BadRequest("unknown field(s): %s" % ", ".join(unknown))

    name = doc.get("name")
    if not isinstance(name, str) or not METRIC_NAME_RE.match(name):
        raise BadRequest("invalid metric name %r: must match %s" % (name, METRIC_NAME_RE.pattern))

    labels = doc.get("labels", {})
    if labels is None:
        labels = {}
    if not isinstance(labels, dict):
        raise BadRequest("labels must be a JSON object of string values")
    for k, v in labels.items():
        if not LABEL_NAME_RE.match(k) or k.startswith("__"):
            raise BadRequest("invalid label name %r: must match %s and not start with __"
                             % (k, LABEL_NAME_RE.pattern))
        if not isinstance(v, str):
            raise BadRequest("label %r: value must be a string, got %s" % (k, type(v).__name__))
    label_tuple = tuple(sorted(labels.items()))

    value = None
    if need_value:
        if "value" not in doc:
            raise BadRequest("missing field: value")
        raw = doc["value"]
        # bool is a subclass of int in Python; true/false is not a sample value.
        if isinstance(raw, bool):
            raise BadRequest("value must be a number or \"NaN\", got a boolean")
        if isinstance(raw, (int, float)):
            value = float(raw)
        elif isinstance(raw, str) and raw in SPECIAL_VALUES:
            value = SPECIAL_VALUES[raw]
        else:
            raise BadRequest("value must be a number or \"NaN\", got %r" % (raw,))
    return name, label_tuple, value


class Handler(BaseHTTPRequestHandler):
    server_version = "mlops-plane-exporter/1"
    protocol_version = "HTTP/1.1"
    store = Store()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def _send(self, code, body, ctype="application/json"):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, code, obj):
        self._send(code, json.dumps(obj) + "\n")

    def _error(self, code, message):
        self._json(code, {"error": message})

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked_body()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("bad Content-Length")
        if length > MAX_BODY:
            raise BadRequest("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _chunked_body(self):
        # Some HTTP clients stream request bodies; http.server does not decode
        # chunked transfer encoding by itself.
        data = b""
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunked encoding")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return data
            if len(data) + size > MAX_BODY:
                raise BadRequest("body too large")
            data += self.rfile.read(size)
            self.rfile.readline(1024)  # CRLF after each chunk

    def _path(self):
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def do_GET(self):
        path = self._path()
        if path == "/metrics":
            self._send(200, render(self.store.snapshot()),
                       "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/series":
            self._json(200, [{"name": n, "labels": dict(l),
                              "value": format_value(v) if not math.isfinite(v) else v}
                             for (n, l), v in self.store.snapshot()])
        elif path in ("/healthz", "/"):
            self._send(200, "ok\n", "text/plain; charset=utf-8")
        else:
            self._error(404, "no such path: %s" % path)

    do_HEAD = do_GET

    def do_PUT(self):
        try:
            if self._path() != "/series":
                return self._error(404, "PUT is only supported on /series")
            name, labels, value = parse_series(self._body(), need_value=True)
        except BadRequest as e:
            return self._error(400, str(e))
        self.store.put(name, labels, value)
        self._json(200, {"ok": True})

    def do_DELETE(self):
        try:
            path = self._path()
            if path == "/series/all":
                self._body()  # drain any body so keep-alive stays in sync
                return self._json(200, {"ok": True, "removed": self.store.clear()})
            if path != "/series":
                return self._error(404, "DELETE is supported on /series and /series/all")
            name, labels, _ = parse_series(self._body(), need_value=False)
        except BadRequest as e:
            return self._error(400, str(e))
        removed = self.store.delete(name, labels)
        self._json(200, {"ok": True, "removed": 1 if removed else 0})

    def do_POST(self):
        self._error(405, "use PUT /series to set a series")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    sys.stderr.write("metrics exporter listening on http://%s:%d\n" % (args.host, args.port))
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
