"""Reference tests for StudentT, InverseGamma, NegativeBinomial, NormalInverseGamma and ``fit``.

Every expectation comes from ``scipy.stats`` (in float64), mpmath or a closed form, evaluated
at the dtype-rounded parameters and points, and is compared with ``assert_close``
(``|actual - desired| <= rtol (1 + |desired|)``, rtol 1e-5 in float32, 1e-10 in float64).

Known problems of the references, and what is used instead:

* ``scipy.stats.t.mean`` is ``+inf`` for ``df <= 1``; the mean is undefined there (the
  density is symmetric), and mlmath documents NaN: compared with that closed form.
* ``scipy.stats.nbinom.logpmf`` is a difference of ``gammaln`` terms and loses accuracy at
  counts in the millions (1e-10 to 4e-9 relative at ``total_count`` 1e5): the log-pmf
  reference is mpmath at 40 digits, checked against scipy to 2e-11 where scipy's terms are
  small.
* ``scipy.stats.nbinom.entropy`` stops summing at a "convergence" test and is wrong by up to
  90% once the standard deviation exceeds ~50: the entropy reference is a direct sum in
  extended precision (``np.longdouble``) anchored by an mpmath log-pmf, itself checked
  against the geometric closed form (total_count 1) to 1e-14 and against scipy where
  scipy converges (to 1e-10: scipy's sum is good to ~1e-11 only). mlmath's windowed sum
  must agree, or be NaN when the distribution is too wide for its window, never a wrong
  number.
* ``scipy.stats.t`` agrees with mpmath to ~1e-15 over the grid (df up to 1e7); beyond it
  (df 1e10, 1e15) the reference is mpmath at 50 digits.
* ``NegativeBinomial`` stores logits, so the float32 logit of a float32 probability is
  rounded once more; at counts near 1e8 the log-pmf has a condition number ~1e3 in the
  logit. References are therefore evaluated at the stored parameter (the success
  probability ``expit(logits)``, computed in float64 or mpmath), and the round trip
  ``probs -> logits -> probs`` is tested separately to within its rounding bound.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import optimize, stats
from scipy import special as sp

from mlmath.distributions import (
    Bernoulli,
    Categorical,
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
    _fit,
)
from tests.composability import check_composable
from tests.conftest import X64, assert_close, rounded, rtol_for


@functools.partial(jax.jit, static_argnums=2)
def evaluate(dist, x, names):
    """The named values (log_prob at x, entropy, mean, variance) in one compiled call."""
    values = {"log_prob": lambda: dist.log_prob(x), "entropy": dist.entropy, "mean": dist.mean,
              "variance": dist.variance}
    return {name: values[name]() for name in names}


entropy_of = jax.jit(lambda dist: dist.entropy())
log_prob_of = jax.jit(lambda dist, x: dist.log_prob(x))
draw = jax.jit(lambda dist, key, shape: dist.sample(key, shape), static_argnums=2)


def check_against(dist, x, dtype, **references):
    """``dist``'s values (log_prob at ``x``, entropy, mean, variance) against references."""
    actual = evaluate(dist, x, tuple(sorted(references)))
    for name, desired in references.items():
        desired = np.asarray(desired, dtype=np.float64)
        assert actual[name].dtype == jnp.dtype(dtype), name
        assert actual[name].shape == desired.shape, (name, actual[name].shape, desired.shape)
        assert_close(actual[name], desired, dtype, err_msg=name)


# ----------------------------------------------------------------------------------------
# StudentT against scipy.stats.t.

T_DFS = [0.5, 1.0, 1.5, 2.0, 2.5, 4.0, 7.3, 30.0, 1e3, 1e5, 1e7]
T_LOC_SCALE = [(0.0, 1.0), (-3.0, 1e-3), (1e3, 1e4)]
T_STANDARD_POINTS = [0.0, 0.5, -1.7, 4.0, -30.0, 1e3, -1e5]


def test_student_t_against_scipy(dtype):
    cases = [(df, loc, scale) for df in T_DFS for loc, scale in T_LOC_SCALE]
    df, df64 = rounded([c[0] for c in cases], dtype)
    loc, loc64 = rounded([c[1] for c in cases], dtype)
    scale, scale64 = rounded([c[2] for c in cases], dtype)
    x, x64 = rounded(loc64[:, None] + scale64[:, None] * np.array(T_STANDARD_POINTS), dtype)
    frozen = stats.t(df64[:, None], loc64[:, None], scale64[:, None])
    variance = frozen.var()[:, 0]
    # scipy: NaN for df <= 1, inf for 1 < df <= 2 (the closed form agrees)
    assert np.all(np.isnan(variance[df64 <= 1])) and np.all(variance[(df64 > 1) & (df64 <= 2)]
                                                              == np.inf)
    # the mean: loc for df > 1, undefined (NaN) otherwise (scipy says +inf there)
    mean = np.where(df64 > 1, loc64, np.nan)
    check_against(StudentT(df[:, None], loc[:, None], scale[:, None]), x, dtype,
                  log_prob=frozen.logpdf(x64), entropy=frozen.entropy(), mean=mean[:, None],
                  variance=variance[:, None])


def t_log_density_mpmath(x, df, loc, scale):
    with mpmath.workdps(50):
        x, df, loc, scale = (mpmath.mpf(float(v)) for v in (x, df, loc, scale))
        z = (x - loc) / scale
        return float(mpmath.loggamma((df + 1) / 2) - mpmath.loggamma(df / 2)
                     - mpmath.log(df * mpmath.pi) / 2 - mpmath.log(scale)
                     - (df + 1) / 2 * mpmath.log1p(z * z / df))


def t_entropy_mpmath(df, scale):
    with mpmath.workdps(50):
        df, half = mpmath.mpf(float(df)), mpmath.mpf(1) / 2
        return float((df + 1) / 2 * (mpmath.digamma((df + 1) / 2) - mpmath.digamma(df / 2))
                     + mpmath.log(mpmath.sqrt(df) * mpmath.beta(df / 2, half))
                     + mpmath.log(float(scale)))


def test_student_t_huge_df_against_mpmath(dtype):
    """Beyond the grid (df up to 1e15, where the t is a Normal to 15 digits): mpmath."""
    df, df64 = rounded([1e7, 1e10, 1e15], dtype)
    x, x64 = rounded([0.0, 1.0, -30.0, 1e3], dtype)
    expected = np.array([[t_log_density_mpmath(v, d, 0.0, 2.0) for v in x64] for d in df64])
    dist = StudentT(df[:, None], 0.0, jnp.asarray(2.0, dtype))
    assert_close(log_prob_of(dist, x), expected, dtype)
    assert_close(entropy_of(dist)[:, 0], [t_entropy_mpmath(d, 2.0) for d in df64], dtype)
    # and the limit itself: the normal (scale 2), where z^4 / (4 df) is negligible (not at
    # z = 500, where it is 1.6e-5)
    assert_close(log_prob_of(dist, x)[-1, :3], stats.norm(0.0, 2.0).logpdf(x64[:3]), dtype)


