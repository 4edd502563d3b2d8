"""Runs the example trainer locally and checks it against the trainer contract.

Run with Debian's interpreter (it has scikit-learn):
    /usr/bin/python3 -m unittest discover -s examples/trainer -p "test_*.py" -v
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINER = os.path.join(HERE, "train.py")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def run_trainer(workdir, seed, uri=None, **env):
    """Runs train.py with the contract's environment; returns (exit code, termination log text, stderr)."""
    log = os.path.join(workdir, "termination-log")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    environment.update({
        "MLOPS_MODEL": "digits",
        "MLOPS_RUN": "digits-run-1",
        "MLOPS_NAMESPACE": "team-a",
        "MLOPS_SEED": str(seed),
        "MLOPS_ARTIFACT_URI": uri if uri is not None else "file://" + os.path.join(workdir, "artifacts", "run"),
        "MLOPS_DATASET_URI": "sklearn://digits",
        "MLOPS_DATASET_DIGEST": "",
        "MLOPS_CODE_REVISION": "test",
        "MLOPS_HYPERPARAMETERS": json.dumps({"n_estimators": "20", "max_depth": "8"}),
        "MLOPS_TERMINATION_LOG": log,
    })
    environment.update(env)
    if os.path.exists(log):
        os.unlink(log)  # never read a previous run's results
    proc = subprocess.run([sys.executable, TRAINER], env=environment, capture_output=True, text=True, timeout=240)
    text = ""
    if os.path.exists(log):
        with open(log, encoding="utf-8") as f:
            text = f.read()
    return proc.returncode, text, proc.stderr


