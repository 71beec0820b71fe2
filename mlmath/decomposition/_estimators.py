"""``PCA``, ``TruncatedSVD`` and ``SpectralClustering``: scikit-learn's surface over the
pure decomposition functions."""

from __future__ import annotations

from typing import Any, cast

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from mlmath._estimator import (
    Estimator,
    InvalidParameterError,
    check_bool,
    check_choice,
    check_enough_samples,
    check_features,
    check_int,
    check_n_features,
    check_positive,
    check_scalar_for_fit,
    default_key,
    python_scalar,
)
from mlmath._validation import is_traced
from mlmath.decomposition._pca import (
    PCA_SOLVERS,
    PCAFit,
    components_for_variance,
    pca,
    pca_covariance,
    pca_inverse_transform,
    pca_log_likelihood,
    pca_transform,
    resolve_pca_solver,
    truncate_pca,
)
from mlmath.decomposition._spectral import (
    SPECTRAL_AFFINITIES,
    nearest_neighbors_affinity,
    rbf_affinity,
    spectral_clustering,
)
from mlmath.decomposition._svd import SVD, randomized_svd, svd_explained_variance, truncated_svd

TRUNCATED_SVD_ALGORITHMS = ("randomized", "full")


def _check_n_components_field(value: Any, owner: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameterError(
            f"{owner}: n_components must be None, an int >= 1 or a float in (0, 1), got "
            f"{value!r} ({type(value).__name__})")
    if isinstance(value, int) and value < 1:
        raise InvalidParameterError(f"{owner}: n_components must be an int >= 1, got {value}")
    if isinstance(value, float) and not 0.0 < value < 1.0:
        raise InvalidParameterError(
            f"{owner}: n_components as a float is the fraction of the variance to keep and "
            f"must be in (0, 1), got {value}")


def _check_rank_for(X: Array, n_components: int, owner: str) -> None:
    largest = min(X.shape)
    if n_components > largest:
        raise ValueError(
            f"{owner}: n_components={n_components} must be at most min(n_samples, "
            f"n_features)={largest} for X of shape {tuple(X.shape)}")


@jax.jit
def _mean(values):
    return jnp.mean(values)


class PCA(Estimator):
    r"""Principal component analysis, scikit-learn's surface and fitted names.

    ``fit(X)`` runs :func:`mlmath.decomposition.pca`. ``n_components``: None (all
    ``min(n, d)``), an int, or a float in (0, 1): the fewest components whose explained
    variance ratios sum to more than it. ``svd_solver``: ``"auto"`` (scikit-learn's rule:
    the covariance's eigendecomposition for tall data, else the full SVD, or the randomized
    SVD when fewer than 80% of the components are kept), ``"full"``,
    ``"covariance_eigh"``, ``"randomized"`` (``iterated_power`` power iterations,
    ``"auto"``: 7 below 10% of the components, else 4; ``n_oversamples`` extra directions;
    the ``key`` of ``fit``). ``whiten`` scales the scores to unit variance.

    Fitted: ``components_ (k, d)``, ``explained_variance_``, ``explained_variance_ratio_``,
    ``singular_values_``, ``mean_``, ``noise_variance_`` (probabilistic PCA), ``n_samples_``;
    ``n_components_`` and ``n_features_in_`` follow from their shapes. ``score_samples``
    is the probabilistic PCA log-likelihood (:func:`mlmath.decomposition.pca_log_likelihood`)
    of the data, whitened or not (scikit-learn's whitened ``score_samples`` rescales the
    components by the variances, its issue #13898; here whitening changes the scores only).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath import PCA
        >>> X = jnp.array([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0], [1.0, 3.0], [3.0, 1.0]])
        >>> model = PCA(n_components=1).fit(X)
        >>> [round(float(v), 4) for v in model.components_[0]]
        [0.7071, 0.7071]
        >>> round(float(model.explained_variance_ratio_[0]), 4)   # variances 4 and 1
        0.8
    """

    n_components: int | float | None = eqx.field(static=True, default=None,
                                                 converter=python_scalar)
    whiten: bool = eqx.field(static=True, default=False, converter=python_scalar)
    svd_solver: str = eqx.field(static=True, default="auto")
    iterated_power: int | str = eqx.field(static=True, default="auto", converter=python_scalar)
    n_oversamples: int = eqx.field(static=True, default=10, converter=python_scalar)
    mean_: Array | None = None
    components_: Array | None = None
    explained_variance_: Array | None = None
    explained_variance_ratio_: Array | None = None
    singular_values_: Array | None = None
    noise_variance_: Array | None = None
    n_samples_: Array | None = None

    def __check_init__(self):
        owner = "PCA"
        _check_n_components_field(self.n_components, owner)
        check_bool("whiten", self.whiten, owner)
        check_choice("svd_solver", self.svd_solver, PCA_SOLVERS, owner)
        if self.iterated_power != "auto":
            check_int("iterated_power", self.iterated_power, 0, owner)
        check_int("n_oversamples", self.n_oversamples, 0, owner)

    def fit(self, X: ArrayLike, y: Any = None, *, key: Array | None = None) -> PCA:
        """Fit the principal axes of ``X (n, d)`` (``y`` is ignored); returns a new, fitted
        estimator. ``key`` seeds the randomized solver (default ``jax.random.key(0)``)."""
        owner = type(self).__name__
        X = check_features(X, owner)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"{owner}: X needs at least 2 samples, got shape {tuple(X.shape)}")
        power = None if self.iterated_power == "auto" else int(self.iterated_power)
        if isinstance(self.n_components, float):
            fit = self._fit_fraction(X, owner)
        else:
            k = min(n, d) if self.n_components is None else self.n_components
            _check_rank_for(X, k, owner)
            fit = pca(X, k, solver=self.svd_solver, key=default_key(key),
                      n_oversamples=self.n_oversamples, n_iter=power)
        return self._fitted(mean_=fit.mean, components_=fit.components,
                            explained_variance_=fit.explained_variance,
                            explained_variance_ratio_=fit.explained_variance_ratio,
                            singular_values_=fit.singular_values,
                            noise_variance_=fit.noise_variance,
                            n_samples_=jnp.asarray(n, jnp.int32))

    def _fit_fraction(self, X: Array, owner: str) -> PCAFit:
        n, d = X.shape
        solver = resolve_pca_solver(self.svd_solver, n, d, min(n, d), randomized_allowed=False)
        if solver == "randomized":
            raise ValueError(
                f"{owner}: n_components={self.n_components} (a fraction of the variance) needs "
                "every component's variance; use svd_solver='full', 'covariance_eigh' or "
                "'auto'")
        if is_traced(X):
            raise ValueError(
                f"{owner}: n_components={self.n_components} (a fraction of the variance) "
                "chooses the number of components from the data, which a traced fit (under "
                "jax.vmap or jax.jit) cannot: give an int n_components")
        full = pca(X, min(n, d), solver=solver)
        k = components_for_variance(np.asarray(full.explained_variance_ratio),
                                    cast(float, self.n_components))
        return truncate_pca(full, k)

    def _fit_result(self) -> PCAFit:
        self._check_fitted()
        return PCAFit(cast(Array, self.mean_), cast(Array, self.components_),
                      cast(Array, self.explained_variance_),
                      cast(Array, self.explained_variance_ratio_),
                      cast(Array, self.singular_values_), cast(Array, self.noise_variance_))

    @property
    def n_components_(self) -> int:
        """The number of components kept."""
        return int(self._fit_result().components.shape[0])

    @property
    def n_features_in_(self) -> int:
        """The number of features seen in ``fit``."""
        return int(self._fit_result().mean.shape[0])

    def _checked(self, X: ArrayLike) -> Array:
        return check_n_features(X, self.n_features_in_, type(self).__name__)

    def transform(self, X: ArrayLike) -> Array:
        """The principal-component scores of ``X``, ``(n, n_components_)``."""
        return pca_transform(self._fit_result(), self._checked(X), whiten=self.whiten)

    def fit_transform(self, X: ArrayLike, y: Any = None, *,
                      key: Array | None = None) -> Array:
        """``fit(X, key=key).transform(X)``."""
        return self.fit(X, key=key).transform(X)

    def inverse_transform(self, X: ArrayLike) -> Array:
        """Points in feature space ``(n, d)`` from scores ``(n, n_components_)``."""
        fit = self._fit_result()
        scores = check_n_features(X, fit.components.shape[0], type(self).__name__)
        return pca_inverse_transform(fit, scores, whiten=self.whiten)

    def get_covariance(self) -> Array:
        """The covariance ``(d, d)`` of the probabilistic PCA model."""
        return pca_covariance(self._fit_result())

    def score_samples(self, X: ArrayLike) -> Array:
        """The probabilistic PCA log-likelihood of each row of ``X``, ``(n,)``."""
        return pca_log_likelihood(self._fit_result(), self._checked(X))

    def score(self, X: ArrayLike, y: Any = None) -> Array:
        """The mean probabilistic PCA log-likelihood of the rows of ``X``."""
        return _mean(self.score_samples(X))