# ----------------------------------------------------------------------------------------
# InverseGamma against scipy.stats.invgamma.

IG_CONCENTRATIONS = [0.5, 1.0, 1.5, 2.0, 2.5, 4.0, 30.0, 1e3]
IG_SCALES = [1e-3, 1.0, 1e4]


def test_inverse_gamma_against_scipy(dtype):
    cases = [(a, b) for a in IG_CONCENTRATIONS for b in IG_SCALES]
    alpha, alpha64 = rounded([c[0] for c in cases], dtype)
    scale, scale64 = rounded([c[1] for c in cases], dtype)
    mode = scale64 / (alpha64 + 1.0)
    points = np.concatenate([mode[:, None] * np.array([1e-2, 0.3, 1.0, 3.0, 100.0, 1e4]),
                             np.full((len(cases), 1), 1e-30)], axis=1)
    x, x64 = rounded(points, dtype)
    frozen = stats.invgamma(alpha64[:, None], scale=scale64[:, None])
    with np.errstate(all="ignore"):
        expected = {"log_prob": frozen.logpdf(x64), "entropy": frozen.entropy()[:, 0],
                    "mean": frozen.mean()[:, 0], "variance": frozen.var()[:, 0]}
    # closed forms of the moments: b / (a - 1) and b^2 / ((a-1)^2 (a-2)), infinite below
    with np.errstate(all="ignore"):
        mean = np.where(alpha64 > 1, scale64 / (alpha64 - 1), np.inf)
        variance = np.where(alpha64 > 2,
                            scale64**2 / ((alpha64 - 1) ** 2 * (alpha64 - 2)), np.inf)
    assert_close(expected["mean"], mean, jnp.float64)
    assert_close(expected["variance"], variance, jnp.float64)
    dist = InverseGamma(alpha[:, None], scale[:, None])
    check_against(dist, x, dtype, **{**expected, "entropy": expected["entropy"][:, None],
                                     "mean": mean[:, None], "variance": variance[:, None]})
    # off the support: -inf (scipy agrees)
    outside = jnp.asarray([0.0, -1e-30, -3.0], dtype)
    assert np.all(np.asarray(log_prob_of(InverseGamma(alpha[0], scale[0]), outside)) == -np.inf)
    assert np.all(stats.invgamma(alpha64[0], scale=scale64[0]).logpdf([0.0, -1e-30, -3.0])
                  == -np.inf)


# ----------------------------------------------------------------------------------------
# NegativeBinomial against scipy.stats.nbinom and mpmath.

NB_TOTAL_COUNTS = [0.5, 1.0, 3.7, 50.0, 1e3, 1e5]
NB_PROBS = [1e-3, 0.1, 0.5, 0.9, 0.999]


def stored_probabilities(dist):
    """The success and failure probabilities the distribution holds, in float64."""
    logits = np.asarray(dist.logits, np.float64)
    return sp.expit(logits), sp.expit(-logits)


def nb_log_pmf_mpmath(k, total_count, logit):
    """log C(k + r - 1, k) + k log p + r log(1 - p) at 40 digits, p = expit(logit)."""
    with mpmath.workdps(40):
        k, r, logit = (mpmath.mpf(float(v)) for v in (k, total_count, logit))
        log_p = -mpmath.log1p(mpmath.exp(-logit))
        log_q = -mpmath.log1p(mpmath.exp(logit))
        return float(mpmath.loggamma(k + r) - mpmath.loggamma(k + 1) - mpmath.loggamma(r)
                     + k * log_p + r * log_q)


def test_negative_binomial_against_scipy(dtype):
    cases = [(r, p) for r in NB_TOTAL_COUNTS for p in NB_PROBS]
    total, total64 = rounded([c[0] for c in cases], dtype)
    probs, _ = rounded([c[1] for c in cases], dtype)
    dist = NegativeBinomial(total[:, None], probs=probs[:, None])
    p, q = (v[:, 0] for v in stored_probabilities(dist))
    logits = np.asarray(dist.logits, np.float64)[:, 0]
    mean, sd = total64 * p / q, np.sqrt(total64 * p) / q
    counts = np.stack([np.zeros_like(mean), np.ones_like(mean), np.full_like(mean, 2.0),
                       np.floor(np.maximum(mean - 3 * sd, 0.0)), np.floor(mean),
                       np.floor(mean + 3 * sd), np.floor(mean + 10 * sd + 5)], axis=1)
    x, x64 = rounded(counts, dtype)  # integers, exact in float64; rounded to float32
    expected = np.array([[nb_log_pmf_mpmath(k, total64[i], logits[i]) for k in x64[i]]
                         for i in range(len(cases))])
    # scipy agrees with mpmath (well within the float64 tolerance) where its gammaln terms
    # are small
    reference = stats.nbinom(total64[:, None], q[:, None])
    moderate = x64 + total64[:, None] < 1e5
    assert_close(reference.logpmf(x64)[moderate], expected[moderate], rtol=2e-11)
    # off the support (negative or fractional counts): -inf, as scipy's. (At +inf scipy, and
    # mlmath's Poisson, give NaN: not compared.)
    outside = np.array([-1.0, 2.5, -0.5, 1e-3, -np.inf])
    assert np.all(stats.nbinom(3.0, 0.1).logpmf(outside) == -np.inf)
    x = jnp.concatenate([x, jnp.broadcast_to(jnp.asarray(outside, dtype), (len(cases), 5))], 1)
    expected = np.concatenate([expected, np.full((len(cases), 5), -np.inf)], axis=1)
    check_against(dist, x, dtype, log_prob=expected, mean=(total64 * p / q)[:, None],
                  variance=(total64 * p / q**2)[:, None])
    assert_close(dist.mean()[:, 0], reference.mean()[:, 0], dtype)
    assert_close(dist.variance()[:, 0], reference.var()[:, 0], dtype)
    # integer counts give the same as float counts (negative ones -inf)
    integer_counts = np.minimum(counts, 2**31 - 1).astype(np.int64)
    integer_counts[:, 0] = -3
    exact = np.all(counts < 2**24, axis=1)  # float32 counts equal to the integers
    expected[:, 0] = -np.inf
    assert_close(np.asarray(log_prob_of(dist, jnp.asarray(integer_counts, jnp.int32)))[exact],
                 expected[exact, :7], dtype)


