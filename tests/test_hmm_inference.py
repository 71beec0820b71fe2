"""mlmath.hmm: filter, smoother, forward-backward and Viterbi against references.

Every number is checked against an independent reference: hmmlearn (float64, 1e-8), brute
enumeration of all K^T paths (small T), or a closed form (the gradients of the
log-likelihood are the posterior expectations). The references are computed in float64
from the very numbers the code under test receives (``tests.conftest.rounded``).

Both runs check the values against the references in their own precision, the gradients,
and the float32 / float64 extremes. The tests of semantics (parallel equals sequential,
zeros, impossible sequences, NaN, padding) run in the default run only
(``default_mode_only``, tests/conftest.py): they hold in either precision, and their
programs (the parallel ones with padding) are the slowest to compile. Every test shares the
programs compiled for one shape (``NUM_STATES``, ``NUM_STEPS``): compiling is most of this
file's time.
"""

from __future__ import annotations

import copy
import functools
import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hmmlearn import hmm as hmmlearn_hmm

from mlmath.hmm import ForwardBackward, backward_smoother, forward_backward, forward_filter, viterbi
from tests.conftest import assert_close, rounded, rtol_for

PARALLEL = [False, True]


def _log(values):
    with np.errstate(divide="ignore"):
        return np.log(values)


def _model(seed, num_states, num_steps, zeros=False):
    """A random model as probabilities: initial (K,), transition (K, K), emissions (T, K).

    With ``zeros``: a banded transition matrix (each state moves to itself or the next
    K - 2, cyclically: one zero per row) and a few exactly-zero emission probabilities.
    """
    rng = np.random.default_rng(seed)
    initial = rng.dirichlet(np.ones(num_states))
    transition = rng.dirichlet(np.ones(num_states), num_states)
    emissions = rng.uniform(0.05, 1.0, (num_steps, num_states))
    if zeros:
        band = np.zeros((num_states, num_states), bool)
        for i in range(num_states):
            band[i, (i + np.arange(num_states - 1)) % num_states] = True
        transition = np.where(band, transition, 0.0)
        transition /= transition.sum(1, keepdims=True)
        emissions[rng.uniform(size=emissions.shape) < 0.2] = 0.0
        emissions[:, 0] = np.where(emissions.max(1) == 0, 0.5, emissions[:, 0])
    return initial, transition, emissions


def _log_model(seed, num_states, num_steps, dtype, zeros=False):
    """The model as log-arrays of ``dtype`` and the same rounded numbers in float64."""
    arrays = [rounded(_log(p), dtype) for p in _model(seed, num_states, num_steps, zeros)]
    return [a for a, _ in arrays], [r for _, r in arrays]


def _path_scores(log_initial, log_transition, log_emissions):
    """Every path of K^T and its log joint probability (float64 numpy)."""
    num_steps, num_states = log_emissions.shape
    paths = np.array(list(itertools.product(range(num_states), repeat=num_steps)))
    with np.errstate(invalid="ignore"):
        scores = (log_initial[paths[:, 0]]
                  + log_emissions[np.arange(num_steps), paths].sum(1)
                  + log_transition[paths[:, :-1], paths[:, 1:]].sum(1))
    return paths, scores


def _brute_force(log_initial, log_transition, log_emissions):
    """log-likelihood, filtered, posteriors, expected transitions, best path and score."""
    num_steps, num_states = log_emissions.shape
    paths, scores = _path_scores(log_initial, log_transition, log_emissions)
    log_likelihood = np.logaddexp.reduce(scores)
    weights = np.exp(scores - log_likelihood)
    posteriors = np.stack([np.bincount(paths[:, t], weights, num_states)
                           for t in range(num_steps)])
    expected = np.zeros((num_states, num_states))
    for t in range(num_steps - 1):
        np.add.at(expected, (paths[:, t], paths[:, t + 1]), weights)
    filtered = []
    for t in range(num_steps):
        prefix_paths, prefix_scores = _path_scores(log_initial, log_transition,
                                                   log_emissions[:t + 1])
        prefix_weights = np.exp(prefix_scores - np.logaddexp.reduce(prefix_scores))
        filtered.append(np.bincount(prefix_paths[:, t], prefix_weights, num_states))
    best = np.argmax(scores)
    return dict(log_likelihood=log_likelihood, filtered=np.stack(filtered),
                posteriors=posteriors, expected=expected, path=paths[best],
                log_probability=scores[best])


