"""``GaussianMixture`` and ``KMeans``: scikit-learn's surface over the pure EM functions."""

from __future__ import annotations

from functools import partial
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
    check_choice,
    check_enough_samples,
    check_features,
    check_gaussian_prior_fields,
    check_gaussian_prior_for_fit,
    check_int,
    check_n_features,
    check_positive,
    check_positive_definite,
    check_sample_weight,
    check_scalar_for_fit,
    concrete_initial_array,
    default_key,
    python_scalar,
)
from mlmath._validation import concrete_value
from mlmath.mixture._gaussian import (
    COVARIANCE_TYPES,
    GAUSSIAN_MIXTURE_INITS,
    GaussianMixtureParams,
    GaussianMixturePrior,
    _n_parameters,
    _precision_matrices,
    component_log_prob,
    covariance_shape,
    e_step,
    fit_gaussian_mixture,
    sample_gaussian_mixture,
)
from mlmath.mixture._kmeans import (
    KMEANS_INITS,
    _inertia,
    kmeans,
    kmeans_predict,
    kmeans_transform,
    lloyd,
)


@partial(jax.jit, static_argnames=("covariance_type",))
def _most_likely_component(params, X, covariance_type):
    return jnp.argmax(component_log_prob(params, X, covariance_type=covariance_type), axis=1)


@partial(jax.jit, static_argnames=("covariance_type",))
def _responsibilities(params, X, covariance_type):
    return jnp.exp(e_step(params, X, covariance_type=covariance_type)[0])


@partial(jax.jit, static_argnames=("covariance_type",))
def _sample_log_likelihood(params, X, covariance_type):
    return e_step(params, X, covariance_type=covariance_type)[1]


@jax.jit
def _mean(values):
    return jnp.mean(values)


