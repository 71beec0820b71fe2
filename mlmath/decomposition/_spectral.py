"""Spectral methods on a graph of the data: affinities, the normalised Laplacian's
eigenvectors as an embedding, and spectral clustering (k-means in that embedding)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from mlmath._jit import jit
from mlmath._validation import as_float
from mlmath.decomposition._svd import _check_matrix, _row_signs
from mlmath.mixture import kmeans

SPECTRAL_AFFINITIES = ("rbf", "nearest_neighbors")


def _pairwise_squared_distances(X: Array) -> Array:
    """``|x_i - x_j|^2`` for every pair of rows, from exact differences of centred rows."""
    centred = X - jnp.mean(X, axis=0)
    squared = jnp.sum(centred ** 2, axis=1)
    distances = squared[:, None] + squared[None, :] - 2.0 * centred @ centred.T
    return jnp.maximum(distances, 0.0).at[jnp.diag_indices(X.shape[0])].set(0.0)


@jit
def rbf_affinity(X: ArrayLike, gamma: ArrayLike = 1.0) -> Array:
    r"""The Gaussian (RBF) kernel matrix ``(n, n)`` of the rows of ``X (n, d)``:
    :math:`A_{ij} = \exp(-\gamma \lVert x_i - x_j\rVert^2)` (scikit-learn's
    ``rbf_kernel``). A negative ``gamma`` gives NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import rbf_affinity
        >>> round(float(rbf_affinity(jnp.array([[0.0], [1.0]]), gamma=0.5)[0, 1]), 4)
        0.6065
    """
    X = as_float(X, "X")
    _check_matrix(X, "rbf_affinity", "X")
    gamma = jnp.asarray(gamma, X.dtype)
    affinity = jnp.exp(-gamma * _pairwise_squared_distances(X))
    return jnp.where(gamma < 0, jnp.nan, affinity)


@jit(static_argnames=("n_neighbors",))
def nearest_neighbors_affinity(X: ArrayLike, n_neighbors: int = 10) -> Array:
    r"""The symmetrised ``n_neighbors``-nearest-neighbour graph ``(n, n)`` of the rows of
    ``X (n, d)``: :math:`A = \tfrac12 (K + K^\top)` with :math:`K_{ij} = 1` when
    :math:`x_j` is among the ``n_neighbors`` nearest rows to :math:`x_i` (itself included),
    scikit-learn's ``SpectralClustering(affinity="nearest_neighbors")`` graph. Ties are
    broken towards the lower index.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import nearest_neighbors_affinity
        >>> nearest_neighbors_affinity(jnp.array([[0.0], [1.0], [5.0]]), 2).tolist()
        [[1.0, 1.0, 0.0], [1.0, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    X = as_float(X, "X")
    _check_matrix(X, "nearest_neighbors_affinity", "X")
    n = X.shape[0]
    if not isinstance(n_neighbors, int) or isinstance(n_neighbors, bool) or \
            not 1 <= n_neighbors <= n:
        raise ValueError(f"nearest_neighbors_affinity: n_neighbors must be an int in [1, "
                         f"n_samples={n}], got {n_neighbors!r}")
    _, nearest = jax.lax.top_k(-_pairwise_squared_distances(X), n_neighbors)
    graph = jnp.zeros((n, n), X.dtype).at[jnp.arange(n)[:, None], nearest].set(1.0)
    graph = 0.5 * (graph + graph.T)
    return jnp.where(jnp.all(jnp.isfinite(X)), graph, jnp.nan)


@jit(static_argnames=("n_components", "drop_first"))
def spectral_embedding(affinity: ArrayLike, n_components: int, *,
                       drop_first: bool = True) -> Array:
    r"""The spectral embedding ``(n, n_components)`` of a graph with symmetric, non-negative
    ``affinity (n, n)``: eigenvectors of its normalised Laplacian
    :math:`L = I - D^{-1/2} A D^{-1/2}` (:math:`D` the degrees) for the smallest
    eigenvalues, each divided by :math:`\sqrt{D}` (scikit-learn's ``spectral_embedding``
    with ``norm_laplacian=True``). The diagonal (a node's affinity with itself) is not an
    edge and is ignored.

    The first eigenvector (eigenvalue 0, constant after the division on a connected graph)
    carries no information and is dropped when ``drop_first``. A graph of ``c`` connected
    components has ``c`` zero eigenvalues whose eigenvectors are constant on each
    component: the embedding separates the components. Each vector's entry of largest
    magnitude is positive. A negative affinity or a NaN gives NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import spectral_embedding
        >>> two_pairs = jnp.array([[0.0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]])
        >>> embedding = spectral_embedding(two_pairs, 2, drop_first=False)
        >>> bool(jnp.allclose(embedding[0], embedding[1]) & ~jnp.allclose(embedding[0],
        ...                                                              embedding[2]))
        True
    """
    affinity = as_float(affinity, "affinity")
    _check_matrix(affinity, "spectral_embedding", "affinity")
    n = affinity.shape[0]
    if affinity.shape != (n, n):
        raise ValueError(f"spectral_embedding: affinity must be square, got {affinity.shape}")
    kept = n_components + int(bool(drop_first))
    if (not isinstance(n_components, int) or isinstance(n_components, bool)
            or n_components < 1 or kept > n):
        raise ValueError(f"spectral_embedding: n_components must be an int >= 1 with "
                         f"n_components{' + 1' if drop_first else ''} <= n={n}, got "
                         f"{n_components!r}")
    # self-affinities are not edges (scipy's normalised Laplacian ignores the diagonal)
    edges = affinity * (1.0 - jnp.eye(n, dtype=affinity.dtype))
    degree = jnp.sum(edges, axis=1)
    root = jnp.sqrt(jnp.where(degree > 0, degree, 1.0))
    normalised = edges / root[:, None] / root[None, :]
    # the largest eigenvalues of D^-1/2 A D^-1/2 are the smallest of L = I - D^-1/2 A D^-1/2
    _, vectors = jnp.linalg.eigh(0.5 * (normalised + normalised.T))
    vectors = vectors[:, ::-1][:, :kept].T / root
    vectors = vectors * _row_signs(vectors)[:, None]
    invalid = jnp.any(affinity < 0) | ~jnp.all(jnp.isfinite(affinity))
    return jnp.where(invalid, jnp.nan, vectors[kept - n_components:].T)


@jit(static_argnames=("n_clusters", "n_init"))
def spectral_clustering(key: Array, affinity: ArrayLike, n_clusters: int, *,
                        n_init: int = 10) -> Array:
    r"""Cluster labels ``(n,)`` of the nodes of a graph by spectral clustering (Ng, Jordan
    and Weiss 2001; von Luxburg 2007): :func:`spectral_embedding` into ``n_clusters``
    dimensions (the first eigenvector kept), then k-means (``n_init`` k-means++ starts) in
    the embedding. Clusters are what the graph connects, not convex blobs: two interleaved
    half moons are separated where k-means on the raw points cannot be.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.decomposition import spectral_clustering
        >>> two_pairs = jnp.array([[0.0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]])
        >>> labels = spectral_clustering(jax.random.key(0), two_pairs, 2)
        >>> bool(labels[0] == labels[1]) and bool(labels[2] == labels[3] != labels[0])
        True
    """
    embedding = spectral_embedding(affinity, n_clusters, drop_first=False)
    return kmeans(key, embedding, n_clusters, n_init=n_init).labels
