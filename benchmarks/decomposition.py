"""PCA and truncated SVD against scikit-learn, float32, on a tall matrix.

The data: a rank-32 signal plus noise with a common offset, ``n x 256`` (100,000 rows at the
default size), 16 components kept. The estimators are timed as users call them
(``PCA(16).fit(X)``: input checks included, on both sides):

* ``pca_fit``, the default solver on both sides (scikit-learn's ``auto`` picks
  ``covariance_eigh`` for tall data, as mlmath's does), then ``full`` against ``full`` and
  ``randomized`` against ``randomized`` (the same number of power iterations, scikit-learn's
  ``auto`` rule: 7 for 16 of 256 components), and the default against the roofline of the
  one product it cannot avoid: the jitted ``X^T X`` alone.
* ``truncated_svd_fit``: ``TruncatedSVD(16)`` (randomized, 5 power iterations) on both sides.

Checked: the explained variances agree with scikit-learn's to 1e-3 and the components'
subspace to 1e-2 (float32, randomized solvers included).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sklearn import decomposition as sk_decomposition

from benchmarks._harness import Case
from mlmath import PCA, TruncatedSVD

_SIZES = {"tiny": (2_000, 32, 4, 8), "small": (100_000, 256, 16, 32),
          "medium": (400_000, 512, 32, 64), "large": (1_000_000, 1024, 64, 128)}


def _data(rng, n, d, rank):
    scales = np.geomspace(10.0, 1.0, rank)
    signal = (rng.standard_normal((n, rank)) * scales) @ rng.standard_normal((rank, d)) / 4
    return (signal + rng.standard_normal((n, d)) + 5.0).astype(np.float32)


def _relative(ours, theirs):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300))


def _subspace_error(ours, theirs):
    """The sine of the largest principal angle between two row spaces of orthonormal rows."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    cosines = np.linalg.svd(ours @ theirs.T, compute_uv=False)
    return float(np.sqrt(max(0.0, 1.0 - np.min(cosines) ** 2)))


def _check(variance_name):
    def check(ours, theirs):
        variances = getattr(theirs, variance_name)
        error = _relative(getattr(ours, variance_name), variances)
        if not error < 1e-3:
            raise AssertionError(f"{variance_name} differs from scikit-learn's by {error:.1e}")
        angle = _subspace_error(ours.components_, theirs.components_)
        if not angle < 1e-2:
            raise AssertionError(f"the components' subspace differs by sin = {angle:.1e}")
        return f"variances within {error:.0e}, subspace angle {angle:.0e}"

    return check


def pca_cases(size: str, rng: np.random.Generator) -> list[Case]:
    n, d, k, rank = _SIZES[size]
    X = _data(rng, n, d, rank)
    label = f"{n}x{d} f32, {k} components"
    check = _check("explained_variance_")
    key = jax.random.key(0)

    def ours(solver):
        return lambda X: PCA(k, svd_solver=solver).fit(X, key=key)

    def theirs(solver):
        return lambda X: sk_decomposition.PCA(k, svd_solver=solver, random_state=0).fit(X)

    gram = jax.jit(lambda X: X.T @ X)
    cases = [
        Case("pca_fit", label, ours("auto"), (X,), "sklearn PCA (auto: covariance_eigh)",
             theirs("auto"), (X,), check=check, jit=False,
             notes="the default solvers; one pass of row blocks, centred in cache"),
        Case("pca_fit", label, ours("auto"), (X,), "the X^T X product alone (jit)", gram,
             (jnp.asarray(X),), jit=False, notes="roofline: the one product PCA needs"),
        Case("pca_fit", label + ", full", ours("full"), (X,), "sklearn PCA full",
             theirs("full"), (X,), check=check, jit=False),
        Case("pca_fit", label + ", randomized", ours("randomized"), (X,),
             "sklearn PCA randomized", theirs("randomized"), (X,), check=check, jit=False,
             notes="7 power iterations on both sides"),
    ]
    return cases


def truncated_svd_cases(size: str, rng: np.random.Generator) -> list[Case]:
    n, d, k, rank = _SIZES[size]
    X = _data(rng, n, d, rank)
    key = jax.random.key(0)
    return [Case("truncated_svd_fit", f"{n}x{d} f32, {k} components",
                 lambda X: TruncatedSVD(k).fit(X, key=key), (X,),
                 "sklearn TruncatedSVD (randomized)",
                 lambda X: sk_decomposition.TruncatedSVD(k, random_state=0).fit(X), (X,),
                 check=_check("singular_values_"), jit=False,
                 notes="5 power iterations on both sides")]