class GaussianMixture(Estimator):
    r"""A Gaussian mixture fitted by EM, scikit-learn's surface and fitted names.

    ``fit(X, key=...)`` runs :func:`mlmath.mixture.fit_gaussian_mixture`: ``n_init``
    starts in one ``vmap``, EM in one compiled loop until the lower bound changes by less
    than ``tol``. Covariances are held as Cholesky factors of precisions; ``reg_covar`` is
    added to every variance. Giving any of ``weight_concentration_prior``,
    ``mean_prior`` with ``mean_precision_prior``, or ``covariance_prior`` with
    ``degrees_of_freedom_prior`` makes the fit MAP-EM under a Dirichlet and
    Normal–Inverse-Wishart prior (:class:`mlmath.mixture.GaussianMixturePrior`).

    ``tol``, ``reg_covar``, the initial values and the prior are array leaves: a grid of
    them is one ``jax.vmap`` over ``fit``. Fitted: ``weights_``, ``means_``,
    ``covariances_``, ``precisions_``, ``precisions_cholesky_``, ``converged_``,
    ``n_iter_``, ``lower_bound_`` (mean log-likelihood per sample, plus the log prior over
    ``n`` with a prior) and ``lower_bounds_`` (one per EM step, NaN after the last).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath import GaussianMixture
        >>> X = jnp.concatenate([jax.random.normal(jax.random.key(1), (100, 2)),
        ...                      jax.random.normal(jax.random.key(2), (100, 2)) + 8.0])
        >>> gmm = GaussianMixture(n_components=2).fit(X, key=jax.random.key(0))
        >>> sorted(gmm.means_[:, 0].round(0).tolist()), bool(gmm.converged_)
        ([0.0, 8.0], True)
    """

    n_components: int = eqx.field(static=True, default=1, converter=python_scalar)
    covariance_type: str = eqx.field(static=True, default="full")
    tol: Array | float = 1e-3
    reg_covar: Array | float = 1e-6
    max_iter: int = eqx.field(static=True, default=100, converter=python_scalar)
    n_init: int = eqx.field(static=True, default=1, converter=python_scalar)
    init_params: str = eqx.field(static=True, default="kmeans")
    weights_init: Array | None = None
    means_init: Array | None = None
    precisions_init: Array | None = None
    weight_concentration_prior: Array | float | None = None
    mean_prior: Array | None = None
    mean_precision_prior: Array | float | None = None
    covariance_prior: Array | float | None = None
    degrees_of_freedom_prior: Array | float | None = None
    weights_: Array | None = None
    means_: Array | None = None
    covariances_: Array | None = None
    precisions_: Array | None = None
    precisions_cholesky_: Array | None = None
    converged_: Array | None = None
    n_iter_: Array | None = None
    lower_bound_: Array | None = None
    lower_bounds_: Array | None = None

    def __check_init__(self):
        owner = "GaussianMixture"
        check_int("n_components", self.n_components, 1, owner)
        check_choice("covariance_type", self.covariance_type, COVARIANCE_TYPES, owner)
        check_choice("init_params", self.init_params, GAUSSIAN_MIXTURE_INITS, owner)
        check_int("max_iter", self.max_iter, 1, owner)
        check_int("n_init", self.n_init, 1, owner)
        check_positive("tol", self.tol, allow_zero=True, owner=owner)
        check_positive("reg_covar", self.reg_covar, allow_zero=True, owner=owner)
        if self.weight_concentration_prior is not None:
            concentration = concrete_value(self.weight_concentration_prior)
            if concentration is not None and not (np.all(np.isfinite(concentration))
                                                   and np.all(concentration >= 1)):
                raise InvalidParameterError(
                    f"{owner}: weight_concentration_prior must be >= 1 (a Dirichlet whose "
                    f"mode is inside the simplex), got {self.weight_concentration_prior!r}")
        check_gaussian_prior_fields(owner, self.mean_prior, self.mean_precision_prior,
                                    self.covariance_prior, self.degrees_of_freedom_prior)
        if self.weights_init is not None:
            weights = concrete_value(self.weights_init)
            if weights is not None and (weights.shape != (self.n_components,)
                                        or np.any(weights < 0) or not np.all(np.isfinite(weights))
                                        or abs(weights.sum() - 1.0) > 1e-6):
                raise InvalidParameterError(
                    f"{owner}: weights_init must be {self.n_components} non-negative weights "
                    f"summing to 1, got {self.weights_init!r}")

    def _prior(self, d: int, owner: str) -> GaussianMixturePrior | None:
        if all(value is None for value in (self.weight_concentration_prior,
                                           self.mean_precision_prior, self.covariance_prior)):
            return None
        check_gaussian_prior_for_fit(owner, d, self.mean_prior, self.covariance_prior,
                                     self.degrees_of_freedom_prior)
        return GaussianMixturePrior(self.weight_concentration_prior, self.mean_prior,
                                    self.mean_precision_prior, self.covariance_prior,
                                    self.degrees_of_freedom_prior)

    def fit(self, X: ArrayLike, y: Any = None, *, key: Array | None = None) -> GaussianMixture:
        """Fit to ``X (n, d)`` (``y`` is ignored); returns a new, fitted estimator. ``key``
        seeds the initialization (default ``jax.random.key(0)``)."""
        owner = type(self).__name__
        X = check_features(X, owner)
        d = X.shape[1]
        K = self.n_components
        check_enough_samples(X.shape[0], K, "n_components", "component", owner)
        for name in ("tol", "reg_covar"):
            check_scalar_for_fit(name, getattr(self, name), owner)
        concrete_initial_array(self.means_init, "means_init", owner, (K, d))
        precisions = concrete_initial_array(self.precisions_init, "precisions_init", owner,
                                     covariance_shape(self.covariance_type, K, d))
        if precisions is not None:
            check_positive_definite(precisions, "precisions_init",
                                    self.covariance_type in ("diag", "spherical"), owner)
        fit = fit_gaussian_mixture(
            default_key(key), X, K, covariance_type=self.covariance_type,
            init_params=self.init_params, max_iter=self.max_iter, n_init=self.n_init,
            tol=self.tol, reg_covar=self.reg_covar, prior=self._prior(d, owner),
            weights_init=self.weights_init, means_init=self.means_init,
            precisions_init=self.precisions_init)
        params = fit.params
        return self._fitted(weights_=params.weights, means_=params.means,
                            covariances_=fit.covariances,
                            precisions_=_precision_matrices(params.precisions_cholesky,
                                                             self.covariance_type),
                            precisions_cholesky_=params.precisions_cholesky,
                            converged_=fit.converged, n_iter_=fit.n_iter,
                            lower_bound_=fit.lower_bound, lower_bounds_=fit.history)

    def _params(self) -> GaussianMixtureParams:
        self._check_fitted()
        return GaussianMixtureParams(cast(Array, self.weights_), cast(Array, self.means_),
                                     cast(Array, self.precisions_cholesky_))

    def _checked(self, X: ArrayLike) -> Array:
        return check_n_features(X, self._params().means.shape[1], type(self).__name__)

    def predict(self, X: ArrayLike) -> Array:
        """The most probable component of each row, ``(n,)``."""
        return _most_likely_component(self._params(), self._checked(X), self.covariance_type)

    def fit_predict(self, X: ArrayLike, y: Any = None, *, key: Array | None = None) -> Array:
        """``fit(X, key=key).predict(X)``."""
        return self.fit(X, key=key).predict(X)

    def predict_proba(self, X: ArrayLike) -> Array:
        """Responsibilities: each component's posterior probability for each row, ``(n, K)``."""
        return _responsibilities(self._params(), self._checked(X), self.covariance_type)

    def score_samples(self, X: ArrayLike) -> Array:
        """The log-density of the mixture at each row, ``(n,)``."""
        return _sample_log_likelihood(self._params(), self._checked(X), self.covariance_type)

    def score(self, X: ArrayLike, y: Any = None) -> Array:
        """The mean log-density per row."""
        return _mean(self.score_samples(X))

    def sample(self, key: Array, n_samples: int = 1) -> tuple[Array, Array]:
        """Draw ``n_samples`` points: ``(X (n, d), components (n,))``."""
        check_int("n_samples", n_samples, 1, type(self).__name__)
        return sample_gaussian_mixture(key, self._params(), int(n_samples),
                                       covariance_type=self.covariance_type)

    def _n_parameters(self) -> int:
        return _n_parameters(self.n_components, self._params().means.shape[1],
                             self.covariance_type)

    def bic(self, X: ArrayLike) -> Array:
        """Bayesian information criterion ``-2 log L + p log n`` on ``X`` (lower is better)."""
        n = np.shape(X)[0]
        return -2.0 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X: ArrayLike) -> Array:
        """Akaike information criterion ``-2 log L + 2 p`` on ``X`` (lower is better)."""
        n = np.shape(X)[0]
        return -2.0 * self.score(X) * n + 2 * self._n_parameters()


