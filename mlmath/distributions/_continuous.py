"""Scalar continuous distributions: Normal, Laplace, Uniform, Gamma, Beta."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import as_floats, broadcast_parameters
from mlmath.distributions import _fit, _sampling
from mlmath.distributions._base import (
    Distribution,
    check_constraints,
    concrete_parameters,
    raise_if_invalid,
    sample_dims,
    satisfies,
)
from mlmath.distributions._multivariate import dirichlet_entropy, dirichlet_log_density


class _Scalar(Distribution):
    """Shared plumbing for distributions whose parameters all have the batch shape.

    ``_constraints`` names each parameter's constraint (see ``_base.CONSTRAINTS``), in the
    order of ``_parameters``: the constructor checks concrete values against them and
    ``_parameters_valid`` is their conjunction (traceable).
    """

    _constraints: ClassVar[tuple[str, ...]] = ()

    @property
    @abc.abstractmethod
    def _parameters(self) -> tuple[Array, ...]:
        """The parameter fields, all of the batch shape."""

    def _set_parameters(self, validate_args: bool, **parameters: ArrayLike) -> None:
        """Convert, check (concrete values only) and broadcast the parameters, then set them."""
        owner = type(self).__name__
        names = tuple(parameters)
        arrays = as_floats(names, tuple(parameters.values()))
        check_constraints(owner, validate_args, **{
            name: (array, constraint)
            for name, array, constraint in zip(names, arrays, self._constraints, strict=True)
        })
        arrays = broadcast_parameters(owner, **dict(zip(names, arrays, strict=True)))
        for name, array in zip(names, arrays, strict=True):
            setattr(self, name, array)

    def _parameters_valid(self) -> Array:
        valid = jnp.ones(self.batch_shape, bool)
        for value, constraint in zip(self._parameters, self._constraints, strict=True):
            valid = valid & satisfies(value, constraint)
        return valid

    def _safe(self, value: Array, fallback: float = 1.0) -> Array:
        """A parameter with ``fallback`` where the parameters are invalid (for gradients)."""
        return jnp.where(self._parameters_valid(), value, fallback)

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
    _constraints = ("finite", "positive")

    def __init__(self, loc: ArrayLike, scale: ArrayLike, *, validate_args: bool = True) -> None:
        self._set_parameters(validate_args, loc=loc, scale=scale)

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
        return cls(*_fit.fit_normal(x, weights), validate_args=False)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        finite = jnp.isfinite(x)  # +-inf: the edge of the support, -inf with gradient 0
        z = (jnp.where(finite, x, 0.0) - self.loc) / self.scale
        value = -0.5 * z * z - jnp.log(self.scale) - _special.HALF_LOG_TWO_PI
        return self._finish_log_prob(jnp.where(finite, value, -jnp.inf), x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        return self._checked(self.loc + self.scale * jax.random.normal(key, shape, self.dtype))

    @jit
    def entropy(self) -> Array:
        return self._checked(0.5 + _special.HALF_LOG_TWO_PI + jnp.log(self.scale))

    @jit
    def mean(self) -> Array:
        return self._checked(self.loc)

    @jit
    def variance(self) -> Array:
        return self._checked(self.scale * self.scale)

    @jit
    def stddev(self) -> Array:
        return self._checked(self.scale)


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
    _constraints = ("finite", "positive")

    def __init__(self, loc: ArrayLike, scale: ArrayLike, *, validate_args: bool = True) -> None:
        self._set_parameters(validate_args, loc=loc, scale=scale)

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
        return cls(*_fit.fit_laplace(x, weights), validate_args=False)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        finite = jnp.isfinite(x)
        distance = jnp.abs(jnp.where(finite, x, 0.0) - self.loc)
        value = -distance / self.scale - jnp.log(2.0 * self.scale)
        return self._finish_log_prob(jnp.where(finite, value, -jnp.inf), x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        return self._checked(self.loc + self.scale * jax.random.laplace(key, shape, self.dtype))

    @jit
    def entropy(self) -> Array:
        return self._checked(1.0 + jnp.log(2.0 * self.scale))

    @jit
    def mean(self) -> Array:
        return self._checked(self.loc)

    @jit
    def variance(self) -> Array:
        return self._checked(2.0 * self.scale * self.scale)


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
    _constraints = ("finite", "finite")

    def __init__(self, low: ArrayLike, high: ArrayLike, *, validate_args: bool = True) -> None:
        self._set_parameters(validate_args, low=low, high=high)
        concrete = concrete_parameters(validate_args, self.low, self.high)
        if concrete is not None:
            low_, high_ = concrete
            raise_if_invalid("Uniform", "high", high_, high_ > low_, "> low")

    @property
    def _parameters(self):
        return (self.low, self.high)

    def _parameters_valid(self) -> Array:
        return super()._parameters_valid() & (self.high > self.low)

    @classmethod
    def fit(cls, x: ArrayLike, weights: ArrayLike | None = None) -> Uniform:
        """Weighted maximum-likelihood fit to samples ``x`` along axis 0.

        The estimate is the smallest and largest samples with positive weight. ``weights`` (shape
        ``(n,)`` or broadcasting to ``x``) need not sum to one; trailing axes of ``x`` become the
        batch shape. See :func:`mlmath.distributions.fit_uniform`.
        """
        return cls(*_fit.fit_uniform(x, weights), validate_args=False)

    def _width(self) -> Array:
        return self._safe(self.high - self.low)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        inside = (x >= self.low) & (x <= self.high)
        return self._finish_log_prob(jnp.where(inside, -jnp.log(self._width()), -jnp.inf), x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        u = jax.random.uniform(key, shape, self.dtype)
        return self._checked(self.low + (self.high - self.low) * u)

    @jit
    def entropy(self) -> Array:
        return self._checked(jnp.log(self._width()))

    @jit
    def mean(self) -> Array:
        return self._checked(0.5 * (self.low + self.high))

    @jit
    def variance(self) -> Array:
        width = self.high - self.low
        return self._checked(width * width / 12.0)


class Gamma(_Scalar):
    r"""Gamma distribution with shape :math:`\alpha` (``concentration``) and ``rate`` :math:`\beta`.

    .. math:: \log p(x) = \alpha\log\beta + (\alpha-1)\log x - \beta x - \log\Gamma(\alpha)

    Evaluated as ``log(beta) + log(alpha / y) + k(alpha, y)`` with ``y = beta x`` and ``k``
    the Poisson kernel of :mod:`mlmath._special`, which keeps float32 accurate when the
    shape is in the thousands (the naive formula subtracts ``lgamma`` values of order
    ``alpha log alpha``). The mean is :math:`\alpha/\beta`, the variance :math:`\alpha/\beta^2`.

    Draws are sampled in log space and mapped into ``[tiny, max]`` of the dtype (``tiny``
    the smallest positive normal number), so that a small concentration, whose draws
    underflow (below ``1e-38`` in float32 with probability about ``e^{-87 alpha}``), never
    gives exactly 0, where the density is infinite. Values that small are all represented
    by ``tiny``.

    Example:
        >>> from mlmath.distributions import Gamma
        >>> d = Gamma(concentration=2.0, rate=4.0)
        >>> float(d.mean()), float(d.variance())
        (0.5, 0.125)
    """

    concentration: Array
    rate: Array
    _constraints = ("positive", "positive")

    def __init__(self, concentration: ArrayLike, rate: ArrayLike = 1.0, *,
                 validate_args: bool = True) -> None:
        self._set_parameters(validate_args, concentration=concentration, rate=rate)

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
        return cls(*_fit.fit_gamma(x, weights), validate_args=False)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        alpha, rate = self._safe(self.concentration), self._safe(self.rate)
        positive = (x > 0) & (x < jnp.inf)
        y = rate * jnp.where(positive, x, 1.0)
        log_rate = jnp.log(rate)
        interior = log_rate + jnp.log(alpha) - jnp.log(y) + _special.log_poisson_kernel(alpha, y)
        # at x = 0 the density is +inf (alpha < 1), rate (alpha = 1) or 0 (alpha > 1)
        at_zero = jnp.where(alpha < 1, jnp.inf, jnp.where(alpha == 1, log_rate, -jnp.inf))
        value = jnp.where(positive, interior, jnp.where(x == 0, at_zero, -jnp.inf))
        return self._finish_log_prob(value, x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        log_draws = _sampling.log_gamma(key, self.concentration, shape, self.dtype)
        return self._checked(_sampling.positive_from_log(log_draws - jnp.log(self._safe(
            self.rate))))

    @jit
    def entropy(self) -> Array:
        # alpha + lgamma(alpha) + (1 - alpha) digamma(alpha) - log(rate), with its large
        # terms (of order alpha log alpha) cancelled analytically through Stirling's series
        alpha = self._safe(self.concentration)
        return self._checked(
            0.5 * jnp.log(alpha)
            + _special.HALF_LOG_TWO_PI
            + _special.stirling_correction(alpha)
            + (1.0 - alpha) * _special.digamma_minus_log(alpha)
            - jnp.log(self._safe(self.rate))
        )

    @jit
    def mean(self) -> Array:
        return self._checked(self.concentration / self.rate)

    @jit
    def variance(self) -> Array:
        return self._checked(self.concentration / (self.rate * self.rate))


class Beta(_Scalar):
    r"""Beta distribution on :math:`[0, 1]`.

    .. math:: \log p(x) = (a-1)\log x + (b-1)\log(1-x) - \log B(a, b)

    with ``a = concentration1`` (the weight of 1) and ``b = concentration0`` (the weight of
    0), as in TensorFlow Probability. It is the two-category ``Dirichlet``; the density is
    evaluated by the same cancellation-free form. Draws are computed from two log-space
    Gamma draws and kept inside ``[tiny, 1 - eps/2]``, so that small concentrations never
    give exactly 0 or 1, where the density is infinite. On the boundary (``x`` of 0 or 1)
    an infinite log-density has a zero gradient, a finite one (a concentration of 1) the
    gradient of its finite terms.

    Example:
        >>> from mlmath.distributions import Beta
        >>> float(Beta(2.0, 2.0).mean()), round(float(Beta(2.0, 2.0).log_prob(0.5)), 5)  # log 1.5
        (0.5, 0.40547)
    """

    concentration1: Array
    concentration0: Array
    _constraints = ("positive", "positive")

    def __init__(self, concentration1: ArrayLike, concentration0: ArrayLike, *,
                 validate_args: bool = True) -> None:
        self._set_parameters(validate_args, concentration1=concentration1,
                             concentration0=concentration0)

    @property
    def _parameters(self):
        return (self.concentration1, self.concentration0)

    def _pair(self):
        pair = jnp.stack([self.concentration1, self.concentration0], axis=-1)
        return jnp.where(self._parameters_valid()[..., None], pair, 1.0)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x, dtype=self.dtype)
        inside = (x >= 0) & (x <= 1)
        safe_x = jnp.where(inside, x, 0.5)
        coordinates = jnp.stack([safe_x, 1.0 - safe_x], axis=-1)
        value = dirichlet_log_density(coordinates, self._pair())
        return self._finish_log_prob(jnp.where(inside, value, -jnp.inf), x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        key1, key0 = jax.random.split(key)
        log1 = _sampling.log_gamma(key1, self.concentration1, shape, self.dtype)
        log0 = _sampling.log_gamma(key0, self.concentration0, shape, self.dtype)
        return self._checked(_sampling.unit_interval_from_logs(log1, log0))

    @jit
    def entropy(self) -> Array:
        return self._checked(dirichlet_entropy(self._pair()))

    @jit
    def mean(self) -> Array:
        return self._checked(self.concentration1 / (self.concentration1 + self.concentration0))

    @jit
    def variance(self) -> Array:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return self._checked(a * b / (total * total * (total + 1.0)))
