"""mlmath.markov against closed forms, brute force, NumPy, SciPy and NetworkX."""

from __future__ import annotations

import collections
import itertools
import math

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from mlmath import markov
from tests.composability import check_composable
from tests.conftest import X64, assert_close, rtol_for

FLOAT = jnp.result_type(float)


def _random_chain(seed, K, density=1.0, dtype=np.float64):
    """A random transition matrix; with density < 1 most entries are 0 (a sparse graph)."""
    rng = np.random.default_rng(seed)
    P = rng.uniform(0.05, 1.0, size=(K, K)) * (rng.uniform(size=(K, K)) < density)
    empty = P.sum(1) == 0
    P[empty, rng.integers(K, size=empty.sum())] = 1.0
    return (P / P.sum(1, keepdims=True)).astype(dtype)


def _stationary_by_eig(P):
    values, vectors = np.linalg.eig(np.asarray(P, np.float64).T)
    v = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    return v / v.sum()


# ---------------------------------------------------------------------------------------
# simulate, n_step


def test_simulate_transition_frequencies_match_the_matrix():
    P = _random_chain(0, 4)
    path = np.asarray(markov.simulate(jax.random.key(0), P, np.full(4, 0.25), 20_000))
    assert path.dtype == np.int32 and path.shape == (20_000,)
    counts = np.zeros((4, 4))
    np.add.at(counts, (path[:-1], path[1:]), 1)
    visits = counts.sum(1, keepdims=True)
    # each row's frequencies within 4.5 binomial standard errors of P
    standard_error = np.sqrt(P * (1 - P) / visits)
    assert np.all(np.abs(counts / visits - P) <= 4.5 * standard_error + 1e-12)
    # and the occupation frequencies approach the stationary distribution
    frequencies = np.bincount(path, minlength=4) / path.size
    np.testing.assert_allclose(frequencies, _stationary_by_eig(P), atol=0.02)


def test_simulate_deterministic_chain_and_start():
    P = np.roll(np.eye(5), 1, axis=1)  # i -> i + 1 mod 5
    start = np.eye(5)[3]
    path = markov.simulate(jax.random.key(1), P, start, 7)
    assert path.tolist() == [3, 4, 0, 1, 2, 3, 4]
    assert markov.simulate(jax.random.key(1), P, start, 1).tolist() == [3]


def test_simulate_many_chains_by_vmap():
    P = _random_chain(1, 3)
    keys = jax.random.split(jax.random.key(2), 64)
    paths = jax.vmap(markov.simulate, in_axes=(0, None, None, None))(keys, P, np.eye(3)[0], 50)
    assert paths.shape == (64, 50) and np.all(np.asarray(paths[:, 0]) == 0)
    assert len({tuple(p) for p in np.asarray(paths).tolist()}) > 60  # the keys differ
    one = markov.simulate(keys[5], P, np.eye(3)[0], 50)
    np.testing.assert_array_equal(paths[5], one)


@pytest.mark.parametrize("bad", ["negative", "nan", "row_sum", "initial"])
def test_simulate_invalid_input_gives_minus_one(bad):
    P = _random_chain(2, 3)
    initial = np.full(3, 1 / 3)
    if bad == "negative":
        P[0] = [1.2, -0.2, 0.0]
    elif bad == "nan":
        P[1, 1] = np.nan
    elif bad == "row_sum":
        P[2] *= 1.01
    else:
        initial = np.array([0.5, 0.6, -0.1])
    assert np.all(np.asarray(markov.simulate(jax.random.key(0), P, initial, 6)) == -1)


def test_simulate_shape_errors():
    with pytest.raises(ValueError, match="transition must be a non-empty square"):
        markov.simulate(jax.random.key(0), np.ones((2, 3)) / 3, np.ones(2) / 2, 3)
    with pytest.raises(ValueError, match=r"initial must have shape \(K,\) = \(2,\)"):
        markov.simulate(jax.random.key(0), np.eye(2), np.ones(3) / 3, 3)
    with pytest.raises(ValueError, match="num_steps must be an int >= 1, got 0"):
        markov.simulate(jax.random.key(0), np.eye(2), np.ones(2) / 2, 0)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 64, 1001])