def _all(log_initial, log_transition, log_emissions, parallel, length=None):
    """Every public function on one model."""
    log_likelihood, log_filtered = forward_filter(log_initial, log_transition, log_emissions,
                                                  length=length, parallel=parallel)
    log_smoothed = backward_smoother(log_transition, log_emissions, log_filtered,
                                     length=length, parallel=parallel)
    result = forward_backward(log_initial, log_transition, log_emissions, length=length,
                              parallel=parallel)
    path, log_probability = viterbi(log_initial, log_transition, log_emissions,
                                    length=length, parallel=parallel)
    return dict(log_likelihood=log_likelihood, log_filtered=log_filtered,
                log_smoothed=log_smoothed, result=result, path=path,
                log_probability=log_probability)


def _float_outputs(out):
    return {"log_likelihood": out["log_likelihood"], "log_filtered": out["log_filtered"],
            "log_smoothed": out["log_smoothed"], "log_probability": out["log_probability"],
            **{f"result.{k}": v for k, v in out["result"]._asdict().items()}}


# the rows of _derivatives
DERIVATIVES = ("forward_filter log-likelihood", "forward_backward log-likelihood",
               "Viterbi log-probability", "posteriors and counts")
FILTER, FORWARD_BACKWARD, VITERBI, OTHER = range(len(DERIVATIVES))


@functools.partial(jax.jit, static_argnames="parallel")
def _derivatives(log_initial, log_transition, log_emissions, length, parallel):
    """``(d/d log_initial, d/d log_transition, d/d log_emissions)``, each with one row per
    scalar of :data:`DERIVATIVES` (the last a weighted sum of the posteriors and the
    expected transitions).

    One program per ``parallel`` (one backward pass, vmapped over the scalars: several
    ``jax.grad`` at once), shared by every gradient check: compiling gradients is most of
    this file's time. The parallel program differentiates :func:`forward_backward` only
    (the other rows are 0): it runs the associative scan of :func:`forward_filter`, batched
    with the backward one, and Viterbi's log-probability is summed along the path by the
    code both implementations share (its scans reach the result only through integers).
    """
    weights = jnp.linspace(0.5, 1.5, log_emissions.size, dtype=log_emissions.dtype)
    weights = weights.reshape(log_emissions.shape)

    def scalars(pi, a, e):
        result = forward_backward(pi, a, e, length=length, parallel=parallel)
        zero = jnp.zeros((), e.dtype)
        log_likelihood = zero if parallel else forward_filter(pi, a, e, length=length)[0]
        log_probability = zero if parallel else viterbi(pi, a, e, length=length)[1]
        other = (jnp.sum(result.posteriors * weights)
                 + jnp.sum(result.expected_transitions * weights[: a.shape[0]]))
        return jnp.stack([log_likelihood, result.log_likelihood, log_probability, other])

    _, pullback = jax.vjp(scalars, log_initial, log_transition, log_emissions)
    return jax.vmap(pullback)(jnp.eye(len(DERIVATIVES), dtype=log_emissions.dtype))


def _assert_finite_gradients(gradients, message=""):
    for argument, gradient in zip(("log_initial", "log_transition", "log_emissions"),
                                  gradients, strict=True):
        for name, row in zip(DERIVATIVES, np.asarray(gradient), strict=True):
            assert np.all(np.isfinite(row)), f"{message}: d({name})/d({argument})"


# ---------------------------------------------------------------------------------------
# hmmlearn (float64)


def _hmmlearn_model(seed, num_states, num_symbols, zeros=False):
    rng = np.random.default_rng(seed)
    model = hmmlearn_hmm.CategoricalHMM(n_components=num_states, init_params="",
                                        params="st", n_iter=1)
    model.n_features = num_symbols
    model.startprob_ = rng.dirichlet(np.ones(num_states))
    model.transmat_ = rng.dirichlet(np.ones(num_states), num_states)
    emission = rng.dirichlet(np.ones(num_symbols), num_states)
    if zeros:  # a forbidden transition per row, symbol k impossible in state k
        model.transmat_ = _model(seed, num_states, 1, zeros=True)[1]
        emission[np.arange(num_states), np.arange(num_states)] = 0.0
        emission /= emission.sum(1, keepdims=True)
    model.emissionprob_ = emission
    return model, rng


