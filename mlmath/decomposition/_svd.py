"""The singular value decomposition and what is built on it, as pure jitted functions.

Every factorization here has deterministic signs: each right singular vector (a row of
``vt``, a principal axis) has its entry of largest magnitude positive, and the matching
left singular vector is flipped with it (scikit-learn's ``svd_flip`` with
``u_based_decision=False``, the rule its ``PCA`` and ``TruncatedSVD`` use). Results are
then reproducible across backends and directly comparable with scikit-learn's.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from mlmath._jit import jit
from mlmath._linalg import sum_over_row_blocks
from mlmath._validation import as_float


class SVD(NamedTuple):
    """A (thin or truncated) singular value decomposition ``M ≈ u @ diag(s) @ vt``:
    ``u (n, k)`` with orthonormal columns, ``s (k,)`` in decreasing order, ``vt (k, d)``
    with orthonormal rows."""

    u: Array
    s: Array
    vt: Array


class PowerIteration(NamedTuple):
    """The dominant eigenpair found by :func:`power_iteration`: ``eigenvalue``,
    ``eigenvector (n,)`` (unit norm, entry of largest magnitude positive), ``n_iter`` (matrix
    products taken) and ``converged`` (whether the residual reached the tolerance)."""

    eigenvalue: Array
    eigenvector: Array
    n_iter: Array
    converged: Array


def _check_matrix(M: Array, owner: str, name: str = "M") -> None:
    if M.ndim != 2:
        raise ValueError(f"{owner}: {name} must be a matrix (2-D), got shape {M.shape}")


def _check_rank(k: int, M: Array, owner: str) -> None:
    largest = min(M.shape)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= largest:
        raise ValueError(f"{owner}: k must be an int in [1, min(M.shape)={largest}], got {k!r}")


def _row_signs(vt: Array) -> Array:
    """``+1`` or ``-1`` per row of ``vt (..., k, d)``: the sign of the row's entry of largest
    magnitude (``+1`` for a zero row). Multiplying each row by its sign makes that entry
    positive: the sign convention of every factorization in :mod:`mlmath.decomposition`."""
    largest = jnp.take_along_axis(vt, jnp.argmax(jnp.abs(vt), axis=-1)[..., None], axis=-1)
    return jnp.where(largest[..., 0] < 0, -1.0, 1.0).astype(vt.dtype)


@jit
def svd_flip(u: ArrayLike, vt: ArrayLike) -> tuple[Array, Array]:
    """``(u, vt)`` with signs made deterministic: each row of ``vt (k, d)`` multiplied by
    the sign of its entry of largest magnitude, and the matching column of ``u (n, k)`` by
    the same sign, so ``u @ diag(s) @ vt`` is unchanged (scikit-learn's
    ``svd_flip(u, vt, u_based_decision=False)``).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import svd_flip
        >>> u, vt = svd_flip(jnp.array([[1.0, 2.0], [3.0, 4.0]]),
        ...                  jnp.array([[0.5, -1.0], [1.0, 0.5]]))
        >>> vt.tolist(), u.tolist()
        ([[-0.5, 1.0], [1.0, 0.5]], [[-1.0, 2.0], [-3.0, 4.0]])
    """
    u = as_float(u, "u")
    vt = as_float(vt, "vt", u.dtype)
    if u.shape[-1] != vt.shape[-2]:
        raise ValueError(f"svd_flip: u {u.shape} has {u.shape[-1]} columns but vt {vt.shape} "
                         f"has {vt.shape[-2]} rows")
    signs = _row_signs(vt)
    return u * signs[..., None, :], vt * signs[..., :, None]


def _flipped(u: Array, s: Array, vt: Array) -> SVD:
    u, vt = svd_flip(u, vt)
    return SVD(u, s, vt)


@jit(static_argnames=("k",))
def truncated_svd(M: ArrayLike, k: int) -> SVD:
    r"""The ``k`` largest singular triplets of ``M (n, d)``, exactly (from the thin SVD).

    :math:`M_k = U_k \operatorname{diag}(s_k) V_k^\top` is the best rank-``k``
    approximation of ``M`` (see :func:`low_rank_approximation`). Signs follow
    :func:`svd_flip`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import truncated_svd
        >>> svd = truncated_svd(jnp.diag(jnp.array([1.0, 3.0, 2.0])), 2)
        >>> svd.s.tolist(), svd.vt.tolist()
        ([3.0, 2.0], [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    """
    M = as_float(M, "M")
    _check_matrix(M, "truncated_svd")
    _check_rank(k, M, "truncated_svd")
    u, s, vt = jnp.linalg.svd(M, full_matrices=False)
    return _flipped(u[:, :k], s[:k], vt[:k])


@jit
def svd_explained_variance(X: ArrayLike, svd: SVD) -> tuple[Array, Array]:
    r"""The variance of each score and its fraction of the total variance, for the truncated
    SVD ``svd`` of the (uncentred) ``X (n, d)``: ``(variances (k,), ratios (k,))``.

    The scores are :math:`X v_i = s_i u_i`; their variances (``ddof=0``) are
    :math:`\operatorname{var}(s_i u_i)` and the ratios divide them by
    :math:`\sum_j \operatorname{var}(x_{\cdot j})`, the total variance of the features
    (scikit-learn's ``TruncatedSVD.explained_variance_`` and ``_ratio_``).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import svd_explained_variance, truncated_svd
        >>> X = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [0.0, -0.5]])
        >>> variances, ratios = svd_explained_variance(X, truncated_svd(X, 1))
        >>> round(float(variances[0]), 4), round(float(ratios[0]), 4)
        (0.5, 0.8)
    """
    X = as_float(X, "X")
    _check_matrix(X, "svd_explained_variance", "X")
    if svd.u.shape[0] != X.shape[0] or svd.vt.shape[1] != X.shape[1]:
        raise ValueError(f"svd_explained_variance: svd of a {svd.u.shape[0]} x "
                         f"{svd.vt.shape[1]} matrix does not match X {X.shape}")
    variances = jnp.var(svd.u * svd.s, axis=0)
    return variances, variances / jnp.sum(jnp.var(X, axis=0))


def _orthonormal_columns(A: Array) -> Array:
    return jnp.linalg.qr(A)[0]


@jit(static_argnames=("k", "n_oversamples", "n_iter"))
def randomized_svd(key: Array, M: ArrayLike, k: int, *, n_oversamples: int = 10,
                   n_iter: int = 4) -> SVD:
    r"""The ``k`` largest singular triplets of ``M (n, d)``, approximately, by random
    projection (Halko, Martinsson and Tropp 2011, algorithms 4.4 and 5.1).

    A Gaussian test matrix :math:`\Omega` of ``k + n_oversamples`` columns gives a basis
    :math:`Q` of the range of :math:`M\Omega`; ``n_iter`` power iterations
    :math:`Q \leftarrow \operatorname{orth}(M\,\operatorname{orth}(M^\top Q))`, each
    product re-orthonormalised by QR so that no direction underflows, sharpen it towards
    the dominant singular subspace (the error of the subspace shrinks like
    :math:`(s_{k+p+1}/s_k)^{2q+1}`). The SVD of the small matrix :math:`Q^\top M` then gives
    the triplets. Costs ``2 (n_iter + 1)`` products of ``M`` with a thin matrix instead of a
    full SVD. Signs follow :func:`svd_flip`; the same key gives the same result.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.decomposition import randomized_svd
        >>> M = jnp.outer(jnp.arange(1.0, 6.0), jnp.ones(4))   # rank one
        >>> svd = randomized_svd(jax.random.key(0), M, 1)
        >>> round(float(svd.s[0]), 3), round(float(jnp.linalg.norm(M)), 3)
        (14.832, 14.832)
    """
    M = as_float(M, "M")
    _check_matrix(M, "randomized_svd")
    _check_rank(k, M, "randomized_svd")
    for name, value, low in (("n_oversamples", n_oversamples, 0), ("n_iter", n_iter, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"randomized_svd: {name} must be an int >= {low}, got {value!r}")
    width = min(k + n_oversamples, min(M.shape))
    basis = _orthonormal_columns(M @ jax.random.normal(key, (M.shape[1], width), M.dtype))

    def power(_, basis):
        return _orthonormal_columns(M @ _orthonormal_columns(M.T @ basis))

    basis = jax.lax.fori_loop(0, n_iter, power, basis)
    u_small, s, vt = jnp.linalg.svd(basis.T @ M, full_matrices=False)
    return _flipped((basis @ u_small)[:, :k], s[:k], vt[:k])


@jit(static_argnames=("k",))
def low_rank_approximation(M: ArrayLike, k: int) -> Array:
    r"""The best rank-``k`` approximation of ``M (n, d)`` in the Frobenius and spectral
    norms: :math:`M_k = \sum_{i \le k} s_i u_i v_i^\top`.

    By the Eckart–Young theorem no matrix of rank ``k`` is closer, and the error is what
    the discarded singular values hold: :math:`\lVert M - M_k\rVert_F^2 = \sum_{i>k} s_i^2`
    and :math:`\lVert M - M_k\rVert_2 = s_{k+1}`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import low_rank_approximation
        >>> low_rank_approximation(jnp.diag(jnp.array([3.0, 1.0])), 1).tolist()
        [[3.0, 0.0], [0.0, 0.0]]
    """
    svd = truncated_svd(M, k)
    return (svd.u * svd.s) @ svd.vt


@jit
def pinv(M: ArrayLike, rtol: ArrayLike | None = None) -> Array:
    r"""The Moore–Penrose pseudoinverse of ``M (n, d)``, ``(d, n)``, from its SVD.

    :math:`M^+ = V \operatorname{diag}(1/s_i) U^\top` over the singular values
    :math:`s_i > \text{rtol} \cdot s_1`; smaller ones are treated as exact zeros (their
    directions are dropped instead of amplified by :math:`1/s_i`). The default ``rtol`` is
    ``max(n, d)`` times the machine epsilon of the dtype (the array API's default; give
    ``rtol=1e-15`` for ``numpy.linalg.pinv``'s). :math:`x = M^+ b` is the least-squares
    solution of :math:`Mx = b` of least norm. A NaN in ``M`` gives NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import pinv
        >>> bool(jnp.allclose(pinv(jnp.array([[1.0, 1.0], [1.0, 1.0]])), 0.25))   # rank one
        True
    """
    M = as_float(M, "M")
    _check_matrix(M, "pinv")
    if rtol is None:
        rtol = max(M.shape) * jnp.finfo(M.dtype).eps
    u, s, vt = jnp.linalg.svd(M, full_matrices=False)
    cutoff = jnp.asarray(rtol, M.dtype) * jnp.max(s, initial=0.0)
    kept = s > cutoff
    inverse = jnp.where(kept, 1.0 / jnp.where(kept, s, 1.0), 0.0)
    result = (vt.T * inverse) @ u.T
    invalid = ~jnp.all(jnp.isfinite(M)) | (jnp.asarray(rtol) < 0) | jnp.isnan(rtol)
    return jnp.where(invalid, jnp.nan, result)


@jit(static_argnames=("num_iters",))
def power_iteration(A: ArrayLike, key: Array, *, num_iters: int = 1000,
                    tol: ArrayLike = 1e-5) -> PowerIteration:
    r"""The eigenvalue of largest magnitude of a square ``A (n, n)`` and its eigenvector, by
    power iteration.

    From a random unit vector, repeats :math:`v \leftarrow Av / \lVert Av\rVert` and takes
    the Rayleigh quotient :math:`\lambda = v^\top A v`, until the relative residual
    :math:`\lVert Av - \lambda v\rVert \le \text{tol}\,|\lambda|` or ``num_iters`` products
    (one a step). The error shrinks like :math:`|\lambda_2/\lambda_1|^t`; a dominant
    eigenvalue that is not unique in magnitude (``-1`` and ``1``, a complex pair) never
    meets the tolerance and gives ``converged=False``. A zero matrix gives eigenvalue 0 and
    converges at once. The eigenvector's entry of largest magnitude is positive.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.decomposition import power_iteration
        >>> A = jnp.array([[2.0, 1.0], [1.0, 2.0]])
        >>> result = power_iteration(A, jax.random.key(0))
        >>> round(float(result.eigenvalue), 4), bool(result.converged)
        (3.0, True)
    """
    A = as_float(A, "A")
    _check_matrix(A, "power_iteration", "A")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"power_iteration: A must be square, got shape {A.shape}")
    if not isinstance(num_iters, int) or isinstance(num_iters, bool) or num_iters < 1:
        raise ValueError(f"power_iteration: num_iters must be an int >= 1, got {num_iters!r}")
    tol = jnp.asarray(tol, A.dtype)

    def normalized(w):
        norm = jnp.linalg.norm(w)
        return jnp.where(norm > 0, w / jnp.where(norm > 0, norm, 1.0), w), norm > 0

    def measure(v):
        w = A @ v
        eigenvalue = v @ w
        residual = jnp.linalg.norm(w - eigenvalue * v)
        return w, eigenvalue, residual <= tol * jnp.abs(eigenvalue)

    start = jax.random.normal(key, (A.shape[0],), A.dtype)
    v = start / jnp.linalg.norm(start)
    w, eigenvalue, done = measure(v)

    def continuing(state):
        _, _, _, i, done, nonzero = state
        return (i < num_iters) & ~done & nonzero

    def step(state):
        _, w, _, i, _, _ = state
        v, nonzero = normalized(w)
        w, eigenvalue, done = measure(v)
        return v, w, eigenvalue, i + 1, done, nonzero

    nonzero = jnp.linalg.norm(w) > 0
    state = (v, w, eigenvalue, jnp.ones((), jnp.int32), done, nonzero)
    v, w, eigenvalue, n_iter, done, nonzero = jax.lax.while_loop(continuing, step, state)
    converged = (done | ~nonzero) & jnp.all(jnp.isfinite(A)) & (tol >= 0)
    eigenvalue = jnp.where(nonzero, eigenvalue, 0.0)
    return PowerIteration(eigenvalue, v * _row_signs(v[None])[0], n_iter, converged)


def _weighted_moments(X: Array, weights: Array) -> tuple[Array, Array, Array]:
    """``(mean, scatter, total weight)``: the weighted mean of the rows of ``X (n, d)`` and
    :math:`\\sum_i w_i (x_i - \\mu)(x_i - \\mu)^\\top`, in two passes.

    The first pass gives a provisional mean; the second, over blocks of rows that stay in
    cache (no centred copy of ``X`` is written), sums the products of the deviations from
    it and the deviations themselves, which correct both the mean and the scatter for the
    first pass's rounding. No :math:`E[xx^\\top] - \\mu\\mu^\\top` cancellation: features
    around 1e4 of unit variance keep their variance in float32."""
    total = jnp.sum(weights)
    provisional = jnp.sum(weights[:, None] * X, axis=0) / total

    def block(rows, w):
        deviations = rows - provisional
        return (deviations * w[:, None]).T @ deviations, w @ deviations

    scatter, offset = sum_over_row_blocks(block, (X,), weights)
    correction = offset / total
    return provisional + correction, scatter - total * jnp.outer(correction, correction), total


@jit
def covariance(X: ArrayLike, weights: ArrayLike | None = None, ddof: ArrayLike = 1) -> Array:
    r"""The (weighted) covariance matrix ``(d, d)`` of the rows of ``X (n, d)``, in two
    passes.

    .. math:: C = \frac{\sum_i w_i (x_i - \bar x)(x_i - \bar x)^\top}
                       {\sum_i w_i - \text{ddof} \sum_i w_i^2 / \sum_i w_i},
              \quad \bar x = \frac{\sum_i w_i x_i}{\sum_i w_i}

    ``numpy.cov(X, rowvar=False, aweights=weights, ddof=ddof)``; without weights the
    denominator is ``n - ddof`` (``ddof=1``: the unbiased estimate, ``ddof=0``: the maximum
    likelihood one). The mean is subtracted before any product (the deviations from a first
    pass's mean, corrected by their own mean; never :math:`E[xx^\top] - \bar x\bar x^\top`,
    which loses every digit of a variance small beside the squared mean), in blocks of rows
    that stay in cache. Negative weights, a non-positive denominator or a NaN give NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.decomposition import covariance
        >>> covariance(jnp.array([[1e4, 0.0], [1e4 + 1.0, 1.0], [1e4 + 2.0, 2.0]])).tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    X = as_float(X, "X")
    _check_matrix(X, "covariance", "X")
    if weights is None:
        weights = jnp.ones(X.shape[0], X.dtype)
    else:
        weights = as_float(weights, "weights", X.dtype)
        if weights.shape != (X.shape[0],):
            raise ValueError(f"covariance: weights must have shape ({X.shape[0]},) to match X "
                             f"{X.shape}, got {weights.shape}")
    _, scatter, total = _weighted_moments(X, weights)
    denominator = total - jnp.asarray(ddof, X.dtype) * jnp.sum(weights ** 2) / total
    invalid = jnp.any(weights < 0) | ~(denominator > 0)
    return jnp.where(invalid, jnp.nan, scatter / jnp.where(invalid, 1.0, denominator))
