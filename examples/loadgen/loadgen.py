#!/usr/bin/python3
"""Load generator for examples/server: labelled prediction traffic at a given rate.

    loadgen.py --url http://10.0.0.17:8080 --rate 20 --duration 60 [--shift 1.5]

Each request POSTs --batch rows, drawn (seeded) from the same scikit-learn
data set the trainer learns from, with their labels, to <url>/predict. --shift
moves every feature by that many of its standard deviations, exactly as the
trainer's MLOPS_DATASET_URI sklearn://<name>?shift=<s> does, so the server's
population stability index rises and a model retrained on the shifted data
fits the shifted traffic again.

Safety: traffic goes only to loopback and, by default, to the local plane's
ClusterIP range (10.0.0.0/24, its --service-cluster-ip-range). Pod addresses
on the plane's bridge are allowed with --allow-cidr (or MLOPS_LOADGEN_ALLOW,
comma-separated CIDRs). The host must be an IP literal or "localhost": no name
is ever resolved, and any other target is refused before anything is sent.

stderr: a progress line every --report-every seconds. stdout: one JSON summary
({"requests", "codes", "rows", "accuracy", "p50_ms", "p99_ms", "seconds"}).
Exit code 0 when every request was sent (whatever the answers), 2 on bad usage
or a refused target.
"""

import argparse
import http.client
import ipaddress
import json
import os
import sys
import time
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ALLOWED = ("127.0.0.0/8", "::1/128", "10.0.0.0/24")


class Refused(Exception):
    pass


def allowed_networks(extra):
    cidrs = list(DEFAULT_ALLOWED) + list(extra)
    cidrs += [c for c in os.environ.get("MLOPS_LOADGEN_ALLOW", "").split(",") if c.strip()]
    networks = []
    for c in cidrs:
        try:
            networks.append(ipaddress.ip_network(c.strip(), strict=False))
        except ValueError:
            raise Refused("%r is not a CIDR" % c)
    return networks


def check_target(url, networks):
    """(host, port, path prefix) of an allowed http:// URL; Refused otherwise."""
    parsed = urlparse(url)
    if parsed.scheme != "http":
        raise Refused("only http:// URLs are supported, got %r" % url)
    host = parsed.hostname
    if not host:
        raise Refused("%r has no host" % url)
    try:
        port = parsed.port or 80
    except ValueError:
        raise Refused("%r has a bad port" % url)
    if host == "localhost":
        address = ipaddress.ip_address("127.0.0.1")
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise Refused("%r is not an IP address; names are not resolved (use the ClusterIP, a pod IP "
                          "or loopback)" % host)
    if not any(address.version == n.version and address in n for n in networks):
        raise Refused("%s is not loopback, the plane's ClusterIP range or an --allow-cidr network (%s)"
                      % (address, ", ".join(str(n) for n in networks)))
    return str(address), port, parsed.path.rstrip("/")


