#!/usr/bin/env python3
"""Keeps a Prometheus file_sd targets file current with the serving pods of the
real node, so the plane's Prometheus scrapes the model servers the operator
deploys. Debian's Prometheus 2.42 is built without kubernetes_sd; this loop
stands in for it.

Every --interval seconds it lists the pods labelled
app.kubernetes.io/component=serving on --node (all namespaces) and writes one
target per Running pod that has a pod IP:

  {"targets": ["<podIP>:<port>"],
   "labels": {"namespace": ..., "pod": ..., "track": <label mlops.dev/track>}}

The port is the container port named "http" (the operator names the serving
port so), else 8080. Only namespace, pod and track are added: model and
version come from the server's own series, and a target label of the same
name would rename the server's to exported_model. A pod annotated
prometheus.io/path gets that metrics path.

The file is rewritten (temp file + rename, so Prometheus never reads half a
file) only when the target set changes. A failed list keeps the last file:
a brief API outage must not make Prometheus drop every serving target.

Only the Python standard library is used.

Usage: serving_sd.py --apiserver URL --ca CA --cert CRT --key KEY --node NAME --out FILE
"""

import argparse
import json
import os
import ssl
import sys
import time
import urllib.parse
import urllib.request

SELECTOR = "app.kubernetes.io/component=serving"


def targets_of(pods, node):
    out = []
    for pod in pods:
        meta = pod.get("metadata", {})
        spec = pod.get("spec", {})
        status = pod.get("status", {})
        if spec.get("nodeName") != node or status.get("phase") != "Running":
            continue
        ip = status.get("podIP")
        if not ip:
            continue
        port = 8080
        for container in spec.get("containers", []):
            for p in container.get("ports", []) or []:
                if p.get("name") == "http" and p.get("containerPort"):
                    port = p["containerPort"]
        labels = {
            "namespace": meta.get("namespace", ""),
            "pod": meta.get("name", ""),
            "track": meta.get("labels", {}).get("mlops.dev/track", ""),
        }
        path = meta.get("annotations", {}).get("prometheus.io/path")
        if path:
            labels["__metrics_path__"] = path
        host = f"[{ip}]" if ":" in ip else ip
        out.append({"targets": [f"{host}:{port}"], "labels": labels})
    out.sort(key=lambda t: (t["labels"]["namespace"], t["labels"]["pod"]))
    return out


def write_atomically(path, content):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(content)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apiserver", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()

    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.load_cert_chain(args.cert, args.key)
    query = urllib.parse.urlencode(
        {"labelSelector": SELECTOR, "fieldSelector": f"spec.nodeName={args.node}"})
    url = f"{args.apiserver}/api/v1/pods?{query}"

    last = None
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            last = f.read()
    failing = False
    while True:
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
                pods = json.load(resp).get("items", [])
            content = json.dumps(targets_of(pods, args.node), indent=1) + "\n"
            if content != last:
                write_atomically(args.out, content)
                last = content
                print(f"serving-sd: {content.count('targets')} target(s)", flush=True)
            if failing:
                print("serving-sd: listing pods works again", flush=True)
            failing = False
        except Exception as e:  # noqa: BLE001 - any failure: keep the last file, retry
            if not failing:
                print(f"serving-sd: listing pods failed (keeping the last targets): {e}",
                      file=sys.stderr, flush=True)
            failing = True
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