def sha256_file(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


class TrainerContractTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Two runs with the same seed in different directories, one with another seed.
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dirs = [os.path.join(cls.tmp.name, name) for name in ("a", "b", "c")]
        for d in cls.dirs:
            os.makedirs(d)
        cls.runs = [run_trainer(cls.dirs[0], 42), run_trainer(cls.dirs[1], 42),
                    run_trainer(cls.dirs[2], -5794236245397781671)]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def results(self, i):
        code, text, stderr = self.runs[i]
        self.assertEqual(code, 0, stderr)
        return json.loads(text)

    def test_results_follow_the_contract(self):
        for i in range(3):
            code, text, stderr = self.runs[i]
            self.assertEqual(code, 0, stderr)
            self.assertLess(len(text.encode("utf-8")), 4096)
            results = json.loads(text)
            self.assertIsInstance(results, dict)
            self.assertIsInstance(results["metrics"], dict)
            self.assertTrue(results["metrics"])
            for name, value in results["metrics"].items():
                self.assertIsInstance(value, (int, float), name)
                self.assertNotIsInstance(value, bool, name)
            self.assertGreater(results["metrics"]["accuracy"], 0.8)
            self.assertRegex(results["artifact"]["digest"], DIGEST)
            self.assertRegex(results["dataset"]["digest"], DIGEST)

    def test_artifact_digest_is_the_written_file(self):
        for i in range(3):
            results = self.results(i)
            uri = results["artifact"]["uri"]
            self.assertTrue(uri.startswith("file://" + self.dirs[i]), uri)
            path = uri[len("file://"):]
            self.assertTrue(os.path.isfile(path), path)
            self.assertEqual(results["artifact"]["digest"], sha256_file(path))

    def test_same_seed_gives_same_metrics_and_artifact(self):
        a, b = self.results(0), self.results(1)
        self.assertEqual(a["metrics"], b["metrics"])
        self.assertEqual(a["artifact"]["digest"], b["artifact"]["digest"])
        self.assertEqual(a["dataset"]["digest"], b["dataset"]["digest"])

    def test_different_seed_gives_a_different_model(self):
        a, c = self.results(0), self.results(2)
        self.assertTrue(a["artifact"]["digest"] != c["artifact"]["digest"] or a["metrics"] != c["metrics"])
        self.assertEqual(a["dataset"]["digest"], c["dataset"]["digest"])


    def reference_bytes(self, i):
        path = self.results(i)["artifact"]["uri"][len("file://"):]
        with open(os.path.join(os.path.dirname(path), "reference.json"), "rb") as f:
            return f.read()

    def test_writes_the_drift_reference_the_model_pins(self):
        import pickle

        for i in range(3):
            raw = self.reference_bytes(i)
            reference = json.loads(raw)
            self.assertEqual(len(reference["features"]), 64)
            self.assertEqual(reference["features"][10]["name"], "pixel_1_2")
            self.assertGreater(reference["rows"], 1000)
            for feature in reference["features"]:
                self.assertEqual(len(feature["proportions"]), len(feature["edges"]) + 1, feature["name"])
                self.assertAlmostEqual(sum(feature["proportions"]), 1.0, places=9)
                self.assertEqual(feature["edges"], sorted(set(feature["edges"])), feature["name"])
            with open(self.results(i)["artifact"]["uri"][len("file://"):], "rb") as f:
                model = pickle.load(f)
            self.assertEqual(model.mlops_reference_sha256_, hashlib.sha256(raw).hexdigest())

    def test_same_seed_gives_the_same_reference(self):
        self.assertEqual(self.reference_bytes(0), self.reference_bytes(1))
        # A different seed splits the data differently, so the reference differs too.
        self.assertNotEqual(self.reference_bytes(0), self.reference_bytes(2))


class TrainerInputsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_plain_path_and_expected_dataset_digest(self):
        code, text, stderr = run_trainer(self.dir, 7, uri=os.path.join(self.dir, "plain"),
                                         MLOPS_DATASET_URI="sklearn://iris")
        self.assertEqual(code, 0, stderr)
        first = json.loads(text)
        self.assertEqual(first["artifact"]["uri"], os.path.join(self.dir, "plain", "model.pkl"))
        self.assertEqual(first["artifact"]["digest"], sha256_file(first["artifact"]["uri"]))
        # The digest it reported is accepted as MLOPS_DATASET_DIGEST.
        code, text, stderr = run_trainer(self.dir, 7, uri=os.path.join(self.dir, "again"),
                                         MLOPS_DATASET_URI="sklearn://iris",
                                         MLOPS_DATASET_DIGEST=first["dataset"]["digest"])
        self.assertEqual(code, 0, stderr)

    def test_refuses_other_data_than_expected(self):
        code, text, _ = run_trainer(self.dir, 7, MLOPS_DATASET_DIGEST="sha256:" + "0" * 64)
        self.assertEqual(code, 1)
        self.assertTrue(text.startswith("error: dataset digest sha256:"), text)
        self.assertIn("differs from MLOPS_DATASET_DIGEST", text)

    def test_shifted_data_is_other_data(self):
        code, text, stderr = run_trainer(self.dir, 7, uri=os.path.join(self.dir, "plain"))
        self.assertEqual(code, 0, stderr)
        code, shifted_text, stderr = run_trainer(self.dir, 7, uri=os.path.join(self.dir, "shifted"),
                                                 MLOPS_DATASET_URI="sklearn://digits?shift=1.5")
        self.assertEqual(code, 0, stderr)
        plain, shifted = json.loads(text), json.loads(shifted_text)
        self.assertNotEqual(plain["dataset"]["digest"], shifted["dataset"]["digest"])
        # Trees split on thresholds: moving every feature moves the thresholds, nothing else.
        self.assertAlmostEqual(plain["metrics"]["accuracy"], shifted["metrics"]["accuracy"], delta=0.03)
        with open(os.path.join(self.dir, "plain", "reference.json"), encoding="utf-8") as f:
            plain_ref = json.load(f)
        with open(os.path.join(self.dir, "shifted", "reference.json"), encoding="utf-8") as f:
            shifted_ref = json.load(f)
        self.assertNotEqual(plain_ref["features"][20]["edges"], shifted_ref["features"][20]["edges"])

    def test_reports_contract_violations(self):
        cases = [
            ({"MLOPS_SEED": "forty-two"}, "MLOPS_SEED must be a signed 64-bit integer"),
            ({"MLOPS_SEED": str(2 ** 63)}, "outside the signed 64-bit range"),
            ({"MLOPS_ARTIFACT_URI": "s3://bucket/model"}, "scheme 's3' is out of scope"),
            ({"MLOPS_HYPERPARAMETERS": "[1]"}, "must be a JSON object of strings"),
            ({"MLOPS_HYPERPARAMETERS": '{"n_estimators": "many"}'}, "bad hyper-parameter"),
            ({"MLOPS_DATASET_URI": "s3://datasets/iris"}, "is not one of sklearn://iris"),
            ({"MLOPS_DATASET_URI": "sklearn://digits?shift=far"}, "shift must be a finite number"),
            ({"MLOPS_DATASET_URI": "sklearn://digits?shift=nan"}, "shift must be a finite number"),
            ({"MLOPS_DATASET_URI": "sklearn://digits?scale=2"}, "the only query parameter is one shift"),
        ]
        for env, message in cases:
            with self.subTest(env=env):
                seed = env.pop("MLOPS_SEED", "1")
                uri = env.pop("MLOPS_ARTIFACT_URI", None)
                code, text, _ = run_trainer(self.dir, seed, uri=uri, **env)
                self.assertEqual(code, 1)
                self.assertIn(message, text)


if __name__ == "__main__":
    unittest.main()
