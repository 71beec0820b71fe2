"""KL divergence between distribution objects: ``kl`` closed forms, ``kl_monte_carlo``,
``register_kl`` dispatch.

Every closed form is checked against an independent float64 reference (numerical
integration with scipy densities, exact sums, or the textbook formula evaluated with
scipy.special), against a Monte Carlo estimate within 5 standard errors, for batch
broadcasting, for non-negativity of nearly equal distributions in float32, and for
composability (jit, vmap, grad against finite differences).
"""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special, stats

from mlmath.distributions import (
    Bernoulli,
    Beta,
    Categorical,
    Dirichlet,
    Gamma,
    Laplace,
    MultivariateNormal,
    Normal,
    Poisson,
    Uniform,
)
from mlmath.info import kl, kl_monte_carlo, register_kl
from tests.composability import check_composable_packed, check_gradient
from tests.conftest import assert_close, rounded, rtol_for

DEFAULT_DTYPE = jnp.result_type(float)


def _f64(x):
    return np.asarray(x, dtype=np.float64)


# ----------------------------------------------------------------------------------------
# Independent float64 references. Each takes the parameters of p and q (numpy float64
# arrays of one batch element) and returns KL(p || q).

_QUAD = {"epsabs": 1e-14, "epsrel": 1e-13, "limit": 500}


def _quad_kl(log_p, log_q, low, high, points=()):
    """int_low^high p (log p - log q) dx, split at ``points`` (kinks of the integrand)."""
    edges = [low, *sorted(x for x in points if low < x < high), high]

    def integrand(x):
        lp = log_p(x)
        return 0.0 if lp == -np.inf else math.exp(lp) * (lp - log_q(x))

    return sum(
        integrate.quad(integrand, a, b, **_QUAD)[0]
        for a, b in itertools.pairwise(edges)
    )


def _ref_normal(loc_p, scale_p, loc_q, scale_q):
    return _quad_kl(
        lambda x: stats.norm.logpdf(x, loc_p, scale_p),
        lambda x: stats.norm.logpdf(x, loc_q, scale_q),
        loc_p - 40 * scale_p, loc_p + 40 * scale_p, points=(loc_p,),
    )


def _ref_laplace(loc_p, scale_p, loc_q, scale_q):
    return _quad_kl(
        lambda x: stats.laplace.logpdf(x, loc_p, scale_p),
        lambda x: stats.laplace.logpdf(x, loc_q, scale_q),
        loc_p - 60 * scale_p, loc_p + 60 * scale_p, points=(loc_p, loc_q),
    )


def _ref_normal_laplace(loc_p, scale_p, loc_q, scale_q):
    return _quad_kl(
        lambda x: stats.norm.logpdf(x, loc_p, scale_p),
        lambda x: stats.laplace.logpdf(x, loc_q, scale_q),
        loc_p - 40 * scale_p, loc_p + 40 * scale_p, points=(loc_p, loc_q),
    )


def _ref_uniform(low_p, high_p, low_q, high_q):
    if not (low_q <= low_p and high_p <= high_q):
        return np.inf  # p puts mass where q has density 0
    return _quad_kl(
        lambda x: stats.uniform.logpdf(x, low_p, high_p - low_p),
        lambda x: stats.uniform.logpdf(x, low_q, high_q - low_q),
        low_p, high_p,
    )


def _ref_gamma(a_p, b_p, a_q, b_q):
    # textbook closed form (shape a, rate b)
    return (
        (a_p - a_q) * special.digamma(a_p) - special.gammaln(a_p) + special.gammaln(a_q)
        + a_q * (np.log(b_p) - np.log(b_q)) + a_p * (b_q - b_p) / b_p
    )


def _ref_dirichlet_concentrations(alpha, beta):
    a0, b0 = np.sum(alpha), np.sum(beta)
    return (
        special.gammaln(a0) - np.sum(special.gammaln(alpha))
        - special.gammaln(b0) + np.sum(special.gammaln(beta))
        + np.sum((alpha - beta) * (special.digamma(alpha) - special.digamma(a0)))
    )


def _ref_beta(a_p, b_p, a_q, b_q):
    return _ref_dirichlet_concentrations(np.array([a_p, b_p]), np.array([a_q, b_q]))