def test_negative_binomial_probs_logits_round_trip(dtype):
    probs, p64 = rounded(NB_PROBS + [1e-6, 0.3, 1 - 1e-6], dtype)
    dist = NegativeBinomial(jnp.asarray(2.0, dtype), probs=probs)
    logits = np.asarray(dist.logits, np.float64)
    eps = float(jnp.finfo(dtype).eps)
    # rounding bound: log p and log1p(-p) rounded, their difference rounded, expit rounded
    bound = eps * (np.abs(np.log(p64)) + np.abs(np.log1p(-p64)) + np.abs(logits) + 4.0)
    assert np.all(np.abs(np.asarray(dist.probs, np.float64) - p64) <= bound * p64)
    assert np.all(np.abs(sp.expit(-logits) - (1 - p64)) <= bound * (1 - p64))
    # construction from logits: scipy at expit(logits)
    logits, logits64 = rounded([-30.0, -5.0, 0.0, 5.0, 15.0], dtype)
    dist = NegativeBinomial(jnp.asarray(2.5, dtype), logits=logits)
    counts = np.array([[0.0], [1.0], [7.0], [3e6]])
    x, _ = rounded(counts, dtype)
    expected = np.array([[nb_log_pmf_mpmath(k, 2.5, lg) for lg in logits64] for k in counts[:, 0]])
    # (scipy's nbinom is parametrized by the failure probability, which rounds to 1 at
    # logit -30: compared where it is representable)
    reference = stats.nbinom(2.5, sp.expit(-logits64)).logpmf(counts)
    assert_close(reference[:3, 1:4], expected[:3, 1:4], rtol=1e-12)
    check_against(dist, x, dtype, log_prob=expected, mean=2.5 * np.exp(logits64),
                  variance=2.5 * np.exp(logits64) / sp.expit(-logits64))
    assert_close(dist.probs, sp.expit(logits64), dtype)


@functools.cache
def nb_entropy_reference(total_count: float, logit: float):
    """-sum p log p by a direct sum in extended precision; returns (entropy, total mass).

    log p(k) is anchored at the mode by mpmath (40 digits) and extended by the exact ratios
    p(k+1)/p(k) = p (k + r)/(k + 1) in np.longdouble (64-bit mantissa) over mean -40 sd to
    mean + 60 sd + 200, beyond which the mass is below 1e-300.
    """
    with mpmath.workdps(40):
        r = mpmath.mpf(total_count)
        logit_mp = mpmath.mpf(logit)
        log_p = -mpmath.log1p(mpmath.exp(-logit_mp))
        log_q = -mpmath.log1p(mpmath.exp(logit_mp))
        mean = r * mpmath.exp(log_p) / mpmath.exp(log_q)
        sd = mpmath.sqrt(mean) / mpmath.sqrt(mpmath.exp(log_q))
        mode = int(mpmath.floor(mean))
        low = max(0, int(mean - 40 * sd))
        high = int(mean + 60 * sd) + 200
        anchor = (mpmath.loggamma(mode + r) - mpmath.loggamma(mode + 1) - mpmath.loggamma(r)
                  + mode * log_p + r * log_q)
        anchor, log_p_ld = (np.longdouble(mpmath.nstr(v, 30)) for v in (anchor, log_p))
    r_ld = np.longdouble(total_count)
    up = np.arange(mode, high - 1, dtype=np.longdouble)  # log p(k+1) - log p(k), k = mode...
    down = np.arange(mode, low, -1, dtype=np.longdouble)  # log p(k-1) - log p(k), k = mode...
    upper = anchor + np.cumsum(np.log1p((r_ld - 1) / (up + 1)) + log_p_ld)
    lower = anchor + np.cumsum(-np.log1p((r_ld - 1) / down) - log_p_ld)
    log_pmf = np.concatenate([lower[::-1], [anchor], upper])
    pmf = np.exp(log_pmf)
    return float(-np.sum(pmf * log_pmf)), float(np.sum(pmf))


def nb_sd(total_count, p, q):
    return np.sqrt(total_count * p) / q


def geometric_entropy_mpmath(logit):
    """total_count 1 is the geometric distribution: H = -log q - (p / q) log p."""
    with mpmath.workdps(40):
        logit = mpmath.mpf(logit)
        p, q = 1 / (1 + mpmath.exp(-logit)), 1 / (1 + mpmath.exp(logit))
        return float(-mpmath.log(q) - p / q * mpmath.log(p))


def test_negative_binomial_entropy_reference():
    """The direct-sum reference: exact for the geometric case, and scipy's where it converges.

    (scipy's own sum is good to ~1e-11 only, e.g. 3.2508297338828 for the geometric
    distribution of p = 0.9, whose entropy is 3.2508297339145.)
    """
    for p in (1e-3, 0.3, 0.9, 0.99, 0.998):
        entropy, mass = nb_entropy_reference(1.0, float(sp.logit(p)))
        assert abs(mass - 1.0) < 1e-15
        assert_close(entropy, geometric_entropy_mpmath(float(sp.logit(p))), rtol=1e-14)
    for r, p in [(0.5, 0.3), (3.7, 0.5), (50.0, 0.9), (1e3, 0.1), (1e5, 1e-3)]:
        logit = float(sp.logit(p))
        entropy, mass = nb_entropy_reference(r, logit)
        assert abs(mass - 1.0) < 1e-15
        assert_close(entropy, stats.nbinom(r, sp.expit(-logit)).entropy(), rtol=1e-10)


def check_negative_binomial_entropy(cases, dtype, narrow_sd=0.0, wide_sd=np.inf):
    """Entropies of a (6, 6) batch (a 2-D batch: the window broadcasts against it).

    Standard deviations up to ``narrow_sd``: the entropy; from ``wide_sd``: NaN; in between
    either, but never a wrong number. Returns the values.
    """
    total, total64 = rounded([c[0] for c in cases], dtype)
    probs, _ = rounded([c[1] for c in cases], dtype)
    dist = NegativeBinomial(total.reshape(6, 6), probs=probs.reshape(6, 6))
    entropy = entropy_of(dist)
    assert entropy.shape == (6, 6) and entropy.dtype == jnp.dtype(dtype)
    values = np.asarray(entropy, np.float64).ravel()
    p, q = (v.ravel() for v in stored_probabilities(dist))
    logits = np.asarray(dist.logits, np.float64).ravel()
    sd = nb_sd(total64, p, q)
    for i in np.flatnonzero(sd < wide_sd):
        if sd[i] <= narrow_sd or not np.isnan(values[i]):
            expected = nb_entropy_reference(float(total64[i]), float(logits[i]))[0]
            assert_close(values[i], expected, dtype, err_msg=f"{cases[i]}, sd {sd[i]:.4g}")
    assert np.all(np.isnan(values[sd >= wide_sd])), values[sd >= wide_sd]
    return values, sd


