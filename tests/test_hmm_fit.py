"""Baum–Welch and the HMM estimators against hmmlearn, and EM's guarantees.

Precision claims. From the same start, one Baum–Welch step (start, transitions, and
categorical or Gaussian emissions of every covariance type, with Dirichlet priors) and a
fit of several steps over several sequences reach hmmlearn's parameters and log-likelihood
to 1e-8 relative in the x64 run; the default run computes in float32 from the same
(rounded) numbers and is held to 1e-4. The estimators' ``score``, ``predict_proba``,
``predict`` and ``decode`` over several sequences equal hmmlearn's for the same
parameters. The objective never decreases; no fit returns NaN parameters (a state never
visited, a zero emission probability, a state collapsing onto a point, impossible data).

Most tests share one layout (three sequences of 40, 25 and 35 steps; three states) so
that they share compiled programs.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hmmlearn import hmm as hmmlearn_hmm

import mlmath
from mlmath import hmm
from mlmath._estimator import NotFittedError
from mlmath.hmm import CategoricalHMM, CategoricalHMMParams, GaussianHMM, GaussianHMMParams
from mlmath.mixture import (
    covariances_from_precisions_cholesky,
    precisions_cholesky_from_covariances,
)
from tests.conftest import X64

FLOAT = np.float64 if X64 else np.float32
RTOL = 1e-8 if X64 else 1e-4
LENGTHS = np.array([40, 25, 35])
K, M, D = 3, 4, 2
TYPES = ["diag", "full", "tied", "spherical"]
# one step budget for every estimator fit, so that the fits share compiled programs
N_ITER = 30


def _true_chain(seed):
    rng = np.random.default_rng(seed)
    transition = 0.7 * np.eye(K) + 0.3 * rng.dirichlet(np.ones(K), K)
    return rng.dirichlet(np.ones(K) * 2), transition


def _states(seed, n):
    rng = np.random.default_rng(seed + 100)
    initial, transition = _true_chain(seed)
    states = [rng.choice(K, p=initial)]
    for _ in range(n - 1):
        states.append(rng.choice(K, p=transition[states[-1]]))
    return np.array(states)


N = int(LENGTHS.sum())


def _symbols(seed=0, n=N):
    rng = np.random.default_rng(seed + 200)
    emission = rng.dirichlet(np.ones(M) * 0.7, K)
    states = _states(seed, n)
    return np.array([rng.choice(M, p=emission[s]) for s in states])


def _observations(seed=0, n=N):
    rng = np.random.default_rng(seed + 300)
    means = np.array([[0.0, 0.0], [3.0, 1.0], [-1.0, 4.0]])
    states = _states(seed, n)
    return means[states] + rng.normal(size=(n, D)) @ np.array([[1.0, 0.3], [0.0, 0.7]])


def _padded(X):
    """hmmlearn's concatenated layout as the pure functions' padded batch."""
    T = LENGTHS.max()
    batch = np.zeros((len(LENGTHS), T) + X.shape[1:], X.dtype)
    start = 0
    for s, length in enumerate(LENGTHS):
        batch[s, :length] = X[start:start + length]
        start += length
    return batch


def _start(seed=0):
    """A start away from the truth: (initial, transition, emission rows, means,
    covariances by type)."""
    rng = np.random.default_rng(seed + 400)
    initial = rng.dirichlet(np.ones(K) * 3)
    transition = rng.dirichlet(np.ones(K) * 3, K)
    emission = rng.dirichlet(np.ones(M) * 3, K)
    means = rng.normal(scale=2.0, size=(K, D))
    full = np.stack([np.array([[1.5, 0.2 * k], [0.2 * k, 1.0 + 0.5 * k]]) for k in range(K)])
    covariances = {"full": full, "tied": full[0], "diag": np.stack([np.diag(c) for c in full]),
                   "spherical": np.array([np.mean(np.diag(c)) for c in full])}
    return initial, transition, emission, means, covariances


def _rounded(*arrays):
    """The arrays in the tests' float type, and the same numbers in float64 (hmmlearn's)."""
    ours = [np.asarray(a, FLOAT) for a in arrays]
    return ours, [a.astype(np.float64) for a in ours]


def _normalized(rows):
    rows = np.asarray(rows, np.float64)
    return (rows / rows.sum(-1, keepdims=True)).astype(FLOAT)


def _hmmlearn_categorical(start, n_iter, priors=(1.0, 1.0, 1.0), tol=-np.inf):
    initial, transition, emission = start
    model = hmmlearn_hmm.CategoricalHMM(
        n_components=K, n_features=M, startprob_prior=priors[0], transmat_prior=priors[1],
        emissionprob_prior=priors[2], n_iter=n_iter, tol=tol, init_params="")
    model.startprob_, model.transmat_, model.emissionprob_ = initial, transition, emission
    return model


def _hmmlearn_gaussian(covariance_type, start, n_iter, priors=(1.0, 1.0), tol=-np.inf):
    initial, transition, means, covariances = start
    # no prior on the emissions: hmmlearn's M step is then the maximum-likelihood one
    model = hmmlearn_hmm.GaussianHMM(
        n_components=K, covariance_type=covariance_type, startprob_prior=priors[0],
        transmat_prior=priors[1], covars_prior=0.0, covars_weight=1.0, n_iter=n_iter, tol=tol,
        init_params="")
    model.startprob_, model.transmat_ = initial, transition
    model.means_, model.covars_ = means, covariances
    return model


def _close(actual, desired, err_msg=""):
    desired = np.asarray(desired, np.float64)
    scale = max(1.0, float(np.max(np.abs(desired)))) if desired.size else 1.0
    np.testing.assert_allclose(np.asarray(actual, np.float64), desired, rtol=RTOL,
                               atol=RTOL * scale, err_msg=err_msg)


# ---------------------------------------------------------------------------------------
# one step and several against hmmlearn


@pytest.mark.parametrize("priors", [(1.0, 1.0, 1.0), (2.5, "matrix", "matrix")],
                         ids=["ml", "dirichlet"])
def test_one_categorical_step_equals_hmmlearn(priors):
    initial, transition, emission, _, _ = _start()
    (initial, transition, emission), reference_start = _rounded(
        _normalized(initial), _normalized(transition), _normalized(emission))
    rng = np.random.default_rng(5)
    priors = tuple(1.0 + rng.uniform(size=shape) * 3 if p == "matrix" else p
                   for p, shape in zip(priors, [(K,), (K, K), (K, M)], strict=True))
    X = _symbols()
    reference = _hmmlearn_categorical(reference_start, 1, priors).fit(X[:, None], LENGTHS)
    prior = hmm.HMMPrior(*(np.asarray(p, FLOAT) for p in priors))
    new, objective = hmm.baum_welch_step(
        CategoricalHMMParams(initial, transition, emission), jnp.asarray(_padded(X)),
        lengths=jnp.asarray(LENGTHS), prior=prior)
    _close(new.initial, reference.startprob_)
    _close(new.transition, reference.transmat_)
    _close(new.emission, reference.emissionprob_)
    # the objective is the log-likelihood (hmmlearn's history) plus the log prior
    log_prior = sum(np.sum((np.asarray(p) - 1) * np.log(q)) for p, q in
                    zip(priors, reference_start, strict=True))
    _close(objective, reference.monitor_.history[0] + log_prior)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_one_gaussian_step_equals_hmmlearn(covariance_type):
    initial, transition, _, means, covariances = _start()
    (initial, transition, means, covariances), reference_start = _rounded(
        _normalized(initial), _normalized(transition), means, covariances[covariance_type])
    X, reference_X = _rounded(_observations())
    X, reference_X = X[0], reference_X[0]
    reference = _hmmlearn_gaussian(covariance_type, reference_start, 1).fit(reference_X,
                                                                           LENGTHS)
    params = GaussianHMMParams(initial, transition, means, precisions_cholesky_from_covariances(
        covariances, covariance_type=covariance_type))
    new, objective = hmm.baum_welch_step(params, jnp.asarray(_padded(X)),
                                         lengths=jnp.asarray(LENGTHS),
                                         covariance_type=covariance_type)
    _close(objective, reference.monitor_.history[0])
    _close(new.initial, reference.startprob_)
    _close(new.transition, reference.transmat_)
    _close(new.means, reference.means_)
    covariances = np.asarray(covariances_from_precisions_cholesky(
        new.precisions_cholesky, covariance_type=covariance_type), np.float64)
    if covariance_type == "spherical":
        # hmmlearn stores a spherical variance once per feature (and its covars_ then has
        # the wrong shape): compare with the stored values
        _close(covariances, np.asarray(reference._covars_).reshape(K, -1)[:, 0])
        return
    full = {"full": lambda c: c, "tied": lambda c: np.stack([c] * K),
            "diag": lambda c: np.stack([np.diag(v) for v in c])}[covariance_type](covariances)
    _close(full, reference.covars_)  # hmmlearn's covars_ are full matrices for every type


def test_fits_over_several_sequences_equal_hmmlearn():
    """N_ITER steps of each estimator (start given, tol 0: no early stop) reach hmmlearn's
    parameters and last two log-likelihoods, and then score, posteriors and decoding
    equal hmmlearn's for the fitted parameters."""
    initial, transition, emission, means, covariances = _start(1)
    (initial, transition, emission, means, full), (r_initial, r_transition, r_emission,
                                                   r_means, r_full) = _rounded(
        _normalized(initial), _normalized(transition), _normalized(emission), means,
        covariances["full"])
    symbols = _symbols(1)
    (X,), (reference_X,) = _rounded(_observations(1))
    categorical = CategoricalHMM(K, n_features=M, n_iter=N_ITER, tol=0.0, transmat_prior=2.0,
                                 startprob_init=initial, transmat_init=transition,
                                 emissionprob_init=emission).fit(symbols, LENGTHS)
    reference = _hmmlearn_categorical((r_initial, r_transition, r_emission), N_ITER,
                                      (1.0, 2.0, 1.0)).fit(symbols[:, None], LENGTHS)
    gaussian = GaussianHMM(K, covariance_type="full", min_covar=0.0, n_iter=N_ITER, tol=0.0,
                           startprob_init=initial, transmat_init=transition, means_init=means,
                           covars_init=full).fit(X, LENGTHS)
    reference_gaussian = _hmmlearn_gaussian("full", (r_initial, r_transition, r_means, r_full),
                                            N_ITER).fit(reference_X, LENGTHS)
    for ours, theirs, data in ((categorical, reference, symbols),
                               (gaussian, reference_gaussian, X)):
        assert int(ours.n_iter_) == N_ITER and not bool(ours.converged_)
        _close(ours.startprob_, theirs.startprob_)
        _close(ours.transmat_, theirs.transmat_)
        if ours is categorical:
            _close(ours.emissionprob_, theirs.emissionprob_)
        else:
            _close(ours.means_, theirs.means_)
            _close(ours.covars_, theirs.covars_)
            # hmmlearn keeps the last two log-likelihoods (ours add the log prior: none here)
            _close(ours.monitor_.history[-2:], list(theirs.monitor_.history)[-2:])
        # the fitted model's methods, over the same sequences
        theirs.startprob_, theirs.transmat_ = (np.asarray(ours.startprob_, np.float64),
                                               np.asarray(ours.transmat_, np.float64))
        if ours is categorical:
            theirs.emissionprob_ = np.asarray(ours.emissionprob_, np.float64)
            their_data = data[:, None]
        else:
            theirs.means_ = np.asarray(ours.means_, np.float64)
            theirs.covars_ = np.asarray(ours.covars_, np.float64)
            their_data = np.asarray(data, np.float64)
        _close(ours.score(data, LENGTHS), theirs.score(their_data, LENGTHS))
        _close(ours.predict_proba(data, LENGTHS), theirs.predict_proba(their_data, LENGTHS))
        log_probability, path = ours.decode(data, LENGTHS)
        their_log_probability, their_path = theirs.decode(their_data, LENGTHS)
        np.testing.assert_array_equal(path, their_path)
        _close(log_probability, their_log_probability)
        np.testing.assert_array_equal(ours.decode(data, LENGTHS, algorithm="map")[1],
                                      theirs.decode(their_data, LENGTHS, algorithm="map")[1])


