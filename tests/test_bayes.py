"""Reference tests for ``mlmath.bayes``: Bayes' rule on tables and the conjugate updates.

Every expectation is computed independently of mlmath: Bayes' rule by numpy on the
dtype-rounded tables (and textbook examples with closed-form answers); each conjugate update
by brute force, numerically integrating prior x likelihood over the parameter
(``scipy.integrate.quad``, ``dblquad`` over the 2-simplex, trapezoid grids over
(weights, log variance) for regression) or summing over every label sequence. The
posterior density must equal prior x likelihood / evidence at several points, the log
marginal likelihood the log of the integral, and the predictive probabilities the
integral of p(x_new | theta) against the posterior. Comparisons use ``assert_close``
(rtol 1e-5 in float32, 1e-10 in float64); the reference integrals are themselves checked to
be converged (quad's error estimate below 1e-11 relative; the regression grid unchanged at
1e-12 when its spacing is halved).
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import integrate, stats
from scipy import special as sp

from mlmath.bayes import (
    BayesResult,
    Conjugate,
    RegressionPosterior,
    bayesian_linear_regression,
    beta_bernoulli,
    dirichlet_categorical,
    gamma_poisson,
    normal_normal,
    posterior,
    posterior_from_log,
)
from mlmath.distributions import (
    Bernoulli,
    Beta,
    Categorical,
    Dirichlet,
    Gamma,
    NegativeBinomial,
    Normal,
    NormalInverseGamma,
    StudentT,
)
from tests.composability import check_composable, check_gradient
from tests.conftest import assert_close, rounded, rtol_for

# Compiled once per shape: eager dispatch of these graphs compiles every primitive on its own
# (plain, eager calls are compared with compiled ones by check_composable below).
posterior_jit = jax.jit(posterior, static_argnums=2, static_argnames="axis")
posterior_from_log_jit = jax.jit(posterior_from_log, static_argnums=2, static_argnames="axis")
beta_bernoulli_jit = jax.jit(beta_bernoulli)
gamma_poisson_jit = jax.jit(gamma_poisson)
normal_normal_jit = jax.jit(normal_normal)
dirichlet_categorical_jit = jax.jit(dirichlet_categorical)
bayesian_linear_regression_jit = jax.jit(bayesian_linear_regression)
log_prob_of = jax.jit(lambda dist, *x: dist.log_prob(*x))
predictive_of = jax.jit(lambda prior, X: prior.predictive(X))


def log_integral(log_f, low, high, center, *, points=()):
    """log of the integral of exp(log_f) over [low, high], scaled by its value at ``center``.

    quad with a relative tolerance of 1e-13 on exp(log_f - log_f(center)), so that
    likelihoods far below the smallest float are integrated exactly.
    """
    shift = float(log_f(center))
    value, error = integrate.quad(lambda t: math.exp(log_f(t) - shift), low, high,
                                  points=list(points) or None, epsabs=0.0, epsrel=1e-13,
                                  limit=400)
    assert error <= 1e-11 * value, (value, error)
    return shift + math.log(value)


# ----------------------------------------------------------------------------------------
# Bayes' rule on tables.

def bayes_numpy(prior, likelihood, axis):
    joint = prior * likelihood
    evidence = joint.sum(axis=axis, keepdims=True)
    return joint / evidence, np.log(np.squeeze(evidence, axis))


def test_diagnostic_test_closed_form(dtype):
    """1% prevalence, 99% sensitivity, 95% specificity: P(disease | +) = 1/6."""
    prior, _ = rounded([0.01, 0.99], dtype)
    result = posterior_jit(prior, jnp.asarray([0.99, 0.05], dtype))
    assert isinstance(result, BayesResult)
    assert result.posterior.dtype == jnp.dtype(dtype)
    # 0.0099 / (0.0099 + 0.0495) = 1/6, evidence 0.0594
    assert_close(result.posterior, [1 / 6, 5 / 6], dtype)
    assert_close(result.log_evidence, math.log(0.0594), dtype)
    # a negative result: 0.01 * 0.01 / (0.01 * 0.01 + 0.99 * 0.95)
    result = posterior_jit(prior, jnp.asarray([0.01, 0.95], dtype))
    assert_close(result.posterior[0], 1e-4 / (1e-4 + 0.9405), dtype)
    assert_close(result.log_evidence, math.log(0.9406), dtype)


def test_monty_hall_closed_form(dtype):
    """The car behind door 1, 2 or 3; the player picks 1, the host opens 3: (1/3, 2/3, 0)."""
    result = posterior_jit(jnp.full(3, 1 / 3, dtype), jnp.asarray([0.5, 1.0, 0.0], dtype))
    assert_close(result.posterior, [1 / 3, 2 / 3, 0.0], dtype)
    assert float(result.posterior[2]) == 0.0
    assert_close(result.log_evidence, math.log(0.5), dtype)


@pytest.mark.parametrize("axis", [0, 1, -1, -3])
def test_posterior_against_numpy(axis, dtype):
    rng = np.random.default_rng(0)
    # an unnormalized prior (used as given) and likelihoods spanning many orders of magnitude
    prior, prior64 = rounded(rng.uniform(0.1, 3.0, (4, 5, 3)), dtype)
    likelihood, likelihood64 = rounded(np.exp(rng.uniform(-30.0, 0.0, (4, 5, 3))), dtype)
    expected, log_evidence = bayes_numpy(prior64, likelihood64, axis)
    result = posterior_jit(prior, likelihood, axis)
    assert result.posterior.shape == (4, 5, 3) and result.posterior.dtype == jnp.dtype(dtype)
    assert result.log_evidence.shape == log_evidence.shape
    assert_close(result.posterior, expected, dtype)
    assert_close(result.log_evidence, log_evidence, dtype)
    assert_close(jnp.sum(result.posterior, axis=axis), np.ones(log_evidence.shape), dtype)
    # the log form agrees
    logs = posterior_from_log_jit(jnp.log(prior), jnp.log(likelihood), axis)
    assert_close(logs.posterior, expected, dtype)
    assert_close(logs.log_evidence, log_evidence, dtype)


def test_posterior_broadcasting(dtype):
    rng = np.random.default_rng(1)
    # one prior over 5 hypotheses, the likelihoods of 3 data sets
    prior, prior64 = rounded(rng.dirichlet(np.ones(5)), dtype)
    likelihood, likelihood64 = rounded(rng.uniform(0.0, 1.0, (3, 5)), dtype)
    expected, log_evidence = bayes_numpy(prior64[None], likelihood64, -1)
    result = posterior_jit(prior, likelihood)
    assert result.posterior.shape == (3, 5) and result.log_evidence.shape == (3,)
    assert_close(result.posterior, expected, dtype)
    assert_close(result.log_evidence, log_evidence, dtype)
    # hypotheses on axis 0: a (5, 1) prior against (5, 3) likelihoods
    result = posterior_jit(prior[:, None], likelihood.T, axis=0)
    assert result.posterior.shape == (5, 3) and result.log_evidence.shape == (3,)
    assert_close(result.posterior, expected.T, dtype)
    assert_close(result.log_evidence, log_evidence, dtype)
    # a shared likelihood, three priors
    result = posterior_jit(likelihood, prior)
    assert_close(result.posterior, expected, dtype)


def test_posterior_from_log_with_underflowing_likelihoods(dtype):
    """Log-likelihoods of -1000 (e^-1000 underflows): the posterior is still exact."""
    log_prior, log_prior64 = rounded(np.log([0.2, 0.3, 0.1, 0.4]), dtype)
    log_likelihood, ll64 = rounded([[-1000.0, -1001.0, -1003.5, -1000.25],
                                    [-5e4, -5e4 - 2.0, -5e4 + 1.0, -6e4],
                                    [-1000.0, -1000.0, -1000.0, -1000.0]], dtype)
    with np.errstate(all="ignore"):  # the linear-space computation fails
        assert np.all(np.isnan(bayes_numpy(np.exp(log_prior64), np.exp(ll64), -1)[0]))
    joint = log_prior64 + ll64
    expected = sp.softmax(joint, axis=-1)
    result = posterior_from_log_jit(log_prior, log_likelihood)
    assert_close(result.posterior, expected, dtype)
    assert_close(result.log_evidence, sp.logsumexp(joint, axis=-1), dtype)
    # the docstring's example: e / (1 + e)
    result = posterior_from_log_jit(jnp.log(jnp.full(2, 0.5, dtype)),
                                    jnp.asarray([-1000.0, -1001.0], dtype))
    assert_close(result.posterior, [math.e / (1 + math.e), 1 / (1 + math.e)], dtype)
    assert_close(result.log_evidence, -1000.0 + math.log(0.5 + 0.5 / math.e), dtype)


def test_zero_prior_keeps_zero_posterior(dtype):
    prior, _ = rounded([0.0, 0.5, 0.5, 0.0], dtype)
    likelihood, _ = rounded([1.0, 1e-3, 2e-3, 0.0], dtype)
    result = posterior_jit(prior, likelihood)
    np.testing.assert_array_equal(np.asarray(result.posterior)[[0, 3]], [0.0, 0.0])
    assert_close(result.posterior, [0.0, 1 / 3, 2 / 3, 0.0], dtype)
    assert_close(result.log_evidence, math.log(0.5 * 1e-3 + 0.5 * 2e-3), dtype)
    # in log space, with the most likely hypothesis ruled out a priori
    log_prior = jnp.asarray([-jnp.inf, math.log(0.25), math.log(0.75)], dtype)
    result = posterior_from_log_jit(log_prior, jnp.asarray([0.0, -1000.0, -1001.0], dtype))
    assert float(result.posterior[0]) == 0.0
    expected = sp.softmax([math.log(0.25) - 1000.0, math.log(0.75) - 1001.0])
    assert_close(result.posterior[1:], expected, dtype)
    # gradients stay finite where the prior is zero
    gradient = jax.grad(lambda ll: posterior_from_log(log_prior, ll).posterior[1])(
        jnp.asarray([0.0, -1000.0, -1001.0], dtype))
    assert np.all(np.isfinite(np.asarray(gradient))) and float(gradient[0]) == 0.0


def test_posterior_composable(dtype):
    def a(values):
        return jnp.asarray(values, dtype=dtype)

    sets = [
        (a([-1.0, -0.5, -2.0]), a([[-1000.0, -1001.0, -999.0], [-3.0, -1.0, -2.0]])),
        (a([-0.1, -3.0, -1.0]), a([[-10.0, -12.0, -11.0], [0.0, -0.5, -0.25]])),
        (a([-2.0, -2.0, -0.2]), a([[-500.0, -400.0, -450.0], [-1.0, -1.0, -7.0]])),
    ]
    # both forms in one compiled function: the log form on underflowing likelihoods, the
    # linear form on probabilities
    sets = [(lp, ll, jnp.exp(lp), jnp.exp(ll[1])) for lp, ll in sets]

    @jax.jit
    def function(arguments):  # one tuple argument: one gradient to compile
        log_prior, log_likelihood, prior, likelihood = arguments
        return (*posterior_from_log(log_prior, log_likelihood), *posterior(prior, likelihood))

    sets = [(arguments,) for arguments in sets]
    check_composable(function, sets[0], sets,
                     grad_argnums=(0,))


def test_posterior_bad_input():
    with pytest.raises(ValueError, match=r"axis=2 is out of range for an array with 2 dim"):
        posterior(jnp.ones((2, 3)), jnp.ones((2, 3)), axis=2)
    with pytest.raises(ValueError):
        posterior(jnp.ones(3), jnp.ones(4))
    with pytest.raises(TypeError, match=r"prior must be real"):
        posterior(jnp.ones(3) * 1j, jnp.ones(3))
    with pytest.raises(TypeError, match=r"log_likelihood must be real"):
        posterior_from_log(jnp.zeros(3), jnp.zeros(3) * 1j)


# ----------------------------------------------------------------------------------------
# Beta-Bernoulli against integration over theta.

COIN_FLIPS = np.array([1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1])
BETA_PRIORS = [(0.5, 0.5), (1.0, 1.0), (2.5, 7.0), (30.0, 4.0)]
THETA_POINTS = [1e-3, 0.05, 0.3, 0.5, 0.77, 0.99]


def beta_bernoulli_reference(a, b, flips):
    """Evidence, posterior log density at THETA_POINTS and P(x_new = 1), by quad."""
    heads, n = int(np.sum(flips)), len(flips)

    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    def log_joint(theta):  # likelihood x the Beta density (scipy's, written out: fast)
        return ((heads + a - 1) * math.log(theta) + (n - heads + b - 1) * math.log1p(-theta)
                - log_beta)

    assert_close(log_joint(0.3) - heads * math.log(0.3) - (n - heads) * math.log(0.7),
                 stats.beta.logpdf(0.3, a, b), rtol=1e-12)

    center = (heads + a) / (n + a + b)
    log_evidence = log_integral(log_joint, 0.0, 1.0, center, points=[center])
    predictive = math.exp(log_integral(lambda t: math.log(t) + log_joint(t), 0.0, 1.0, center,
                                       points=[center]) - log_evidence)
    density = [log_joint(t) - log_evidence for t in THETA_POINTS]
    return log_evidence, density, predictive


def test_beta_bernoulli_against_integration(dtype):
    a, a64 = rounded([p[0] for p in BETA_PRIORS], dtype)
    b, b64 = rounded([p[1] for p in BETA_PRIORS], dtype)
    prior = Beta(a, b)  # a batch of four priors, one data set
    update = beta_bernoulli_jit(prior, jnp.asarray(COIN_FLIPS))
    assert isinstance(update, Conjugate) and isinstance(update.posterior, Beta)
    assert isinstance(update.predictive, Bernoulli)
    assert update.posterior.batch_shape == (4,) and update.log_marginal_likelihood.shape == (4,)
    references = [beta_bernoulli_reference(a64[i], b64[i], COIN_FLIPS) for i in range(4)]
    assert_close(update.log_marginal_likelihood, [r[0] for r in references], dtype)
    theta, _ = rounded(THETA_POINTS, dtype)
    assert_close(log_prob_of(update.posterior, theta[:, None]),
                 np.array([r[1] for r in references]).T, dtype)
    predictive = np.array([r[2] for r in references])
    assert_close(log_prob_of(update.predictive, jnp.array([[1], [0]])),
                 np.log(np.stack([predictive, 1 - predictive])), dtype)
    # booleans and floats give the same update
    for flips in (COIN_FLIPS.astype(bool), COIN_FLIPS.astype(np.float32)):
        same = beta_bernoulli_jit(prior, jnp.asarray(flips))
        assert_close(same.log_marginal_likelihood, [r[0] for r in references], dtype)


def test_beta_bernoulli_batched_data(dtype):
    """Observations (n, batch): each column its own data set and prior."""
    rng = np.random.default_rng(2)
    flips = rng.integers(0, 2, (15, 4))
    flips[:, 3] = 1  # all heads
    a, a64 = rounded([p[0] for p in BETA_PRIORS], dtype)
    b, b64 = rounded([p[1] for p in BETA_PRIORS], dtype)
    update = beta_bernoulli_jit(Beta(a, b), jnp.asarray(flips))
    references = [beta_bernoulli_reference(a64[i], b64[i], flips[:, i]) for i in range(4)]
    assert_close(update.log_marginal_likelihood, [r[0] for r in references], dtype)
    assert_close(update.predictive.probs, [r[2] for r in references], dtype)
    # a long sequence (400 flips; the likelihood is ~1e-120): integrated with a shift
    long_flips = rng.integers(0, 2, 400)
    update = beta_bernoulli_jit(Beta(a[2], b[2]), jnp.asarray(long_flips))
    log_evidence, density, predictive = beta_bernoulli_reference(a64[2], b64[2], long_flips)
    assert_close(update.log_marginal_likelihood, log_evidence, dtype)
    assert_close(update.predictive.probs, predictive, dtype)
    theta, _ = rounded([0.3, 0.5, 0.77], dtype)
    assert_close(log_prob_of(update.posterior, theta), np.array(density)[[2, 3, 4]], dtype)


# ----------------------------------------------------------------------------------------
# Gamma-Poisson against integration over the rate.

COUNTS = np.array([3, 0, 5, 2, 4, 1, 7, 3, 0, 2])
GAMMA_PRIORS = [(0.5, 0.1), (2.0, 1.0), (40.0, 8.0)]
RATE_POINTS = [0.05, 0.5, 1.5, 2.7, 4.0, 9.0]
NEW_COUNTS = [0, 1, 3, 10, 25]


def gamma_poisson_reference(a, rate, counts):
    """Evidence, posterior log density at RATE_POINTS, predictive log pmf of NEW_COUNTS.

    Integrated over u = log(lambda) (the integrand is smooth and decays on both sides).
    """
    total, n = int(np.sum(counts)), len(counts)
    log_factorials = float(np.sum(sp.gammaln(counts + 1.0)))

    log_norm = a * math.log(rate) - math.lgamma(a)

    def log_joint_u(u):  # Poisson likelihood x Gamma density (written out) x Jacobian e^u
        lam = math.exp(u)
        return (total + a) * u - (n + rate) * lam - log_factorials + log_norm

    assert_close(log_joint_u(0.0) + log_factorials,
                 stats.gamma.logpdf(1.0, a, scale=1.0 / rate) - n, rtol=1e-12)

    center = math.log((a + total) / (rate + n))
    low, high = center - 40.0, center + 8.0
    log_evidence = log_integral(log_joint_u, low, high, center, points=[center])
    density = [log_joint_u(math.log(lam)) - math.log(lam) - log_evidence for lam in RATE_POINTS]
    predictive = [
        log_integral(lambda u, j=j: log_joint_u(u) + j * u - math.exp(u) - math.lgamma(j + 1),
                     low, high, center, points=[center]) - log_evidence
        for j in NEW_COUNTS
    ]
    return log_evidence, density, predictive


def test_gamma_poisson_against_integration(dtype):
    a, a64 = rounded([p[0] for p in GAMMA_PRIORS], dtype)
    rate, rate64 = rounded([p[1] for p in GAMMA_PRIORS], dtype)
    update = gamma_poisson_jit(Gamma(a, rate), jnp.asarray(COUNTS))
    assert isinstance(update.posterior, Gamma) and isinstance(update.predictive, NegativeBinomial)
    assert update.predictive.batch_shape == (3,)
    references = [gamma_poisson_reference(a64[i], rate64[i], COUNTS) for i in range(3)]
    assert_close(update.log_marginal_likelihood, [r[0] for r in references], dtype)
    lam, _ = rounded(RATE_POINTS, dtype)
    assert_close(log_prob_of(update.posterior, lam[:, None]),
                 np.array([r[1] for r in references]).T, dtype)
    assert_close(log_prob_of(update.predictive, jnp.asarray(NEW_COUNTS)[:, None]),
                 np.array([r[2] for r in references]).T, dtype)
    # batched data: counts (n, 3), a column per prior
    rng = np.random.default_rng(3)
    counts = rng.poisson([0.2, 3.0, 40.0], (12, 3))
    update = gamma_poisson_jit(Gamma(a, rate), jnp.asarray(counts))
    references = [gamma_poisson_reference(a64[i], rate64[i], counts[:, i]) for i in range(3)]
    assert_close(update.log_marginal_likelihood, [r[0] for r in references], dtype)
    assert_close(log_prob_of(update.predictive, jnp.asarray(NEW_COUNTS)[:, None]),
                 np.array([r[2] for r in references]).T, dtype)


# ----------------------------------------------------------------------------------------
# Normal-Normal against integration over the mean.

NORMAL_DATA = np.array([1.3, 0.2, 2.9, 1.7, -0.4, 2.2, 1.1, 0.9])
NORMAL_PRIORS = [(0.0, 1.0, 1.0), (-3.0, 0.1, 2.0), (10.0, 50.0, 0.3)]  # (loc, scale, noise)
MU_POINTS = [-2.0, 0.0, 0.5, 1.2, 1.5, 4.0]
NEW_POINTS = [-3.0, 0.0, 1.25, 2.0, 6.0]


def normal_normal_reference(mu0, tau0, sigma, x):
    x = np.asarray(x, np.float64)
    n = len(x)

    def log_joint(mu):  # Normal likelihood x Normal prior, the densities written out
        return float(-0.5 * np.sum(((x - mu) / sigma) ** 2) - n * math.log(sigma)
                     - 0.5 * ((mu - mu0) / tau0) ** 2 - math.log(tau0)
                     - 0.5 * (n + 1) * math.log(2 * math.pi))

    assert_close(log_joint(0.7), np.sum(stats.norm.logpdf(x, 0.7, sigma))
                 + stats.norm.logpdf(0.7, mu0, tau0), rtol=1e-12)

    precision = 1 / tau0**2 + len(x) / sigma**2
    center = (mu0 / tau0**2 + np.sum(x) / sigma**2) / precision
    spread = 40.0 / math.sqrt(precision)
    low, high = center - spread, center + spread
    log_evidence = log_integral(log_joint, low, high, center)
    density = [log_joint(mu) - log_evidence for mu in MU_POINTS]
    predictive = [
        log_integral(lambda mu, y=y: log_joint(mu) - 0.5 * ((y - mu) / sigma) ** 2
                     - math.log(sigma) - 0.5 * math.log(2 * math.pi), low, high, center)
        - log_evidence for y in NEW_POINTS]
    return log_evidence, density, predictive


def test_normal_normal_against_integration(dtype):
    loc, loc64 = rounded([p[0] for p in NORMAL_PRIORS], dtype)
    scale, scale64 = rounded([p[1] for p in NORMAL_PRIORS], dtype)
    noise, noise64 = rounded([p[2] for p in NORMAL_PRIORS], dtype)
    x, x64 = rounded(NORMAL_DATA, dtype)
    update = normal_normal_jit(Normal(loc, scale), x, noise)
    assert isinstance(update.posterior, Normal) and isinstance(update.predictive, Normal)
    references = [normal_normal_reference(loc64[i], scale64[i], noise64[i], x64)
                  for i in range(3)]
    assert_close(update.log_marginal_likelihood, [r[0] for r in references], dtype)
    mu, _ = rounded(MU_POINTS, dtype)
    assert_close(log_prob_of(update.posterior, mu[:, None]), np.array([r[1] for r in references]).T,
                 dtype)
    y, _ = rounded(NEW_POINTS, dtype)
    assert_close(log_prob_of(update.predictive, y[:, None]), np.array([r[2] for r in references]).T,
                 dtype)
    # the evidence is also the density of x under N(mu0 1, sigma^2 I + tau0^2 1 1^T)
    n = len(x64)
    for i in range(3):
        covariance = noise64[i] ** 2 * np.eye(n) + scale64[i] ** 2 * np.ones((n, n))
        assert_close(update.log_marginal_likelihood[i],
                     stats.multivariate_normal(np.full(n, loc64[i]), covariance).logpdf(x64),
                     dtype)


def test_normal_normal_batched_data(dtype):
    rng = np.random.default_rng(4)
    x, x64 = rounded(rng.normal([0.0, -3.0, 12.0], [1.0, 2.0, 0.3], (6, 3)), dtype)
    loc, loc64 = rounded([p[0] for p in NORMAL_PRIORS], dtype)
    scale, scale64 = rounded([p[1] for p in NORMAL_PRIORS], dtype)
    update = normal_normal_jit(Normal(loc, scale), x, 1.5)  # one noise scale for all
    references = [normal_normal_reference(loc64[i], scale64[i], 1.5, x64[:, i]) for i in range(3)]
    assert_close(update.log_marginal_likelihood, [r[0] for r in references], dtype)
    y, _ = rounded(NEW_POINTS, dtype)
    assert_close(log_prob_of(update.predictive, y[:, None]), np.array([r[2] for r in references]).T,
                 dtype)


# ----------------------------------------------------------------------------------------
# Dirichlet-Categorical: integration over the 2-simplex, the K = 2 (Beta) case, enumeration.

LABELS = np.array([0, 2, 2, 1, 0, 2, 2, 1, 2])
DIRICHLET_PRIOR = [2.5, 1.2, 4.0]
SIMPLEX_POINTS = [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.45, 0.05, 0.5], [1 / 3, 1 / 3, 1 / 3]]


def dirichlet_categorical_reference(alpha, labels):
    """Evidence and predictive P(x_new = k), by dblquad over (pi_1, pi_2)."""
    counts = np.bincount(labels, minlength=3)
    log_norm = sp.gammaln(alpha.sum()) - sp.gammaln(alpha).sum()
    exponents = alpha + counts - 1.0
    mode = exponents / exponents.sum()
    shift = float(np.sum(exponents * np.log(mode)))

    def integral(extra):
        def integrand(p2, p1):
            p3 = 1.0 - p1 - p2
            if p3 <= 0.0:
                return 0.0
            return math.exp(float(np.sum((exponents + extra) * np.log([p1, p2, p3]))) - shift)

        value, _ = integrate.dblquad(integrand, 0.0, 1.0, 0.0, lambda p1: 1.0 - p1,
                                     epsabs=0.0, epsrel=1e-12)
        return math.log(value) + shift

    log_evidence = log_norm + integral(np.zeros(3))
    predictive = [math.exp(log_norm + integral(np.eye(3)[k]) - log_evidence) for k in range(2)]
    return log_evidence, predictive + [1.0 - sum(predictive)]


def test_dirichlet_categorical_against_integration(dtype):
    alpha, alpha64 = rounded(DIRICHLET_PRIOR, dtype)
    update = dirichlet_categorical_jit(Dirichlet(alpha), jnp.asarray(LABELS))
    assert isinstance(update.posterior, Dirichlet) and isinstance(update.predictive, Categorical)
    log_evidence, predictive = dirichlet_categorical_reference(alpha64, LABELS)
    assert_close(update.log_marginal_likelihood, log_evidence, dtype)
    assert_close(update.predictive.probs, predictive, dtype)
    # posterior density = prior x likelihood / evidence
    # (the prior's log density from gammaln / log at the rounded points: scipy's
    # dirichlet.logpdf rejects points whose float64 sum is not 1 within 1e-9)
    points, points64 = rounded(SIMPLEX_POINTS, dtype)
    counts = np.bincount(LABELS, minlength=3)
    log_prior = (sp.gammaln(alpha64.sum()) - sp.gammaln(alpha64).sum()
                 + np.log(points64) @ (alpha64 - 1.0))
    assert_close(log_prior[:2], [stats.dirichlet(alpha64).logpdf(p) for p in SIMPLEX_POINTS[:2]],
                 dtype)
    expected = log_prior + np.log(points64) @ counts - log_evidence
    assert_close(log_prob_of(update.posterior, points), expected, dtype)


def test_dirichlet_categorical_with_two_categories_is_beta_bernoulli(dtype):
    """K = 2: labels 1 are heads, Dirichlet([b, a]) is Beta(a, b); checked by quad."""
    a, a64 = rounded([p[0] for p in BETA_PRIORS], dtype)
    b, b64 = rounded([p[1] for p in BETA_PRIORS], dtype)
    update = dirichlet_categorical_jit(Dirichlet(jnp.stack([b, a], axis=-1)),
                                       jnp.asarray(COIN_FLIPS))
    assert update.posterior.batch_shape == (4,) and update.predictive.probs.shape == (4, 2)
    references = [beta_bernoulli_reference(a64[i], b64[i], COIN_FLIPS) for i in range(4)]
    assert_close(update.log_marginal_likelihood, [r[0] for r in references], dtype)
    assert_close(update.predictive.probs[:, 1], [r[2] for r in references], dtype)


def test_dirichlet_categorical_evidence_sums_to_one_over_all_sequences(dtype):
    """The evidence is the probability of the label sequence: over all 3^6 sequences, 1.

    Also the chain rule: p(x_1..n, k) / p(x_1..n) is the predictive probability of k.
    """
    alpha, _ = rounded([0.5, 1.7, 3.0], dtype)
    sequences = jnp.asarray(list(itertools.product(range(3), repeat=6))).T  # (6, 729)
    prior = Dirichlet(jnp.broadcast_to(alpha, (sequences.shape[1], 3)))
    update = dirichlet_categorical_jit(prior, sequences)
    assert update.log_marginal_likelihood.shape == (729,)
    total = np.sum(np.exp(np.asarray(update.log_marginal_likelihood, np.float64)))
    assert_close(total, 1.0, dtype)
    extended = dirichlet_categorical_jit(
        Dirichlet(alpha), jnp.concatenate([jnp.asarray(LABELS[:5]), jnp.array([1])]))
    base = dirichlet_categorical_jit(Dirichlet(alpha), jnp.asarray(LABELS[:5]))
    assert_close(jnp.exp(extended.log_marginal_likelihood - base.log_marginal_likelihood),
                 base.predictive.probs[1], dtype)


# ----------------------------------------------------------------------------------------
# Bayesian linear regression against integration over (weights, log variance).

def regression_log_joint(w, log_variance, X, y, m0, precision0, a0, b0):
    """log N(y | X w, s I) + log N(w | m0, s inv(L0)) + log IG(s | a0, b0), s = e^u, and the
    Jacobian u: textbook densities, vectorized over leading axes of w (..., d) and u (...)."""
    n, d = X.shape
    s = np.exp(log_variance)
    residual = y - w @ X.T  # (..., n)
    log_likelihood = -0.5 * (n * np.log(2 * np.pi * s) + np.sum(residual**2, axis=-1) / s)
    shift = w - m0
    quadratic = np.einsum("...i,ij,...j->...", shift, precision0, shift)
    log_prior_w = (-0.5 * d * np.log(2 * np.pi * s) + 0.5 * np.linalg.slogdet(precision0)[1]
                   - 0.5 * quadratic / s)
    log_prior_s = stats.invgamma.logpdf(s, a0, scale=b0)
    return log_likelihood + log_prior_w + log_prior_s + log_variance


def regression_reference(X, y, m0, precision0, a0, b0, new_X, new_y, *, resolution=1.0):
    """Log evidence and predictive log densities of new (x, y) by trapezoid sums on a grid.

    The weights are substituted as w = c + e^{u/2} R^{-1} t (R^T R = L0 + X^T X, c its
    least-squares-like centre), an affine change of variables for each u whose Jacobian is
    e^{d u / 2} / |R|; t runs over +-12 and u over a range at whose ends the integrand is
    below 1e-40 of its peak (asserted). The trapezoid rule on these smooth, rapidly
    decaying integrands is exact to rounding (tested by halving the spacing).
    """
    n, d = X.shape
    precision = precision0 + X.T @ X
    center = np.linalg.solve(precision, precision0 @ m0 + X.T @ y)
    a_n = a0 + n / 2
    b_n = b0 + 0.5 * (np.sum((y - X @ center) ** 2) + (center - m0) @ precision0 @ (center - m0))
    u_mode = math.log(b_n / (a_n + 1 + d / 2))
    u_step = 0.1 / resolution / math.sqrt(a_n)
    u = np.arange(u_mode - 6.0, u_mode + 95.0 / a_n + 2.0, u_step)
    t_step = 0.5 / resolution
    axis = np.arange(-12.0, 12.0 + t_step / 2, t_step)
    t = np.stack(np.meshgrid(*[axis] * d, indexing="ij"), axis=-1).reshape(-1, d)  # (m, d)
    factor_inverse = np.linalg.inv(np.linalg.cholesky(precision).T)  # R^{-1}
    log_det_r = 0.5 * np.linalg.slogdet(precision)[1]
    w = center + np.exp(u / 2)[:, None, None] * (t @ factor_inverse.T)[None]  # (U, m, d)
    log_jacobian = 0.5 * d * u[:, None] - log_det_r
    log_joint = regression_log_joint(w, u[:, None], X, y, m0, precision0, a0, b0) + log_jacobian
    log_cell = math.log(u_step) + d * math.log(t_step)
    peak = np.max(log_joint)
    assert log_joint[0].max() < peak - 92 and log_joint[-1].max() < peak - 92  # u covered
    log_evidence = sp.logsumexp(log_joint) + log_cell
    s = np.exp(u)[:, None]
    predictive = []
    for x_new, y_new in zip(new_X, new_y, strict=True):
        log_density = stats.norm.logpdf(y_new, w @ x_new, np.sqrt(s))
        predictive.append(sp.logsumexp(log_joint + log_density) + log_cell - log_evidence)
    return log_evidence, np.array(predictive)


REGRESSION_NEW_Y = [0.0, 1.0, -2.0, 5.0]


def regression_problem(d, dtype):
    rng = np.random.default_rng(10 + d)
    n = 7
    X, X64 = rounded(rng.normal(size=(n, d)) + np.linspace(-1.0, 1.0, d), dtype)
    y, y64 = rounded(X64 @ np.linspace(0.5, -1.5, d) + 0.7 * rng.normal(size=n), dtype)
    m0, m064 = rounded(np.linspace(0.3, -0.2, d), dtype)
    factor = np.eye(d) * 0.8 + np.tril(np.full((d, d), 0.2), -1)
    precision0, precision064 = rounded(factor @ factor.T, dtype)
    a0, a064 = rounded(2.5, dtype)
    b0, b064 = rounded(1.5, dtype)
    new_X, new_X64 = rounded(rng.normal(size=(4, d)) * 1.5, dtype)
    new_y, new_y64 = rounded(REGRESSION_NEW_Y, dtype)
    prior = NormalInverseGamma(m0, precision0, a0, b0)
    return (prior, X, y, new_X, new_y), (X64, y64, m064, precision064, a064, b064, new_X64, new_y64)


@pytest.mark.parametrize("d", [1, 2])
def test_bayesian_linear_regression_against_integration(d, dtype):
    (prior, X, y, new_X, new_y), references = regression_problem(d, dtype)
    result = bayesian_linear_regression_jit(prior, X, y)
    assert isinstance(result, RegressionPosterior)
    assert isinstance(result.posterior, NormalInverseGamma)
    assert result.log_marginal_likelihood.dtype == jnp.dtype(dtype)
    log_evidence, predictive = regression_reference(*references)
    # the grid is converged: halving its spacing changes nothing at 1e-12
    if d == 1:
        finer = regression_reference(*references, resolution=2.0)
        assert_close(finer[0], log_evidence, rtol=1e-12)
        assert_close(finer[1], predictive, rtol=1e-12)
    assert_close(result.log_marginal_likelihood, log_evidence, dtype)
    distribution = predictive_of(result.posterior, new_X)
    assert isinstance(distribution, StudentT) and distribution.batch_shape == (4,)
    assert_close(log_prob_of(distribution, new_y), predictive, dtype)


def test_bayesian_linear_regression_closed_forms(dtype):
    """Posterior precision L0 + X^T X, mean, a0 + n/2 and the textbook b_n (numpy); and the
    joint posterior density of (weights, variance) against prior x likelihood / evidence."""
    (prior, X, y, _, _), (X64, y64, m0, L0, a0, b0, _, _) = regression_problem(2, dtype)
    result = bayesian_linear_regression_jit(prior, X, y)
    n = X64.shape[0]
    precision = L0 + X64.T @ X64
    mean = np.linalg.solve(precision, L0 @ m0 + X64.T @ y64)
    b_n = b0 + 0.5 * (y64 @ y64 + m0 @ L0 @ m0 - mean @ precision @ mean)
    assert_close(result.posterior.precision, precision, dtype)
    assert_close(result.posterior.loc, mean, dtype)
    assert_close(result.posterior.concentration, a0 + n / 2, dtype)
    assert_close(result.posterior.rate, b_n, dtype)
    # the joint posterior density: prior x likelihood / evidence (evidence by integration)
    log_evidence, _ = regression_reference(X64, y64, m0, L0, a0, b0, np.zeros((0, 2)), [])
    w, w64 = rounded([[0.3, -1.0], [1.0, 0.5], [-0.2, 0.0]], dtype)
    v, v64 = rounded([0.4, 1.3, 3.0], dtype)
    expected = regression_log_joint(w64, np.log(v64), X64, y64, m0, L0, a0, b0) - np.log(
        v64) - log_evidence
    assert_close(log_prob_of(result.posterior, w, v), expected, dtype)


def test_bayesian_linear_regression_flat_prior_is_least_squares(dtype):
    rng = np.random.default_rng(20)
    X, X64 = rounded(np.column_stack([np.ones(50), rng.uniform(-2.0, 2.0, 50),
                                      rng.normal(size=50)]), dtype)
    y, y64 = rounded(X64 @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=50), dtype)
    prior = NormalInverseGamma(jnp.zeros(3, dtype), jnp.asarray(1e-12 * np.eye(3), dtype),
                               jnp.asarray(1.0, dtype), jnp.asarray(1.0, dtype))
    result = bayesian_linear_regression_jit(prior, X, y)
    least_squares = np.linalg.lstsq(X64, y64, rcond=None)[0]
    assert_close(result.posterior.loc, least_squares, dtype)
    assert_close(result.posterior.precision, 1e-12 * np.eye(3) + X64.T @ X64, dtype)
    residual = y64 - X64 @ least_squares
    assert_close(result.posterior.rate, 1.0 + 0.5 * residual @ residual, dtype)


def test_bayesian_linear_regression_under_vmap(dtype):
    """A batch of priors, and a batch of data sets, by vmap: each as its own call."""
    (prior, X, y, _, _), _ = regression_problem(2, dtype)
    priors = [NormalInverseGamma(prior.loc + shift, prior.precision * (1 + shift),
                                 prior.concentration + shift, prior.rate)
              for shift in (0.0, 0.5, 2.0)]
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *priors)
    batched = jax.jit(jax.vmap(bayesian_linear_regression, in_axes=(0, None, None)))(stacked, X, y)
    for index, single_prior in enumerate(priors):
        single = bayesian_linear_regression_jit(single_prior, X, y)
        for got, want in zip(jax.tree_util.tree_leaves(batched), jax.tree_util.tree_leaves(single),
                             strict=True):
            assert_close(got[index], want, rtol=10 * rtol_for(dtype))
    ys = jnp.stack([y, 2 * y, -y])
    batched = jax.vmap(bayesian_linear_regression, in_axes=(None, None, 0))(prior, X, ys)
    for index in range(3):
        single = bayesian_linear_regression_jit(prior, X, ys[index])
        assert_close(batched.log_marginal_likelihood[index], single.log_marginal_likelihood,
                     rtol=10 * rtol_for(dtype))


# ----------------------------------------------------------------------------------------
# Composability of the updates: plain, jit, vmap, gradients against finite differences.

def conjugate_values(update):
    """The arrays of a conjugate update (posterior and predictive fields, evidence)."""
    return tuple(jax.tree_util.tree_leaves(update))


def test_conjugate_updates_composable(dtype):
    def a(values):
        return jnp.asarray(values, dtype=dtype)

    flips, counts, labels = (jnp.asarray(v) for v in (COIN_FLIPS[:8], COUNTS, LABELS))

    @jax.jit
    def function(arguments):
        """Every update at once (one compiled function, and one gradient)."""
        beta, gamma, normal, alpha = arguments
        return (conjugate_values(beta_bernoulli(Beta(*beta), flips)),
                conjugate_values(gamma_poisson(Gamma(*gamma), counts)),
                conjugate_values(normal_normal(Normal(*normal[:2]), normal[2], normal[3])),
                conjugate_values(dirichlet_categorical(Dirichlet(alpha), labels)))

    sets = [
        ((a([0.5, 2.0]), a([1.5, 7.0])), (a([0.5, 40.0]), a([0.1, 8.0])),
         (a([0.0, -3.0]), a([1.0, 0.1]), a(NORMAL_DATA[:5]), a(1.3)), a([2.5, 1.2, 4.0])),
        ((a([1.0, 30.0]), a([1.0, 4.0])), (a([2.0, 3.0]), a([1.0, 2.0])),
         (a([2.0, 1.0]), a([5.0, 2.0]), a(NORMAL_DATA[3:]), a(0.4)), a([0.3, 1.0, 9.0])),
    ]
    sets = [(arguments,) for arguments in sets]
    result = check_composable(function, sets[0], sets,
                              grad_argnums=(0,))
    # the compiled updates equal the plain calls
    plain = conjugate_values(beta_bernoulli(Beta(*sets[0][0][0]), flips))
    for got, want in zip(result[0], plain, strict=True):
        assert_close(got, want, rtol=10 * rtol_for(dtype))


def test_bayesian_linear_regression_composable(dtype):
    (prior, X, y, new_X, _), _ = regression_problem(2, dtype)

    def function(arguments):
        loc, precision, concentration, rate, X, y = arguments
        result = bayesian_linear_regression(
            NormalInverseGamma(loc, precision, concentration, rate), X, y)
        predictive = result.posterior.predictive(new_X)
        return (result.log_marginal_likelihood, result.posterior.loc,
                result.posterior.rate, predictive.scale)

    args = (prior.loc, prior.precision, prior.concentration, prior.rate, X, y)
    other = (prior.loc + 1.0, 2.0 * prior.precision, prior.concentration + 1.0,
             0.5 * prior.rate, X[::-1], 2.0 * y)
    check_composable(jax.jit(function), (args,), [(args,), (other,)],
                     grad_argnums=(0,))


# ----------------------------------------------------------------------------------------
# Bad input.

@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: bayesian_linear_regression(
            NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 2.0, 1.0), jnp.zeros((5, 3)),
            jnp.zeros(5)), ValueError, r"X must have shape \(n, 2\), got \(5, 3\)"),
        (lambda: bayesian_linear_regression(
            NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 2.0, 1.0), jnp.zeros(5),
            jnp.zeros(5)), ValueError, r"X must have shape \(n, 2\), got \(5,\)"),
        (lambda: bayesian_linear_regression(
            NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 2.0, 1.0), jnp.zeros((5, 2)),
            jnp.zeros((5, 1))), ValueError, r"y must have shape \(5,\), got \(5, 1\)"),
        (lambda: bayesian_linear_regression(
            NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 2.0, 1.0), jnp.zeros((5, 2)),
            jnp.zeros(4)), ValueError, r"y must have shape \(5,\), got \(4,\)"),
        (lambda: dirichlet_categorical(Dirichlet(jnp.ones(3)), jnp.asarray([0.0, 1.0, 2.0])),
         TypeError, r"dirichlet_categorical: x must hold integer labels, got float"),
        (lambda: beta_bernoulli(Beta(1.0, 1.0), 1), ValueError,
         r"beta_bernoulli: x must have the observations along axis 0, got a scalar"),
        (lambda: gamma_poisson(Gamma(1.0, 1.0), 3), ValueError,
         r"gamma_poisson: x must have the observations along axis 0"),
        (lambda: normal_normal(Normal(0.0, 1.0), 0.5, 1.0), ValueError,
         r"normal_normal: x must have the observations along axis 0"),
        (lambda: dirichlet_categorical(Dirichlet(jnp.ones(3)), 1), ValueError,
         r"dirichlet_categorical: x must have the observations along axis 0"),
        (lambda: NormalInverseGamma(jnp.zeros(2), jnp.eye(3), 1.0, 1.0), ValueError,
         r"precision must have shape \(2, 2\) to match loc"),
    ],
)
def test_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# ----------------------------------------------------------------------------------------
# Log evidences at the extremes: no observations to 10^7, concentrations from 1e-3 to 1e6,
# all successes and all failures, against mpmath's loggamma at 40 digits (scipy's float64
# gammaln differences themselves lose ~1e-8 at n = 10^7), evaluated at the dtype-rounded
# parameters and the exact integer counts. Held to the project's tolerance
# |error| <= rtol (1 + |value|), also where the value is of order 1e-2 and the lgamma
# terms of order 1e8.

EXTREME_CONCENTRATIONS = [1e-3, 1.0, 1e6]
BIG_N = 10**7


def mp_log_beta_ratio(alpha, counts):
    """log B(alpha + c) - log B(alpha) by mpmath at 40 digits (exact float64 alpha)."""
    with mpmath.workdps(40):
        alpha = [mpmath.mpf(float(v)) for v in alpha]
        total, n = sum(alpha), sum(int(c) for c in counts)
        value = (sum(mpmath.loggamma(a + int(c)) - mpmath.loggamma(a)
                     for a, c in zip(alpha, counts, strict=True))
                 - mpmath.loggamma(total + n) + mpmath.loggamma(total))
        return float(value)


def flips_with_heads(n, heads):
    """(n, len(heads)) 0/1 data, column j with heads[j] ones."""
    x = np.zeros((n, len(heads)), np.int8)
    for j, k in enumerate(heads):
        x[:k, j] = 1
    return jnp.asarray(x)


@pytest.mark.parametrize("n", [0, 1, 2, BIG_N])
def test_beta_bernoulli_evidence_extremes(n, dtype):
    heads = sorted({n, 0, n // 2, max(n - 1, 0)})  # all successes, all failures, between
    pairs = list(itertools.product(EXTREME_CONCENTRATIONS, repeat=2))
    a, a64 = rounded([[p[0]] for p in pairs], dtype)  # (9, 1) priors x (len(heads),) data
    b, b64 = rounded([[p[1]] for p in pairs], dtype)
    update = beta_bernoulli_jit(Beta(a, b), flips_with_heads(n, heads))
    expected = [[mp_log_beta_ratio([a64[i, 0], b64[i, 0]], [k, n - k]) for k in heads]
                for i in range(len(pairs))]
    assert update.log_marginal_likelihood.shape == (len(pairs), len(heads))
    assert_close(update.log_marginal_likelihood, expected, dtype)
    if n == 0:  # nothing observed: exactly log 1
        np.testing.assert_array_equal(np.asarray(update.log_marginal_likelihood), 0.0)


def test_beta_bernoulli_evidence_issue_example(dtype):
    """The reported case: n = 10^6 flips, Beta(1, 1), all successes: log(1 / (n + 1))."""
    n = 10**6
    update = beta_bernoulli_jit(Beta(jnp.ones((), dtype), jnp.ones((), dtype)),
                                jnp.ones(n, jnp.int8))
    assert_close(update.log_marginal_likelihood, -math.log(n + 1), dtype)


@pytest.mark.parametrize("n", [0, 1, BIG_N])
def test_dirichlet_categorical_evidence_extremes(n, dtype):
    count_sets = [[n, 0, 0], [0, 0, n], [n - n // 2 - n // 3, n // 2, n // 3]]
    if n >= 2:
        count_sets.append([n - 2, 1, 1])
    alphas = [[1.0, 1.0, 1.0], [1e-3, 1e-3, 1e-3], [1e6, 1e6, 1e6], [1e6, 1e-3, 1e-3],
              [1e-3, 1e-3, 1e6], [1e-3, 1.0, 1e6]]
    alpha, alpha64 = rounded(np.asarray(alphas)[:, None, :], dtype)  # (6, 1, 3)
    labels = np.stack([np.repeat(np.arange(3), c) for c in count_sets], axis=1)
    update = dirichlet_categorical_jit(Dirichlet(alpha), jnp.asarray(labels.astype(np.int32)))
    expected = [[mp_log_beta_ratio(alpha64[i, 0], c) for c in count_sets]
                for i in range(len(alphas))]
    assert_close(update.log_marginal_likelihood, expected, dtype)


def count_summary(counts):
    """(sum of log x! by multiplicity at 40 digits, total, n): what the evidence needs of
    the data, computed once per column (np.unique over 10^7 counts is the slow part)."""
    values, multiplicity = np.unique(np.asarray(counts, np.int64), return_counts=True)
    with mpmath.workdps(40):
        log_factorials = sum(int(m) * mpmath.loggamma(int(v) + 1)
                             for v, m in zip(values, multiplicity, strict=True))
    return log_factorials, int(np.sum(counts)), len(counts)


def mp_gamma_poisson_evidence(a, b, summary):
    """The Gamma-Poisson log evidence by mpmath at 40 digits, from ``count_summary``."""
    log_factorials, total, n = summary
    with mpmath.workdps(40):
        a, b = mpmath.mpf(float(a)), mpmath.mpf(float(b))
        return float(-log_factorials + a * mpmath.log(b) - mpmath.loggamma(a)
                     + mpmath.loggamma(a + total) - (a + total) * mpmath.log(b + n))


@pytest.mark.parametrize("n", [0, 1, BIG_N])
def test_gamma_poisson_evidence_extremes(n, dtype):
    rng = np.random.default_rng(30)
    columns = [np.zeros(n, np.int32), np.full(n, 1000, np.int32),
               rng.poisson(4.0, n).astype(np.int32)]
    pairs = list(itertools.product(EXTREME_CONCENTRATIONS, repeat=2))
    a, a64 = rounded([[p[0]] for p in pairs], dtype)
    rate, rate64 = rounded([[p[1]] for p in pairs], dtype)
    update = gamma_poisson_jit(Gamma(a, rate), jnp.asarray(np.stack(columns, axis=1)))
    summaries = [count_summary(c) for c in columns]
    expected = [[mp_gamma_poisson_evidence(a64[i, 0], rate64[i, 0], c) for c in summaries]
                for i in range(len(pairs))]
    assert_close(update.log_marginal_likelihood, expected, dtype)
    if n == 0:
        np.testing.assert_array_equal(np.asarray(update.log_marginal_likelihood), 0.0)


def test_normal_normal_evidence_far_from_the_prior_mean(dtype):
    """10^6 observations at 1000 +- 0.01 with sigma = 0.01, the prior at -2.5: the textbook
    quadratic form subtracts two numbers of order 1e16; the reference sums in extended
    precision (long double, ~1e-19 relative, on the rounded data)."""
    n = 10**6
    rng = np.random.default_rng(31)
    x, x64 = rounded(1000.0 + 0.01 * rng.normal(size=n), dtype)
    mu0, mu064 = rounded(-2.5, dtype)
    tau0, tau064 = rounded(100.0, dtype)
    sigma, sigma64 = rounded(0.01, dtype)
    update = normal_normal_jit(Normal(mu0, tau0), x, sigma)
    c = x64.astype(np.longdouble) - np.longdouble(mu064)
    s2, t2 = np.longdouble(sigma64) ** 2, np.longdouble(tau064) ** 2
    spread = s2 + n * t2
    mean = np.sum(c) / n
    quadratic = np.sum((c - mean) ** 2) / s2 + n * mean * mean / spread
    expected = -0.5 * (n * np.log(2 * np.pi, dtype=np.longdouble) + (n - 1) * np.log(s2)
                       + np.log(spread) + quadratic)
    assert_close(update.log_marginal_likelihood, float(expected), dtype)


def mp_regression_evidence(a0, b0, half_n, b_n, log_det_ratio):
    """The NIG evidence's lgamma / log part by mpmath, given b_n and log(|L0| / |Ln|)."""
    with mpmath.workdps(40):
        a0, b0, b_n = (mpmath.mpf(float(v)) for v in (a0, b0, b_n))
        a_n = a0 + mpmath.mpf(half_n)
        return float(-half_n * mpmath.log(2 * mpmath.pi) + mpmath.mpf(float(log_det_ratio)) / 2
                     + a0 * mpmath.log(b0) - a_n * mpmath.log(b_n)
                     + mpmath.loggamma(a_n) - mpmath.loggamma(a0))