def _static_init(init: Any) -> Any:
    if isinstance(init, str):
        return init
    raise InvalidParameterError(
        f"KMeans: init must be one of {list(KMEANS_INITS)}; give initial centres as "
        f"init_centers=... (an array field), got {type(init).__name__}")


class KMeans(Estimator):
    r"""k-means clustering by Lloyd's algorithm (hard EM), scikit-learn's surface.

    ``init`` is ``"k-means++"`` or ``"random"``; initial centres are given as
    ``init_centers (n_clusters, d)`` (scikit-learn's ``init=array``: an array cannot be a
    static field here), and then one start is run. ``n_init`` seedings run in one ``vmap``
    and the one of least inertia is kept. ``tol`` is relative to the mean variance of the
    features, as scikit-learn's. An emptied cluster is re-seeded at the farthest point.
    Fitted: ``cluster_centers_``, ``labels_``, ``inertia_``, ``n_iter_``, ``converged_``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath import KMeans
        >>> X = jnp.array([[0.0], [1.0], [10.0], [11.0]])
        >>> km = KMeans(n_clusters=2, init_centers=jnp.array([[0.0], [1.0]])).fit(X)
        >>> km.cluster_centers_[:, 0].tolist(), km.labels_.tolist(), float(km.inertia_)
        ([0.5, 10.5], [0, 0, 1, 1], 1.0)
    """

    n_clusters: int = eqx.field(static=True, default=8, converter=python_scalar)
    init: str = eqx.field(static=True, default="k-means++", converter=_static_init)
    n_init: int = eqx.field(static=True, default=1, converter=python_scalar)
    max_iter: int = eqx.field(static=True, default=300, converter=python_scalar)
    tol: Array | float = 1e-4
    init_centers: Array | None = None
    cluster_centers_: Array | None = None
    labels_: Array | None = None
    inertia_: Array | None = None
    n_iter_: Array | None = None
    converged_: Array | None = None

    def __check_init__(self):
        owner = "KMeans"
        check_int("n_clusters", self.n_clusters, 1, owner)
        check_choice("init", self.init, KMEANS_INITS, owner)
        check_int("n_init", self.n_init, 1, owner)
        check_int("max_iter", self.max_iter, 1, owner)
        check_positive("tol", self.tol, allow_zero=True, owner=owner)

    def fit(self, X: ArrayLike, y: Any = None, *, key: Array | None = None,
            sample_weight: ArrayLike | None = None) -> KMeans:
        """Cluster ``X (n, d)`` (``y`` is ignored); returns a new, fitted estimator."""
        owner = type(self).__name__
        X = check_features(X, owner)
        n, d = X.shape
        check_enough_samples(X.shape[0], self.n_clusters, "n_clusters", "cluster", owner)
        check_scalar_for_fit("tol", self.tol, owner)
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, n, X.dtype, owner)
        if self.init_centers is not None:
            concrete_initial_array(self.init_centers, "init_centers", owner, (self.n_clusters, d))
            fit = lloyd(X, jnp.asarray(self.init_centers, X.dtype), max_iter=self.max_iter,
                        tol=self.tol, sample_weight=weights)
        else:
            fit = kmeans(default_key(key), X, self.n_clusters, init=self.init,
                         n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
                         sample_weight=weights)
        return self._fitted(cluster_centers_=fit.centers, labels_=fit.labels,
                            inertia_=fit.inertia, n_iter_=fit.n_iter, converged_=fit.converged)

    def _centers(self) -> Array:
        self._check_fitted()
        return cast(Array, self.cluster_centers_)

    def _checked(self, X: ArrayLike) -> Array:
        return check_n_features(X, self._centers().shape[1], type(self).__name__)

    def predict(self, X: ArrayLike) -> Array:
        """The index of the nearest centre of each row, ``(n,)``."""
        return kmeans_predict(self._checked(X), self._centers())

    def fit_predict(self, X: ArrayLike, y: Any = None, *, key: Array | None = None) -> Array:
        """``fit(X, key=key).labels_``."""
        return cast(Array, self.fit(X, key=key).labels_)

    def transform(self, X: ArrayLike) -> Array:
        """Distances from each row to each centre, ``(n, n_clusters)``."""
        return kmeans_transform(self._checked(X), self._centers())

    def score(self, X: ArrayLike, y: Any = None) -> Array:
        """Minus the inertia of ``X`` with the fitted centres (higher is better, as
        scikit-learn's)."""
        return -_inertia(self._checked(X), self._centers())