def test_the_categorical_history_carries_the_log_prior():
    """With Dirichlet priors the objective of a step is the log-likelihood of its start
    (the estimator's score) plus the log prior there."""
    symbols = _symbols(2)
    model = CategoricalHMM(K, n_features=M, n_iter=N_ITER, startprob_prior=3.0,
                           transmat_prior=2.0, emissionprob_prior=1.5).fit(symbols, LENGTHS)
    prior = hmm.HMMPrior(np.asarray(3.0, FLOAT), np.full((K, K), 2.0, FLOAT),
                         np.full((K, M), 1.5, FLOAT))
    _, objective = hmm.baum_welch_step(
        CategoricalHMMParams(model.startprob_, model.transmat_, model.emissionprob_),
        jnp.asarray(_padded(symbols)), lengths=jnp.asarray(LENGTHS), prior=prior)
    log_prior = (2.0 * np.sum(np.log(np.asarray(model.startprob_, np.float64)))
                 + np.sum(np.log(np.asarray(model.transmat_, np.float64)))
                 + 0.5 * np.sum(np.log(np.asarray(model.emissionprob_, np.float64))))
    _close(objective, float(model.score(symbols, LENGTHS)) + log_prior)


# ---------------------------------------------------------------------------------------
# EM's guarantees


def _assert_non_decreasing(history, err_msg=""):
    history = np.asarray(history, np.float64)
    history = history[np.isfinite(history)]
    slack = (1e-9 if X64 else 2e-5) * np.abs(history).max()
    assert np.all(np.diff(history) >= -slack), (err_msg, np.diff(history).min())