def _hmmlearn_em_step(model, observations, lengths=None):
    """hmmlearn's one EM step: start ∝ summed first posteriors, transition ∝ expected counts."""
    updated = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        updated.fit(observations, lengths)
    return updated.startprob_, updated.transmat_


def _log_parameters(model, observations):
    return (_log(model.startprob_), _log(model.transmat_),
            _log(model.emissionprob_[:, observations[:, 0]].T))


# The references check the sequential implementation; the parallel one is checked against
# it below (and against enumeration): its programs take several times longer to compile.


@pytest.mark.x64_only
@pytest.mark.parametrize("zeros", [False, True], ids=["dense", "zeros"])
def test_one_sequence_matches_hmmlearn(zeros):
    with jax.enable_x64(True):
        model, rng = _hmmlearn_model(zeros, 3, num_symbols=5, zeros=zeros)
        observations = rng.integers(0, 5, size=(50, 1))
        out = _all(*_log_parameters(model, observations), parallel=False)
        assert_close(out["log_likelihood"], model.score(observations), rtol=1e-8)
        assert_close(out["result"].log_likelihood, model.score(observations), rtol=1e-8)
        assert_close(out["result"].posteriors, model.predict_proba(observations), rtol=1e-8)
        assert_close(np.exp(out["log_smoothed"]), model.predict_proba(observations), rtol=1e-8)
        log_probability, path = model.decode(observations, algorithm="viterbi")
        np.testing.assert_array_equal(out["path"], path)
        assert_close(out["log_probability"], log_probability, rtol=1e-8)
        start, transition = _hmmlearn_em_step(model, observations)
        expected = np.asarray(out["result"].expected_transitions)
        assert_close(expected / expected.sum(1, keepdims=True), transition, rtol=1e-8)
        assert_close(expected.sum(), 49, rtol=1e-8)
        assert_close(out["result"].posteriors[0], start, rtol=1e-8)


@pytest.mark.x64_only
def test_padded_batch_matches_hmmlearn_lengths():
    """Sequences of different lengths: one vmap over padded arrays and lengths here, the
    concatenated sequences with ``lengths`` in hmmlearn."""
    with jax.enable_x64(True):
        model, rng = _hmmlearn_model(2, 4, num_symbols=6)
        lengths = np.array([50, 31, 1, 44])
        observations = rng.integers(0, 6, size=(lengths.sum(), 1))
        log_initial, log_transition, log_emissions = _log_parameters(model, observations)
        padded = np.full((len(lengths), 50, 4), np.nan)  # NaN padding must not matter
        starts = np.cumsum(lengths) - lengths
        for row, (start, length) in enumerate(zip(starts, lengths, strict=True)):
            padded[row, :length] = log_emissions[start:start + length]

        def both(e, n):  # forward_backward and viterbi: every recursion of the four
            result = forward_backward(log_initial, log_transition, e, length=n)
            return result, *viterbi(log_initial, log_transition, e, length=n)

        result, paths, log_probabilities = jax.vmap(both)(padded, lengths)

        def counted(x):
            return np.concatenate([np.asarray(x[i, :n]) for i, n in enumerate(lengths)])

        assert_close(result.log_likelihood.sum(), model.score(observations, lengths), rtol=1e-8)
        posteriors = model.predict_proba(observations, lengths)
        assert_close(counted(result.posteriors), posteriors, rtol=1e-8)
        log_probability, path = model.decode(observations, lengths, algorithm="viterbi")
        np.testing.assert_array_equal(counted(paths), path)
        assert_close(log_probabilities.sum(), log_probability, rtol=1e-8)
        start, transition = _hmmlearn_em_step(model, observations, lengths)
        expected = np.asarray(result.expected_transitions.sum(0))
        assert_close(expected / expected.sum(1, keepdims=True), transition, rtol=1e-8)
        first = np.asarray(result.posteriors[:, 0].sum(0))
        assert_close(first / first.sum(), start, rtol=1e-8)


# ---------------------------------------------------------------------------------------
# brute force over all K^T paths, in the run's own dtype (one shape for the whole file,
# so that the programs compiled once serve every test)

NUM_STATES, NUM_STEPS = 3, 6


