"""The private special functions of ``mlmath._special`` against mpmath at 50 digits.

Tolerances are relative: ~1e-12 in float64 and ~1e-5 in float32 (values that are exactly
0 or infinite must match exactly). The one documented exception is ``lgamma_bregman`` of
nearly equal arguments in float32, accurate to an absolute ~1e-10. Every reference is
evaluated at the dtype-rounded inputs, and the points straddle every branch switch: the
asymptotic series (x = 5 in float32, 10 in float64), ``bd0``'s series
(|x - m| = 0.1 (x + m)), ``phi``'s series (|d| = 1e-3) and the Poisson entropy's rate 50.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath
import numpy as np

from mlmath import _special
from tests.test_distributions import poisson_entropy_mpmath, rounded

RELATIVE = {jnp.dtype(jnp.float32): 1e-5, jnp.dtype(jnp.float64): 1e-12}


def relative_tolerance(dtype) -> float:
    return RELATIVE[jnp.dtype(dtype)]


def check_relative(actual, desired, dtype, rtol=None, what=""):
    """``|actual - desired| <= rtol |desired|`` elementwise; zeros and infinities exact."""
    rtol = relative_tolerance(dtype) if rtol is None else rtol
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, what
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (actual == desired) | (np.abs(actual - desired) <= rtol * np.abs(desired))
        error = np.where(desired != 0, np.abs(actual - desired) / np.abs(desired), np.inf)
    assert np.all(ok), (
        f"{what}: worst relative error {np.max(np.where(ok, 0, error)):.3g} > {rtol:g} at "
        f"{np.flatnonzero(~ok)}; actual {actual[~ok]}, desired {desired[~ok]}"
    )


def mp_array(function, *columns):
    """``function`` of mpmath numbers (50 digits) over float64 columns, as float64."""
    with mpmath.workdps(50):
        return np.array([float(function(*(mpmath.mpf(float(v)) for v in row)))
                         for row in zip(*columns, strict=True)])


def stirling_reference(x):
    return mpmath.loggamma(x) - ((x - 0.5) * mpmath.log(x) - x + mpmath.log(2 * mpmath.pi) / 2)


def bd0_reference(x, m):
    if m == 0:
        return mpmath.inf if x > 0 else mpmath.mpf(0)
    return (x * mpmath.log(x / m) if x > 0 else 0) + m - x


# both sides of the series switches at 5 (float32) and 10 (float64), tiny to huge
X_POINTS = [1e-3, 0.01, 0.3, 1.0, 2.0, 3.0, 4.99, 5.0, 5.01, 7.0, 9.99, 10.0, 10.01, 11.0,
            50.0, 1e3, 1e6, 1e10]


def test_stirling_correction(dtype):
    x, x64 = rounded(X_POINTS, dtype)
    actual = jax.jit(_special.stirling_correction)(x)
    assert actual.dtype == jnp.dtype(dtype)
    check_relative(actual, mp_array(stirling_reference, x64), dtype, what="stirling_correction")
    check_relative(_special.stirling_correction(x), mp_array(stirling_reference, x64), dtype)


def test_digamma_minus_log(dtype):
    x, x64 = rounded(X_POINTS, dtype)
    expected = mp_array(lambda v: mpmath.digamma(v) - mpmath.log(v), x64)
    check_relative(jax.jit(_special.digamma_minus_log)(x), expected, dtype, what="digamma-log")


def test_bd0(dtype):
    # the near/far switch |x - m| = 0.1 (x + m) is at m = 9/11 x and m = 11/9 x
    pairs = [(100.0, 122.2), (100.0, 122.3), (100.0, 81.8), (100.0, 81.9), (1.0, 1.2),
             (1.0, 1.0 + 1e-4), (7.0, 7.0), (1e6, 1e6 + 1e3), (1e6, 1e6 - 1.0), (0.0, 3.0),
             (5.0, 1e-3), (1e-3, 5.0), (3.0, 0.0), (0.0, 0.0), (2.5, 1e30)]
    x, x64 = rounded([p[0] for p in pairs], dtype)
    m, m64 = rounded([p[1] for p in pairs], dtype)
    bd0 = jax.jit(_special.bd0)
    check_relative(bd0(x, m), mp_array(bd0_reference, x64, m64), dtype, what="bd0")
    # log_m: a rate whose exponential underflows (to 0 in float32) still gives finite values
    log_m, log_m64 = rounded([-200.0, -200.0, -50.0, 2.0], dtype)
    x, x64 = rounded([3.0, 0.0, 1e-3, 7.0], dtype)
    expected = mp_array(lambda v, lm: (v * (mpmath.log(v) - lm) if v > 0 else 0) + mpmath.exp(lm)
                        - v, x64, log_m64)
    actual = jax.jit(_special.bd0)(x, jnp.exp(log_m), log_m)
    # exp(-200) itself is not representable in float32: compare what is
    finite = np.abs(expected) > np.finfo(np.dtype(jnp.dtype(dtype).name)).tiny
    check_relative(np.asarray(actual)[finite], expected[finite], dtype, what="bd0 log_m")


def kernel_reference(k, r):
    if r == 0:
        return mpmath.mpf(0) if k == 0 else -mpmath.inf
    return k * mpmath.log(r) - r - mpmath.loggamma(k + 1)


def test_log_poisson_kernel(dtype):
    # counts on both sides of the series switch, non-integer counts, huge counts and rates
    pairs = [(0.0, 3.0), (1.0, 3.0), (4.0, 3.0), (4.99, 5.0), (5.0, 5.0), (9.99, 12.0),
             (10.0, 12.0), (7.5, 7.5), (30.0, 2.0), (2.0, 1e-3), (1e5, 1e5), (1e5 + 300, 1e5),
             (1e6, 1e6 - 3e3), (0.0, 1e5), (0.0, 0.0), (3.0, 0.0)]
    count, count64 = rounded([p[0] for p in pairs], dtype)
    rate, rate64 = rounded([p[1] for p in pairs], dtype)
    kernel = jax.jit(_special.log_poisson_kernel)
    expected = mp_array(kernel_reference, count64, rate64)
    check_relative(kernel(count, rate), expected, dtype, what="log_poisson_kernel")
    # with log_rate given: the same values, and finite ones where the rate underflows
    positive = rate64 > 0
    check_relative(kernel(count[positive], rate[positive], jnp.log(rate[positive])),
                   expected[positive], dtype, what="log_poisson_kernel(log_rate)")
    count, count64 = rounded([1.0, 3.0, 30.0, 0.0, 1e5], dtype)
    log_rate, log_rate64 = rounded([-200.0, -200.0, -200.0, -50.0, -3.0], dtype)
    expected = mp_array(lambda k, lr: k * lr - mpmath.exp(lr) - mpmath.loggamma(k + 1),
                        count64, log_rate64)
    actual = kernel(count, jnp.exp(log_rate), log_rate)
    check_relative(actual, expected, dtype, what="log_poisson_kernel(underflowing rate)")


def bregman_reference(b, a):
    return mpmath.loggamma(b) - mpmath.loggamma(a) - mpmath.digamma(a) * (b - a)


def test_lgamma_bregman_far_apart(dtype):
    pairs = [(1e3, 2e3), (0.01, 1.0), (1.0, 0.01), (50.0, 3.0), (3.0, 50.0), (1e-3, 1e4),
             (1e4, 1e-3), (0.5, 2.0), (4.0, 6.0), (12.0, 9.0), (1e6, 3e6)]
    b, b64 = rounded([p[0] for p in pairs], dtype)
    a, a64 = rounded([p[1] for p in pairs], dtype)
    check_relative(jax.jit(_special.lgamma_bregman)(b, a), mp_array(bregman_reference, b64, a64),
                   dtype, what="lgamma_bregman")


def test_lgamma_bregman_nearly_equal(dtype):
    """Tiny values: relative accuracy in float64; in float32 relative, or absolute ~1e-10."""
    bases = np.array([0.05, 0.5, 1.0, 4.99, 5.0, 9.99, 10.0, 10.01, 30.0, 1e3, 1e6])
    relative_steps = np.array([1e-2, -1e-2, 1e-4, -1e-4, 1e-6])
    a, a64 = rounded(np.repeat(bases, len(relative_steps)), dtype)
    b, b64 = rounded(a64 * (1 + np.tile(relative_steps, len(bases))), dtype)
    keep = b64 != a64
    actual = np.asarray(jax.jit(_special.lgamma_bregman)(b, a), dtype=np.float64)[keep]
    expected = mp_array(bregman_reference, b64[keep], a64[keep])
    assert np.all(expected > 0)
    if jnp.dtype(dtype) == jnp.dtype(jnp.float64):
        check_relative(actual, expected, dtype, what="lgamma_bregman (nearly equal)")
    else:
        np.testing.assert_allclose(actual, expected, rtol=relative_tolerance(dtype), atol=1e-10)
    # and b == a exactly gives exactly 0
    np.testing.assert_array_equal(_special.lgamma_bregman(a, a), np.zeros(len(a64)))


def test_poisson_entropy(dtype):
    rate, rate64 = rounded([1e-3, 0.5, 3.0, 20.0, 49.9, 49.999, 50.0, 50.001, 60.0, 200.0, 1e3,
                            1e5, 1e7], dtype)
    expected = np.array([poisson_entropy_mpmath(float(v)) for v in rate64])
    check_relative(jax.jit(_special.poisson_entropy)(rate), expected, dtype,
                   what="poisson_entropy")


def test_xlogy_and_xlogx_values(dtype):
    x, x64 = rounded([0.0, 0.0, 0.0, 2.0, 1e-30, 0.5, 3.0, 1.0], dtype)
    y, y64 = rounded([0.0, 5.0, 1e30, 3.0, 1e-30, 1.0, 0.0, 1e-20], dtype)
    expected = mp_array(lambda u, v: 0 if u == 0 else (u * mpmath.log(v) if v > 0 else -mpmath.inf),
                        x64, y64)
    check_relative(jax.jit(_special.xlogy)(x, y), expected, dtype, what="xlogy")
    x, x64 = rounded([0.0, 1e-20, 1e-3, 0.5, 1.0, 5.0, 1e30], dtype)
    expected = mp_array(lambda u: u * mpmath.log(u) if u > 0 else 0, x64)
    check_relative(jax.jit(_special.xlogx)(x), expected, dtype, what="xlogx")
    log_x, log_x64 = rounded([-np.inf, -800.0, -50.0, -1.0, 0.0], dtype)
    expected = mp_array(lambda v: 0 if v == -mpmath.inf else mpmath.exp(v) * v, log_x64)
    check_relative(jax.jit(_special.xlogx_exp)(log_x), expected, dtype, what="xlogx_exp")


def test_xlogy_and_xlogx_gradients(dtype):
    """Ordinary derivatives where x != 0; both partials 0 where x == 0 (the convention)."""
    x, x64 = rounded([0.0, 0.0, 2.0, 0.5, 1e-3], dtype)
    y, y64 = rounded([0.0, 3.0, 3.0, 1e-3, 7.0], dtype)
    grad_x, grad_y = jax.jit(jax.vmap(jax.grad(_special.xlogy, argnums=(0, 1))))(x, y)
    nonzero = x64 != 0
    safe_y = np.where(nonzero, y64, 1.0)
    check_relative(grad_x, np.where(nonzero, np.log(safe_y), 0.0), dtype, what="d xlogy / dx")
    check_relative(grad_y, np.where(nonzero, x64 / safe_y, 0.0), dtype, what="d xlogy / dy")
    x, x64 = rounded([0.0, 1e-20, 0.5, 1.0, 5.0], dtype)
    gradient = jax.jit(jax.vmap(jax.grad(_special.xlogx)))(x)
    safe_x = np.where(x64 != 0, x64, 1.0)
    check_relative(gradient, np.where(x64 != 0, np.log(safe_x) + 1.0, 0.0), dtype,
                   what="d xlogx / dx")
    # the gradient of x log x from a log-probability is finite at -inf (zero mass)
    gradient = jax.grad(lambda v: jnp.sum(_special.xlogx_exp(v)))(
        jnp.asarray([-jnp.inf, -2.0], dtype))
    check_relative(gradient, [0.0, np.exp(-2.0) * (1.0 - 2.0)], dtype, what="d xlogx_exp")


def phi_reference(d):
    return d - 1 + mpmath.exp(-d)


# both sides of the series switch at |d| = 1e-3
D_POINTS = [0.0, 1e-8, -1e-8, 1e-5, 9.99e-4, -9.99e-4, 1e-3, -1e-3, 1.001e-3, -1.001e-3, 3e-3,
            -3e-3, 0.1, -0.1, 0.5, -0.5, 3.0, -3.0, 50.0, -50.0, 700.0]


def test_phi(dtype):
    d, d64 = rounded(D_POINTS, dtype)
    actual = jax.jit(_special.phi)(d)
    check_relative(actual, mp_array(phi_reference, d64), dtype, what="phi")
    # its derivative 1 - exp(-d) (continuous across the switch)
    gradient = jax.jit(jax.vmap(jax.grad(_special.phi)))(d)
    check_relative(gradient, mp_array(lambda v: -mpmath.expm1(-v), d64), dtype, what="phi'")


def kl_reference(p, q):
    if p == 0:
        return q
    if q == 0:
        return mpmath.inf
    return p * mpmath.log(p / q) - p + q


def test_kl_terms(dtype):
    pairs = [(0.3, 0.3), (0.3, 0.3 * (1 + 1e-4)), (0.3, 0.3 * (1 - 2e-3)), (0.3, 0.6),
             (0.3, 0.9), (0.9, 0.1), (1e-30, 0.5), (0.5, 1e-30), (0.0, 0.2), (0.2, 0.0),
             (0.0, 0.0), (0.25, 0.25 * np.e), (0.25, 0.25 * np.e * 1.001)]
    p, p64 = rounded([v[0] for v in pairs], dtype)
    q, q64 = rounded([v[1] for v in pairs], dtype)
    expected = mp_array(kl_reference, p64, q64)
    kl_terms = jax.jit(_special.kl_terms)
    check_relative(kl_terms(p, q), expected, dtype, what="kl_terms(p, q)")
    # from log-probabilities alone (p = q = None): the reference at the rounded logs
    log_p, log_p64 = rounded(np.log(np.where(p64 > 0, p64, 1.0)), dtype)
    log_q, log_q64 = rounded(np.log(np.where(q64 > 0, q64, 1.0)), dtype)
    log_p = jnp.where(p > 0, log_p, -jnp.inf)
    log_q = jnp.where(q > 0, log_q, -jnp.inf)
    expected = mp_array(
        lambda u, v, lu, lv: kl_reference(mpmath.exp(lu) if u > 0 else 0,
                                          mpmath.exp(lv) if v > 0 else 0),
        p64, q64, log_p64, log_q64,
    )
    from_logs = jax.jit(lambda lp, lq: _special.kl_terms(None, None, lp, lq))(log_p, log_q)
    check_relative(from_logs, expected, dtype, what="kl_terms(log_p, log_q)")
