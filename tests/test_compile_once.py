"""A second call never compiles: every public function, method and estimator, counted.

Each entry of the catalogue below builds a call of one public function from a seed: the
seed changes the values, never the shapes or dtypes. The first call (seed 0) may compile;
the second (seed 1) must compile nothing: that is what jitting at the definition, with the
static arguments named, guarantees. A completeness test fails when a public function has
no entry, so a new function cannot skip the check. Rejected input is counted too: a call
that raises must not leave a new compiled program behind each time.

These checks run in the default run only (``default_mode_only``, tests/conftest.py): a
program is looked up by its input shapes, dtypes and static arguments, and the float mode
changes the dtypes, not the lookup. The x64 run checks instead that float32 input stays
float32 when x64 is on (``test_float32_stays_float32_under_x64``).
"""

from __future__ import annotations

import inspect

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn.datasets import load_iris

import mlmath
from mlmath import (
    bayes,
    decomposition,
    distributions,
    hmm,
    info,
    linear,
    losses,
    markov,
    mcmc,
    metrics,
    mixture,
    montecarlo,
    optim,
    vi,
)
from mlmath import distributions as dist
from mlmath._estimator import Estimator
from tests.compile_counter import compilations

FLOAT = np.dtype(jnp.result_type(float))


def _rng(seed):
    return np.random.default_rng(seed)


def _normal(seed, *shape):
    return jnp.asarray(_rng(seed).normal(size=shape).astype(FLOAT))


def _uniform(seed, *shape, low=0.1, high=0.9):
    return jnp.asarray(_rng(seed).uniform(low, high, size=shape).astype(FLOAT))


def _simplex(seed, *shape):
    values = _rng(seed).uniform(0.1, 1.0, size=shape)
    return jnp.asarray((values / values.sum(-1, keepdims=True)).astype(FLOAT))


def _labels(seed, n, k):
    return jnp.asarray(np.arange(n) % k if seed == 0 else _rng(seed).permutation(np.arange(n) % k))


def _mcmc_target(x):
    return -0.5 * jnp.sum(x ** 2)


_RWMH = mcmc.rwmh(_mcmc_target, 0.5)
_HMC = mcmc.hmc(_mcmc_target, 0.1)
_NUTS = mcmc.nuts(_mcmc_target, 0.2)


def _quadratic(x, target):
    return jnp.sum((x - target) ** 2)


def _gaussian_loglik(params, x):
    return jnp.sum(dist.Normal(params["loc"], params["scale"]).log_prob(x))


def _gaussian_logprior(params):
    return dist.Normal(0.0, 10.0).log_prob(params["loc"])


def _square(x):
    return x * x


_ADAM = optax.adam(0.1)


def _mixture_params(seed, covariance_type="diag"):
    precisions = {"diag": _uniform(seed, 3, 2) + 1.0,
                  "full": jnp.stack([jnp.eye(2, dtype=FLOAT) * (1.0 + seed)] * 3)}
    return mixture.GaussianMixtureParams(_simplex(seed, 3), _normal(seed, 3, 2),
                                         precisions[covariance_type])


_PRIOR = mixture.GaussianMixturePrior(2.0, 0.0, 0.5, 1.0, 4.0)


def _hmm(s):
    """A 3-state model, 6 steps: (log_initial, log_transition, log_emissions)."""
    return jnp.log(_simplex(s, 3)), jnp.log(_simplex(s + 1, 3, 3)), _normal(s, 6, 3)


def _categorical_hmm(s):
    return hmm.CategoricalHMMParams(_simplex(s, 3), _simplex(s + 1, 3, 3), _simplex(s + 2, 3, 2))


def _gaussian_hmm(s):
    return hmm.GaussianHMMParams(_simplex(s, 3), _simplex(s + 1, 3, 3), _normal(s, 3, 2),
                                 _uniform(s, 3, 2) + 1.0)


def _pca_fit(s):
    return decomposition.pca(_normal(s, 9, 3), 2)


def _prox_l1(x, step):
    return optim.soft_threshold(x, step)


