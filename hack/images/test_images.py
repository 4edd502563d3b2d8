"""Smoke test of the images hack/images/build.sh makes, without any container runtime.

Builds the images (cached: instant when warm; a cold build takes 3-5 minutes
and downloads Debian packages), then, as the images would run in a pod, in a
private mount namespace with the root filesystem read-only and only an
artifact directory mounted at /artifacts, as user 10001 with the image's
environment and entrypoint: the trainer trains into /artifacts, and the server
serves that artifact on loopback, answering predictions and metrics.

Needs root (mount namespaces, chroot), as the base build does.
    /usr/bin/python3 -m unittest discover -s hack/images -p "test_*.py" -v
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "examples", "server"))
sys.path.insert(0, os.path.join(REPO, "examples", "trainer"))
import test_server  # noqa: E402 - its Server and exposition helpers
import train  # noqa: E402


def build_images():
    start = time.monotonic()
    proc = subprocess.run(["bash", os.path.join(HERE, "build.sh")], capture_output=True, text=True,
                          timeout=1500)
    if proc.returncode != 0:
        raise AssertionError("hack/images/build.sh failed:\n" + proc.stderr)
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    print("\n[figure] hack/images/build.sh took %.1f s (%s)" % (
        time.monotonic() - start, "built now" if " built in " in proc.stderr else "warm"))
    images = {}
    for name in ("trainer", "server"):
        directory = shlex.split(values["MLOPS_IMAGE_%s_DIR" % name.upper()])[0]
        with open(os.path.join(directory, "image.json"), encoding="utf-8") as f:
            images[name] = json.load(f)
    return images


def in_image(image, artifacts, env):
    """argv running `image`'s entrypoint as its user on its read-only rootfs, /artifacts mounted."""
    config = image["config"]
    variables = list(config["Env"]) + ["%s=%s" % kv for kv in sorted(env.items())]
    user = config["User"]
    script = "\n".join([
        "set -e",
        'mnt=$(mktemp -d /tmp/mlops-image-test.XXXXXX)',
        'mount --bind %s "$mnt"' % shlex.quote(image["rootfs"]),
        'mount -o remount,bind,ro "$mnt"',
        'mount --bind %s "$mnt/artifacts"' % shlex.quote(artifacts),
        'rmdir "$mnt" 2>/dev/null || true',  # busy while mounted; removed below after exit
        "cd /",
        "exec chroot --userspec=%s \"$mnt\" /usr/bin/env -i %s %s" % (
            shlex.quote(user), " ".join(shlex.quote(v) for v in variables),
            " ".join(shlex.quote(a) for a in config["Entrypoint"])),
    ])
    # No --fork: unshare, sh, chroot and env each exec the next, so the test's
    # SIGTERM reaches the entrypoint itself, as the kubelet's does.
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


class ImagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.images = build_images()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.artifacts = cls.tmp.name
        os.chmod(cls.artifacts, 0o777)  # written by user 10001, as the artifact volume is

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        for name in os.listdir("/tmp"):
            if name.startswith("mlops-image-test."):
                try:
                    os.rmdir(os.path.join("/tmp", name))
                except OSError:
                    pass

    def test_image_metadata(self):
        for name, image in self.images.items():
            config = image["config"]
            self.assertEqual(config["User"], "10001:10001")
            self.assertEqual(config["Entrypoint"], ["/usr/bin/python3", "/app/%s.py" % ("train" if name == "trainer" else name)])
            self.assertTrue(image["ref"].startswith("localhost/mlops-%s:" % name), image["ref"])
            self.assertTrue(os.path.isfile(os.path.join(image["rootfs"], config["Entrypoint"][1].lstrip("/"))))
            toolchain = [p for p in ("usr/bin/gcc-12", "usr/bin/ld", "usr/include/stdio.h")
                         if os.path.exists(os.path.join(image["rootfs"], p))]
            self.assertEqual(toolchain, [], "the toolchain should be purged")
            size = subprocess.run(["du", "-sm", image["rootfs"]], capture_output=True, text=True).stdout.split()[0]
            print("\n[figure] image %s: %s MB unpacked (%s)" % (name, size, image["ref"]))

    def test_trainer_trains_and_server_serves_in_the_images(self):
        log = os.path.join(self.artifacts, "termination-log")
        trainer_env = {"MLOPS_MODEL": "digits", "MLOPS_RUN": "smoke", "MLOPS_NAMESPACE": "images",
                       "MLOPS_SEED": "11", "MLOPS_ARTIFACT_URI": "file:///artifacts/images/digits/smoke",
                       "MLOPS_DATASET_URI": "sklearn://digits", "MLOPS_CODE_REVISION": "test",
                       "MLOPS_HYPERPARAMETERS": json.dumps({"n_estimators": "20"}),
                       "MLOPS_TERMINATION_LOG": "/artifacts/termination-log"}
        start = time.monotonic()
        proc = subprocess.run(in_image(self.images["trainer"], self.artifacts, trainer_env),
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        print("\n[figure] trainer image: digits, 20 trees, %.1f s" % (time.monotonic() - start))
        with open(log, encoding="utf-8") as f:
            results = json.load(f)
        self.assertEqual(results["artifact"]["uri"], "file:///artifacts/images/digits/smoke/model.pkl")
        on_host = os.path.join(self.artifacts, "images", "digits", "smoke")
        self.assertEqual(sorted(os.listdir(on_host)), ["model.pkl", "reference.json"])
        self.assertEqual(os.stat(os.path.join(on_host, "model.pkl")).st_uid, 10001)

        server_env = {"MLOPS_MODEL": "digits", "MLOPS_MODEL_VERSION": "1",
                      "MLOPS_MODEL_URI": results["artifact"]["uri"],
                      "MLOPS_MODEL_DIGEST": results["artifact"]["digest"],
                      "MLOPS_LISTEN": "127.0.0.1:0", "MLOPS_DRIFT_MIN_ROWS": "10"}
        start = time.monotonic()
        server = test_server.Server(None, argv=in_image(self.images["server"], self.artifacts, server_env))
        self.addCleanup(server.stop)
        print("[figure] server image: listening %.1f s after start" % (time.monotonic() - start))
        X, y, _ = train.load_dataset("sklearn://digits")
        rows, labels = test_server.rows_of(X, y, list(range(0, 1797, 60)))
        code, body = server.predict(rows, labels)
        self.assertEqual(code, 200, body)
        series = test_server.parse_series(server.metrics())
        self.assertGreater(test_server.value(series, "model_online_accuracy"), 0.8)
        self.assertEqual(test_server.value(series, "model_drift_window_rows"), len(rows))
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