def test_negative_binomial_entropy(dtype):
    """Narrow distributions: the entropy; wide ones: NaN; in between: one or the other."""
    cases = [(r, p) for r in NB_TOTAL_COUNTS for p in NB_PROBS + [0.99]]
    _, sd = check_negative_binomial_entropy(cases, dtype, narrow_sd=120.0, wide_sd=2000.0)
    assert np.sum(sd <= 120) >= 20 and np.sum(sd >= 2000) >= 5  # both regimes exercised


def test_negative_binomial_entropy_near_the_window_edge(dtype):
    """Standard deviations from 150 to 1500 (the window holds ~300): NaN or exact, never wrong.

    (Before the fix, float32 returned truncated sums here, e.g. 7.0149 for (0.5, 0.999),
    whose entropy is 7.0158: the summed mass cannot see a missing tail of 1e-4 in float32.)
    """
    cases = []
    for r in [0.5, 2.0, 30.0, 1e3, 1e4, 1e5]:
        for s in np.geomspace(150.0, 1500.0, 6):
            # sd^2 = r p / q^2 with q = 1 - p: r p = s^2 (1 - p)^2, the root in (0, 1)
            c = s * s
            cases.append((r, ((2 * c + r) - np.sqrt((2 * c + r) ** 2 - 4 * c * c)) / (2 * c)))
    values, _ = check_negative_binomial_entropy(cases, dtype, narrow_sd=150.0)
    # the window holds the narrower ones (sd 150), and the widest (sd 1500) are NaN
    assert not np.any(np.isnan(values.reshape(6, 6)[:, 0]))
    assert np.all(np.isnan(values.reshape(6, 6)[:, -1]))


# ----------------------------------------------------------------------------------------
# Sampling: moments within 5 standard errors.

SAMPLES = 20_000


def check_sample_moments(samples, mean, variance=None, what=""):
    """Sample means (and variances) within 5 standard errors of the reference moments.

    The standard error of the sample variance is sqrt((m4 - s^4) / n), m4 the sample fourth
    central moment (finite fourth moments only).
    """
    samples = np.asarray(samples, dtype=np.float64)
    n = samples.shape[0]
    sample_mean = samples.mean(axis=0)
    centred = samples - sample_mean
    sample_variance = np.sum(centred**2, axis=0) / (n - 1)
    reference_variance = sample_variance if variance is None else np.asarray(variance)
    se_mean = np.sqrt(reference_variance / n)
    assert np.all(np.abs(sample_mean - mean) <= 5 * se_mean), (
        f"{what} mean: sample {sample_mean}, expected {mean}, standard error {se_mean}")
    if variance is not None:
        se_variance = np.sqrt(np.maximum(np.mean(centred**4, axis=0) - sample_variance**2, 0.0)
                              / n)
        assert np.all(np.abs(sample_variance - variance) <= 5 * se_variance), (
            f"{what} variance: sample {sample_variance}, expected {variance}, "
            f"standard error {se_variance}")


def test_student_t_sample_moments(dtype):
    # finite fourth moments (df > 4): mean and variance; finite variance only (2 < df <= 4):
    # the mean
    df, df64 = rounded([9.0, 30.0, 1e4, 2.5, 4.0], dtype)
    loc, loc64 = rounded([0.0, -3.0, 1e3, 1.0, 1.0], dtype)
    scale, scale64 = rounded([1.0, 1e-3, 1e2, 2.0, 2.0], dtype)
    dist = StudentT(df, loc, scale)
    samples = draw(dist, jax.random.key(0), (SAMPLES,))
    assert samples.shape == (SAMPLES, 5) and samples.dtype == jnp.dtype(dtype)
    frozen = stats.t(df64, loc64, scale64)
    check_sample_moments(samples[:, :3], frozen.mean()[:3], frozen.var()[:3], "student t")
    check_sample_moments(samples[:, 3:], loc64[3:], None, "student t, heavy tails")
    assert np.all(np.isfinite(np.asarray(samples)))
    np.testing.assert_array_equal(draw(dist, jax.random.key(0), (SAMPLES,)), samples)


def test_inverse_gamma_sample_moments(dtype):
    # finite fourth moments (a > 4): mean and variance; finite variance only: the mean
    alpha, alpha64 = rounded([9.0, 30.0, 1e3, 2.5, 3.5], dtype)
    scale, scale64 = rounded([1e-3, 1.0, 1e4, 2.0, 2.0], dtype)
    dist = InverseGamma(alpha, scale)
    samples = draw(dist, jax.random.key(2), (SAMPLES,))
    assert samples.shape == (SAMPLES, 5) and samples.dtype == jnp.dtype(dtype)
    frozen = stats.invgamma(alpha64, scale=scale64)
    check_sample_moments(samples[:, :3], frozen.mean()[:3], frozen.var()[:3], "inverse gamma")
    check_sample_moments(samples[:, 3:], frozen.mean()[3:], None, "inverse gamma, heavy")
    assert np.all(np.asarray(samples) > 0)


def test_negative_binomial_sample_moments(dtype):
    cases = [(r, p) for r in (0.5, 3.7, 1e3) for p in (0.1, 0.5, 0.9, 0.99)]
    total, total64 = rounded([c[0] for c in cases], dtype)
    probs, _ = rounded([c[1] for c in cases], dtype)
    dist = NegativeBinomial(total, probs=probs)
    p, q = stored_probabilities(dist)
    samples = draw(dist, jax.random.key(4), (SAMPLES,))
    assert samples.shape == (SAMPLES, len(cases))
    # counts in the float dtype (exact integers), like Poisson's
    assert samples.dtype == jnp.dtype(dtype)
    assert np.all(np.asarray(samples) >= 0)
    assert np.all(np.floor(np.asarray(samples)) == np.asarray(samples))
    check_sample_moments(samples, total64 * p / q, total64 * p / q**2, "negative binomial")
    assert np.all(np.isfinite(np.asarray(log_prob_of(dist, samples))))


NIG_PRECISION = np.array([[2.0, 0.6], [0.6, 1.0]])