# name -> seed -> thunk. Names are "module.function" for the completeness check.
CALLS = {
    # information theory
    "info.self_information": lambda s: lambda: info.self_information(_uniform(s, 4), base=2),
    "info.entropy": lambda s: lambda: info.entropy(_simplex(s, 3, 4), base=2),
    "info.cross_entropy": lambda s: lambda: info.cross_entropy(_simplex(s, 4), _simplex(s + 7, 4)),
    "info.kl_divergence": lambda s: lambda: info.kl_divergence(_simplex(s, 4), _simplex(s + 7, 4)),
    "info.js_divergence": lambda s: lambda: info.js_divergence(_simplex(s, 4), _simplex(s + 7, 4)),
    "info.entropy_from_logits": lambda s: lambda: info.entropy_from_logits(_normal(s, 2, 5)),
    "info.cross_entropy_from_logits":
        lambda s: lambda: info.cross_entropy_from_logits(_normal(s, 5), _normal(s + 7, 5)),
    "info.kl_divergence_from_logits":
        lambda s: lambda: info.kl_divergence_from_logits(_normal(s, 5), _normal(s + 7, 5)),
    "info.js_divergence_from_logits":
        lambda s: lambda: info.js_divergence_from_logits(_normal(s, 5), _normal(s + 7, 5), axis=0),
    "info.mutual_information": lambda s: lambda: info.mutual_information(_simplex(s, 3, 2)),
    "info.contingency_table":
        lambda s: lambda: info.contingency_table(_labels(s, 12, 3), _labels(s + 1, 12, 2),
                                                 num_x=3, num_y=2),
    "info.mutual_info_score":
        lambda s: lambda: info.mutual_info_score(_labels(s, 12, 3), _labels(s + 1, 12, 2)),
    "info.information_gain":
        lambda s: lambda: info.information_gain(_labels(s, 12, 3), _labels(s + 1, 12, 2) == 1,
                                                num_classes=3),
    "info.kl": lambda s: lambda: info.kl(dist.Normal(0.1 * s, 1.0), dist.Normal(1.0, 2.0 + s)),
    "info.kl_monte_carlo":
        lambda s: lambda: info.kl_monte_carlo(jax.random.key(s), dist.Normal(0.0, 1.0 + s),
                                              dist.Laplace(0.0, 1.0), 100),
    # losses
    "losses.softmax_cross_entropy":
        lambda s: lambda: losses.softmax_cross_entropy(_normal(s, 6, 3), _labels(s, 6, 3)),
    "losses.softmax_cross_entropy_with_probs":
        lambda s: lambda: losses.softmax_cross_entropy_with_probs(_normal(s, 6, 3),
                                                                  _simplex(s, 6, 3)),
    "losses.sigmoid_binary_cross_entropy":
        lambda s: lambda: losses.sigmoid_binary_cross_entropy(_normal(s, 6), _labels(s, 6, 2)),
    "losses.gaussian_nll":
        lambda s: lambda: losses.gaussian_nll(_normal(s, 6), _uniform(s, 6), _normal(s + 1, 6)),
    "losses.laplace_nll":
        lambda s: lambda: losses.laplace_nll(_normal(s, 6), _uniform(s, 6), _normal(s + 1, 6)),
    "losses.poisson_nll":
        lambda s: lambda: losses.poisson_nll(_normal(s, 6), _labels(s, 6, 4).astype(FLOAT)),
    "losses.squared_error":
        lambda s: lambda: losses.squared_error(_normal(s, 6), _normal(s + 1, 6)),
    "losses.huber": lambda s: lambda: losses.huber(_normal(s, 6), _normal(s + 1, 6), delta=0.5 + s),
    "losses.hinge": lambda s: lambda: losses.hinge(_normal(s, 6), _labels(s, 6, 2)),
    "losses.l2_penalty": lambda s: lambda: losses.l2_penalty({"w": _normal(s, 3), "b": 0.5 * s}),
    "losses.l1_penalty": lambda s: lambda: losses.l1_penalty(_normal(s, 3)),
    # metrics
    "metrics.accuracy":
        lambda s: lambda: metrics.accuracy(_labels(s, 10, 3), _labels(s + 1, 10, 3)),
    "metrics.confusion_matrix":
        lambda s: lambda: metrics.confusion_matrix(_labels(s, 10, 3), _labels(s + 1, 10, 3)),
    "metrics.precision":
        lambda s: lambda: metrics.precision(_labels(s, 10, 3), _labels(s + 1, 10, 3),
                                            average="macro"),
    "metrics.recall":
        lambda s: lambda: metrics.recall(_labels(s, 10, 2), _labels(s + 1, 10, 2)),
    "metrics.f1":
        lambda s: lambda: metrics.f1(_labels(s, 10, 3), _labels(s + 1, 10, 3), average="weighted"),
    "metrics.log_loss": lambda s: lambda: metrics.log_loss(_labels(s, 6, 3), _simplex(s, 6, 3)),
    "metrics.log_loss_from_logits":
        lambda s: lambda: metrics.log_loss_from_logits(_labels(s, 6, 3), _normal(s, 6, 3)),
    "metrics.mean_squared_error":
        lambda s: lambda: metrics.mean_squared_error(_normal(s, 6), _normal(s + 1, 6)),
    "metrics.r2_score": lambda s: lambda: metrics.r2_score(_normal(s, 6), _normal(s + 1, 6)),
    # optimization: the same callable object each time reuses its program
    "optim.minimize":
        lambda s: lambda: optim.minimize(_quadratic, jnp.zeros(2), _normal(s, 2),
                                         optimizer=_ADAM, max_steps=50),
    "optim.lbfgs": lambda s: lambda: optim.lbfgs(_quadratic, _normal(s, 2), _normal(s + 1, 2)),
    "optim.newton": lambda s: lambda: optim.newton(_quadratic, _normal(s, 2), _normal(s + 1, 2)),
    "optim.fista":
        lambda s: lambda: optim.fista(_quadratic, _prox_l1, jnp.zeros(2), _normal(s, 2)),
    "optim.soft_threshold": lambda s: lambda: optim.soft_threshold(_normal(s, 4), 0.5 + s),
    "optim.tree_norm": lambda s: lambda: optim.tree_norm({"a": _normal(s, 3), "b": _normal(s, 2)}),
    "optim.check_grad":
        lambda s: lambda: optim.check_grad(_quadratic, _normal(s, 3), _normal(s, 3)),
    "optim.mle":
        lambda s: lambda: optim.mle(_gaussian_loglik, {"loc": 0.0 + s, "scale": 1.0},
                                    _normal(s, 8), constraints={"loc": None,
                                                                "scale": optim.positive}),
    "optim.map_estimate":
        lambda s: lambda: optim.map_estimate(_gaussian_loglik, _gaussian_logprior,
                                             {"loc": 0.0, "scale": 1.0 + s}, _normal(s, 8),
                                             constraints={"loc": None, "scale": optim.positive}),
    "optim.interval": lambda s: lambda: optim.interval(0.0, 1.0 + s).forward(_normal(s, 3)),
    # Bayes
    "bayes.posterior": lambda s: lambda: bayes.posterior(_simplex(s, 4), _uniform(s, 4)),
    "bayes.posterior_from_log":
        lambda s: lambda: bayes.posterior_from_log(_normal(s, 4), _normal(s + 1, 4)),
    "bayes.beta_bernoulli":
        lambda s: lambda: bayes.beta_bernoulli(dist.Beta(1.0 + s, 2.0), _labels(s, 9, 2)),
    "bayes.dirichlet_categorical":
        lambda s: lambda: bayes.dirichlet_categorical(dist.Dirichlet(jnp.ones(3) + s),
                                                      _labels(s, 9, 3)),
    "bayes.gamma_poisson":
        lambda s: lambda: bayes.gamma_poisson(dist.Gamma(2.0, 1.0 + s), _labels(s, 9, 5)),
    "bayes.normal_normal":
        lambda s: lambda: bayes.normal_normal(dist.Normal(0.0, 1.0 + s), _normal(s, 9), 0.5),
    "bayes.bayesian_linear_regression":
        lambda s: lambda: bayes.bayesian_linear_regression(
            dist.NormalInverseGamma(jnp.zeros(2), jnp.eye(2) * (1.0 + s), 2.0, 1.0),
            _normal(s, 9, 2), _normal(s + 1, 9)),
    # Monte Carlo
    "montecarlo.monte_carlo_mean":
        lambda s: lambda: montecarlo.monte_carlo_mean(jax.random.key(s), _square,
                                                      dist.Normal(0.0, 1.0 + s), 200),
    # linear models, pure layer
    "linear.least_squares":
        lambda s: lambda: linear.least_squares(_normal(s, 20, 3), _normal(s, 20)),
    "linear.ridge": lambda s: lambda: linear.ridge(_normal(s, 20, 3), _normal(s, 20), 0.5 + s),
    "linear.lasso": lambda s: lambda: linear.lasso(_normal(s, 20, 3), _normal(s, 20), 0.1 + s),
    "linear.lasso_duality_gap":
        lambda s: lambda: linear.lasso_duality_gap(jnp.eye(3), _normal(s, 3), 2.0, _normal(s, 3),
                                                   0.1, 10.0),
    "linear.linear_predict":
        lambda s: lambda: linear.linear_predict(_normal(s, 5, 3), _normal(s, 3), 0.5),
    "linear.logistic_regression":
        lambda s: lambda: linear.logistic_regression(_normal(s, 20, 3), _labels(s, 20, 2),
                                                     1.0 + s, num_classes=2),
    "linear.logistic_logits":
        lambda s: lambda: linear.logistic_logits(_normal(s, 5, 3), _normal(s, 1, 3), _normal(s, 1)),
    "linear.logistic_log_proba":
        lambda s: lambda: linear.logistic_log_proba(_normal(s, 5, 3), _normal(s, 3, 3),
                                                    _normal(s, 3)),
    "linear.logistic_nll":
        lambda s: lambda: linear.logistic_nll((_normal(s, 1, 3), _normal(s, 1)), _normal(s, 5, 3),
                                              _labels(s, 5, 2), jnp.ones(5, FLOAT)),
    "linear.logistic_objective":
        lambda s: lambda: linear.logistic_objective((_normal(s, 1, 3), _normal(s, 1)),
                                                    _normal(s, 5, 3), _labels(s, 5, 2),
                                                    jnp.ones(5, FLOAT), 1.0 + s, "l2"),
    "linear.logistic_hessian":
        lambda s: lambda: linear.logistic_hessian((_normal(s, 1, 3), _normal(s, 1)),
                                                  _normal(s, 5, 3), _labels(s, 5, 2),
                                                  jnp.ones(5, FLOAT), 1.0 + s, "l2"),
    "linear.gaussian_naive_bayes":
        lambda s: lambda: linear.gaussian_naive_bayes(_normal(s, 12, 3), _labels(s, 12, 3),
                                                      num_classes=3),
    # mixtures and k-means, pure layer
    "mixture.e_step": lambda s: lambda: mixture.e_step(_mixture_params(s), _normal(s, 8, 2),
                                                       covariance_type="diag"),
    "mixture.component_log_prob":
        lambda s: lambda: mixture.component_log_prob(_mixture_params(s, "full"),
                                                     _normal(s, 8, 2)),
    "mixture.m_step": lambda s: lambda: mixture.m_step(_normal(s, 8, 2), _simplex(s, 8, 3),
                                                       covariance_type="diag", prior=_PRIOR),
    "mixture.em_step": lambda s: lambda: mixture.em_step(_mixture_params(s), _normal(s, 8, 2),
                                                         covariance_type="diag"),
    "mixture.lower_bound":
        lambda s: lambda: mixture.lower_bound(_mixture_params(s), _normal(s, 8, 2),
                                              jnp.log(_simplex(s, 8, 3)), covariance_type="diag"),
    "mixture.log_prior": lambda s: lambda: mixture.log_prior(_mixture_params(s), _PRIOR,
                                                             covariance_type="diag"),
    "mixture.fit_gaussian_mixture":
        lambda s: lambda: mixture.fit_gaussian_mixture(jax.random.key(s), _normal(s, 12, 2), 2,
                                                       covariance_type="spherical",
                                                       init_params="random", max_iter=5),
    "mixture.sample_gaussian_mixture":
        lambda s: lambda: mixture.sample_gaussian_mixture(jax.random.key(s),
                                                          _mixture_params(s, "full"), 4),
    "mixture.precisions_cholesky_from_covariances":
        lambda s: lambda: mixture.precisions_cholesky_from_covariances(
            _mixture_params(s, "full").precisions_cholesky),
    "mixture.precisions_cholesky_from_precisions":
        lambda s: lambda: mixture.precisions_cholesky_from_precisions(
            _mixture_params(s, "full").precisions_cholesky),
    "mixture.kmeans": lambda s: lambda: mixture.kmeans(jax.random.key(s), _normal(s, 12, 2), 3,
                                                       n_init=2, max_iter=5),
    "mixture.kmeans_plusplus":
        lambda s: lambda: mixture.kmeans_plusplus(jax.random.key(s), _normal(s, 12, 2), 3),
    "mixture.lloyd": lambda s: lambda: mixture.lloyd(_normal(s, 12, 2), _normal(s + 1, 3, 2)),
    "mixture.kmeans_predict":
        lambda s: lambda: mixture.kmeans_predict(_normal(s, 12, 2), _normal(s + 1, 3, 2)),
    "mixture.kmeans_transform":
        lambda s: lambda: mixture.kmeans_transform(_normal(s, 12, 2), _normal(s + 1, 3, 2)),
    # hidden Markov models
    "hmm.forward_filter": lambda s: lambda: hmm.forward_filter(*_hmm(s), length=4 + s),
    "hmm.backward_smoother":
        lambda s: lambda: hmm.backward_smoother(_hmm(s)[1], _hmm(s)[2],
                                                jax.nn.log_softmax(_normal(s + 2, 6, 3))),
    "hmm.forward_backward": lambda s: lambda: hmm.forward_backward(*_hmm(s), parallel=True),
    "hmm.viterbi": lambda s: lambda: hmm.viterbi(*_hmm(s), length=5 - s),
    "mixture.gaussian_log_density":
        lambda s: lambda: mixture.gaussian_log_density(_normal(s, 8, 2), _normal(s + 1, 3, 2),
                                                       _uniform(s, 3, 2) + 1.0,
                                                       covariance_type="diag"),
    "mixture.sample_gaussian_components":
        lambda s: lambda: mixture.sample_gaussian_components(
            jax.random.key(s), _normal(s, 3, 2), _mixture_params(s, "full").precisions_cholesky,
            jnp.array([0, 2, 1, s])),
    "mixture.covariances_from_precisions_cholesky":
        lambda s: lambda: mixture.covariances_from_precisions_cholesky(
            _mixture_params(s, "full").precisions_cholesky),
    # Baum-Welch and the model-level HMM functions
    "hmm.log_emissions": lambda s: lambda: hmm.log_emissions(_categorical_hmm(s),
                                                             jnp.array([0, 1, 1, s])),
    "hmm.baum_welch_step":
        lambda s: lambda: hmm.baum_welch_step(_gaussian_hmm(s), _normal(s, 2, 6, 2),
                                              lengths=jnp.array([6, 4 + s]), reg_covar=0.1),
    "hmm.fit_categorical_hmm":
        lambda s: lambda: hmm.fit_categorical_hmm(jax.random.key(s), jnp.array([0, 1, 1, s, 0]),
                                                  2, 2, n_iter=3,
                                                  emission_init=_simplex(s, 2, 2)),
    "hmm.fit_gaussian_hmm":
        lambda s: lambda: hmm.fit_gaussian_hmm(jax.random.key(s), _normal(s, 12, 2), 2,
                                               n_iter=3, tol=0.1 + s),
    "hmm.hmm_posteriors": lambda s: lambda: hmm.hmm_posteriors(_gaussian_hmm(s),
                                                               _normal(s, 6, 2)),
    "hmm.hmm_viterbi": lambda s: lambda: hmm.hmm_viterbi(_categorical_hmm(s),
                                                         jnp.array([[0, 1, 1], [s, 0, 0]]),
                                                         lengths=jnp.array([3, 2 + s])),
    "hmm.sample_hmm": lambda s: lambda: hmm.sample_hmm(jax.random.key(s), _categorical_hmm(s), 5),
    # distributions, pure layer
    "distributions.fit_normal": lambda s: lambda: dist.fit_normal(_normal(s, 9, 2)),
    "distributions.fit_multivariate_normal":
        lambda s: lambda: dist.fit_multivariate_normal(_normal(s, 9, 2), _uniform(s, 9)),
    "distributions.fit_bernoulli": lambda s: lambda: dist.fit_bernoulli(_uniform(s, 9) > 0.5),
    "distributions.fit_categorical":
        lambda s: lambda: dist.fit_categorical(_labels(s, 9, 3), 3, _uniform(s, 9)),
    "distributions.fit_poisson":
        lambda s: lambda: dist.fit_poisson(_labels(s, 9, 4).astype(FLOAT)),
    "distributions.fit_laplace": lambda s: lambda: dist.fit_laplace(_normal(s, 9)),
    "distributions.fit_gamma": lambda s: lambda: dist.fit_gamma(_uniform(s, 9)),
    "distributions.fit_uniform": lambda s: lambda: dist.fit_uniform(_normal(s, 9)),
    "distributions.weighted_mean":
        lambda s: lambda: dist.weighted_mean(_normal(s, 9), _uniform(s, 9)),
    "distributions.weighted_median":
        lambda s: lambda: dist.weighted_median(_normal(s, 9), _uniform(s, 9)),
    "distributions.solve_lower_triangular":
        lambda s: lambda: dist.solve_lower_triangular(jnp.eye(2, dtype=FLOAT) * (1.0 + s),
                                                      _normal(s, 5, 2)),
    # linear algebra and decomposition
    "decomposition.svd_flip": lambda s: lambda: decomposition.svd_flip(_normal(s, 5, 2),
                                                                       _normal(s + 1, 2, 3)),
    "decomposition.truncated_svd": lambda s: lambda: decomposition.truncated_svd(
        _normal(s, 6, 4), 2),
    "decomposition.randomized_svd": lambda s: lambda: decomposition.randomized_svd(
        jax.random.key(s), _normal(s, 6, 4), 2, n_oversamples=1, n_iter=2),
    "decomposition.svd_explained_variance": lambda s: lambda: (
        decomposition.svd_explained_variance(_normal(s, 6, 4),
                                             decomposition.truncated_svd(_normal(s, 6, 4), 2))),
    "decomposition.low_rank_approximation":
        lambda s: lambda: decomposition.low_rank_approximation(_normal(s, 6, 4), 2),
    "decomposition.pinv": lambda s: lambda: decomposition.pinv(_normal(s, 6, 4)),
    "decomposition.power_iteration": lambda s: lambda: decomposition.power_iteration(
        _normal(s, 4, 4), jax.random.key(s), num_iters=20),
    "decomposition.covariance": lambda s: lambda: decomposition.covariance(_normal(s, 9, 3),
                                                                           _uniform(s, 9)),
    "decomposition.pca": lambda s: lambda: decomposition.pca(_normal(s, 9, 3), 2,
                                                             solver="randomized",
                                                             key=jax.random.key(s)),
    "decomposition.truncate_pca": lambda s: lambda: decomposition.truncate_pca(_pca_fit(s), 1),
    "decomposition.pca_transform":
        lambda s: lambda: decomposition.pca_transform(_pca_fit(s), _normal(s, 4, 3)),
    "decomposition.pca_inverse_transform": lambda s: lambda: (
        decomposition.pca_inverse_transform(_pca_fit(s), _normal(s, 4, 2), whiten=True)),
    "decomposition.pca_covariance": lambda s: lambda: decomposition.pca_covariance(_pca_fit(s)),
    "decomposition.pca_log_likelihood":
        lambda s: lambda: decomposition.pca_log_likelihood(_pca_fit(s), _normal(s, 4, 3)),
    "decomposition.rbf_affinity":
        lambda s: lambda: decomposition.rbf_affinity(_normal(s, 6, 2), gamma=0.5 + s),
    "decomposition.nearest_neighbors_affinity":
        lambda s: lambda: decomposition.nearest_neighbors_affinity(_normal(s, 6, 2), 3),
    "decomposition.spectral_embedding": lambda s: lambda: decomposition.spectral_embedding(
        _uniform(s, 6, 6), 2),
    "decomposition.spectral_clustering": lambda s: lambda: decomposition.spectral_clustering(
        jax.random.key(s), _uniform(s, 6, 6), 2, n_init=2),
    "linear.gaussian_naive_bayes_log_proba":
        lambda s: lambda: linear.gaussian_naive_bayes_log_proba(
            _normal(s, 5, 3), _normal(s, 2, 3), _uniform(s, 2, 3), _simplex(s, 2)),
    # MCMC
    "mcmc.rhat": lambda s: lambda: mcmc.rhat(_normal(s, 2, 8, 3)),
    "mcmc.ess": lambda s: lambda: mcmc.ess(_normal(s, 2, 8, 3), "tail"),
    "mcmc.mcse": lambda s: lambda: mcmc.mcse(_normal(s, 2, 8)),
    "mcmc.summary": lambda s: lambda: mcmc.summary({"x": _normal(s, 2, 8)}).rows,
    "mcmc.leapfrog": lambda s: lambda: mcmc.leapfrog(_mcmc_target, _normal(s, 2),
                                                     _normal(s + 1, 2), 0.1 + 0.1 * s, 3 + s),
    "mcmc.rwmh_step": lambda s: lambda: mcmc.rwmh_step(
        jax.random.key(s), _RWMH.init(_normal(s, 2)), _mcmc_target, 0.5 + s),
    "mcmc.mala_step": lambda s: lambda: mcmc.mala_step(
        jax.random.key(s), _HMC.init(_normal(s, 2)), _mcmc_target, 0.5 + s),
    "mcmc.hmc_step": lambda s: lambda: mcmc.hmc_step(
        jax.random.key(s), _HMC.init(_normal(s, 2)), _mcmc_target, 0.1 + s,
        _uniform(s, 2), 3 + s),
    "mcmc.nuts_step": lambda s: lambda: mcmc.nuts_step(
        jax.random.key(s), _HMC.init(_normal(s, 2)), _mcmc_target, 0.1 + s,
        _uniform(s, 2), 4),
    "mcmc.Kernel.step": lambda s: lambda: _NUTS.replace(step_size=0.2 + 0.1 * s).step(
        jax.random.key(s), _NUTS.init(_normal(s, 2))),
    "mcmc.sample": lambda s: lambda: mcmc.sample(
        jax.random.key(s), _NUTS, _normal(s, 2, 2), num_samples=3, num_warmup=25,
        num_chains=2).draws,
    # variational inference
    "vi.meanfield_vi": lambda s: lambda: vi.meanfield_vi(
        jax.random.key(s), _mcmc_target, _normal(s, 2), num_steps=3, num_samples=2,
        initial_scale=0.5 + s).elbo,
    "vi.fullrank_vi": lambda s: lambda: vi.fullrank_vi(
        jax.random.key(s), _mcmc_target, _normal(s, 2), num_steps=3, num_samples=2).elbo,
    # Markov chains
    "markov.simulate": lambda s: lambda: markov.simulate(jax.random.key(s), _simplex(s, 3, 3),
                                                         _simplex(s, 3), 6),
    "markov.n_step": lambda s: lambda: markov.n_step(_simplex(s, 3, 3), jnp.int32(3 + s)),
    "markov.chain_structure": lambda s: lambda: markov.chain_structure(_simplex(s, 3, 3)),
    "markov.is_irreducible": lambda s: lambda: markov.is_irreducible(_simplex(s, 3, 3)),
    "markov.is_aperiodic": lambda s: lambda: markov.is_aperiodic(_simplex(s, 3, 3)),
    "markov.stationary_distribution":
        lambda s: lambda: markov.stationary_distribution(_simplex(s, 3, 3)),
    "markov.spectral_gap": lambda s: lambda: markov.spectral_gap(_simplex(s, 3, 3)),
    "markov.mixing_time_bounds":
        lambda s: lambda: markov.mixing_time_bounds(_simplex(s, 3, 3), 0.1 + 0.1 * s),
    "markov.pagerank": lambda s: lambda: markov.pagerank(_uniform(s, 4, 4), 0.8 + 0.05 * s),
    "markov.ngram_model":
        lambda s: lambda: markov.ngram_model(_labels(s, 8, 3), 2, 3, 0.5 + s),
    "markov.NGramModel.log_prob":
        lambda s: lambda: markov.ngram_model(_labels(0, 8, 3), 2, 3, 1.0).log_prob(
            _labels(s, 5, 3)),
    "markov.NGramModel.sample":
        lambda s: lambda: markov.ngram_model(_labels(0, 8, 3), 2, 3, 1.0).sample(
            jax.random.key(s), jnp.array([s]), 4),
}


