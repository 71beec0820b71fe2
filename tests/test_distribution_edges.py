"""Edge cases of every distribution: invalid parameters, points off the support, NaN inputs,
gradients on the support's boundary, far tails and extreme sampling regimes.

The conventions checked (one table per convention, every family in it):

* an invalid parameter raises a ``ValueError`` naming it when the constructor sees concrete
  values (``validate_args=True``, the default); with ``validate_args=False``, or traced,
  every method gives NaN for that batch member (integer samples: -1);
* a point outside the support has ``log_prob = -inf`` (``prob = 0``); a NaN point gives NaN;
* an infinite log-density on the boundary has a zero gradient, never NaN; a finite one
  keeps finite gradients;
* samples are exact at every Poisson rate the dtype holds, and small concentrations never
  give draws of exactly 0 or 1.

Expectations are closed forms or ``scipy.stats`` / ``scipy.special`` in float64.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special as sp
from scipy import stats

from mlmath import info
from mlmath.distributions import (
    Bernoulli,
    Beta,
    Categorical,
    Dirichlet,
    Gamma,
    InverseGamma,
    Laplace,
    MultivariateNormal,
    NegativeBinomial,
    Normal,
    NormalInverseGamma,
    Poisson,
    StudentT,
    Uniform,
    fit_bernoulli,
    fit_categorical,
    fit_gamma,
    fit_normal,
    fit_poisson,
)
from tests.conftest import assert_close, rounded

# Families whose samplers are compiled by the sampling tests below (which check NaN draws
# for invalid parameters too): the table leaves their ``sample`` out, so that each sampler
# is compiled once in this file.
SAMPLED_BELOW = {"gamma", "beta", "dirichlet", "inverse_gamma", "poisson"}


@functools.partial(jax.jit, static_argnums=(3, 4))
def summary(dist, x, key, num_samples, with_sample=True):
    """Every method of ``dist`` in one compiled call: one program per family."""
    values = {
        "log_prob": dist.log_prob(x), "prob": dist.prob(x), "entropy": dist.entropy(),
        "mean": dist.mean(), "variance": dist.variance(), "stddev": dist.stddev(),
    }
    if with_sample:
        values["sample"] = dist.sample(key, (num_samples,))
    if hasattr(dist, "covariance"):
        values["covariance"] = dist.covariance()
    return values


def families(dtype):
    """name: (distribution whose batch is [valid, invalid], points).

    ``points`` has one point inside the support first, then points outside it (boundary
    points with an infinite density included), then a point with a NaN coordinate.
    """
    def a(values):
        return jnp.asarray(values, dtype)

    inf, nan = np.inf, np.nan
    tril = a([[[1.0, 0.0], [0.5, 2.0]], [[1.0, 0.0], [0.5, 0.0]]])
    off = False
    return {
        "normal": (Normal(a([0.0, 0.0]), a([1.0, -1.0]), validate_args=off),
                   a([0.5, inf, -inf, nan])),
        "laplace": (Laplace(a([0.0, nan]), a([1.0, 1.0]), validate_args=off),
                    a([0.5, inf, -inf, nan])),
        "uniform": (Uniform(a([0.0, 1.0]), a([1.0, 0.0]), validate_args=off),
                    a([0.5, -0.5, 1.5, inf, nan])),
        "gamma": (Gamma(a([2.0, 2.0]), a([1.0, 0.0]), validate_args=off),
                  a([1.0, 0.0, -1.0, inf, nan])),
        "beta": (Beta(a([2.0, -1.0]), a([3.0, 3.0]), validate_args=off),
                 a([0.3, 0.0, 1.0, -0.1, 1.1, nan])),
        "poisson": (Poisson(a([3.0, -1.0]), validate_args=off), a([2.0, -1.0, 2.5, inf, nan])),
        "bernoulli": (Bernoulli(probs=a([0.3, 1.5]), validate_args=off),
                      a([1.0, 2.0, -1.0, 0.5, nan])),
        "categorical": (Categorical(probs=a([[0.5, 0.5], [0.5, -0.1]]), validate_args=off),
                        a([1.0, 2.0, -1.0, 0.5, nan])),
        "dirichlet": (Dirichlet(a([[1.0, 2.0, 3.0], [1.0, -1.0, 3.0]]), validate_args=off),
                      a([[0.2, 0.3, 0.5], [0.5, 0.0, 0.5], [-0.1, 0.6, 0.5], [0.2, 0.2, 0.2],
                         [nan, 0.5, 0.5]])),
        "mvn": (MultivariateNormal(a([[0.0, 0.0], [0.0, 0.0]]), scale_tril=tril,
                                   validate_args=off),
                a([[0.0, 0.0], [inf, 0.0], [0.0, -inf], [nan, 0.0]])),
        "student_t": (StudentT(a([3.0, 0.0]), a([0.0, 0.0]), a([1.0, 1.0]), validate_args=off),
                      a([0.5, inf, -inf, nan])),
        "inverse_gamma": (InverseGamma(a([3.0, 3.0]), a([1.0, -2.0]), validate_args=off),
                          a([1.0, 0.0, -1.0, inf, nan])),
        "negative_binomial": (NegativeBinomial(a([3.0, 3.0]), probs=a([0.4, 1.0]),
                                               validate_args=off),
                              a([2.0, -1.0, 2.5, inf, nan])),
    }


@pytest.mark.parametrize("name", sorted(families(jnp.float32)))
def test_invalid_parameters_support_and_nan_inputs(name, dtype):
    dist, points = families(dtype)[name]
    event = len(dist.event_shape)
    x = points[(slice(None), None) + (slice(None),) * event]  # (n, 1, *event) against (2,)
    values = summary(dist, x, jax.random.key(0), 3, name not in SAMPLED_BELOW)
    log_prob, prob = np.asarray(values["log_prob"]), np.asarray(values["prob"])
    assert log_prob.shape == (len(points), 2)
    # the valid member: finite inside, -inf (prob 0) outside, NaN at a NaN point
    assert np.isfinite(log_prob[0, 0])
    assert np.all(log_prob[1:-1, 0] == -np.inf), log_prob[:, 0]
    assert np.all(prob[1:-1, 0] == 0.0)
    assert np.isnan(log_prob[-1, 0]) and np.isnan(prob[-1, 0])
    for key in ("entropy", "mean", "variance", "stddev", "covariance", "sample"):
        if key not in values:
            continue
        value = np.asarray(values[key])
        trailing = {"entropy": 0, "covariance": 2 * event}.get(key, event)
        member = value[(..., 0) + (slice(None),) * trailing]
        invalid = value[(..., 1) + (slice(None),) * trailing]
        if key == "sample" and jnp.issubdtype(value.dtype, jnp.integer):
            assert np.all(invalid == -1), (key, invalid)  # integers have no NaN
            assert np.all(member >= 0)
            continue
        assert np.all(np.isnan(invalid)), (key, invalid)
        assert not np.any(np.isnan(member)), (key, member)
    # the invalid member: NaN everywhere, inside or outside the support
    assert np.all(np.isnan(log_prob[:, 1])) and np.all(np.isnan(prob[:, 1]))


@pytest.mark.parametrize("invalid", ["loc", "precision", "concentration", "rate"])
def test_normal_inverse_gamma_invalid_parameters_support_and_nan_inputs(invalid, dtype):
    """NormalInverseGamma (a Module of its own, not in the families above): valid
    parameters give a finite log-density inside the support, -inf at a variance <= 0, NaN
    at a NaN input; any one invalid parameter makes every method NaN."""
    def a(values):
        return jnp.asarray(values, dtype=dtype)

    good = dict(loc=a([0.0, 1.0]), precision=a([[2.0, 0.5], [0.5, 1.0]]),
                concentration=a(3.0), rate=a(2.0))
    bad = dict(good, **{"loc": dict(loc=a([np.nan, 1.0])),
                        "precision": dict(precision=a([[1.0, 2.0], [2.0, 1.0]])),
                        "concentration": dict(concentration=a(0.0)),
                        "rate": dict(rate=a(-1.0))}[invalid])
    valid = NormalInverseGamma(**good, validate_args=False)
    weights = a([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [np.nan, 0.5], [0.5, 0.5]])
    variance = a([1.5, 0.0, -1.0, 1.0, np.nan])
    log_prob = np.asarray(valid.log_prob(weights, variance))
    assert np.isfinite(log_prob[0]) and np.all(log_prob[1:3] == -np.inf)
    assert np.all(np.isnan(log_prob[3:])), log_prob
    prior = NormalInverseGamma(**bad, validate_args=False)
    assert np.all(np.isnan(np.asarray(prior.log_prob(weights, variance))))
    draws = prior.sample(jax.random.key(0), (3,))
    assert all(np.all(np.isnan(np.asarray(leaf))) for leaf in draws)
    assert np.all(np.isnan(np.asarray(prior.variance_distribution().mean())))
    predictive = prior.predictive(a([[1.0, 2.0]]))
    assert np.all(np.isnan(np.asarray(predictive.log_prob(a([0.3])))))
    # and the constructor rejects the same parameters when they are concrete
    with pytest.raises(ValueError, match=f"NormalInverseGamma: {invalid}"):
        NormalInverseGamma(**bad)


# constructor, message: concrete invalid parameters raise, naming the argument and value
INVALID = [
    (lambda: Poisson(-1.0), r"Poisson: rate must be >= 0 and finite, got -1\.0"),
    (lambda: Poisson(jnp.array([1.0, np.inf])), r"Poisson: rate .* got inf at index \(1,\)"),
    (lambda: Bernoulli(probs=1.5), r"Bernoulli: probs must be in \[0, 1\], got 1\.5"),
    (lambda: Bernoulli(logits=np.nan), r"Bernoulli: logits must be a number"),
    (lambda: Categorical(probs=[0.5, -0.1]), r"Categorical: probs must be >= 0 .* got -0\.1"),
    (lambda: Categorical(probs=[0.0, 0.0]), r"Categorical: the sum of probs must be > 0"),
    (lambda: Categorical(logits=[-np.inf, -np.inf]), r"Categorical: the largest logit"),
    (lambda: Normal(0.0, 0.0), r"Normal: scale must be > 0 and finite, got 0\.0"),
    (lambda: Normal(np.inf, 1.0), r"Normal: loc must be finite, got inf"),
    (lambda: Laplace(0.0, -2.0), r"Laplace: scale must be > 0 .* got -2\.0"),
    (lambda: Uniform(1.0, 0.0), r"Uniform: high must be > low, got 0\.0"),
    (lambda: Uniform(1.0, 1.0), r"Uniform: high must be > low, got 1\.0"),
    (lambda: Gamma(0.0, 1.0), r"Gamma: concentration must be > 0 .* got 0\.0"),
    (lambda: Gamma(1.0, -1.0), r"Gamma: rate must be > 0 .* got -1\.0"),
    (lambda: Beta(1.0, np.nan), r"Beta: concentration0 must be > 0 and finite, got nan"),
    (lambda: Dirichlet([1.0, 0.0]), r"Dirichlet: concentration must be > 0 .* index \(1,\)"),
    (lambda: MultivariateNormal(jnp.zeros(2), covariance=jnp.array([[1.0, 2.0], [2.0, 1.0]])),
     r"MultivariateNormal: covariance must be symmetric positive definite"),
    (lambda: MultivariateNormal(jnp.zeros(2), scale_tril=jnp.array([[1.0, 0.0], [1.0, 0.0]])),
     r"MultivariateNormal: scale_tril must be lower triangular .* non-zero diagonal"),
    (lambda: StudentT(-1.0), r"StudentT: df must be > 0 and finite, got -1\.0"),
    (lambda: InverseGamma(2.0, 0.0), r"InverseGamma: scale must be > 0 .* got 0\.0"),
    (lambda: NegativeBinomial(0.0, probs=0.5), r"NegativeBinomial: total_count must be > 0"),
    (lambda: NegativeBinomial(2.0, probs=1.0), r"NegativeBinomial: probs must be in \[0, 1\)"),
    (lambda: NormalInverseGamma(jnp.zeros(2), -jnp.eye(2), 2.0, 1.0),
     r"NormalInverseGamma: precision must be symmetric positive definite"),
    (lambda: NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 2.0, -1.0),
     r"NormalInverseGamma: rate must be > 0 .* got -1\.0"),
]


@pytest.mark.parametrize(("make", "message"), INVALID, ids=[m for _, m in INVALID])
def test_concrete_invalid_parameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@jax.jit
def _traced_poisson_log_prob(rate):
    return Poisson(rate).log_prob(0.0)  # traced: no check, NaN


def test_traced_and_rebuilt_distributions_are_not_checked(dtype):
    rate = jnp.asarray([2.0, -1.0], dtype)
    assert_close(_traced_poisson_log_prob(rate)[0], -2.0, dtype)
    assert np.isnan(_traced_poisson_log_prob(rate)[1])
    # unflattening (tree_map, vmap over a batch of distributions) never calls __init__
    negated = jax.tree_util.tree_map(lambda leaf: -leaf, Normal(jnp.zeros(2, dtype), 1.0))
    assert np.all(np.asarray(negated.scale) == -1.0)
    assert np.all(np.isnan(np.asarray(negated.log_prob(0.0))))
    batch = Normal(jnp.zeros(2, dtype), jnp.asarray([1.0, 2.0], dtype))
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), batch, negated)
    values = jax.vmap(lambda d: d.entropy())(stacked)
    assert np.isnan(np.asarray(values)[1]).all() and np.isfinite(np.asarray(values)[0]).all()
    # fits return NaN parameters (no error) for data outside the support
    assert np.isnan(float(Poisson.fit(jnp.asarray([-3.0, 1.0, 1.0], dtype)).rate))


def test_fits_outside_the_support_are_nan(dtype):
    def a(values):
        return jnp.asarray(values, dtype)

    assert np.isnan(float(fit_poisson(a([-3.0, 1.0, 1.0]))))
    assert np.isnan(float(fit_poisson(a([0.5, 1.0, 1.0]))))
    assert np.isnan(float(fit_bernoulli(a([0.0, 2.0, 1.0]))))
    assert np.all(np.isnan(np.asarray(fit_gamma(a([0.0, 1.0, 2.0])))))
    assert np.all(np.isnan(np.asarray(fit_normal(a([np.inf, 1.0, 2.0])))))
    assert np.all(np.isnan(np.asarray(fit_categorical(jnp.array([0, 1, 3]), 3))))
    # per column, and only samples with positive weight count
    x = a([[1.0, -3.0], [2.0, 1.0], [4.0, 1.0]])
    np.testing.assert_allclose(np.asarray(fit_poisson(x)), [7.0 / 3.0, np.nan], rtol=1e-6)
    assert_close(fit_poisson(x[:, 1], a([0.0, 1.0, 1.0])), 1.0, dtype)


# ----------------------------------------------------------------------------------------
# Gradients on the boundary of the support: an infinite value has gradient 0, never NaN;
# a finite value on the boundary has finite gradients.

def _beta(a, b, x):
    return Beta(a, b).log_prob(x)


def _gamma(a, r, x):
    return Gamma(a, r).log_prob(x)


def _dirichlet(a0, a1, x):
    return Dirichlet(jnp.stack([a0, a1, 3.0 * jnp.ones_like(a0)], -1)).log_prob(x)


def _poisson(rate, unused, x):
    return Poisson(rate).log_prob(x)


def _negative_binomial(r, p, x):
    return NegativeBinomial(r, probs=p).log_prob(x)


def _uniform(low, high, x):
    return Uniform(low, high).log_prob(x)


def _bernoulli(p, unused, x):
    return Bernoulli(probs=p).log_prob(x)


def _categorical(p0, p1, x):
    return Categorical(probs=jnp.stack([p0, p1, 1.0 - p0 - p1], -1)).log_prob(x)


def _inverse_gamma(a, b, x):
    return InverseGamma(a, b).log_prob(x)


def _normal(loc, scale, x):
    return Normal(loc, scale).log_prob(x)


def _student_t(df, scale, x):
    return StudentT(df, 0.0, scale).log_prob(x)


_INF = math.inf
# (function, first parameter, second parameter, point, closed-form value)
BOUNDARY = {
    "beta at 0 (a > 1)": (_beta, 2.0, 3.0, 0.0, -_INF),
    "beta at 1 (b > 1)": (_beta, 2.0, 3.0, 1.0, -_INF),
    "beta at 0 (a < 1)": (_beta, 0.5, 3.0, 0.0, _INF),
    "beta at 0 (a = 1)": (_beta, 1.0, 3.0, 0.0, math.log(3.0)),
    "beta at 1 (b = 1)": (_beta, 2.0, 1.0, 1.0, math.log(2.0)),
    "gamma at 0 (a > 1)": (_gamma, 2.0, 1.5, 0.0, -_INF),
    "gamma at 0 (a = 1)": (_gamma, 1.0, 1.5, 0.0, math.log(1.5)),
    "dirichlet on a face": (_dirichlet, 2.0, 0.5, [0.0, 0.4, 0.6], -_INF),
    "dirichlet on a face (a = 1)": (
        _dirichlet, 1.0, 2.0, [0.0, 0.4, 0.6],
        float(sp.gammaln(6.0) - sp.gammaln(2.0) - sp.gammaln(3.0) + math.log(0.4)
              + 2 * math.log(0.6))),
    "poisson rate 0, count 3": (_poisson, 0.0, 0.0, 3.0, -_INF),
    "poisson rate 0, count 0": (_poisson, 0.0, 0.0, 0.0, 0.0),
    "negative binomial probs 0, count 2": (_negative_binomial, 3.0, 0.0, 2.0, -_INF),
    "negative binomial probs 0, count 0": (_negative_binomial, 3.0, 0.0, 0.0, 0.0),
    "uniform at its upper edge": (_uniform, 0.0, 2.0, 2.0, -math.log(2.0)),
    "uniform past its edge": (_uniform, 0.0, 2.0, 2.5, -_INF),
    "bernoulli probs 0 at 1": (_bernoulli, 0.0, 0.0, 1.0, -_INF),
    "bernoulli probs 1 at 1": (_bernoulli, 1.0, 0.0, 1.0, 0.0),
    "categorical zero probability": (_categorical, 0.0, 0.5, 0.0, -_INF),
    "inverse gamma at 0": (_inverse_gamma, 2.0, 1.0, 0.0, -_INF),
    "normal at inf": (_normal, 0.0, 1.0, _INF, -_INF),
    "student t at -inf": (_student_t, 3.0, 1.0, -_INF, -_INF),
}


@functools.partial(jax.jit, static_argnums=0)
def value_and_gradients(function, first, second, x):
    return jax.value_and_grad(function, argnums=(0, 1))(first, second, x)


@pytest.mark.parametrize("case", sorted(BOUNDARY))
def test_boundary_gradients(case, dtype):
    function, first, second, point, expected = BOUNDARY[case]
    value, gradients = value_and_gradients(function, jnp.asarray(first, dtype),
                                           jnp.asarray(second, dtype), jnp.asarray(point, dtype))
    assert_close(value, expected, dtype, err_msg=case)
    gradients = np.asarray(gradients, np.float64)
    assert not np.any(np.isnan(gradients)), (case, gradients)
    if math.isinf(expected):
        np.testing.assert_array_equal(gradients, 0.0, err_msg=case)
    else:
        assert np.all(np.isfinite(gradients)), (case, gradients)


# ----------------------------------------------------------------------------------------
# Student-t far in the tails: no overflow of z^2 / df in float32.

student_t_log_prob = jax.jit(lambda dist, x: dist.log_prob(x))


def test_student_t_far_tails_against_scipy(dtype):
    df, df64 = rounded([1.0, 3.0, 30.0, 0.5], dtype)
    scale, scale64 = rounded([1.0, 1e-3, 2.0, 1e3], dtype)
    loc, loc64 = rounded([0.0, 1.0, -5.0, 0.0], dtype)
    x, x64 = rounded([[1e30], [-1e30], [3e38], [1e20], [-7.0], [1e10]], dtype)
    dist = StudentT(df, loc, scale)
    expected = stats.t(df64, loc64, scale64).logpdf(x64)
    assert np.all(np.isfinite(expected))
    assert_close(student_t_log_prob(dist, x), expected, dtype)


# ----------------------------------------------------------------------------------------
# Poisson draws at large rates: mean and variance within 5 standard errors of the truth.

POISSON_SAMPLES = 1 << 16
poisson_draws = jax.jit(lambda dist, key: dist.sample(key, (POISSON_SAMPLES,)))


def test_poisson_large_rate_samples(dtype):
    rate, rate64 = rounded([3.0, 50.0, 1e6, 1e8, 3e9, 1e12], dtype)
    # (an invalid rate in the same batch: NaN draws for it alone)
    batch = Poisson(jnp.concatenate([rate, jnp.asarray([-1.0], dtype)]), validate_args=False)
    samples = poisson_draws(batch, jax.random.key(11))
    assert samples.dtype == jnp.dtype(dtype)
    samples = np.asarray(samples, np.float64)
    assert np.all(np.isnan(samples[:, -1]))
    samples = samples[:, :-1]
    assert np.all(samples >= 0) and np.all(np.floor(samples) == samples)
    n = POISSON_SAMPLES
    # SE of the mean: sqrt(rate / n); of the sample variance: rate sqrt(2 / (n - 1) + 1 /
    # (n rate)) (the fourth central moment is 3 rate^2 + rate)
    mean_error = np.abs(samples.mean(axis=0) - rate64)
    assert np.all(mean_error <= 5 * np.sqrt(rate64 / n)), samples.mean(axis=0) / rate64
    variance_error = np.abs(samples.var(axis=0, ddof=1) - rate64)
    bound = 5 * rate64 * np.sqrt(2.0 / (n - 1) + 1.0 / (n * rate64))
    assert np.all(variance_error <= bound), samples.var(axis=0, ddof=1) / rate64


# ----------------------------------------------------------------------------------------
# Small concentrations: draws never exactly 0 or 1, finite log-densities, and a Monte Carlo
# KL that matches the closed form.

SMALL_SAMPLES = 4096


@jax.jit
def small_draws(dists, key):
    """Draws of every distribution in ``dists`` and their log-densities: one program."""
    draws = [dist.sample(key, (SMALL_SAMPLES,)) for dist in dists]
    return draws, [dist.log_prob(x) for dist, x in zip(dists, draws, strict=True)]


def test_small_concentration_draws_stay_inside(dtype):
    # batch members: two small concentrations, and an invalid one (NaN draws)
    small = jnp.asarray([1e-3, 1e-2, -1.0], dtype)
    off = False
    cases = {
        "gamma": Gamma(small, 1.0, validate_args=off),
        "beta": Beta(small, small[jnp.array([1, 0, 2])], validate_args=off),
        "beta near 1": Beta(jnp.ones_like(small), small, validate_args=off),
        "dirichlet": Dirichlet(jnp.stack([small, small, small[jnp.array([1, 0, 2])]], -1),
                               validate_args=off),
        "inverse gamma": InverseGamma(small, 1.0, validate_args=off),
    }
    all_draws, all_log_probs = small_draws(tuple(cases.values()), jax.random.key(3))
    for name, draws, log_prob in zip(cases, all_draws, all_log_probs, strict=True):
        draws, log_prob = np.asarray(draws), np.asarray(log_prob)
        assert np.all(np.isnan(draws[:, 2])) and np.all(np.isnan(log_prob[:, 2])), name
        draws, log_prob = draws[:, :2], log_prob[:, :2]
        assert np.all(draws > 0), name
        if name.startswith("beta"):
            assert np.all(draws < 1), name
        assert np.all(np.isfinite(draws)), name
        assert np.all(np.isfinite(log_prob)), name


KL_SAMPLES = 20000
kl_estimate = jax.jit(lambda key, p, q: info.kl_monte_carlo(key, p, q, KL_SAMPLES))


def test_small_concentration_kl_monte_carlo(dtype):
    a_p, a_q = 0.05, 0.1
    p, q = Gamma(jnp.asarray(a_p, dtype), 1.0), Gamma(jnp.asarray(a_q, dtype), 1.0)
    estimate = float(kl_estimate(jax.random.key(5), p, q))
    # closed form: (a_p - a_q) digamma(a_p) - lgamma(a_p) + lgamma(a_q)
    expected = (a_p - a_q) * sp.digamma(a_p) - sp.gammaln(a_p) + sp.gammaln(a_q)
    assert_close(info.kl(p, q), expected, dtype)
    assert np.isfinite(estimate)
    # the log-ratio is (a_p - a_q) log x + c, whose variance under p is
    # (a_p - a_q)^2 trigamma(a_p)
    standard_error = abs(a_p - a_q) * np.sqrt(sp.polygamma(1, a_p) / KL_SAMPLES)
    # draws below the smallest normal number are represented by it, which biases the mean
    # of log x by at most E[(log tiny - log X)+] = tiny^a / (a Gamma(a + 1)) for
    # X ~ Gamma(a) (to first order in a): about 0.013 in the estimate in float32
    tiny = float(jnp.finfo(dtype).tiny)
    clipping = abs(a_p - a_q) * tiny ** a_p / (a_p * sp.gamma(a_p + 1.0))
    assert abs(estimate - expected) <= 5 * standard_error + clipping, (estimate, expected)
