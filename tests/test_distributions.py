"""Reference tests for ``mlmath.distributions``.

Every expectation comes from ``scipy.stats`` / ``scipy.special`` (in float64), from mpmath,
or from a closed form. References are evaluated at the dtype-rounded parameters and points
(float32 inputs are cast back to float64 for scipy), so input quantization is not counted
as error, and compared with ``assert_close``: ``|actual - desired| <= rtol (1 + |desired|)``
with rtol 1e-5 in float32 and 1e-10 in float64.

Known limits respected here (documented in the issue): float32 Beta/Dirichlet log-densities
carry an absolute error of about (total concentration) x eps, so float32 Beta/Dirichlet
concentrations stay below ~100; scipy's Poisson entropy does not converge for large rates,
so above rate 50 the reference is an mpmath direct sum; scipy's ``dirichlet.logpdf`` rejects
points whose float64 sum is not 1 within 1e-9, so the Dirichlet log-density reference is
built from ``gammaln``/``xlogy``.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import special as sp
from scipy import stats

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
from tests.composability import check_composable
from tests.conftest import X64, assert_close, rounded, rtol_for


def is_float64(dtype) -> bool:
    return jnp.dtype(dtype) == jnp.dtype(jnp.float64)


@jax.jit
def evaluate(dist, x):
    """Everything the grid tests compare, in one compiled call (fast, and jit-composed)."""
    return {
        "log_prob": dist.log_prob(x),
        "entropy": dist.entropy(),
        "mean": dist.mean(),
        "variance": dist.variance(),
    }


# Compiled once per distribution type and shape: eager dispatch of the special-function
# graphs (and of the samplers' loops) costs far more than compiling them whole. Plain (eager)
# calls are compared with jit in test_distributions_cross_jit_vmap_and_serialisation.
log_prob_of = jax.jit(lambda dist, x: dist.log_prob(x))
entropy_of = jax.jit(lambda dist: dist.entropy())
draw = jax.jit(lambda dist, key, shape: dist.sample(key, shape), static_argnums=2)


def sample_struct(dist, sample_shape):
    """Shape and dtype of ``dist.sample(key, sample_shape)``, traced but not run."""
    return jax.eval_shape(lambda d, key: d.sample(key, sample_shape), dist, jax.random.key(0))


def check_against(dist, x, dtype, log_prob, entropy, mean, variance):
    """``dist``'s log_prob at ``x`` and its moments against references; dtypes preserved.

    A reference given as ``None`` is not compared.
    """
    actual = evaluate(dist, x)
    for name, desired in (
        ("log_prob", log_prob), ("entropy", entropy), ("mean", mean), ("variance", variance)
    ):
        if desired is None:
            continue
        desired = np.asarray(desired, dtype=np.float64)
        assert actual[name].dtype == jnp.dtype(dtype), name
        assert actual[name].shape == desired.shape, (name, actual[name].shape, desired.shape)
        assert_close(actual[name], desired, dtype, err_msg=name)


# ----------------------------------------------------------------------------------------
# Values against scipy over grids of parameters, extreme ones included.

# (loc, scale): unit, tiny (1e-18, 1e-7), huge (1e7, 1e18) scales (variances stay finite in
# float32), a large location
LOC_SCALE = [(0.0, 1.0), (-2.5, 1e-18), (1e4, 1e-2), (3.0, 1e7), (-1e3, 1e18), (0.1, 1e-7)]
# standardized points (x - loc) / scale, up to far in the tails
STANDARD_POINTS = [0.0, 0.5, -1.7, 8.0, -40.0, 1e3, -3e3]


def laplace_log_density(x, loc, scale):
    """Closed form, float64: scipy's ``laplace.logpdf`` is ``log(pdf)`` and underflows."""
    return -np.abs(x - loc) / scale - np.log(2.0 * scale)


@pytest.mark.parametrize(
    ("cls", "reference"), [(Normal, stats.norm), (Laplace, stats.laplace)],
    ids=["normal", "laplace"],
)
def test_location_scale_against_scipy(cls, reference, dtype):
    loc, loc64 = rounded([p[0] for p in LOC_SCALE], dtype)
    scale, scale64 = rounded([p[1] for p in LOC_SCALE], dtype)
    x, x64 = rounded(loc64[:, None] + scale64[:, None] * np.array(STANDARD_POINTS), dtype)
    frozen = reference(loc64[:, None], scale64[:, None])
    with np.errstate(divide="ignore"):
        expected = frozen.logpdf(x64)
    if cls is Laplace:
        closed = laplace_log_density(x64, loc64[:, None], scale64[:, None])
        finite = np.isfinite(expected)
        assert_close(closed[finite], expected[finite], jnp.float64)  # the closed form is right
        expected = closed
    check_against(cls(loc[:, None], scale[:, None]), x, dtype, expected, frozen.entropy(),
                  frozen.mean(), frozen.var())


UNIFORM_BOUNDS = [(0.0, 1.0), (-1e6, 1e6), (1e-8, 3e-8), (-3.0, -2.5), (5.0, 5.001), (-1e18, 1e18)]


def test_uniform_against_scipy(dtype):
    low, low64 = rounded([p[0] for p in UNIFORM_BOUNDS], dtype)
    high, high64 = rounded([p[1] for p in UNIFORM_BOUNDS], dtype)
    width = high64 - low64
    fractions = np.array([0.0, 1.0, 0.5, 0.1, 0.97, -1.0, 2.0, -1e6, 1e6])
    x, x64 = rounded(low64[:, None] + width[:, None] * fractions, dtype)
    # the edges themselves, exactly (low + 1 * width may round past high)
    x = x.at[:, 0].set(low).at[:, 1].set(high)
    x64[:, 0], x64[:, 1] = low64, high64
    frozen = stats.uniform(low64[:, None], width[:, None])
    check_against(Uniform(low[:, None], high[:, None]), x, dtype, frozen.logpdf(x64),
                  frozen.entropy(), frozen.mean(), frozen.var())


GAMMA_CONCENTRATIONS = [0.01, 0.5, 1.0, 3.7, 7.0, 80.0, 1e4]
GAMMA_RATES = [1e-3, 1.0, 1e4]


def test_gamma_against_scipy(dtype):
    pairs = [(a, r) for a in GAMMA_CONCENTRATIONS for r in GAMMA_RATES]
    alpha, alpha64 = rounded([p[0] for p in pairs], dtype)
    rate, rate64 = rounded([p[1] for p in pairs], dtype)
    # points in units of the scale: far left tail, bulk, far right tail
    a = alpha64[:, None]
    standard = np.concatenate(
        [np.broadcast_to([1e-20, 1e-4], (len(pairs), 2)),
         0.3 * a, a, a + 3 * np.sqrt(a), 5 * a + 40], axis=1
    )
    x, x64 = rounded(standard / rate64[:, None], dtype)
    frozen = stats.gamma(a, scale=1.0 / rate64[:, None])
    check_against(Gamma(alpha[:, None], rate[:, None]), x, dtype, frozen.logpdf(x64),
                  frozen.entropy(), frozen.mean(), frozen.var())