@pytest.mark.parametrize("with_prior", [False, True], ids=["ml", "map"])
def test_the_objective_never_decreases(with_prior):
    symbols = _symbols(3)
    prior = dict(startprob_prior=2.0, transmat_prior=1.5, emissionprob_prior=1.2) \
        if with_prior else {}
    model = CategoricalHMM(K, n_features=M, n_iter=N_ITER, tol=0.0, **prior).fit(
        symbols, LENGTHS, key=jax.random.key(1))
    _assert_non_decreasing(model.history_, "categorical")
    X = _observations(3).astype(FLOAT)
    for covariance_type in ("diag", "full"):
        options = dict(mean_prior=0.5, mean_precision_prior=0.1, covariance_prior=0.5,
                       degrees_of_freedom_prior=4.0, startprob_prior=2.0,
                       transmat_prior=1.5) if with_prior else {}
        model = GaussianHMM(K, covariance_type=covariance_type, min_covar=0.0, n_iter=N_ITER,
                            tol=0.0, **options).fit(X, LENGTHS)
        _assert_non_decreasing(model.history_, covariance_type)
        assert np.all(np.isfinite(np.asarray(model.covars_)))


def test_many_fits_are_one_vmap():
    """A thousand models in one compiled vmap, here eight: each equals its own fit."""
    symbols = jnp.asarray(_padded(_symbols(4)))
    keys = jax.random.split(jax.random.key(3), 8)

    def fit(key):
        return hmm.fit_categorical_hmm(key, symbols, K, M, lengths=jnp.asarray(LENGTHS),
                                       n_iter=N_ITER)

    batch = jax.jit(jax.vmap(fit))(keys)
    for i in (0, 5):
        single = fit(keys[i])
        np.testing.assert_allclose(batch.params.emission[i], single.params.emission,
                                   rtol=1e-4 if not X64 else 1e-10, atol=1e-6)
        assert int(batch.n_iter[i]) == int(single.n_iter)


