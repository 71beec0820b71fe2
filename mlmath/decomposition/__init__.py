"""Linear algebra of learning: the SVD and what it gives (truncated and randomized SVD, the
best low-rank approximation, the pseudoinverse), power iteration, covariance, principal
component analysis and spectral methods on graphs.

Pure functions (``svd_flip``, ``truncated_svd``, ``randomized_svd``,
``low_rank_approximation``, ``pinv``, ``power_iteration``, ``covariance``; ``pca`` and its
transforms; ``rbf_affinity``, ``nearest_neighbors_affinity``, ``spectral_embedding``,
``spectral_clustering``) and the estimators built on them (:class:`PCA`,
:class:`TruncatedSVD`, :class:`SpectralClustering`).
"""

from mlmath.decomposition._estimators import (
    PCA,
    TRUNCATED_SVD_ALGORITHMS,
    SpectralClustering,
    TruncatedSVD,
)
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
    spectral_embedding,
)
from mlmath.decomposition._svd import (
    SVD,
    PowerIteration,
    covariance,
    low_rank_approximation,
    pinv,
    power_iteration,
    randomized_svd,
    svd_explained_variance,
    svd_flip,
    truncated_svd,
)

__all__ = [
    "PCA",
    "PCA_SOLVERS",
    "SPECTRAL_AFFINITIES",
    "SVD",
    "TRUNCATED_SVD_ALGORITHMS",
    "PCAFit",
    "PowerIteration",
    "SpectralClustering",
    "TruncatedSVD",
    "components_for_variance",
    "covariance",
    "low_rank_approximation",
    "nearest_neighbors_affinity",
    "pca",
    "pca_covariance",
    "pca_inverse_transform",
    "pca_log_likelihood",
    "pca_transform",
    "pinv",
    "power_iteration",
    "randomized_svd",
    "rbf_affinity",
    "resolve_pca_solver",
    "spectral_clustering",
    "spectral_embedding",
    "svd_explained_variance",
    "svd_flip",
    "truncate_pca",
    "truncated_svd",
]