def test_normal_inverse_gamma_sample_moments(dtype):
    loc, loc64 = rounded([1.0, -2.0], dtype)
    precision, precision64 = rounded(NIG_PRECISION, dtype)
    a, b = 6.0, 2.0
    prior = NormalInverseGamma(loc, precision, jnp.asarray(a, dtype), jnp.asarray(b, dtype))
    weights, variance = jax.jit(lambda d, k: d.sample(k, (SAMPLES,)))(prior, jax.random.key(5))
    assert weights.shape == (SAMPLES, 2) and variance.shape == (SAMPLES,)
    assert weights.dtype == variance.dtype == jnp.dtype(dtype)
    w, v = np.asarray(weights, np.float64), np.asarray(variance, np.float64)
    # sigma^2 ~ InverseGamma(a, b): E = b / (a - 1), Var = b^2 / ((a-1)^2 (a-2))
    check_sample_moments(v, b / (a - 1), b**2 / ((a - 1) ** 2 * (a - 2)), "nig variance")
    # w: mean m, covariance E[sigma^2] inv(Lambda) = b / (a - 1) inv(Lambda)
    covariance = b / (a - 1) * np.linalg.inv(precision64)
    check_sample_moments(w, loc64, np.diag(covariance), "nig weights")
    products = (w[:, 0] - loc64[0]) * (w[:, 1] - loc64[1])
    assert abs(products.mean() - covariance[0, 1]) <= 5 * products.std() / np.sqrt(SAMPLES)
    # given sigma^2, L^T (w - m) / sigma is standard normal (Lambda = L L^T)
    factor = np.linalg.cholesky(precision64)
    z = (w - loc64) @ factor / np.sqrt(v)[:, None]
    check_sample_moments(z, np.zeros(2), np.ones(2), "nig whitened weights")
    zz = z[:, 0] * z[:, 1]
    assert abs(zz.mean()) <= 5 * zz.std() / np.sqrt(SAMPLES)
    # sample shapes
    weights, variance = prior.sample(jax.random.key(6), (4, 3))
    assert weights.shape == (4, 3, 2) and variance.shape == (4, 3)


# ----------------------------------------------------------------------------------------
# NormalInverseGamma: density, marginal and predictive against scipy.

def nig_log_density_reference(weights, variance, loc, precision, a, b):
    """scipy: multivariate_normal(loc, variance inv(precision)) + invgamma(a, scale=b)."""
    covariance = np.linalg.inv(precision)
    return np.array([
        stats.multivariate_normal(loc, v * covariance).logpdf(w)
        + stats.invgamma(a, scale=b).logpdf(v)
        for w, v in zip(weights, variance, strict=True)
    ])


@pytest.mark.parametrize("d", [1, 3])
def test_normal_inverse_gamma_log_prob_against_scipy(d, dtype):
    rng = np.random.default_rng(d)
    factor = np.tril(rng.normal(size=(d, d)), -1) + np.diag(rng.uniform(0.8, 2.0, d))
    precision, precision64 = rounded(factor @ factor.T, dtype)
    loc, loc64 = rounded(rng.normal(size=d), dtype)
    a, a64 = rounded(3.5, dtype)
    b, b64 = rounded(1.7, dtype)
    prior = NormalInverseGamma(loc, precision, a, b)
    assert prior.event_shape == (d,) and prior.dtype == jnp.dtype(dtype)
    variances = np.array([1e-3, 0.1, 0.5, 1.0, 4.0, 100.0])
    weights = loc64 + np.sqrt(variances)[:, None] * rng.normal(size=(6, d)) * np.array(
        [[0.0], [1.0], [3.0], [0.5], [2.0], [10.0]])
    w, w64 = rounded(weights, dtype)
    v, v64 = rounded(variances, dtype)
    expected = nig_log_density_reference(w64, v64, loc64, precision64, a64, b64)
    actual = jax.jit(lambda p, w, v: p.log_prob(w, v))(prior, w, v)
    assert actual.dtype == jnp.dtype(dtype) and actual.shape == (6,)
    assert_close(actual, expected, dtype)
    # broadcasting: weights (2, 6, d) against variances (6,)
    stacked = jnp.stack([w, w[::-1]])
    expected_reversed = nig_log_density_reference(w64[::-1], v64, loc64, precision64, a64, b64)
    assert_close(prior.log_prob(stacked, v), np.stack([expected, expected_reversed]), dtype)
    # variances <= 0 are off the support
    assert np.all(np.asarray(prior.log_prob(w[:3], jnp.asarray([0.0, -1.0, -1e-30], dtype)))
                  == -np.inf)
    # the marginal of the variance
    marginal = prior.variance_distribution()
    assert isinstance(marginal, InverseGamma)
    assert_close(marginal.log_prob(v), stats.invgamma(a64, scale=b64).logpdf(v64), dtype)


def test_normal_inverse_gamma_predictive_against_scipy(dtype):
    rng = np.random.default_rng(11)
    factor = np.array([[1.5, 0.0, 0.0], [0.4, 0.7, 0.0], [-0.3, 0.2, 1.1]])
    precision, precision64 = rounded(factor @ factor.T, dtype)
    loc, loc64 = rounded([0.5, -1.0, 2.0], dtype)
    a, a64 = rounded(4.5, dtype)
    b, b64 = rounded(3.0, dtype)
    X, X64 = rounded(rng.normal(size=(5, 3)) * np.array([[1.0], [0.1], [3.0], [10.0], [0.0]]),
                     dtype)
    predictive = NormalInverseGamma(loc, precision, a, b).predictive(X)
    assert isinstance(predictive, StudentT) and predictive.batch_shape == (5,)
    # closed form: t_{2a}(x m, sqrt(b/a (1 + x^T inv(Lambda) x)))
    leverage = np.einsum("ij,ij->i", X64, np.linalg.solve(precision64, X64.T).T)
    scale = np.sqrt(b64 / a64 * (1.0 + leverage))
    frozen = stats.t(2 * a64, X64 @ loc64, scale)
    assert_close(predictive.df, np.full(5, 2 * a64), dtype)
    assert_close(predictive.loc, X64 @ loc64, dtype)
    assert_close(predictive.scale, scale, dtype)
    y, y64 = rounded(X64 @ loc64 + scale * np.array([0.0, 1.0, -2.5, 10.0, 0.3]), dtype)
    assert_close(log_prob_of(predictive, y), frozen.logpdf(y64), dtype)
    assert_close(predictive.variance(), frozen.var(), dtype)


# ----------------------------------------------------------------------------------------
# Composability: plain / jit / vmap / grad against finite differences.

def log_prob_and_entropy(dist, x):
    return dist.log_prob(x), dist.entropy()


def negative_binomial_values(total_count, logits, probs, x):
    """Both parametrizations in one call (they share the compiled primitives)."""
    return (*log_prob_and_entropy(NegativeBinomial(total_count, logits=logits), x),
            *log_prob_and_entropy(NegativeBinomial(total_count, probs=probs), x))


