"""Reference tests for ``mlmath.montecarlo.monte_carlo_mean``.

Expectations are closed forms (moments of the Normal, Gamma, Poisson and multivariate normal;
``digamma`` from scipy), numpy on the very draws the estimator used, and the statistics of
many independent runs: the error shrinks as 1/sqrt(n) (the slope of log RMS error against
log n, over 400 seeds vmapped, is -1/2) and the confidence interval covers the true value at
its nominal rate (within a binomial 4-sigma band). All keys are fixed, so every number here
is deterministic; the statistical tolerances are chosen so that a correct estimator passes
with overwhelming probability for any seed.
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

from mlmath.distributions import Gamma, MultivariateNormal, Normal, Poisson
from mlmath.montecarlo import MonteCarloEstimate, monte_carlo_mean
from tests.composability import check_composable
from tests.conftest import X64, assert_close, rounded, rtol_for


@functools.partial(jax.jit, static_argnums=(1, 3, 4))
def estimate(key, f, distribution, num_samples, confidence=0.95):
    return monte_carlo_mean(key, f, distribution, num_samples, confidence)


def square(x):
    return x * x


N = 50_000


def check_estimate(result, truth, sd, what):
    """The estimate within 5 standard errors of the truth; the standard error near sd/sqrt(n).

    The sample standard deviation of n = 5e4 draws is within 10% of the true one for every
    f used here (its relative standard error is sqrt((kurtosis - 1) / 4n) < 1.5%).
    """
    mean = np.asarray(result.mean, np.float64)
    se = np.asarray(result.standard_error, np.float64)
    expected_se = np.asarray(sd, np.float64) / math.sqrt(N)
    assert np.all(np.abs(mean - truth) <= 5 * expected_se), (what, mean, truth, expected_se)
    assert np.all(np.abs(se / expected_se - 1) <= 0.1), (what, se, expected_se)


def test_closed_form_expectations(dtype):
    # E[X^2] under N(mu, s^2) = mu^2 + s^2; Var[X^2] = 2 s^4 + 4 mu^2 s^2
    loc, loc64 = rounded([0.0, 1.5, -3.0], dtype)
    scale, scale64 = rounded([1.0, 0.5, 2.0], dtype)
    result = estimate(jax.random.key(0), square, Normal(loc, scale), N)
    assert isinstance(result, MonteCarloEstimate)
    assert result.mean.shape == (3,) and result.mean.dtype == jnp.dtype(dtype)
    check_estimate(result, loc64**2 + scale64**2,
                   np.sqrt(2 * scale64**4 + 4 * loc64**2 * scale64**2), "normal x^2")
    # E[log X] under Gamma(a, rate) = digamma(a) - log(rate); Var[log X] = trigamma(a)
    a, a64 = rounded([0.5, 3.0, 40.0], dtype)
    rate, rate64 = rounded([2.0, 1.0, 0.1], dtype)
    result = estimate(jax.random.key(1), jnp.log, Gamma(a, rate), N)
    check_estimate(result, sp.digamma(a64) - np.log(rate64), np.sqrt(sp.polygamma(1, a64)),
                   "gamma log x")
    # integer draws and integer values of f: E[X (X - 1)] = rate^2 under Poisson, averaged
    # in the distribution's dtype
    rate, rate64 = rounded([0.3, 4.0, 25.0], dtype)
    result = estimate(jax.random.key(2), lambda k: k * (k - 1), Poisson(rate), N)
    assert result.mean.dtype == jnp.dtype(dtype)
    # Var[X(X-1)] = 4 r^3 + 2 r^2 (the second factorial moment's variance)
    check_estimate(result, rate64**2, np.sqrt(4 * rate64**3 + 2 * rate64**2), "poisson")


def test_vector_valued_f_and_multivariate_draws(dtype):
    factor, factor64 = rounded([[1.0, 0.0], [0.6, 0.8]], dtype)
    loc, loc64 = rounded([1.0, -2.0], dtype)
    covariance = factor64 @ factor64.T

    def moments(x):  # E[x] and E[x x^T], as one array of shape (2, 3)
        return jnp.concatenate([x[:, None], jnp.outer(x, x)], axis=1)

    result = estimate(jax.random.key(3), moments, MultivariateNormal(loc, scale_tril=factor), N)
    assert result.mean.shape == (2, 3) and result.standard_error.shape == (2, 3)
    check_estimate(MonteCarloEstimate(result.mean[:, 0], result.standard_error[:, 0], None, None),
                   loc64, np.sqrt(np.diag(covariance)), "mvn mean")
    # Var[x_i x_j] = S_ii S_jj + S_ij^2 + mu_i^2 S_jj + mu_j^2 S_ii + 2 mu_i mu_j S_ij
    s, m = covariance, loc64
    variance = (np.outer(np.diag(s), np.diag(s)) + s**2 + np.outer(m**2, np.diag(s))
                + np.outer(np.diag(s), m**2) + 2 * np.outer(m, m) * s)
    check_estimate(MonteCarloEstimate(result.mean[:, 1:], result.standard_error[:, 1:], None,
                                      None),
                   covariance + np.outer(m, m), np.sqrt(variance), "mvn second moment")


def test_against_numpy_on_the_same_draws(dtype):
    """mean, standard error (ddof 1) and interval: numpy on the draws the estimator used."""
    dist = Normal(jnp.asarray([0.5, -1.0], dtype), jnp.asarray([1.0, 3.0], dtype))
    key = jax.random.key(4)
    values = np.asarray(dist.sample(key, (1000,)), np.float64) ** 2
    for confidence in (0.5, 0.9, 0.95, 0.999):
        result = monte_carlo_mean(key, square, dist, 1000, confidence)
        mean = values.mean(axis=0)
        se = values.std(axis=0, ddof=1) / math.sqrt(1000)
        z = stats.norm.ppf(0.5 * (1 + confidence))
        assert_close(result.mean, mean, dtype)
        assert_close(result.standard_error, se, dtype)
        assert_close(result.lower, mean - z * se, dtype)
        assert_close(result.upper, mean + z * se, dtype)
    # the same key gives the same estimate; another key another one
    again = monte_carlo_mean(key, square, dist, 1000)
    np.testing.assert_array_equal(again.mean, monte_carlo_mean(key, square, dist, 1000).mean)
    other = monte_carlo_mean(jax.random.key(5), square, dist, 1000)
    assert np.all(np.asarray(other.mean) != np.asarray(again.mean))


SEEDS = 400


@functools.partial(jax.jit, static_argnums=(1, 2))
def many_runs(keys, num_samples, confidence):
    """One estimate of E[X^2] under N(1, 1) (= 2, with Var[X^2] = 6) per key, vmapped."""
    return jax.vmap(lambda key: monte_carlo_mean(key, square, Normal(1.0, 1.0), num_samples,
                                                 confidence))(keys)


def test_error_shrinks_as_one_over_sqrt_n():
    """Slope of log RMS error against log n: -0.5 within 0.05.

    Over 400 seeds the RMS error at each n has a relative standard error of about
    sqrt((E e^4 / (E e^2)^2 - 1) / 4S) ~ 3.5%; the least-squares slope over n = 64 ... 16384
    (five points a factor 4 apart) then has a standard error of ~0.01, so 0.05 is 5 sigma.
    The level too: RMS error x sqrt(n) / sqrt(6) within 15% of 1 at every n.
    """
    sizes = [64, 256, 1024, 4096, 16384]
    keys = jax.random.split(jax.random.key(6), SEEDS)
    rms = []
    for n in sizes:
        means = np.asarray(many_runs(keys, n, 0.95).mean, np.float64)
        rms.append(math.sqrt(np.mean((means - 2.0) ** 2)))
    slope, _ = np.polyfit(np.log(sizes), np.log(rms), 1)
    assert abs(slope + 0.5) <= 0.05, (slope, rms)
    assert np.all(np.abs(np.array(rms) * np.sqrt(sizes) / math.sqrt(6.0) - 1) <= 0.15), rms


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.95, 0.99])
def test_interval_covers_at_the_nominal_rate(confidence):
    """Over 400 seeds, coverage within 4 binomial standard deviations of ``confidence``.

    (n = 2000 draws of X^2, whose skewness of 2.8 leaves a CLT coverage error of order 1/n.)
    """
    keys = jax.random.split(jax.random.key(7), SEEDS)
    runs = many_runs(keys, 2000, confidence)
    covered = np.mean((np.asarray(runs.lower) <= 2.0) & (2.0 <= np.asarray(runs.upper)))
    band = 4 * math.sqrt(confidence * (1 - confidence) / SEEDS)
    assert abs(covered - confidence) <= band, (covered, confidence, band)


def test_composable(dtype):
    """jit, vmap over parameters, and the reparameterized gradient of the estimate."""
    def function(loc, scale):
        result = monte_carlo_mean(jax.random.key(8), square, Normal(loc, scale), 500)
        return result.mean, result.standard_error, result.lower, result.upper

    def a(values):
        return jnp.asarray(values, dtype=dtype)

    sets = [(a([0.5, -1.0]), a([1.0, 2.0])), (a([0.0, 3.0]), a([0.1, 1.0])),
            (a([2.0, 1.0]), a([0.5, 0.5]))]
    skip = jnp.dtype(dtype) == jnp.dtype(jnp.float32) and X64
    result = check_composable(jax.jit(function), sets[0], sets,
                              grad_argnums=() if skip else (0, 1))
    # the gradient of the estimate is the estimate of the gradient: d/dmu mean(x^2) = mean(2x)
    draws = np.asarray(Normal(sets[0][0], sets[0][1]).sample(jax.random.key(8), (500,)),
                       np.float64)
    gradient = jax.grad(lambda m: jnp.sum(function(m, sets[0][1])[0]))(sets[0][0])
    assert_close(gradient, 2 * draws.mean(axis=0), rtol=10 * rtol_for(dtype))
    assert_close(result[0], (draws**2).mean(axis=0), dtype)


@pytest.mark.parametrize(
    ("num_samples", "confidence"),
    [(1, 0.95), (0, 0.95), (-5, 0.95), (10.0, 0.95), ("10", 0.95), (None, 0.95),
     (100, 0.0), (100, 1.0), (100, 1.5), (100, -0.1), (100, float("nan"))],
)
def test_bad_arguments(num_samples, confidence):
    with pytest.raises(ValueError, match=r"num_samples must be an int >= 2|confidence must lie"):
        monte_carlo_mean(jax.random.key(0), square, Normal(0.0, 1.0), num_samples, confidence)


def test_bad_argument_messages():
    with pytest.raises(ValueError, match=r"num_samples must be an int >= 2, got 1"):
        monte_carlo_mean(jax.random.key(0), square, Normal(0.0, 1.0), 1)
    with pytest.raises(ValueError, match=r"confidence must lie strictly between 0 and 1, got 1.0"):
        monte_carlo_mean(jax.random.key(0), square, Normal(0.0, 1.0), 10, 1.0)
    # numpy integers are accepted
    result = monte_carlo_mean(jax.random.key(0), square, Normal(0.0, 1.0), np.int64(10))
    assert result.mean.shape == ()
