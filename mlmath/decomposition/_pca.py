"""Principal component analysis as pure jitted functions: the fit, its transforms and the
probabilistic PCA likelihood (Tipping and Bishop 1999) that scores data under it."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from mlmath._jit import jit
from mlmath._linalg import weighted_centre
from mlmath._validation import as_float
from mlmath.decomposition._svd import (
    _check_matrix,
    _row_signs,
    _weighted_moments,
    randomized_svd,
    svd_flip,
)

PCA_SOLVERS = ("auto", "full", "covariance_eigh", "randomized")


class PCAFit(NamedTuple):
    """A fitted PCA of ``n`` samples of ``d`` features, ``k`` components kept.

    ``mean (d,)``; ``components (k, d)``: the principal axes, orthonormal rows in decreasing
    order of variance (entry of largest magnitude positive); ``explained_variance (k,)``:
    the variance along each (the eigenvalues of the ``n - 1`` covariance);
    ``explained_variance_ratio (k,)``: their fractions of the total variance;
    ``singular_values (k,)`` of the centred data; ``noise_variance``: the probabilistic PCA
    estimate of the variance left in the discarded directions (their mean variance; 0 when
    none is discarded)."""

    mean: Array
    components: Array
    explained_variance: Array
    explained_variance_ratio: Array
    singular_values: Array
    noise_variance: Array


def resolve_pca_solver(solver: str, n_samples: int, n_features: int, n_components: int,
                       randomized_allowed: bool = True) -> str:
    """The solver ``solver="auto"`` stands for, by scikit-learn's rule: the covariance's
    eigendecomposition for tall data (at most 1,000 features and 10 samples a feature), the
    full SVD for small data (at most 500 rows and columns), the randomized SVD when fewer
    than 80% of the components are kept (and ``randomized_allowed``: a key is given), the
    full SVD otherwise. Any other solver is returned as it is (after checking its name)."""
    if solver not in PCA_SOLVERS:
        raise ValueError(f"pca: solver must be one of {list(PCA_SOLVERS)}, got {solver!r}")
    if solver != "auto":
        return solver
    if n_features <= 1000 and n_samples >= 10 * n_features:
        return "covariance_eigh"
    if max(n_samples, n_features) <= 500:
        return "full"
    if randomized_allowed and n_components < 0.8 * min(n_samples, n_features):
        return "randomized"
    return "full"


def _power_iterations(n_iter: int | None, n_components: int, n_samples: int,
                      n_features: int) -> int:
    """scikit-learn's ``iterated_power="auto"``: 7 power iterations when fewer than 10% of
    the components are kept, else 4."""
    if n_iter is not None:
        return n_iter
    return 7 if n_components < 0.1 * min(n_samples, n_features) else 4


def _check_n_components(n_components: int | None, n: int, d: int, owner: str) -> int:
    largest = min(n, d)
    if n_components is None:
        return largest
    if (not isinstance(n_components, int) or isinstance(n_components, bool)
            or not 1 <= n_components <= largest):
        raise ValueError(f"{owner}: n_components must be None or an int in [1, "
                         f"min(n_samples, n_features)={largest}], got {n_components!r}")
    return n_components


def _mean_noise(variances: Array, k: int) -> Array:
    """The mean of the variances after the first ``k`` (0 when there are none)."""
    rest = variances[k:]
    return jnp.mean(rest) if rest.shape[0] else jnp.zeros((), variances.dtype)


@jit(static_argnames=("n_components", "solver", "n_oversamples", "n_iter"))
def pca(X: ArrayLike, n_components: int | None = None, *, solver: str = "auto",
        key: Array | None = None, n_oversamples: int = 10,
        n_iter: int | None = None) -> PCAFit:
    r"""Principal component analysis of ``X (n, d)``: the ``n_components`` orthonormal
    directions of largest variance, as a :class:`PCAFit`.

    The axes are the eigenvectors of the covariance
    :math:`C = \frac{1}{n-1}\sum_i (x_i - \bar x)(x_i - \bar x)^\top` with the largest
    eigenvalues (the explained variances), equivalently the right singular vectors of the
    centred data. ``solver``:

    * ``"covariance_eigh"``: :func:`mlmath.decomposition.covariance` (one pass of matrix
      products over row blocks of ``X``, centred in cache: no centred copy of ``X``) and a
      ``d x d`` symmetric eigendecomposition. The fastest for tall data; it squares the
      condition number, so variances below ``eps`` times the largest are noise.
    * ``"full"``: the thin SVD of the centred data (exact to working precision; slower).
    * ``"randomized"``: :func:`mlmath.decomposition.randomized_svd` of the centred data
      with ``n_oversamples`` extra directions and ``n_iter`` power iterations (None: 7 when
      fewer than 10% of the components are kept, else 4, as scikit-learn); needs ``key``.
    * ``"auto"`` (default): chosen from the shapes by :func:`resolve_pca_solver`, as
      scikit-learn's (never ``"randomized"`` without a key).

    ``n_components=None`` keeps ``min(n, d)``. Signs: each axis's entry of largest
    magnitude is positive (scikit-learn's). A NaN in ``X`` gives NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import pca
        >>> X = jnp.array([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0], [1.0, 3.0], [3.0, 1.0]])
        >>> fit = pca(X, 1)
        >>> [round(float(v), 4) for v in fit.components[0]]
        [0.7071, 0.7071]
        >>> round(float(fit.explained_variance[0]), 4), round(float(fit.noise_variance), 4)
        (4.0, 1.0)
    """
    X = as_float(X, "X")
    _check_matrix(X, "pca", "X")
    n, d = X.shape
    if n < 2:
        raise ValueError(f"pca: X needs at least 2 samples for a variance, got shape {X.shape}")
    k = _check_n_components(n_components, n, d, "pca")
    solver = resolve_pca_solver(solver, n, d, k, randomized_allowed=key is not None)
    if solver == "randomized" and key is None:
        raise ValueError("pca: solver='randomized' needs a key (key=jax.random.key(0))")

    if solver == "covariance_eigh":
        mean, scatter, _ = _weighted_moments(X, jnp.ones(n, X.dtype))
        eigenvalues, eigenvectors = jnp.linalg.eigh(scatter / (n - 1))
        variances = jnp.maximum(eigenvalues[::-1], 0.0)
        axes = eigenvectors[:, ::-1].T
        axes = axes * _row_signs(axes)[:, None]
        total = jnp.sum(variances)
        noise = _mean_noise(variances, k) if k < min(n, d) else jnp.zeros((), X.dtype)
        singular = jnp.sqrt(variances * (n - 1))
    else:
        mean = weighted_centre(X, jnp.ones(n, X.dtype))
        centred = X - mean
        if solver == "full":
            u, singular, axes = jnp.linalg.svd(centred, full_matrices=False)
            _, axes = svd_flip(u, axes)
            variances = singular ** 2 / (n - 1)
            total = jnp.sum(variances)
            noise = _mean_noise(variances, k)
        else:
            iterations = _power_iterations(n_iter, k, n, d)
            assert key is not None  # checked above
            svd = randomized_svd(key, centred, k, n_oversamples=n_oversamples,
                                 n_iter=iterations)
            singular, axes = svd.s, svd.vt
            variances = singular ** 2 / (n - 1)
            total = jnp.sum(centred ** 2) / (n - 1)
            discarded = min(n, d) - k
            noise = ((total - jnp.sum(variances)) / discarded if discarded
                     else jnp.zeros((), X.dtype))
    ratio = variances / total
    fit = PCAFit(mean, axes[:k], variances[:k], ratio[:k], singular[:k], noise)
    invalid = ~jnp.all(jnp.isfinite(X))
    return jax.tree_util.tree_map(lambda leaf: jnp.where(invalid, jnp.nan, leaf), fit)


@jit(static_argnames=("n_components",))
def truncate_pca(fit: PCAFit, n_components: int) -> PCAFit:
    """The first ``n_components`` components of a fit that kept all ``min(n, d)`` of them,
    with the noise variance of the rest (their mean variance), as if fitted with
    ``n_components``.

    How a fraction of the variance is kept: fit all the components, count those that reach
    the fraction (see ``PCA(n_components=0.95)``), truncate."""
    kept = fit.components.shape[0]
    if not isinstance(n_components, int) or not 1 <= n_components <= kept:
        raise ValueError(f"truncate_pca: n_components must be an int in [1, {kept}], got "
                         f"{n_components!r}")
    noise = (fit.noise_variance if n_components == kept
             else _mean_noise(fit.explained_variance, n_components))
    return PCAFit(fit.mean, fit.components[:n_components],
                  fit.explained_variance[:n_components],
                  fit.explained_variance_ratio[:n_components],
                  fit.singular_values[:n_components], noise)


def components_for_variance(explained_variance_ratio: ArrayLike, fraction: float) -> int:
    """The fewest leading components whose explained variance ratios sum to more than
    ``fraction`` (scikit-learn's rule for ``PCA(n_components=fraction)``), as a Python int:
    it sets a shape, so the ratios must be concrete."""
    cumulative = np.cumsum(np.asarray(explained_variance_ratio, dtype=np.float64))
    count = int(np.searchsorted(cumulative, fraction, side="right")) + 1
    return min(count, cumulative.shape[0])


def _scale(fit: PCAFit, whiten: bool) -> Array:
    return jnp.sqrt(fit.explained_variance) if whiten else jnp.ones_like(fit.explained_variance)


@jit(static_argnames=("whiten",))
def pca_transform(fit: PCAFit, X: ArrayLike, whiten: bool = False) -> Array:
    r"""The principal-component scores ``(n, k)`` of ``X (n, d)``:
    :math:`z = W (x - \bar x)`, divided by the square roots of the explained variances
    when ``whiten`` (unit variance on the training data)."""
    X = as_float(X, "X", fit.mean.dtype)
    if X.ndim != 2 or X.shape[1] != fit.mean.shape[0]:
        raise ValueError(f"pca_transform: X must have shape (n, {fit.mean.shape[0]}), got "
                         f"{X.shape}")
    return (X - fit.mean) @ fit.components.T / _scale(fit, whiten)


@jit(static_argnames=("whiten",))
def pca_inverse_transform(fit: PCAFit, scores: ArrayLike, whiten: bool = False) -> Array:
    r"""Points ``(n, d)`` back in feature space from scores ``(n, k)``:
    :math:`x = W^\top z + \bar x` (the projection onto the principal subspace when the
    scores are :func:`pca_transform`'s)."""
    scores = as_float(scores, "scores", fit.mean.dtype)
    k = fit.components.shape[0]
    if scores.ndim != 2 or scores.shape[1] != k:
        raise ValueError(f"pca_inverse_transform: scores must have shape (n, {k}), got "
                         f"{scores.shape}")
    return (scores * _scale(fit, whiten)) @ fit.components + fit.mean


@jit
def pca_covariance(fit: PCAFit) -> Array:
    r"""The covariance ``(d, d)`` of the probabilistic PCA model:
    :math:`W^\top \operatorname{diag}(\max(\lambda_i, \sigma^2) - \sigma^2) W + \sigma^2 I`,
    with ``W`` the components, :math:`\lambda` the explained variances and
    :math:`\sigma^2` the noise variance (scikit-learn's ``get_covariance``)."""
    d = fit.mean.shape[0]
    noise = fit.noise_variance
    excess = jnp.maximum(fit.explained_variance - noise, 0.0)
    return (fit.components.T * excess) @ fit.components + noise * jnp.eye(d, dtype=noise.dtype)


@jit
def pca_log_likelihood(fit: PCAFit, X: ArrayLike) -> Array:
    r"""The log density ``(n,)`` of each row of ``X (n, d)`` under the probabilistic PCA
    model :math:`x \sim \mathcal N(\bar x, C)` of :func:`pca_covariance` (scikit-learn's
    ``score_samples``), without forming or inverting ``C``.

    The components are orthonormal, so ``C`` has eigenvalues
    :math:`\max(\lambda_i, \sigma^2)` along them and :math:`\sigma^2` on the rest:

    .. math:: \log p(x) = -\tfrac12\Big[\sum_i \frac{z_i^2}{\max(\lambda_i,\sigma^2)}
              + \frac{\lVert r\rVert^2}{\sigma^2} + \sum_i \log\max(\lambda_i,\sigma^2)
              + (d-k)\log\sigma^2 + d\log 2\pi\Big]

    with :math:`z = W(x - \bar x)` and the residual :math:`r = x - \bar x - W^\top z`. A
    model with a zero variance in a direction it must cover (:math:`\sigma^2 = 0` with
    ``k < d``, or a zero explained variance) has no density: NaN.
    """
    X = as_float(X, "X", fit.mean.dtype)
    d = fit.mean.shape[0]
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError(f"pca_log_likelihood: X must have shape (n, {d}), got {X.shape}")
    k = fit.components.shape[0]
    noise = fit.noise_variance
    variances = jnp.maximum(fit.explained_variance, noise)
    centred = X - fit.mean
    scores = centred @ fit.components.T
    quadratic = jnp.sum(scores ** 2 / variances, axis=1)
    log_det = jnp.sum(jnp.log(variances))
    valid = jnp.all(variances > 0)
    if k < d:
        residual = centred - scores @ fit.components
        safe_noise = jnp.where(noise > 0, noise, 1.0)
        quadratic = quadratic + jnp.sum(residual ** 2, axis=1) / safe_noise
        log_det = log_det + (d - k) * jnp.log(safe_noise)
        valid = valid & (noise > 0)
    log_density = -0.5 * (quadratic + log_det + d * jnp.log(2 * jnp.pi))
    return jnp.where(valid, log_density, jnp.nan)
