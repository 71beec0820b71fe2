"""Numerically careful special functions shared by the rest of mlmath (private).

Every public formula of the gamma family (Poisson, Gamma, Beta, Dirichlet log-densities,
entropies and divergences) is naively a difference of large ``lgamma`` terms whose result is
of order one, so in float32 it loses four or more digits once a parameter reaches the
hundreds. The helpers here rewrite those formulas so the large parts cancel analytically:

* ``stirling_correction(x)`` is ``lgamma(x)`` minus its Stirling approximation,
* ``digamma_minus_log(x)`` is ``digamma(x) - log(x)``,
* ``bd0(x, m)`` is Loader's deviance term ``x log(x/m) + m - x``, computed by a series
  where ``x`` is close to ``m`` (Loader, *Fast and accurate computation of binomial
  probabilities*, 2000),

and build ``log_poisson_kernel`` (a Poisson log-pmf at a real count), ``lgamma_bregman``
(the Bregman divergence of ``lgamma``), ``poisson_entropy`` and the two conventions for
``0 log 0`` (``xlogy``, ``xlogx``) on top of them.

All functions are elementwise, jittable and differentiable; every ``jnp.where`` guards
both branches so no NaN from an unused branch reaches a gradient.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy import special as jsp_special

_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)

def series_threshold(dtype) -> float:
    """Where the asymptotic series below take over from ``lgamma``/``digamma``, per dtype.

    float64: 10, where the first omitted term of either series is below 1e-15 relative and
    below which XLA's float64 ``lgamma`` is accurate. float32: 5, where the omitted term
    (< 2e-11) is far below float32 precision, while XLA's float32 ``lgamma`` has absolute
    errors up to ~5e-6 between 5 and 10 (and ~2e-6 below, which nothing cheaper beats).
    """
    return 10.0 if jnp.finfo(dtype).bits >= 64 else 5.0
# lgamma(x) - [(x - 1/2) log x - x + log(2 pi)/2] = sum_j B_2j / (2j (2j - 1) x^(2j - 1))
_STIRLING_COEFFICIENTS = (
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360360.0,
)
# digamma(x) - log x = -1/(2x) - sum_j B_2j / (2j x^(2j))
_DIGAMMA_COEFFICIENTS = (
    -1.0 / 12.0,
    1.0 / 120.0,
    -1.0 / 252.0,
    1.0 / 240.0,
    -1.0 / 132.0,
    691.0 / 32760.0,
)


def _odd_series(inverse_x, coefficients):
    """sum_j coefficients[j] * inverse_x ** (2 j + 1)."""
    inverse_x_squared = inverse_x * inverse_x
    total = jnp.zeros_like(inverse_x)
    for coefficient in reversed(coefficients):
        total = total * inverse_x_squared + coefficient
    return total * inverse_x


def stirling_correction(x):
    """``lgamma(x) - ((x - 1/2) log x - x + log(2 pi) / 2)`` for ``x > 0``.

    Behaves like ``1 / (12 x)`` for large ``x``; computed by its asymptotic series there so
    that no large ``lgamma`` value is ever subtracted.
    """
    x = jnp.asarray(x)
    threshold = series_threshold(x.dtype)
    large = x >= threshold
    x_large = jnp.where(large, x, threshold)
    x_small = jnp.where(large, 1.0, x)
    series = _odd_series(1.0 / x_large, _STIRLING_COEFFICIENTS)
    direct = (
        jsp_special.gammaln(x_small) - (x_small - 0.5) * jnp.log(x_small) + x_small
        - _HALF_LOG_TWO_PI
    )
    return jnp.where(large, series, direct)


def digamma_minus_log(x):
    """``digamma(x) - log(x)`` for ``x > 0``; about ``-1 / (2 x)`` for large ``x``."""
    x = jnp.asarray(x)
    threshold = series_threshold(x.dtype)
    large = x >= threshold
    x_large = jnp.where(large, x, threshold)
    x_small = jnp.where(large, 1.0, x)
    inverse = 1.0 / x_large
    series = -0.5 * inverse + inverse * _odd_series(inverse, _DIGAMMA_COEFFICIENTS)
    direct = jsp_special.digamma(x_small) - jnp.log(x_small)
    return jnp.where(large, series, direct)


_BD0_TERMS = 8


def bd0(x, m, log_m=None):
    """Loader's deviance ``x log(x / m) + m - x >= 0`` for ``x >= 0``, ``m >= 0``.

    Where ``|x - m| < 0.1 (x + m)`` it is evaluated as
    ``(x - m) v + 2 x sum_j v^(2j+1) / (2j+1)`` with ``v = (x - m) / (x + m)``, which has no
    cancellation; elsewhere directly. ``log_m`` (optional) is ``log(m)`` when the caller
    has it more accurately than ``log(exp(...))``, e.g. a rate that underflows to 0.
    """
    x, m = jnp.asarray(x), jnp.asarray(m)
    difference = x - m
    total = x + m
    near = jnp.abs(difference) < 0.1 * total
    safe_total = jnp.where(near, total, 1.0)
    v = jnp.where(near, difference, 0.0) / safe_total
    v_squared = v * v
    series = jnp.zeros_like(v)
    for j in reversed(range(1, _BD0_TERMS + 1)):
        series = series * v_squared + 1.0 / (2 * j + 1)
    near_value = difference * v + 2.0 * x * v * v_squared * series
    # far branch: x log(x/m) + m - x, with 0 log 0 = 0 and x > 0 = m giving inf
    x_far = jnp.where(near, 1.0, x)
    m_far = jnp.where(near, 1.0, m)
    if log_m is None:
        log_m_far = safe_log(m_far)
    else:
        log_m_far = jnp.where(near, 0.0, log_m)
    known = log_m_far > -jnp.inf
    x_log_ratio = jnp.where(
        x_far == 0,
        0.0,
        jnp.where(known, x_far * (safe_log(x_far) - jnp.where(known, log_m_far, 0.0)), jnp.inf),
    )
    far_value = x_log_ratio + m_far - x_far
    return jnp.where(near, near_value, far_value)


def log_poisson_kernel(count, rate, log_rate=None):
    """``count log(rate) - rate - lgamma(count + 1)`` for real ``count >= 0``, ``rate >= 0``.

    This is the Poisson log-pmf at a (possibly non-integer) count. For larger counts it is
    evaluated as ``-bd0(count, rate) - log(2 pi count) / 2 - stirling_correction(count)``,
    accurate to a few ulps even when ``count`` and ``rate`` are in the millions (where the
    direct formula subtracts numbers of order ``count log count``); below
    ``series_threshold`` (5 in float32, 10 in float64) the direct
    formula has no such cancellation and is used as is. Pass ``log_rate`` too when it is
    known exactly (a rate that underflows to 0 then still gives the right finite value).
    """
    count, rate = jnp.asarray(count), jnp.asarray(rate)
    if log_rate is None:
        log_rate = safe_log(rate)
    threshold = series_threshold(jnp.result_type(count, rate))
    small = count < threshold
    count_small = jnp.where(small, count, 1.0)
    direct = (
        count_small * jnp.where(small, log_rate, 0.0)
        - rate
        - jsp_special.gammaln(count_small + 1.0)
    )
    # count 0 (the commonest count of all) is exactly -rate; XLA's float32 lgamma(1) is not 0
    direct = jnp.where(count == 0, -rate, direct)
    count_large = jnp.where(small, threshold, count)
    saddle_point = (
        -bd0(count_large, rate, log_rate)
        - 0.5 * jnp.log(count_large)
        - _HALF_LOG_TWO_PI
        - stirling_correction(count_large)
    )
    return jnp.where(small, direct, saddle_point)


def _lgamma_bregman_large(b, a):
    """``lgamma_bregman`` for ``a >= series_threshold`` (any ``b > 0``), by Stirling's series."""
    difference = b - a
    return (
        bd0(b, a)
        - 0.5 * jnp.log1p(difference / a)
        - difference * digamma_minus_log(a)
        + stirling_correction(b)
        - stirling_correction(a)
    )