@pytest.mark.parametrize("zeros", [False, True], ids=["dense", "zeros"])
@pytest.mark.parametrize("parallel", PARALLEL)
def test_every_function_matches_brute_force(dtype, zeros, parallel):
    (log_initial, log_transition, log_emissions), reference64 = _log_model(
        4 + zeros, NUM_STATES, NUM_STEPS, dtype, zeros)
    if zeros:
        assert np.isinf(reference64[1]).any() and np.isinf(reference64[2]).any()
    reference = _brute_force(*reference64)
    out = _all(log_initial, log_transition, log_emissions, parallel)
    assert_close(out["log_likelihood"], reference["log_likelihood"], dtype)
    assert_close(out["result"].log_likelihood, reference["log_likelihood"], dtype)
    assert_close(np.exp(out["log_filtered"]), reference["filtered"], dtype)
    assert_close(np.exp(out["log_smoothed"]), reference["posteriors"], dtype)
    assert_close(out["result"].posteriors, reference["posteriors"], dtype)
    assert_close(out["result"].expected_transitions, reference["expected"], dtype)
    np.testing.assert_array_equal(out["path"], reference["path"])
    assert_close(out["log_probability"], reference["log_probability"], dtype)
    assert out["path"].dtype == jnp.int32
    for name, value in _float_outputs(out).items():
        assert value.dtype == dtype, name
        assert not np.any(np.isnan(value)), name
    if zeros:  # exact zeros stay exact
        assert np.all(np.asarray(out["result"].posteriors)[reference["posteriors"] == 0] == 0)
        expected = np.asarray(out["result"].expected_transitions)
        assert np.all(expected[reference64[1] == -np.inf] == 0)


@pytest.mark.parametrize("parallel", PARALLEL)
def test_viterbi_is_the_best_of_all_paths(dtype, parallel):
    """Several models, and one step alone, against enumeration of all paths."""
    for seed, num_steps in itertools.product(range(4), (NUM_STEPS, 1)):
        (log_initial, log_transition, log_emissions), reference64 = _log_model(
            10 + seed, NUM_STATES, num_steps, dtype, zeros=seed % 2 == 1)
        paths, scores = _path_scores(*reference64)
        path, log_probability = viterbi(log_initial, log_transition, log_emissions,
                                        parallel=parallel)
        np.testing.assert_array_equal(path, paths[np.argmax(scores)])
        assert_close(log_probability, scores.max(), dtype)


# ---------------------------------------------------------------------------------------
# gradients: the closed forms of the derivatives of the log-partition function


@pytest.mark.parametrize("zeros", [False, True], ids=["dense", "zeros"])
@pytest.mark.parametrize("parallel", PARALLEL)
def test_gradients_are_the_posterior_expectations(dtype, zeros, parallel):
    r"""With :math:`\log Z = \log\sum_z \exp(\pi_{z_0} + \sum_t E_{t z_t} + \sum_t A_{z_t z_{t+1}})`
    (the inputs are log-potentials, not renormalized), :math:`\partial \log Z / \partial
    E_{tk} = \sum_z 1[z_t = k]\, p(z \mid x) = p(z_t = k \mid x)`, :math:`\partial/\partial
    \pi_k = p(z_0 = k \mid x)` and :math:`\partial/\partial A_{ij} = \sum_t p(z_t = i,
    z_{t+1} = j \mid x)`: the expected counts themselves. (With respect to the transition
    probabilities :math:`P = e^A` that is :math:`\sum_t \xi_{t,ij} / P_{ij}`; with respect to
    row logits :math:`A = \mathrm{log\_softmax}(W)` it is
    :math:`\sum_t \xi_{t,ij} - P_{ij} \sum_{t,j'} \xi_{t,ij'}`, 0 at an EM fixed point.) The
    gradient of the Viterbi log-probability is the indicator of the best path."""
    (log_initial, log_transition, log_emissions), reference64 = _log_model(
        20 + zeros, NUM_STATES, NUM_STEPS, dtype, zeros)
    reference = _brute_force(*reference64)
    initial, transition, emissions = _derivatives(log_initial, log_transition, log_emissions,
                                                  NUM_STEPS, parallel)
    for row in (FORWARD_BACKWARD,) if parallel else (FILTER, FORWARD_BACKWARD):
        assert_close(initial[row], reference["posteriors"][0], dtype)
        assert_close(transition[row], reference["expected"], dtype)
        assert_close(emissions[row], reference["posteriors"], dtype)
    if not parallel:  # Viterbi: the indicators of the best path's terms
        path = reference["path"]
        indicator = np.zeros((NUM_STEPS, NUM_STATES))
        indicator[np.arange(NUM_STEPS), path] = 1.0
        np.testing.assert_array_equal(emissions[VITERBI], indicator)
        counts = np.zeros((NUM_STATES, NUM_STATES))
        np.add.at(counts, (path[:-1], path[1:]), 1.0)
        np.testing.assert_array_equal(transition[VITERBI], counts)
        np.testing.assert_array_equal(initial[VITERBI], np.arange(NUM_STATES) == path[0])
    _assert_finite_gradients((initial, transition, emissions))