@pytest.mark.parametrize("n", [1, 10, 10**5])
@pytest.mark.parametrize("a0", [1e-3, 2.5, 1e6])
def test_bayesian_linear_regression_evidence_extremes(n, a0, dtype):
    """One feature (closed forms in extended precision) and a shape a0 from 1e-3 to 1e6:
    lgamma(a0 + n/2) - lgamma(a0) and a0 log b0 - a_n log b_n are each ~1e7 at a0 = 1e6."""
    rng = np.random.default_rng(32)
    X, X64 = rounded(rng.normal(size=(n, 1)) + 0.5, dtype)
    y, y64 = rounded(0.8 * X64[:, 0] + 0.3 * rng.normal(size=n), dtype)
    m0, m064 = rounded([0.2], dtype)
    L0, L064 = rounded([[1.5]], dtype)
    a, a064 = rounded(a0, dtype)
    b0, b064 = rounded(0.7 * a0, dtype)  # prior mean noise precision about 1.4
    result = bayesian_linear_regression_jit(NormalInverseGamma(m0, L0, a, b0), X, y)
    x, t = X64[:, 0].astype(np.longdouble), y64.astype(np.longdouble)
    precision = np.longdouble(L064[0, 0]) + np.sum(x * x)
    mean = (np.longdouble(L064[0, 0]) * np.longdouble(m064[0]) + np.sum(x * t)) / precision
    residual = t - x * mean
    b_n = np.longdouble(b064) + 0.5 * (np.sum(residual * residual)
                                       + np.longdouble(L064[0, 0]) * (mean - m064[0]) ** 2)
    log_det_ratio = np.log(np.longdouble(L064[0, 0]) / precision)
    expected = mp_regression_evidence(a064, b064, 0.5 * n, b_n, log_det_ratio)
    assert_close(result.log_marginal_likelihood, expected, dtype)