def composable_cases(dtype):
    """name: (values, [(parameters..., x), ...]); the first set is also differentiated.

    Gradients of log_prob and entropy are taken with respect to the parameters (the values
    x are held fixed; NegativeBinomial's are integers).
    """
    def a(values):
        return jnp.asarray(values, dtype=dtype)

    def i(values):
        return jnp.asarray(values, dtype=jnp.int32)

    return {
        "student_t": (lambda *args: log_prob_and_entropy(StudentT(*args[:-1]), args[-1]), [
            (a([0.7, 30.0, 1e4]), a([0.5, -1.0, 0.0]), a([2.0, 0.3, 1.0]), a([1.5, -0.2, 3.0])),
            (a([2.5, 7.0, 100.0]), a([0.0, 1.0, 2.0]), a([1.0, 3.0, 0.1]), a([0.0, 2.0, -1.0])),
            (a([5.0, 1.0, 1e6]), a([-3.0, 0.0, 5.0]), a([0.1, 1.0, 4.0]), a([-2.9, 5.0, 0.0]))]),
        "inverse_gamma": (lambda *args: log_prob_and_entropy(InverseGamma(*args[:-1]), args[-1]), [
            (a([0.5, 30.0, 2.5]), a([2.0, 0.1, 1.5]), a([0.7, 0.01, 2.0])),
            (a([4.0, 12.0, 500.0]), a([1.0, 1.0, 1.0]), a([0.2, 4.0, 0.002])),
            (a([2.2, 9.0, 3.3]), a([10.0, 3.0, 0.5]), a([8.0, 0.3, 1.0]))]),
        "negative_binomial": (negative_binomial_values, [
            (a([0.5, 3.7, 50.0]), a([-1.0, 2.0, 0.0]), a([0.3, 0.9, 0.5]), i([0, 40, 48])),
            (a([2.0, 1.0, 200.0]), a([0.5, -3.0, 3.0]), a([0.5, 0.1, 0.95]), i([1, 0, 3900])),
            (a([10.0, 0.8, 7.0]), a([4.0, 0.4, -2.0]), a([0.99, 0.6, 0.2]), i([500, 3, 1]))]),
    }


@pytest.mark.parametrize("name", sorted(composable_cases(jnp.float32)))
def test_composable(name, dtype):
    """log_prob and entropy: plain, jit, vmap, and gradients in the parameters."""
    values, sets = composable_cases(dtype)[name]

    # (one plain call runs eagerly; the helper compiles the rest: jit, jit(vmap), and one
    # jit(value_and_grad) reused at every finite-difference point)
    def function(parameters, x):
        return values(*parameters, x)

    calls = [(tuple(arguments[:-1]), arguments[-1]) for arguments in sets]
    # in x64 mode the float64 run repeats the (float64) gradient check of the float32 run
    skip = jnp.dtype(dtype) == jnp.dtype(jnp.float32) and X64
    result = check_composable(function, calls[0], calls, grad_argnums=() if skip else (0,))
    for leaf in result:
        assert leaf.dtype == jnp.dtype(dtype) and np.all(np.isfinite(np.asarray(leaf)))


def nig_values(parameters):
    loc, precision, concentration, rate, weights, variance, X = parameters
    prior = NormalInverseGamma(loc, precision, concentration, rate)
    predictive = prior.predictive(X)  # (the StudentT itself is checked above)
    return prior.log_prob(weights, variance), predictive.df, predictive.loc, predictive.scale


def test_normal_inverse_gamma_composable(dtype):
    """NIG log_prob and predictive parameters: plain, jit, vmap, gradients in every argument."""
    def a(values):
        return jnp.asarray(values, dtype=dtype)

    factor = np.array([[1.5, 0.0], [0.4, 0.7]])
    sets = []
    for shift in (0.0, 0.5, 1.0):
        sets.append(((
            a([0.5 + shift, -1.0]), a(factor @ factor.T + shift * np.eye(2)), a(3.0 + shift),
            a(2.0 - shift), a([[0.2, -0.5], [1.0 + shift, 2.0], [0.0, 0.0]]),
            a([0.7, 1.5 + shift, 0.1]), a([[1.0, 0.5], [-2.0, shift], [0.0, 3.0]])),))
    skip = jnp.dtype(dtype) == jnp.dtype(jnp.float32) and X64
    result = check_composable(jax.jit(nig_values), sets[0], sets,
                              grad_argnums=() if skip else (0,))
    loc, precision, concentration, rate, weights, variance, _ = (
        np.asarray(v, np.float64) for v in sets[0][0])
    expected = nig_log_density_reference(weights, variance, loc, precision, concentration, rate)
    assert_close(result[0], expected, dtype)


def test_normal_inverse_gamma_vmap_over_priors(dtype):
    priors = [NormalInverseGamma(jnp.asarray([m, -m], dtype), jnp.asarray(s * NIG_PRECISION, dtype),
                                 jnp.asarray(c, dtype), jnp.asarray(r, dtype))
              for m, s, c, r in [(0.0, 1.0, 2.0, 1.0), (1.0, 3.0, 5.0, 0.5), (-2.0, 0.5, 1.5, 4.0)]]
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *priors)
    w, v = jnp.asarray([0.3, 0.1], dtype), jnp.asarray(0.8, dtype)
    batched = jax.vmap(lambda p: p.log_prob(w, v))(stacked)
    for index, prior in enumerate(priors):
        expected = nig_log_density_reference(
            np.asarray(w, np.float64)[None], [float(v)], np.asarray(prior.loc, np.float64),
            np.asarray(prior.precision, np.float64), float(prior.concentration),
            float(prior.rate))[0]
        assert_close(batched[index], expected, dtype)


# ----------------------------------------------------------------------------------------
# Shapes and bad input.