# ---------------------------------------------------------------------------------------
# parallel == sequential


@pytest.mark.default_mode_only  # semantics, not precision: see the module docstring
@pytest.mark.parametrize("zeros", [False, True], ids=["dense", "zeros"])
def test_parallel_equals_sequential(dtype, zeros):
    (log_initial, log_transition, log_emissions), _ = _log_model(
        30 + zeros, NUM_STATES, NUM_STEPS, dtype, zeros)
    for length in (None, NUM_STEPS, 5, 2, 1, 0):
        sequential = _all(log_initial, log_transition, log_emissions, False, length)
        parallel = _all(log_initial, log_transition, log_emissions, True, length)
        message = f"length={length}"
        for name in ("log_likelihood", "log_probability"):
            assert_close(parallel[name], sequential[name], dtype, err_msg=message)
        for name in ("log_filtered", "log_smoothed"):  # as probabilities: -inf entries match
            assert_close(np.exp(parallel[name]), np.exp(sequential[name]), dtype,
                         err_msg=message)
        for a, b in zip(parallel["result"], sequential["result"], strict=True):
            assert_close(a, b, dtype, err_msg=message)
        np.testing.assert_array_equal(parallel["path"], sequential["path"], err_msg=message)


# ---------------------------------------------------------------------------------------
# zero probabilities, impossible sequences, NaN


@pytest.mark.default_mode_only  # semantics, not precision: see the module docstring
@pytest.mark.parametrize("parallel", PARALLEL)
def test_zero_probabilities_give_no_nan_in_values_or_gradients(dtype, parallel):
    (log_initial, log_transition, log_emissions), reference64 = _log_model(
        5, NUM_STATES, NUM_STEPS, dtype, zeros=True)
    log_initial = log_initial.at[2].set(-jnp.inf)  # a state that cannot start
    reference64[0] = np.where(np.arange(NUM_STATES) == 2, -np.inf, reference64[0])
    reference = _brute_force(*reference64)
    out = _all(log_initial, log_transition, log_emissions, parallel, length=NUM_STEPS)
    assert np.isfinite(out["log_likelihood"]) and np.isfinite(out["log_probability"])
    assert_close(out["log_likelihood"], reference["log_likelihood"], dtype)
    assert_close(out["result"].posteriors, reference["posteriors"], dtype)
    assert_close(out["result"].expected_transitions, reference["expected"], dtype)
    for name, value in _float_outputs(out).items():
        assert not np.any(np.isnan(value)), name
    gradients = _derivatives(log_initial, log_transition, log_emissions, NUM_STEPS, parallel)
    _assert_finite_gradients(gradients)
    assert_close(gradients[2][FORWARD_BACKWARD], reference["posteriors"], dtype)
    assert_close(gradients[1][FORWARD_BACKWARD], reference["expected"], dtype)


def _impossible(dtype):
    """A chain that moves 0 -> 1 -> 2 only, seen in state 1 at step 1, then in state 0."""
    log_initial = _log(np.array([0.5, 0.5, 0.0]))
    log_transition = _log(np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]))
    emissions = np.full((NUM_STEPS, NUM_STATES), 1 / 3)
    emissions[1] = [0.0, 1.0, 0.0]
    emissions[2] = [1.0, 0.0, 0.0]
    return [jnp.asarray(x, dtype) for x in (log_initial, log_transition, _log(emissions))]


