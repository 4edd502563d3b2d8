#!/usr/bin/python3
"""Example trainer for mlops-operator: a scikit-learn random forest.

It implements the trainer contract (see the project README):

Reads, from the environment the operator sets in every container:
  MLOPS_MODEL, MLOPS_RUN, MLOPS_NAMESPACE   identity (logged only)
  MLOPS_SEED                                signed 64-bit seed; drives every random choice
  MLOPS_ARTIFACT_URI                        where to write the model (a directory)
  MLOPS_DATASET_URI                         sklearn://<name>[?shift=<s>]: iris, digits (default), wine,
                                            breast_cancer; shift=<s> moves every feature by s of its
                                            standard deviation (a stand-in for fresh, drifted data)
  MLOPS_DATASET_DIGEST                      if set, the data read must have this digest
  MLOPS_CODE_REVISION                       logged only
  MLOPS_HYPERPARAMETERS                     JSON object of strings: n_estimators (default 100),
                                            max_depth (default unlimited), test_size (default 0.25)

Writes:
  <artifact dir>/reference.json the training inputs' distribution, the drift reference of
                                examples/server: per feature, bin edges and the share of
                                training rows in each bin (written before model.pkl)
  <artifact dir>/model.pkl      the fitted estimator, pickled (protocol 4); its attribute
                                mlops_reference_sha256_ is the sha256 of reference.json, so
                                the artifact digest covers the reference too
  the termination log           one JSON object, well under 4096 bytes:
      {"metrics": {"accuracy": ..., "f1_macro": ...},
       "artifact": {"uri": ".../model.pkl", "digest": "sha256:..."},
       "dataset": {"digest": "sha256:..."}}
  The termination log is /dev/termination-log, or MLOPS_TERMINATION_LOG for
  local runs. On failure it holds a one-line error and the exit code is 1.

Artifact storage: MLOPS_ARTIFACT_URI may be a file:// URI or a plain path
(for example a mounted volume). Object stores (s3://, gs://, ...) are out of
scope for this example: a real trainer would upload model.pkl with the
store's client library; this one fails with a clear message instead.

Determinism: the same seed, data and hyper-parameters give the same metrics,
a byte-identical reference.json and a byte-identical model.pkl (single-threaded fitting, fixed pickle
protocol). The 64-bit seed is reduced to the 32-bit random_state that
scikit-learn accepts with numpy's SeedSequence, which mixes all 64 bits.

The dataset digest is sha256 over a canonical encoding of the arrays as
loaded (after any shift): the ASCII header "X:float64:<rows>x<cols>;y:int64:<rows>;"
followed by X as little-endian float64 in row-major order, then y as
little-endian int64.

Run it with /usr/bin/python3 (Debian's python3-sklearn) or in the image
built from the Dockerfile beside it.
"""

import hashlib
import json
import os
import pickle
import sys
import tempfile
from urllib.parse import urlparse, unquote

TERMINATION_LOG_LIMIT = 4096
DATASETS = ("iris", "digits", "wine", "breast_cancer")
REFERENCE_FILE = "reference.json"
REFERENCE_BINS = 10  # quantile bins per feature before ties are merged


class ContractError(Exception):
    """The environment does not satisfy the trainer contract."""


def termination_log_path():
    return os.environ.get("MLOPS_TERMINATION_LOG") or "/dev/termination-log"


def write_termination_log(text):
    data = text.encode("utf-8")
    if len(data) >= TERMINATION_LOG_LIMIT:
        raise ContractError("results are %d bytes; the kubelet keeps at most %d" % (len(data), TERMINATION_LOG_LIMIT))
    with open(termination_log_path(), "wb") as f:
        f.write(data)


def read_seed():
    raw = os.environ.get("MLOPS_SEED", "")
    try:
        seed = int(raw)
    except ValueError:
        raise ContractError("MLOPS_SEED must be a signed 64-bit integer, got %r" % raw)
    if not -(2 ** 63) <= seed < 2 ** 63:
        raise ContractError("MLOPS_SEED %d is outside the signed 64-bit range" % seed)
    return seed


def random_state_for(seed):
    import numpy as np

    return int(np.random.SeedSequence(seed % 2 ** 64).generate_state(1)[0])


def read_hyperparameters():
    raw = os.environ.get("MLOPS_HYPERPARAMETERS") or "{}"
    try:
        params = json.loads(raw)
    except ValueError as e:
        raise ContractError("MLOPS_HYPERPARAMETERS is not JSON: %s" % e)
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise ContractError("MLOPS_HYPERPARAMETERS must be a JSON object of strings")
    try:
        n_estimators = int(params.get("n_estimators", "100"))
        max_depth = int(params["max_depth"]) if params.get("max_depth") else None
        test_size = float(params.get("test_size", "0.25"))
    except ValueError as e:
        raise ContractError("bad hyper-parameter: %s" % e)
    return {"n_estimators": n_estimators, "max_depth": max_depth, "test_size": test_size}