def test_n_step_equals_numpy_matrix_power(n, dtype):
    P = _random_chain(3, 6, dtype=dtype)
    expected = np.linalg.matrix_power(P.astype(np.float64), n)
    result = markov.n_step(P, n)
    assert result.dtype == dtype
    assert_close(result, expected, dtype, rtol=20 * rtol_for(dtype))


def test_n_step_invalid_gives_nan():
    P = _random_chain(4, 3)
    assert np.all(np.isnan(markov.n_step(P, -1)))
    P[0, 0] = -0.1
    assert np.all(np.isnan(markov.n_step(P, 3)))
    with pytest.raises(ValueError, match="n must be an integer scalar"):
        markov.n_step(np.eye(2), 1.5)


def test_n_step_composes():
    P = _random_chain(5, 4, dtype=FLOAT)
    batch = [(_random_chain(s, 4, dtype=FLOAT), np.int32(s + 2)) for s in range(3)]
    check_composable(markov.n_step, (P, np.int32(5)), batch)


# ---------------------------------------------------------------------------------------
# structure


def _brute_force_structure(P):
    K = len(P)
    A = (P > 0).astype(np.int64)
    reach = np.linalg.matrix_power(np.eye(K, dtype=np.int64) + A, K) > 0
    recurrent = np.array([all(reach[j, i] for j in range(K) if reach[i, j]) for i in range(K)])
    # the period of state i: gcd of the t <= 3K^2 with (A^t)_ii > 0
    periods = np.zeros(K, dtype=int)
    power = np.eye(K, dtype=bool)
    for t in range(1, 3 * K * K):
        power = (power.astype(np.int64) @ A) > 0
        for i in range(K):
            if power[i, i]:
                periods[i] = math.gcd(periods[i], t)
    return recurrent, periods


@pytest.mark.parametrize("seed", range(12))
def test_chain_structure_against_scipy_and_brute_force(seed):
    K = 3 + seed % 6
    P = _random_chain(seed, K, density=1.3 / K)
    s = markov.chain_structure(P)
    _, labels = connected_components(P > 0, directed=True, connection="strong")
    classes = np.asarray(s.classes)
    for i in range(K):
        for j in range(K):
            assert (classes[i] == classes[j]) == (labels[i] == labels[j])
    assert np.all(classes == [np.flatnonzero(labels == labels[i])[0] for i in range(K)])
    recurrent, periods = _brute_force_structure(P)
    np.testing.assert_array_equal(s.recurrent, recurrent)
    np.testing.assert_array_equal(s.period, periods)
    assert int(s.num_closed_classes) == len({labels[i] for i in range(K) if recurrent[i]})


def test_periods_of_cycles_and_a_transient_singleton():
    # a 6-cycle with a chord 0 -> 3 has cycles of lengths 6 and 3+... : 0-1-2-3-4-5-0 (6) and
    # 0-3-4-5-0 (4): period 2
    P = np.zeros((7, 7))
    P[np.arange(6), (np.arange(6) + 1) % 6] = 1.0
    P[0] = 0.0
    P[0, [1, 3]] = 0.5
    P[6, 0] = 1.0  # state 6 leads into the cycle and never returns
    s = markov.chain_structure(P)
    assert s.period.tolist() == [2] * 6 + [0]
    assert s.recurrent.tolist() == [True] * 6 + [False]
    assert not markov.is_irreducible(P) and not markov.is_aperiodic(P)
    P[1, 1], P[1, 2] = 0.5, 0.5  # a self-loop makes the class aperiodic
    assert markov.chain_structure(P).period.tolist() == [1] * 6 + [0]
    assert markov.is_aperiodic(P)


def test_structure_of_an_invalid_matrix():
    P = np.full((3, 3), 0.5)
    s = markov.chain_structure(P)
    assert s.classes.tolist() == [-1] * 3 and s.period.tolist() == [-1] * 3
    assert not np.any(s.recurrent) and int(s.num_closed_classes) == 0
    assert not markov.is_irreducible(P) and not markov.is_aperiodic(P)


# ---------------------------------------------------------------------------------------
# stationary distribution