@pytest.mark.x64_only
def test_evidence_gradients_at_the_extremes():
    """Gradients with respect to the prior parameters: against the closed form (digamma
    differences, by mpmath) for Beta-Bernoulli, and central differences (float64) for all."""
    n = 10**5  # far past the counts where lgamma differences cancel; the values test 10^7
    heads = [n, 0, 3 * n // 4]
    flips = flips_with_heads(n, heads)
    counts = jnp.asarray(np.stack([np.zeros(n // 10, np.int32), np.full(n // 10, 1000, np.int32)],
                                  axis=1))
    labels = jnp.asarray(np.repeat(np.arange(3), [n - 10, 0, 10]).astype(np.int32))
    pairs = [(1e-3, 1e6), (1e6, 1e-3), (1.0, 1e-3), (1e6, 1e6)]
    with jax.enable_x64(True):
        # a batch of priors (4, 1) against the data sets: one compiled function each
        a, b = (jnp.asarray([[p[i]] for p in pairs], jnp.float64) for i in (0, 1))
        beta_evidence = jax.jit(
            lambda a, b: beta_bernoulli(Beta(a, b), flips).log_marginal_likelihood)
        # row i of the evidences depends on prior i only: the gradient of their total
        grad_a, grad_b = jax.grad(lambda a, b: jnp.sum(beta_evidence(a, b)),
                                  argnums=(0, 1))(a, b)
        psi = mpmath.digamma
        with mpmath.workdps(40):
            expected_a = [float(sum(psi(p[0] + k) - psi(p[0]) - psi(p[0] + p[1] + n)
                                    + psi(p[0] + p[1]) for k in heads)) for p in pairs]
            expected_b = [float(sum(psi(p[1] + (n - k)) - psi(p[1]) - psi(p[0] + p[1] + n)
                                    + psi(p[0] + p[1]) for k in heads)) for p in pairs]
        assert_close(grad_a[:, 0], expected_a, rtol=1e-9)
        assert_close(grad_b[:, 0], expected_b, rtol=1e-9)
        check_gradient(beta_evidence, (a, b), argnums=(0, 1))
        check_gradient(
            jax.jit(lambda a, b: gamma_poisson(Gamma(a, b), counts).log_marginal_likelihood),
            (a, b), argnums=(0, 1))
        alpha = jnp.asarray([[1e-3, 1.0, 1e6], [1e6, 1e-3, 1e-3], [2.0, 3.0, 1e-3]],
                            jnp.float64)
        check_gradient(
            jax.jit(lambda alpha: dirichlet_categorical(Dirichlet(alpha),
                                                        labels).log_marginal_likelihood),
            (alpha,), argnums=(0,))