BETA_CONCENTRATIONS = [0.01, 0.6, 1.0, 2.5, 90.0]
# total concentrations in the thousands only in float64 (float32 error ~ total x eps)
BETA_LARGE = [(2e3, 1e4), (1e4, 1e4), (1e4, 0.5), (0.01, 3e3)]


def test_beta_against_scipy(dtype):
    pairs = [(a, b) for a in BETA_CONCENTRATIONS for b in BETA_CONCENTRATIONS]
    if is_float64(dtype):
        pairs += BETA_LARGE
    a, a64 = rounded([p[0] for p in pairs], dtype)
    b, b64 = rounded([p[1] for p in pairs], dtype)
    mean = a64 / (a64 + b64)
    sd = np.sqrt(stats.beta(a64, b64).var())
    fixed = np.broadcast_to([1e-30, 1e-6, 0.01, 0.3, 0.5, 0.9, 1 - 1e-6], (len(pairs), 7))
    bulk = np.clip(mean[:, None] + sd[:, None] * np.array([0.0, -2.0, 2.0]), 1e-6, 1 - 1e-6)
    x, x64 = rounded(np.concatenate([fixed, bulk], axis=1), dtype)
    frozen = stats.beta(a64[:, None], b64[:, None])
    check_against(Beta(a[:, None], b[:, None]), x, dtype, frozen.logpdf(x64), frozen.entropy(),
                  frozen.mean(), frozen.var())


POISSON_RATES = [1e-3, 0.7, 7.5, 49.5, 50.0, 300.0, 1e5]


def test_poisson_log_prob_against_scipy(dtype):
    rate, rate64 = rounded(POISSON_RATES, dtype)
    r = rate64[:, None]
    counts = np.concatenate(
        [np.broadcast_to([0.0, 1.0, 3.0], (len(r), 3)),
         np.floor(r), np.floor(r + 4 * np.sqrt(r)), np.floor(3 * r + 30), 10 * np.ceil(r) + 100],
        axis=1,
    )
    x, x64 = rounded(counts, dtype)
    assert np.all(x64 == counts)  # exact integers in both dtypes
    frozen = stats.poisson(r)
    # (the entropy is tested below, against references that converge for every rate)
    for counts_as in (x, jnp.asarray(counts.astype(np.int32))):  # float and integer counts
        check_against(Poisson(rate[:, None]), counts_as, dtype, frozen.logpmf(x64), None,
                      frozen.mean(), frozen.var())


@functools.cache
def poisson_entropy_mpmath(rate: float) -> float:
    """-sum p log p by direct summation at 40 digits (the tails beyond 25 sd are < 1e-100)."""
    with mpmath.workdps(40):
        r = mpmath.mpf(rate)
        spread = 25 * np.sqrt(rate) + 60
        low, high = max(0, int(rate - spread)), int(rate + spread) + 1
        log_p = low * mpmath.log(r) - r - mpmath.loggamma(low + 1)
        log_r = mpmath.log(r)
        total = mpmath.mpf(0)
        for k in range(low, high):
            total -= mpmath.exp(log_p) * log_p
            log_p += log_r - mpmath.log(k + 1)
        return float(total)


def test_poisson_entropy(dtype):
    # scipy's entropy sums the pmf and is reliable for small rates only
    small, small64 = rounded([1e-3, 0.5, 3.0, 20.0, 49.9, 49.999], dtype)
    # at and above the rate-50 switch to the asymptotic series: mpmath direct sums
    large, large64 = rounded([50.0, 50.001, 50.5, 200.0, 3e3, 1e5], dtype)
    expected = np.concatenate([
        stats.poisson(small64).entropy(), [poisson_entropy_mpmath(float(v)) for v in large64]
    ])
    rates64 = np.concatenate([small64, large64])
    check_against(Poisson(jnp.concatenate([small, large])), 0, dtype,
                  stats.poisson(rates64).logpmf(0), expected, rates64, rates64)


def test_bernoulli_against_scipy(dtype):
    probs, probs64 = rounded([1e-6, 0.01, 0.3, 0.5, 0.9, 1 - 1e-6], dtype)
    x = jnp.array([[0], [1]])
    frozen = stats.bernoulli(probs64)
    check_against(Bernoulli(probs=probs), x, dtype, frozen.logpmf(np.array([[0], [1]])),
                  frozen.entropy(), frozen.mean(), frozen.var())

    logits, logits64 = rounded([-30.0, -5.0, 0.0, 2.0, 40.0], dtype)
    # log P(1) = log expit(l), log P(0) = log expit(-l), without rounding expit near 1
    expected = np.stack([sp.log_expit(-logits64), sp.log_expit(logits64)])
    p1, p0 = sp.expit(logits64), sp.expit(-logits64)
    entropy = stats.entropy(np.stack([p0, p1]), axis=0)
    check_against(Bernoulli(logits=logits), x, dtype, expected, entropy, p1, p1 * p0)


def label_moments(p):
    """Mean, variance and entropy of the integer label of categorical probabilities ``p``."""
    labels = np.arange(p.shape[-1])
    mean = np.sum(p * labels, axis=-1)
    variance = np.sum(p * (labels - mean[..., None]) ** 2, axis=-1)
    return stats.entropy(p, axis=-1), mean, variance


def test_categorical_against_closed_forms(dtype):
    # unnormalized probabilities (normalized by the constructor), tiny ones, a zero class
    probs, probs64 = rounded(
        [[0.1, 0.2, 0.3, 0.4], [1e-6, 1e-6, 0.5, 0.499998], [0.97, 0.01, 0.01, 0.01],
         [2.0, 1.0, 1.0, 4.0], [0.0, 0.5, 0.25, 0.25]],
        dtype,
    )
    p = probs64 / probs64.sum(axis=-1, keepdims=True)
    x = jnp.arange(4)[:, None]
    with np.errstate(divide="ignore"):
        expected = np.log(p).T
    check_against(Categorical(probs=probs), x, dtype, expected, *label_moments(p))
    # the one-hot multinomial agrees (where its own normalization is exact)
    assert_close(
        Categorical(probs=probs[0]).log_prob(jnp.arange(4)),
        stats.multinomial(1, p[0]).logpmf(np.eye(4)), dtype,
    )

    logits, logits64 = rounded(
        [[0.0, 0.0, 0.0, 0.0], [-30.0, 5.0, 0.0, 20.0], [100.0, -100.0, 3.0, 0.0],
         [1e-3, 2e-3, -1e-3, 0.0]],
        dtype,
    )
    log_p = sp.log_softmax(logits64, axis=-1)
    check_against(Categorical(logits=logits), x, dtype, log_p.T, *label_moments(np.exp(log_p)))