@pytest.mark.parametrize("seed", range(4))
def test_stationary_distribution_against_eig_power_iteration_and_simulation(seed, dtype):
    P = _random_chain(seed, 5 + seed, dtype=dtype)
    result = markov.stationary_distribution(P)
    assert bool(result.unique) and bool(result.irreducible) and bool(result.aperiodic)
    pi = np.asarray(result.distribution)
    assert pi.dtype == dtype
    assert_close(pi, _stationary_by_eig(P), dtype, rtol=10 * rtol_for(dtype))
    assert_close(pi @ P, pi, dtype, rtol=10 * rtol_for(dtype))  # pi P = pi
    # power iteration: every row of P^1000 is pi
    assert_close(markov.n_step(P, 1000), np.tile(pi, (len(pi), 1)), dtype,
                 rtol=50 * rtol_for(dtype))


def test_stationary_distribution_matches_simulation_frequencies():
    P = _random_chain(7, 4)
    pi = np.asarray(markov.stationary_distribution(P).distribution)
    keys = jax.random.split(jax.random.key(3), 8)
    paths = jax.vmap(markov.simulate, in_axes=(0, None, None, None))(keys, P, pi, 5_000)
    frequencies = np.bincount(np.asarray(paths).ravel(), minlength=4) / paths.size
    np.testing.assert_allclose(frequencies, pi, atol=0.015)


def test_gth_keeps_every_digit_of_a_nearly_decomposable_chain():
    """A birth-death chain with rates down to 1e-30: detailed balance gives pi in closed
    form; a linear solve of (P^T - I) pi = 0 loses it entirely, GTH keeps full accuracy."""
    up = np.array([1e-30, 0.3, 1e-12, 0.5])
    down = np.array([0.2, 1e-20, 0.4, 0.6])
    K = len(up) + 1
    P = np.zeros((K, K))
    for i in range(K - 1):
        P[i, i + 1] = up[i]
        P[i + 1, i] = down[i]
    P[np.arange(K), np.arange(K)] = 1 - P.sum(1)
    log_ratio = np.concatenate([[0.0], np.cumsum(np.log(up) - np.log(down))])
    expected = np.exp(log_ratio - np.logaddexp.reduce(log_ratio))
    pi = markov.stationary_distribution(P).distribution
    np.testing.assert_allclose(np.asarray(pi, np.float64), expected,
                               rtol=20 * rtol_for(pi.dtype), atol=0)


def test_reducible_chains():
    # two closed classes: {0, 1} and {2}: a family of stationary distributions -> NaN
    P = np.array([[0.5, 0.5, 0.0], [0.3, 0.7, 0.0], [0.0, 0.0, 1.0]])
    result = markov.stationary_distribution(P)
    assert np.all(np.isnan(result.distribution))
    assert not result.unique and not result.irreducible and result.aperiodic
    # one closed class {1, 2} and a transient state 0: unique, 0 on the transient state
    P = np.array([[0.2, 0.5, 0.3], [0.0, 0.4, 0.6], [0.0, 0.9, 0.1]])
    result = markov.stationary_distribution(P)
    assert result.unique and not result.irreducible and result.aperiodic
    assert_close(result.distribution, [0.0, 0.6, 0.4], result.distribution.dtype)
    # the transient state listed last instead of first
    P = np.array([[0.4, 0.6, 0.0], [0.9, 0.1, 0.0], [0.5, 0.3, 0.2]])
    assert_close(markov.stationary_distribution(P).distribution, [0.6, 0.4, 0.0],
                 FLOAT)


def test_periodic_chain_is_reported_with_its_unique_distribution():
    P = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    result = markov.stationary_distribution(P)
    assert result.unique and result.irreducible and not result.aperiodic
    assert_close(result.distribution, [0.25, 0.5, 0.25], FLOAT)
    # and indeed mu P^t does not converge: even and odd powers differ
    assert not np.allclose(markov.n_step(P, 100), markov.n_step(P, 101))


def test_stationary_distribution_of_an_invalid_matrix_is_nan():
    P = _random_chain(1, 3)
    P[0, 0] += 0.01
    result = markov.stationary_distribution(P)
    assert np.all(np.isnan(result.distribution))
    assert not result.unique and not result.irreducible and not result.aperiodic


