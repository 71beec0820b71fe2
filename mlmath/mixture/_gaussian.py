r"""Gaussian mixtures fitted by EM (maximum likelihood or MAP), as pure jitted functions.

The model is :math:`p(x) = \sum_k \pi_k \mathcal N(x; \mu_k, \Sigma_k)`. Its parameters
(:class:`GaussianMixtureParams`) hold each covariance through the Cholesky factor of its
precision, :math:`P_k` with :math:`P_k P_k^\top = \Sigma_k^{-1}` (upper triangular:
:math:`P_k = L_k^{-\top}` for :math:`\Sigma_k = L_k L_k^\top`), as scikit-learn does:
densities are :math:`\log \mathcal N(x;\mu_k,\Sigma_k) = -\tfrac12 \lVert P_k^\top(x -
\mu_k)\rVert^2 + \sum_i \log (P_k)_{ii} - \tfrac d2\log 2\pi` with no inverse and no
determinant formed. ``covariance_type`` says how the covariances are shared and stored:

=============  =========================================  ===========================
type           covariance                                 ``precisions_cholesky``
=============  =========================================  ===========================
``full``       one full matrix per component              ``(K, d, d)``
``tied``       one full matrix shared by all components   ``(d, d)``
``diag``       one diagonal per component                 ``(K, d)`` (:math:`1/\sigma`)
``spherical``  one variance per component                 ``(K,)`` (:math:`1/\sigma`)
=============  =========================================  ===========================

EM alternates the E-step (responsibilities :math:`r_{ik} = p(z_i = k \mid x_i)`, in log
space) and the M-step (weighted maximum-likelihood, or MAP under a
:class:`GaussianMixturePrior`, fits of the weights, means and covariances, with
``reg_covar`` added to every variance). Each EM step never decreases the log-likelihood (or
the log-posterior, with a prior). Covariances are accumulated from exact differences
:math:`x_i - \mu_k` (never :math:`E[xx^\top] - \mu\mu^\top`), so data far from the origin
(mean 1e4, unit variance, float32) are fitted as accurately as at the origin. The work runs
over blocks of rows (:func:`mlmath._linalg.sum_over_row_blocks`), so that the ``(n, K, d)``
differences and whitened points never span all ``n`` rows at once.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from mlmath import _linalg
from mlmath._jit import jit
from mlmath._validation import as_float
from mlmath.mixture._kmeans import (
    _kmeans_plusplus,
    _lloyd,
    _start_keys,
    _weights_or_ones,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
GAUSSIAN_MIXTURE_INITS = ("kmeans", "k-means++", "random", "random_from_data")
_LOG_TWO_PI = math.log(2.0 * math.pi)


class GaussianMixtureParams(NamedTuple):
    """Parameters of a Gaussian mixture: ``weights (K,)``, ``means (K, d)`` and
    ``precisions_cholesky`` (shape by covariance type; see the module docstring)."""

    weights: Array
    means: Array
    precisions_cholesky: Array


class GaussianMixturePrior(NamedTuple):
    r"""Conjugate prior for MAP-EM: a Dirichlet on the weights and a Normal–Inverse-Wishart
    on each component's mean and covariance. Each part is optional (``None``: flat).

    * ``weight_concentration`` :math:`\alpha` (scalar or ``(K,)``, each ``>= 1``):
      :math:`\pi \sim \mathrm{Dirichlet}(\alpha)`; the MAP weights are
      :math:`\pi_k \propto N_k + \alpha_k - 1`.
    * ``mean`` :math:`m_0` (``(d,)`` or scalar) and ``mean_precision`` :math:`\kappa_0 > 0`:
      :math:`\mu_k \mid \Sigma_k \sim \mathcal N(m_0, \Sigma_k / \kappa_0)`.
    * ``covariance`` :math:`\Psi_0` (``(d, d)`` positive definite; a scalar ``c`` means
      :math:`cI`, a ``(d,)`` vector a diagonal) and ``degrees_of_freedom``
      :math:`\nu_0 > d - 1`: :math:`\Sigma_k \sim \mathcal W^{-1}(\Psi_0, \nu_0)`, read on
      the covariance type's family (its diagonal for ``diag``, :math:`\sigma^2 I` for
      ``spherical``, one shared matrix for ``tied``).

    The M-step is then the joint mode: :math:`\mu_k = (N_k\bar x_k + \kappa_0 m_0) / (N_k +
    \kappa_0)` and, for ``full``, :math:`\Sigma_k = (\Psi_0 + S_k + \frac{\kappa_0
    N_k}{\kappa_0 + N_k}(\bar x_k - m_0)(\bar x_k - m_0)^\top) / (\nu_0 + N_k + d + 2)`, with
    :math:`S_k` the centred scatter of the component. Invalid values (``alpha < 1``,
    ``kappa_0 < 0``, ``nu_0 <= d - 1``) give NaN parameters.
    """

    weight_concentration: ArrayLike | None = None
    mean: ArrayLike | None = None
    mean_precision: ArrayLike | None = None
    covariance: ArrayLike | None = None
    degrees_of_freedom: ArrayLike | None = None


class GaussianMixtureFit(NamedTuple):
    """The result of :func:`fit_gaussian_mixture`: ``params``, ``covariances`` (as the
    last M-step made them, shaped by the covariance type: ``(K, d, d)``, ``(d, d)``,
    ``(K, d)`` or ``(K,)``), ``lower_bound`` (the mean log-likelihood per sample of the
    parameters the last step started from, plus the log prior over the total weight with a
    prior), ``n_iter``, ``converged`` and ``history (max_iter,)``, the lower bound of every
    step taken (NaN after the last)."""

    params: GaussianMixtureParams
    covariances: Array
    lower_bound: Array
    n_iter: Array
    converged: Array
    history: Array


# ---------------------------------------------------------------------------------------
# checks (trace time: shapes and static arguments)


def _check_covariance_type(covariance_type: str, owner: str) -> None:
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"{owner}: covariance_type must be one of {list(COVARIANCE_TYPES)}, got "
            f"{covariance_type!r}"
        )


def covariance_shape(covariance_type: str, n_components: int, n_features: int,
                     owner: str = "covariance_shape") -> tuple[int, ...]:
    """The shape of ``precisions_cholesky`` and of the covariances of ``n_components``
    Gaussians in ``n_features`` dimensions: ``(K, d, d)`` full, ``(d, d)`` tied, ``(K, d)``
    diag, ``(K,)`` spherical. An unknown ``covariance_type`` raises ``ValueError`` naming
    ``owner``.

    Example:
        >>> from mlmath.mixture import covariance_shape
        >>> covariance_shape("diag", 3, 2), covariance_shape("tied", 3, 2)
        ((3, 2), (2, 2))
    """
    _check_covariance_type(covariance_type, owner)
    return {"full": (n_components, n_features, n_features),
            "tied": (n_features, n_features),
            "diag": (n_components, n_features),
            "spherical": (n_components,)}[covariance_type]


def _check_params(params: GaussianMixtureParams, X: Array | None, covariance_type: str,
                  owner: str) -> tuple[Array, Array, Array]:
    _check_covariance_type(covariance_type, owner)
    weights, means, precisions = (jnp.asarray(p) for p in params)
    if means.ndim != 2 or weights.shape != means.shape[:1]:
        raise ValueError(
            f"{owner}: params.means must be (K, d) and params.weights (K,), got "
            f"{means.shape} and {weights.shape}"
        )
    K, d = means.shape
    expected = covariance_shape(covariance_type, K, d)
    if precisions.shape != expected:
        raise ValueError(
            f"{owner}: params.precisions_cholesky must have shape {expected} for "
            f"covariance_type={covariance_type!r}, got {precisions.shape}"
        )
    if X is not None and (X.ndim != 2 or X.shape[1] != d):
        raise ValueError(f"{owner}: X must have shape (n, {d}) to match the means, got {X.shape}")
    return weights, means, precisions


def _check_data(X: Array, owner: str) -> None:
    if X.ndim != 2:
        raise ValueError(f"{owner}: X must have shape (n_samples, n_features), got {X.shape}")


# ---------------------------------------------------------------------------------------
# densities


def _log_det(precisions: Array, covariance_type: str, d: int) -> Array:
    """``log det P_k`` (half the log-determinant of the precision), ``(K,)`` or scalar."""
    if covariance_type == "full":
        return jnp.sum(jnp.log(jnp.diagonal(precisions, axis1=-2, axis2=-1)), axis=-1)
    if covariance_type == "tied":
        return jnp.sum(jnp.log(jnp.diagonal(precisions)))
    if covariance_type == "diag":
        return jnp.sum(jnp.log(precisions), axis=1)
    return d * jnp.log(precisions)


def _whiten(differences: Array, precisions: Array, covariance_type: str) -> Array:
    """``P_k^T (x_i - mu_k)`` for differences ``(K, B, d)`` (components first: the batch
    axis of the ``full`` type's products leads, so they need no transposition)."""
    if covariance_type == "full":
        return jnp.einsum("kbd,kde->kbe", differences, precisions)
    if covariance_type == "tied":
        return differences @ precisions
    if covariance_type == "diag":
        return differences * precisions[:, None, :]
    return differences * precisions[:, None, None]


def _component_log_density(X: Array, means: Array, precisions: Array,
                           covariance_type: str) -> Array:
    """``log N(x_i; mu_k, Sigma_k)``, ``(n, K)``, from exact differences."""
    d = means.shape[1]
    whitened = _whiten(X[None, :, :] - means[:, None, :], precisions, covariance_type)
    log_det = _log_det(precisions, covariance_type, d)
    return log_det - 0.5 * (d * _LOG_TWO_PI + jnp.sum(whitened * whitened, axis=-1).T)


def _block_width(K: int, d: int) -> int:
    return 2 * K * d  # the differences and the whitened points, per row


def _e_step(weights, means, precisions, X, covariance_type):
    K, d = means.shape
    log_weights = jnp.log(weights)

    def block(Xb):
        joint = log_weights + _component_log_density(Xb, means, precisions, covariance_type)
        log_likelihood = jax.nn.logsumexp(joint, axis=1)
        # an impossible point (every joint -inf) has log-likelihood -inf; its
        # responsibilities are NaN, as the posterior of an impossible event is undefined
        return joint - log_likelihood[:, None], log_likelihood

    return _linalg.map_over_row_blocks(block, (X,), width=_block_width(K, d))


@jit(static_argnames=("covariance_type",))
def gaussian_log_density(X: ArrayLike, means: ArrayLike, precisions_cholesky: ArrayLike, *,
                         covariance_type: str = "full") -> Array:
    r"""The Gaussian log-densities :math:`\log\mathcal N(x_i;\mu_k,\Sigma_k)`, ``(n, K)``,
    of every row of ``X (n, d)`` under each of ``K`` Gaussians given by ``means (K, d)``
    and the Cholesky factors of their precisions (shaped by ``covariance_type``, see the
    module docstring).

    This is a batched ``MultivariateNormal.log_prob`` shaped for matrix products: the
    whitened differences :math:`P_k^\top(x_i - \mu_k)` of a block of rows are one batched
    product per block (no triangular solve, no inverse, no determinant formed), and the
    ``(n, K, d)`` intermediates never span more than a block of rows. Differences are exact,
    so data far from the origin lose no accuracy. A component whose factor has a
    non-positive diagonal entry gives NaN (``log`` of it), never a plausible number.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.mixture import gaussian_log_density
        >>> log_density = gaussian_log_density(jnp.array([[0.0]]), jnp.array([[0.0], [2.0]]),
        ...                                    jnp.ones(2), covariance_type="spherical")
        >>> [round(float(v), 3) for v in log_density[0]]
        [-0.919, -2.919]
    """
    X = as_float(X, "X")
    means = as_float(means, "means", X.dtype)
    precisions = as_float(precisions_cholesky, "precisions_cholesky", X.dtype)
    _check_params(GaussianMixtureParams(jnp.zeros(means.shape[:1], X.dtype), means,
                                        precisions), X, covariance_type,
                  "gaussian_log_density")
    K, d = means.shape

    def block(Xb):
        return _component_log_density(Xb, means, precisions, covariance_type)

    return _linalg.map_over_row_blocks(block, (X,), width=_block_width(K, d))


@jit(static_argnames=("covariance_type",))
def component_log_prob(params: GaussianMixtureParams, X: ArrayLike, *,
                       covariance_type: str = "full") -> Array:
    r"""The joint log-densities :math:`\log \pi_k + \log\mathcal N(x_i;\mu_k,\Sigma_k)`,
    ``(n, K)``, for ``X (n, d)`` (:func:`gaussian_log_density` plus the log-weights).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.mixture import GaussianMixtureParams, component_log_prob
        >>> params = GaussianMixtureParams(jnp.array([0.5, 0.5]), jnp.array([[0.0], [2.0]]),
        ...                                jnp.ones(2))
        >>> log_prob = component_log_prob(params, jnp.array([[0.0]]), covariance_type="spherical")
        >>> [round(float(v), 3) for v in log_prob[0]]
        [-1.612, -3.612]
    """
    X = as_float(X, "X")
    weights, means, precisions = _check_params(params, X, covariance_type, "component_log_prob")
    return jnp.log(weights) + gaussian_log_density(X, means, precisions,
                                                   covariance_type=covariance_type)


@jit(static_argnames=("covariance_type",))
def e_step(params: GaussianMixtureParams, X: ArrayLike, *,
           covariance_type: str = "full") -> tuple[Array, Array]:
    r"""The E-step: ``(log_responsibilities (n, K), log_likelihood (n,))``.

    :math:`\log r_{ik} = \log\pi_k + \log\mathcal N(x_i;\mu_k,\Sigma_k) - \log p(x_i)` and
    :math:`\log p(x_i) = \operatorname{logsumexp}_k(\log\pi_k + \log\mathcal N(x_i;\mu_k,
    \Sigma_k))`. A component of weight 0 has responsibility 0 (log ``-inf``).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.mixture import GaussianMixtureParams, e_step
        >>> params = GaussianMixtureParams(jnp.array([0.5, 0.5]), jnp.array([[0.0], [2.0]]),
        ...                                jnp.ones(2))
        >>> log_resp, log_lik = e_step(params, jnp.array([[1.0]]), covariance_type="spherical")
        >>> jnp.exp(log_resp).round(3), log_lik.round(3)
        (Array([[0.5, 0.5]], dtype=float32), Array([-1.419], dtype=float32))
    """
    X = as_float(X, "X")
    weights, means, precisions = _check_params(params, X, covariance_type, "e_step")
    return _e_step(weights, means, precisions, X, covariance_type)


# ---------------------------------------------------------------------------------------
# the M-step


def _scatter(X, responsibilities, sample_weight, means, covariance_type):
    """Centred scatter ``sum_i w_i r_ik (x_i - mu_k)(x_i - mu_k)^T``: ``(K, d, d)`` for the
    full types, its diagonal ``(K, d)`` for the others; over blocks of rows."""
    K, d = means.shape
    full = covariance_type in ("full", "tied")

    def block(Xb, rb, wb):
        differences = Xb[:, None, :] - means[None]
        weighted = differences * (rb * wb[:, None])[:, :, None]
        if full:
            return jnp.einsum("bkd,bke->kde", weighted, differences)
        return jnp.sum(weighted * differences, axis=0)

    return _linalg.sum_over_row_blocks(block, (X, responsibilities), sample_weight,
                                       width=_block_width(K, d))


def _prior_matrix(value: ArrayLike, d: int, dtype) -> Array:
    value = jnp.asarray(value, dtype)
    if value.ndim == 0:
        return value * jnp.eye(d, dtype=dtype)
    if value.shape == (d,):
        return jnp.diag(value)
    if value.shape != (d, d):
        raise ValueError(
            f"GaussianMixturePrior: covariance must be a scalar, ({d},) or ({d}, {d}), got "
            f"{value.shape}"
        )
    return value


def _check_prior(prior: GaussianMixturePrior | None, owner: str) -> None:
    if prior is None:
        return
    if not isinstance(prior, GaussianMixturePrior):
        raise TypeError(f"{owner}: prior must be a GaussianMixturePrior or None, got {prior!r}")
    if (prior.mean_precision is None) != (prior.mean is None):
        raise ValueError(f"{owner}: the prior's mean and mean_precision go together: give "
                         "both or neither")
    if (prior.covariance is None) != (prior.degrees_of_freedom is None):
        raise ValueError(f"{owner}: the prior's covariance and degrees_of_freedom go together: "
                         "give both or neither")


def _mixture_weights(counts: Array, prior: GaussianMixturePrior | None) -> Array:
    if prior is None or prior.weight_concentration is None:
        return counts / jnp.sum(counts)
    alpha = jnp.broadcast_to(jnp.asarray(prior.weight_concentration, counts.dtype), counts.shape)
    unnormalized = counts + alpha - 1.0
    weights = unnormalized / jnp.sum(unnormalized)
    return jnp.where(jnp.all(alpha >= 1.0), weights, jnp.nan)


def _covariance_update(scatter, counts, means_data, prior, covariance_type, reg_covar):
    """MAP (or ML) means and covariances from the counts, the data means ``(K, d)`` and the
    centred scatter; see :class:`GaussianMixturePrior` for the formulas."""
    K, d = means_data.shape
    dtype = means_data.dtype
    full = covariance_type in ("full", "tied")
    numerator = scatter
    denominator = counts
    means = means_data
    if prior is not None and prior.mean_precision is not None:
        kappa = jnp.asarray(prior.mean_precision, dtype)
        m0 = jnp.broadcast_to(jnp.asarray(prior.mean, dtype), (d,))
        means = (counts[:, None] * means_data + kappa * m0) / (counts + kappa)[:, None]
        delta = means_data - m0
        shrink = kappa * counts / (kappa + counts)
        extra = (jnp.einsum("kd,ke->kde", delta, delta) if full else delta * delta)
        numerator = numerator + shrink.reshape((K,) + (1,) * (extra.ndim - 1)) * extra
        denominator = denominator + 1.0
        means = jnp.where(kappa >= 0, means, jnp.nan)
    psi = None
    if prior is not None and prior.covariance is not None:
        psi = _prior_matrix(prior.covariance, d, dtype)
        nu = jnp.asarray(prior.degrees_of_freedom, dtype)
        psi = jnp.where(nu > d - 1, psi, jnp.nan)
        if not full:
            psi = jnp.diagonal(psi)
        # the Inverse-Wishart's log|Sigma| exponent, (nu + d + 1) / 2, in count units
        covariance_count = nu + d + 1.0
    if covariance_type == "tied":
        numerator = jnp.sum(numerator, axis=0)
        denominator = jnp.sum(denominator)
    if psi is not None:
        numerator = numerator + psi
        denominator = denominator + covariance_count
    eye = jnp.eye(d, dtype=dtype)
    if covariance_type == "full":
        covariances = numerator / denominator[:, None, None] + reg_covar * eye
    elif covariance_type == "tied":
        covariances = numerator / denominator + reg_covar * eye
    elif covariance_type == "diag":
        covariances = numerator / denominator[:, None] + reg_covar
    else:
        covariances = jnp.mean(numerator, axis=1) / denominator + reg_covar
    return means, covariances


@jit(static_argnames=("covariance_type",))
def precisions_cholesky_from_covariances(covariances: ArrayLike, *,
                                         covariance_type: str = "full") -> Array:
    r"""``P`` with :math:`PP^\top = \Sigma^{-1}` from covariances: :math:`P = L^{-\top}`
    (upper triangular) for :math:`\Sigma = LL^\top` (``full``, ``tied``), :math:`1/\sigma`
    for ``diag`` and ``spherical``. A matrix that is not positive definite gives NaN."""
    covariances = jnp.asarray(covariances)
    _check_covariance_type(covariance_type, "precisions_cholesky_from_covariances")
    if covariance_type in ("diag", "spherical"):
        return jax.lax.rsqrt(covariances)
    factor = _linalg.cholesky(covariances)
    eye = jnp.broadcast_to(jnp.eye(factor.shape[-1], dtype=factor.dtype), factor.shape)
    return jnp.swapaxes(_linalg.solve_triangular(factor, eye, lower=True), -1, -2)


def _upper_cholesky(matrix: Array) -> Array:
    """Upper triangular ``U`` with ``U U^T = matrix``: the Cholesky factor of the matrix
    with rows and columns reversed, reversed back."""
    flipped = jnp.flip(matrix, axis=(-2, -1))
    return jnp.flip(_linalg.cholesky(flipped), axis=(-2, -1))


@jit(static_argnames=("covariance_type",))
def _precision_matrices(precisions_cholesky: Array, covariance_type: str) -> Array:
    """The precisions :math:`P P^\top` (matrices for the full types, values otherwise)."""
    if covariance_type in ("full", "tied"):
        return precisions_cholesky @ jnp.swapaxes(precisions_cholesky, -1, -2)
    return precisions_cholesky ** 2


@jit(static_argnames=("covariance_type",))
def precisions_cholesky_from_precisions(precisions: ArrayLike, *,
                                        covariance_type: str = "full") -> Array:
    r"""``P`` (upper triangular for the full types) with :math:`PP^\top = \Lambda` from
    precisions :math:`\Lambda` (matrices for ``full``/``tied``, values for the others)."""
    precisions = jnp.asarray(precisions)
    _check_covariance_type(covariance_type, "precisions_cholesky_from_precisions")
    if covariance_type in ("diag", "spherical"):
        return jnp.sqrt(precisions)
    return _upper_cholesky(precisions)


@jit(static_argnames=("covariance_type",))
def covariances_from_precisions_cholesky(precisions_cholesky: ArrayLike, *,
                                         covariance_type: str = "full") -> Array:
    r"""The covariances :math:`\Sigma = (PP^\top)^{-1} = P^{-\top}P^{-1}` from Cholesky
    factors of precisions (one triangular solve with the identity, no general inverse;
    :math:`1/P^2` for ``diag`` and ``spherical``). A factor with a zero on its diagonal
    gives ``inf`` or NaN, never a plausible matrix.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.mixture import (covariances_from_precisions_cholesky,
        ...                             precisions_cholesky_from_covariances)
        >>> covariance = jnp.array([[[2.0, 0.5], [0.5, 1.0]]])
        >>> factor = precisions_cholesky_from_covariances(covariance)
        >>> covariances_from_precisions_cholesky(factor).round(5).tolist()
        [[[2.0, 0.5], [0.5, 1.0]]]
    """
    precisions = jnp.asarray(precisions_cholesky)
    _check_covariance_type(covariance_type, "covariances_from_precisions_cholesky")
    if covariance_type in ("diag", "spherical"):
        return 1.0 / (precisions * precisions)
    eye = jnp.broadcast_to(jnp.eye(precisions.shape[-1], dtype=precisions.dtype),
                           precisions.shape)
    inverse = _linalg.solve_triangular(precisions, eye, lower=False)
    return jnp.swapaxes(inverse, -1, -2) @ inverse


def _m_step(X, responsibilities, sample_weight, covariance_type, reg_covar, prior):
    """The M-step on ``X`` (already centred near its mean): params and covariances."""
    dtype = X.dtype
    eps = jnp.finfo(dtype).eps
    weighted = responsibilities * sample_weight[:, None]
    counts = jnp.sum(weighted, axis=0)
    # a component without responsibility divides by a floor instead of 0 (its mean is then
    # the data's centre, its covariance reg_covar); the others divide by their own counts
    divisor = jnp.where(counts > 0, counts, 10.0 * eps)
    means_data = (weighted.T @ X) / divisor[:, None]
    scatter = _scatter(X, responsibilities, sample_weight, means_data, covariance_type)
    means, covariances = _covariance_update(scatter, divisor, means_data, prior,
                                            covariance_type, reg_covar)
    # scikit-learn's floor on the weights: an empty component keeps a finite log-weight
    weights = _mixture_weights(counts + 10.0 * eps, prior)
    precisions = precisions_cholesky_from_covariances(covariances,
                                                      covariance_type=covariance_type)
    return GaussianMixtureParams(weights, means, precisions), covariances


@jit(static_argnames=("covariance_type",))
def m_step(X: ArrayLike, responsibilities: ArrayLike, *, covariance_type: str = "full",
           reg_covar: ArrayLike = 1e-6, prior: GaussianMixturePrior | None = None,
           sample_weight: ArrayLike | None = None) -> GaussianMixtureParams:
    r"""The M-step: mixture parameters from responsibilities ``(n, K)`` of ``X (n, d)``.

    With :math:`N_k = \sum_i w_i r_{ik}`: :math:`\pi_k = N_k / \sum_j N_j`,
    :math:`\mu_k = \sum_i w_i r_{ik} x_i / N_k` and the centred
    :math:`\Sigma_k = \sum_i w_i r_{ik}(x_i - \mu_k)(x_i - \mu_k)^\top / N_k` (pooled over
    components for ``tied``, its diagonal for ``diag``, the mean of the diagonal for
    ``spherical``) plus ``reg_covar`` on the diagonal; MAP updates with a ``prior`` (see
    :class:`GaussianMixturePrior`). A component without responsibility keeps weight about
    0 and covariance ``reg_covar``; nothing divides by zero.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.mixture import m_step
        >>> X = jnp.array([[0.0], [2.0], [10.0], [12.0]])
        >>> resp = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
        >>> params = m_step(X, resp, covariance_type="diag", reg_covar=0.0)
        >>> params.weights.tolist(), params.means[:, 0].tolist()
        ([0.5, 0.5], [1.0, 11.0])
        >>> params.precisions_cholesky[:, 0].round(5).tolist()
        [1.0, 1.0]
    """
    X = as_float(X, "X")
    _check_data(X, "m_step")
    _check_covariance_type(covariance_type, "m_step")
    _check_prior(prior, "m_step")
    responsibilities = as_float(responsibilities, "responsibilities", X.dtype)
    if responsibilities.ndim != 2 or responsibilities.shape[0] != X.shape[0]:
        raise ValueError(
            f"m_step: responsibilities must have shape ({X.shape[0]}, n_components), got "
            f"{responsibilities.shape}"
        )
    sample_weight = _weights_or_ones(sample_weight, X, "m_step")
    shift = _linalg.weighted_centre(X, sample_weight)
    prior = _shifted_prior(prior, shift)
    params, _ = _m_step(X - shift, responsibilities, sample_weight, covariance_type,
                        reg_covar, prior)
    return params._replace(means=params.means + shift)


def _shifted_prior(prior, shift):
    """The prior in coordinates centred at ``shift`` (only its mean moves)."""
    if prior is None or prior.mean is None:
        return prior
    return prior._replace(mean=jnp.asarray(prior.mean, shift.dtype) - shift)


# ---------------------------------------------------------------------------------------
# the objective


def _log_prior(weights, means, precisions, prior, covariance_type):
    """The prior's log density at the parameters, up to its normalizing constant."""
    if prior is None:
        return jnp.zeros((), means.dtype)
    K, d = means.shape
    dtype = means.dtype
    total = jnp.zeros((), dtype)
    if prior.weight_concentration is not None:
        alpha = jnp.broadcast_to(jnp.asarray(prior.weight_concentration, dtype), (K,))
        total = total + jnp.sum(jax.scipy.special.xlogy(alpha - 1.0, weights))
    log_det = _log_det(precisions, covariance_type, d)  # log det P_k = log|Lambda_k| / 2
    per_component = covariance_type != "tied"
    if prior.mean_precision is not None:
        kappa = jnp.asarray(prior.mean_precision, dtype)
        m0 = jnp.broadcast_to(jnp.asarray(prior.mean, dtype), (d,))
        whitened = _whiten((means - m0)[:, None, :], precisions, covariance_type)[:, 0]
        scale = d * jnp.log(kappa) / 2.0
        total = total + jnp.sum(
            scale + (log_det if per_component else jnp.full(K, log_det))
            - 0.5 * kappa * jnp.sum(whitened * whitened, axis=-1))
    if prior.covariance is not None:
        nu = jnp.asarray(prior.degrees_of_freedom, dtype)
        psi = _prior_matrix(prior.covariance, d, dtype)
        if covariance_type in ("full", "tied"):
            # tr(Psi Lambda) = ||P^T Psi^(1/2)||^2 = sum_ij (P^T Psi P)_ii
            trace = jnp.einsum("...ji,jk,...ki->...", precisions, psi, precisions)
        elif covariance_type == "diag":
            trace = jnp.sum(jnp.diagonal(psi) * precisions ** 2, axis=-1)
        else:
            trace = jnp.trace(psi) * precisions ** 2
        # Inverse-Wishart: (nu + d + 1)/2 log|Lambda| - tr(Psi Lambda)/2, with
        # log|Lambda| = 2 log det P
        total = total + jnp.sum((nu + d + 1.0) * log_det - 0.5 * trace)
    return total


@jit(static_argnames=("covariance_type",))
def log_prior(params: GaussianMixtureParams, prior: GaussianMixturePrior | None, *,
              covariance_type: str = "full") -> Array:
    r"""The log density of ``prior`` at ``params``, up to its normalizing constant: the
    term MAP-EM adds to the log-likelihood (0 without a prior). Each component's
    Inverse-Wishart term is :math:`\frac{\nu_0 + d + 1}{2}\log|\Lambda_k| - \frac12
    \operatorname{tr}(\Psi_0\Lambda_k)` read on the covariance type's family (once for
    ``tied``), the mean's :math:`\frac12\log|\kappa_0\Lambda_k| - \frac{\kappa_0}2
    (\mu_k - m_0)^\top\Lambda_k(\mu_k - m_0)`, the weights' :math:`\sum_k(\alpha_k - 1)
    \log\pi_k`."""
    weights, means, precisions = _check_params(params, None, covariance_type, "log_prior")
    _check_prior(prior, "log_prior")
    return _log_prior(weights, means, precisions, prior, covariance_type)


@jit(static_argnames=("covariance_type",))
def lower_bound(params: GaussianMixtureParams, X: ArrayLike, log_responsibilities: ArrayLike,
                *, covariance_type: str = "full", prior: GaussianMixturePrior | None = None,
                sample_weight: ArrayLike | None = None) -> Array:
    r"""The evidence lower bound per sample for responsibilities ``q``:

    .. math:: \frac{1}{\sum_i w_i}\Big(\sum_i w_i \sum_k q_{ik}\big(\log\pi_k +
              \log\mathcal N(x_i;\mu_k,\Sigma_k) - \log q_{ik}\big) + \log p(\theta)\Big)

    (the log prior only with a ``prior``). It is at most the mean log-likelihood (plus the
    log prior), with equality when ``q`` is the exact E-step's posterior.
    """
    X = as_float(X, "X")
    weights, means, precisions = _check_params(params, X, covariance_type, "lower_bound")
    _check_prior(prior, "lower_bound")
    log_q = as_float(log_responsibilities, "log_responsibilities", X.dtype)
    sample_weight = _weights_or_ones(sample_weight, X, "lower_bound")
    joint = jnp.log(weights) + _component_log_density(X, means, precisions, covariance_type)
    q = jnp.exp(log_q)
    per_sample = jnp.sum(jnp.where(q > 0, q * (joint - log_q), 0.0), axis=1)
    total = jnp.sum(sample_weight)
    return (jnp.sum(sample_weight * per_sample)
            + _log_prior(weights, means, precisions, prior, covariance_type)) / total


def _em_step(params, covariances, X, sample_weight, covariance_type, reg_covar, prior):
    weights, means, precisions = params
    log_resp, log_likelihood = _e_step(weights, means, precisions, X, covariance_type)
    objective = (jnp.sum(sample_weight * log_likelihood)
                 + _log_prior(weights, means, precisions, prior, covariance_type)
                 ) / jnp.sum(sample_weight)
    new, covariances = _m_step(X, jnp.exp(log_resp), sample_weight, covariance_type,
                               reg_covar, prior)
    return new, covariances, objective


@jit(static_argnames=("covariance_type",))
def em_step(params: GaussianMixtureParams, X: ArrayLike, *, covariance_type: str = "full",
            reg_covar: ArrayLike = 1e-6, prior: GaussianMixturePrior | None = None,
            sample_weight: ArrayLike | None = None) -> tuple[GaussianMixtureParams, Array]:
    r"""One EM step: ``(new_params, lower_bound)``, the M-step of the E-step's
    responsibilities and the mean log-likelihood per sample of ``params`` (plus the log
    prior over the total weight: the lower bound after an exact E-step). The lower bound of
    the new parameters is never below it (up to ``reg_covar``'s perturbation).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.mixture import GaussianMixtureParams, em_step
        >>> X = jnp.array([[0.0], [2.0], [10.0], [12.0]])
        >>> params = GaussianMixtureParams(jnp.array([0.5, 0.5]), jnp.array([[1.0], [9.0]]),
        ...                                jnp.ones(2))
        >>> new, bound = em_step(params, X, covariance_type="spherical", reg_covar=0.0)
        >>> [round(float(m), 3) for m in new.means[:, 0]], float(bound) < float(em_step(new, X,
        ...     covariance_type="spherical", reg_covar=0.0)[1])
        ([1.0, 11.0], True)
    """
    X = as_float(X, "X")
    weights, means, precisions = _check_params(params, X, covariance_type, "em_step")
    _check_prior(prior, "em_step")
    sample_weight = _weights_or_ones(sample_weight, X, "em_step")
    shift = _linalg.weighted_centre(X, sample_weight)
    centred = GaussianMixtureParams(weights, means - shift, precisions)
    new, _, objective = _em_step(centred, None, X - shift, sample_weight, covariance_type,
                                 reg_covar, _shifted_prior(prior, shift))
    return new._replace(means=new.means + shift), objective


# ---------------------------------------------------------------------------------------
# initialization and the EM loop


def _initial_responsibilities(key, X, sample_weight, n_components, init_params):
    n = X.shape[0]
    if init_params == "kmeans":
        centers = _kmeans_plusplus(key, X, sample_weight, n_components,
                                   2 + int(math.log(n_components)))[0]
        labels = _lloyd(X, sample_weight, centers, 300, 1e-4).labels
        return jax.nn.one_hot(labels, n_components, dtype=X.dtype)
    if init_params == "random":
        resp = jax.random.uniform(key, (n, n_components), X.dtype)
        return resp / jnp.sum(resp, axis=1, keepdims=True)
    if init_params == "k-means++":
        indices = _kmeans_plusplus(key, X, sample_weight, n_components,
                                   2 + int(math.log(n_components)))[1]
    else:  # random_from_data
        indices = jax.random.permutation(key, n)[:n_components]
    return jnp.zeros((n, n_components), X.dtype).at[indices, jnp.arange(n_components)].set(1.0)


def _single_fit(key, X, sample_weight, n_components, covariance_type, init_params, max_iter,
                tol, reg_covar, prior, weights_init, means_init, precisions_init):
    K, d = n_components, X.shape[1]
    dtype = X.dtype
    given = (weights_init, means_init, precisions_init)
    if any(value is None for value in given):
        resp = _initial_responsibilities(key, X, sample_weight, K, init_params)
        params, covariances = _m_step(X, resp, sample_weight, covariance_type, reg_covar, prior)
    else:
        params = GaussianMixtureParams(jnp.zeros(K, dtype), jnp.zeros((K, d), dtype),
                                       jnp.zeros(covariance_shape(
                                           covariance_type, K, d), dtype))
        covariances = params.precisions_cholesky
    if weights_init is not None:
        params = params._replace(weights=weights_init)
    if means_init is not None:
        params = params._replace(means=means_init)
    if precisions_init is not None:
        params = params._replace(precisions_cholesky=precisions_cholesky_from_precisions(
            precisions_init, covariance_type=covariance_type))

    def continuing(state):
        _, _, _, _, i, converged, _ = state
        return (i < max_iter) & ~converged

    def step(state):
        params, covariances, bound, _, i, _, history = state
        new, covariances, objective = _em_step(params, covariances, X, sample_weight,
                                               covariance_type, reg_covar, prior)
        converged = jnp.abs(objective - bound) < tol
        return new, covariances, objective, bound, i + 1, converged, history.at[i].set(objective)

    state = (params, covariances, jnp.asarray(-jnp.inf, dtype), jnp.asarray(-jnp.inf, dtype),
             jnp.zeros((), jnp.int32), jnp.zeros((), bool), jnp.full(max_iter, jnp.nan, dtype))
    params, covariances, bound, _, n_iter, converged, history = jax.lax.while_loop(
        continuing, step, state)
    finite = (jnp.isfinite(bound) & jnp.all(jnp.isfinite(params.means))
              & jnp.all(jnp.isfinite(params.precisions_cholesky))
              & jnp.all(jnp.isfinite(params.weights)))
    return GaussianMixtureFit(params, covariances, bound, n_iter, converged & finite, history)


def _check_init(name: str, value: ArrayLike | None, shape: tuple[int, ...], dtype):
    if value is None:
        return None
    value = as_float(value, name, dtype)
    if value.shape != shape:
        raise ValueError(f"fit_gaussian_mixture: {name} must have shape {shape}, got "
                         f"{value.shape}")
    return value


@jit(static_argnames=("n_components", "covariance_type", "init_params", "max_iter", "n_init"))
def fit_gaussian_mixture(
        key: Array, X: ArrayLike, n_components: int, *, covariance_type: str = "full",
        init_params: str = "kmeans", max_iter: int = 100, n_init: int = 1,
        tol: ArrayLike = 1e-3, reg_covar: ArrayLike = 1e-6,
        prior: GaussianMixturePrior | None = None, weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None, precisions_init: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None) -> GaussianMixtureFit:
    r"""Fit a Gaussian mixture to ``X (n, d)`` by EM, in one compiled ``lax.while_loop``.

    Each of ``n_init`` starts (one ``vmap``; their keys split from ``key``, or ``key``
    itself for one start) initializes
    responsibilities by ``init_params`` — ``"kmeans"`` (the labels of k-means from
    k-means++ seeds), ``"k-means++"`` (the seeds alone), ``"random"`` (uniform random
    responsibilities) or ``"random_from_data"`` (random distinct rows) — and takes an
    M-step from them; ``weights_init``, ``means_init`` and ``precisions_init``
    (precision matrices for ``full``/``tied``, precisions for ``diag``/``spherical``)
    replace what they give. EM then runs until the lower bound (:func:`em_step`) changes by
    less than ``tol`` or ``max_iter`` steps are taken (scikit-learn's rule); the start with
    the highest final lower bound is returned. ``converged`` is false when the rule was not
    met or the result is not finite (NaN in ``X``, an invalid prior).

    The fit works on ``X`` minus its (weighted) mean and adds it back to the means, so a
    common offset costs no accuracy. Continuous arguments (``tol``, ``reg_covar``, the
    prior's values) are traced: a grid of them is one ``jax.vmap``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.mixture import fit_gaussian_mixture
        >>> X = jnp.concatenate([jax.random.normal(jax.random.key(1), (100, 2)),
        ...                      jax.random.normal(jax.random.key(2), (100, 2)) + 8.0])
        >>> fit = fit_gaussian_mixture(jax.random.key(0), X, 2)
        >>> sorted(fit.params.means[:, 0].round(0).tolist()), bool(fit.converged)
        ([0.0, 8.0], True)
    """
    X = as_float(X, "X")
    _check_data(X, "fit_gaussian_mixture")
    _check_covariance_type(covariance_type, "fit_gaussian_mixture")
    _check_prior(prior, "fit_gaussian_mixture")
    if init_params not in GAUSSIAN_MIXTURE_INITS:
        raise ValueError(f"fit_gaussian_mixture: init_params must be one of "
                         f"{list(GAUSSIAN_MIXTURE_INITS)}, got {init_params!r}")
    for name, value, minimum in (("n_components", n_components, 1), ("max_iter", max_iter, 1),
                                 ("n_init", n_init, 1)):
        if not isinstance(value, int) or value < minimum:
            raise ValueError(f"fit_gaussian_mixture: {name} must be an int >= {minimum}, got "
                             f"{value!r}")
    n, d = X.shape
    if n < n_components:
        raise ValueError(f"fit_gaussian_mixture: X has {n} samples, fewer than "
                         f"n_components={n_components}")
    K = n_components
    weights_init = _check_init("weights_init", weights_init, (K,), X.dtype)
    means_init = _check_init("means_init", means_init, (K, d), X.dtype)
    precisions_init = _check_init("precisions_init", precisions_init,
                                  covariance_shape(covariance_type, K, d), X.dtype)
    sample_weight = _weights_or_ones(sample_weight, X, "fit_gaussian_mixture")
    shift = _linalg.weighted_centre(X, sample_weight)
    centred = X - shift
    shifted_prior = _shifted_prior(prior, shift)
    means_centred = None if means_init is None else means_init - shift

    def single(key):
        return _single_fit(key, centred, sample_weight, K, covariance_type, init_params,
                           max_iter, tol, reg_covar, shifted_prior, weights_init,
                           means_centred, precisions_init)

    fits = jax.vmap(single)(_start_keys(key, n_init))
    best = jnp.argmax(jnp.where(jnp.isnan(fits.lower_bound), -jnp.inf, fits.lower_bound))
    fit = jax.tree_util.tree_map(lambda leaf: leaf[best], fits)
    params = fit.params._replace(means=fit.params.means + shift)
    return fit._replace(params=params)


@jit(static_argnames=("covariance_type",))
def sample_gaussian_components(key: Array, means: ArrayLike, precisions_cholesky: ArrayLike,
                               components: ArrayLike, *,
                               covariance_type: str = "full") -> Array:
    r"""One draw from the Gaussian of each entry of ``components (n,)`` (integer indices
    into ``means (K, d)`` and ``precisions_cholesky``): ``(n, d)`` points
    :math:`\mu_c + P_c^{-\top} z`, :math:`z \sim \mathcal N(0, I)` (a triangular solve, no
    inverse). The emission step of sampling a mixture or a Gaussian hidden Markov model.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.mixture import sample_gaussian_components
        >>> X = sample_gaussian_components(jax.random.key(0), jnp.array([[5.0], [-5.0]]),
        ...                                jnp.array([100.0, 100.0]), jnp.array([1, 0, 1]),
        ...                                covariance_type="spherical")
        >>> X[:, 0].round(0).tolist()
        [-5.0, 5.0, -5.0]
    """
    means = as_float(means, "means")
    precisions = as_float(precisions_cholesky, "precisions_cholesky", means.dtype)
    _check_params(GaussianMixtureParams(jnp.zeros(means.shape[:1], means.dtype), means,
                                        precisions), None, covariance_type,
                  "sample_gaussian_components")
    components = jnp.asarray(components)
    if components.ndim != 1 or not jnp.issubdtype(components.dtype, jnp.integer):
        raise ValueError(f"sample_gaussian_components: components must be a 1-D integer "
                         f"array, got shape {components.shape} and dtype {components.dtype}")
    d = means.shape[1]
    z = jax.random.normal(key, (components.shape[0], d), means.dtype)
    # the offsets solve P^T y = z, P^T lower triangular
    if covariance_type == "full":
        offsets = _linalg.solve_triangular(jnp.swapaxes(precisions[components], -1, -2),
                                           z[:, :, None], lower=True)[:, :, 0]
    elif covariance_type == "tied":
        offsets = _linalg.solve_triangular(precisions.T, z.T, lower=True).T
    elif covariance_type == "diag":
        offsets = z / precisions[components]
    else:
        offsets = z / precisions[components][:, None]
    return means[components] + offsets


@jit(static_argnames=("n_samples", "covariance_type"))
def sample_gaussian_mixture(key: Array, params: GaussianMixtureParams, n_samples: int, *,
                            covariance_type: str = "full") -> tuple[Array, Array]:
    r"""Draw ``n_samples`` points: ``(X (n, d), components (n,))``, the component of each
    drawn from the weights and the point from it (:func:`sample_gaussian_components`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.mixture import GaussianMixtureParams, sample_gaussian_mixture
        >>> params = GaussianMixtureParams(jnp.array([1.0, 0.0]), jnp.array([[5.0], [-5.0]]),
        ...                                jnp.array([100.0, 1.0]))
        >>> X, components = sample_gaussian_mixture(jax.random.key(0), params, 3,
        ...                                         covariance_type="spherical")
        >>> components.tolist(), bool(jnp.all(jnp.abs(X - 5.0) < 0.1))
        ([0, 0, 0], True)
    """
    weights, means, precisions = _check_params(params, None, covariance_type,
                                               "sample_gaussian_mixture")
    component_key, normal_key = jax.random.split(key)
    components = jax.random.categorical(component_key, jnp.log(weights),
                                        shape=(n_samples,)).astype(jnp.int32)
    points = sample_gaussian_components(normal_key, means, precisions, components,
                                        covariance_type=covariance_type)
    return points, components


def _n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """The number of free parameters of a mixture (for :meth:`bic`/:meth:`aic`): the
    covariances', ``K d`` means and ``K - 1`` weights."""
    _check_covariance_type(covariance_type, "n_parameters")
    K, d = n_components, n_features
    covariance = {"full": K * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": K * d,
                  "spherical": K}[covariance_type]
    return covariance + K * d + K - 1
