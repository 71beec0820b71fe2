"""k-means as hard EM: k-means++ seeding and Lloyd's algorithm, as pure jitted functions.

Lloyd's algorithm alternates a hard E-step (each point to its nearest centre) and an
M-step (each centre to the weighted mean of its points): the limit of EM for a mixture of
Gaussians with one shared spherical covariance shrinking to zero. The stopping rule is
scikit-learn's: stop when no label changes ("strict convergence") or when the squared
distance all centres moved in one step is at most ``tol`` times the mean variance of the
features. A cluster left without points is re-seeded at the point farthest from its
centre (the farthest first, one point per empty cluster), never left as NaN.

Distances are computed as ``|x|^2 - 2 x.c + |c|^2`` (one matrix product) on data centred
at their mean, so that a large common offset (features around 1e4 in float32) costs no
accuracy; the inertia is summed from exact differences.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from mlmath._jit import jit
from mlmath._linalg import weighted_centre
from mlmath._validation import as_float

KMEANS_INITS = ("k-means++", "random")


class KMeansFit(NamedTuple):
    """A fitted k-means: ``centers (K, d)``, ``labels (n,)`` (each point's nearest centre),
    ``inertia`` (the weighted sum of squared distances to it), ``n_iter`` (Lloyd steps
    taken) and ``converged`` (whether the stopping rule was met within ``max_iter``)."""

    centers: Array
    labels: Array
    inertia: Array
    n_iter: Array
    converged: Array


def _check_data(X: Array, n_clusters: int, owner: str) -> None:
    if X.ndim != 2:
        raise ValueError(f"{owner}: X must have shape (n_samples, n_features), got {X.shape}")
    if not isinstance(n_clusters, int) or n_clusters < 1:
        raise ValueError(f"{owner}: n_clusters must be an int >= 1, got {n_clusters!r}")
    if X.shape[0] < n_clusters:
        raise ValueError(
            f"{owner}: X has {X.shape[0]} samples, fewer than n_clusters={n_clusters}"
        )


def _weights_or_ones(sample_weight: ArrayLike | None, X: Array, owner: str) -> Array:
    if sample_weight is None:
        return jnp.ones(X.shape[0], X.dtype)
    weights = as_float(sample_weight, "sample_weight", X.dtype)
    if weights.shape != (X.shape[0],):
        raise ValueError(
            f"{owner}: sample_weight must have shape ({X.shape[0]},), got {weights.shape}"
        )
    return weights


def squared_distances(X: Array, centers: Array) -> Array:
    """Squared Euclidean distances ``(n, K)`` between rows of ``X (n, d)`` and ``centers
    (K, d)`` as one matrix product, clipped at 0 (for data centred near their mean)."""
    cross = X @ centers.T
    return jnp.maximum(
        jnp.sum(X * X, axis=1)[:, None] - 2.0 * cross + jnp.sum(centers * centers, axis=1), 0.0)


def _inverse_cdf(cumulative: Array, uniforms: Array) -> Array:
    """Indices drawn from the weights whose running sum is ``cumulative``, one for each
    uniform draw: the first index whose running sum exceeds ``u`` times the total (a count
    of smaller sums; for a handful of draws this compiles to far less than a binary
    search)."""
    targets = uniforms * cumulative[-1]
    index = jnp.sum(cumulative[None, :] <= targets[:, None], axis=1)
    return jnp.minimum(index, cumulative.shape[0] - 1).astype(jnp.int32)


def _kmeans_plusplus(key: Array, X: Array, weights: Array, n_clusters: int,
                     n_local_trials: int) -> tuple[Array, Array]:
    # every uniform draw at once: one call of the random-bit generator, which compiles to
    # many operations, instead of one a centre
    draws = jax.random.uniform(key, (n_clusters, n_local_trials), X.dtype)
    first = _inverse_cdf(jnp.cumsum(weights), draws[0, :1])[0]
    closest = jnp.sum((X - X[first]) ** 2, axis=1)
    indices = jnp.zeros(n_clusters, jnp.int32).at[0].set(first)

    def add_center(c, state):
        indices, closest = state
        candidates = _inverse_cdf(jnp.cumsum(weights * closest), draws[c])
        to_candidates = jnp.minimum(closest[None, :],
                                    squared_distances(X[candidates], X))  # (trials, n)
        best = jnp.argmin(to_candidates @ weights)
        return indices.at[c].set(candidates[best]), to_candidates[best]

    indices, _ = jax.lax.fori_loop(1, n_clusters, add_center, (indices, closest))
    return X[indices], indices


@jit(static_argnames=("n_clusters", "n_local_trials"))
def kmeans_plusplus(key: Array, X: ArrayLike, n_clusters: int, *,
                    sample_weight: ArrayLike | None = None,
                    n_local_trials: int | None = None) -> tuple[Array, Array]:
    r"""Greedy k-means++ seeding: ``(centers (K, d), indices (K,))`` of rows of ``X``.

    The first centre is a row drawn with probability proportional to its weight; each next
    one is the best of ``n_local_trials`` rows (default ``2 + floor(log K)``, as
    scikit-learn) drawn with probability proportional to :math:`w_i D(x_i)^2`, the squared
    distance to the nearest centre so far: the candidate that most reduces the total
    :math:`\sum_i w_i D(x_i)^2` is kept (Arthur and Vassilvitskii, 2007).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.mixture import kmeans_plusplus
        >>> X = jnp.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
        >>> centers, indices = kmeans_plusplus(jax.random.key(0), X, 2)
        >>> sorted(int(i) // 2 for i in indices)  # one seed in each pair
        [0, 1]
    """
    X = as_float(X, "X")
    _check_data(X, n_clusters, "kmeans_plusplus")
    weights = _weights_or_ones(sample_weight, X, "kmeans_plusplus")
    trials = 2 + int(math.log(n_clusters)) if n_local_trials is None else n_local_trials
    shift = weighted_centre(X, weights)
    _, indices = _kmeans_plusplus(key, X - shift, weights, n_clusters, trials)
    return X[indices], indices


def _relocate_empty(X, weights, labels, centers, sums, counts):
    """Move each empty cluster onto one of the points farthest from their centres.

    ``sums``/``counts`` are the clusters' weighted sums and weights; the farthest point goes
    to the first empty cluster, the next farthest to the second, and so on; each chosen
    point's weight leaves its own cluster (scikit-learn's rule)."""
    K = centers.shape[0]
    distances = jnp.sum((X - centers[labels]) ** 2, axis=1)
    _, farthest = jax.lax.top_k(distances, K)
    empty = counts <= 0
    rank = jnp.cumsum(empty) - 1
    chosen = farthest[jnp.clip(rank, 0, K - 1)]              # (K,) a point per empty cluster
    weight = jnp.where(empty, weights[chosen], 0.0)          # 0 for clusters that keep theirs
    point = X[chosen] * weight[:, None]
    old = labels[chosen]
    sums = jnp.where(empty[:, None], point, sums).at[old].add(-point)
    counts = jnp.where(empty, weight, counts).at[old].add(-weight)
    return sums, counts


def _lloyd_step(X, weights, centers):
    """One Lloyd step: labels from ``centers``, new centres from the labels."""
    K = centers.shape[0]
    labels = jnp.argmin(squared_distances(X, centers), axis=1).astype(jnp.int32)
    assignment = jax.nn.one_hot(labels, K, dtype=X.dtype) * weights[:, None]
    sums = assignment.T @ X
    counts = jnp.sum(assignment, axis=0)
    sums, counts = jax.lax.cond(jnp.any(counts <= 0), _relocate_empty,
                                lambda X, weights, labels, centers, sums, counts: (sums, counts),
                                X, weights, labels, centers, sums, counts)
    new = jnp.where(counts[:, None] > 0, sums / jnp.where(counts > 0, counts, 1.0)[:, None],
                    centers)
    return labels, new


def _lloyd(X, weights, centers, max_iter, tol):
    """Lloyd's iterations from ``centers`` on centred data, scikit-learn's stopping rule."""
    threshold = jnp.mean(jnp.var(X, axis=0)) * tol  # scikit-learn's: unweighted variances
    n = X.shape[0]

    def continuing(state):
        _, _, i, done, _ = state
        return (i < max_iter) & ~done

    def step(state):
        centers, labels_old, i, _, _ = state
        labels, new = _lloyd_step(X, weights, centers)
        strict = jnp.all(labels == labels_old)
        shift = jnp.sum((new - centers) ** 2)
        converged = strict | (shift <= threshold)
        return new, labels, i + 1, converged, strict

    state = (centers, jnp.full(n, -1, jnp.int32), jnp.zeros((), jnp.int32),
             jnp.zeros((), bool), jnp.zeros((), bool))
    centers, labels, n_iter, converged, _ = jax.lax.while_loop(continuing, step, state)
    # labels that match the final centres (the last step's were of the centres before it)
    labels = jnp.argmin(squared_distances(X, centers), axis=1).astype(jnp.int32)
    inertia = jnp.sum(weights * jnp.sum((X - centers[labels]) ** 2, axis=1))
    valid = jnp.all(jnp.isfinite(centers))
    return KMeansFit(centers, labels, inertia, n_iter, converged & valid)


@jit(static_argnames=("max_iter",))
def lloyd(X: ArrayLike, centers: ArrayLike, *, max_iter: int = 300, tol: ArrayLike = 1e-4,
          sample_weight: ArrayLike | None = None) -> KMeansFit:
    r"""Lloyd's algorithm from given ``centers (K, d)`` on ``X (n, d)``.

    Repeats :math:`z_i = \arg\min_k \lVert x_i - c_k\rVert^2` and
    :math:`c_k = \sum_{z_i = k} w_i x_i / \sum_{z_i = k} w_i` until no label changes or
    :math:`\sum_k \lVert c_k^{new} - c_k\rVert^2 \le` ``tol`` times the mean feature
    variance, at most ``max_iter`` times. Returns a :class:`KMeansFit` whose ``labels``
    and ``inertia`` :math:`\sum_i w_i \lVert x_i - c_{z_i}\rVert^2` are those of the final
    centres. A NaN in ``X`` or ``centers`` gives NaN centres and ``converged`` false.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.mixture import lloyd
        >>> X = jnp.array([[0.0], [1.0], [10.0], [11.0]])
        >>> fit = lloyd(X, jnp.array([[0.0], [1.0]]))
        >>> fit.centers[:, 0].tolist(), fit.labels.tolist(), float(fit.inertia)
        ([0.5, 10.5], [0, 0, 1, 1], 1.0)
    """
    X = as_float(X, "X")
    centers = as_float(centers, "centers", X.dtype)
    if centers.ndim != 2 or X.ndim != 2 or centers.shape[1] != X.shape[1]:
        raise ValueError(
            f"lloyd: centers must have shape (n_clusters, {X.shape[-1]}) to match X of shape "
            f"{X.shape}, got {centers.shape}"
        )
    _check_data(X, centers.shape[0], "lloyd")
    weights = _weights_or_ones(sample_weight, X, "lloyd")
    shift = weighted_centre(X, weights)
    fit = _lloyd(X - shift, weights, centers - shift, max_iter, tol)
    return fit._replace(centers=fit.centers + shift)


def _initial_centers(key, X, weights, n_clusters, init):
    if init == "k-means++":
        return _kmeans_plusplus(key, X, weights, n_clusters, 2 + int(math.log(n_clusters)))[0]
    # "random": distinct rows drawn uniformly, as scikit-learn
    return X[jax.random.permutation(key, X.shape[0])[:n_clusters]]


def _start_keys(key: Array, n_init: int) -> Array:
    """The keys of ``n_init`` starts: ``key`` itself for one start (so that a fit with
    ``n_init=1`` and key ``k`` is the start of key ``k`` in a fit of many), else
    ``jax.random.split(key, n_init)``."""
    return key[None] if n_init == 1 else jax.random.split(key, n_init)


@jit(static_argnames=("n_clusters", "init", "n_init", "max_iter"))
def kmeans(key: Array, X: ArrayLike, n_clusters: int, *, init: str = "k-means++",
           n_init: int = 1, max_iter: int = 300, tol: ArrayLike = 1e-4,
           sample_weight: ArrayLike | None = None) -> KMeansFit:
    r"""k-means: ``n_init`` seedings (``"k-means++"`` or ``"random"`` rows), each refined by
    :func:`lloyd`, all in one ``vmap``; the fit of least inertia is returned.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.mixture import kmeans
        >>> X = jnp.array([[0.0], [1.0], [10.0], [11.0]])
        >>> fit = kmeans(jax.random.key(0), X, 2, n_init=3)
        >>> sorted(fit.centers[:, 0].tolist()), float(fit.inertia)
        ([0.5, 10.5], 1.0)
    """
    X = as_float(X, "X")
    _check_data(X, n_clusters, "kmeans")
    if init not in KMEANS_INITS:
        raise ValueError(f"kmeans: init must be one of {list(KMEANS_INITS)}, got {init!r}")
    if not isinstance(n_init, int) or n_init < 1:
        raise ValueError(f"kmeans: n_init must be an int >= 1, got {n_init!r}")
    weights = _weights_or_ones(sample_weight, X, "kmeans")
    shift = weighted_centre(X, weights)
    centred = X - shift

    def single(key):
        return _lloyd(centred, weights, _initial_centers(key, centred, weights, n_clusters, init),
                      max_iter, tol)

    fits = jax.vmap(single)(_start_keys(key, n_init))
    best = jnp.argmin(jnp.where(jnp.isnan(fits.inertia), jnp.inf, fits.inertia))
    fit = jax.tree_util.tree_map(lambda leaf: leaf[best], fits)
    return fit._replace(centers=fit.centers + shift)


@jit
def kmeans_predict(X: ArrayLike, centers: ArrayLike) -> Array:
    """The index of the nearest centre of each row of ``X (n, d)``: ``(n,)`` int32.

    Distances by exact differences (no cancellation for data far from the origin); a row
    with a NaN distance (a NaN in the row or in a centre) gets the label -1, no centre."""
    X = as_float(X, "X")
    centers = as_float(centers, "centers", X.dtype)
    distances = kmeans_transform(X, centers)
    labels = jnp.argmin(distances, axis=1).astype(jnp.int32)
    return jnp.where(jnp.any(jnp.isnan(distances), axis=1), -1, labels)


@jit
def kmeans_transform(X: ArrayLike, centers: ArrayLike) -> Array:
    """Euclidean distances ``(n, K)`` from each row of ``X`` to each centre, from exact
    differences."""
    X = as_float(X, "X")
    centers = as_float(centers, "centers", X.dtype)
    return jnp.sqrt(jnp.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=-1))


@jit
def _inertia(X: Array, centers: Array) -> Array:
    """The sum of squared distances from each row of ``X`` to its nearest centre."""
    return jnp.sum(jnp.min(kmeans_transform(X, centers), axis=1) ** 2)