def test_stationary_distribution_composes_and_differentiates():
    """vmap over many chains; jax.grad through the elimination against finite differences
    (the x64 run): the sensitivity of pi to the transition probabilities."""
    def pi_of(logits):
        return markov.stationary_distribution(jax.nn.softmax(logits, axis=1)).distribution

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 4)).astype(FLOAT)
    batch = [(rng.normal(size=(4, 4)).astype(FLOAT),) for _ in range(3)]
    check_composable(pi_of, (logits,), batch, grad_argnums=(0,))


# ---------------------------------------------------------------------------------------
# spectral gap and mixing


def _slem(P):
    values = np.linalg.eigvals(np.asarray(P, np.float64))
    values = values[np.argsort(-np.abs(values - 1))]  # the eigenvalue nearest 1 last
    return np.max(np.abs(values[:-1]))


@pytest.mark.parametrize("seed", range(6))
def test_spectral_gap_against_numpy_eigvals(seed, dtype):
    density = [1.0, 0.5, 0.3][seed % 3]
    P = _random_chain(seed, 4 + 2 * seed, density=density, dtype=dtype)
    if not markov.stationary_distribution(P).unique:
        pytest.skip("this random graph has several closed classes")
    gap = markov.spectral_gap(P)
    assert gap.dtype == dtype
    assert_close(gap, 1 - _slem(P), dtype, rtol=50 * rtol_for(dtype))


def test_spectral_gap_of_a_defective_matrix():
    """A non-diagonalizable P (a Jordan block for the eigenvalue 1/2): the Gelfand limit
    still converges to the eigenvalue's modulus."""
    P = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    # this circulant has eigenvalues 1 and 1/2 + e^{±2πi/3}/2: modulus 1/2
    assert_close(markov.spectral_gap(P), 0.5, FLOAT, rtol=20 * rtol_for(FLOAT))
    J = np.array([[0.25, 0.75, 0.0], [0.0, 0.25, 0.75], [0.0, 0.0, 1.0]])
    assert abs(float(markov.spectral_gap(J)) - 0.75) < 1e-5  # eigenvalue 1/4, twice


def test_spectral_gap_edges():
    assert float(markov.spectral_gap(np.tile([0.2, 0.3, 0.5], (3, 1)))) == pytest.approx(1.0)
    assert float(markov.spectral_gap(np.roll(np.eye(4), 1, axis=1))) == pytest.approx(
        0.0, abs=1e-6)  # periodic
    two_classes = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    assert float(markov.spectral_gap(two_classes)) == pytest.approx(0.0, abs=1e-6)
    assert float(markov.spectral_gap(np.ones((1, 1)))) == pytest.approx(1.0)
    assert np.isnan(markov.spectral_gap(np.full((2, 2), 0.6)))


def _mixing_time(P, epsilon):
    pi = _stationary_by_eig(P)
    power = np.eye(len(P))
    for t in range(10_000):
        if 0.5 * np.abs(power - pi).sum(1).max() <= epsilon:
            return t
        power = power @ P
    raise AssertionError("did not mix")


@pytest.mark.parametrize("seed", range(8))
def test_mixing_time_bounds_bracket_the_exact_mixing_time(seed):
    K = 3 + seed
    P = _random_chain(seed, K, density=0.6)
    if seed % 2:  # a lazy reversible chain: a random walk on a weighted graph
        rng = np.random.default_rng(seed)
        W = rng.uniform(size=(K, K)) ** 4
        W = W + W.T
        P = 0.5 * np.eye(K) + 0.5 * W / W.sum(1, keepdims=True)
    result = markov.stationary_distribution(P)
    if not (result.irreducible and result.aperiodic):
        pytest.skip("not an irreducible aperiodic chain")
    for epsilon in [0.01, 0.1, 0.25]:
        bounds = markov.mixing_time_bounds(P, epsilon)
        exact = _mixing_time(P, epsilon)
        assert float(bounds.lower) <= exact <= float(bounds.upper), (epsilon, bounds, exact)
        assert np.isfinite(bounds.upper)