def _ref_dirichlet(alpha, beta):
    return _ref_dirichlet_concentrations(alpha, beta)


def _ref_mvn(loc_p, tril_p, loc_q, tril_q):
    cov_p = np.tril(tril_p) @ np.tril(tril_p).T
    cov_q = np.tril(tril_q) @ np.tril(tril_q).T
    d = loc_p.shape[-1]
    diff = loc_q - loc_p
    inverse_q = np.linalg.inv(cov_q)
    _, logdet_p = np.linalg.slogdet(cov_p)
    _, logdet_q = np.linalg.slogdet(cov_q)
    return 0.5 * (
        np.trace(inverse_q @ cov_p) + diff @ inverse_q @ diff - d + logdet_q - logdet_p
    )


def _ref_bernoulli(logit_p, logit_q):
    # exact two-term sum with probabilities from the logits
    p1, q1 = special.expit(logit_p), special.expit(logit_q)
    p0, q0 = special.expit(-logit_p), special.expit(-logit_q)
    return special.rel_entr(p1, q1) + special.rel_entr(p0, q0)


def _ref_bernoulli_probs(prob_p, prob_q):
    return special.rel_entr(prob_p, prob_q) + special.rel_entr(1 - prob_p, 1 - prob_q)


def _ref_categorical(logits_p, logits_q):
    p = special.softmax(logits_p)
    log_p, log_q = special.log_softmax(logits_p), special.log_softmax(logits_q)
    return np.sum(np.where(p > 0, p * (log_p - log_q), 0.0))


def _ref_categorical_probs(probs_p, probs_q):
    return np.sum(special.rel_entr(probs_p / probs_p.sum(), probs_q / probs_q.sum()))


def _ref_poisson(rate_p, rate_q):
    # exact sum over k, truncated where the mass of p left out is far below 1e-30
    spread = 40 * math.sqrt(rate_p) + 60
    k = np.arange(max(0, int(rate_p - spread)), int(rate_p + spread) + 1)
    log_p = stats.poisson.logpmf(k, rate_p) if rate_p > 0 else np.where(k == 0, 0.0, -np.inf)
    log_q = stats.poisson.logpmf(k, rate_q)
    inside = log_p > -np.inf
    return float(np.sum(np.exp(log_p[inside]) * (log_p[inside] - log_q[inside])))


# ----------------------------------------------------------------------------------------
# The cases: for each pair, a builder from parameter arrays (leading batch dimensions) and
# a batch of four parameter settings for p and for q.


def _spd_factor(rng, d):
    a = rng.normal(size=(d, d))
    return np.linalg.cholesky(a @ a.T / d + 0.5 * np.eye(d))


_rng = np.random.default_rng(20240611)
_MVN_LOC_P = _rng.normal(size=(4, 3))
_MVN_LOC_Q = _rng.normal(size=(4, 3))
_MVN_TRIL_P = np.stack([_spd_factor(_rng, 3) for _ in range(4)])
_MVN_TRIL_Q = np.stack([_spd_factor(_rng, 3) for _ in range(4)])
_CAT_P = _rng.normal(size=(4, 5)) * 1.5
_CAT_Q = _rng.normal(size=(4, 5)) * 1.5
_DIR_P = np.array([[2.0, 3.0, 1.5], [1.2, 1.1, 4.0], [10.0, 20.0, 5.0], [150.0, 220.0, 90.0]])
_DIR_Q = np.array([[1.5, 3.5, 2.0], [2.0, 1.0, 1.0], [12.0, 18.0, 6.0], [140.0, 230.0, 100.0]])