@pytest.mark.default_mode_only  # semantics, not precision: see the module docstring
@pytest.mark.parametrize("parallel", PARALLEL)
def test_impossible_sequence(dtype, parallel):
    log_initial, log_transition, log_emissions = _impossible(dtype)
    for length in (None, 5):
        out = _all(log_initial, log_transition, log_emissions, parallel, length)
        assert out["log_likelihood"] == -np.inf
        assert out["result"].log_likelihood == -np.inf
        assert out["log_probability"] == -np.inf
        filtered = np.exp(np.asarray(out["log_filtered"]))
        np.testing.assert_allclose(filtered[:2], [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]],
                                   atol=rtol_for(dtype))
        assert np.all(filtered[2:] == 0)  # no state is possible from step 2 on
        assert np.all(np.asarray(out["log_smoothed"]) == -np.inf)
        assert np.all(np.asarray(out["result"].posteriors) == 0)
        assert np.all(np.asarray(out["result"].expected_transitions) == 0)
        assert np.all((np.asarray(out["path"]) >= 0) & (np.asarray(out["path"]) < NUM_STATES))
        for name, value in _float_outputs(out).items():
            assert not np.any(np.isnan(value)), name
    gradients = _derivatives(log_initial, log_transition, log_emissions, NUM_STEPS, parallel)
    for gradient in gradients:
        assert not np.any(np.isnan(gradient))


@pytest.mark.default_mode_only  # semantics, not precision: see the module docstring
@pytest.mark.parametrize("parallel", PARALLEL)
def test_nan_input_gives_nan(dtype, parallel):
    (log_initial, log_transition, log_emissions), _ = _log_model(6, NUM_STATES, NUM_STEPS,
                                                                 dtype)
    cases = {"log_initial": (log_initial.at[1].set(jnp.nan), log_transition, log_emissions),
             "log_transition": (log_initial, log_transition.at[0, 2].set(jnp.nan),
                                log_emissions),
             "log_emissions": (log_initial, log_transition,
                               log_emissions.at[3, 1].set(jnp.nan))}
    for case, arrays in cases.items():
        for length in (None, 5, 1):
            if case == "log_emissions" and length is not None and length <= 3:
                continue  # a NaN in the padding: see test_padding_is_ignored
            out = _all(*arrays, parallel, length)
            for name, value in _float_outputs(out).items():
                assert np.all(np.isnan(value)), f"{case}, length={length}: {name}"
            assert np.all((np.asarray(out["path"]) >= 0) & (np.asarray(out["path"]) < NUM_STATES))


# ---------------------------------------------------------------------------------------
# padding


@pytest.mark.default_mode_only  # semantics, not precision: see the module docstring
@pytest.mark.parametrize("parallel", PARALLEL)
def test_padding_is_ignored(dtype, parallel):
    """A sequence padded to T with length L gives, on its first L rows, the answers of the
    L-step sequence (enumerated); the padded rows repeat the last counted one exactly; and
    the padding (NaN here) reaches neither the values nor the gradients."""
    (log_initial, log_transition, log_emissions), reference64 = _log_model(
        7, NUM_STATES, NUM_STEPS, dtype, zeros=True)
    for length in (4, 1):
        reference = _brute_force(reference64[0], reference64[1], reference64[2][:length])
        padded = log_emissions.at[length:].set(jnp.nan)
        out = _all(log_initial, log_transition, padded, parallel, length)
        for name in ("log_likelihood", "log_probability"):
            assert_close(out[name], reference[name], dtype)
        assert_close(out["result"].log_likelihood, reference["log_likelihood"], dtype)
        assert_close(np.exp(out["log_filtered"][:length]), reference["filtered"], dtype)
        assert_close(np.exp(out["log_smoothed"][:length]), reference["posteriors"], dtype)
        assert_close(out["result"].posteriors[:length], reference["posteriors"], dtype)
        assert_close(out["result"].expected_transitions, reference["expected"], dtype)
        np.testing.assert_array_equal(out["path"][:length], reference["path"])
        repeated = (NUM_STEPS - length, NUM_STATES)
        for name in ("log_filtered", "log_smoothed"):
            np.testing.assert_array_equal(out[name][length:],
                                          np.broadcast_to(out[name][length - 1], repeated))
        np.testing.assert_array_equal(out["result"].posteriors[length:],
                                      np.broadcast_to(out["result"].posteriors[length - 1],
                                                      repeated))
        assert np.all(np.asarray(out["path"][length:]) == reference["path"][-1])
        for name, value in _float_outputs(out).items():
            assert not np.any(np.isnan(value)), name
        gradients = _derivatives(log_initial, log_transition, padded, length, parallel)
        _assert_finite_gradients(gradients, f"length={length}")
        assert np.all(np.asarray(gradients[2])[:, length:] == 0)
        assert_close(gradients[2][FORWARD_BACKWARD][:length], reference["posteriors"], dtype)
        assert_close(gradients[1][FORWARD_BACKWARD], reference["expected"], dtype)