class TruncatedSVD(Estimator):
    r"""Dimensionality reduction by a truncated SVD of the data, not centred (latent
    semantic analysis), scikit-learn's surface and fitted names.

    ``algorithm="randomized"`` (default: :func:`mlmath.decomposition.randomized_svd` with
    ``n_iter`` power iterations and ``n_oversamples`` extra directions, seeded by the
    ``key`` of ``fit``) or ``"full"`` (exact, from the thin SVD). Fitted:
    ``components_ (k, d)``, ``singular_values_``, ``explained_variance_`` (the variance
    of each score) and ``explained_variance_ratio_``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath import TruncatedSVD
        >>> X = jnp.array([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
        >>> TruncatedSVD(n_components=2).fit(X).singular_values_.round(4).tolist()
        [3.0, 2.0]
    """

    n_components: int = eqx.field(static=True, default=2, converter=python_scalar)
    algorithm: str = eqx.field(static=True, default="randomized")
    n_iter: int = eqx.field(static=True, default=5, converter=python_scalar)
    n_oversamples: int = eqx.field(static=True, default=10, converter=python_scalar)
    components_: Array | None = None
    singular_values_: Array | None = None
    explained_variance_: Array | None = None
    explained_variance_ratio_: Array | None = None

    def __check_init__(self):
        owner = "TruncatedSVD"
        check_int("n_components", self.n_components, 1, owner)
        check_choice("algorithm", self.algorithm, TRUNCATED_SVD_ALGORITHMS, owner)
        check_int("n_iter", self.n_iter, 0, owner)
        check_int("n_oversamples", self.n_oversamples, 0, owner)

    def _decompose(self, X: Array, key: Array | None) -> SVD:
        _check_rank_for(X, self.n_components, type(self).__name__)
        if self.algorithm == "full":
            return truncated_svd(X, self.n_components)
        return randomized_svd(default_key(key), X, self.n_components,
                              n_oversamples=self.n_oversamples, n_iter=self.n_iter)

    def _fit_svd(self, X: ArrayLike, key: Array | None) -> tuple[TruncatedSVD, SVD]:
        X = check_features(X, type(self).__name__)
        svd = self._decompose(X, key)
        variances, ratios = svd_explained_variance(X, svd)
        fitted = self._fitted(components_=svd.vt, singular_values_=svd.s,
                              explained_variance_=variances, explained_variance_ratio_=ratios)
        return fitted, svd

    def fit(self, X: ArrayLike, y: Any = None, *, key: Array | None = None) -> TruncatedSVD:
        """Fit the leading right singular vectors of ``X (n, d)``; returns a new, fitted
        estimator."""
        return self._fit_svd(X, key)[0]

    def fit_transform(self, X: ArrayLike, y: Any = None, *,
                      key: Array | None = None) -> Array:
        """The scores ``U diag(s)`` of ``X`` under a fit on ``X``, ``(n, n_components)``."""
        svd = self._fit_svd(X, key)[1]
        return _scores(svd)

    def _components(self) -> Array:
        self._check_fitted()
        return cast(Array, self.components_)

    def transform(self, X: ArrayLike) -> Array:
        """The scores ``X V`` of ``X``, ``(n, n_components)``."""
        components = self._components()
        return _project(check_n_features(X, components.shape[1], type(self).__name__),
                        components)

    def inverse_transform(self, X: ArrayLike) -> Array:
        """Points in feature space ``(n, d)`` from scores ``(n, n_components)``."""
        components = self._components()
        scores = check_n_features(X, components.shape[0], type(self).__name__)
        return _reconstruct(scores, components)