MVN_FACTOR = np.array([[2.0, 0.0, 0.0], [0.6, 1.5, 0.0], [-0.4, 0.3, 0.8]])
MVN_SCALES = [1e-6, 1.0, 1e5]
MVN_LOCS = [[0.0, 0.0, 0.0], [1.0, -2.0, 3.0], [1e3, -1e3, 5.0]]
MVN_STANDARD_POINTS = [[0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [10.0, -5.0, 3.0], [1e3, 0.0, -1e3]]


@pytest.mark.parametrize("given", ["scale_tril", "covariance"])
def test_multivariate_normal_against_scipy(given, dtype):
    factors = np.stack([s * MVN_FACTOR for s in MVN_SCALES])
    loc, loc64 = rounded(MVN_LOCS, dtype)
    if given == "scale_tril":
        matrix, factors64 = rounded(factors, dtype)
        covariances = factors64 @ np.swapaxes(factors64, -1, -2)
    else:
        matrix, covariances = rounded(factors @ np.swapaxes(factors, -1, -2), dtype)
    dist = MultivariateNormal(loc, **{given: matrix})
    assert dist.batch_shape == (3,) and dist.event_shape == (3,)
    points = loc64 + np.einsum("cij,pj->pci", factors, np.array(MVN_STANDARD_POINTS))
    x, x64 = rounded(points, dtype)  # (points, cases, 3)
    frozen = [stats.multivariate_normal(loc64[c], covariances[c]) for c in range(3)]
    expected = np.stack([frozen[c].logpdf(x64[:, c]) for c in range(3)], axis=1)
    check_against(dist, x, dtype, expected, [f.entropy() for f in frozen], loc64,
                  np.diagonal(covariances, axis1=-2, axis2=-1))
    assert_close(dist.covariance(), covariances, dtype)


def dirichlet_log_density_reference(x, alpha):
    """log Gamma(sum a) - sum log Gamma(a) + sum (a - 1) log x, in float64."""
    return (
        sp.gammaln(alpha.sum(-1)) - sp.gammaln(alpha).sum(-1) + sp.xlogy(alpha - 1.0, x).sum(-1)
    )


DIRICHLET_ROWS = [[1.0, 1.0, 1.0], [0.01, 0.5, 2.0], [30.0, 40.0, 25.0], [0.05, 0.05, 0.05],
                  [0.7, 3.0, 60.0]]
DIRICHLET_LARGE = [[2e3, 5e3, 1e3], [1e4, 1e4, 1e4]]


def test_dirichlet_against_scipy(dtype):
    rows = DIRICHLET_ROWS + (DIRICHLET_LARGE if is_float64(dtype) else [])
    alpha, alpha64 = rounded(rows, dtype)
    frozen = [stats.dirichlet(row) for row in alpha64]
    mean = np.stack([f.mean() for f in frozen])
    # a bulk point two standard deviations from the mean (but inside the simplex)
    shift = np.minimum(2 * np.sqrt(np.stack([f.var() for f in frozen]).min(axis=-1)),
                       0.5 * mean[:, 1])
    fixed = np.array([[1 / 3, 1 / 3, 1 / 3], [0.2, 0.3, 0.5], [1e-20, 0.3, 0.7],
                      [0.98, 0.01, 0.01]])
    points = np.concatenate(
        [np.broadcast_to(fixed[:, None], (4, len(rows), 3)), mean[None],
         mean[None] + shift[None, :, None] * np.array([1.0, -1.0, 0.0])],
        axis=0,
    )
    x, x64 = rounded(points, dtype)
    check_against(Dirichlet(alpha), x, dtype, dirichlet_log_density_reference(x64, alpha64),
                  [f.entropy() for f in frozen], mean, np.stack([f.var() for f in frozen]))
    assert_close(Dirichlet(alpha).covariance(), np.stack([f.cov() for f in frozen]), dtype)


# ----------------------------------------------------------------------------------------
# Sampling: moments within 5 standard errors, shapes, dtypes, determinism.

SAMPLES = 20_000


def check_sample_moments(samples, mean, variance, what=""):
    """Sample means and variances within 5 standard errors of the distribution's moments.

    The standard error of the mean is sqrt(var / n); that of the sample variance
    sqrt((m4 - s^4) / n), with m4 the sample fourth central moment.
    """
    samples = np.asarray(samples, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    n = samples.shape[0]
    sample_mean = samples.mean(axis=0)
    centred = samples - sample_mean
    sample_variance = np.sum(centred**2, axis=0) / (n - 1)
    fourth = np.mean(centred**4, axis=0)
    se_mean = np.sqrt(variance / n)
    se_variance = np.sqrt(np.maximum(fourth - sample_variance**2, 0.0) / n)
    assert np.all(np.abs(sample_mean - mean) <= 5 * se_mean), (
        f"{what} mean: sample {sample_mean}, expected {mean}, standard error {se_mean}"
    )
    assert np.all(np.abs(sample_variance - variance) <= 5 * se_variance), (
        f"{what} variance: sample {sample_variance}, expected {variance}, "
        f"standard error {se_variance}"
    )


def sampling_cases(dtype):
    """(name, distribution, reference mean, reference variance): closed forms, float64."""
    def r(values):
        return rounded(values, dtype)

    loc, loc64 = r([0.0, -3.0, 1e3])
    scale, scale64 = r([1.0, 1e-6, 1e5])
    low, low64 = r([0.0, -1e6, 1e-8])
    high, high64 = r([1.0, 1e6, 3e-8])
    alpha, alpha64 = r([0.01, 1.0, 4.5, 1e4])
    rate, rate64 = r([1.0, 1e3, 1e-3, 1.0])
    a, a64 = r([0.5, 2.0, 0.05, 1e3])
    b, b64 = r([0.5, 5.0, 3.0, 2e3])
    poisson, poisson64 = r([1e-3, 3.5, 40.0, 1e5])
    probs, probs64 = r([1e-3, 0.3, 0.999])
    cat, cat64 = r([[0.1, 0.2, 0.3, 0.4], [1e-3, 0.5, 0.499, 0.0], [0.0, 0.0, 1.0, 0.0]])
    cat_p = cat64 / cat64.sum(-1, keepdims=True)
    _, cat_mean, cat_variance = label_moments(cat_p)
    conc, conc64 = r([[1.0, 1.0, 1.0], [0.1, 0.5, 2.0], [50.0, 100.0, 200.0]])
    dirichlet = [stats.dirichlet(row) for row in conc64]
    return [
        ("normal", Normal(loc, scale), loc64, scale64**2),
        ("laplace", Laplace(loc, scale * 2), loc64, 2 * (2 * scale64) ** 2),
        ("uniform", Uniform(low, high), (low64 + high64) / 2, (high64 - low64) ** 2 / 12),
        ("gamma", Gamma(alpha, rate), alpha64 / rate64, alpha64 / rate64**2),
        ("beta", Beta(a, b), stats.beta(a64, b64).mean(), stats.beta(a64, b64).var()),
        ("poisson", Poisson(poisson), poisson64, poisson64),
        ("bernoulli", Bernoulli(probs=probs), probs64, probs64 * (1 - probs64)),
        ("categorical", Categorical(probs=cat), cat_mean, cat_variance),
        ("dirichlet", Dirichlet(conc), np.stack([d.mean() for d in dirichlet]),
         np.stack([d.var() for d in dirichlet])),
    ]


def test_sample_moments(dtype):
    for index, (name, dist, mean, variance) in enumerate(sampling_cases(dtype)):
        key = jax.random.key(index)
        samples = draw(dist, key, (SAMPLES,))
        assert samples.shape == (SAMPLES, *dist.batch_shape, *dist.event_shape), name
        assert samples.dtype == sample_struct(dist, (SAMPLES,)).dtype, name
        check_sample_moments(samples, mean, variance, name)
        # the same key gives the same draws
        np.testing.assert_array_equal(draw(dist, key, (SAMPLES,)), samples, err_msg=name)
        # every draw is in the support (Gamma(0.01) draws that underflow to 0 have density
        # +inf there)
        assert np.all(np.asarray(log_prob_of(dist, samples)) > -np.inf), name


def test_gamma_family_draws_are_differentiable_in_the_concentration(dtype):
    """Pathwise (implicit reparameterization) gradients of the draws: their Monte Carlo mean
    is the derivative of the mean, within 5 standard errors."""
    def a(values):
        return jnp.asarray(values, dtype=dtype)

    key = jax.random.key(11)
    alpha, rate, b = a([0.3, 2.5, 40.0]), a([2.0, 1.0, 0.5]), a([0.5, 3.0, 7.0])
    first = a([1.0, 0.0, 0.0])

    @jax.jit
    def slopes(alpha):
        # each batch entry's draws depend on its own concentration only, so one JVP along
        # ones gives every entry's derivative; Dirichlet's first coordinate along c_0
        def along(f, tangent):
            return jax.jvp(f, (alpha,), (tangent,))[1]

        return (along(lambda c: Gamma(c, rate).sample(key, (SAMPLES,)), jnp.ones_like(alpha)),
                along(lambda c: Beta(c, b).sample(key, (SAMPLES,)), jnp.ones_like(alpha)),
                along(lambda c: Dirichlet(c).sample(key, (SAMPLES,))[:, 0], first))

    gamma, beta, dirichlet = slopes(alpha)
    a64, b64 = np.asarray(alpha, np.float64), np.asarray(b, np.float64)
    # Gamma(alpha, rate): d/dalpha E = 1 / rate
    check_mean(gamma, 1.0 / np.asarray(rate, np.float64), "gamma")
    # Beta(a, b): d/da E = b / (a + b)^2
    check_mean(beta, b64 / (a64 + b64) ** 2, "beta")
    # Dirichlet(c): d E[x_0] / d c_0 = (sum c - c_0) / (sum c)^2
    total = a64.sum()
    check_mean(dirichlet, (total - a64[0]) / total**2, "dirichlet")


def check_mean(samples, mean, what):
    samples = np.asarray(samples, np.float64)
    error = np.abs(samples.mean(axis=0) - mean)
    assert np.all(error <= 5 * samples.std(axis=0) / np.sqrt(len(samples))), (what, error)


def test_multivariate_normal_sample_moments(dtype):
    loc, loc64 = rounded([[0.0, 0.0, 0.0], [1e3, -2.0, 5.0]], dtype)
    factor, factor64 = rounded(np.stack([MVN_FACTOR, 1e-3 * MVN_FACTOR]), dtype)
    covariance = factor64 @ np.swapaxes(factor64, -1, -2)
    dist = MultivariateNormal(loc, scale_tril=factor)
    samples = np.asarray(draw(dist, jax.random.key(7), (SAMPLES,)), dtype=np.float64)
    assert samples.shape == (SAMPLES, 2, 3)
    check_sample_moments(samples, loc64, np.diagonal(covariance, axis1=-2, axis2=-1), "mvn")
    # off-diagonal covariances: the means of products of centred coordinates
    centred = samples - loc64
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        products = centred[..., i] * centred[..., j]
        error = np.abs(products.mean(axis=0) - covariance[:, i, j])
        assert np.all(error <= 5 * products.std(axis=0) / np.sqrt(SAMPLES)), (i, j)


def shape_examples(dtype):
    """Two distributions of each kind with equal shapes, and a matching value."""
    def f(values):
        return jnp.asarray(values, dtype=dtype)

    tril = f(MVN_FACTOR)
    return {
        "normal": (Normal(f([0.0, 1.0]), f([1.0, 2.0])), Normal(f([3.0, -1.0]), f([0.5, 4.0])),
                   f([0.3, 0.7])),
        "laplace": (Laplace(f([0.0, 1.0]), f([1.0, 2.0])), Laplace(f([2.0, 0.0]), f([3.0, 1.0])),
                    f([0.3, -0.7])),
        "uniform": (Uniform(f([0.0, 1.0]), f([1.0, 4.0])), Uniform(f([-1.0, 0.0]), f([2.0, 3.0])),
                    f([0.5, 1.5])),
        "gamma": (Gamma(f([0.5, 3.0]), f([1.0, 2.0])), Gamma(f([7.0, 20.0]), f([0.1, 5.0])),
                  f([0.4, 2.0])),
        "beta": (Beta(f([0.5, 3.0]), f([2.0, 1.5])), Beta(f([4.0, 30.0]), f([0.7, 20.0])),
                 f([0.2, 0.6])),
        "poisson": (Poisson(f([0.5, 60.0])), Poisson(f([3.0, 1e3])), jnp.array([1, 58])),
        "bernoulli": (Bernoulli(logits=f([-1.0, 2.0])), Bernoulli(probs=f([0.3, 0.9])),
                      jnp.array([0, 1])),
        "categorical": (Categorical(logits=f([[0.0, 1.0, -1.0], [2.0, 0.0, 0.5]])),
                        Categorical(probs=f([[0.2, 0.3, 0.5], [0.6, 0.0, 0.4]])),
                        jnp.array([2, 0])),
        "mvn": (MultivariateNormal(f([[0.0, 1.0, 2.0], [1.0, 0.0, -1.0]]), scale_tril=tril),
                MultivariateNormal(f([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0]]), scale_tril=2 * tril),
                f([0.5, 1.0, 1.5])),
        "dirichlet": (Dirichlet(f([[1.0, 2.0, 3.0], [0.5, 0.5, 5.0]])),
                      Dirichlet(f([[4.0, 1.0, 0.3], [20.0, 30.0, 10.0]])),
                      f([0.2, 0.3, 0.5])),
    }


# (Poisson counts are held in the float dtype, so that every representable rate samples)
INTEGER_VALUED = {"bernoulli", "categorical"}


@pytest.mark.parametrize("name", sorted(shape_examples(jnp.float32)))
def test_sample_shapes_and_dtypes(name, dtype):
    dist, _, _ = shape_examples(dtype)[name]
    for sample_shape, prefix in (((), ()), (5, (5,)), ((4, 3), (4, 3)), ([2], (2,))):
        samples = sample_struct(dist, sample_shape)
        assert samples.shape == prefix + dist.batch_shape + dist.event_shape
        if name in INTEGER_VALUED:
            assert jnp.issubdtype(samples.dtype, jnp.integer)
        else:
            assert samples.dtype == jnp.dtype(dtype)
    # (values, determinism under a fixed key and support: test_sample_moments)


# ----------------------------------------------------------------------------------------
# Composability: plain / jit / vmap / grad against finite differences.

def everything(dist, x):
    """log_prob at x and every moment: what composability is checked on."""
    values = (dist.log_prob(x), dist.entropy(), dist.mean(), dist.variance())
    if isinstance(dist, MultivariateNormal | Dirichlet):
        values += (dist.covariance(),)
    return values


def composable_cases(dtype):
    """name: (constructor, value transform, [args, *batch], whether x is differentiable).

    The first argument set is the call checked plain, under jit and through grad; all of
    them (different parameters of equal shapes) are stacked for vmap.
    """
    def a(values):
        return jnp.asarray(values, dtype=dtype)

    def i(values):
        return jnp.asarray(values, dtype=jnp.int32)

    tril = a(MVN_FACTOR)
    cov = tril @ tril.T
    return {
        "normal": (Normal, None, [
            (a([0.5, -1.0]), a([2.0, 0.3]), a([1.5, -0.2])),
            (a([0.1, 1.0]), a([1.0, 3.0]), a([0.0, 2.0])),
            (a([-3.0, 0.0]), a([0.1, 1.0]), a([-2.9, 5.0]))], True),
        "laplace": (Laplace, None, [
            (a([0.5, -1.0]), a([2.0, 0.3]), a([1.5, -1.2])),
            (a([0.1, 1.0]), a([1.0, 3.0]), a([0.0, 2.0])),
            (a([-3.0, 0.0]), a([0.1, 1.0]), a([-2.9, -5.0]))], True),
        "uniform": (Uniform, None, [
            (a([0.0, -2.0]), a([1.0, 3.0]), a([0.4, 0.1])),
            (a([1.0, 0.0]), a([4.0, 0.5]), a([2.0, 0.2])),
            (a([-5.0, 2.0]), a([-1.0, 9.0]), a([-3.0, 8.0]))], True),
        # concentrations on both sides of the series switches (5 in float32, 10 in float64)
        "gamma": (Gamma, None, [
            (a([0.5, 7.0, 30.0]), a([2.0, 0.1, 1.5]), a([0.7, 60.0, 25.0])),
            (a([1.0, 3.0, 12.0]), a([1.0, 1.0, 1.0]), a([0.2, 4.0, 9.0])),
            (a([0.05, 9.0, 500.0]), a([10.0, 3.0, 0.5]), a([0.01, 2.0, 1e3]))], True),
        "beta": (Beta, None, [
            (a([0.5, 3.0, 40.0]), a([2.0, 0.7, 60.0]), a([0.3, 0.9, 0.4])),
            (a([1.0, 2.0, 8.0]), a([1.0, 9.0, 4.0]), a([0.5, 0.1, 0.7])),
            (a([0.05, 15.0, 3.0]), a([0.05, 2.0, 30.0]), a([0.01, 0.8, 0.2]))], True),
        # rates on both sides of the entropy's rate-50 switch
        "poisson": (Poisson, None, [
            (a([0.5, 7.0, 49.0, 60.0, 1e3]), i([0, 3, 40, 55, 1010])),
            (a([2.0, 1.0, 45.0, 50.5, 1e4]), i([1, 0, 50, 50, 9950])),
            (a([1e-3, 20.0, 30.0, 51.0, 300.0]), i([2, 30, 31, 60, 280]))], False),
        "bernoulli logits": (lambda z: Bernoulli(logits=z), None, [
            (a([-2.0, 0.5, 30.0]), i([0, 1, 1])),
            (a([1.0, -3.0, 0.0]), i([1, 1, 0])),
            (a([-40.0, 2.0, 5.0]), i([0, 0, 1]))], False),
        "bernoulli probs": (lambda p: Bernoulli(probs=p), None, [
            (a([0.2, 0.7, 1e-3]), i([0, 1, 1])),
            (a([0.5, 0.9, 0.999]), i([1, 0, 0])),
            (a([0.01, 0.4, 0.6]), i([0, 0, 1]))], False),
        "categorical logits": (lambda z: Categorical(logits=z), None, [
            (a([[0.0, 1.0, -1.0], [2.0, 0.0, 0.5]]), i([2, 0])),
            (a([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0]]), i([0, 1])),
            (a([[-5.0, 5.0, 1.0], [1.0, 2.0, 3.0]]), i([1, 2]))], False),
        "categorical probs": (lambda p: Categorical(probs=p), None, [
            (a([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]), i([2, 0])),
            (a([[0.1, 0.1, 0.8], [0.3, 0.3, 0.4]]), i([0, 1])),
            (a([[0.5, 0.25, 0.25], [1e-3, 0.5, 0.499]]), i([1, 0]))], False),
        "mvn scale_tril": (lambda m, s: MultivariateNormal(m, scale_tril=s), None, [
            (a([0.5, -1.0, 2.0]), tril, a([[1.0, 0.0, 2.5], [-1.0, 3.0, 0.0]])),
            (a([0.0, 0.0, 0.0]), 2 * tril, a([[0.1, 0.2, 0.3], [1.0, 1.0, 1.0]])),
            (a([1.0, 2.0, 3.0]), 0.5 * tril, a([[1.0, 2.0, 3.5], [0.0, 0.0, 0.0]]))], True),
        "mvn covariance": (lambda m, c: MultivariateNormal(m, covariance=c), None, [
            (a([0.5, -1.0, 2.0]), cov, a([[1.0, 0.0, 2.5], [-1.0, 3.0, 0.0]])),
            (a([0.0, 0.0, 0.0]), 4 * cov, a([[0.1, 0.2, 0.3], [1.0, 1.0, 1.0]])),
            (a([1.0, 2.0, 3.0]), 0.25 * cov, a([[1.0, 2.0, 3.5], [0.0, 0.0, 0.0]]))], True),
        # the point is parametrized by softmax, so that finite-difference steps stay on the
        # simplex; concentrations of exactly 1 included
        "dirichlet": (Dirichlet, lambda z: jax.nn.softmax(z, axis=-1), [
            (a([[1.0, 2.0, 3.0], [0.5, 0.5, 5.0]]), a([[0.0, 1.0, -1.0], [0.3, 0.2, 0.1]])),
            (a([[4.0, 1.0, 0.3], [20.0, 30.0, 10.0]]), a([[1.0, 1.0, 1.0], [-2.0, 0.0, 2.0]])),
            (a([[0.1, 7.0, 12.0], [1.0, 1.0, 1.0]]), a([[0.5, 0.0, 0.0], [0.0, 3.0, 1.0]]))],
         True),
    }