# ---------------------------------------------------------------------------------------
# nothing silently NaN


def test_a_state_never_visited_keeps_its_rows():
    """State 2 cannot be entered (start probability 0, no transition into it): it gets no
    posterior mass and keeps its rows; nothing becomes NaN."""
    symbols = _symbols(5)
    initial = np.array([0.5, 0.5, 0.0], FLOAT)
    transition = np.array([[0.6, 0.4, 0.0], [0.3, 0.7, 0.0], [0.2, 0.3, 0.5]], FLOAT)
    emission = _normalized(np.arange(1, 1 + K * M).reshape(K, M))
    model = CategoricalHMM(K, n_features=M, n_iter=N_ITER, startprob_init=initial,
                           transmat_init=transition, emissionprob_init=emission).fit(
        symbols, LENGTHS)
    for name in ("startprob_", "transmat_", "emissionprob_"):
        assert np.all(np.isfinite(np.asarray(getattr(model, name)))), name
    np.testing.assert_array_equal(model.transmat_[2], transition[2])
    np.testing.assert_array_equal(model.emissionprob_[2], emission[2])
    assert float(model.startprob_[2]) == 0.0 and np.all(np.asarray(model.transmat_)[:2, 2] == 0)
    _assert_non_decreasing(model.history_, "a state never visited")
    X = _observations(5).astype(FLOAT)
    means = np.array([[0.0, 0.0], [3.0, 1.0], [50.0, 50.0]], FLOAT)
    gaussian = GaussianHMM(K, n_iter=N_ITER, startprob_init=initial, transmat_init=transition,
                           means_init=means).fit(X, LENGTHS)
    np.testing.assert_array_equal(gaussian.means_[2], means[2])
    assert np.all(np.isfinite(np.asarray(gaussian.covars_)))


