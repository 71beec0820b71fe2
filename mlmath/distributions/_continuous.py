"""Scalar continuous distributions: Normal, Laplace, Uniform, Gamma, Beta."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import as_floats, broadcast_parameters
from mlmath.distributions import _fit
from mlmath.distributions._base import Distribution, sample_dims
from mlmath.distributions._multivariate import dirichlet_entropy, dirichlet_log_density


class _Scalar(Distribution):
    """Shared plumbing for distributions whose parameters all have the batch shape."""

    @property
    @abc.abstractmethod
    def _parameters(self) -> tuple[Array, ...]:
        """The parameter fields, all of the batch shape."""

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self._parameters[0].shape)

    @property
    def dtype(self):
        return self._parameters[0].dtype


class Normal(_Scalar):
    r"""Gaussian distribution :math:`\mathcal N(\mu, \sigma^2)`.

    .. math:: \log p(x) = -\tfrac12 \big(\tfrac{x-\mu}{\sigma}\big)^2 - \log\sigma
              - \tfrac12\log 2\pi

    Args:
        loc: mean :math:`\mu`, any shape.
        scale: standard deviation :math:`\sigma > 0`, broadcasting with ``loc``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.distributions import Normal
        >>> d = Normal(jnp.zeros(3), 2.0)
        >>> d.batch_shape, d.sample(jax.random.key(0), (5,)).shape
        ((3,), (5, 3))
        >>> round(float(Normal(0.0, 1.0).log_prob(0.0)), 6)  # -log(2 pi) / 2
        -0.918939
    """

    loc: Array
    scale: Array

    def __init__(self, loc: ArrayLike, scale: ArrayLike) -> None:
        loc, scale = as_floats(("loc", "scale"), (loc, scale))
        self.loc, self.scale = broadcast_parameters("Normal", loc=loc, scale=scale)

    @property
    def _parameters(self):
        return (self.loc, self.scale)

    @classmethod
    def fit(cls, x: ArrayLike, weights: ArrayLike | None = None) -> Normal:
        """Weighted maximum-likelihood fit to samples ``x`` along axis 0.

        The estimate is the weighted mean and the weighted (biased) standard deviation.
        ``weights`` (shape ``(n,)`` or broadcasting to ``x``) need not sum to one; trailing axes
        of ``x`` become the batch shape. See :func:`mlmath.distributions.fit_normal`.
        """
        return cls(*_fit.fit_normal(x, weights))

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        z = (x - self.loc) / self.scale
        return -0.5 * z * z - jnp.log(self.scale) - _special.HALF_LOG_TWO_PI

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        return self.loc + self.scale * jax.random.normal(key, shape, self.dtype)

    @jit
    def entropy(self) -> Array:
        return 0.5 + _special.HALF_LOG_TWO_PI + jnp.log(self.scale)

    @jit
    def mean(self) -> Array:
        return self.loc

    @jit
    def variance(self) -> Array:
        return self.scale * self.scale

    @jit
    def stddev(self) -> Array:
        return self.scale


class Laplace(_Scalar):
    r"""Laplace (double exponential) distribution.

    .. math:: \log p(x) = -\frac{|x-\mu|}{b} - \log 2b

    Args:
        loc: location (and median) :math:`\mu`.
        scale: scale :math:`b > 0`; the variance is :math:`2b^2`.

    Example:
        >>> from mlmath.distributions import Laplace
        >>> round(float(Laplace(0.0, 1.0).entropy()), 6)  # 1 + log 2
        1.693147
    """

    loc: Array
    scale: Array

    def __init__(self, loc: ArrayLike, scale: ArrayLike) -> None:
        loc, scale = as_floats(("loc", "scale"), (loc, scale))
        self.loc, self.scale = broadcast_parameters("Laplace", loc=loc, scale=scale)

    @property
    def _parameters(self):
        return (self.loc, self.scale)

    @classmethod
    def fit(cls, x: ArrayLike, weights: ArrayLike | None = None) -> Laplace:
        """Weighted maximum-likelihood fit to samples ``x`` along axis 0.

        The estimate is the weighted median and the mean absolute deviation from it. ``weights``
        (shape ``(n,)`` or broadcasting to ``x``) need not sum to one; trailing axes of ``x``
        become the batch shape. See :func:`mlmath.distributions.fit_laplace`.
        """
        return cls(*_fit.fit_laplace(x, weights))

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        return -jnp.abs(x - self.loc) / self.scale - jnp.log(2.0 * self.scale)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        return self.loc + self.scale * jax.random.laplace(key, shape, self.dtype)

    @jit
    def entropy(self) -> Array:
        return 1.0 + jnp.log(2.0 * self.scale)

    @jit
    def mean(self) -> Array:
        return self.loc

    @jit
    def variance(self) -> Array:
        return 2.0 * self.scale * self.scale


class Uniform(_Scalar):
    r"""Continuous uniform distribution on :math:`[\text{low}, \text{high}]`.

    .. math:: \log p(x) = -\log(\text{high} - \text{low})\ \text{on the interval, else}\ -\infty

    Example:
        >>> from mlmath.distributions import Uniform
        >>> round(float(Uniform(0.0, 4.0).log_prob(1.0)), 6), float(Uniform(0.0, 4.0).log_prob(5.0))
        (-1.386294, -inf)
    """

    low: Array
    high: Array

    def __init__(self, low: ArrayLike, high: ArrayLike) -> None:
        low, high = as_floats(("low", "high"), (low, high))
        self.low, self.high = broadcast_parameters("Uniform", low=low, high=high)

    @property
    def _parameters(self):
        return (self.low, self.high)

    @classmethod
    def fit(cls, x: ArrayLike, weights: ArrayLike | None = None) -> Uniform:
        """Weighted maximum-likelihood fit to samples ``x`` along axis 0.

        The estimate is the smallest and largest samples with positive weight. ``weights`` (shape
        ``(n,)`` or broadcasting to ``x``) need not sum to one; trailing axes of ``x`` become the
        batch shape. See :func:`mlmath.distributions.fit_uniform`.
        """
        return cls(*_fit.fit_uniform(x, weights))

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        inside = (x >= self.low) & (x <= self.high)
        return jnp.where(inside, -jnp.log(self.high - self.low), -jnp.inf)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        u = jax.random.uniform(key, shape, self.dtype)
        return self.low + (self.high - self.low) * u

    @jit
    def entropy(self) -> Array:
        return jnp.log(self.high - self.low)

    @jit
    def mean(self) -> Array:
        return 0.5 * (self.low + self.high)

    @jit
    def variance(self) -> Array:
        width = self.high - self.low
        return width * width / 12.0


class Gamma(_Scalar):
    r"""Gamma distribution with shape :math:`\alpha` (``concentration``) and ``rate`` :math:`\beta`.

    .. math:: \log p(x) = \alpha\log\beta + (\alpha-1)\log x - \beta x - \log\Gamma(\alpha)

    Evaluated as ``log(beta) + log(alpha / y) + k(alpha, y)`` with ``y = beta x`` and ``k``
    the Poisson kernel of :mod:`mlmath._special`, which keeps float32 accurate when the
    shape is in the thousands (the naive formula subtracts ``lgamma`` values of order
    ``alpha log alpha``). The mean is :math:`\alpha/\beta`, the variance :math:`\alpha/\beta^2`.

    Example:
        >>> from mlmath.distributions import Gamma
        >>> d = Gamma(concentration=2.0, rate=4.0)
        >>> float(d.mean()), float(d.variance())
        (0.5, 0.125)
    """

    concentration: Array
    rate: Array

    def __init__(self, concentration: ArrayLike, rate: ArrayLike = 1.0) -> None:
        concentration, rate = as_floats(("concentration", "rate"), (concentration, rate))
        self.concentration, self.rate = broadcast_parameters(
            "Gamma", concentration=concentration, rate=rate
        )

    @property
    def _parameters(self):
        return (self.concentration, self.rate)

    @classmethod
    def fit(cls, x: ArrayLike, weights: ArrayLike | None = None) -> Gamma:
        """Weighted maximum-likelihood fit to samples ``x`` along axis 0.

        The estimate is the shape by Newton's method on its score equation, then the rate.
        ``weights`` (shape ``(n,)`` or broadcasting to ``x``) need not sum to one; trailing axes
        of ``x`` become the batch shape. See :func:`mlmath.distributions.fit_gamma`.
        """
        return cls(*_fit.fit_gamma(x, weights))

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        alpha, rate = self.concentration, self.rate
        positive = x > 0
        y = rate * jnp.where(positive, x, 1.0)
        log_rate = jnp.log(rate)
        interior = log_rate + jnp.log(alpha) - jnp.log(y) + _special.log_poisson_kernel(alpha, y)
        # at x = 0 the density is +inf (alpha < 1), rate (alpha = 1) or 0 (alpha > 1)
        at_zero = jnp.where(alpha < 1, jnp.inf, jnp.where(alpha == 1, log_rate, -jnp.inf))
        return jnp.where(positive, interior, jnp.where(x == 0, at_zero, -jnp.inf))

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        return jax.random.gamma(key, self.concentration, shape, self.dtype) / self.rate

    @jit
    def entropy(self) -> Array:
        # alpha + lgamma(alpha) + (1 - alpha) digamma(alpha) - log(rate), with its large
        # terms (of order alpha log alpha) cancelled analytically through Stirling's series
        alpha = self.concentration
        return (
            0.5 * jnp.log(alpha)
            + _special.HALF_LOG_TWO_PI
            + _special.stirling_correction(alpha)
            + (1.0 - alpha) * _special.digamma_minus_log(alpha)
            - jnp.log(self.rate)
        )

    @jit
    def mean(self) -> Array:
        return self.concentration / self.rate

    @jit
    def variance(self) -> Array:
        return self.concentration / (self.rate * self.rate)


class Beta(_Scalar):
    r"""Beta distribution on :math:`[0, 1]`.

    .. math:: \log p(x) = (a-1)\log x + (b-1)\log(1-x) - \log B(a, b)

    with ``a = concentration1`` (the weight of 1) and ``b = concentration0`` (the weight of
    0), as in TensorFlow Probability. It is the two-category ``Dirichlet``; the density is
    evaluated by the same cancellation-free form.

    Example:
        >>> from mlmath.distributions import Beta
        >>> float(Beta(2.0, 2.0).mean()), round(float(Beta(2.0, 2.0).log_prob(0.5)), 5)  # log 1.5
        (0.5, 0.40547)
    """

    concentration1: Array
    concentration0: Array

    def __init__(self, concentration1: ArrayLike, concentration0: ArrayLike) -> None:
        a, b = as_floats(("concentration1", "concentration0"), (concentration1, concentration0))
        self.concentration1, self.concentration0 = broadcast_parameters(
            "Beta", concentration1=a, concentration0=b
        )

    @property
    def _parameters(self):
        return (self.concentration1, self.concentration0)

    def _pair(self):
        return jnp.stack([self.concentration1, self.concentration0], axis=-1)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        inside = (x >= 0) & (x <= 1)
        safe_x = jnp.where(inside, x, 0.5)
        coordinates = jnp.stack([safe_x, 1.0 - safe_x], axis=-1)
        value = dirichlet_log_density(coordinates, self._pair())
        return jnp.where(inside, value, -jnp.inf)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        return jax.random.beta(
            key, self.concentration1, self.concentration0, shape, self.dtype
        )

    @jit
    def entropy(self) -> Array:
        return dirichlet_entropy(self._pair())

    @jit
    def mean(self) -> Array:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @jit
    def variance(self) -> Array:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total * total * (total + 1.0))
