"""mlmath.vi: Gaussian VI reaches the exact posterior and the exact log evidence."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

from mlmath import bayes, vi
from mlmath import distributions as dist

FLOAT = jnp.result_type(float)
# a stochastic optimization, checked once (in the default run)
pytestmark = pytest.mark.default_mode_only


def test_meanfield_vi_reaches_the_normal_normal_posterior_and_evidence():
    rng = np.random.default_rng(0)
    data = jnp.asarray(rng.normal(1.0, 2.0, size=15), FLOAT)
    prior = dist.Normal(0.0, 3.0)
    exact = bayes.normal_normal(prior, data, 2.0)

    def log_joint(mu):
        return prior.log_prob(mu) + jnp.sum(dist.Normal(mu, 2.0).log_prob(data))

    result = vi.meanfield_vi(jax.random.key(1), log_joint, jnp.zeros((), FLOAT),
                             num_steps=3000, num_samples=8)
    q = result.approximation
    assert q.loc.shape == (1,)  # over the flattened position
    assert float(q.loc[0]) == pytest.approx(float(exact.posterior.loc), abs=1e-3)
    assert float(q.scale[0]) == pytest.approx(float(exact.posterior.scale), rel=1e-3)
    # at the posterior the ELBO is the log evidence (KL = 0), and with the
    # sticking-the-landing estimator its estimate there has no variance left
    assert float(result.elbo[-1]) == pytest.approx(float(exact.log_marginal_likelihood), abs=1e-3)
    assert float(jnp.std(result.elbo[-100:])) < 1e-3
    assert float(result.elbo[0]) < float(result.elbo[-1])


def test_fullrank_vi_reaches_a_correlated_gaussian_posterior_and_evidence():
    """Bayesian linear regression with known noise: the posterior is Gaussian, so the
    full-rank family contains it; the evidence is the density of y under
    N(0, s^2 I + t^2 X X')."""
    rng = np.random.default_rng(2)
    n, d, noise, prior_scale = 30, 3, 0.5, 2.0
    X = rng.normal(size=(n, d))
    X[:, 1] = X[:, 0] + 0.3 * X[:, 1]  # correlated features: a correlated posterior
    y = X @ np.array([1.0, -2.0, 0.5]) + noise * rng.normal(size=n)
    precision = X.T @ X / noise ** 2 + np.eye(d) / prior_scale ** 2
    covariance = np.linalg.inv(precision)
    mean = covariance @ X.T @ y / noise ** 2
    evidence = stats.multivariate_normal(np.zeros(n), noise ** 2 * np.eye(n)
                                         + prior_scale ** 2 * X @ X.T).logpdf(y)
    Xj, yj = jnp.asarray(X, FLOAT), jnp.asarray(y, FLOAT)

    def log_joint(w):
        return (jnp.sum(dist.Normal(0.0, prior_scale).log_prob(w))
                + jnp.sum(dist.Normal(Xj @ w, noise).log_prob(yj)))

    result = vi.fullrank_vi(jax.random.key(3), log_joint, jnp.zeros(d, FLOAT),
                            optimizer=optax.adam(2e-2), num_steps=4000, num_samples=8)
    q = result.approximation
    np.testing.assert_allclose(q.loc, mean, atol=2e-3)
    fitted = np.asarray(q.scale_tril @ q.scale_tril.T, np.float64)
    np.testing.assert_allclose(fitted, covariance, rtol=2e-2, atol=1e-4)
    assert float(jnp.mean(result.elbo[-50:])) == pytest.approx(evidence, abs=5e-3)
    # mean-field on the same posterior: the same means, the conditional variances
    # 1 / precision_ii (smaller than the marginal ones), and an ELBO below the evidence
    # by the KL divergence it cannot remove. Its gradient estimate keeps a variance at the
    # optimum (the family does not hold the posterior), which biases Adam at a constant
    # learning rate: 64 draws a step bring that bias under 1%
    meanfield = vi.meanfield_vi(jax.random.key(4), log_joint, jnp.zeros(d, FLOAT),
                                optimizer=optax.adam(2e-2), num_steps=4000, num_samples=64)
    np.testing.assert_allclose(meanfield.approximation.scale ** 2, 1 / np.diag(precision),
                               rtol=2e-2)
    gap = evidence - float(jnp.mean(meanfield.elbo[-200:]))
    # KL(q || p) for q = N(mean, diag(1 / precision_ii)): the trace term is d and cancels
    kl = 0.5 * (np.sum(np.log(np.diag(precision))) + np.linalg.slogdet(covariance)[1])
    assert gap == pytest.approx(kl, rel=0.1, abs=0.02)


def test_vi_on_a_pytree_position_and_bad_arguments():
    def log_joint(z):
        return -0.5 * (jnp.sum((z["a"] - 1.0) ** 2) + (z["b"] + 2.0) ** 2 / 4.0)

    result = vi.meanfield_vi(jax.random.key(5), log_joint,
                             {"a": jnp.zeros(2, FLOAT), "b": jnp.zeros((), FLOAT)},
                             num_steps=2000)
    np.testing.assert_allclose(result.mean["a"], [1.0, 1.0], atol=0.02)
    assert float(result.mean["b"]) == pytest.approx(-2.0, abs=0.03)
    np.testing.assert_allclose(result.approximation.scale, [1.0, 1.0, 2.0], rtol=0.03)
    with pytest.raises(ValueError, match="num_steps must be an int >= 1, got 0"):
        vi.meanfield_vi(jax.random.key(0), log_joint, {"a": jnp.zeros(2), "b": 0.0},
                        num_steps=0)
    with pytest.raises(TypeError, match="logdensity_fn must be callable"):
        vi.fullrank_vi(jax.random.key(0), 1.0, jnp.zeros(2))
