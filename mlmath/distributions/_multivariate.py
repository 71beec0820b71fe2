"""Distributions over vectors: MultivariateNormal and Dirichlet."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike
from jaxtyping import Float

from mlmath import _linalg, _special
from mlmath._jit import jit
from mlmath._validation import as_floats, broadcast_shapes_or_raise
from mlmath.distributions import _fit, _sampling
from mlmath.distributions._base import (
    Distribution,
    check_constraints,
    concrete_parameters,
    sample_dims,
    satisfies,
)

# Shapes for static checkers and readers (not checked at run time): the batch shapes of the
# matrix and the vectors broadcast.
_LowerTriangular = Float[Array, "*B d d"]
_Vectors = Float[Array, "*S d"]
_SolvedVectors = Float[Array, "*shape d"]


@jit
def solve_lower_triangular(scale_tril: _LowerTriangular, values: _Vectors) -> _SolvedVectors:
    """``L^{-1} y`` for lower-triangular ``L`` of shape ``(*B, d, d)`` and ``y`` of ``(*S, d)``.

    The batch shapes broadcast; the leading dimensions of ``y`` that ``L`` lacks become the
    columns of one triangular solve per matrix, so a single ``(d, d)`` factor applied to
    ``n`` points is one ``(d, d) x (d, n)`` solve rather than ``n`` small ones.
    """
    d = scale_tril.shape[-1]
    matrix_batch = scale_tril.shape[:-2]
    value_batch = values.shape[:-1]
    if not matrix_batch:
        flat = values.reshape(-1, d).T
        return _linalg.solve_triangular(scale_tril, flat, lower=True).T.reshape(values.shape)
    if len(value_batch) < len(matrix_batch):
        padding = (1,) * (len(matrix_batch) - len(value_batch))
        values = values.reshape(padding + values.shape)
        value_batch = values.shape[:-1]
    split = len(value_batch) - len(matrix_batch)
    lead = value_batch[:split]
    tail = tuple(np.broadcast_shapes(value_batch[split:], matrix_batch))
    values = jnp.broadcast_to(values, lead + tail + (d,))
    scale_tril = jnp.broadcast_to(scale_tril, tail + (d, d))
    count = math.prod(lead)
    columns = jnp.moveaxis(values.reshape((count,) + tail + (d,)), 0, -1)
    solved = _linalg.solve_triangular(scale_tril, columns, lower=True)
    return jnp.moveaxis(solved, -1, 0).reshape(lead + tail + (d,))


class MultivariateNormal(Distribution):
    r"""Multivariate Gaussian :math:`\mathcal N(\mu, \Sigma)`, held by its Cholesky factor.

    .. math:: \log p(x) = -\tfrac12 \lVert L^{-1}(x-\mu)\rVert^2 - \sum_i \log|L_{ii}|
              - \tfrac d2 \log 2\pi, \qquad \Sigma = L L^\top

    Give exactly one of ``covariance`` (factored once with a Cholesky decomposition) or
    ``scale_tril`` (the factor ``L`` itself; only its lower triangle is read). No matrix is
    ever inverted: densities use triangular solves, determinants the factor's diagonal.

    Invalid parameters (a non-finite ``loc``, a covariance that is not positive definite,
    a factor with a zero on its diagonal or a non-finite entry) raise a ``ValueError`` when
    concrete and ``validate_args`` is true; otherwise (and always when traced) every method
    gives NaN for them. A point with an infinite coordinate has log-density ``-inf``.

    Args:
        loc: mean, shape ``(*batch, d)``.
        covariance: ``(*batch, d, d)`` symmetric positive definite.
        scale_tril: ``(*batch, d, d)`` lower-triangular factor.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.distributions import MultivariateNormal
        >>> d = MultivariateNormal(jnp.zeros(2), covariance=jnp.array([[2.0, 0.5], [0.5, 1.0]]))
        >>> d.event_shape, d.log_prob(jnp.zeros((4, 2))).shape
        ((2,), (4,))
    """

    loc: Array
    scale_tril: Array

    def __init__(self, loc: ArrayLike, covariance: ArrayLike | None = None,
                 scale_tril: ArrayLike | None = None, *, validate_args: bool = True) -> None:
        if (covariance is None) == (scale_tril is None):
            raise ValueError(
                "MultivariateNormal: give exactly one of covariance= or scale_tril=, got "
                + ("both" if covariance is not None else "neither")
            )
        name = "covariance" if covariance is not None else "scale_tril"
        matrix = covariance if covariance is not None else scale_tril
        loc, matrix = as_floats(("loc", name), (loc, matrix))  # type: ignore[arg-type]
        if loc.ndim < 1:
            raise ValueError(f"MultivariateNormal: loc must have shape (..., d), got {loc.shape}")
        d = loc.shape[-1]
        if matrix.ndim < 2 or matrix.shape[-2:] != (d, d):
            raise ValueError(
                f"MultivariateNormal: {name} must have shape (..., {d}, {d}) to match loc of "
                f"shape {loc.shape}, got {matrix.shape}"
            )
        broadcast_shapes_or_raise(
            "MultivariateNormal", loc=loc.shape[:-1], **{name: matrix.shape[:-2]}
        )
        check_constraints("MultivariateNormal", validate_args, loc=(loc, "finite"))
        self.loc = loc
        self.scale_tril = (
            _linalg.cholesky(matrix) if covariance is not None else jnp.tril(matrix)
        )
        concrete = concrete_parameters(validate_args, matrix, self.scale_tril)
        if concrete is not None:
            given, factor = concrete
            if covariance is not None:
                ok = np.all(np.isfinite(factor), axis=(-2, -1))
                expected = "symmetric positive definite (its Cholesky factor failed)"
            else:
                ok = np.all(np.isfinite(np.tril(given)), axis=(-2, -1)) & np.all(
                    np.diagonal(given, axis1=-2, axis2=-1) != 0, axis=-1)
                expected = "lower triangular with finite entries and a non-zero diagonal"
            if not np.all(ok):
                index = tuple(int(i) for i in np.argwhere(~np.asarray(ok))[0]) if np.ndim(
                    ok) else ()
                at = f" at batch index {index}" if index else ""
                shown = np.array2string(np.asarray(given[index]), separator=", ").replace("\n", "")
                raise ValueError(
                    f"MultivariateNormal: {name} must be {expected}, got {shown}{at} "
                    "(validate_args=False gives NaN results instead of this error)"
                )

    @classmethod
    def fit(cls, x: ArrayLike, weights: ArrayLike | None = None,
            reg_covar: float = 0.0) -> MultivariateNormal:
        """Weighted maximum-likelihood fit to rows of ``x (n, d)``: mean and covariance.

        The covariance is the weighted (biased) one plus ``reg_covar`` on its diagonal (as
        scikit-learn's mixtures), which keeps it positive definite when few points carry the
        weight. See :func:`mlmath.distributions.fit_multivariate_normal`.
        """
        mean, covariance = _fit.fit_multivariate_normal(x, weights, reg_covar)
        return cls(mean, covariance=covariance, validate_args=False)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(np.broadcast_shapes(self.loc.shape[:-1], self.scale_tril.shape[:-2]))

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.loc.shape[-1],)

    @property
    def dtype(self) -> np.dtype:
        return self.loc.dtype

    def _parameters_valid(self) -> Array:
        factor = self.scale_tril
        diagonal = jnp.diagonal(factor, axis1=-2, axis2=-1)
        factor_ok = jnp.all(jnp.isfinite(factor), axis=(-2, -1)) & jnp.all(diagonal != 0, axis=-1)
        loc_ok = jnp.all(satisfies(self.loc, "finite"), axis=-1)
        return jnp.broadcast_to(factor_ok & loc_ok, self.batch_shape)

    def _half_log_det(self):
        """``log |det L|``, of the factor's own batch shape."""
        diagonal = jnp.diagonal(self.scale_tril, axis1=-2, axis2=-1)
        return jnp.sum(jnp.log(jnp.abs(diagonal)), axis=-1)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, shape = self._value(x, dtype=self.dtype)
        finite = jnp.all(jnp.isfinite(x), axis=-1)
        safe_x = jnp.where(finite[..., None], x, 0.0)
        whitened = solve_lower_triangular(self.scale_tril, safe_x - self.loc)
        mahalanobis = jnp.sum(whitened * whitened, axis=-1)
        d = self.event_shape[0]
        value = -0.5 * mahalanobis - self._half_log_det() - d * _special.HALF_LOG_TWO_PI
        value = jnp.broadcast_to(jnp.where(finite, value, -jnp.inf), shape)
        return self._finish_log_prob(value, x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape) + self.event_shape
        z = jax.random.normal(key, shape, self.dtype)
        return self._checked(self.loc + jnp.einsum("...ij,...j->...i", self.scale_tril, z), 1)

    @jit
    def entropy(self) -> Array:
        d = self.event_shape[0]
        value = d * (0.5 + _special.HALF_LOG_TWO_PI) + self._half_log_det()
        return self._checked(jnp.broadcast_to(value, self.batch_shape))

    @jit
    def mean(self) -> Array:
        return self._checked(jnp.broadcast_to(self.loc, self.batch_shape + self.event_shape), 1)

    @jit
    def covariance(self) -> Array:
        """Covariance matrix :math:`L L^\\top`, of shape ``batch_shape + (d, d)``."""
        covariance = self.scale_tril @ jnp.swapaxes(self.scale_tril, -1, -2)
        return self._checked(
            jnp.broadcast_to(covariance, self.batch_shape + self.event_shape * 2), 2)

    @jit
    def variance(self) -> Array:
        variance = jnp.sum(self.scale_tril * self.scale_tril, axis=-1)
        return self._checked(jnp.broadcast_to(variance, self.batch_shape + self.event_shape), 1)


def _exponent_log(exponent, x):
    """``exponent * log(x)`` for the ``(alpha - 1) log x`` terms of a log-density.

    Where ``x > 0`` it is the ordinary product, whose derivative with respect to the
    exponent is ``log x`` also where the exponent is 0 (a concentration of exactly 1). On
    the boundary ``x == 0`` it is a constant, with zero gradients: 0 for a zero exponent
    (``xlogy``'s ``0 log 0 = 0``), ``-inf`` for a positive one, ``+inf`` for a negative one.
    """
    positive = x > 0
    safe_x = jnp.where(positive, x, 1.0)
    at_zero = jnp.where(exponent == 0, 0.0, jnp.where(exponent > 0, -jnp.inf, jnp.inf))
    return jnp.where(positive, exponent * jnp.log(safe_x), jax.lax.stop_gradient(at_zero))


def dirichlet_log_density(x: Array, concentration: Array) -> Array:
    r"""Dirichlet log-density of points ``x`` (last axis on the simplex), no support check.

    Rewritten so that the ``lgamma`` terms of order :math:`\alpha_0\log\alpha_0` cancel
    analytically (``p_j = alpha_j / alpha_0``, ``delta`` the Stirling correction):

    .. math:: \sum_j (\alpha_j - 1)\log\frac{x_j}{p_j} - \tfrac12\sum_j\log\alpha_j
        + (K - \tfrac12)\log\alpha_0 - \tfrac{K-1}2\log 2\pi - \sum_j\delta(\alpha_j)
        + \delta(\alpha_0)
    """
    k = concentration.shape[-1]
    total = jnp.sum(concentration, axis=-1)
    ratio = x * total[..., None] / concentration
    # where x_j / p_j underflows (x_j near the smallest normal number, a draw of a small
    # concentration), the logarithm of the ratio is taken as a sum of logarithms instead
    underflow = (x > 0) & (ratio < jnp.finfo(ratio.dtype).tiny)
    log_ratio_sum = (jnp.log(jnp.where(underflow, x, 1.0)) + jnp.log(total)[..., None]
                     - jnp.log(concentration))
    normalizer = (
        -0.5 * jnp.sum(jnp.log(concentration), axis=-1)
        + (k - 0.5) * jnp.log(total)
        - (k - 1) * _special.HALF_LOG_TWO_PI
        - jnp.sum(_special.stirling_correction(concentration), axis=-1)
        + _special.stirling_correction(total)
    )
    terms = jnp.where(underflow, (concentration - 1.0) * log_ratio_sum,
                      _exponent_log(concentration - 1.0, ratio))
    return jnp.sum(terms, axis=-1) + normalizer


def dirichlet_entropy(concentration: Array) -> Array:
    r"""Entropy of a Dirichlet distribution, in a cancellation-free form.

    :math:`\log B(\alpha) + (\alpha_0 - K)\psi(\alpha_0) - \sum_j(\alpha_j-1)\psi(\alpha_j)`,
    with :math:`\log\Gamma` and :math:`\psi` split into their logarithmic parts (which
    combine into :math:`\tfrac12\sum_j\log\alpha_j + (\tfrac12 - K)\log\alpha_0`) and their
    small remainders.
    """
    k = concentration.shape[-1]
    total = jnp.sum(concentration, axis=-1)
    return (
        0.5 * jnp.sum(jnp.log(concentration), axis=-1)
        + (0.5 - k) * jnp.log(total)
        + (k - 1) * _special.HALF_LOG_TWO_PI
        + jnp.sum(_special.stirling_correction(concentration), axis=-1)
        - _special.stirling_correction(total)
        + (total - k) * _special.digamma_minus_log(total)
        - jnp.sum((concentration - 1.0) * _special.digamma_minus_log(concentration), axis=-1)
    )


class Dirichlet(Distribution):
    r"""Dirichlet distribution over the probability simplex.

    .. math:: \log p(x) = \sum_j (\alpha_j - 1)\log x_j - \log B(\alpha),\qquad
              B(\alpha) = \frac{\prod_j \Gamma(\alpha_j)}{\Gamma(\sum_j \alpha_j)}

    ``log_prob`` is ``-inf`` for points with a negative coordinate or whose coordinates do
    not sum to one within ``sqrt(eps)`` of the dtype. On a face of the simplex (a zero
    coordinate) an infinite log-density has a zero gradient, a finite one (a concentration
    of 1 there) the gradient of its finite terms. Draws are normalized log-space Gamma
    draws with every coordinate at least ``tiny`` (the smallest positive normal number), so
    small concentrations never give a coordinate of exactly 0. A concentration that is not
    positive and finite raises a ``ValueError`` when concrete and ``validate_args`` is true;
    otherwise (and always when traced) every method gives NaN for that row.

    Args:
        concentration: :math:`\alpha`, shape ``(*batch, K)``, all positive.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.distributions import Dirichlet
        >>> d = Dirichlet(jnp.array([1.0, 1.0, 1.0]))
        >>> round(float(d.log_prob(jnp.array([0.2, 0.3, 0.5]))), 5)  # log 2!: uniform
        0.69315
    """

    concentration: Array

    def __init__(self, concentration: ArrayLike, *, validate_args: bool = True) -> None:
        (concentration,) = as_floats(("concentration",), (concentration,))
        if concentration.ndim < 1:
            raise ValueError(
                f"Dirichlet: concentration must have shape (..., K), got {concentration.shape}"
            )
        check_constraints("Dirichlet", validate_args,
                          concentration=(concentration, "positive"))
        self.concentration = concentration

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.concentration.shape[:-1])

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.concentration.shape[-1],)

    @property
    def dtype(self) -> np.dtype:
        return self.concentration.dtype

    def _parameters_valid(self) -> Array:
        return jnp.all(satisfies(self.concentration, "positive"), axis=-1)

    def _safe_concentration(self) -> Array:
        return jnp.where(self._parameters_valid()[..., None], self.concentration, 1.0)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, shape = self._value(x, dtype=self.dtype)
        tolerance = math.sqrt(float(jnp.finfo(x.dtype).eps))
        inside = jnp.all(x >= 0, axis=-1) & (jnp.abs(jnp.sum(x, axis=-1) - 1.0) <= tolerance)
        safe_x = jnp.where(inside[..., None], x, 1.0 / self.event_shape[0])
        value = dirichlet_log_density(safe_x, self._safe_concentration())
        return self._finish_log_prob(jnp.broadcast_to(jnp.where(inside, value, -jnp.inf), shape),
                                     x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape) + self.event_shape
        log_draws = _sampling.log_gamma(key, self.concentration, shape, self.dtype)
        draws = jnp.maximum(jax.nn.softmax(log_draws, axis=-1), jnp.finfo(self.dtype).tiny)
        return self._checked(draws, 1)

    @jit
    def entropy(self) -> Array:
        return self._checked(dirichlet_entropy(self._safe_concentration()))

    @jit
    def mean(self) -> Array:
        mean = self.concentration / jnp.sum(self.concentration, axis=-1, keepdims=True)
        return self._checked(mean, 1)

    @jit
    def variance(self) -> Array:
        total = jnp.sum(self.concentration, axis=-1, keepdims=True)
        variance = self.concentration * (total - self.concentration) / (
            total * total * (total + 1))
        return self._checked(variance, 1)

    @jit
    def covariance(self) -> Array:
        """Covariance matrix, of shape ``batch_shape + (K, K)``."""
        total = jnp.sum(self.concentration, axis=-1)[..., None, None]
        mean = self.mean()
        outer = mean[..., :, None] * mean[..., None, :]
        diagonal = jnp.eye(self.event_shape[0], dtype=self.dtype) * mean[..., None, :]
        return self._checked((diagonal - outer) / (total + 1), 2)
