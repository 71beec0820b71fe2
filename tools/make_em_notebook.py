"""Write notebooks/03_em.ipynb (unexecuted; the test suite executes it): ``python
tools/make_em_notebook.py``. The notebook's text and code live here so that a change is a
reviewable diff of Python, not of JSON."""

from __future__ import annotations

from notebook_writer import write

CELLS: list[tuple[str, str]] = [
    ("markdown", r"""# When something is hidden: EM for mixtures, k-means, hidden Markov models

A Gaussian mixture explains each point $x_i$ by a component $z_i$ nobody observed:
$p(x) = \sum_k \pi_k\,\mathcal N(x;\mu_k,\Sigma_k)$. Maximizing $\sum_i \log p(x_i)$ directly
is awkward (a log of a sum), but if the $z_i$ were known it would be $K$ separate Gaussian fits.
**EM** alternates the two halves:

* **E-step** — the posterior of each hidden label under the current parameters, the
  *responsibilities* $r_{ik} = p(z_i = k \mid x_i)$ (`mixture.e_step`, in log space);
* **M-step** — weighted maximum-likelihood fits of every component, with $r_{ik}$ as the
  weights (`mixture.m_step`: the weighted `fit` of a Gaussian, all components at once).

Each step raises the *evidence lower bound* $\sum_i\sum_k r_{ik}\log\frac{\pi_k\mathcal
N(x_i;\mu_k,\Sigma_k)}{r_{ik}}$, which equals the log-likelihood right after an E-step; so the
log-likelihood never goes down."""),
    ("code", r"""import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from mlmath import GaussianMixture, KMeans, mixture

rng = np.random.default_rng(0)
true_means = np.array([[-4.0, 0.0], [0.0, 3.0], [4.0, -1.0]])
shapes = [np.array([[1.5, 0.8], [0.8, 1.0]]), np.array([[0.6, 0.0], [0.0, 0.4]]),
          np.array([[1.0, -0.7], [-0.7, 1.2]])]
labels = rng.integers(3, size=600)
X = np.stack([rng.multivariate_normal(true_means[k], shapes[k]) for k in labels])
X = jnp.asarray(X, jnp.float32)
X.shape"""),
    ("markdown", r"""## 1. The fit, step by step

Start from three data points as means, unit covariances and equal weights, and apply
`mixture.em_step` (one E-step and one M-step, one compiled program) again and again. The
ellipses are each component's 2-standard-deviation contour."""),
    ("code", r"""def ellipse(mean, covariance, scale=2.0):
    values, vectors = np.linalg.eigh(np.asarray(covariance, np.float64))
    angle = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    return np.asarray(mean)[:, None] + vectors @ (scale * np.sqrt(values)[:, None] * circle)

def covariances(params):
    P = np.asarray(params.precisions_cholesky, np.float64)
    return np.linalg.inv(P @ np.swapaxes(P, 1, 2))

params = mixture.GaussianMixtureParams(jnp.full(3, 1 / 3), X[jnp.array([0, 1, 2])],
                                       jnp.stack([jnp.eye(2)] * 3))
snapshots, bounds = {0: params}, []
for step in range(1, 51):
    params, bound = mixture.em_step(params, X)
    bounds.append(float(bound))
    if step in (1, 5, 50):
        snapshots[step] = params

fig, axes = plt.subplots(1, 4, figsize=(16, 4), sharex=True, sharey=True)
for ax, (step, snapshot) in zip(axes, snapshots.items()):
    ax.scatter(X[:, 0], X[:, 1], s=4, c="0.6")
    for mean, covariance in zip(snapshot.means, covariances(snapshot)):
        ax.plot(*ellipse(mean, covariance), lw=2)
    ax.set_title(f"after {step} EM step{'s' if step != 1 else ''}")
plt.show()"""),
    ("markdown", r"""The lower bound climbs at every step, quickly at first, then creeping as the
components settle (EM converges linearly). A fit stops when a step gains less than `tol`:
that is what `GaussianMixture.fit` does, in one `lax.while_loop`."""),
    ("code", r"""steps = np.arange(1, 51)
plt.plot(steps, bounds, marker=".")
plt.xlabel("EM step"); plt.ylabel("lower bound (mean log-likelihood)")
plt.show()
assert np.all(np.diff(bounds) >= -1e-5), "EM never lowers the bound"
gmm = GaussianMixture(n_components=3).fit(X, key=jax.random.key(0))
print("converged:", bool(gmm.converged_), "in", int(gmm.n_iter_), "steps;",
      "lower bound", round(float(gmm.lower_bound_), 4))"""),
    ("markdown", r"""## 2. k-means: EM with hard assignments

Give every component the same spherical covariance $\sigma^2 I$ and equal weights, and
let $\sigma \to 0$: the responsibilities become 0 or 1 (each point belongs entirely to its
nearest mean), and the M-step becomes "each mean to the average of its points". That is
Lloyd's algorithm, k-means. Below, the E-step's responsibilities of one point between two
means as $\sigma$ shrinks, and then k-means and the mixture side by side: the mixture's
soft boundaries bend with the covariances; k-means only sees distances."""),
    ("code", r"""means = jnp.array([[-1.0, 0.0], [1.0, 0.0]])
point = jnp.array([[0.3, 0.0]])
for sigma in (2.0, 1.0, 0.5, 0.2, 0.1):
    hard = mixture.GaussianMixtureParams(jnp.full(2, 0.5), means, jnp.full(2, 1.0 / sigma))
    log_resp, _ = mixture.e_step(hard, point, covariance_type="spherical")
    print(f"sigma = {sigma:4}: responsibilities {np.round(np.exp(log_resp[0]), 4)}")

kmeans = KMeans(n_clusters=3, n_init=4).fit(X, key=jax.random.key(1))
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
axes[0].scatter(X[:, 0], X[:, 1], s=4, c=np.asarray(kmeans.labels_))
axes[0].scatter(*np.asarray(kmeans.cluster_centers_).T, marker="x", s=100, c="k")
axes[0].set_title("k-means (hard, distances only)")
axes[1].scatter(X[:, 0], X[:, 1], s=4, c=np.asarray(gmm.predict(X)))
axes[1].scatter(*np.asarray(gmm.means_).T, marker="x", s=100, c="k")
axes[1].set_title("Gaussian mixture (soft, with covariances)")
plt.show()
print("inertia:", round(float(kmeans.inertia_), 2))"""),
    ("markdown", r"""## 3. Hidden labels with a memory: the occasionally dishonest casino

A casino rolls a fair die, but now and then swaps in a loaded one (a six half the time) and
keeps it for a while. We see only the rolls. The hidden state (fair or loaded) is no longer
drawn afresh for every roll, as a mixture's label is: it follows a **Markov chain**, so the
model is a *hidden Markov model*. Its E-step is the **forward-backward** algorithm (the
posterior of every hidden state given the whole sequence, in log space), its M-step counts
expected transitions and emissions: that is **Baum-Welch**, EM for HMMs. The most probable
state *path* is a different question, answered by **Viterbi**."""),
    ("code", r"""from mlmath import CategoricalHMM, hmm

fair, loaded = np.full(6, 1 / 6), np.array([0.1] * 5 + [0.5])
casino = hmm.CategoricalHMMParams(initial=jnp.array([1.0, 0.0]),
                                  transition=jnp.array([[0.95, 0.05], [0.10, 0.90]]),
                                  emission=jnp.asarray(np.stack([fair, loaded]), jnp.float32))
rolls, dice = hmm.sample_hmm(jax.random.key(7), casino, 600)
print("rolls:", "".join(str(int(r) + 1) for r in rolls[:60]), "...")
print("loaded for", int(dice.sum()), "of", len(dice), "rolls")"""),
    ("markdown", r"""Fit a two-state model by Baum-Welch from a random start (the states come out in
either order, so we call "loaded" the state whose six is likelier). The log-likelihood never goes
down, and the fitted transition and emission probabilities come close to the casino's."""),
    ("code", r"""model = CategoricalHMM(n_components=2, n_features=6, n_iter=500, tol=1e-6).fit(
    rolls, key=jax.random.key(3))
history = model.monitor_.history
assert np.all(np.diff(history) >= -1e-3), "Baum-Welch never lowers the log-likelihood"
print("converged:", bool(model.converged_), "in", model.monitor_.iter, "steps")
loaded_state = int(np.argmax(np.asarray(model.emissionprob_)[:, 5]))
print("P(six | loaded state) =", round(float(model.emissionprob_[loaded_state, 5]), 3))
print("transitions:\n", np.round(np.asarray(model.transmat_), 3))
plt.plot(history, marker=".")
plt.xlabel("Baum-Welch step"); plt.ylabel("log-likelihood")
plt.show()"""),
    ("markdown", r"""The posterior $p(\text{loaded at } t \mid \text{all rolls})$ (forward-backward,
from the fitted model) against the truth (shaded), and the Viterbi path: the single most probable
sequence of dice, which switches only when the evidence outweighs the cost of a
transition."""),
    ("code", r"""posterior = np.asarray(model.predict_proba(rolls))[:, loaded_state]
path = np.asarray(model.predict(rolls)) == loaded_state
t = np.arange(len(rolls))
fig, ax = plt.subplots(figsize=(14, 3.5))
ax.fill_between(t, 0, np.asarray(dice), step="mid", color="0.85", label="truly loaded")
ax.plot(t, posterior, lw=1.2, label="posterior P(loaded)")
ax.step(t, path * 1.05, where="mid", lw=1.2, label="Viterbi path (loaded = 1)")
ax.set_xlabel("roll"); ax.set_ylim(-0.05, 1.15); ax.legend(loc="upper right")
plt.show()
true_path, _ = hmm.hmm_viterbi(casino, rolls)  # decoding with the casino's own parameters
print("Viterbi agrees with the truth on", f"{np.mean(path == np.asarray(dice, bool)):.0%}",
      "of the rolls (with the casino's true parameters:",
      f"{np.mean(np.asarray(true_path) == np.asarray(dice)):.0%})")"""),
]


if __name__ == "__main__":
    write(CELLS, "03_em.ipynb")
