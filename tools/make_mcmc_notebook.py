"""Write notebooks/04_mcmc.ipynb (unexecuted; the test suite executes it): ``python
tools/make_mcmc_notebook.py``. The notebook's text and code live here so that a change is a
reviewable diff of Python, not of JSON."""

from __future__ import annotations

from notebook_writer import write

CELLS: list[tuple[str, str]] = [
    ("markdown", r"""# Markov chains and MCMC

A Markov chain forgets: $p(x_{t+1} \mid x_t, x_{t-1}, \dots) = p(x_{t+1} \mid x_t)$. Run
long enough, a well-behaved chain forgets where it started altogether and settles into its
**stationary distribution** $\pi = \pi P$. Markov chain Monte Carlo turns that around:
build a chain whose stationary distribution is the posterior you cannot integrate, run it,
and average over its states.

This notebook goes from the first idea to the second: a chain converging, then four MCMC
kernels on one correlated target, then a Bayesian logistic regression whose posterior we
compare with the MAP estimate and a variational approximation."""),
    ("code", r"""import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from sklearn import datasets

from mlmath import markov, mcmc, optim, vi
from mlmath import distributions as dist"""),
    ("markdown", r"""## 1. A chain forgets its start

A three-state weather chain (sunny, cloudy, rainy). Whatever the first day, the
distribution of day $t$, $\mu P^t$, approaches $\pi$, and the total-variation distance
falls like $\lambda_\star^t$, where $\lambda_\star$ is the second largest eigenvalue modulus
($1 - $ the spectral gap)."""),
    ("code", r"""P = jnp.array([[0.7, 0.2, 0.1],
               [0.3, 0.4, 0.3],
               [0.2, 0.3, 0.5]])
result = markov.stationary_distribution(P)
gap = markov.spectral_gap(P)
print("pi =", np.round(np.asarray(result.distribution), 4), " irreducible:",
      bool(result.irreducible), " aperiodic:", bool(result.aperiodic))
print(f"spectral gap {float(gap):.3f}; mixing time t_mix(1/4) in",
      [int(b) for b in markov.mixing_time_bounds(P, 0.25)])

steps = np.arange(16)
fig, ax = plt.subplots(figsize=(6, 3.5))
for start, name in enumerate(["sunny", "cloudy", "rainy"]):
    distance = [0.5 * float(jnp.sum(jnp.abs(markov.n_step(P, t)[start] - result.distribution)))
                for t in steps]
    ax.semilogy(steps, distance, "o-", label=f"from {name}")
ax.semilogy(steps, (1 - float(gap)) ** steps, "k--", label=r"$\lambda_\star^t$")
ax.set_xlabel("day t"); ax.set_ylabel("TV distance to pi"); ax.legend()
plt.show()"""),
    ("markdown", r"""Simulating the chain tells the same story from the other side: the fraction of
days spent in each state approaches $\pi$ (the ergodic theorem, a law of large numbers for
dependent draws)."""),
    ("code", r"""paths = jax.vmap(markov.simulate, in_axes=(0, None, None, None))(
    jax.random.split(jax.random.key(0), 8), P, jnp.array([1.0, 0.0, 0.0]), 5000)
frequencies = np.bincount(np.asarray(paths).ravel(), minlength=3) / paths.size
print("occupation frequencies", np.round(frequencies, 3), " pi", np.round(
    np.asarray(result.distribution), 3))
assert np.allclose(frequencies, result.distribution, atol=0.02)"""),
    ("markdown", r"""## 2. Four kernels on one correlated target

The target is a Gaussian with correlation 0.95: its narrow diagonal valley is hard for a
random walk. Each kernel gets the same warm-up (Stan's windowed adaptation of the step
size and a diagonal mass matrix) and four chains, started apart. Effective sample size
(ESS) per gradient evaluation is the fair comparison of what each draw costs."""),
    ("code", r"""covariance = jnp.array([[1.0, 0.95], [0.95, 1.0]])
precision = jnp.linalg.inv(covariance)

def logdensity(x):
    return -0.5 * x @ precision @ x

starts = jax.random.normal(jax.random.key(1), (4, 2)) * 2.0
kernels = {"RWMH": mcmc.rwmh(logdensity, 0.5, jnp.ones(2)),
           "MALA": mcmc.mala(logdensity, 0.1, jnp.ones(2)),
           "HMC": mcmc.hmc(logdensity, 0.2, jnp.ones(2), 8),
           "NUTS": mcmc.nuts(logdensity, 0.2, jnp.ones(2))}
runs = {name: mcmc.sample(jax.random.key(2), kernel, starts, num_warmup=500,
                          num_samples=1000)
        for name, kernel in kernels.items()}
print(f"{'kernel':6} {'ESS (min)':>10} {'gradients':>10} {'ESS/1000 grads':>15} {'R-hat':>7}")
for name, run in runs.items():
    ess = float(jnp.min(mcmc.ess(run.draws)))
    gradients = (run.infos.num_integration_steps.size if name == "RWMH"  # proposals
                 else int(jnp.sum(run.infos.num_integration_steps)))
    print(f"{name:6} {ess:10.0f} {gradients:10d} {1000 * ess / gradients:15.1f} "
          f"{float(jnp.max(mcmc.rhat(run.draws))):7.3f}")"""),
    ("markdown", r"""(RWMH uses no gradient, so its column counts proposals instead.) At this length
only NUTS has an $\hat R$ below 1.01: a diagonal mass matrix cannot undo a correlation,
so the other kernels crawl along the valley (a dense one, `inverse_mass_matrix=jnp.eye(2)`,
would learn it). Trace plots of
the first coordinate show the difference in how far each step moves; rank plots (the ranks
of all draws, pooled, histogrammed chain by chain) are flat when the chains have mixed."""),
    ("code", r"""fig, axes = plt.subplots(2, 4, figsize=(14, 5))
for column, (name, run) in enumerate(runs.items()):
    draws = np.asarray(run.draws[..., 0])
    for chain in draws:
        axes[0, column].plot(chain[:200], lw=0.8)
    axes[0, column].set_title(name)
    ranks = np.argsort(np.argsort(draws.ravel())).reshape(draws.shape)
    for chain in ranks:
        axes[1, column].hist(chain, bins=20, histtype="step")
axes[0, 0].set_ylabel("x[0], first 200 draws"); axes[1, 0].set_ylabel("rank histogram")
plt.tight_layout(); plt.show()"""),
    ("markdown", r"""`mcmc.summary` prints the table a Bayesian workflow reads: means, quantiles,
Monte Carlo standard errors, bulk and tail ESS and rank-normalized split $\hat R$, the
diagnostics of Vehtari et al. (2021), equal to ArviZ's."""),
    ("code", r"""mcmc.summary({"x": runs["NUTS"].draws})"""),
    ("markdown", r"""## 3. A posterior beside its MAP estimate

Logistic regression of iris versicolor against virginica on petal length and width
(standardized), with a $N(0, 2^2)$ prior on the weights. The MAP estimate (an L2-penalized
fit, `optim.map_estimate`) is one point; NUTS gives the whole posterior, whose spread is
what the MAP estimate leaves out. Mean-field variational inference fits independent
Gaussians: it finds the centre but, by minimizing $\mathrm{KL}(q \,\|\, p)$, underestimates
the spread along the posterior's correlation."""),
    ("code", r"""iris = datasets.load_iris()
keep = iris.target > 0
features = iris.data[keep][:, 2:]
features = (features - features.mean(0)) / features.std(0)
X = jnp.asarray(np.hstack([np.ones((keep.sum(), 1)), features]), jnp.float32)
y = jnp.asarray(iris.target[keep] == 2, jnp.float32)

def log_likelihood(w, data):
    X, y = data
    return jnp.sum(dist.Bernoulli(logits=X @ w).log_prob(y))

def log_prior(w):
    return jnp.sum(dist.Normal(0.0, 2.0).log_prob(w))

def log_posterior(w):
    return log_likelihood(w, (X, y)) + log_prior(w)

w_map = optim.map_estimate(log_likelihood, log_prior, jnp.zeros(3), (X, y)).params
posterior = mcmc.sample(jax.random.key(3), mcmc.nuts(log_posterior, 0.1, jnp.ones(3)),
                        jax.random.normal(jax.random.key(4), (4, 3)) * 0.1, num_warmup=500,
                        num_samples=1000)
meanfield = vi.meanfield_vi(jax.random.key(5), log_posterior, jnp.zeros(3), num_steps=3000)
draws = np.asarray(posterior.draws).reshape(-1, 3)
print("MAP          ", np.round(np.asarray(w_map), 2))
print("posterior mean", np.round(draws.mean(0), 2), " sd", np.round(draws.std(0), 2))
print("mean-field VI ", np.round(np.asarray(meanfield.approximation.loc), 2), " sd",
      np.round(np.asarray(meanfield.approximation.scale), 2))
print("max R-hat", round(float(jnp.max(mcmc.rhat(posterior.draws))), 3),
      " divergences", int(posterior.num_divergent.sum()))
correlation = np.corrcoef(draws[:, 1:].T)[0, 1]
print("posterior correlation of the two weights", round(float(correlation), 2))"""),
    ("code", r"""q = meanfield.approximation
theta = np.linspace(0, 2 * np.pi, 200)
fig, ax = plt.subplots(figsize=(5.5, 4.5))
ax.scatter(draws[:, 1], draws[:, 2], s=2, alpha=0.3, label="NUTS posterior draws")
for k in (1, 2):
    ax.plot(q.loc[1] + k * q.scale[1] * np.cos(theta), q.loc[2] + k * q.scale[2] * np.sin(theta),
            "g-", lw=1, label="mean-field q (1 and 2 sd)" if k == 1 else None)
ax.plot(*np.asarray(w_map)[1:], "r*", ms=14, label="MAP")
ax.set_xlabel("weight of petal length"); ax.set_ylabel("weight of petal width")
ax.legend(loc="upper right"); plt.show()
assert np.allclose(draws.mean(0), w_map, atol=1.5 * draws.std(0).max())"""),
    ("markdown", r"""The MAP estimate sits near the centre of the posterior (a little closer to 0:
the mode of a skewed posterior is not its mean); the draws carry the uncertainty every
prediction should average over. The mean-field approximation's axis-aligned ellipse is a
little narrower than the draws, the cost of assuming the weights independent when the
posterior correlates them."""),
]


if __name__ == "__main__":
    write(CELLS, "04_mcmc.ipynb")
