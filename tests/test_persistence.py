"""Saving and loading fitted estimators: ``est.save(path)`` / ``type(est).load(path)``.

Round trips for every estimator (classifiers with integer, string, float and bool labels)
give identical fields and predictions; a file of another estimator type, a truncated or
corrupted file, another mlmath version or an unfitted estimator give a clear error. The
file is read without pickle (see ``mlmath._persistence``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlmath
from mlmath import _persistence
from mlmath._estimator import NotFittedError
from mlmath.linear import GaussianNB, Lasso, LinearRegression, LogisticRegression, Ridge

FLOAT = jnp.result_type(float)
N = 18


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 3))
    codes = np.arange(N) % 3
    X[codes == 1] += 1.5
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=N)
    return jnp.asarray(X, FLOAT), jnp.asarray(y, FLOAT), codes


LABELS = {
    "int": lambda codes: codes,
    "str": lambda codes: np.array(["cat", "dog", "emu"])[codes],
    "float": lambda codes: codes * 0.5 - 1.0,
    "bool": lambda codes: codes == 1,
}

CASES = {
    "LinearRegression": lambda: LinearRegression(fit_intercept=False),
    "Ridge": lambda: Ridge(alpha=0.5),
    "Lasso": lambda: Lasso(alpha=0.05, max_iter=300, tol=1e-6),
    "LogisticRegression-binary": lambda: LogisticRegression(C=2.0),
    "LogisticRegression-multinomial": lambda: LogisticRegression(C=0.5, tol=1e-6),
    "GaussianNB": lambda: GaussianNB(var_smoothing=1e-6, priors=(0.2, 0.3, 0.5)),
}


def _fit(case, labels="int"):
    X, y, codes = _data()
    estimator = CASES[case]()
    if case.startswith(("LinearRegression", "Ridge", "Lasso")):
        return estimator.fit(X, y), X
    if case == "LogisticRegression-binary" or labels == "bool":
        codes = codes % 2
    if case == "GaussianNB" and labels == "bool":
        estimator = GaussianNB(var_smoothing=1e-6)
    return estimator.fit(X, LABELS[labels](codes)), X


def _outputs(model, X):
    names = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
    return {name: np.asarray(getattr(model, name)(X)) for name in names if hasattr(model, name)}


def _assert_same(loaded, model, X):
    assert type(loaded) is type(model)
    for field in dataclasses.fields(model):
        value, again = getattr(model, field.name), getattr(loaded, field.name)
        if eqx.is_array(value):
            assert again.dtype == value.dtype and again.shape == value.shape, field.name
            np.testing.assert_array_equal(np.asarray(again), np.asarray(value), field.name)
        else:  # hyper-parameters and classes_, with their Python types
            assert again == value and [type(v) for v in np.atleast_1d(np.asarray(
                again, dtype=object))] == [type(v) for v in np.atleast_1d(np.asarray(
                    value, dtype=object))], field.name
    for name, output in _outputs(model, X).items():
        np.testing.assert_array_equal(_outputs(loaded, X)[name], output, name)


ROUND_TRIPS = [(case, "int") for case in CASES] + [
    (case, labels) for case in ("LogisticRegression-binary", "LogisticRegression-multinomial",
                                "GaussianNB") for labels in ("str", "float", "bool")
    if not (labels == "bool" and case == "LogisticRegression-multinomial")]


@pytest.mark.parametrize(("case", "labels"), ROUND_TRIPS,
                         ids=[f"{case}-{labels}" for case, labels in ROUND_TRIPS])
def test_round_trip_gives_identical_predictions(case, labels, tmp_path):
    model, X = _fit(case, labels)
    path = tmp_path / "model.mlmath"
    model.save(path)
    loaded = type(model).load(path)
    _assert_same(loaded, model, X)
    if labels == "str":
        assert loaded.predict(X).dtype.kind == "U"
        assert loaded.classes_ == ("cat", "dog") or loaded.classes_ == ("cat", "dog", "emu")


def test_the_file_is_a_json_header_and_equinox_leaves(tmp_path):
    """The format: magic line, one JSON line, a SHA-256 line, then exactly the bytes of
    equinox.tree_serialise_leaves."""
    model, _ = _fit("GaussianNB", "str")
    path = tmp_path / "nb.mlmath"
    model.save(path)
    magic, header_line, digest, payload = path.read_bytes().split(b"\n", 3)
    assert magic + b"\n" == _persistence.MAGIC
    header = json.loads(header_line)
    assert header["estimator"] == "GaussianNB"
    assert header["mlmath_version"] == mlmath.__version__
    assert header["static"] == {"classes_": ["cat", "dog", "emu"]}
    assert header["hyper_parameters"]["priors"] == [0.2, 0.3, 0.5]
    assert header["hyper_parameters"]["var_smoothing"] == 1e-6  # a Python float, exactly
    assert [leaf["field"] for leaf in header["leaves"]][:2] == ["theta_", "var_"]
    assert header["leaves"][0]["shape"] == [3, 3]
    assert header["payload_bytes"] == len(payload) and len(digest) == 64
    # the payload is equinox's serialisation of the model's leaves
    template = dataclasses.replace(model, theta_=jnp.zeros_like(model.theta_))
    restored = eqx.tree_deserialise_leaves(io.BytesIO(payload), template)
    np.testing.assert_array_equal(np.asarray(restored.theta_), np.asarray(model.theta_))


def test_a_vmapped_batch_of_models_round_trips(tmp_path):
    X, y, _ = _data()
    batch = jax.vmap(lambda alpha: Ridge(alpha=alpha).fit(X, y))(jnp.asarray([0.1, 1.0, 10.0],
                                                                             FLOAT))
    path = tmp_path / "batch.mlmath"
    batch.save(path)
    loaded = Ridge.load(path)
    assert json.loads(path.read_bytes().split(b"\n")[1])["hyper_parameters"]["alpha"][
        "array"] == pytest.approx([0.1, 1.0, 10.0])
    np.testing.assert_array_equal(np.asarray(loaded.alpha), np.asarray(batch.alpha))
    np.testing.assert_array_equal(np.asarray(loaded.coef_), np.asarray(batch.coef_))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model, X = _fit("LogisticRegression-multinomial", "str")
    path = tmp_path_factory.mktemp("saved") / "logistic.mlmath"
    model.save(path)
    return path, path.read_bytes(), model, X


def test_loading_as_another_estimator_type_is_an_error(saved):
    path, _, _, _ = saved
    with pytest.raises(ValueError, match="holds a LogisticRegression, not a GaussianNB"):
        GaussianNB.load(path)


@pytest.mark.parametrize("keep", [10, 30, -1, -200])
def test_a_truncated_file_is_an_error(saved, tmp_path, keep):
    _, data, _, _ = saved
    path = tmp_path / "truncated.mlmath"
    path.write_bytes(data[:keep])
    with pytest.raises(ValueError, match=r"truncated|not an mlmath estimator file"):
        LogisticRegression.load(path)


@pytest.mark.parametrize("where", ["magic", "header", "digest", "payload", "end"])
def test_a_corrupted_file_is_an_error(saved, tmp_path, where):
    _, data, _, _ = saved
    header_end = data.index(b"\n", len(_persistence.MAGIC))
    position = {"magic": 3, "header": header_end - 20, "digest": header_end + 5,
                "payload": header_end + 200, "end": len(data) - 1}[where]
    corrupted = bytearray(data)
    corrupted[position] ^= 0x5A
    path = tmp_path / "corrupted.mlmath"
    path.write_bytes(bytes(corrupted))
    with pytest.raises(ValueError, match=r"corrupted|not an mlmath estimator file"):
        LogisticRegression.load(path)


def test_a_file_of_another_version_is_an_error(saved, monkeypatch):
    path, _, _, _ = saved
    monkeypatch.setattr(mlmath, "__version__", "99.0.0")
    with pytest.raises(ValueError, match=r"saved by mlmath 0\.1\.0, this is mlmath 99\.0\.0"):
        LogisticRegression.load(path)


def test_a_plain_equinox_file_is_not_loaded(saved, tmp_path):
    _, _, model, _ = saved
    path = tmp_path / "plain.eqx"
    eqx.tree_serialise_leaves(path, model)
    with pytest.raises(ValueError, match="not an mlmath estimator file"):
        LogisticRegression.load(path)


def test_an_unfitted_estimator_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError, match=r"est = est\.fit"):
        Ridge().save(tmp_path / "unfitted.mlmath")
    assert not (tmp_path / "unfitted.mlmath").exists()


def test_a_header_with_invalid_hyper_parameters_is_rejected(saved, tmp_path):
    """A consistent file (right checksum) whose header was edited to an impossible
    hyper-parameter is validated on load as at construction."""
    _, data, _, _ = saved
    magic, header_line, _, payload = data.split(b"\n", 3)
    header = json.loads(header_line)
    header["hyper_parameters"]["solver"] = "sgd"
    header_line = json.dumps(header, sort_keys=True).encode() + b"\n"
    digest = hashlib.sha256(header_line + payload).hexdigest().encode() + b"\n"
    path = tmp_path / "edited.mlmath"
    path.write_bytes(magic + b"\n" + header_line + digest + payload)
    with pytest.raises(ValueError, match="solver must be one of"):
        LogisticRegression.load(path)
