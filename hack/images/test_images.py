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

import fcntl
import json
import os
import shlex
import shutil
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

BUILT = {}


def run_build(script=os.path.join(HERE, "build.sh"), env=None):
    """(stdout assignments as a dict, stderr) of build.sh."""
    proc = subprocess.run(["bash", script], capture_output=True, text=True, timeout=1500,
                          env=dict(os.environ, **(env or {})))
    if proc.returncode != 0:
        raise AssertionError("%s failed:\n%s" % (script, proc.stderr))
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return {k: shlex.split(v)[0] for k, v in values.items()}, proc.stderr


def build_images():
    start = time.monotonic()
    values, stderr = run_build()
    BUILT.update(values)
    print("\n[figure] hack/images/build.sh took %.1f s (%s)" % (
        time.monotonic() - start, "built now" if " built in " in stderr else "warm"))
    images = {}
    for name in ("trainer", "server"):
        directory = values["MLOPS_IMAGE_%s_DIR" % name.upper()]
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

    def test_cache_key_follows_the_inputs(self):
        # A copy of the inputs and a cache of its own that borrows the real base
        # (same base inputs, same key): only the image stage runs. Its images
        # hard-link the base's files, which changes their ctime: the real
        # cache's lock is held until they are gone again, so that no archive
        # of a real image (hack/images/load.sh, under the same lock) reads the
        # shared files meanwhile ("file changed as we read it").
        base = BUILT["MLOPS_IMAGE_BASE_DIR"]
        with open(os.path.join(os.path.dirname(base), ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._cache_key_follows_the_inputs(base)

    def _cache_key_follows_the_inputs(self, base):
        with tempfile.TemporaryDirectory() as tmp:
            repo, cache = os.path.join(tmp, "repo"), os.path.join(tmp, "cache")
            for path in ("hack/versions.sh", "hack/images/build.sh", "hack/images/lib.sh",
                         "hack/images/base.sh", "hack/images/packages.txt", "hack/images/purge.txt",
                         "examples/trainer/train.py", "examples/server/server.py"):
                os.makedirs(os.path.dirname(os.path.join(repo, path)), exist_ok=True)
                shutil.copy(os.path.join(REPO, path), os.path.join(repo, path))
            os.makedirs(os.path.join(cache, "images"))
            os.symlink(base, os.path.join(cache, "images", os.path.basename(base)))
            script, env = os.path.join(repo, "hack/images/build.sh"), {"MLOPS_CACHE": cache}

            first, stderr = run_build(script, env)
            self.assertIn("trainer built in", stderr)
            self.assertEqual(first["MLOPS_IMAGE_TRAINER_REF"], BUILT["MLOPS_IMAGE_TRAINER_REF"])
            self.assertEqual(first["MLOPS_IMAGE_SERVER_REF"], BUILT["MLOPS_IMAGE_SERVER_REF"])
            again, stderr = run_build(script, env)
            self.assertEqual(again, first)
            self.assertNotIn(" built in ", stderr)
            with open(os.path.join(repo, "examples/server/server.py"), "a", encoding="utf-8") as f:
                f.write("\n# changed\n")
            changed, stderr = run_build(script, env)
            self.assertIn("server built in", stderr)
            self.assertNotIn("trainer built in", stderr)
            self.assertNotEqual(changed["MLOPS_IMAGE_SERVER_REF"], first["MLOPS_IMAGE_SERVER_REF"])
            self.assertEqual(changed["MLOPS_IMAGE_TRAINER_REF"], first["MLOPS_IMAGE_TRAINER_REF"])
            with open(os.path.join(changed["MLOPS_IMAGE_SERVER_DIR"], "rootfs/app/server.py"),
                      encoding="utf-8") as f:
                self.assertTrue(f.read().endswith("# changed\n"))
            # The base's copy of the file was never written through a hard link.
            with open(os.path.join(BUILT["MLOPS_IMAGE_SERVER_DIR"], "rootfs/app/server.py"),
                      encoding="utf-8") as f:
                self.assertFalse(f.read().endswith("# changed\n"))

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