def parse_dataset_uri(uri):
    """(name, shift) of sklearn://<name>[?shift=<s>]."""
    import math
    from urllib.parse import parse_qs

    parsed = urlparse(uri)
    name = parsed.netloc or parsed.path.lstrip("/")
    if parsed.scheme != "sklearn" or name not in DATASETS:
        raise ContractError("MLOPS_DATASET_URI %r is not one of %s"
                            % (uri, ", ".join("sklearn://" + d for d in DATASETS)))
    query = parse_qs(parsed.query, keep_blank_values=True)
    if set(query) - {"shift"} or len(query.get("shift", [])) > 1:
        raise ContractError("MLOPS_DATASET_URI %r: the only query parameter is one shift=<number>" % uri)
    shift = 0.0
    if "shift" in query:
        try:
            shift = float(query["shift"][0])
        except ValueError:
            shift = math.nan
        if not math.isfinite(shift):
            raise ContractError("MLOPS_DATASET_URI %r: shift must be a finite number" % uri)
    return name, shift


def shift_features(X, shift, scale):
    """X moved by shift standard deviations per feature (scale: the features' standard deviations)."""
    return X + shift * scale if shift else X


def load_dataset(uri=None):
    """(X, y, feature names) of a data set shipped inside scikit-learn (no network)."""
    from sklearn import datasets

    uri = uri if uri is not None else (os.environ.get("MLOPS_DATASET_URI") or "sklearn://digits")
    name, shift = parse_dataset_uri(uri)
    bunch = getattr(datasets, "load_" + name)()
    X, y = bunch.data, bunch.target
    # The scale is the unshifted data's, so a shift means the same in the
    # trainer and in examples/loadgen.
    return shift_features(X, shift, X.std(axis=0)), y, [str(f) for f in bunch.feature_names]


def reference_distribution(X, feature_names):
    """Per feature: interior bin edges (quantiles of X, ties merged) and the share of rows per bin.

    Bin i holds values v with edges[i-1] <= v < edges[i] (numpy.searchsorted side="right").
    """
    import numpy as np

    quantiles = np.arange(1, REFERENCE_BINS) / REFERENCE_BINS
    features = []
    for j, name in enumerate(feature_names):
        column = X[:, j]
        edges = np.unique(np.quantile(column, quantiles))
        edges = edges[edges > column.min()]  # a first bin no training row falls in says nothing
        counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=len(edges) + 1)
        features.append({
            "name": name,
            "edges": [float(e) for e in edges],
            "proportions": [float(c) / len(column) for c in counts],
        })
    return {"rows": int(X.shape[0]), "features": features}


def dataset_digest(X, y):
    import numpy as np

    X = np.ascontiguousarray(X, dtype="<f8")
    y = np.ascontiguousarray(y, dtype="<i8")
    h = hashlib.sha256()
    h.update(("X:float64:%dx%d;y:int64:%d;" % (X.shape[0], X.shape[1], y.shape[0])).encode("ascii"))
    h.update(X.tobytes(order="C"))
    h.update(y.tobytes(order="C"))
    return "sha256:" + h.hexdigest()


def artifact_location(uri):
    """(directory to write to, URI prefix to report) for a file:// URI or a plain path."""
    if not uri:
        raise ContractError("MLOPS_ARTIFACT_URI is empty")
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ContractError("file URI %r names a host; use file:///path" % uri)
        return unquote(parsed.path), uri.rstrip("/")
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")):
        return uri, uri.rstrip("/")
    raise ContractError("MLOPS_ARTIFACT_URI scheme %r is out of scope of this example trainer: "
                        "mount storage and pass a file:// URI or a path" % parsed.scheme)


def write_artifact(directory, data, filename="model.pkl"):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, filename)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + filename + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; servers must read it
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def train():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    seed = read_seed()
    params = read_hyperparameters()
    directory, uri_prefix = artifact_location(os.environ.get("MLOPS_ARTIFACT_URI", ""))

    X, y, feature_names = load_dataset()
    digest = dataset_digest(X, y)
    expected = os.environ.get("MLOPS_DATASET_DIGEST", "")
    if expected and expected != digest:
        raise ContractError("dataset digest %s differs from MLOPS_DATASET_DIGEST %s" % (digest, expected))

    state = random_state_for(seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=params["test_size"], random_state=state, stratify=y)
    model = RandomForestClassifier(n_estimators=params["n_estimators"], max_depth=params["max_depth"],
                                   random_state=state, n_jobs=1)
    model.fit(X_train, y_train)
    predicted = model.predict(X_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
    }

    # The reference first: a model.pkl on disk always has its reference beside it.
    reference = json.dumps(reference_distribution(X_train, feature_names), sort_keys=True,
                           separators=(",", ":")).encode("utf-8")
    write_artifact(directory, reference, REFERENCE_FILE)
    model.mlops_reference_sha256_ = hashlib.sha256(reference).hexdigest()
    data = pickle.dumps(model, protocol=4)
    write_artifact(directory, data)
    results = {
        "metrics": metrics,
        "artifact": {"uri": uri_prefix + "/model.pkl", "digest": "sha256:" + hashlib.sha256(data).hexdigest()},
        "dataset": {"digest": digest},
    }
    write_termination_log(json.dumps(results, sort_keys=True, separators=(",", ":")))
    print("run %s/%s of model %s (code %s): seed %d, %s"
          % (os.environ.get("MLOPS_NAMESPACE", "?"), os.environ.get("MLOPS_RUN", "?"),
             os.environ.get("MLOPS_MODEL", "?"), os.environ.get("MLOPS_CODE_REVISION") or "unknown",
             seed, json.dumps(metrics, sort_keys=True)))


def main():
    try:
        train()
    except ContractError as e:
        message = "error: %s" % e
        print(message, file=sys.stderr)
        try:
            write_termination_log(message[:1000])
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