def test_zero_emission_probabilities():
    """A zero probability for a symbol that occurs stays zero and gives no NaN; a symbol
    impossible in every state makes the data impossible: converged_ is False, the score is
    -inf and the parameters are the (finite) start."""
    symbols = _symbols(6)
    emission = _normalized(np.arange(1, 1 + K * M).reshape(K, M))
    emission[0, 1] = 0.0
    emission = _normalized(emission)
    model = CategoricalHMM(K, n_features=M, n_iter=N_ITER, emissionprob_init=emission).fit(
        symbols, LENGTHS)
    assert float(model.emissionprob_[0, 1]) == 0.0
    assert np.all(np.isfinite(np.asarray(model.emissionprob_)))
    assert np.isfinite(float(model.score(symbols, LENGTHS)))
    emission[:, 1] = 0.0
    emission = _normalized(emission)
    impossible = CategoricalHMM(K, n_features=M, n_iter=N_ITER, emissionprob_init=emission).fit(
        symbols, LENGTHS)
    assert not bool(impossible.converged_)
    assert float(impossible.score(symbols, LENGTHS)) == -np.inf
    np.testing.assert_array_equal(impossible.emissionprob_, emission)
    assert np.all(np.isfinite(np.asarray(impossible.transmat_)))


def test_a_collapsing_state_is_held_by_min_covar():
    """A state started on one outlying point, and data with duplicated points, keep finite
    covariances of at least min_covar."""
    X = _observations(7).astype(FLOAT)
    X[10] = [40.0, -40.0]
    X[50:60] = X[50]
    means = np.array([[0.0, 0.0], [3.0, 1.0], [40.0, -40.0]], FLOAT)
    for covariance_type in ("diag", "full"):
        model = GaussianHMM(K, covariance_type=covariance_type, n_iter=N_ITER, means_init=means,
                            min_covar=1e-3).fit(X, LENGTHS)
        covariances = np.asarray(model.covars_, np.float64)
        assert np.all(np.isfinite(covariances)), covariance_type
        variances = np.diagonal(covariances, axis1=1, axis2=2)
        assert variances.min() >= 1e-3 * (1 - 1e-5), covariance_type
        assert np.isfinite(float(model.score(X, LENGTHS)))


def test_pure_functions_poison_invalid_parameters():
    initial, transition, emission, _, _ = _start()
    params = CategoricalHMMParams(jnp.asarray(_normalized(initial)),
                                  jnp.asarray(_normalized(transition)),
                                  jnp.asarray(_normalized(emission)))
    X = jnp.asarray(_symbols()[:30])
    assert np.isfinite(float(hmm.baum_welch_step(params, X)[1]))
    bad_rows = params._replace(transition=params.transition * 0.9)
    assert np.isnan(float(hmm.baum_welch_step(bad_rows, X)[1]))
    out_of_range = X.at[3].set(M)
    assert np.isnan(float(hmm.baum_welch_step(params, out_of_range)[1]))
    assert np.all(np.isnan(np.asarray(hmm.log_emissions(params, out_of_range)[3])))
    new, _ = hmm.baum_welch_step(params, X, prior=hmm.HMMPrior(transition=0.5))
    assert np.all(np.isnan(np.asarray(new.transition)))
    fit = hmm.fit_categorical_hmm(jax.random.key(0), out_of_range, K, M)
    assert not bool(fit.converged) and np.all(np.isfinite(np.asarray(fit.params.emission)))


