"""Latent-variable models fitted by EM: Gaussian mixtures and k-means.

Pure functions (``e_step``, ``m_step``, ``em_step``, ``lower_bound``,
``fit_gaussian_mixture``; ``kmeans_plusplus``, ``lloyd``, ``kmeans``) and the estimators
built on them (:class:`GaussianMixture`, :class:`KMeans`).
"""

from mlmath.mixture._estimators import GaussianMixture, KMeans
from mlmath.mixture._gaussian import (
    COVARIANCE_TYPES,
    GAUSSIAN_MIXTURE_INITS,
    GaussianMixtureFit,
    GaussianMixtureParams,
    GaussianMixturePrior,
    component_log_prob,
    covariance_shape,
    covariances_from_precisions_cholesky,
    e_step,
    em_step,
    fit_gaussian_mixture,
    gaussian_log_density,
    log_prior,
    lower_bound,
    m_step,
    precisions_cholesky_from_covariances,
    precisions_cholesky_from_precisions,
    sample_gaussian_components,
    sample_gaussian_mixture,
)
from mlmath.mixture._kmeans import (
    KMEANS_INITS,
    KMeansFit,
    kmeans,
    kmeans_plusplus,
    kmeans_predict,
    kmeans_transform,
    lloyd,
)

__all__ = [
    "COVARIANCE_TYPES",
    "GAUSSIAN_MIXTURE_INITS",
    "KMEANS_INITS",
    "GaussianMixture",
    "GaussianMixtureFit",
    "GaussianMixtureParams",
    "GaussianMixturePrior",
    "KMeans",
    "KMeansFit",
    "component_log_prob",
    "covariance_shape",
    "covariances_from_precisions_cholesky",
    "e_step",
    "em_step",
    "fit_gaussian_mixture",
    "gaussian_log_density",
    "kmeans",
    "kmeans_plusplus",
    "kmeans_predict",
    "kmeans_transform",
    "lloyd",
    "log_prior",
    "lower_bound",
    "m_step",
    "precisions_cholesky_from_covariances",
    "precisions_cholesky_from_precisions",
    "sample_gaussian_components",
    "sample_gaussian_mixture",
]