def _run(thunk):
    return jax.block_until_ready(thunk())


@pytest.mark.default_mode_only  # see the module docstring
@pytest.mark.parametrize("name", sorted(CALLS))
def test_second_call_compiles_nothing(name):
    make = CALLS[name]
    _run(make(0))
    thunk = make(1)
    with compilations() as counted:
        _run(thunk)
    assert counted() == 0, f"{name}: a second call with the same shapes compiled {counted()}"


def _float64_leaves(tree) -> list[str]:
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return [jax.tree_util.keystr(path) or "output" for path, leaf in leaves
            if hasattr(leaf, "dtype") and jnp.dtype(leaf.dtype) == jnp.dtype(jnp.float64)]


# catalogue calls whose float input is not all float32, so float64 output is right under x64:
# integer labels or counts only (the result is the default float), or parameters given as
# Python floats (a distribution built from Python floats is the default float, as
# jnp.asarray(0.5) is), or an array made with the default float (jnp.zeros, jnp.eye)
_NOT_FLOAT32_INPUT = {
    # labels / integer data only
    "distributions.fit_bernoulli", "distributions.fit_categorical", "info.contingency_table",
    "info.information_gain", "info.mutual_info_score", "metrics.accuracy",
    "metrics.confusion_matrix", "metrics.f1", "metrics.precision", "metrics.recall",
    "markov.ngram_model", "markov.NGramModel.log_prob",
    # distributions or parameters from Python floats
    "bayes.bayesian_linear_regression", "bayes.beta_bernoulli", "bayes.dirichlet_categorical",
    "bayes.gamma_poisson", "bayes.normal_normal", "info.kl", "info.kl_monte_carlo",
    "montecarlo.monte_carlo_mean", "optim.mle", "optim.map_estimate", "losses.l2_penalty",
    # a default-float array among the inputs
    "linear.lasso_duality_gap", "optim.minimize", "optim.fista",
}