@jax.jit
def _scores(svd: SVD) -> Array:
    return svd.u * svd.s


@jax.jit
def _project(X: Array, components: Array) -> Array:
    return X @ components.T


@jax.jit
def _reconstruct(scores: Array, components: Array) -> Array:
    return scores @ components



class SpectralClustering(Estimator):
    r"""Spectral clustering of the rows of ``X``, scikit-learn's surface and fitted names.

    ``affinity="rbf"`` builds :func:`mlmath.decomposition.rbf_affinity` with ``gamma``;
    ``"nearest_neighbors"`` the symmetrised ``n_neighbors`` graph
    (:func:`mlmath.decomposition.nearest_neighbors_affinity`). The labels are those of
    :func:`mlmath.decomposition.spectral_clustering` (k-means with ``n_init`` starts in the
    spectral embedding, seeded by the ``key`` of ``fit``). Fitted: ``labels_`` and
    ``affinity_matrix_ (n, n)``. Dense: memory grows as ``n^2``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath import SpectralClustering
        >>> X = jnp.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> labels = SpectralClustering(n_clusters=2, n_neighbors=3,
        ...                             affinity="nearest_neighbors").fit(X).labels_
        >>> (labels[:3] == labels[0]).all().item(), (labels[3:] != labels[0]).all().item()
        (True, True)
    """

    n_clusters: int = eqx.field(static=True, default=8, converter=python_scalar)
    affinity: str = eqx.field(static=True, default="rbf")
    gamma: Array | float = 1.0
    n_neighbors: int = eqx.field(static=True, default=10, converter=python_scalar)
    n_init: int = eqx.field(static=True, default=10, converter=python_scalar)
    labels_: Array | None = None
    affinity_matrix_: Array | None = None

    def __check_init__(self):
        owner = "SpectralClustering"
        check_int("n_clusters", self.n_clusters, 1, owner)
        check_choice("affinity", self.affinity, SPECTRAL_AFFINITIES, owner)
        check_positive("gamma", self.gamma, owner=owner)
        check_int("n_neighbors", self.n_neighbors, 1, owner)
        check_int("n_init", self.n_init, 1, owner)

    def fit(self, X: ArrayLike, y: Any = None, *,
            key: Array | None = None) -> SpectralClustering:
        """Cluster the rows of ``X (n, d)`` (``y`` is ignored); returns a new, fitted
        estimator."""
        owner = type(self).__name__
        X = check_features(X, owner)
        n = X.shape[0]
        check_enough_samples(n, self.n_clusters, "n_clusters", "cluster", owner)
        if self.affinity == "rbf":
            check_scalar_for_fit("gamma", self.gamma, owner)
            affinity = rbf_affinity(X, self.gamma)
        else:
            if self.n_neighbors > n:
                raise ValueError(f"{owner}: n_neighbors={self.n_neighbors} must be at most "
                                 f"n_samples={n}")
            affinity = nearest_neighbors_affinity(X, self.n_neighbors)
        labels = spectral_clustering(default_key(key), affinity, self.n_clusters,
                                     n_init=self.n_init)
        return self._fitted(labels_=labels, affinity_matrix_=affinity)

    def fit_predict(self, X: ArrayLike, y: Any = None, *, key: Array | None = None) -> Array:
        """``fit(X, key=key).labels_``."""
        return cast(Array, self.fit(X, key=key).labels_)