@pytest.mark.default_mode_only  # semantics, not precision: see the module docstring
@pytest.mark.parametrize("parallel", PARALLEL)
def test_length_zero_is_the_prior(dtype, parallel):
    (log_initial, log_transition, log_emissions), reference64 = _log_model(
        8, NUM_STATES, NUM_STEPS, dtype)
    log_initial = log_initial + 0.25  # unnormalized: the log-likelihood is its logsumexp
    out = _all(log_initial, log_transition, log_emissions, parallel, 0)
    prior = np.broadcast_to(np.exp(reference64[0]) / np.exp(reference64[0]).sum(),
                            (NUM_STEPS, NUM_STATES))
    assert_close(out["log_likelihood"], np.logaddexp.reduce(reference64[0] + 0.25), dtype)
    assert_close(out["result"].posteriors, prior, dtype)
    assert_close(np.exp(out["log_filtered"]), prior, dtype)
    assert_close(np.exp(out["log_smoothed"]), prior, dtype)
    assert np.all(np.asarray(out["result"].expected_transitions) == 0)
    assert np.all(np.asarray(out["path"]) == np.argmax(reference64[0]))
    assert_close(out["log_probability"], reference64[0].max() + 0.25, dtype)


def test_lengths_beyond_the_array_are_clipped(dtype):
    (log_initial, log_transition, log_emissions), _ = _log_model(9, NUM_STATES, NUM_STEPS,
                                                                 dtype)
    full = forward_backward(log_initial, log_transition, log_emissions)
    for length in (NUM_STEPS, 100):
        clipped = forward_backward(log_initial, log_transition, log_emissions, length=length)
        for a, b in zip(clipped, full, strict=True):
            assert_close(a, b, dtype)
    prior = forward_backward(log_initial, log_transition, log_emissions, length=0)
    clipped = forward_backward(log_initial, log_transition, log_emissions, length=-3)
    for a, b in zip(clipped, prior, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------
# float32 on a long sequence


def _numpy_forward_backward(initial, transition, emissions):
    """The textbook scaled forward-backward (Rabiner) and log-space Viterbi, float64 NumPy:
    an independent reference for long sequences (enumeration is out of reach there)."""
    num_steps, num_states = emissions.shape
    forward = np.empty((num_steps, num_states))
    scales = np.empty(num_steps)
    message = initial * emissions[0]
    for t in range(num_steps):
        if t:
            message = (forward[t - 1] @ transition) * emissions[t]
        scales[t] = message.sum()
        forward[t] = message / scales[t]
    backward = np.ones((num_steps, num_states))
    expected = np.zeros((num_states, num_states))
    for t in range(num_steps - 2, -1, -1):
        weighted = emissions[t + 1] * backward[t + 1]
        backward[t] = transition @ weighted / scales[t + 1]
        expected += np.outer(forward[t], weighted) * transition / scales[t + 1]
    log_transition = np.log(transition)
    scores = np.log(initial) + np.log(emissions[0])
    pointers = np.empty((num_steps, num_states), int)
    for t in range(1, num_steps):
        candidates = scores[:, None] + log_transition
        pointers[t] = candidates.argmax(0)
        scores = candidates.max(0) + np.log(emissions[t])
    return dict(log_likelihood=np.log(scales).sum(), filtered=forward,
                posteriors=forward * backward, expected=expected,
                log_probability=scores.max())


@pytest.mark.x64_only
def test_float32_long_sequence_stays_close_to_float64():
    """T = 10,000: the messages are renormalized at every step, so float32 does not drift
    (no underflow, no accumulated scale) and stays within float32 accuracy of a float64
    reference.

    (Sequential only: at this length the parallel programs take many seconds to compile on
    a CPU; they renormalize every combined element the same way.)
    """
    log32 = [jnp.asarray(_log(p), jnp.float32) for p in _model(11, 4, 10_000)]
    reference = _numpy_forward_backward(*[np.exp(np.asarray(p, np.float64)) for p in log32])
    result = forward_backward(*log32)
    assert result.posteriors.dtype == jnp.float32
    scale = abs(reference["log_likelihood"])
    assert abs(result.log_likelihood - reference["log_likelihood"]) <= 1e-6 * scale
    np.testing.assert_allclose(result.posteriors, reference["posteriors"], atol=1e-4)
    np.testing.assert_allclose(result.expected_transitions, reference["expected"], rtol=1e-4)
    _, log_filtered = forward_filter(*log32)
    np.testing.assert_allclose(np.exp(log_filtered), reference["filtered"], atol=1e-4)
    path, log_probability = viterbi(*log32)
    # the float32 path is optimal to float32 accuracy (a near tie may pick another)
    log64 = [np.asarray(p, np.float64) for p in log32]
    path = np.asarray(path)
    score = (log64[0][path[0]] + log64[2][np.arange(10_000), path].sum()
             + log64[1][path[:-1], path[1:]].sum())
    assert abs(score - reference["log_probability"]) <= 1e-6 * scale
    assert abs(log_probability - reference["log_probability"]) <= 1e-6 * scale


# ---------------------------------------------------------------------------------------
# shapes, dtypes


SHAPE_ERRORS = {
    "log_initial rank": (lambda: forward_filter(jnp.zeros((3, 1)), jnp.zeros((3, 3)),
                                                jnp.zeros((5, 3))), "log_initial"),
    "log_initial K": (lambda: viterbi(jnp.zeros(4), jnp.zeros((3, 3)), jnp.zeros((5, 3))),
                      "log_initial"),
    "log_transition K": (lambda: forward_backward(jnp.zeros(3), jnp.zeros((3, 4)),
                                                  jnp.zeros((5, 3))), "log_transition"),
    "log_transition rank": (lambda: forward_filter(jnp.zeros(3), jnp.zeros(3),
                                                   jnp.zeros((5, 3))), "log_transition"),
    "log_emissions rank": (lambda: forward_backward(jnp.zeros(3), jnp.zeros((3, 3)),
                                                    jnp.zeros((2, 5, 3))), "log_emissions"),
    "log_emissions empty": (lambda: viterbi(jnp.zeros(3), jnp.zeros((3, 3)),
                                            jnp.zeros((0, 3))), "log_emissions"),
    "log_filtered shape": (lambda: backward_smoother(jnp.zeros((3, 3)), jnp.zeros((5, 3)),
                                                     jnp.zeros((4, 3))), "log_filtered"),
    "smoother log_transition K": (lambda: backward_smoother(jnp.zeros((2, 2)),
                                                            jnp.zeros((5, 3)),
                                                            jnp.zeros((5, 3))),
                                  "log_transition"),
    "length shape": (lambda: forward_filter(jnp.zeros(3), jnp.zeros((3, 3)), jnp.zeros((5, 3)),
                                            length=jnp.array([2, 3])), "length"),
}


@pytest.mark.parametrize("name", sorted(SHAPE_ERRORS))
def test_shape_errors_name_the_argument(name):
    call, argument = SHAPE_ERRORS[name]
    with pytest.raises(ValueError, match=argument) as error:
        call()
    assert "shape" in str(error.value)


def test_a_float_length_is_a_type_error():
    with pytest.raises(TypeError, match="length"):
        forward_filter(jnp.zeros(3), jnp.zeros((3, 3)), jnp.zeros((5, 3)), length=2.0)


def test_result_types(dtype):
    (log_initial, log_transition, log_emissions), _ = _log_model(12, NUM_STATES, NUM_STEPS,
                                                                 dtype)
    result = forward_backward(log_initial, log_transition, log_emissions)
    assert isinstance(result, ForwardBackward)
    assert [x.dtype for x in result] == [dtype] * 3
    assert [x.shape for x in result] == [(), (NUM_STEPS, NUM_STATES), (NUM_STATES,) * 2]
    # integer input is promoted to the default float; uniform: log-likelihood T log K
    log_likelihood, log_filtered = forward_filter(
        np.zeros(NUM_STATES, int), np.zeros((NUM_STATES,) * 2, int),
        np.zeros((NUM_STEPS, NUM_STATES), int))
    assert log_filtered.dtype == jnp.result_type(float)
    assert_close(log_likelihood, NUM_STEPS * np.log(NUM_STATES), log_filtered.dtype)