@pytest.mark.skipif(not jax.config.jax_enable_x64, reason="float64 exists only under x64")
def test_float32_stays_float32_under_x64(monkeypatch):
    """With x64 on, float32 input gives float32 output: no constant promotes it.

    The x64 run tests float64 everywhere else (tests/conftest.py), so this is where float32
    under x64 is checked, once for every public function and distribution method.
    """
    monkeypatch.setattr(__import__(__name__, fromlist=["FLOAT"]), "FLOAT",
                        np.dtype(np.float32))
    # The output dtypes are those of the traced program, so they are read from
    # jax.eval_shape, which traces each call without compiling it: every public function is
    # jitted at its definition, so a concrete call runs exactly the program traced here.
    promoted = []
    for name, make in sorted(CALLS.items()):
        if name in _NOT_FLOAT32_INPUT:
            continue
        # (these read concrete values on the host: they run concretely)
        thunk = make(0)
        output = thunk() if name in ("mcmc.sample", "mcmc.summary") else jax.eval_shape(thunk)
        if leaves := _float64_leaves(output):
            promoted.append(f"{name}: {leaves}")
    for family, make in sorted(DISTRIBUTIONS.items()):
        for method in METHODS:
            thunk = _method_call(make(0), method, 0, traced_point=True)
            if leaves := _float64_leaves(jax.eval_shape(thunk)):
                promoted.append(f"{family}.{method}: {leaves}")
    assert not promoted, "float32 input, float64 output:\n" + "\n".join(promoted)