_BREGMAN_SHIFT = 10


def lgamma_bregman(b, a):
    """``lgamma(b) - lgamma(a) - digamma(a) (b - a) >= 0`` for ``a, b > 0``.

    The Bregman divergence of ``lgamma`` (convex on the positive axis). It appears in
    every divergence between Gamma, Beta and Dirichlet distributions, and is tiny when
    ``b`` is close to ``a``, so the naive difference of ``lgamma`` values loses all its
    digits there. For ``a >= series_threshold`` (5 in float32, 10 in float64) it is
    ``bd0(b, a) - log1p((b - a)/a)/2 - (b - a) digamma_minus_log(a) + stirling_correction(b)
    - stirling_correction(a)``; below, the recurrence ``lgamma(x) = lgamma(x + n) - sum_i
    log(x + i)`` gives ``B(b, a) = B(b + n, a + n) + sum_{i<n} bd0(a + i, b + i) / (a + i)``,
    a sum of non-negative, accurately computed terms.
    """
    b, a = jnp.asarray(b), jnp.asarray(a)
    small = a < series_threshold(jnp.result_type(a, b))
    a_large = jnp.where(small, a + _BREGMAN_SHIFT, a)
    b_large = jnp.where(small, b + _BREGMAN_SHIFT, b)
    shifted = jnp.zeros_like(a * b)
    a_small = jnp.where(small, a, 1.0)
    b_small = jnp.where(small, b, 1.0)
    for i in range(_BREGMAN_SHIFT):
        shifted = shifted + bd0(a_small + i, b_small + i) / (a_small + i)
    return _lgamma_bregman_large(b_large, a_large) + jnp.where(small, shifted, 0.0)