def test_gaussian_offsets_cost_no_accuracy():
    """Data with a large common offset (1e4) fit as the same data at the origin do, in
    float32 as in float64."""
    X = _observations(8).astype(FLOAT)
    start = dict(n_iter=N_ITER, tol=0.0, means_init=np.array([[0, 0], [3, 1], [-1, 4]], FLOAT))
    near = GaussianHMM(K, covariance_type="full", **start).fit(X, LENGTHS)
    offset = 1e4
    far_start = dict(start, means_init=start["means_init"] + np.asarray(offset, FLOAT))
    far = GaussianHMM(K, covariance_type="full", **far_start).fit(X + np.asarray(offset, FLOAT),
                                                                  LENGTHS)
    tolerance = 1e-9 if X64 else 2e-3
    np.testing.assert_allclose(np.asarray(far.means_) - offset, near.means_, atol=tolerance * 10)
    np.testing.assert_allclose(far.covars_, near.covars_, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(far.transmat_, near.transmat_, atol=tolerance)


# ---------------------------------------------------------------------------------------
# sampling, persistence, bad input


def test_samples_follow_the_model():
    initial, transition = _true_chain(9)
    emission = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.25] * 4])
    model = CategoricalHMM(K, n_features=M)._fitted(
        startprob_=jnp.asarray(initial, FLOAT), transmat_=jnp.asarray(transition, FLOAT),
        emissionprob_=jnp.asarray(emission, FLOAT), converged_=jnp.asarray(True),
        n_iter_=jnp.asarray(0), history_=jnp.zeros(1, FLOAT))
    n = 20_000
    X, states = (np.asarray(a) for a in model.sample(jax.random.key(0), n))
    counts = np.zeros((K, K))
    np.add.at(counts, (states[:-1], states[1:]), 1)
    frequencies = counts / counts.sum(1, keepdims=True)
    bound = 5 * np.sqrt(0.25 / counts.sum(1, keepdims=True))
    assert np.all(np.abs(frequencies - transition) < bound)
    for k in range(K):
        emitted = np.bincount(X[states == k], minlength=M) / np.sum(states == k)
        assert np.all(np.abs(emitted - emission[k]) < 5 * np.sqrt(0.25 / np.sum(states == k)))
    covariance = np.array([[1.0, 0.4], [0.4, 0.5]])
    gaussian = GaussianHMM(K, covariance_type="full")._fitted(
        startprob_=jnp.asarray(initial, FLOAT), transmat_=jnp.asarray(transition, FLOAT),
        means_=jnp.asarray([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], FLOAT),
        precisions_cholesky_=precisions_cholesky_from_covariances(
            jnp.asarray(np.stack([covariance] * K), FLOAT)),
        covars_=jnp.asarray(np.stack([covariance] * K), FLOAT), converged_=jnp.asarray(True),
        n_iter_=jnp.asarray(0), history_=jnp.zeros(1, FLOAT))
    points, states = (np.asarray(a) for a in gaussian.sample(jax.random.key(1), n))
    for k in range(K):
        chosen = points[states == k]
        np.testing.assert_allclose(chosen.mean(0), gaussian.means_[k],
                                   atol=5 / np.sqrt(len(chosen)))
        np.testing.assert_allclose(np.cov(chosen.T), covariance, atol=8 / np.sqrt(len(chosen)))


def test_fitted_models_save_and_load(tmp_path):
    symbols = _symbols(10)
    X = _observations(10).astype(FLOAT)
    for model, data in ((CategoricalHMM(K, n_iter=N_ITER).fit(symbols, LENGTHS), symbols),
                        (GaussianHMM(K, covariance_type="full", n_iter=N_ITER).fit(X, LENGTHS), X)):
        path = tmp_path / f"{type(model).__name__}.mlmath"
        model.save(path)
        loaded = type(model).load(path)
        np.testing.assert_array_equal(loaded.predict(data, LENGTHS), model.predict(data, LENGTHS))
        assert float(loaded.score(data, LENGTHS)) == float(model.score(data, LENGTHS))
        assert loaded.monitor_ == model.monitor_


def _rows_not_summing():
    return np.array([[0.5, 0.4, 0.1], [0.3, 0.3, 0.3], [0.2, 0.3, 0.5]])