# Distributions: constructed from new parameter values, same shapes, every method.
DISTRIBUTIONS = {
    "Normal": lambda s: dist.Normal(_normal(s, 3), _uniform(s, 3)),
    "Laplace": lambda s: dist.Laplace(_normal(s, 3), _uniform(s, 3)),
    "Uniform": lambda s: dist.Uniform(_uniform(s, 3) - 1.0, _uniform(s, 3) + 1.0),
    "Gamma": lambda s: dist.Gamma(_uniform(s, 3, low=1.0, high=3.0), _uniform(s, 3)),
    "Beta": lambda s: dist.Beta(_uniform(s, 3, low=1.0, high=3.0),
                                _uniform(s, 3, low=1.0, high=3.0)),
    "Bernoulli": lambda s: dist.Bernoulli(probs=_uniform(s, 3)),
    "Categorical": lambda s: dist.Categorical(logits=_normal(s, 2, 4)),
    "Poisson": lambda s: dist.Poisson(_uniform(s, 3, low=1.0, high=30.0)),
    "MultivariateNormal": lambda s: dist.MultivariateNormal(
        _normal(s, 2), scale_tril=jnp.eye(2, dtype=FLOAT) * (1.0 + s)),
    "Dirichlet": lambda s: dist.Dirichlet(_uniform(s, 3, low=1.0, high=3.0)),
    "StudentT": lambda s: dist.StudentT(_uniform(s, 3, low=3.0, high=9.0), _normal(s, 3),
                                        _uniform(s, 3)),
    "InverseGamma": lambda s: dist.InverseGamma(_uniform(s, 3, low=3.0, high=5.0),
                                                _uniform(s, 3)),
    "NegativeBinomial": lambda s: dist.NegativeBinomial(_uniform(s, 3, low=1.0, high=5.0),
                                                        probs=_uniform(s, 3)),
}
METHODS = ("log_prob", "prob", "sample", "entropy", "mean", "variance", "stddev")


