"""Families born of mixing and conjugacy: StudentT, NegativeBinomial, InverseGamma, NIG.

* ``StudentT``: a Normal whose precision is Gamma-distributed (heavy tails; the predictive
  of Bayesian linear regression).
* ``NegativeBinomial``: a Poisson whose rate is Gamma-distributed (overdispersed counts;
  the predictive of the Gamma–Poisson model).
* ``InverseGamma``: the distribution of a variance whose precision is Gamma-distributed.
* ``NormalInverseGamma``: the joint conjugate prior of the weights and noise variance of a
  linear model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import as_float, as_floats, broadcast_parameters, shape_tuple
from mlmath.distributions import _sampling
from mlmath.distributions._base import (
    Distribution,
    check_constraints,
    concrete_parameters,
    nan_where_invalid,
    raise_if_invalid,
    sample_dims,
    satisfies,
)
from mlmath.distributions._continuous import Gamma, _Scalar
from mlmath.distributions._discrete import _integer_valued, _logits_of_probability, _logits_or_probs

_HALF_LOG_PI = 0.5 * math.log(math.pi)


def _lgamma_half_step(x):
    """``lgamma(x + 1/2) - lgamma(x)`` for ``x > 0``, without cancellation for large ``x``.

    ``x log1p(1/(2x)) + log(x)/2 - 1/2 + delta(x + 1/2) - delta(x)``, ``delta`` the Stirling
    correction (accurate for every ``x > 0``).
    """
    return (x * jnp.log1p(0.5 / x) + 0.5 * jnp.log(x) - 0.5
            + _special.stirling_correction(x + 0.5) - _special.stirling_correction(x))


def _digamma_half_step(x):
    """``digamma(x + 1/2) - digamma(x)`` for ``x > 0``: ``log1p(1/(2x))`` plus small remainders."""
    return (jnp.log1p(0.5 / x) + _special.digamma_minus_log(x + 0.5)
            - _special.digamma_minus_log(x))


class StudentT(_Scalar):
    r"""Student's t distribution with ``df`` degrees of freedom, location and scale.

    .. math:: \log p(x) = \log\Gamma\!\big(\tfrac{\nu+1}2\big) - \log\Gamma\!\big(\tfrac\nu2\big)
              - \tfrac12\log(\nu\pi) - \log\sigma - \tfrac{\nu+1}2\log\Big(1 + \frac{z^2}\nu\Big)

    with :math:`z = (x - \mu)/\sigma`: a Normal whose precision is drawn from
    :math:`\mathrm{Gamma}(\nu/2, \nu/2)`. The ``lgamma`` ratio is evaluated without
    cancellation, so huge ``df`` (where the t becomes Normal) stays accurate, and far in the
    tails (:math:`z^2/\nu > 1`) the last logarithm is taken as
    :math:`2\log|z| - \log\nu + \log(1 + \nu/z^2)`, which does not overflow: float32 gives
    the right value at ``x = 1e30``. The mean is undefined (NaN) for ``df <= 1``; the
    variance is infinite for ``1 < df <= 2``. Draws are ``z sqrt(nu / (2 g))`` with ``g`` a
    log-space Gamma draw, clipped to the finite range of the dtype.

    Example:
        >>> from mlmath.distributions import StudentT
        >>> round(float(StudentT(1.0, 0.0, 1.0).log_prob(0.0)), 5)  # Cauchy: -log(pi)
        -1.14473
    """

    df: Array
    loc: Array
    scale: Array
    _constraints = ("positive", "finite", "positive")

    def __init__(self, df: ArrayLike, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0, *,
                 validate_args: bool = True) -> None:
        self._set_parameters(validate_args, df=df, loc=loc, scale=scale)

    @property
    def _parameters(self):
        return (self.df, self.loc, self.scale)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        df, loc, scale = self._safe(self.df), self._safe(self.loc, 0.0), self._safe(self.scale)
        finite = jnp.isfinite(x)
        distance = jnp.abs(jnp.where(finite, x, loc) - loc)
        # log(1 + z^2 / nu) with z^2 / nu = (distance / root)^2: directly where that is at
        # most 1, else as 2 log(distance / root) + log1p((root / distance)^2), which cannot
        # overflow (z * z does beyond |z| ~ 1e19 in float32)
        root = jnp.sqrt(df) * scale
        large = distance > root
        near = jnp.where(large, 0.0, distance) / root
        far = jnp.where(large, distance, root)
        log_term = jnp.where(
            large,
            2.0 * (jnp.log(far) - jnp.log(root)) + jnp.log1p(jnp.square(root / far)),
            jnp.log1p(near * near),
        )
        half_df = 0.5 * df
        value = (_lgamma_half_step(half_df) - 0.5 * jnp.log(df) - _HALF_LOG_PI
                 - jnp.log(scale) - (half_df + 0.5) * log_term)
        return self._finish_log_prob(jnp.where(finite, value, -jnp.inf), x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        normal_key, gamma_key = jax.random.split(key)
        half_df = 0.5 * self._safe(self.df)
        log_gamma = _sampling.log_gamma(gamma_key, half_df, shape, self.dtype)
        info = jnp.finfo(self.dtype)
        log_factor = jnp.minimum(0.5 * (jnp.log(half_df) - log_gamma), math.log(info.max) - 1)
        t = jax.random.normal(normal_key, shape, self.dtype) * jnp.exp(log_factor)
        draws = jnp.clip(self.loc + self.scale * jnp.clip(t, -info.max, info.max),
                         -info.max, info.max)
        return self._checked(draws)

    @jit
    def entropy(self) -> Array:
        # (nu+1)/2 [psi((nu+1)/2) - psi(nu/2)] + log(sqrt(nu) B(nu/2, 1/2)) + log sigma,
        # log B(nu/2, 1/2) = log(pi)/2 - [lgamma((nu+1)/2) - lgamma(nu/2)]
        df = self._safe(self.df)
        half_df = 0.5 * df
        return self._checked((half_df + 0.5) * _digamma_half_step(half_df) + 0.5 * jnp.log(df)
                             + _HALF_LOG_PI - _lgamma_half_step(half_df)
                             + jnp.log(self._safe(self.scale)))

    @jit
    def mean(self) -> Array:
        return self._checked(jnp.where(self.df > 1, self.loc, jnp.nan))

    @jit
    def variance(self) -> Array:
        df = self.df
        finite = self.scale * self.scale * df / jnp.where(df > 2, df - 2.0, 1.0)
        return self._checked(jnp.where(df > 2, finite, jnp.where(df > 1, jnp.inf, jnp.nan)))


class InverseGamma(_Scalar):
    r"""Inverse-gamma distribution: :math:`1/X \sim \mathrm{Gamma}(\alpha, \text{rate}=\beta)`.

    .. math:: \log p(x) = \alpha\log\beta - \log\Gamma(\alpha) - (\alpha + 1)\log x - \beta/x

    with ``concentration`` :math:`\alpha` and ``scale`` :math:`\beta` (scipy's ``invgamma(a,
    scale=b)``). Evaluated through the Gamma density of ``1/x`` (and its Jacobian), so it
    inherits that density's accuracy for large :math:`\alpha`. The conjugate prior of a
    Normal variance. The mean is infinite for :math:`\alpha \le 1`, the variance for
    :math:`\alpha \le 2`. Draws are ``scale / g`` with ``g`` a log-space Gamma draw,
    computed in log space and kept inside ``[tiny, max]`` of the dtype.

    Example:
        >>> from mlmath.distributions import InverseGamma
        >>> float(InverseGamma(3.0, 4.0).mean()), float(InverseGamma(3.0, 4.0).variance())
        (2.0, 4.0)
    """

    concentration: Array
    scale: Array
    _constraints = ("positive", "positive")

    def __init__(self, concentration: ArrayLike, scale: ArrayLike = 1.0, *,
                 validate_args: bool = True) -> None:
        self._set_parameters(validate_args, concentration=concentration, scale=scale)

    @property
    def _parameters(self):
        return (self.concentration, self.scale)

    def _reciprocal(self):
        return Gamma(self._safe(self.concentration), self._safe(self.scale), validate_args=False)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        positive = (x > 0) & (x < jnp.inf)
        safe_x = jnp.where(positive, x, 1.0)
        value = self._reciprocal().log_prob(1.0 / safe_x) - 2.0 * jnp.log(safe_x)
        # where 1/x is below the smallest normal number (and may flush to 0), directly:
        # alpha log(beta) - lgamma(alpha) - (alpha + 1) log x - beta / x
        huge = safe_x > 1.0 / jnp.finfo(self.dtype).tiny
        alpha, beta = self._safe(self.concentration), self._safe(self.scale)
        direct = (alpha * jnp.log(beta) - jax.scipy.special.gammaln(alpha)
                  - (alpha + 1.0) * jnp.log(safe_x) - beta / safe_x)
        value = jnp.where(huge, direct, value)
        return self._finish_log_prob(jnp.where(positive, value, -jnp.inf), x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        log_gamma = _sampling.log_gamma(key, self.concentration, shape, self.dtype)
        log_draws = jnp.log(self._safe(self.scale)) - log_gamma
        return self._checked(_sampling.positive_from_log(log_draws))

    @jit
    def entropy(self) -> Array:
        # H(1/Y) = H(Y) - 2 E[log Y], E[log Y] = digamma(alpha) - log(beta)
        alpha = self._safe(self.concentration)
        digamma_alpha = jnp.log(alpha) + _special.digamma_minus_log(alpha)
        return self._checked(self._reciprocal().entropy()
                             - 2.0 * (digamma_alpha - jnp.log(self._safe(self.scale))))

    @jit
    def mean(self) -> Array:
        alpha = self.concentration
        return self._checked(
            jnp.where(alpha > 1, self.scale / jnp.where(alpha > 1, alpha - 1.0, 1.0), jnp.inf))

    @jit
    def variance(self) -> Array:
        alpha = self.concentration
        shifted = jnp.where(alpha > 2, alpha - 1.0, 2.0)
        finite = self.scale * self.scale / (shifted * shifted * (shifted - 1.0))
        return self._checked(jnp.where(alpha > 2, finite, jnp.inf))


_NEGATIVE_BINOMIAL_WINDOW = 8192


class NegativeBinomial(Distribution):
    r"""Negative binomial: the number of successes before ``total_count`` failures.

    .. math:: \log p(k) = \log\binom{k + r - 1}{k} + k\log p + r\log(1-p)

    with ``probs`` :math:`p` the success probability (or ``logits``; exactly one), as in
    TensorFlow Probability; scipy's ``nbinom(n=r, p=1-p)``. ``total_count`` :math:`r > 0`
    may be real: the distribution is then a Poisson whose rate has a
    :math:`\mathrm{Gamma}(r, (1-p)/p)` distribution. The log-pmf is evaluated in Loader's
    binomial form (``bd0`` and Stirling corrections), accurate for counts in the millions;
    the mean is :math:`rp/(1-p)`, the variance :math:`rp/(1-p)^2`. The entropy has no
    closed form: it is summed over 8192 consecutive counts around the mean, which holds the
    whole distribution while its standard deviation is below about 300; beyond that it is
    NaN rather than a silently truncated sum. Draws are Poisson draws (see
    :class:`Poisson`) at log-space Gamma rates, counts held in the floating dtype.

    ``total_count`` must be positive and finite, ``probs`` in ``[0, 1)`` (logits below
    ``+inf``, not NaN): a concrete violation raises a ``ValueError`` when ``validate_args``
    is true; otherwise (and always when traced) every method gives NaN for it.

    Example:
        >>> from mlmath.distributions import NegativeBinomial
        >>> d = NegativeBinomial(3.0, probs=0.25)
        >>> round(float(d.mean()), 6), round(float(d.log_prob(0)), 6)  # 1, 3 log(3/4)
        (1.0, -0.863046)
    """

    total_count: Array
    logits: Array

    def __init__(self, total_count: ArrayLike, logits: ArrayLike | None = None,
                 probs: ArrayLike | None = None, *, validate_args: bool = True) -> None:
        kind, value = _logits_or_probs("NegativeBinomial", logits, probs)
        total_count, value = as_floats(("total_count", kind), (total_count, value))
        check_constraints("NegativeBinomial", validate_args,
                          total_count=(total_count, "positive"))
        concrete = concrete_parameters(validate_args, value)
        if concrete is not None:
            (array,) = concrete
            with np.errstate(invalid="ignore"):
                if kind == "probs":
                    raise_if_invalid("NegativeBinomial", kind, array, (array >= 0) & (array < 1),
                                     "in [0, 1)")
                else:
                    raise_if_invalid("NegativeBinomial", kind, array,
                                     (array == array) & (array < np.inf), "a number below +inf")
        if kind == "probs":
            value = _logits_of_probability(value)
        self.total_count, self.logits = broadcast_parameters(
            "NegativeBinomial", total_count=total_count, logits=value
        )

    def _parameters_valid(self) -> Array:
        logits = self.logits
        return satisfies(self.total_count, "positive") & (logits == logits) & (logits < jnp.inf)

    def _safe_parameters(self) -> tuple[Array, Array]:
        valid = self._parameters_valid()
        return jnp.where(valid, self.total_count, 1.0), jnp.where(valid, self.logits, 0.0)

    @property
    def probs(self) -> Array:
        """Success probability :math:`p`."""
        return jax.nn.sigmoid(self.logits)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.logits.shape)

    @property
    def dtype(self) -> jnp.dtype:
        return self.logits.dtype

    @staticmethod
    def _log_pmf(counts, r, logits):
        """Log-pmf at non-negative integer ``counts`` (floats), broadcast with ``r``, ``logits``."""
        log_p = jax.nn.log_sigmoid(logits)
        log_q = jax.nn.log_sigmoid(-logits)
        p, q = jax.nn.sigmoid(logits), jax.nn.sigmoid(-logits)
        # p(k) = r / (k + r) * Binomial(k; n = k + r, p), Binomial in Loader's saddle-point form
        positive = counts > 0
        k = jnp.where(positive, counts, 1.0)
        n = k + r
        binomial = (
            _special.stirling_correction(n) - _special.stirling_correction(k)
            - _special.stirling_correction(r)
            - _special.bd0(k, n * p, jnp.log(n) + log_p)
            - _special.bd0(r, n * q, jnp.log(n) + log_q)
            - 0.5 * (math.log(2.0 * math.pi) + jnp.log(k) + jnp.log(r) - jnp.log(n))
        )
        at_zero = r * log_q
        return jnp.where(positive, jnp.log(r) - jnp.log(n) + binomial, at_zero)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x)
        valid = _integer_valued(x) & (x >= 0) & (x < jnp.inf)
        counts = jnp.where(valid, x, 0).astype(self.dtype)
        total_count, logits = self._safe_parameters()
        value = jnp.where(valid, self._log_pmf(counts, total_count, logits), -jnp.inf)
        return self._finish_log_prob(value, x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        gamma_key, poisson_key = jax.random.split(key)
        total_count, logits = self._safe_parameters()
        log_rates = _sampling.log_gamma(gamma_key, total_count, shape, self.dtype) + logits
        rates = jnp.where(log_rates > -jnp.inf, _sampling.positive_from_log(log_rates), 0.0)
        return self._checked(_sampling.poisson(poisson_key, rates, shape, self.dtype))

    @jit
    def entropy(self) -> Array:
        total_count, logits = self._safe_parameters()
        safe = NegativeBinomial(total_count, logits, validate_args=False)
        mean, sd = safe._mean(), jnp.sqrt(safe._variance())
        start = jnp.floor(jnp.maximum(mean - 20.0 * sd, 0.0))
        counts = start[..., None] + jnp.arange(_NEGATIVE_BINOMIAL_WINDOW, dtype=self.dtype)
        # (the parameters gain the window's axis: a batch of any shape broadcasts against it)
        log_pmf = self._log_pmf(counts, total_count[..., None], logits[..., None])
        mass = jnp.sum(jnp.exp(log_pmf), axis=-1)
        value = -jnp.sum(_special.xlogx_exp(log_pmf), axis=-1)
        eps = jnp.finfo(self.dtype).eps
        # The summed mass cannot see a missing right tail below its own rounding error
        # (about 1e-4 in float32, where a lost tail of that size changes the entropy by
        # ~1e-3), so the tail beyond the window is bounded analytically: the ratio
        # p(k+1)/p(k) = p (k + r)/(k + 1) is at most rho = p max(1, (end + r)/(end + 1)) for
        # every k >= end, so p(end + j) <= p(end) rho^j, whose mass and entropy are
        # geometric series. The left edge sits 20 standard deviations below the mean,
        # beyond which the negative binomial has no appreciable mass.
        end = counts[..., -1]
        log_end = log_pmf[..., -1]
        log_rho = jax.nn.log_sigmoid(logits) + jnp.log(
            jnp.maximum(1.0, (end + total_count) / (end + 1.0)))
        decaying = log_rho < 0.0
        safe_log_rho = jnp.where(decaying, log_rho, -1.0)
        one_minus_rho = -jnp.expm1(safe_log_rho)
        tail_mass = jnp.exp(log_end + safe_log_rho) / one_minus_rho
        tail_entropy = tail_mass * (-log_end - safe_log_rho / one_minus_rho)
        captured = (
            decaying
            & (tail_mass + tail_entropy <= eps)
            & (jnp.abs(1.0 - mass) <= 100.0 * eps * math.sqrt(_NEGATIVE_BINOMIAL_WINDOW))
        )
        return self._checked(jnp.where(captured, value, jnp.nan))

    def _mean(self) -> Array:
        return self.total_count * jnp.exp(self.logits)

    def _variance(self) -> Array:
        return self._mean() / jax.nn.sigmoid(-self.logits)

    @jit
    def mean(self) -> Array:
        return self._checked(self._mean())

    @jit
    def variance(self) -> Array:
        return self._checked(self._variance())


class NormalInverseGamma(eqx.Module):
    r"""Normal–inverse-gamma: the conjugate prior of a linear model's weights and noise variance.

    .. math:: \sigma^2\sim\mathrm{InverseGamma}(a, b),\qquad
              w\mid\sigma^2\sim\mathcal N(m, \sigma^2\Lambda^{-1})

    held by the mean ``loc`` :math:`m` (``(d,)``), the ``precision`` :math:`\Lambda`
    (``(d, d)``, the prior's pseudo-observations :math:`X^\top X`), ``concentration``
    :math:`a` and ``rate`` :math:`b`. Its draws are pairs, so it is a Module of its own
    rather than a :class:`Distribution`: ``log_prob(weights, variance)``,
    ``sample(key, shape) -> (weights, variance)``. :meth:`predictive` gives the Student-t
    distribution of new targets, :meth:`variance_distribution` the marginal of
    :math:`\sigma^2`. Only Cholesky factors of :math:`\Lambda` are used, never its inverse.
    Invalid parameters (a non-finite ``loc``, a ``precision`` that is not positive
    definite, a ``concentration`` or ``rate`` that is not positive and finite) raise a
    ``ValueError`` when concrete and ``validate_args`` is true; otherwise (and always when
    traced) every method gives NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.distributions import NormalInverseGamma
        >>> prior = NormalInverseGamma(jnp.zeros(2), jnp.eye(2), 3.0, 2.0)
        >>> float(prior.variance_distribution().mean())  # b / (a - 1)
        1.0
    """

    loc: Array
    precision: Array
    concentration: Array
    rate: Array

    def __init__(self, loc: ArrayLike, precision: ArrayLike, concentration: ArrayLike,
                 rate: ArrayLike, *, validate_args: bool = True) -> None:
        loc, precision, concentration, rate = as_floats(
            ("loc", "precision", "concentration", "rate"), (loc, precision, concentration, rate)
        )
        if loc.ndim != 1:
            raise ValueError(f"NormalInverseGamma: loc must have shape (d,), got {loc.shape}")
        d = loc.shape[0]
        if precision.shape != (d, d):
            raise ValueError(
                f"NormalInverseGamma: precision must have shape ({d}, {d}) to match loc, "
                f"got {precision.shape}"
            )
        if concentration.shape != () or rate.shape != ():
            raise ValueError(
                "NormalInverseGamma: concentration and rate must be scalars, got shapes "
                f"{concentration.shape} and {rate.shape}"
            )
        check_constraints("NormalInverseGamma", validate_args, loc=(loc, "finite"),
                          concentration=(concentration, "positive"), rate=(rate, "positive"))
        concrete = concrete_parameters(validate_args, precision)
        if concrete is not None:
            (matrix,) = concrete
            with np.errstate(invalid="ignore"):
                try:
                    ok = bool(np.all(np.isfinite(np.linalg.cholesky(matrix))))
                except np.linalg.LinAlgError:
                    ok = False
            if not ok:
                shown = np.array2string(matrix, separator=", ").replace("\n", "")
                raise ValueError(
                    "NormalInverseGamma: precision must be symmetric positive definite, got "
                    f"{shown} (validate_args=False gives NaN results instead of this error)"
                )
        self.loc, self.precision = loc, precision
        self.concentration, self.rate = concentration, rate

    def _valid(self) -> Array:
        """Whether the parameters are valid, as a scalar mask (traceable)."""
        return (jnp.all(satisfies(self.loc, "finite")) & jnp.all(jnp.isfinite(self._factor()))
                & satisfies(self.concentration, "positive") & satisfies(self.rate, "positive"))

    @property
    def dtype(self) -> jnp.dtype:
        return self.loc.dtype

    @property
    def event_shape(self) -> tuple[int, ...]:
        """Shape of the weights."""
        return (self.loc.shape[0],)

    def _factor(self):
        return jnp.linalg.cholesky(self.precision)

    @jit
    def variance_distribution(self) -> InverseGamma:
        r"""The marginal distribution of the noise variance :math:`\sigma^2`."""
        valid = self._valid()
        return InverseGamma(jnp.where(valid, self.concentration, jnp.nan), self.rate,
                            validate_args=False)

    @jit
    def log_prob(self, weights: ArrayLike, variance: ArrayLike) -> Array:
        """Joint log-density of weights ``(..., d)`` and variances ``(...)``."""
        weights = as_float(weights, "weights", self.dtype)
        variance = as_float(variance, "variance", self.dtype)
        if weights.shape[-1:] != self.event_shape:
            raise ValueError(
                f"NormalInverseGamma.log_prob: weights must end with {self.event_shape}, "
                f"got {weights.shape}"
            )
        d = self.event_shape[0]
        factor = self._factor()
        projected = (weights - self.loc) @ factor  # rows of L^T (w - m)
        quadratic = jnp.sum(projected * projected, axis=-1)
        positive = variance > 0
        safe = jnp.where(positive, variance, 1.0)
        log_normal = (-0.5 * d * (math.log(2.0 * math.pi) + jnp.log(safe))
                      + jnp.sum(jnp.log(jnp.diagonal(factor))) - 0.5 * quadratic / safe)
        value = log_normal + self.variance_distribution().log_prob(safe)
        value = jnp.where(positive, value, -jnp.inf)
        value = jnp.where(jnp.isinf(value), jax.lax.stop_gradient(value), value)
        missing = jnp.any(jnp.isnan(weights), axis=-1) | jnp.isnan(variance)
        return nan_where_invalid(jnp.where(missing, jnp.nan, value), self._valid())

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike,
               sample_shape: int | Sequence[int] = ()) -> tuple[Array, Array]:
        """Draws ``(weights, variance)`` of shapes ``sample_shape + (d,)`` and ``sample_shape``."""
        shape = shape_tuple(sample_shape)
        variance_key, weights_key = jax.random.split(key)
        variance = self.variance_distribution().sample(variance_key, shape)
        z = jax.random.normal(weights_key, shape + self.event_shape, self.dtype)
        # w = m + sigma L^{-T} z has covariance sigma^2 (L L^T)^{-1} = sigma^2 Lambda^{-1}
        noise = jax.scipy.linalg.solve_triangular(self._factor().T, z.reshape(-1, z.shape[-1]).T,
                                                  lower=False).T.reshape(z.shape)
        valid = self._valid()
        weights = self.loc + jnp.sqrt(variance)[..., None] * noise
        return nan_where_invalid(weights, valid), nan_where_invalid(variance, valid)

    @jit
    def predictive(self, X: ArrayLike) -> StudentT:
        r"""Predictive distribution of targets at new inputs ``X (n, d)``: one Student-t per row.

        .. math:: y_*\mid x_* \sim t_{2a}\Big(x_*^\top m,\ \frac ba\big(1 + x_*^\top
                  \Lambda^{-1}x_*\big)\Big)
        """
        X = as_float(X, "X", self.dtype)
        if X.ndim != 2 or X.shape[1] != self.event_shape[0]:
            raise ValueError(
                f"NormalInverseGamma.predictive: X must have shape (n, {self.event_shape[0]}), "
                f"got {X.shape}"
            )
        whitened = jax.scipy.linalg.solve_triangular(self._factor(), X.T, lower=True)
        leverage = jnp.sum(whitened * whitened, axis=0)
        scale = jnp.sqrt(self.rate / self.concentration * (1.0 + leverage))
        df = jnp.where(self._valid(), 2.0 * self.concentration, jnp.nan)
        return StudentT(df, X @ self.loc, scale, validate_args=False)