BAD_INPUT = {
    "lengths not summing": (lambda: GaussianHMM(2), lambda X, s: (X, [50, 40]),
                            "lengths sum to 90, but X has 100 rows"),
    "zero length": (lambda: GaussianHMM(2), lambda X, s: (X, [0, 100]),
                    "every sequence length must be >= 1"),
    "NaN named": (lambda: GaussianHMM(2),
                  lambda X, s: (np.where(np.arange(100)[:, None] == 7, np.nan, X), None),
                  "row 7, column 0"),
    "X of rank 1": (lambda: GaussianHMM(2), lambda X, s: (X[:, 0], None), "2-D"),
    "too few samples": (lambda: GaussianHMM(5), lambda X, s: (X[:3], None),
                        "fewer than n_components=5"),
    "negative code": (lambda: CategoricalHMM(2), lambda X, s: (np.r_[s[:-1], -1], None),
                      "row 99 is -1"),
    "code beyond n_features": (lambda: CategoricalHMM(2, n_features=3),
                               lambda X, s: (np.r_[s[:-1], 3], None), r"in \[0, 3\)"),
    "fractional code": (lambda: CategoricalHMM(2), lambda X, s: (np.r_[s[:-1], 0.5], None),
                        "integer symbols"),
    "transmat rows": (lambda: CategoricalHMM(3, transmat_init=_rows_not_summing()),
                      lambda X, s: (s, None), "row 1 of transmat_init sums to"),
    "startprob": (lambda: GaussianHMM(2, startprob_init=np.array([0.6, 0.6])),
                  lambda X, s: (X, None), "startprob_init sums to"),
    "emission rows": (lambda: CategoricalHMM(2, n_features=4,
                                             emissionprob_init=np.full((2, 4), 0.3)),
                      lambda X, s: (s, None), "emissionprob_init sums to"),
    "covars not positive definite": (
        lambda: GaussianHMM(2, covariance_type="full",
                            covars_init=np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]])),
        lambda X, s: (X, None), r"covars_init\[1\] is not positive definite"),
    "means shape": (lambda: GaussianHMM(2, means_init=np.zeros((3, 2))),
                    lambda X, s: (X, None), r"means_init must have shape \(2, 2\)"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input_is_rejected_by_name(name):
    make, arguments, message = BAD_INPUT[name]
    X = np.random.default_rng(0).normal(size=(100, 2))
    symbols = np.arange(100) % 3
    data, lengths = arguments(X, symbols)
    with pytest.raises(ValueError, match=message):
        make().fit(data, lengths)


@pytest.mark.parametrize("make, message", [
    (lambda: CategoricalHMM(0), "n_components"),
    (lambda: CategoricalHMM(2, transmat_prior=0.5), "transmat_prior must be >= 1"),
    (lambda: GaussianHMM(2, covariance_type="banana"), "covariance_type"),
    (lambda: GaussianHMM(2, params="stmx"), "params must be a string of the letters"),
    (lambda: GaussianHMM(2, algorithm="beam"), "algorithm"),
    (lambda: GaussianHMM(2, mean_prior=0.0), "mean_prior and mean_precision_prior go together"),
    (lambda: GaussianHMM(2, min_covar=-1.0), "min_covar"),
])
def test_bad_hyper_parameters_are_rejected_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_predicting_checks_against_the_fitted_model():
    symbols = np.arange(60) % 3
    model = CategoricalHMM(2, n_iter=N_ITER).fit(symbols)
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        model.predict(np.array([0, 1, 3]))
    with pytest.raises(ValueError, match="lengths sum to"):
        model.score(symbols, [30, 20])
    gaussian = GaussianHMM(2, n_iter=N_ITER).fit(np.random.default_rng(0).normal(size=(60, 2)))
    with pytest.raises(ValueError, match="features"):
        gaussian.predict(np.zeros((4, 3)))
    with pytest.raises(NotFittedError):
        GaussianHMM(2).predict(np.zeros((4, 2)))
    assert isinstance(mlmath.GaussianHMM(2), GaussianHMM)


def test_one_sequence_and_lengths_agree():
    """Scoring sequences together equals scoring each alone; decoding too (two pieces of
    one length, so that one program serves both)."""
    X = _observations(11).astype(FLOAT)
    model = GaussianHMM(K, n_iter=N_ITER).fit(X, LENGTHS)
    pieces = [X[:50], X[50:]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = sum(float(model.score(piece)) for piece in pieces)
    np.testing.assert_allclose(float(model.score(X, [50, 50])), total, rtol=RTOL * 10)
    np.testing.assert_array_equal(model.predict(X, [50, 50]),
                                  np.concatenate([model.predict(piece) for piece in pieces]))


def test_pure_fits_name_their_bad_arguments():
    codes = jnp.asarray(_symbols()[:20])
    with pytest.raises(ValueError, match="n_categories must be an int >= 1"):
        hmm.fit_categorical_hmm(jax.random.key(0), codes, 2, 0)
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        hmm.fit_gaussian_hmm(jax.random.key(0), jnp.zeros((20, 2)), 2, covariance_type="x")