def _method_call(distribution, method: str, seed: int, traced_point: bool = False):
    if method == "sample":
        return lambda: distribution.sample(jax.random.key(seed), (4,))
    if method in ("log_prob", "prob"):
        if traced_point:  # the point is drawn inside the traced call (for jax.eval_shape)
            return lambda: getattr(distribution, method)(
                distribution.sample(jax.random.key(seed + 10), ()))
        point = distribution.sample(jax.random.key(seed + 10), ())
        return lambda: getattr(distribution, method)(point)
    return getattr(distribution, method)


@pytest.mark.default_mode_only  # see the module docstring
@pytest.mark.parametrize("family", sorted(DISTRIBUTIONS))
def test_distribution_methods_compile_once(family):
    make = DISTRIBUTIONS[family]
    for method in METHODS:
        _run(_method_call(make(0), method, 0))
        with compilations() as counted:
            distribution = make(1)
            _run(_method_call(distribution, method, 1))
        assert counted() == 0, f"{family}.{method}: the second call compiled {counted()}"


@pytest.mark.default_mode_only  # see the module docstring
def test_normal_inverse_gamma_compiles_once():
    def calls(s):
        prior = dist.NormalInverseGamma(_normal(s, 2), jnp.eye(2, dtype=FLOAT) * (1.0 + s),
                                        2.0 + s, 1.0)
        weights, variance = prior.sample(jax.random.key(s), ())
        return [lambda: prior.log_prob(weights, variance),
                lambda: prior.sample(jax.random.key(s), (3,)),
                lambda: prior.predictive(_normal(s, 4, 2)).mean(),
                lambda: prior.variance_distribution().mean()]

    for thunk in calls(0):
        _run(thunk)
    with compilations() as counted:
        for thunk in calls(1):
            _run(thunk)
    assert counted() == 0


@pytest.mark.default_mode_only  # see the module docstring
def test_distribution_fits_compile_once():
    def fits(s):
        x = _uniform(s, 20, low=0.5, high=3.0)
        return [lambda: dist.Normal.fit(x), lambda: dist.Laplace.fit(x),
                lambda: dist.Uniform.fit(x), lambda: dist.Gamma.fit(x),
                lambda: dist.Poisson.fit(jnp.round(x)), lambda: dist.Bernoulli.fit(x > 1.5),
                lambda: dist.Categorical.fit(_labels(s, 20, 3), 3),
                lambda: dist.MultivariateNormal.fit(_normal(s, 20, 2))]

    for thunk in fits(0):
        _run(thunk)
    with compilations() as counted:
        for thunk in fits(1):
            _run(thunk)
    assert counted() == 0