# Poisson entropy. Below _POISSON_SERIES_MIN it is summed exactly over k = 0.._POISSON_TERMS
# (the tail beyond is below 1e-30 of the total); above, the asymptotic series
# H = log(2 pi e rate)/2 + sum_m c_m rate^-m, whose coefficients come from expanding
# lgamma(k + 1) about the rate and averaging with the Poisson central moments
# (tools/poisson_entropy_series.py derives them exactly). At rate = 50 the first omitted
# term is below 1e-14 of the entropy.
_POISSON_SERIES_MIN = 50.0
_POISSON_TERMS = 160
_POISSON_ENTROPY_COEFFICIENTS = (
    -1.0 / 12.0,
    -1.0 / 24.0,
    -19.0 / 360.0,
    -9.0 / 80.0,
    -863.0 / 2520.0,
    -1375.0 / 1008.0,
    -33953.0 / 5040.0,
    -57281.0 / 1440.0,
    -3250433.0 / 11880.0,
    -378351.0 / 176.0,
)


def poisson_entropy(rate):
    """Entropy (nats) of a Poisson distribution with the given rate, elementwise."""
    rate = jnp.asarray(rate)
    large = rate >= _POISSON_SERIES_MIN
    rate_small = jnp.where(large, 1.0, rate)
    rate_large = jnp.where(large, rate, _POISSON_SERIES_MIN)
    counts = jnp.arange(_POISSON_TERMS + 1, dtype=rate.dtype)
    log_pmf = log_poisson_kernel(counts, rate_small[..., None])
    summed = -jnp.sum(xlogx_exp(log_pmf), axis=-1)
    inverse = 1.0 / rate_large
    series = jnp.zeros_like(inverse)
    for coefficient in reversed(_POISSON_ENTROPY_COEFFICIENTS):
        series = (series + coefficient) * inverse
    asymptotic = 0.5 * (jnp.log(2.0 * math.pi * rate_large) + 1.0) + series
    return jnp.where(large, asymptotic, summed)


# ----------------------------------------------------------------------------------------
# 0 log 0 = 0, with gradients that stay finite at 0.
#
# Convention (the same as TensorFlow's xlogy): where x == 0 the term is 0 and its partial
# derivatives with respect to both x and y are 0. An entry with probability exactly zero is
# outside the support: it contributes nothing and the gradient does not try to move it. This
# is also the limit that the chain rule gives through a softmax, whose Jacobian multiplies
# the partial derivative by that probability.