CASES = {
    "normal": dict(
        build=lambda a, b: Normal(a, b),
        p=([0.0, 1.5, -2.0, 0.3], [1.0, 0.5, 3.0, 0.8]),
        q=([0.5, -1.0, -2.0, 0.3], [2.0, 0.7, 3.0, 0.5]),
        reference=_ref_normal,
    ),
    "laplace": dict(
        build=lambda a, b: Laplace(a, b),
        p=([0.0, 1.5, -2.0, 0.3], [1.0, 0.5, 3.0, 0.8]),
        q=([0.5, -1.0, -2.0, 0.3], [2.0, 0.7, 3.0, 0.5]),
        reference=_ref_laplace,
    ),
    "uniform": dict(
        build=lambda a, b: Uniform(a, b),
        p=([0.0, 0.2, -1.0, 0.5], [1.0, 0.5, 3.0, 2.5]),
        q=([-1.0, 0.0, -1.0, 0.0], [2.0, 1.0, 3.0, 2.0]),  # last pair not nested: inf
        reference=_ref_uniform,
    ),
    "gamma": dict(
        build=lambda a, b: Gamma(a, b),
        p=([2.0, 0.5, 5.0, 150.0], [1.0, 2.0, 0.3, 2.0]),
        q=([3.0, 1.5, 4.5, 160.0], [1.5, 1.0, 0.35, 2.1]),
        reference=_ref_gamma,
    ),
    "beta": dict(
        build=lambda a, b: Beta(a, b),
        p=([2.0, 1.5, 10.0, 200.0], [3.0, 1.5, 1.2, 300.0]),
        q=([3.0, 1.0, 8.0, 190.0], [2.0, 1.0, 2.0, 310.0]),
        reference=_ref_beta,
    ),
    "dirichlet": dict(
        build=lambda a: Dirichlet(a), p=(_DIR_P,), q=(_DIR_Q,), reference=_ref_dirichlet,
    ),
    "mvn": dict(
        build=lambda loc, tril: MultivariateNormal(loc, scale_tril=tril),
        p=(_MVN_LOC_P, _MVN_TRIL_P), q=(_MVN_LOC_Q, _MVN_TRIL_Q), reference=_ref_mvn,
    ),
    "bernoulli": dict(
        build=lambda a: Bernoulli(logits=a),
        p=([0.0, 2.0, -3.0, 5.0],), q=([1.0, -1.0, -3.0, 4.0],), reference=_ref_bernoulli,
    ),
    "categorical": dict(
        build=lambda a: Categorical(logits=a), p=(_CAT_P,), q=(_CAT_Q,),
        reference=_ref_categorical,
    ),
    "poisson": dict(
        build=lambda a: Poisson(a),
        p=([0.5, 3.0, 20.0, 100.0],), q=([1.0, 2.5, 25.0, 90.0],), reference=_ref_poisson,
    ),
    "normal_laplace": dict(
        build=lambda a, b: Normal(a, b), build_q=lambda a, b: Laplace(a, b),
        p=([0.0, 1.5, -2.0, 0.3], [1.0, 0.5, 3.0, 0.8]),
        q=([0.5, -1.0, -2.0, 0.3], [2.0, 0.7, 3.0, 0.5]),
        reference=_ref_normal_laplace,
    ),
}
NAMES = list(CASES)


def _params(case, side, dtype):
    """The case's parameters for ``side`` ('p' or 'q') as arrays of ``dtype``."""
    return tuple(jnp.asarray(np.asarray(a, np.float64), dtype) for a in case[side])


def _build(case, side, params):
    builder = case["build_q"] if side == "q" and "build_q" in case else case["build"]
    return builder(*params)


def _kl_all_pairs(case, p_params, q_params):
    """KL of every p of the batch against every q: p has batch (4, 1), q (4,)."""
    p_column = tuple(a[:, None] for a in p_params)
    return kl(_build(case, "p", p_column), _build(case, "q", q_params))


def _reference_all_pairs(case, p_params, q_params):
    """The float64 reference for every pair (parameters as held, in float64)."""
    p_params = [_f64(a) for a in p_params]
    q_params = [_f64(a) for a in q_params]
    return np.array([
        [case["reference"](*(a[i] for a in p_params), *(a[j] for a in q_params))
         for j in range(4)]
        for i in range(4)
    ])


# ----------------------------------------------------------------------------------------


def _ref_gamma_by_quadrature(a_p, b_p, a_q, b_q):
    return _quad_kl(lambda x: stats.gamma.logpdf(x, a_p, scale=1 / b_p),
                    lambda x: stats.gamma.logpdf(x, a_q, scale=1 / b_q),
                    0.0, 400.0 / b_p, points=((a_p - 1) / b_p,))