compiled_everything = jax.jit(everything)


@pytest.mark.parametrize("name", sorted(composable_cases(jnp.float32)))
def test_composable(name, dtype, tmp_path):
    make, transform, sets, x_differentiable = composable_cases(dtype)[name]
    transform = transform or (lambda x: x)

    # The distribution's methods run compiled (the helper calls the function many times,
    # and eager dispatch of these graphs is slow; the plain call is checked below). The
    # differentiable arguments travel as one tuple, so that one gradient is compiled.
    if x_differentiable:
        def function(arguments):
            return compiled_everything(make(*arguments[:-1]), transform(arguments[-1]))

        calls = [(tuple(arguments),) for arguments in sets]
    else:  # integer values: gradients with respect to the parameters only
        def function(parameters, x):
            return compiled_everything(make(*parameters), transform(x))

        calls = [(tuple(arguments[:-1]), arguments[-1]) for arguments in sets]
    # in x64 mode the float64 run repeats the (float64) gradient check of the float32 run
    skip = jnp.dtype(dtype) == jnp.dtype(jnp.float32) and X64
    check_composable(function, calls[0], calls, grad_argnums=() if skip else (0,))

    rtol = 10 * rtol_for(dtype)  # jit may reorder floating-point operations
    first, second = (make(*arguments[:-1]) for arguments in sets[:2])
    x = transform(sets[0][-1])
    # distributions are jit arguments: compiled results match the plain (eager) call
    plain = everything(first, x)
    for compiled, eager in zip(compiled_everything(first, x), plain, strict=True):
        assert compiled.dtype == eager.dtype and compiled.shape == eager.shape
        assert_close(compiled, eager, rtol=rtol)
    # vmap over a stacked batch of distribution objects
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), first, second)
    assert type(stacked) is type(first)
    batched = jax.jit(jax.vmap(everything, in_axes=(0, None)))(stacked, x)
    for index, dist in enumerate((first, second)):
        for leaf, single in zip(batched, compiled_everything(dist, x), strict=True):
            assert_close(leaf[index], single, rtol=rtol)
    # distributions are jit outputs too
    rebuilt = jax.jit(lambda dist: dist)(second)
    assert type(rebuilt) is type(second)
    for got, want in zip(jax.tree_util.tree_leaves(rebuilt), jax.tree_util.tree_leaves(second),
                         strict=True):
        np.testing.assert_array_equal(got, want)
    # serialisation round trip, into a template of the same structure
    path = tmp_path / "distribution.eqx"
    eqx.tree_serialise_leaves(path, second)
    like = jax.tree_util.tree_map(jnp.zeros_like, first)
    loaded = eqx.tree_deserialise_leaves(path, like)
    assert type(loaded) is type(second)
    for got, want in zip(jax.tree_util.tree_leaves(loaded), jax.tree_util.tree_leaves(second),
                         strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    for got, want in zip(compiled_everything(loaded, x), compiled_everything(second, x),
                         strict=True):
        np.testing.assert_array_equal(got, want)


def test_concentration_gradient_at_one(dtype):
    """d/d alpha_j log p(x) = log x_j - digamma(alpha_j) + digamma(alpha_0), also at alpha_j = 1.

    (alpha - 1) log x is an ordinary product there: the 0 log 0 convention of ``xlogy``
    (a zero gradient) belongs only to the boundary x_j = 0.
    """
    alpha, alpha64 = rounded([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [0.5, 1.0, 4.0]], dtype)
    x, x64 = rounded([[0.25, 0.25, 0.5], [0.1, 0.6, 0.3], [0.7, 0.2, 0.1]], dtype)
    expected = np.log(x64) - sp.digamma(alpha64) + sp.digamma(alpha64.sum(-1, keepdims=True))
    gradient = jax.jit(jax.grad(lambda c: jnp.sum(Dirichlet(c).log_prob(x))))(alpha)
    assert_close(gradient, expected, dtype)
    # Beta is the two-category Dirichlet
    a, a64 = rounded([1.0, 1.0, 2.5], dtype)
    b, b64 = rounded([1.0, 3.0, 1.0], dtype)
    u, u64 = rounded([0.3, 0.6, 0.8], dtype)
    grad_a, grad_b = jax.jit(
        jax.grad(lambda a, b: jnp.sum(Beta(a, b).log_prob(u)), argnums=(0, 1)))(a, b)
    total = sp.digamma(a64 + b64)
    assert_close(grad_a, np.log(u64) - sp.digamma(a64) + total, dtype)
    assert_close(grad_b, np.log1p(-u64) - sp.digamma(b64) + total, dtype)


# ----------------------------------------------------------------------------------------
# Shapes and broadcasting.

@pytest.mark.parametrize(
    ("cls", "first", "second"),
    [(Normal, 0.0, 1.0), (Laplace, 0.0, 1.0), (Uniform, 0.0, 1.0), (Gamma, 2.0, 3.0),
     (Beta, 2.0, 3.0)],
    ids=["normal", "laplace", "uniform", "gamma", "beta"],
)
def test_parameters_broadcast_into_the_batch_shape(cls, first, second, dtype):
    dist = cls(jnp.full((2, 1), first, dtype), jnp.full((3,), second, dtype))
    assert dist.batch_shape == (2, 3) and dist.event_shape == ()
    assert all(leaf.shape == (2, 3) for leaf in jax.tree_util.tree_leaves(dist))
    assert sample_struct(dist, (4,)).shape == (4, 2, 3)
    # log_prob broadcasts x against the batch shape
    x = jnp.full((5, 1, 1), 0.5, dtype)
    assert log_prob_of(dist, x).shape == (5, 2, 3)
    assert log_prob_of(dist, jnp.full((3,), 0.5, dtype)).shape == (2, 3)
    assert log_prob_of(dist, 0.5).shape == (2, 3)
    for moment in (entropy_of(dist), dist.mean(), dist.variance()):
        assert moment.shape == (2, 3)
    # scalar parameters give a scalar distribution
    assert cls(first, second).batch_shape == ()


def test_log_prob_broadcasting_values(dtype):
    loc, loc64 = rounded([-1.0, 0.0, 2.0], dtype)
    x, x64 = rounded([[0.5], [-3.0], [10.0], [0.0]], dtype)
    assert_close(log_prob_of(Normal(loc, 2.0), x), stats.norm(loc64, 2.0).logpdf(x64), dtype)
    rate, rate64 = rounded([0.5, 3.0], dtype)
    counts = np.array([[0], [1], [4]])
    assert_close(log_prob_of(Poisson(rate), counts), stats.poisson(rate64).logpmf(counts), dtype)
    logits = jnp.zeros((2, 3), dtype)
    assert log_prob_of(Bernoulli(logits=logits), jnp.ones((5, 1, 1), jnp.int32)).shape == (5, 2, 3)


def test_categorical_shapes(dtype):
    logits, logits64 = rounded([[0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 1.0, -1.0]], dtype)
    dist = Categorical(logits=logits)
    assert dist.batch_shape == (2,) and dist.event_shape == () and dist.num_categories == 4
    x = np.array([[0], [3], [2]])  # (3, 1) against batch (2,)
    assert_close(log_prob_of(dist, x), np.take_along_axis(
        np.broadcast_to(sp.log_softmax(logits64, -1), (3, 2, 4)),
        np.broadcast_to(x, (3, 2))[..., None], -1)[..., 0], dtype)
    assert sample_struct(dist, (7,)).shape == (7, 2)
    assert dist.probs.shape == (2, 4)
    single = Categorical(logits=logits[0])
    assert single.batch_shape == () and log_prob_of(single, jnp.arange(4)).shape == (4,)


def mvn_reference(loc64, factor64, x64):
    covariance = factor64 @ factor64.T
    return stats.multivariate_normal(loc64, covariance).logpdf(x64)


def test_multivariate_normal_batching(dtype):
    factor, factor64 = rounded(MVN_FACTOR, dtype)
    locs, locs64 = rounded([[0.0, 1.0, 2.0], [1.0, 0.0, -1.0], [3.0, 3.0, 3.0], [0.0, 0.0, 0.0]],
                           dtype)
    x, x64 = rounded([[0.5, -0.5, 1.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0],
                      [-1.0, 0.5, 0.0]], dtype)
    # batched locs with one shared factor
    dist = MultivariateNormal(locs, scale_tril=factor)
    assert dist.batch_shape == (4,) and dist.event_shape == (3,)
    assert log_prob_of(dist, x[0]).shape == (4,)
    values = log_prob_of(dist, x[:, None, :])  # (5, 1, 3) against batch (4,)
    assert values.shape == (5, 4)
    expected = np.stack([mvn_reference(locs64[c], factor64, x64) for c in range(4)], axis=1)
    assert_close(values, expected, dtype)
    assert sample_struct(dist, (6,)).shape == (6, 4, 3)
    assert dist.mean().shape == (4, 3) and dist.covariance().shape == (4, 3, 3)
    assert entropy_of(dist).shape == (4,)
    # one loc with batched factors
    scales = np.array([0.5, 1.0, 2.0, 4.0])
    factors, factors64 = rounded(scales[:, None, None] * MVN_FACTOR, dtype)
    dist = MultivariateNormal(locs[0], scale_tril=factors)
    assert dist.batch_shape == (4,) and dist.mean().shape == (4, 3)
    expected = np.stack([mvn_reference(locs64[0], factors64[c], x64) for c in range(4)], axis=1)
    assert_close(log_prob_of(dist, x[:, None, :]), expected, dtype)
    assert dist.variance().shape == (4, 3)
    # both batched, broadcasting: loc (2, 1, 3) and factor (4, 3, 3) give batch (2, 4)
    dist = MultivariateNormal(locs[:2, None, :], scale_tril=factors)
    assert dist.batch_shape == (2, 4)
    expected = np.array([[mvn_reference(locs64[i], factors64[j], x64[0]) for j in range(4)]
                         for i in range(2)])
    assert_close(log_prob_of(dist, x[0]), expected, dtype)
    assert sample_struct(dist, 3).shape == (3, 2, 4, 3)
    assert dist.mean().shape == (2, 4, 3) and entropy_of(dist).shape == (2, 4)


def test_dirichlet_shapes(dtype):
    alpha, alpha64 = rounded([[1.0, 2.0, 3.0], [0.5, 0.5, 5.0]], dtype)
    dist = Dirichlet(alpha)
    assert dist.batch_shape == (2,) and dist.event_shape == (3,)
    x, x64 = rounded([[[0.2, 0.3, 0.5]], [[0.6, 0.2, 0.2]], [[0.1, 0.1, 0.8]]], dtype)  # (3, 1, 3)
    values = log_prob_of(dist, x)
    assert values.shape == (3, 2)
    assert_close(values, dirichlet_log_density_reference(x64, alpha64), dtype)
    assert sample_struct(dist, (4, 5)).shape == (4, 5, 2, 3)
    assert dist.mean().shape == (2, 3) and dist.covariance().shape == (2, 3, 3)
    assert entropy_of(dist).shape == (2,)


# ----------------------------------------------------------------------------------------
# Bad input.

@pytest.mark.parametrize("cls", [Bernoulli, Categorical], ids=["bernoulli", "categorical"])
def test_logits_or_probs_exactly_one(cls):
    with pytest.raises(ValueError, match=r"exactly one of logits= or probs=, got both"):
        cls(logits=jnp.zeros(3), probs=jnp.full(3, 1 / 3))
    with pytest.raises(ValueError, match=r"exactly one of logits= or probs=, got neither"):
        cls()


def test_multivariate_normal_covariance_or_scale_tril_exactly_one():
    with pytest.raises(ValueError, match=r"exactly one of covariance= or scale_tril=, got both"):
        MultivariateNormal(jnp.zeros(2), covariance=jnp.eye(2), scale_tril=jnp.eye(2))
    with pytest.raises(ValueError, match=r"exactly one of covariance= or scale_tril=, got neither"):
        MultivariateNormal(jnp.zeros(2))


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: Normal(jnp.zeros(2), jnp.ones(3)),
         r"Normal: loc shape \(2,\), scale shape \(3,\)"),
        (lambda: Laplace(jnp.zeros((2, 2)), jnp.ones(3)), r"Laplace: loc shape \(2, 2\), scale"),
        (lambda: Uniform(jnp.zeros(4), jnp.ones(3)), r"Uniform: low shape \(4,\), high shape"),
        (lambda: Gamma(jnp.ones(2), jnp.ones(3)), r"Gamma: concentration shape \(2,\), rate"),
        (lambda: Beta(jnp.ones(2), jnp.ones(3)),
         r"Beta: concentration1 shape \(2,\), concentration0 shape \(3,\)"),
        (lambda: MultivariateNormal(jnp.zeros((2, 3)), scale_tril=jnp.stack([jnp.eye(3)] * 4)),
         r"MultivariateNormal: loc shape \(2,\), scale_tril shape \(4,\)"),
        (lambda: MultivariateNormal(jnp.zeros(3), covariance=jnp.eye(2)),
         r"covariance must have shape \(\.\.\., 3, 3\)"),
        (lambda: MultivariateNormal(jnp.zeros(()), scale_tril=jnp.eye(1)),
         r"loc must have shape \(\.\.\., d\)"),
        (lambda: Categorical(logits=jnp.zeros(())), r"logits must have shape \(\.\.\., K\)"),
        (lambda: Dirichlet(jnp.ones(())), r"concentration must have shape \(\.\.\., K\)"),
    ],
)
def test_incompatible_parameter_shapes(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


@pytest.mark.parametrize(
    ("dist", "x", "pattern"),
    [
        (Dirichlet(jnp.ones(3)), jnp.full(4, 0.25), r"must end with the event shape \(3,\)"),
        (Dirichlet(jnp.ones((2, 3))), jnp.float32(1.0), r"event shape \(3,\), got shape \(\)"),
        (MultivariateNormal(jnp.zeros(3), scale_tril=jnp.eye(3)), jnp.zeros((5, 2)),
         r"must end with the event shape \(3,\), got shape \(5, 2\)"),
        (Normal(jnp.zeros(3), 1.0), jnp.zeros(4), r"x shape \(4,\), batch_shape shape \(3,\)"),
        (Dirichlet(jnp.ones((2, 3))), jnp.full((4, 3), 1 / 3), r"x shape \(4,\), batch_shape"),
        (Categorical(logits=jnp.zeros((2, 3))), jnp.zeros(5, jnp.int32), r"x shape \(5,\)"),
    ],
    ids=["dirichlet-event", "dirichlet-scalar", "mvn-event", "normal-batch", "dirichlet-batch",
         "categorical-batch"],
)
def test_log_prob_rejects_wrong_shapes(dist, x, pattern):
    with pytest.raises(ValueError, match=pattern):
        dist.log_prob(x)


# ----------------------------------------------------------------------------------------
# Support edges.

def finite_gradients(function, *args):
    """Gradients of ``sum(function(*args))`` with respect to every argument: none NaN."""
    gradients = jax.jit(
        jax.grad(lambda *a: jnp.sum(function(*a)), argnums=tuple(range(len(args)))))(*args)
    for gradient in gradients:
        assert not np.any(np.isnan(np.asarray(gradient))), gradients
    return gradients


def test_uniform_support(dtype):
    low, high = jnp.asarray(-1.0, dtype), jnp.asarray(3.0, dtype)
    x = jnp.asarray([-1.0, 3.0, -1.0001, 3.0001, -1e30, 1e30], dtype)
    x64 = np.asarray(x, np.float64)
    assert_close(log_prob_of(Uniform(low, high), x), stats.uniform(-1.0, 4.0).logpdf(x64), dtype)
    finite_gradients(lambda lo, hi, v: log_prob_of(Uniform(lo, hi), v), low, high, x[:2])


def test_gamma_support(dtype):
    alpha, alpha64 = rounded([0.5, 1.0, 1.0, 3.0], dtype)
    rate, rate64 = rounded([2.0, 2.0, 0.5, 1.5], dtype)
    frozen = stats.gamma(alpha64, scale=1 / rate64)
    dist = Gamma(alpha, rate)
    # at zero: +inf (alpha < 1), log(rate) (alpha = 1), -inf (alpha > 1); negative: -inf
    for point in (0.0, -1e-30, -2.0, -np.inf):
        assert_close(log_prob_of(dist, jnp.asarray(point, dtype)), frozen.logpdf(point), dtype)
    # where the value is finite (alpha = 1 at zero), the gradients are not NaN
    finite_gradients(lambda c, r, v: log_prob_of(Gamma(c, r), v), alpha[1:3], rate[1:3],
                     jnp.zeros(2, dtype))


def test_poisson_support(dtype):
    rate, rate64 = rounded([0.0, 1e-3, 3.0], dtype)
    x = jnp.asarray([[-1.0], [-0.5], [2.5], [1e-3], [0.0], [2.0]], dtype)
    with np.errstate(divide="ignore"):
        expected = stats.poisson(rate64).logpmf(np.asarray(x, np.float64))
    assert_close(log_prob_of(Poisson(rate), x), expected, dtype)
    assert_close(log_prob_of(Poisson(rate), jnp.array([[-3], [0], [2]])),
                 stats.poisson(rate64).logpmf(np.array([[-3], [0], [2]])), dtype)
    # rate 0 is a point mass at 0: entropy 0
    assert_close(entropy_of(Poisson(rate[0])), 0.0, dtype)
    # log p(0) = -rate: gradient -1, also at rate 0
    gradient = jax.grad(lambda r: jnp.sum(log_prob_of(Poisson(r), 0)))(rate)
    assert_close(gradient, -np.ones(3), dtype)
    finite_gradients(lambda r: entropy_of(Poisson(r)), rate[1:])


def test_bernoulli_support_and_degenerate_probabilities(dtype):
    probs = jnp.asarray([0.0, 1.0, 0.3], dtype)
    probs64 = np.asarray(probs, np.float64)
    dist = Bernoulli(probs=probs)
    x = jnp.array([[0], [1], [2], [-1]])
    with np.errstate(divide="ignore"):
        expected = stats.bernoulli(probs64).logpmf(np.asarray(x))
    assert_close(log_prob_of(dist, x), expected, dtype)
    assert_close(log_prob_of(dist, jnp.asarray([[0.5]], dtype)), np.full((1, 3), -np.inf), dtype)
    # probabilities 0 and 1: exact log-probabilities and an exact, finite entropy of 0
    np.testing.assert_array_equal(log_prob_of(dist, jnp.array([[0], [1]]))[:, :2],
                                  [[0.0, -np.inf], [-np.inf, 0.0]])
    np.testing.assert_array_equal(entropy_of(dist)[:2], [0.0, 0.0])
    assert_close(entropy_of(dist), stats.bernoulli(probs64).entropy(), dtype)
    assert_close(dist.mean(), probs64, dtype)
    assert_close(dist.variance(), probs64 * (1 - probs64), dtype)
    # finite values have gradients that are not NaN
    finite_gradients(lambda p: log_prob_of(Bernoulli(probs=p), jnp.array([0, 1, 1])), probs)
    finite_gradients(lambda p: entropy_of(Bernoulli(probs=p)), probs)


def test_categorical_support_and_zero_probability(dtype):
    probs = jnp.asarray([0.5, 0.0, 0.25, 0.25], dtype)
    p64 = np.asarray(probs, np.float64)
    dist = Categorical(probs=probs)
    with np.errstate(divide="ignore"):
        expected = np.log(p64)
    assert_close(log_prob_of(dist, jnp.arange(4)), expected, dtype)
    for outside in (-1, 4, 100):
        assert log_prob_of(dist, outside) == -jnp.inf
    assert log_prob_of(dist, jnp.asarray(1.5, dtype)) == -jnp.inf
    entropy, mean, variance = label_moments(p64)
    assert_close(entropy_of(dist), entropy, dtype)
    assert_close(dist.mean(), mean, dtype)
    assert_close(dist.variance(), variance, dtype)
    # the same from logits with -inf
    from_logits = Categorical(logits=jnp.asarray([0.0, -jnp.inf, -np.log(2), -np.log(2)], dtype))
    assert_close(log_prob_of(from_logits, jnp.arange(4)), expected, dtype)
    assert_close(entropy_of(from_logits), entropy, dtype)
    # gradients of finite values are not NaN
    finite_gradients(lambda p: log_prob_of(Categorical(probs=p), jnp.array([0, 2, 3])), probs)
    finite_gradients(lambda p: entropy_of(Categorical(probs=p)), probs)
    finite_gradients(lambda z: entropy_of(Categorical(logits=z)), from_logits.logits)


def test_beta_support(dtype):
    a, a64 = rounded([0.5, 1.0, 2.0, 1.0, 3.0], dtype)
    b, b64 = rounded([2.0, 3.0, 2.0, 1.0, 0.5], dtype)
    frozen = stats.beta(a64, b64)
    dist = Beta(a, b)
    for point in (0.0, 1.0, -1e-6, 1.000001, -3.0, 7.0):
        x = jnp.asarray(point, dtype)
        assert_close(log_prob_of(dist, x), frozen.logpdf(np.float64(x)), dtype, err_msg=str(point))
    # finite values at the edges (a = 1 at 0, b = 1 at 1) have gradients that are not NaN
    finite_gradients(lambda c1, c0, v: log_prob_of(Beta(c1, c0), v), a[1:4:2], b[1:4:2],
                     jnp.zeros(2, dtype))
    finite_gradients(lambda c1, c0, v: log_prob_of(Beta(c1, c0), v), a[3:4], b[3:4],
                     jnp.ones(1, dtype))


def test_dirichlet_support(dtype):
    alpha, alpha64 = rounded([[1.0, 2.0, 3.0], [0.5, 1.0, 2.0], [1.0, 1.0, 1.0]], dtype)
    dist = Dirichlet(alpha)
    outside = jnp.asarray([[[-0.1, 0.6, 0.5]], [[0.2, 0.2, 0.2]], [[0.5, 0.5, 0.5]],
                           [[1.1, -0.05, -0.05]]], dtype)
    assert np.all(np.asarray(log_prob_of(dist, outside)) == -np.inf)
    # on a face of the simplex: +inf, finite or -inf as the exponents say
    face, face64 = rounded([[[0.0, 0.4, 0.6]], [[0.5, 0.0, 0.5]]], dtype)
    with np.errstate(divide="ignore"):
        expected = dirichlet_log_density_reference(face64, alpha64)
    assert_close(log_prob_of(dist, face), expected, dtype)
    finite_gradients(lambda c, v: log_prob_of(Dirichlet(c), v), alpha[2:], face[0])