def load_rows(dataset, shift):
    """(X, y) of the data set as the trainer loads it, shifted by `shift` standard deviations."""
    sys.path.insert(0, os.path.join(HERE, "..", "trainer"))
    import train  # examples/trainer/train.py: one definition of the data and the shift

    uri = dataset if not shift else "%s%sshift=%r" % (dataset, "&" if "?" in dataset else "?", shift)
    try:
        X, y, _ = train.load_dataset(uri)
    except train.ContractError as e:
        raise Refused(str(e))
    return X, y


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class Client:
    """One keep-alive connection, reopened after any transport error, and after every
    `reconnect_every` requests when that is set: a Service's ClusterIP picks a pod per
    connection, so one long-lived connection would send all traffic to one pod and a
    canary beside the stable pod would see none."""

    def __init__(self, host, port, timeout, reconnect_every=0):
        self.host, self.port, self.timeout = host, port, timeout
        self.reconnect_every = reconnect_every
        self.sent = 0
        self.conn = None

    def post(self, path, body):
        if self.reconnect_every and self.conn is not None and self.sent % self.reconnect_every == 0:
            self.conn.close()
            self.conn = None
        self.sent += 1
        return self._post(path, body)

    def _post(self, path, body):
        """(status code or "error", parsed JSON body or None). `body` is bytes: http.client then
        sends it with the headers in one write, which keeps Nagle and delayed ACKs out of it."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                response = self.conn.getresponse()
                data = response.read()
                try:
                    return response.status, json.loads(data)
                except ValueError:
                    return response.status, None
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return "error", None
        return "error", None


def run(args, out=sys.stdout, err=sys.stderr):
    import numpy as np

    host, port, prefix = check_target(args.url, allowed_networks(args.allow_cidr))
    X, y = load_rows(args.dataset, args.shift)
    rng = np.random.default_rng(args.seed)
    total = args.requests if args.requests else max(1, int(round(args.rate * args.duration)))
    client = Client(host, port, args.timeout, args.reconnect_every)
    codes, latencies = {}, []
    rows_sent = correct = labelled = 0
    start = last_report = time.monotonic()
    for i in range(total):
        delay = start + i / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        index = rng.integers(0, len(X), size=args.batch)
        request = {"rows": X[index].tolist()}
        if not args.no_labels:
            request["labels"] = y[index].tolist()
        sent = time.monotonic()
        code, body = client.post(prefix + "/predict", json.dumps(request).encode("utf-8"))
        latencies.append(time.monotonic() - sent)
        codes[str(code)] = codes.get(str(code), 0) + 1
        rows_sent += args.batch
        if code == 200 and body and isinstance(body.get("predictions"), list):
            labelled += args.batch
            correct += sum(int(p == t) for p, t in zip(body["predictions"], y[index].tolist()))
        now = time.monotonic()
        if args.report_every and now - last_report >= args.report_every:
            last_report = now
            print("[loadgen] %d/%d requests, codes %s, accuracy %.3f" % (
                i + 1, total, json.dumps(codes, sort_keys=True), correct / labelled if labelled else float("nan")),
                file=err, flush=True)
    latencies.sort()
    summary = {
        "requests": total,
        "codes": codes,
        "rows": rows_sent,
        "shift": args.shift,
        "accuracy": correct / labelled if labelled else None,
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
        "seconds": round(time.monotonic() - start, 3),
    }
    print(json.dumps(summary, sort_keys=True), file=out, flush=True)
    return summary


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the server's base URL, e.g. http://10.0.0.17:8080")
    p.add_argument("--rate", type=float, default=10.0, help="requests per second (default 10)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds to run (default 30)")
    p.add_argument("--requests", type=int, default=0, help="send exactly this many requests instead")
    p.add_argument("--batch", type=int, default=10, help="rows per request (default 10)")
    p.add_argument("--shift", type=float, default=0.0,
                   help="move every feature by this many standard deviations (default 0)")
    p.add_argument("--dataset", default="sklearn://digits", help="the trainer's data set URI")
    p.add_argument("--seed", type=int, default=1, help="seed of the row sampling")
    p.add_argument("--no-labels", action="store_true", help="send rows without labels")
    p.add_argument("--allow-cidr", action="append", default=[],
                   help="also allow targets in this network (pod CIDR of the plane's bridge)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--report-every", type=float, default=5.0, help="seconds between progress lines")
    p.add_argument("--reconnect-every", type=int, default=0,
                   help="open a new connection every N requests (default 0: keep one); through a "
                        "Service, 1 spreads the traffic over its pods (stable and canary)")
    args = p.parse_args(argv)
    if args.rate <= 0 or args.batch <= 0 or args.requests < 0 or args.duration <= 0:
        p.error("--rate, --batch and --duration must be positive, --requests not negative")
    if args.reconnect_every < 0:
        p.error("--reconnect-every must not be negative")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except Refused as e:
        print("loadgen: refused: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