# Estimators: fit and every method, on iris; the second round uses other rows' values.
def _iris(seed):
    X, y = load_iris(return_X_y=True)
    order = _rng(seed).permutation(len(y))
    return X[order].astype(FLOAT), y[order]


ESTIMATORS = {
    "LogisticRegression": (lambda: mlmath.LogisticRegression(), "classifier"),
    "GaussianNB": (lambda: mlmath.GaussianNB(), "classifier"),
    "LinearRegression": (lambda: mlmath.LinearRegression(), "regressor"),
    "Ridge": (lambda: mlmath.Ridge(alpha=0.5), "regressor"),
    "Lasso": (lambda: mlmath.Lasso(alpha=0.01), "regressor"),
    "GaussianMixture": (lambda: mlmath.GaussianMixture(3, covariance_type="diag"), "clusterer"),
    "KMeans": (lambda: mlmath.KMeans(3), "clusterer"),
    "GaussianHMM": (lambda: mlmath.GaussianHMM(2, n_iter=3), "sequence"),
    "CategoricalHMM": (lambda: mlmath.CategoricalHMM(2, n_iter=3), "sequence"),
    "PCA": (lambda: mlmath.PCA(2, whiten=True), "transformer"),
    "TruncatedSVD": (lambda: mlmath.TruncatedSVD(2), "transformer"),
    "SpectralClustering": (lambda: mlmath.SpectralClustering(3, n_init=2), "spectral"),
}
PREDICTORS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def _estimator_round(name: str, seed: int):
    make, kind = ESTIMATORS[name]
    X, y = _iris(seed)
    if kind == "regressor":
        X, y = X[:, :3], X[:, 3]
    if kind == "sequence":  # iris's rows as sequences, its labels as the symbols
        data = y if name == "CategoricalHMM" else X
        model = make().fit(data, [50, 100])
        return [model.predict(data[:7]), model.score(data, [100, 50]),
                model.predict_proba(data[:7], [3, 4]), model.decode(data[:7])[0],
                model.predict(jnp.asarray(data[:7])), model.sample(jax.random.key(seed), 5)]
    if kind == "transformer":
        model = make().fit(X)
        outputs = [model.transform(X[:7]), model.inverse_transform(model.transform(X[:7])),
                   model.fit_transform(X), model.transform(jnp.asarray(X[:7]))]
        if hasattr(model, "score_samples"):
            outputs += [model.score_samples(X[:7]), model.score(X), model.get_covariance()]
        return outputs
    if kind == "spectral":
        return [make().fit_predict(X), make().fit(jnp.asarray(X)).labels_]
    model = make().fit(X, y)
    if kind == "clusterer":
        outputs = [model.predict(X[:7]), model.score(X, y), model.predict(jnp.asarray(X[:7]))]
        for method in ("predict_proba", "score_samples", "transform", "bic"):
            if hasattr(model, method):
                outputs.append(getattr(model, method)(X[:7]))
        return outputs
    outputs = [model.coef_ if hasattr(model, "coef_") else model.theta_]
    for method in PREDICTORS:
        if hasattr(model, method):
            outputs.append(getattr(model, method)(X[:7]))
    outputs.append(model.score(X, y))
    # JAX input, as well as NumPy input
    outputs.append(model.predict(jnp.asarray(X[:7])))
    chex.assert_shape(outputs[-1], (7,))
    if kind == "classifier":
        chex.assert_shape(model.predict_proba(X[:7]), (7, 3))
    return outputs


@pytest.mark.default_mode_only  # see the module docstring
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_methods_compile_once(name):
    jax.block_until_ready(_estimator_round(name, 0))
    with compilations() as counted:
        jax.block_until_ready(_estimator_round(name, 1))
    assert counted() == 0, f"{name}: fit/predict/score compiled {counted()} on the second round"


# Rejected input: the error is raised before anything is compiled, every time.
REJECTED = {
    "info.entropy bad base": lambda: info.entropy(jnp.ones(3) / 3, base=-1.0),
    "info.kl_divergence shapes": lambda: info.kl_divergence(jnp.ones(3) / 3, jnp.ones(4) / 4),
    "losses.softmax_cross_entropy axis":
        lambda: losses.softmax_cross_entropy(jnp.zeros((2, 3)), jnp.zeros(2, int), axis=5),
    "metrics.accuracy lengths": lambda: metrics.accuracy(jnp.zeros(3, int), jnp.zeros(4, int)),
    "losses.gaussian_nll broadcast shapes":
        lambda: losses.gaussian_nll(jnp.zeros(3), 1.0, jnp.zeros((3, 1))),
    "info.mutual_info_score label range":
        lambda: info.mutual_info_score(jnp.asarray([0, 1, 2]), jnp.asarray([0, 1, 1]), num_x=2),
    "metrics.accuracy mixed label kinds":
        lambda: metrics.accuracy(np.array(["a", "b"]), np.array([0, 1])),
    "metrics.f1 string pos_label": lambda: metrics.f1(np.array(["a", "b"]), np.array(["a", "a"])),
    "optim.minimize steps":
        lambda: optim.minimize(_quadratic, jnp.zeros(2), jnp.ones(2), optimizer=_ADAM,
                               max_steps=-1),
    "Normal.sample shape": lambda: dist.Normal(0.0, 1.0).sample(jax.random.key(0), (-1,)),
    "LogisticRegression NaN": lambda: mlmath.LogisticRegression().fit(
        np.array([[0.0, np.nan], [1.0, 2.0]]), np.array([0, 1])),
    "LogisticRegression features": lambda: mlmath.LogisticRegression().fit(
        *_iris(0)).predict(np.zeros((3, 2))),
    "Ridge targets": lambda: mlmath.Ridge().fit(np.ones((4, 2)), np.ones(3)),
    "LogisticRegression score lengths": lambda: mlmath.LogisticRegression().fit(
        *_iris(0)).score(_iris(0)[0], _iris(0)[1][:1]),
    "GaussianNB empty-class score lengths": lambda: mlmath.GaussianNB(classes=(0, 1, 2, 3)).fit(
        *_iris(0)).score(_iris(0)[0][:5], _iris(0)[1]),
    "Lasso hyper-parameter": lambda: mlmath.Lasso(max_iter=1.5),
    "GaussianMixture NaN": lambda: mlmath.GaussianMixture(2).fit(
        np.array([[0.0, np.nan], [1.0, 2.0], [2.0, 2.0]])),
    "GaussianMixture too few samples": lambda: mlmath.GaussianMixture(4).fit(np.ones((3, 2))),
    "hmm.forward_backward K mismatch":
        lambda: hmm.forward_backward(jnp.zeros(3), jnp.zeros((3, 4)), jnp.zeros((5, 3))),
    "KMeans features": lambda: mlmath.KMeans(3).fit(_iris(0)[0]).predict(np.zeros((3, 2))),
    "GaussianHMM lengths": lambda: mlmath.GaussianHMM(2).fit(np.ones((5, 2)), lengths=[2, 2]),
    "CategoricalHMM codes": lambda: mlmath.CategoricalHMM(2).fit(np.array([0, 1, -1, 0])),
    "CategoricalHMM transmat_init": lambda: mlmath.CategoricalHMM(
        2, transmat_init=np.array([[0.5, 0.4], [0.5, 0.5]])).fit(np.array([0, 1, 1, 0])),
    "PCA n_components": lambda: mlmath.PCA(5).fit(_iris(0)[0]),
    "PCA features": lambda: mlmath.PCA(2).fit(_iris(0)[0]).transform(np.zeros((3, 2))),
    "decomposition.pinv rank": lambda: decomposition.pinv(jnp.ones(3)),
    "Ridge alpha grid without vmap": lambda: mlmath.Ridge(alpha=np.ones(2)).fit(
        np.ones((4, 2)), np.ones(4)),
}


