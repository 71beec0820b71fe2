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
import numpy as np
from jax import Array
from jax.scipy import special as jsp_special
from jax.typing import ArrayLike, DTypeLike

HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
"""``log(2 pi) / 2``, the normalizing constant of a standard normal in log space."""

def series_threshold(dtype: DTypeLike) -> float:
    """Where the asymptotic series take over from the upward recurrences, per dtype.

    At 10 (float64) or 5 (float32) the first omitted term of the Stirling and digamma series
    below is under 1e-15 (resp. 2e-11) relative; smaller arguments are shifted up to it by
    the recurrences ``lgamma(x) = lgamma(x + 1) - log x``, ``digamma(x) = digamma(x + 1) - 1/x``,
    whose increments are sums of positive terms. No XLA ``lgamma`` or ``digamma`` is used:
    in float32 those are off by up to ~5e-6 absolute.
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
_ARTANH_TERMS = 16


def _odd_series(inverse_x, coefficients):
    """sum_j coefficients[j] * inverse_x ** (2 j + 1)."""
    inverse_x_squared = inverse_x * inverse_x
    total = jnp.zeros_like(inverse_x)
    for coefficient in reversed(coefficients):
        total = total * inverse_x_squared + coefficient
    return total * inverse_x


def _artanh_tail(w):
    """``sum_{j >= 1} w^(2j) / (2j + 1)`` for ``|w| <= 1/3`` (so ``artanh(w) = w (1 + tail)``)."""
    w_squared = w * w
    total = jnp.zeros_like(w)
    for j in reversed(range(1, _ARTANH_TERMS + 1)):
        total = (total + 1.0 / (2 * j + 1)) * w_squared
    return total


def _stirling_step(y):
    """``stirling_correction(y) - stirling_correction(y + 1) = (y + 1/2) log(1 + 1/y) - 1 > 0``.

    With ``u = 1/(2y + 1)`` this is ``u^2/3 + u^4/5 + ...``: a sum of positive terms (used
    for ``y >= 1``, where ``u <= 1/3``); below, the closed form has no harmful cancellation.
    """
    series_region = y >= 1.0
    y_series = jnp.where(series_region, y, 1.0)
    y_direct = jnp.where(series_region, 1.0, y)
    series = _artanh_tail(1.0 / (2.0 * y_series + 1.0))
    direct = (y_direct + 0.5) * jnp.log1p(1.0 / y_direct) - 1.0
    return jnp.where(series_region, series, direct)


def log1p_gap(v: ArrayLike) -> Array:
    """``v - log(1 + v) >= 0`` for ``v > -1``, accurate also where it is ``~v^2/2``.

    With ``w = v / (2 + v)``, ``log1p(v) = 2 artanh(w)`` and the gap is
    ``2 w^2 / (1 - w) - 2 w^3 (1/3 + w^2/5 + ...)``, free of cancellation for ``|w| <= 1/3``
    (``-1/2 <= v <= 1``); outside, the direct difference is already accurate.
    """
    v = jnp.asarray(v)
    series_region = (v >= -0.5) & (v <= 1.0)
    v_series = jnp.where(series_region, v, 0.0)
    w = v_series / (2.0 + v_series)
    series = 2.0 * w * w / (1.0 - w) - 2.0 * w * _artanh_tail(w)
    v_direct = jnp.where(series_region, 1.0, v)
    direct = v_direct - jnp.log1p(v_direct)
    return jnp.where(series_region, series, direct)


def stirling_correction(x: ArrayLike) -> Array:
    """``lgamma(x) - ((x - 1/2) log x - x + log(2 pi) / 2)`` for ``x > 0``.

    About ``1 / (12 x)`` for large ``x``, where it is computed by its asymptotic series;
    smaller arguments are shifted above ``series_threshold`` by the recurrence
    ``S(x) = S(x + 1) + (x + 1/2) log(1 + 1/x) - 1``, whose increments are positive. Accurate
    to a few ulps for every ``x > 0`` in both float32 and float64.
    """
    x = jnp.asarray(x)
    threshold = series_threshold(x.dtype)
    shift = int(threshold)
    large = x >= threshold
    x_large = jnp.where(large, x, threshold)
    x_small = jnp.where(large, 1.0, x)
    # the `shift` recurrence steps side by side on a trailing axis: one set of operations
    # in the program, not `shift` copies of it
    steps = _stirling_step(x_small[..., None] + jnp.arange(shift, dtype=x_small.dtype))
    small = _odd_series(1.0 / (x_small + shift), _STIRLING_COEFFICIENTS) + jnp.sum(steps, -1)
    return jnp.where(large, _odd_series(1.0 / x_large, _STIRLING_COEFFICIENTS), small)


def _digamma_series(x):
    inverse = 1.0 / x
    return -0.5 * inverse + inverse * _odd_series(inverse, _DIGAMMA_COEFFICIENTS)


def digamma_minus_log(x: ArrayLike) -> Array:
    """``digamma(x) - log(x)`` for ``x > 0``; about ``-1 / (2 x)`` for large ``x``.

    By its asymptotic series above ``series_threshold`` and below by the recurrence
    ``D(x) = D(x + 1) - (1/x - log(1 + 1/x))``, whose decrements are positive.
    """
    x = jnp.asarray(x)
    threshold = series_threshold(x.dtype)
    shift = int(threshold)
    large = x >= threshold
    x_large = jnp.where(large, x, threshold)
    x_small = jnp.where(large, 1.0, x)
    gaps = log1p_gap(1.0 / (x_small[..., None] + jnp.arange(shift, dtype=x_small.dtype)))
    small = _digamma_series(x_small + shift) - jnp.sum(gaps, -1)
    return jnp.where(large, _digamma_series(x_large), small)


def log_ratio(a: ArrayLike, b: ArrayLike) -> Array:
    """``log(a / b)`` for positive ``a``, ``b``: ``log1p`` of the exact difference when close.

    ``log(a) - log(b)`` carries the rounding of two logarithms (``eps |log a|`` each), far
    more than ``log(a/b)`` itself when ``a`` and ``b`` are nearly equal; ``a - b`` is exact
    there (Sterbenz), so ``log1p((a - b) / b)`` is accurate to a few ulps.
    """
    a, b = jnp.asarray(a), jnp.asarray(b)
    close = jnp.abs(a - b) < 0.5 * b
    safe_b = jnp.where(close, b, 1.0)
    near = jnp.log1p(jnp.where(close, a - b, 0.0) / safe_b)
    return jnp.where(close, near, safe_log(a) - safe_log(b))


_BD0_TERMS = 8


def bd0(x: ArrayLike, m: ArrayLike, log_m: ArrayLike | None = None) -> Array:
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


def log_poisson_kernel(count: ArrayLike, rate: ArrayLike,
                       log_rate: ArrayLike | None = None) -> Array:
    """``count log(rate) - rate - lgamma(count + 1)`` for real ``count >= 0``, ``rate >= 0``.

    The Poisson log-pmf at a (possibly non-integer) count, in Loader's saddle-point form
    ``-bd0(count, rate) - log(2 pi count) / 2 - stirling_correction(count)``: accurate to a few
    ulps for counts and rates from 0 to the millions (the direct formula subtracts numbers of
    order ``count log count``). Count 0 is exactly ``-rate``. Pass ``log_rate`` too when it is
    known exactly (a rate that underflows to 0 then still gives the right finite value).
    """
    count, rate = jnp.asarray(count), jnp.asarray(rate)
    positive = count > 0
    safe_count = jnp.where(positive, count, 1.0)
    saddle_point = (
        -bd0(safe_count, rate, log_rate)
        - 0.5 * jnp.log(safe_count)
        - HALF_LOG_TWO_PI
        - stirling_correction(safe_count)
    )
    return jnp.where(positive, saddle_point, -rate)


def _bregman_taylor(dtype) -> tuple[float, int]:
    """Where ``lgamma_bregman`` uses its Taylor series, and to which power, per dtype.

    The closed form's ``stirling_correction(b) - stirling_correction(a)`` carries an absolute
    error ``eps |stirling_correction(a)|`` against a result of about ``(h/a)^2 / 2``: the
    series is used up to ``|h| < a/4`` (float32) or ``a/10`` (float64), where that error has
    fallen below the dtype's precision, with enough terms (the remainder goes as
    ``(h/a)^n``) to match it.
    """
    return (0.1, 16) if jnp.finfo(dtype).bits >= 64 else (0.25, 14)


def lgamma_bregman(b: ArrayLike, a: ArrayLike) -> Array:
    """``lgamma(b) - lgamma(a) - digamma(a) (b - a) >= 0`` for ``a, b > 0``.

    The Bregman divergence of ``lgamma`` (convex on the positive axis). It appears in
    every divergence between Gamma, Beta and Dirichlet distributions, and is tiny when
    ``b`` is close to ``a``, so the naive difference of ``lgamma`` values loses all its
    digits there. It is evaluated as
    ``bd0(b, a) - log1p((b - a)/a)/2 - (b - a) digamma_minus_log(a) + stirling_correction(b)
    - stirling_correction(a)``, in which the large parts have cancelled analytically, and,
    where ``b`` is within ``a/10`` (float64) or ``a/4`` (float32) of ``a``, by its Taylor
    series ``sum_n polygamma(n - 1, a) (b - a)^n / n!``, whose every term is of the size of
    the result (:func:`_bregman_taylor`).
    """
    b, a = jnp.asarray(b), jnp.asarray(a)
    radius, order = _bregman_taylor(jnp.result_type(a, b))
    difference = b - a
    near = jnp.abs(difference) < radius * a
    h = jnp.where(near, difference, 0.0)
    a_near = jnp.where(near, a, 1.0)
    # every polygamma order in one call (one zeta over a stacked axis), then Horner's rule
    orders = np.arange(1, order)
    derivatives = jsp_special.polygamma(orders, a_near[..., None])
    factorials = np.array([math.factorial(n + 1) for n in orders], np.float64)
    coefficients = derivatives / jnp.asarray(factorials, derivatives.dtype)
    taylor = jnp.zeros_like(h)
    for j in reversed(range(order - 1)):
        taylor = (taylor + coefficients[..., j]) * h
    taylor = taylor * h
    b_far = jnp.where(near, 2.0, b)
    a_far = jnp.where(near, 1.0, a)
    far_difference = b_far - a_far
    far = (
        bd0(b_far, a_far)
        - 0.5 * jnp.log1p(far_difference / a_far)
        - far_difference * digamma_minus_log(a_far)
        + stirling_correction(b_far)
        - stirling_correction(a_far)
    )
    return jnp.where(near, taylor, far)


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


def poisson_entropy(rate: ArrayLike) -> Array:
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
def xlogy(x: ArrayLike, y: ArrayLike) -> Array:
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
def xlogx(x: ArrayLike) -> Array:
    """``x * log(x)`` with ``0 log 0 = 0`` and derivative ``log(x) + 1`` (0 at ``x == 0``)."""
    return xlogy(x, x)


@xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    x = jnp.asarray(x)
    nonzero = x != 0
    safe_x = jnp.where(nonzero, x, 1.0)
    return xlogx(x), jnp.where(nonzero, jnp.log(safe_x) + 1.0, 0.0) * x_dot


def xlogx_exp(log_x: ArrayLike) -> Array:
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

_PHI_SERIES_MAX = 0.1
_PHI_SERIES_TERMS = 10  # terms d^2/2! .. d^10/10!: truncation below 1e-16 relative at 0.1


def phi(d: ArrayLike) -> Array:
    """``d - 1 + exp(-d) = d + expm1(-d) >= 0``, accurate near ``d = 0`` where it is ``d²/2``.

    By its Taylor series ``sum_k (-d)^k / k!`` for ``|d| < 0.1`` (where ``d + expm1(-d)``
    would cancel), directly beyond.
    """
    d = jnp.asarray(d)
    small = jnp.abs(d) < _PHI_SERIES_MAX
    d_small = jnp.where(small, d, 0.0)
    series = jnp.zeros_like(d_small)
    for k in reversed(range(2, _PHI_SERIES_TERMS + 1)):
        series = (series + 1.0 / math.factorial(k)) * (-d_small)
    series = series * (-d_small)
    d_large = jnp.where(small, 1.0, d)
    direct = d_large + jnp.expm1(-d_large)
    return jnp.where(small, series, direct)


def safe_log(x: ArrayLike) -> Array:
    """``log(x)`` with ``log(0) = -inf`` and a zero (not NaN) gradient at ``x == 0``."""
    x = jnp.asarray(x)
    positive = x > 0
    return jnp.where(positive, jnp.log(jnp.where(positive, x, 1.0)), -jnp.inf)


def kl_terms(p: ArrayLike | None, q: ArrayLike | None, log_p: ArrayLike | None = None,
             log_q: ArrayLike | None = None) -> Array:
    """Elementwise ``p log(p/q) - p + q >= 0`` (scipy's ``kl_div``).

    Give probabilities, log-probabilities, or both (both avoids recomputing one from the
    other: pass ``p=None`` to use ``exp(log_p)``). The term is ``p * phi(d)``,
    ``d = log(p/q)``, where ``q`` is within a factor ``e`` of ``p`` (no overflow, no
    cancellation) and ``q + p (d - 1)`` where ``q`` dominates. When both probabilities are
    given, ``d`` comes from their exact difference (:func:`log_ratio`), so nearly equal
    ``p`` and ``q`` keep their relative accuracy. Where ``p == 0`` the term is ``q``; where
    ``q == 0 < p`` it is ``inf``.
    """
    ratio_from_probabilities = p is not None and q is not None
    if log_p is None:
        log_p = safe_log(p)  # type: ignore[arg-type]  # p is given when log_p is not
    if log_q is None:
        log_q = safe_log(q)  # type: ignore[arg-type]  # q is given when log_q is not
    log_p, log_q = jnp.asarray(log_p), jnp.asarray(log_q)
    p_positive = log_p > -jnp.inf
    q_positive = log_q > -jnp.inf
    both = p_positive & q_positive
    safe_log_p = jnp.where(both, log_p, 0.0)
    safe_log_q = jnp.where(both, log_q, 0.0)
    p = jnp.exp(safe_log_p) if p is None else jnp.where(both, p, 1.0)
    q_value = jnp.exp(log_q) if q is None else jnp.asarray(q)
    q = jnp.where(both, q_value, 1.0)
    d = log_ratio(p, q) if ratio_from_probabilities else safe_log_p - safe_log_q
    near = d >= -1.0
    term = jnp.where(near, p * phi(jnp.where(near, d, 0.0)), q + p * (d - 1.0))
    return jnp.where(both, term, jnp.where(p_positive, jnp.inf, q_value))


# ---------------------------------------------------------------------------------------
# infinite logits, taken at their limit (the softmax families of info and losses)


@jax.custom_jvp
def zero_with_unit_tangent(x: Array) -> Array:
    """0 in value, the identity in derivative: lets a limit keep the limit of the gradient."""
    return jnp.zeros_like(x)


@zero_with_unit_tangent.defjvp
def _zero_with_unit_tangent_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return jnp.zeros_like(x), x_dot


def limit_logits(logits: Array, axis: int, selected: Array | None = None) -> tuple[Array, Array]:
    """Softmax logits with excluded entries at ``-inf`` and ``+inf`` rows at their limit.

    The limit is that of the softmax as the ``+inf`` logits grow together: they share the
    probability equally and every other class gets none. Each logit keeps a unit tangent
    (:func:`zero_with_unit_tangent`), so the gradient is the limit of the gradient too
    (finite: ``softmax - target`` at the limiting probabilities). Entries where ``selected``
    is False become ``-inf``. A row holding a NaN is left as it is, so NaN reaches the value
    and the gradient.

    Returns:
        ``(logits, nan_row)``: the logits, and a keep-dims mask of the rows holding a NaN.
    """
    if selected is not None:
        logits = jnp.where(selected, logits, -jnp.inf)
    nan_row = jnp.any(jnp.isnan(logits), axis=axis, keepdims=True)
    at_inf = logits == jnp.inf
    inf_row = jnp.any(at_inf, axis=axis, keepdims=True) & ~nan_row
    limit = jnp.where(at_inf, 0.0, -jnp.inf).astype(logits.dtype) + zero_with_unit_tangent(logits)
    return jnp.where(inf_row, limit, logits), nan_row