def test_mixing_time_bounds_of_chains_that_never_mix():
    periodic = np.roll(np.eye(3), 1, axis=1)
    bounds = markov.mixing_time_bounds(periodic)
    assert np.isinf(bounds.lower) and np.isinf(bounds.upper)
    iid = np.tile([0.5, 0.5], (2, 1))
    bounds = markov.mixing_time_bounds(iid, 0.25)
    assert float(bounds.lower) <= 1 <= float(bounds.upper) == 1.0
    assert np.all(np.isnan(markov.mixing_time_bounds(iid, 1.5)))


# ---------------------------------------------------------------------------------------
# PageRank


def _networkx_pagerank(A, damping, personalization=None):
    G = nx.from_numpy_array(A, create_using=nx.DiGraph)
    p = None if personalization is None else dict(enumerate(personalization))
    scores = nx.pagerank(G, alpha=damping, personalization=p, tol=1e-15, max_iter=100_000)
    return np.array([scores[i] for i in range(len(A))])


@pytest.mark.parametrize("seed", range(5))
def test_pagerank_equals_networkx(seed):
    rng = np.random.default_rng(seed)
    N = 10 + 5 * seed
    A = (rng.uniform(size=(N, N)) < 0.15) * rng.uniform(0.5, 2.0, size=(N, N))
    A[rng.integers(N, size=3)] = 0.0  # dangling nodes
    damping = [0.85, 0.5, 0.99, 0.85, 0.0][seed]
    personalization = rng.uniform(size=N) if seed == 3 else None
    tol = 1e-12 if X64 else 1e-8  # the l1 change a step can reach at the dtype's rounding
    result = markov.pagerank(A, damping, personalization=personalization, tol=tol,
                             max_iter=5000)
    expected = _networkx_pagerank(A, damping, personalization)
    # a step that changes x by less than N tol in l1 leaves it within
    # N tol damping / (1 - damping) of the fixed point (a contraction by the damping)
    error = np.abs(np.asarray(result.scores, np.float64) - expected).sum()
    assert error <= N * tol * damping / (1 - damping) + 50 * N * rtol_for(FLOAT) ** 2 + (
        0 if X64 else 1e-5)
    assert bool(result.converged) or not X64


def test_pagerank_is_the_stationary_distribution_of_the_google_matrix():
    rng = np.random.default_rng(9)
    A = (rng.uniform(size=(8, 8)) < 0.3).astype(float)
    A[2] = 0.0
    out = A.sum(1, keepdims=True)
    W = np.where(out > 0, A / np.where(out > 0, out, 1), 1 / 8)
    google = 0.85 * W + 0.15 / 8
    expected = markov.stationary_distribution(google).distribution
    scores = markov.pagerank(A, tol=1e-9, max_iter=500).scores
    assert_close(scores, expected, FLOAT, rtol=20 * rtol_for(FLOAT))


def test_pagerank_reports_non_convergence_and_invalid_input():
    star = np.zeros((4, 4))
    star[0, 1:] = star[1:, 0] = 1.0  # bipartite: without damping the walk oscillates
    result = markov.pagerank(star, 1.0, max_iter=20)
    assert not result.converged and int(result.n_iter) == 20
    A = np.roll(np.eye(6), 1, axis=1)
    assert np.all(np.isnan(markov.pagerank(-A).scores))
    assert np.all(np.isnan(markov.pagerank(A, 1.5).scores))
    assert np.all(np.isnan(markov.pagerank(A, personalization=np.zeros(6)).scores))
    with pytest.raises(ValueError, match=r"personalization must have shape \(N,\) = \(6,\)"):
        markov.pagerank(A, personalization=np.ones(5))


# ---------------------------------------------------------------------------------------
# N-gram models


TEXT = "the cat sat on the mat and the cat ate the rat"


def _tokens(text):
    vocabulary = sorted(set(text))
    return np.array([vocabulary.index(c) for c in text]), len(vocabulary)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("k", [0.0, 0.5])