@pytest.mark.parametrize(
    ("make", "expected_shape"),
    [(lambda f: StudentT(f(np.full((2, 1), 3.0)), f(np.zeros(3)), f(1.0)), (2, 3)),
     (lambda f: InverseGamma(f(np.full((2, 1), 3.0)), f(np.ones(3))), (2, 3)),
     (lambda f: NegativeBinomial(f(np.full((2, 1), 3.0)), probs=f(np.full(3, 0.4))), (2, 3)),
     (lambda f: NegativeBinomial(f(np.full((2, 1), 3.0)), logits=f(np.zeros(3))), (2, 3))],
    ids=["student_t", "inverse_gamma", "nb_probs", "nb_logits"],
)
def test_parameters_broadcast_into_the_batch_shape(make, expected_shape, dtype):
    # (shapes by tracing alone: the values of 2-D batches are checked in the entropy tests)
    dist = make(lambda v: jnp.asarray(v, dtype))
    assert dist.batch_shape == expected_shape and dist.event_shape == ()
    assert dist.dtype == jnp.dtype(dtype)
    samples = jax.eval_shape(lambda d, k: d.sample(k, (4,)), dist, jax.random.key(0))
    assert samples.shape == (4, *expected_shape)
    for x in (jnp.ones((5, 1, 1), jnp.int32), jnp.ones((3,), dtype), 2):
        value = jax.eval_shape(lambda d, x: d.log_prob(x), dist, x)
        assert value.shape == np.broadcast_shapes(np.shape(x), expected_shape)
        assert value.dtype == jnp.dtype(dtype)
    for method in ("entropy", "mean", "variance"):
        value = jax.eval_shape(lambda d, m=method: getattr(d, m)(), dist)
        assert value.shape == expected_shape and value.dtype == jnp.dtype(dtype)


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: StudentT(jnp.ones(2), jnp.zeros(3)),
         r"StudentT: df shape \(2,\), loc shape \(3,\)"),
        (lambda: InverseGamma(jnp.ones(2), jnp.ones(3)),
         r"InverseGamma: concentration shape \(2,\), scale shape \(3,\)"),
        (lambda: NegativeBinomial(jnp.ones(2), probs=jnp.full(3, 0.5)),
         r"NegativeBinomial: total_count shape \(2,\), logits shape \(3,\)"),
        (lambda: NegativeBinomial(1.0, logits=0.0, probs=0.5),
         r"exactly one of logits= or probs=, got both"),
        (lambda: NegativeBinomial(1.0), r"exactly one of logits= or probs=, got neither"),
        (lambda: NormalInverseGamma(jnp.zeros(2), jnp.eye(3), 1.0, 1.0),
         r"NormalInverseGamma: precision must have shape \(2, 2\) to match loc, got \(3, 3\)"),
        (lambda: NormalInverseGamma(jnp.zeros(2), jnp.ones(2), 1.0, 1.0),
         r"precision must have shape \(2, 2\).*got \(2,\)"),
        (lambda: NormalInverseGamma(jnp.zeros((2, 2)), jnp.eye(2), 1.0, 1.0),
         r"NormalInverseGamma: loc must have shape \(d,\), got \(2, 2\)"),
        (lambda: NormalInverseGamma(jnp.zeros(2), jnp.eye(2), jnp.ones(2), 1.0),
         r"concentration and rate must be scalars, got shapes \(2,\) and \(\)"),
        (lambda: NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 1.0, jnp.ones(3)),
         r"concentration and rate must be scalars, got shapes \(\) and \(3,\)"),
        (lambda: NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 2.0, 1.0).log_prob(
            jnp.zeros((5, 3)), 1.0), r"weights must end with \(2,\), got \(5, 3\)"),
        (lambda: NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 2.0, 1.0).predictive(
            jnp.zeros((4, 3))), r"X must have shape \(n, 2\), got \(4, 3\)"),
        (lambda: NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 2.0, 1.0).predictive(
            jnp.zeros(2)), r"X must have shape \(n, 2\), got \(2,\)"),
    ],
)
def test_bad_input(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_complex_parameters_are_rejected():
    with pytest.raises(TypeError, match=r"df must be real"):
        StudentT(1j)
    with pytest.raises(TypeError, match=r"precision must be real"):
        NormalInverseGamma(jnp.zeros(1), jnp.eye(1) * 1j, 1.0, 1.0)


# ----------------------------------------------------------------------------------------
# The ``fit`` classmethods: the right objects, batch shapes from trailing axes, and the EM
# M-step pattern (vmap over columns of responsibilities). The fits' values against numpy
# closed forms (and scipy for the Gamma shape); the _fit functions against optim.mle are
# tested elsewhere.

def assert_same_distribution(actual, expected):
    assert type(actual) is type(expected)
    for got, want in zip(jax.tree_util.tree_leaves(actual), jax.tree_util.tree_leaves(expected),
                         strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def weighted_median_objective(x, w, m):
    return np.sum(w * np.abs(x - m))


def gamma_mle_reference(x, w):
    """Shape solving log a - digamma(a) = log mean - mean log (weighted), by brentq."""
    mean = np.average(x, weights=w)
    s = np.log(mean) - np.average(np.log(x), weights=w)
    shape = optimize.brentq(lambda a: np.log(a) - sp.digamma(a) - s, 1e-8, 1e12, xtol=1e-300,
                            rtol=1e-15)
    return shape, shape / mean


FIT_N = 60


def fit_data(dtype):
    rng = np.random.default_rng(3)
    weights, weights64 = rounded(rng.uniform(0.0, 2.0, FIT_N) * (rng.random(FIT_N) > 0.2), dtype)
    real, real64 = rounded(rng.normal(1.0, 2.0, FIT_N), dtype)
    positive, positive64 = rounded(rng.gamma(2.5, 1.5, FIT_N), dtype)
    counts = rng.poisson(3.0, FIT_N)
    binary = rng.integers(0, 2, FIT_N)
    labels = rng.integers(0, 4, FIT_N)
    return {"w": (weights, weights64), "real": (real, real64), "positive": (positive, positive64),
            "counts": counts, "binary": binary, "labels": labels}


def test_fit_classmethods_return_the_right_objects(dtype):
    data = fit_data(dtype)
    w, w64 = data["w"]
    real, real64 = data["real"]
    positive, positive64 = data["positive"]
    for weights, weights64 in ((None, np.ones(FIT_N)), (w, w64)):
        # objects equal to the functions' parameters
        pairs = [
            (Normal.fit(real, weights), Normal(*_fit.fit_normal(real, weights))),
            (Laplace.fit(real, weights), Laplace(*_fit.fit_laplace(real, weights))),
            (Gamma.fit(positive, weights), Gamma(*_fit.fit_gamma(positive, weights))),
            (Uniform.fit(real, weights), Uniform(*_fit.fit_uniform(real, weights))),
            (Bernoulli.fit(data["binary"], weights),
             Bernoulli(probs=_fit.fit_bernoulli(data["binary"], weights))),
            (Poisson.fit(data["counts"], weights),
             Poisson(_fit.fit_poisson(data["counts"], weights))),
            (Categorical.fit(data["labels"], 4, weights),
             Categorical(probs=_fit.fit_categorical(data["labels"], 4, weights))),
        ]
        for actual, expected in pairs:
            assert_same_distribution(actual, expected)
            assert actual.batch_shape == ()
        # and the values: numpy closed forms at the rounded data
        normal = Normal.fit(real, weights)
        mean = np.average(real64, weights=weights64)
        assert_close(normal.loc, mean, dtype)
        assert_close(normal.scale, np.sqrt(np.average((real64 - mean) ** 2, weights=weights64)),
                     dtype)
        laplace = Laplace.fit(real, weights)
        best = min(weighted_median_objective(real64, weights64, m) for m in real64)
        assert_close(weighted_median_objective(real64, weights64, float(laplace.loc)), best, dtype)
        assert_close(laplace.scale, np.average(np.abs(real64 - float(laplace.loc)),
                                               weights=weights64), dtype)
        gamma = Gamma.fit(positive, weights)
        shape, rate = gamma_mle_reference(positive64, weights64)
        assert_close(gamma.concentration, shape, dtype)
        assert_close(gamma.rate, rate, dtype)
        uniform = Uniform.fit(real, weights)
        assert_close(uniform.low, real64[weights64 > 0].min(), dtype)
        assert_close(uniform.high, real64[weights64 > 0].max(), dtype)
        assert_close(Bernoulli.fit(data["binary"], weights).probs,
                     np.average(data["binary"], weights=weights64), dtype)
        assert_close(Poisson.fit(data["counts"], weights).rate,
                     np.average(data["counts"], weights=weights64), dtype)
        frequencies = np.bincount(data["labels"], weights=weights64, minlength=4)
        assert_close(Categorical.fit(data["labels"], 4, weights).probs,
                     frequencies / frequencies.sum(), dtype)


def test_multivariate_normal_fit(dtype):
    rng = np.random.default_rng(4)
    x, x64 = rounded(rng.normal(size=(FIT_N, 3)) @ np.array(
        [[1.0, 0.0, 0.0], [0.5, 2.0, 0.0], [-1.0, 0.3, 0.5]]) + np.array([1.0, -2.0, 0.0]), dtype)
    w, w64 = rounded(rng.uniform(0.0, 1.0, FIT_N), dtype)
    for weights, weights64, reg in ((None, np.ones(FIT_N), 0.0), (w, w64, 1e-3)):
        dist = MultivariateNormal.fit(x, weights, reg_covar=reg)
        mean, covariance = _fit.fit_multivariate_normal(x, weights, reg)
        assert_same_distribution(dist, MultivariateNormal(mean, covariance=covariance))
        assert dist.batch_shape == () and dist.event_shape == (3,)
        assert_close(dist.loc, np.average(x64, axis=0, weights=weights64), dtype)
        expected = np.cov(x64.T, aweights=weights64, bias=True) + reg * np.eye(3)
        assert_close(dist.covariance(), expected, dtype)


def test_fit_trailing_axes_become_the_batch_shape(dtype):
    rng = np.random.default_rng(5)
    x, x64 = rounded(rng.normal(size=(40, 3, 2)), dtype)
    positive, positive64 = rounded(rng.gamma(3.0, 1.0, size=(40, 3, 2)), dtype)
    labels = rng.integers(0, 3, size=(40, 3))
    w, w64 = rounded(rng.uniform(0.1, 1.0, 40), dtype)
    full, full64 = rounded(rng.uniform(0.1, 1.0, (40, 3, 2)), dtype)
    for weights, weights64 in ((None, np.ones((40, 3, 2))), (w, np.broadcast_to(
            w64[:, None, None], (40, 3, 2))), (full, full64)):
        normal = Normal.fit(x, weights)
        assert normal.batch_shape == (3, 2)
        mean = np.sum(weights64 * x64, axis=0) / np.sum(weights64, axis=0)
        assert_close(normal.loc, mean, dtype)
        assert_close(normal.scale, np.sqrt(np.sum(weights64 * (x64 - mean) ** 2, axis=0)
                                           / np.sum(weights64, axis=0)), dtype)
        gamma = Gamma.fit(positive, weights)
        assert gamma.batch_shape == (3, 2)
        for i, j in np.ndindex(3, 2):
            shape, rate = gamma_mle_reference(positive64[:, i, j], weights64[:, i, j])
            assert_close(gamma.concentration[i, j], shape, dtype)
            assert_close(gamma.rate[i, j], rate, dtype)
        for cls in (Laplace, Uniform, Poisson, Bernoulli):
            assert cls.fit(jnp.abs(x) if cls is Poisson else x, weights).batch_shape == (3, 2)
    categorical = Categorical.fit(labels, 3, w)
    assert categorical.batch_shape == (3,) and categorical.probs.shape == (3, 3)
    for j in range(3):
        frequencies = np.bincount(labels[:, j], weights=w64, minlength=3)
        assert_close(categorical.probs[j], frequencies / frequencies.sum(), dtype)


def test_fit_under_vmap_over_weight_columns(dtype):
    """The EM M-step: every component fitted at once from a matrix of responsibilities."""
    rng = np.random.default_rng(6)
    x, x64 = rounded(np.concatenate([rng.normal(-2.0, 1.0, (30, 2)),
                                     rng.normal(3.0, 0.5, (30, 2))]), dtype)
    logits = rng.normal(size=(60, 3)) + 3.0 * np.repeat(np.eye(3)[:2], 30, axis=0)
    responsibilities, r64 = rounded(sp.softmax(logits, axis=1), dtype)
    fit_all = jax.jit(jax.vmap(lambda r: MultivariateNormal.fit(x, r, reg_covar=1e-6), in_axes=1))
    mixture = fit_all(responsibilities)
    assert isinstance(mixture, MultivariateNormal)
    assert mixture.batch_shape == (3,) and mixture.event_shape == (2,)
    for k in range(3):
        assert_close(mixture.loc[k], np.average(x64, axis=0, weights=r64[:, k]), dtype)
        expected = np.cov(x64.T, aweights=r64[:, k], bias=True) + 1e-6 * np.eye(2)
        assert_close(mixture.covariance()[k], expected, dtype)
        single = MultivariateNormal.fit(x, responsibilities[:, k], reg_covar=1e-6)
        assert_close(mixture.scale_tril[k], single.scale_tril, rtol=10 * rtol_for(dtype))
    # the scalar families too, under jit and vmap
    normals = jax.jit(jax.vmap(lambda r: Normal.fit(x[:, 0], r), in_axes=1))(responsibilities)
    assert normals.batch_shape == (3,)
    for k in range(3):
        mean = np.average(x64[:, 0], weights=r64[:, k])
        assert_close(normals.loc[k], mean, dtype)
        assert_close(normals.scale[k], np.sqrt(np.average((x64[:, 0] - mean) ** 2,
                                                          weights=r64[:, k])), dtype)
    labels = jnp.asarray(rng.integers(0, 4, 60))
    categoricals = jax.vmap(lambda r: Categorical.fit(labels, 4, r), in_axes=1)(responsibilities)
    assert categoricals.probs.shape == (3, 4)
    for k in range(3):
        frequencies = np.bincount(np.asarray(labels), weights=r64[:, k], minlength=4)
        assert_close(categoricals.probs[k], frequencies / frequencies.sum(), dtype)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: Normal.fit(jnp.zeros(5), jnp.ones(4)), ValueError,
         r"Normal.fit: weights must have one entry per sample \(5\)"),
        (lambda: Normal.fit(jnp.float32(1.0)), ValueError,
         r"Normal.fit: x must have a sample axis"),
        (lambda: MultivariateNormal.fit(jnp.zeros(5)), ValueError,
         r"MultivariateNormal.fit: x must have shape \(n, d\)"),
        (lambda: Categorical.fit(jnp.zeros(5), 3), TypeError,
         r"Categorical.fit: x must hold integer labels"),
        (lambda: Normal.fit(jnp.zeros((5, 3)), jnp.ones((5, 2))), ValueError,
         r"weights of shape \(5, 2\) do not broadcast"),
    ],
)
def test_fit_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
