"""Write notebooks/05_linear_algebra.ipynb (unexecuted; the test suite executes it): ``python
tools/make_linear_algebra_notebook.py``. The notebook's text and code live here so that a
change is a reviewable diff of Python, not of JSON."""

from __future__ import annotations

from notebook_writer import write

CELLS: list[tuple[str, str]] = [
    ("markdown", r"""# The linear algebra of learning: PCA, the SVD, low rank and graphs

An eigenvector of a matrix $A$ only changes scale under it: $Av = \lambda v$. A singular
value decomposition $M = U\Sigma V^\top$ generalizes that to any rectangular matrix. Both
keep turning up in machine learning:

* the **principal components** of data are the eigenvectors of its covariance matrix,
  ordered by eigenvalue: the directions of largest variance (`mlmath.PCA`);
* keeping the top $k$ singular values gives the **best rank-$k$ approximation** of a
  matrix (Eckart-Young), the basis of compression and matrix factorization
  (`decomposition.low_rank_approximation`);
* the SVD gives the **pseudoinverse**, the minimum-norm least-squares solution when the
  normal equations are singular (`decomposition.pinv`);
* the **dominant eigenvector** of a link matrix is PageRank (`decomposition.power_iteration`);
* the eigenvectors of a graph's Laplacian separate clusters no straight line can
  (`mlmath.SpectralClustering`)."""),
    ("code", r"""import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from sklearn import datasets

from mlmath import PCA, KMeans, SpectralClustering, decomposition

digits = datasets.load_digits()
X = jnp.asarray(digits.data, jnp.float32)  # 1797 images of 8 x 8 pixels, as rows of 64
X.shape"""),
    ("markdown", r"""## 1. Principal components are eigenvectors of the covariance

`decomposition.covariance` computes the covariance in two passes (the mean first, then the
centred scatter), so a large common offset cannot cancel the variance away in float32.
Its eigenvectors, largest eigenvalue first, are the principal components up to the sign
of each, and its eigenvalues are the explained variances. Below, `PCA` finds them by
another route, the SVD of the centred data (`svd_solver="full"`; for data this shape its
default solver is the covariance's eigendecomposition itself), and fixes the signs
deterministically, as scikit-learn does."""),
    ("code", r"""pca = PCA(n_components=2, svd_solver="full").fit(X)
values, vectors = jnp.linalg.eigh(decomposition.covariance(X))
top = vectors[:, ::-1][:, :2].T                      # the two largest, as rows
signs = jnp.sign(jnp.sum(top * pca.components_, axis=1))
print("largest |component - eigenvector|:",
      float(jnp.max(jnp.abs(signs[:, None] * top - pca.components_))))
print("explained variances:", np.asarray(pca.explained_variance_),
      " eigenvalues:", np.asarray(values[::-1][:2]))
assert jnp.allclose(signs[:, None] * top, pca.components_, atol=1e-4)

Z = pca.transform(X)
plt.figure(figsize=(7, 6))
plt.scatter(Z[:, 0], Z[:, 1], c=digits.target, cmap="tab10", s=6)
plt.colorbar(label="digit")
plt.xlabel("first principal component"); plt.ylabel("second principal component")
plt.title("64 pixels seen along two directions")
plt.show()"""),
    ("markdown", r"""Two directions out of 64 already pull 0, 4, 6 and 3 apart. How many
does it take to keep most of the variance? The explained-variance ratios of the full fit
say; a float `n_components` asks `PCA` to choose the smallest number reaching that
fraction."""),
    ("code", r"""full = PCA().fit(X)
cumulative = np.cumsum(np.asarray(full.explained_variance_ratio_))
plt.plot(np.arange(1, len(cumulative) + 1), cumulative, marker=".")
plt.axhline(0.9, color="0.6", ls="--")
plt.xlabel("number of components"); plt.ylabel("cumulative explained variance")
plt.show()
ninety = PCA(n_components=0.9).fit(X)
print(ninety.n_components_, "components keep", f"{cumulative[ninety.n_components_ - 1]:.1%}",
      "of the variance")
assert cumulative[ninety.n_components_ - 1] >= 0.9 > cumulative[ninety.n_components_ - 2]"""),
    ("markdown", r"""## 2. The best rank-$k$ approximation: compressing an image

Treat a grayscale photograph as a matrix and keep its $k$ largest singular values:
$M_k = U_k\Sigma_kV_k^\top$ needs $k(m + n + 1)$ numbers instead of $mn$. No rank-$k$ matrix
is closer to $M$, and the error is known in advance from the discarded singular values:
$\lVert M - M_k\rVert_F = \sqrt{\sum_{i>k}\sigma_i^2}$ (Eckart-Young)."""),
    ("code", r"""image = datasets.load_sample_image("china.jpg").mean(axis=2)[::2, ::2] / 255.0
M = jnp.asarray(image, jnp.float32)
s = decomposition.truncated_svd(M, min(M.shape)).s
ranks = (5, 20, 60)
fig, axes = plt.subplots(1, len(ranks) + 1, figsize=(16, 3.6))
axes[0].imshow(M, cmap="gray"); axes[0].set_title(f"original, {M.shape[0]} x {M.shape[1]}")
for ax, k in zip(axes[1:], ranks):
    Mk = decomposition.low_rank_approximation(M, k)
    error = float(jnp.linalg.norm(M - Mk) / jnp.linalg.norm(M))
    predicted = float(jnp.sqrt(jnp.sum(s[k:] ** 2)) / jnp.linalg.norm(M))
    assert abs(error - predicted) < 1e-3
    ax.imshow(jnp.clip(Mk, 0, 1), cmap="gray")
    ax.set_title(f"rank {k}: {k * (sum(M.shape) + 1) / M.size:.0%} of the numbers,\n"
                 f"error {error:.1%} (Eckart-Young: {predicted:.1%})")
for ax in axes:
    ax.axis("off")
plt.show()"""),
    ("markdown", r"""## 3. The pseudoinverse: least squares when the normal equations are singular

A design matrix with a repeated column has a singular $X^\top X$: infinitely many
coefficient vectors fit equally well. The pseudoinverse (the SVD with its zero singular
values left out) picks the one of smallest norm, which splits the weight evenly between
the twin columns."""),
    ("code", r"""rng = np.random.default_rng(0)
A = rng.normal(size=(50, 2))
design = jnp.asarray(np.column_stack([A, A[:, 1]]), jnp.float32)  # third column = second
y = jnp.asarray(A @ np.array([1.0, 2.0]) + 0.01 * rng.normal(size=50), jnp.float32)
print("singular values:", np.asarray(decomposition.truncated_svd(design, 3).s))
coefficients = decomposition.pinv(design) @ y
print("minimum-norm coefficients:", np.round(np.asarray(coefficients), 3))"""),
    ("markdown", r"""## 4. The dominant eigenvector: PageRank by power iteration

A random surfer follows a link of the current page with probability 0.85 and jumps to a
random page otherwise. The fraction of time spent on each page is the dominant eigenvector
(eigenvalue 1) of that Markov chain's transition matrix, which repeated multiplication
finds: `power_iteration` returns it with a convergence flag."""),
    ("code", r"""links = np.array([[0, 1, 1, 0, 0], [0, 0, 1, 0, 0], [1, 0, 0, 1, 0],
                  [0, 0, 1, 0, 1], [0, 0, 1, 1, 0]], float)   # links[i, j]: page i -> j
follow = links / links.sum(axis=1, keepdims=True)
google = 0.85 * follow + 0.15 / len(links)                      # rows sum to one
result = decomposition.power_iteration(jnp.asarray(google.T, jnp.float32), jax.random.key(0))
rank = result.eigenvector / jnp.sum(result.eigenvector)
print("converged:", bool(result.converged), " eigenvalue:", round(float(result.eigenvalue), 5))
print("PageRank:", np.round(np.asarray(rank), 3))
assert bool(result.converged) and abs(float(result.eigenvalue) - 1.0) < 1e-4"""),
    ("markdown", r"""## 5. Spectral clustering: eigenvectors of a graph

k-means cuts the plane by straight lines between centres, so it cannot separate two
interleaved half-moons. Spectral clustering first builds a graph (an RBF affinity: nearby
points strongly connected), embeds the points by the leading eigenvectors of the graph's
normalized Laplacian (`decomposition.spectral_embedding`), where each connected piece
collapses to nearly one point, and only then runs k-means."""),
    ("code", r"""Xm, ym = datasets.make_moons(300, noise=0.05, random_state=0)
Xm = jnp.asarray(Xm, jnp.float32)
kmeans_labels = np.asarray(KMeans(2).fit_predict(Xm))
spectral_labels = np.asarray(SpectralClustering(2, affinity="rbf", gamma=30.0).fit_predict(Xm))

def agreement(labels):  # the fraction right, up to swapping the two cluster names
    right = np.mean(labels == ym)
    return max(right, 1 - right)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, labels, name in ((axes[0], kmeans_labels, "k-means"),
                         (axes[1], spectral_labels, "spectral clustering")):
    ax.scatter(Xm[:, 0], Xm[:, 1], c=labels, cmap="coolwarm", s=8)
    ax.set_title(f"{name}: {agreement(labels):.0%} of points with their moon")
plt.show()
assert agreement(spectral_labels) == 1.0 and agreement(kmeans_labels) < 0.9"""),
]



if __name__ == "__main__":
    write(CELLS, "05_linear_algebra.ipynb")