def test_ngram_probabilities_are_smoothed_counts(n, k):
    tokens, V = _tokens(TEXT)
    V += 1  # one token of the vocabulary never occurs
    model = markov.ngram_model(tokens, n, V, k)
    grams = collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    contexts = collections.Counter()
    for gram, count in grams.items():
        contexts[gram[:-1]] += count
    table = np.exp(np.asarray(model.log_probs, np.float64))
    seen = sorted(contexts)
    rng = np.random.default_rng(0)
    for _ in range(50):
        gram = seen[rng.integers(len(seen))] + (int(rng.integers(V)),)
        expected = (grams[gram] + k) / (contexts[gram[:-1]] + k * V)
        assert table[gram] == pytest.approx(expected, rel=1e-5)
    assert np.allclose(table.sum(-1)[tuple(np.array(seen).T)] if n > 1 else table.sum(), 1)
    if n > 1:  # a context never seen: NaN without smoothing, uniform with it
        row = table[(V - 1,) * (n - 1)]
        assert np.all(np.isnan(row)) if k == 0 else np.allclose(row, 1 / V)


def test_ngram_log_prob_of_a_sequence():
    tokens, V = _tokens(TEXT)
    model = markov.ngram_model(tokens, 2, V)
    probe = np.array([tokens[list(TEXT).index(c)] for c in "the cat"])
    table = np.asarray(model.log_probs, np.float64)
    expected = sum(table[a, b] for a, b in itertools.pairwise(probe))
    assert float(model.log_prob(probe)) == pytest.approx(expected, rel=1e-5)
    assert float(model.log_prob(probe)) > -np.inf
    # an unseen bigram ("tt") has probability 0: -inf; a token out of range: NaN
    t = tokens[TEXT.index("t")]
    assert model.log_prob(np.array([t, t])) == -np.inf
    assert np.isnan(model.log_prob(np.array([t, V])))
    # a batch of sequences of one length
    batch = np.stack([probe, probe[::-1]])
    np.testing.assert_allclose(model.log_prob(batch),
                               [model.log_prob(probe), model.log_prob(probe[::-1])])


def test_ngram_sampling_follows_the_bigram_chain():
    P = _random_chain(3, 3)
    path = np.asarray(markov.simulate(jax.random.key(4), P, np.full(3, 1 / 3), 30_000))
    model = markov.ngram_model(path, 2, 3)
    np.testing.assert_allclose(np.exp(model.log_probs), P, atol=0.02)
    generated = np.asarray(model.sample(jax.random.key(5), path[:1], 30_000))
    refit = markov.ngram_model(np.concatenate([path[:1], generated]), 2, 3)
    np.testing.assert_allclose(np.exp(refit.log_probs), P, atol=0.03)
    unigram = markov.ngram_model(path, 1, 3)
    draws = np.asarray(unigram.sample(jax.random.key(6), np.zeros(0, int), 20_000))
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20_000,
                               np.exp(unigram.log_probs), atol=0.015)


def test_ngram_sample_stops_at_an_unknown_context():
    model = markov.ngram_model(np.array([0, 1, 0, 1]), 2, 3)  # state 2 never seen
    assert model.sample(jax.random.key(0), np.array([2]), 3).tolist() == [-1, -1, -1]
    assert model.sample(jax.random.key(0), np.array([0]), 4).tolist() == [1, 0, 1, 0]


def test_ngram_invalid_input():
    assert np.all(np.isnan(markov.ngram_model(np.array([0, 3, 1]), 2, 3).log_probs))
    assert np.all(np.isnan(markov.ngram_model(np.array([0, 1, 1]), 2, 3, -1.0).log_probs))
    with pytest.raises(ValueError, match="tokens must have shape"):
        markov.ngram_model(np.array([0, 1]), 3, 3)
    with pytest.raises(ValueError, match="tokens must be integers"):
        markov.ngram_model(np.array([0.0, 1.0]), 2, 3)
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        markov.ngram_model(np.array([0, 1]), 0, 3)
    model = markov.ngram_model(np.array([0, 1, 0]), 2, 2)
    with pytest.raises(ValueError, match=r"context must have shape \(n - 1,\) = \(1,\)"):
        model.sample(jax.random.key(0), np.array([0, 1]), 2)


@pytest.mark.skipif(X64, reason="dtype bookkeeping of the default run")
def test_ngram_model_is_a_pytree_of_the_default_float():
    model = markov.ngram_model(np.array([0, 1, 0]), 2, 2)
    assert model.log_probs.dtype == jnp.float32 and model.order == 2
    leaves = jax.tree_util.tree_leaves(model)
    assert len(leaves) == 1
