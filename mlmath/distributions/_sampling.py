"""Samplers that stay exact where ``jax.random``'s lose precision (private).

* :func:`poisson` draws Poisson counts in a floating dtype, so that any rate the dtype can
  hold gives counts of the right law: ``jax.random.poisson`` returns ``int32`` (a rate of
  3e9 overflows it) and its acceptance test evaluates ``k log(rate) - lgamma(k + 1)``,
  whose cancellation in float32 inflates the variance from rates of about 1e6 up.
* :func:`log_gamma`, :func:`positive_from_log`, :func:`unit_interval_from_logs` sample the
  Gamma family in log space and map back to the open support, so that draws with small
  concentrations (whose mass sits against 0 or 1) are never exactly 0 or 1; the Gamma draws
  are vectorized Marsaglia–Tsang (on 2 busy CPU cores, 1e5 draws: first call 3.0-3.4 s
  against ``jax.random.loggamma``'s 5.9 s, then 24-29 ms against 43-116 ms).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from mlmath import _special

# Below this rate, Knuth's multiplication method (a handful of uniforms per draw); above,
# Hörmann's transformed rejection with squeeze (PTRS), whose acceptance rate is at least
# 0.89 and whose cost does not grow with the rate.
_PTRS_MIN_RATE = 10.0
_KNUTH_MAX_ITERATIONS = 200  # P(Poisson(10) >= 200) < 1e-200
_PTRS_MAX_ITERATIONS = 1000  # P(1000 rejections in a row) < 0.11^1000


def _knuth(key: Array, rate: Array, dtype) -> Array:
    """Knuth's method for ``rate < 10``: the number of uniforms whose product stays above
    ``exp(-rate)``, in log space."""
    shape = rate.shape

    def cond(carry):
        i, _, _, log_product = carry
        return jnp.any(log_product > -rate) & (i < _KNUTH_MAX_ITERATIONS)

    def body(carry):
        i, count, key, log_product = carry
        key, subkey = jax.random.split(key)
        running = log_product > -rate
        count = jnp.where(running, count + 1, count)
        u = jax.random.uniform(subkey, shape, dtype)
        return i + 1, count, key, jnp.where(running, log_product + jnp.log(u), log_product)

    zeros = jnp.zeros(shape, dtype)
    _, count, _, log_product = jax.lax.while_loop(cond, body, (0, zeros, key, zeros))
    # (rate 0 never enters the loop: its count is 0)
    return jnp.where(log_product > -rate, jnp.nan, jnp.maximum(count - 1.0, 0.0))


def _rejection_loop(key: Array, shape: tuple[int, ...], dtype, propose, max_iterations: int):
    """Vectorized rejection sampling in one ``while_loop``: each round,
    ``propose(key_a, key_b)`` gives a candidate array and which candidates pass; an element
    keeps the first candidate it accepts (NaN if none within ``max_iterations``), and the loop
    stops once every element has one."""
    def cond(carry):
        i, _, accepted, _ = carry
        return jnp.any(~accepted) & (i < max_iterations)

    def body(carry):
        i, value, accepted, key = carry
        key, key_a, key_b = jax.random.split(key, 3)
        candidate, passes = propose(key_a, key_b)
        accept = ~accepted & passes
        return i + 1, jnp.where(accept, candidate, value), accepted | accept, key

    start = (0, jnp.full(shape, jnp.nan, dtype), jnp.zeros(shape, bool), key)
    return jax.lax.while_loop(cond, body, start)[1]


def _transformed_rejection(key: Array, rate: Array, dtype) -> Array:
    """Hörmann's PTRS for ``rate >= 10`` (W. Hörmann, *The transformed rejection method for
    generating Poisson random variables*, 1993), as in NumPy, with the acceptance test on
    Loader's saddle-point log-pmf (accurate at every rate) rather than
    ``k log(rate) - rate - lgamma(k + 1)``, and the count kept in the floating dtype."""
    shape = rate.shape
    b = 0.931 + 2.53 * jnp.sqrt(rate)
    a = -0.059 + 0.02483 * b
    log_inverse_alpha = jnp.log(1.1239 + 1.1328 / (b - 3.4))
    v_r = 0.9277 - 3.6224 / (b - 2.0)

    def propose(key_u, key_v):
        u = jax.random.uniform(key_u, shape, dtype) - 0.5
        v = jax.random.uniform(key_v, shape, dtype)
        u_shifted = 0.5 - jnp.abs(u)
        safe_shifted = jnp.where(u_shifted > 0, u_shifted, 1.0)
        k = jnp.floor((2.0 * a / safe_shifted + b) * u + rate + 0.43)
        squeeze = (u_shifted >= 0.07) & (v <= v_r)
        reject = (u_shifted <= 0) | (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        safe_k = jnp.where(reject, 0.0, k)
        log_hat = jnp.log(v) + log_inverse_alpha - jnp.log(a / (safe_shifted * safe_shifted) + b)
        return k, squeeze | (~reject & (log_hat <= _special.log_poisson_kernel(safe_k, rate)))

    return _rejection_loop(key, shape, dtype, propose, _PTRS_MAX_ITERATIONS)


def poisson(key: ArrayLike, rate: Array, shape: tuple[int, ...], dtype) -> Array:
    """Poisson draws of ``shape`` (ending with ``rate``'s shape) as floats of ``dtype``.

    Exact in law for every finite rate >= 0 the dtype holds (above ``2**24`` in float32,
    ``2**53`` in float64, counts are rounded to the dtype's grid, which is far finer than
    the standard deviation); NaN for a negative, infinite or NaN rate.
    """
    rate = jnp.broadcast_to(jax.lax.stop_gradient(rate).astype(dtype), shape)
    valid = (rate >= 0) & (rate < jnp.inf)
    small = rate < _PTRS_MIN_RATE
    knuth_key, rejection_key = jax.random.split(key)
    counts = jnp.where(
        small,
        _knuth(knuth_key, jnp.where(valid & small, rate, 0.0), dtype),
        _transformed_rejection(rejection_key, jnp.where(valid & ~small, rate, 1e3), dtype),
    )
    return jnp.where(valid, counts, jnp.nan)


# Marsaglia and Tsang's acceptance rate is at least 0.95 for every concentration >= 1
# (smaller ones are boosted to it), so P(an element still rejected after 60 rounds) < 1e-78.
_GAMMA_MAX_ITERATIONS = 60


def _marsaglia_tsang(key: Array, concentration: Array, dtype) -> Array:
    """``log`` of standard Gamma draws for ``concentration >= 1`` by Marsaglia and Tsang's
    method (*A simple method for generating gamma variables*, 2000), vectorized: every
    element runs in one ``while_loop`` that draws a normal and a uniform array per round and
    stops when all are accepted. (``jax.random.gamma`` maps a scalar loop over the elements
    on CPU: slower to run and several seconds to compile.)

    The draw is ``d v^3`` with ``d = a - 1/3``, ``v = 1 + x / (3 sqrt(d))``, ``x`` normal; it
    is accepted when ``log u < x^2/2 + d (1 - v^3 + log v^3)``. With ``w = v^3 - 1``, the
    bracket is ``-(w - log1p(w))``: computed as such (``_special.log1p_gap``) it keeps its
    relative precision for huge ``a``, where ``v`` is within rounding of 1.
    """
    shape = concentration.shape
    d = concentration - 1.0 / 3.0
    c = 1.0 / (3.0 * jnp.sqrt(d))

    def propose(key_x, key_u):
        x = jax.random.normal(key_x, shape, dtype)
        u = jax.random.uniform(key_u, shape, dtype)
        cx = c * x
        inside = cx > -1.0
        candidate = 3.0 * jnp.log1p(jnp.where(inside, cx, 0.0))
        squeeze = u < 1.0 - 0.0331 * (x * x) * (x * x)
        exact = jnp.log(u) < 0.5 * x * x - d * _special.log1p_gap(jnp.expm1(candidate))
        return candidate, inside & (squeeze | exact)

    log_v3 = _rejection_loop(key, shape, dtype, propose, _GAMMA_MAX_ITERATIONS)
    return jnp.log(d) + log_v3


@jax.custom_jvp
def _implicit_gradient(concentration: Array, log_draws: Array) -> Array:
    """``log_draws``, differentiable in ``concentration`` by implicit reparameterization."""
    return log_draws


@_implicit_gradient.defjvp
def _implicit_gradient_jvp(primals, tangents):
    # x = F^{-1}(u; a) with u held fixed: dx/da = -(dF/da)(x; a) / f(x; a), which is
    # lax.random_gamma_grad; d log x / da = (dx/da) / x
    concentration, log_draws = primals
    concentration_dot, _ = tangents
    draws = jnp.maximum(jnp.exp(log_draws), jnp.finfo(log_draws.dtype).tiny)
    slope = jax.lax.random_gamma_grad(concentration, draws) / draws
    return log_draws, slope * concentration_dot


def log_gamma(key: ArrayLike, concentration: Array, shape: tuple[int, ...], dtype) -> Array:
    """``log`` of standard Gamma draws, sampled in log space (exact for tiny concentrations,
    whose draws underflow every floating dtype); NaN for a concentration that is not > 0.

    A concentration ``a < 1`` is boosted: ``log G(a) = log G(a + 1) + log(U) / a``. The
    draws are differentiable in the concentration (implicit reparameterization, as
    ``jax.random.gamma``).
    """
    concentration = jnp.broadcast_to(jnp.asarray(concentration).astype(dtype), shape)
    valid = (concentration > 0) & (concentration < jnp.inf)
    safe = jax.lax.stop_gradient(jnp.where(valid, concentration, 1.0))
    boosted = safe < 1.0
    key_gamma, key_boost = jax.random.split(key)
    log_draws = _marsaglia_tsang(key_gamma, jnp.where(boosted, safe + 1.0, safe), dtype)
    log_uniform = jnp.log1p(-jax.random.uniform(key_boost, shape, dtype))  # log U, U in (0, 1]
    log_draws = log_draws + jnp.where(boosted, log_uniform / safe, 0.0)
    draws = _implicit_gradient(jnp.where(valid, concentration, 1.0), log_draws)
    return jnp.where(valid, draws, jnp.nan)


def positive_from_log(log_x: Array) -> Array:
    """``exp(log_x)`` clipped into ``[tiny, max]``: the smallest positive normal number and
    the largest finite one, so that a draw is never 0 or inf (where densities diverge)."""
    info = jnp.finfo(log_x.dtype)
    return jnp.clip(jnp.exp(log_x), info.tiny, info.max)


def unit_interval_from_logs(log_a: Array, log_b: Array) -> Array:
    """``a / (a + b)`` from ``log a``, ``log b``, inside ``[tiny, 1 - eps/2]``: never 0 or 1.

    Each side is computed from the smaller of the two fractions (``x`` directly when
    ``x < 1/2``, ``1 - (1 - x)`` otherwise), so neither loses its relative precision.
    """
    log_total = jnp.logaddexp(log_a, log_b)
    below_half = log_a < log_b
    x = jnp.where(below_half, jnp.exp(log_a - log_total), -jnp.expm1(log_b - log_total))
    info = jnp.finfo(log_a.dtype)
    return jnp.clip(x, info.tiny, 1.0 - info.epsneg)