def _ref_beta_by_quadrature(a_p, b_p, a_q, b_q):
    return _quad_kl(lambda x: stats.beta.logpdf(x, a_p, b_p),
                    lambda x: stats.beta.logpdf(x, a_q, b_q),
                    0.0, 1.0, points=((a_p - 1) / (a_p + b_p - 2),))


def test_textbook_references_agree_with_quadrature():
    """The closed-form references themselves, against integration of scipy densities."""
    for params in [(2.0, 1.0, 3.0, 1.5), (5.0, 0.3, 4.5, 0.35), (40.0, 8.0, 2.0, 1.0)]:
        np.testing.assert_allclose(_ref_gamma(*params), _ref_gamma_by_quadrature(*params),
                                   rtol=1e-10)
    for params in [(2.0, 3.0, 3.0, 2.0), (10.0, 1.2, 8.0, 2.0), (30.0, 70.0, 1.0, 1.0)]:
        np.testing.assert_allclose(_ref_beta(*params), _ref_beta_by_quadrature(*params),
                                   rtol=1e-10)
    # the multivariate normal reference in one dimension is the normal one
    np.testing.assert_allclose(
        _ref_mvn(np.array([0.3]), np.array([[0.8]]), np.array([-1.0]), np.array([[1.7]])),
        _ref_normal(0.3, 0.8, -1.0, 1.7), rtol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_kl_matches_independent_reference_and_broadcasts(name, dtype):
    """Every p of the batch against every q: batch (4, 1) against (4,) gives (4, 4)."""
    case = CASES[name]
    p_params, q_params = _params(case, "p", dtype), _params(case, "q", dtype)
    value = _kl_all_pairs(case, p_params, q_params)
    assert value.dtype == dtype
    assert value.shape == (4, 4)
    expected = _reference_all_pairs(case, p_params, q_params)
    assert np.all(np.isfinite(np.diagonal(expected)[:3]))
    assert_close(value, expected, dtype)


_CONCENTRATED_VS_DIFFUSE = {
    # a concentrated p (a posterior) against a diffuse q (a prior): the divergence is of
    # order one while lgamma of the concentrations is in the thousands
    "gamma": (([200.0, 1e3, 5e3, 50.0], [200.0, 1e3, 2.5e3, 10.0]),
              ([1.0, 2.0, 1.0, 3.0], [1.0, 1.0, 0.5, 1.0])),
    "beta": (([200.0, 1e3, 5e3, 30.0], [300.0, 3e3, 5e3, 70.0]),
             ([1.0, 2.0, 1.0, 0.5], [1.0, 5.0, 1.0, 0.5])),
    "dirichlet": ((np.array([[200.0, 300.0, 500.0], [1e3, 2e3, 4e3], [5e3, 5e3, 5e3],
                             [40.0, 50.0, 60.0]]),),
                  (np.array([[1.0, 1.0, 1.0], [2.0, 5.0, 1.0], [1.0, 1.0, 1.0],
                             [0.5, 0.5, 0.5]]),)),
}


@pytest.mark.parametrize("name", list(_CONCENTRATED_VS_DIFFUSE))
def test_kl_of_concentrated_against_diffuse_distributions(name, dtype):
    case = dict(CASES[name], p=_CONCENTRATED_VS_DIFFUSE[name][0],
                q=_CONCENTRATED_VS_DIFFUSE[name][1])
    p_params, q_params = _params(case, "p", dtype), _params(case, "q", dtype)
    value = _kl_all_pairs(case, p_params, q_params)
    expected = _reference_all_pairs(case, p_params, q_params)
    assert np.all(np.diagonal(expected) < 10.0)
    assert_close(value, expected, dtype)
    # and the other way round (a diffuse p against a concentrated q: large divergences)
    assert_close(_kl_all_pairs(case, q_params, p_params),
                 _reference_all_pairs(case, q_params, p_params), dtype)


def test_uniform_kl_is_infinite_when_supports_do_not_nest(dtype):
    p = Uniform(jnp.asarray([0.0, -0.5, 0.0, 0.2], dtype), jnp.asarray([1.0, 0.5, 3.0, 0.3], dtype))
    q = Uniform(jnp.asarray([0.1, 0.0, 0.0, 0.2], dtype), jnp.asarray([2.0, 1.0, 2.0, 0.6], dtype))
    expected = [_ref_uniform(*(_f64(a[i]) for a in (p.low, p.high, q.low, q.high)))
                for i in range(4)]
    assert np.all(np.isposinf(expected[:3])) and np.isfinite(expected[3])
    assert_close(kl(p, q), expected, dtype)
    # the other way round only [0, 2] lies inside [0, 3]
    expected = [_ref_uniform(*(_f64(a[i]) for a in (q.low, q.high, p.low, p.high)))
                for i in range(4)]
    assert np.isfinite(expected[2]) and np.sum(np.isposinf(expected)) == 3
    assert_close(kl(q, p), expected, dtype)


@pytest.mark.parametrize("pairs", [
    [(0.0, 0.3), (1.0, 0.3), (0.3, 0.3), (0.0, 0.0)],
    [(1.0, 1.0), (0.3, 0.0), (0.3, 1.0), (0.0, 1.0)],
])
def test_bernoulli_kl_with_degenerate_probabilities(pairs, dtype):
    prob_p, p64 = rounded([a for a, _ in pairs], dtype)
    prob_q, q64 = rounded([b for _, b in pairs], dtype)
    value = kl(Bernoulli(probs=prob_p), Bernoulli(probs=prob_q))
    assert_close(value, _ref_bernoulli_probs(p64, q64), dtype)


def test_categorical_kl_with_zero_probabilities(dtype):
    probs_p = np.array([[0.5, 0.0, 0.5, 0.0, 0.0], [0.25, 0.25, 0.5, 0.0, 0.0],
                        [0.1, 0.2, 0.3, 0.2, 0.2], [0.0, 0.0, 0.0, 1.0, 0.0]])
    probs_q = np.array([[0.2, 0.2, 0.2, 0.2, 0.2], [0.5, 0.0, 0.5, 0.0, 0.0],
                        [0.1, 0.2, 0.3, 0.2, 0.2], [0.1, 0.0, 0.0, 0.9, 0.0]])
    p, p64 = rounded(probs_p, dtype)
    q, q64 = rounded(probs_q, dtype)
    value = kl(Categorical(probs=p), Categorical(probs=q))
    expected = [_ref_categorical_probs(a, b) for a, b in zip(p64, q64, strict=True)]
    assert np.isposinf(expected[1])
    assert_close(value, expected, dtype)


def test_poisson_kl_with_zero_rate(dtype):
    # Poisson(0) is a point mass at 0: KL(delta_0 || Poisson(r)) = r; KL(Poisson(2) ||
    # delta_0) is infinite; KL(delta_0 || delta_0) = 0
    rate_p, p64 = rounded([0.0, 0.0, 2.0, 0.0], dtype)
    rate_q, q64 = rounded([3.0, 0.0, 0.0, 1e-3], dtype)
    expected = [_ref_poisson(a, b) if b > 0 else (np.inf if a > 0 else 0.0)
                for a, b in zip(p64, q64, strict=True)]
    assert_close(kl(Poisson(rate_p), Poisson(rate_q)), expected, dtype)


# ----------------------------------------------------------------------------------------
# Monte Carlo


@functools.partial(jax.jit, static_argnums=3)
def _monte_carlo_statistics(key, p, q, num_samples):
    """kl_monte_carlo, and the mean and standard deviation of the log-ratio of its draws."""
    samples = p.sample(key, (num_samples,))
    log_ratio = p.log_prob(samples) - q.log_prob(samples)
    return (kl_monte_carlo(key, p, q, num_samples), jnp.mean(log_ratio, axis=0),
            jnp.std(log_ratio, axis=0, ddof=1), jnp.all(jnp.isfinite(log_ratio)))


def _monte_carlo_check(p, q, closed_form, num_samples, seed=0):
    estimate, mean, deviation, finite = _monte_carlo_statistics(
        jax.random.PRNGKey(seed), p, q, num_samples)
    assert bool(finite)
    # kl_monte_carlo is the mean of the log-ratio over the same draws
    assert_close(estimate, mean, p.dtype)
    standard_error = _f64(deviation) / math.sqrt(num_samples)
    closed_form = _f64(closed_form)
    slack = 5.0 * standard_error + rtol_for(p.dtype) * (1.0 + np.abs(closed_form))
    assert np.all(np.abs(closed_form - _f64(mean)) <= slack), (closed_form, mean,
                                                                standard_error)


@pytest.mark.default_mode_only  # float32 whatever the mode: see tests/conftest.py
@pytest.mark.parametrize("name", NAMES)
def test_kl_agrees_with_monte_carlo(name):
    case = CASES[name]
    # a statistical check of the closed forms (their accuracy per dtype is checked above):
    # float32 in both modes
    dtype = jnp.float32
    p_params, q_params = _params(case, "p", dtype), _params(case, "q", dtype)
    if name == "uniform":  # every pair nested (the last pair of the case is not)
        q_params = _params({"q": _UNIFORM_NESTED_Q}, "q", dtype)
    p, q = _build(case, "p", p_params), _build(case, "q", q_params)
    _monte_carlo_check(p, q, kl(p, q), num_samples=10_000)


@pytest.mark.default_mode_only  # float32 whatever the mode: see tests/conftest.py
def test_monte_carlo_covers_a_pair_without_closed_form():
    """kl has no Gamma || Normal; kl_monte_carlo estimates it (checked by quadrature)."""
    p = Gamma(jnp.asarray(3.0, jnp.float32), jnp.asarray(2.0, jnp.float32))
    q = Normal(jnp.asarray(1.0, jnp.float32), jnp.asarray(0.8, jnp.float32))
    with pytest.raises(TypeError, match="kl_monte_carlo"):
        kl(p, q)
    reference = _quad_kl(
        lambda x: stats.gamma.logpdf(x, 3.0, scale=0.5),
        lambda x: stats.norm.logpdf(x, 1.0, 0.8),
        0.0, 60.0,
    )
    _monte_carlo_check(p, q, reference, num_samples=10_000)


# ----------------------------------------------------------------------------------------
# Composability: plain, jit, vmap over a batch of parameters, grad against finite differences

# q intervals that contain every p interval, so that every pair is finite and differentiable
_UNIFORM_NESTED_Q = ([-1.5, -2.0, -1.2, -3.0], [3.5, 3.2, 4.0, 3.1])


# For the composability checks the Dirichlet has two categories, with the Beta case's
# concentrations: Beta and Dirichlet then run the same computation on the same shapes, and
# the operations compiled for one serve the other.
_COMPOSABILITY_CASES = {
    **CASES,
    "dirichlet": dict(CASES["dirichlet"], p=(np.stack(CASES["beta"]["p"], axis=-1),),
                      q=(np.stack(CASES["beta"]["q"], axis=-1),)),
}


def _composability_setup(name):
    case = _COMPOSABILITY_CASES[name]
    p_params = _params(case, "p", DEFAULT_DTYPE)
    q_params = _params({"q": _UNIFORM_NESTED_Q} if name == "uniform" else case, "q",
                       DEFAULT_DTYPE)
    count = len(p_params)

    def function(*params):
        return _kl_all_pairs(case, params[:count], params[count:])

    return function, p_params + q_params


# Gamma, Beta and Dirichlet (the lgamma Bregman and Stirling forms) are elementwise jnp code
# with sums over the last axis, but their graphs are large (thousands of operations) and a
# full check compiles each four times: their gradients are checked below, and jit and vmap
# are exercised on the other families.
_HEAVY = ("gamma", "beta", "dirichlet")
_FULL_CHECK = [name for name in NAMES if name not in _HEAVY]


@pytest.mark.parametrize("name", _FULL_CHECK)
def test_kl_composable(name):
    function, args = _composability_setup(name)
    batch = [tuple(jnp.roll(a, shift, axis=0) for a in args) for shift in range(3)]
    result = check_composable_packed(function, batch, argnums=range(len(args)))
    assert result.shape == (4, 4) and np.all(np.isfinite(np.asarray(result)))


@pytest.mark.x64_only  # float64 whatever the mode: see tests/conftest.py
@pytest.mark.parametrize("name", _HEAVY)
def test_kl_gradient_matches_finite_differences(name):
    function, args = _composability_setup(name)
    check_gradient(lambda params: function(*params), (args,), (0,))


def test_kl_monte_carlo_composable():
    case = CASES["normal_laplace"]
    params = _params(case, "p", DEFAULT_DTYPE) + _params(case, "q", DEFAULT_DTYPE)

    def function(key, loc_p, scale_p, loc_q, scale_q):
        return kl_monte_carlo(key, Normal(loc_p, scale_p), Laplace(loc_q, scale_q), 2_000)

    batch = [(jax.random.PRNGKey(seed), *params) for seed in range(3)]
    check_composable_packed(function, batch, argnums=(1, 2, 3, 4))


# ----------------------------------------------------------------------------------------
# Shapes, dispatch and errors


def test_kl_broadcasts_scalar_against_batch():
    """One side without batch dimensions (the shapes test above has batch on both)."""
    dtype = DEFAULT_DTYPE
    p = Normal(jnp.asarray(0.0, dtype), jnp.asarray(1.0, dtype))
    q = Normal(jnp.asarray([0.0, 1.0, 2.0, 3.0], dtype), jnp.asarray(2.0, dtype))
    assert_close(kl(p, q), [_ref_normal(0.0, 1.0, m, 2.0) for m in range(4)], dtype)
    assert_close(kl(q, p), [_ref_normal(m, 2.0, 0.0, 1.0) for m in range(4)], dtype)
    mvn_p = MultivariateNormal(jnp.zeros((2, 3), dtype), scale_tril=jnp.eye(3, dtype=dtype))
    mvn_q = MultivariateNormal(jnp.ones(3, dtype), covariance=2.0 * jnp.eye(3, dtype=dtype))
    expected = _ref_mvn(np.zeros(3), np.eye(3), np.ones(3), math.sqrt(2.0) * np.eye(3))
    assert_close(kl(mvn_p, mvn_q), [expected, expected], dtype)
    assert_close(kl(mvn_q, mvn_p), [_ref_mvn(np.ones(3), math.sqrt(2.0) * np.eye(3),
                                             np.zeros(3), np.eye(3))] * 2, dtype)


class _TaggedNormal(Normal):
    """A subclass for register_kl dispatch."""


class _OtherTaggedNormal(_TaggedNormal):
    """A subclass of the subclass: inherits its registration."""


@register_kl(_TaggedNormal, _TaggedNormal)
def _kl_tagged(p, q):
    # deliberately not KL: the squared distance of the means, so dispatch is observable
    return (p.loc - q.loc) ** 2


def test_register_kl_dispatches_on_subclasses():
    a = _TaggedNormal(jnp.asarray(0.0), jnp.asarray(1.0))
    b = _TaggedNormal(jnp.asarray(3.0), jnp.asarray(2.0))
    plain = Normal(jnp.asarray(3.0), jnp.asarray(2.0))
    assert_close(kl(a, b), 9.0, DEFAULT_DTYPE)
    # a subclass of the registered subclass finds the closest registration
    c = _OtherTaggedNormal(jnp.asarray(1.0), jnp.asarray(1.0))
    assert_close(kl(c, b), 4.0, DEFAULT_DTYPE)
    # mixed with the base class, the Normal || Normal closed form applies
    assert_close(kl(a, plain), _ref_normal(0.0, 1.0, 3.0, 2.0), DEFAULT_DTYPE)
    assert_close(kl(plain, a), _ref_normal(3.0, 2.0, 0.0, 1.0), DEFAULT_DTYPE)


def test_unregistered_pair_raises_type_error_pointing_to_monte_carlo():
    with pytest.raises(TypeError, match="kl_monte_carlo"):
        kl(Laplace(0.0, 1.0), Normal(0.0, 1.0))
    with pytest.raises(TypeError, match="kl_monte_carlo"):
        kl(Gamma(2.0, 1.0), Beta(2.0, 2.0))
    with pytest.raises(TypeError, match="Distribution"):
        kl(Normal(0.0, 1.0), 3.0)


def test_mismatched_event_shapes_raise():
    with pytest.raises(ValueError, match=r"event shapes differ.*\(2,\).*\(3,\)"):
        kl(MultivariateNormal(jnp.zeros(2), covariance=jnp.eye(2)),
           MultivariateNormal(jnp.zeros(3), covariance=jnp.eye(3)))
    with pytest.raises(ValueError, match=r"event shapes differ.*\(3,\).*\(4,\)"):
        kl(Dirichlet(jnp.ones(3)), Dirichlet(jnp.ones(4)))
    with pytest.raises(ValueError, match=r"categories \(3 and 4\)"):
        kl(Categorical(logits=jnp.zeros(3)), Categorical(logits=jnp.zeros(4)))
    with pytest.raises(ValueError, match=r"event shapes differ"):
        kl_monte_carlo(jax.random.PRNGKey(0), Dirichlet(jnp.ones(3)), Dirichlet(jnp.ones(4)), 10)


def test_incompatible_batch_shapes_raise():
    with pytest.raises(ValueError, match=r"p shape \(3,\), q shape \(4,\)"):
        kl(Normal(jnp.zeros(3), 1.0), Normal(jnp.zeros(4), 1.0))
    with pytest.raises(ValueError, match=r"p shape \(2,\), q shape \(5,\)"):
        kl_monte_carlo(jax.random.PRNGKey(0), Normal(jnp.zeros(2), 1.0),
                       Normal(jnp.zeros(5), 1.0), 10)


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_monte_carlo_rejects_bad_sample_counts(bad):
    with pytest.raises(ValueError, match="num_samples"):
        kl_monte_carlo(jax.random.PRNGKey(0), Normal(0.0, 1.0), Normal(0.0, 1.0), bad)


# ----------------------------------------------------------------------------------------
# Nearly equal distributions: never negative in float32, and accurate.

_NEAR = 1e-4


def _perturb(params, sign):
    """Parameters moved by 1e-4 relative (alternating signs across the batch)."""
    moved = []
    for a in params:
        a = np.asarray(a, np.float64)
        pattern = np.where(np.arange(a.size).reshape(a.shape) % 2 == 0, 1.0, -1.0) * sign
        moved.append(a * (1.0 + _NEAR * pattern))
    return tuple(moved)


_LARGE = {
    # large parameters, where a naive difference of big terms would cancel catastrophically
    "gamma": ([1e3, 5e3, 40.0, 0.3], [1.0, 2.0, 1e3, 1.0]),
    "beta": ([1e3, 4e3, 0.7, 50.0], [2e3, 1e3, 0.4, 60.0]),
    "dirichlet": (np.array([[1e3, 2e3, 3e3], [0.5, 0.7, 0.9], [50.0, 1.0, 400.0],
                            [1e4, 1e4, 1e4]]),),
    "poisson": ([1e4, 1e6, 0.01, 7.0],),
    "normal": ([1e3, -1e3, 0.0, 5.0], [1e-3, 1e2, 1.0, 3.0]),
}


_NEAR_CASES = [(name, "ordinary") for name in NAMES] + [(name, "large") for name in _LARGE]


@pytest.mark.parametrize("name, which", _NEAR_CASES)
def test_nearly_equal_distributions_have_small_nonnegative_kl(name, which):
    """p_i against q_i 1e-4 away (the diagonal) and against p_i itself: >= 0 and accurate."""
    case = CASES[name]
    base = case["p"] if which == "ordinary" else _LARGE[name]
    if name == "uniform":  # widen q a little so p stays nested
        moved = (np.asarray(base[0]) - _NEAR, np.asarray(base[1]) + _NEAR)
    elif name == "normal_laplace":
        moved = base  # different families: the divergence is not small, but it is >= 0
    else:
        moved = _perturb(base, 1.0)
    dtype = jnp.float32
    p_params = tuple(jnp.asarray(np.asarray(a, np.float64), dtype) for a in base)
    q_params = tuple(jnp.asarray(np.asarray(a, np.float64), dtype) for a in moved)
    for other in (q_params, p_params):
        value = np.asarray(_kl_all_pairs(case, p_params, other))
        assert np.all(value >= 0), value
        assert_close(value, _reference_all_pairs(case, p_params, other), dtype)
    if name != "normal_laplace":
        # identical distributions (the diagonal of the last comparison): zero divergence
        assert_close(np.diagonal(value), 0.0, dtype)