@pytest.mark.default_mode_only  # see the module docstring
@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_input_leaves_no_program_behind(name):
    call = REJECTED[name]
    with pytest.raises((ValueError, TypeError)):
        call()
    with compilations() as counted, pytest.raises((ValueError, TypeError)):
        call()
    assert counted() == 0, f"{name}: a rejected call compiled {counted()} programs"


# ---------------------------------------------------------------------------------------
# completeness: every public function of these modules is in the catalogue

# a decorator that registers a closed form; functions of static shapes (no arrays); a
# count read from concrete ratios (it sets a shape, so it runs on the host)
_NOT_FUNCTIONS = {"info.register_kl", "mixture.covariance_shape",
                  # kernel constructors (they bind parameters; their steps are counted) and
                  # a warm-up schedule of static length
                  "mcmc.rwmh", "mcmc.mala", "mcmc.hmc", "mcmc.nuts", "mcmc.gibbs",
                  "mcmc.window_schedule",
                  "decomposition.resolve_pca_solver", "decomposition.components_for_variance"}


def _public_functions():
    modules = {"decomposition": decomposition, "info": info, "losses": losses,
               "metrics": metrics, "optim": optim, "bayes": bayes, "montecarlo": montecarlo,
               "linear": linear,
               "distributions": distributions, "mixture": mixture, "hmm": hmm,
               "markov": markov, "mcmc": mcmc, "vi": vi}
    names = []
    for prefix, module in modules.items():
        for attribute in module.__all__:
            obj = getattr(module, attribute)
            if inspect.isclass(obj) or not callable(obj):
                continue
            names.append(f"{prefix}.{attribute}")
    return names


@pytest.mark.default_mode_only  # see the module docstring
def test_the_catalogue_covers_every_public_function():
    missing = sorted(set(_public_functions()) - set(CALLS) - _NOT_FUNCTIONS)
    assert not missing, f"public functions without a compile-once check: {missing}"
    families = {name for name in distributions.__all__
                if inspect.isclass(getattr(distributions, name))} - {"Distribution",
                                                                    "NormalInverseGamma"}
    assert families <= set(DISTRIBUTIONS), sorted(families - set(DISTRIBUTIONS))
    estimators = {name for name in mlmath.__all__ if inspect.isclass(getattr(mlmath, name))
                  and issubclass(getattr(mlmath, name), Estimator)}
    assert estimators <= set(ESTIMATORS), sorted(estimators - set(ESTIMATORS))


# Functions that read a label set (or check values) on the host before one jitted kernel:
# their eager part dispatches no computation of its own.
_HOST_CHECKED = {
    "info.contingency_table", "info.mutual_info_score", "metrics.accuracy",
    "metrics.confusion_matrix", "metrics.precision", "metrics.recall", "metrics.f1",
    "metrics.log_loss", "metrics.log_loss_from_logits", "metrics.mean_squared_error",
    "metrics.r2_score", "mcmc.sample", "mcmc.summary",
    "optim.interval",  # interval builds a Transform of jitted maps
}


@pytest.mark.default_mode_only  # see the module docstring
def test_every_public_function_is_jitted_at_its_definition():
    """One fused program per shape, not one dispatch per primitive: each public function
    is wrapped by ``mlmath._jit`` (or ``jax.jit``), or checks on the host and then calls a
    jitted kernel (listed above, and counted by the catalogue like every other)."""
    def jitted(obj):
        return hasattr(obj, "__wrapped_jit__") or type(obj).__name__ == "PjitFunction"

    missing = []
    for name in _public_functions():
        module, attribute = name.split(".")
        obj = getattr(getattr(mlmath, module), attribute)
        if not jitted(obj) and name not in _HOST_CHECKED | _NOT_FUNCTIONS:
            missing.append(name)
    assert not missing, f"public functions not jitted at their definition: {missing}"
    for family in DISTRIBUTIONS:
        cls = getattr(dist, family)
        for method in METHODS:
            assert jitted(getattr(cls, method)), f"{family}.{method} is not jitted"


@pytest.mark.default_mode_only  # see the module docstring
def test_the_counter_counts():
    """The check can fail: a new shape, or a fresh lambda under jit, does compile."""
    info.entropy(_simplex(0, 3))
    with compilations() as counted:
        info.entropy(_simplex(0, 5))
    assert counted() >= 1
    with compilations() as counted:
        optim.lbfgs(lambda x: jnp.sum((x - 1.0) ** 2), jnp.zeros(2))
    assert counted() >= 1