@jax.custom_jvp
def xlogy(x, y):
    """``x * log(y)`` with ``0 * log(y) = 0`` for any ``y >= 0`` (and zero gradient there)."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    nonzero = x != 0
    safe_y = jnp.where(nonzero, y, 1.0)
    return jnp.where(nonzero, x * jnp.log(safe_y), jnp.zeros_like(x * safe_y))


@xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    x, y = primals
    x_dot, y_dot = tangents
    x, y = jnp.asarray(x), jnp.asarray(y)
    nonzero = x != 0
    safe_y = jnp.where(nonzero, y, 1.0)
    d_x = jnp.where(nonzero, jnp.log(safe_y), 0.0)
    d_y = jnp.where(nonzero, x / safe_y, 0.0)
    return xlogy(x, y), d_x * x_dot + d_y * y_dot


@jax.custom_jvp
def xlogx(x):
    """``x * log(x)`` with ``0 log 0 = 0`` and derivative ``log(x) + 1`` (0 at ``x == 0``)."""
    return xlogy(x, x)


@xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    x = jnp.asarray(x)
    nonzero = x != 0
    safe_x = jnp.where(nonzero, x, 1.0)
    return xlogx(x), jnp.where(nonzero, jnp.log(safe_x) + 1.0, 0.0) * x_dot


def xlogx_exp(log_x):
    """``exp(log_x) * log_x``: the ``x log x`` term from a log-probability (0 at ``-inf``)."""
    log_x = jnp.asarray(log_x)
    finite = log_x > -jnp.inf
    safe = jnp.where(finite, log_x, 0.0)
    return jnp.where(finite, jnp.exp(safe) * safe, 0.0)


# ----------------------------------------------------------------------------------------
# phi(d) = d - 1 + exp(-d) >= 0: the per-term form of every KL divergence.
#
# For probabilities p, q with d = log p - log q, p * phi(d) = p log(p/q) - p + q, and for
# normalized p, q the sum of these terms is KL(p || q). Each term is >= 0, so a sum of them
# can never come out negative through rounding, unlike sum p log(p/q).

_PHI_SERIES_MAX = 1e-3


def phi(d):
    """``d - 1 + exp(-d) = d + expm1(-d) >= 0``, accurate near ``d = 0`` where it is ``d²/2``."""
    d = jnp.asarray(d)
    small = jnp.abs(d) < _PHI_SERIES_MAX
    d_small = jnp.where(small, d, 0.0)
    # d^2/2 - d^3/6 + d^4/24 - d^5/120 + d^6/720
    series = d_small * d_small * (
        0.5 - d_small * (1.0 / 6.0 - d_small * (1.0 / 24.0 - d_small * (
            1.0 / 120.0 - d_small / 720.0)))
    )
    d_large = jnp.where(small, 1.0, d)
    direct = d_large + jnp.expm1(-d_large)
    return jnp.where(small, series, direct)


def safe_log(x):
    """``log(x)`` with ``log(0) = -inf`` and a zero (not NaN) gradient at ``x == 0``."""
    x = jnp.asarray(x)
    positive = x > 0
    return jnp.where(positive, jnp.log(jnp.where(positive, x, 1.0)), -jnp.inf)


def kl_terms(p, q, log_p=None, log_q=None):
    """Elementwise ``p log(p/q) - p + q >= 0`` (scipy's ``kl_div``).

    Give probabilities, log-probabilities, or both (both avoids recomputing one from the
    other: pass ``p=None`` to use ``exp(log_p)``). The term is ``p * phi(log p - log q)``
    where ``q`` is within a factor ``e`` of ``p`` (no overflow, no cancellation) and
    ``q + p (d - 1)`` where ``q`` dominates. Where ``p == 0`` the term is ``q``; where
    ``q == 0 < p`` it is ``inf``.
    """
    if log_p is None:
        log_p = safe_log(p)
    if log_q is None:
        log_q = safe_log(q)
    log_p, log_q = jnp.asarray(log_p), jnp.asarray(log_q)
    p_positive = log_p > -jnp.inf
    q_positive = log_q > -jnp.inf
    both = p_positive & q_positive
    safe_log_p = jnp.where(both, log_p, 0.0)
    safe_log_q = jnp.where(both, log_q, 0.0)
    p = jnp.exp(safe_log_p) if p is None else jnp.where(both, p, 1.0)
    q_value = jnp.exp(log_q) if q is None else jnp.asarray(q)
    q = jnp.where(both, q_value, 1.0)
    d = safe_log_p - safe_log_q
    near = d >= -1.0
    term = jnp.where(near, p * phi(jnp.where(near, d, 0.0)), q + p * (d - 1.0))
    return jnp.where(both, term, jnp.where(p_positive, jnp.inf, q_value))
