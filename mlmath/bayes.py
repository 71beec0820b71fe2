"""Bayesian inference in closed form: Bayes' rule on tables, conjugate updates, evidence.

:func:`posterior` applies Bayes' rule to a discrete set of hypotheses, in log space. The
conjugate updates take a prior distribution object and data and return a
:class:`Conjugate`: the posterior (a distribution of the prior's family), the posterior
predictive distribution of one new observation, and the log marginal likelihood
(evidence) :math:`\\log p(x_{1:n}) = \\log\\int p(x_{1:n}\\mid\\theta)\\,p(\\theta)\\,d\\theta`:

==================================  ======================  ===============  ====================
update                              prior                   likelihood       predictive
==================================  ======================  ===============  ====================
:func:`beta_bernoulli`              ``Beta``                Bernoulli        ``Bernoulli``
:func:`dirichlet_categorical`       ``Dirichlet``           Categorical      ``Categorical``
:func:`gamma_poisson`               ``Gamma``               Poisson          ``NegativeBinomial``
:func:`normal_normal`               ``Normal``              Normal (known    ``Normal``
                                                            scale)
:func:`bayesian_linear_regression`  ``NormalInverseGamma``  linear-Gaussian  ``StudentT`` per row
==================================  ======================  ===============  ====================

Observations run along axis 0; the prior's batch shape, if any, follows.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import as_float, normalize_axis
from mlmath.distributions import (
    Bernoulli,
    Beta,
    Categorical,
    Dirichlet,
    Distribution,
    Gamma,
    NegativeBinomial,
    Normal,
    NormalInverseGamma,
)

__all__ = [
    "BayesResult",
    "Conjugate",
    "RegressionPosterior",
    "bayesian_linear_regression",
    "beta_bernoulli",
    "dirichlet_categorical",
    "gamma_poisson",
    "normal_normal",
    "posterior",
    "posterior_from_log",
]


class BayesResult(NamedTuple):
    """Posterior probabilities over hypotheses and the log evidence ``log p(D)``."""

    posterior: Array
    log_evidence: Array


@jit(static_argnames="axis")
def posterior_from_log(log_prior, log_likelihood, axis: int = -1) -> BayesResult:
    r"""Bayes' rule in log space over the hypotheses along ``axis``.

    .. math:: \log p(h\mid D) = \log p(D\mid h) + \log p(h) - \log p(D),\qquad
              \log p(D) = \operatorname{logsumexp}_h\big[\log p(D\mid h) + \log p(h)\big]

    Accurate when every likelihood underflows in linear space (a thousand observations
    multiply to ``1e-500``). Hypotheses with prior ``-inf`` keep posterior 0.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.bayes import posterior_from_log
        >>> log_prior = jnp.log(jnp.array([0.5, 0.5]))
        >>> result = posterior_from_log(log_prior, jnp.array([-1000.0, -1001.0]))
        >>> [round(float(p), 4) for p in result.posterior]  # e / (1 + e), 1 / (1 + e)
        [0.7311, 0.2689]
    """
    log_prior, log_likelihood = jnp.broadcast_arrays(
        as_float(log_prior, "log_prior"), as_float(log_likelihood, "log_likelihood")
    )
    axis = normalize_axis(axis, max(log_prior.ndim, 1))
    possible = log_prior > -jnp.inf
    # Only differences between hypotheses matter. Summing log prior and log likelihood of
    # size 1000 directly would round them to the spacing of floats near 1000 (6e-5 in
    # float32, a relative error of that size in the posterior); the largest finite value
    # of each is subtracted first (exactly, for nearby values), and added back to the
    # evidence. The shifts are constants for differentiation: the result does not depend
    # on them.
    def largest(values):
        finite = possible & jnp.isfinite(values)
        peak = jnp.max(jnp.where(finite, values, -jnp.inf), axis=axis, keepdims=True)
        return jax.lax.stop_gradient(jnp.where(jnp.isfinite(peak), peak, 0.0))

    prior_shift, likelihood_shift = largest(log_prior), largest(log_likelihood)
    log_joint = jnp.where(possible, (log_likelihood - likelihood_shift)
                          + (log_prior - prior_shift), -jnp.inf)
    log_scaled_evidence = jax.nn.logsumexp(log_joint, axis=axis, keepdims=True)
    log_posterior = log_joint - log_scaled_evidence
    log_evidence = log_scaled_evidence + (prior_shift + likelihood_shift)
    return BayesResult(jnp.exp(log_posterior), jnp.squeeze(log_evidence, axis))


@jit(static_argnames="axis")
def posterior(prior, likelihood, axis: int = -1) -> BayesResult:
    r"""Bayes' rule on a discrete table of hypotheses: :math:`p(h\mid D)\propto p(D\mid h)\,p(h)`.

    Args:
        prior: :math:`p(h)` along ``axis`` (need not be normalized; it is used as given).
        likelihood: :math:`p(D\mid h)`, broadcastable with ``prior``.
        axis: the hypothesis axis.

    Returns:
        :class:`BayesResult` (posterior along ``axis``, log evidence without it); computed
        in log space by :func:`posterior_from_log`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.bayes import posterior
        >>> # a test with 99% sensitivity and 95% specificity; 1% prevalence; a positive result
        >>> result = posterior(jnp.array([0.01, 0.99]), jnp.array([0.99, 0.05]))
        >>> round(float(result.posterior[0]), 4)  # P(disease | positive)
        0.1667
    """
    return posterior_from_log(_special.safe_log(as_float(prior, "prior")),
                              _special.safe_log(as_float(likelihood, "likelihood")), axis)


class Conjugate(NamedTuple):
    """Result of a conjugate update.

    Attributes:
        posterior: the posterior distribution over the parameter.
        predictive: the posterior predictive distribution of one new observation.
        log_marginal_likelihood: :math:`\\log p(x_{1:n})`, the evidence for the model.
    """

    posterior: Distribution
    predictive: Distribution
    log_marginal_likelihood: Array


def _observations(x, name: str, owner: str):
    x = jnp.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"{owner}: {name} must have the observations along axis 0, got a scalar")
    return x


def _exclusive_sum(values):
    """``sum_{l != j} values_l`` for each ``j`` of the last axis, without subtraction.

    The sum of the entries before ``j`` plus the sum of those after it (both sums of
    non-negative terms for concentrations), so an entry that dominates the total does not
    wipe out the others as ``total - values_j`` would.
    """
    zero = jnp.zeros_like(values[..., :1])
    before = jnp.concatenate([zero, jnp.cumsum(values[..., :-1], axis=-1)], axis=-1)
    after = jnp.concatenate([jnp.cumsum(values[..., :0:-1], axis=-1)[..., ::-1], zero], axis=-1)
    return before + after


def _relative_gap(difference, ratio):
    """``ratio - 1 - log(ratio) >= 0`` from ``ratio`` and ``difference = ratio - 1``.

    The caller computes ``difference`` without cancellation (from the exact inputs); from
    ``-1/2`` up it goes through :func:`mlmath._special.log1p_gap` (its series where the gap is
    ``~difference^2 / 2``), below through ``log(ratio)``, since ``1 + difference`` would lose
    the relative accuracy of a small ``ratio``.
    """
    near = difference >= -0.5
    gap_near = _special.log1p_gap(jnp.where(near, difference, 0.0))
    far_difference = jnp.where(near, -0.5, difference)
    far_ratio = jnp.where(near, 0.5, ratio)
    return jnp.where(near, gap_near, far_difference - jnp.log(far_ratio))


def _log_beta_ratio(concentration, counts):
    r"""``log B(alpha + c) - log B(alpha)`` along the last axis, without cancellation.

    With :math:`\delta` the Stirling remainder (:func:`mlmath._special.stirling_correction`),
    :math:`n = \sum_j c_j`, :math:`\alpha_0 = \sum_j\alpha_j`, the posterior mean
    :math:`P_j = (\alpha_j + c_j)/(\alpha_0 + n)` and the prior mean
    :math:`Q_j = \alpha_j/\alpha_0`, Stirling's formula for each ``lgamma`` cancels
    analytically into

    .. math:: \sum_j c_j\log P_j - \sum_j \alpha_j\,g\Big(\frac{P_j}{Q_j} - 1\Big)
        - \tfrac12\sum_j\log\Big(1 + \frac{c_j}{\alpha_j}\Big)
        + \tfrac12\log\Big(1 + \frac n{\alpha_0}\Big)
        + \sum_j[\delta(\alpha_j + c_j) - \delta(\alpha_j)] - \delta(\alpha_0 + n)
        + \delta(\alpha_0),

    :math:`g(v) = v - \log(1 + v) \ge 0` (the middle sum is :math:`\alpha_0` times
    :math:`\mathrm{KL}(Q\,\Vert\,P)`). The two leading sums are sums of terms of one sign,
    of the size of the result; the rest are logarithms and remainders of order one. Each
    ingredient is formed from the exact inputs: :math:`\log P_j` as
    :math:`\log(1 - (N - A_j)/N)` where :math:`P_j > 1/2`, with :math:`N - A_j` the sum of
    the other posterior concentrations (:func:`_exclusive_sum`), and
    :math:`P_j/Q_j - 1 = (c_j\sum_{l\ne j}\alpha_l - (n - c_j)\alpha_j)/(\alpha_j N)`.
    """
    total = jnp.sum(concentration, axis=-1, keepdims=True)
    n = jnp.sum(counts, axis=-1, keepdims=True)
    others = _exclusive_sum(concentration)
    other_counts = n - counts
    posterior_ = concentration + counts
    posterior_others = others + other_counts
    posterior_total = total + n
    dominant = posterior_ > posterior_others
    log_mean = jnp.where(dominant,
                         jnp.log1p(-jnp.where(dominant, posterior_others, 0.0) / posterior_total),
                         jnp.log(posterior_ / posterior_total))
    difference = (counts * others - other_counts * concentration) / (
        concentration * posterior_total)
    ratio = (posterior_ / concentration) * (total / posterior_total)
    delta = _special.stirling_correction
    value = (
        jnp.sum(counts * log_mean, axis=-1, keepdims=True)
        - jnp.sum(concentration * _relative_gap(difference, ratio), axis=-1, keepdims=True)
        - 0.5 * jnp.sum(jnp.log1p(counts / concentration), axis=-1, keepdims=True)
        + 0.5 * jnp.log1p(n / total)
        + jnp.sum(delta(posterior_) - delta(concentration), axis=-1, keepdims=True)
        - delta(posterior_total) + delta(total)
    )
    return value[..., 0]


@jit
def beta_bernoulli(prior: Beta, x) -> Conjugate:
    r"""Beta prior, Bernoulli observations: the coin-flipping update.

    .. math:: \theta\sim\mathrm{Beta}(a, b),\ x_i\mid\theta\sim\mathrm{Bernoulli}(\theta)
              \ \Rightarrow\ \theta\mid x\sim\mathrm{Beta}(a + k, b + n - k),\ k = \sum_i x_i

    Predictive :math:`P(x_{n+1}=1\mid x) = (a+k)/(a+b+n)`; evidence
    :math:`\log B(a+k, b+n-k) - \log B(a, b)`, computed as for
    :func:`dirichlet_categorical` (two categories) in a form whose ``lgamma`` terms of order
    :math:`n\log n` have cancelled analytically: accurate to a few ulps of its size (plus
    an absolute few ulps) from no observations to :math:`10^7` and beyond, for any
    concentrations.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.bayes import beta_bernoulli
        >>> from mlmath.distributions import Beta
        >>> update = beta_bernoulli(Beta(1.0, 1.0), jnp.array([1, 1, 0, 1]))
        >>> float(update.posterior.concentration1), round(float(update.predictive.probs), 4)
        (4.0, 0.6667)
    """
    x = _observations(x, "x", "beta_bernoulli").astype(prior.dtype)
    heads = jnp.sum(x, axis=0)
    tails = x.shape[0] - heads
    posterior_ = Beta(prior.concentration1 + heads, prior.concentration0 + tails)
    a, b = posterior_.concentration1, posterior_.concentration0
    evidence = _log_beta_ratio(prior._pair(), jnp.stack([heads, tails], axis=-1))
    return Conjugate(posterior_, Bernoulli(probs=a / (a + b)), evidence)


@jit
def dirichlet_categorical(prior: Dirichlet, x) -> Conjugate:
    r"""Dirichlet prior, Categorical observations (integer labels ``0..K-1``).

    .. math:: \pi\sim\mathrm{Dir}(\alpha)\ \Rightarrow\ \pi\mid x\sim\mathrm{Dir}(\alpha + c),
              \quad c_k = \#\{i: x_i = k\}

    Predictive :math:`P(x_{n+1}=k\mid x) = (\alpha_k + c_k)/\sum_j(\alpha_j + c_j)`; evidence
    :math:`\log B(\alpha + c) - \log B(\alpha)` (of the sequence of labels). With
    :math:`\delta` the Stirling remainder of ``lgamma``, :math:`n = \sum_k c_k`, the posterior
    mean :math:`P_k = (\alpha_k + c_k)/(\alpha_0 + n)` and the prior mean
    :math:`Q_k = \alpha_k/\alpha_0`, it is evaluated as

    .. math:: \sum_k c_k\log P_k - \sum_k\alpha_k\,g(P_k/Q_k - 1)
        - \tfrac12\sum_k\log(1 + c_k/\alpha_k) + \tfrac12\log(1 + n/\alpha_0)
        + \sum_k[\delta(\alpha_k + c_k) - \delta(\alpha_k)] - \delta(\alpha_0 + n)
        + \delta(\alpha_0),\qquad g(v) = v - \log(1 + v)\ge 0,

    two sums of terms of one sign and of the size of the evidence, and terms of order one,
    each formed without cancellation (``log P_k`` by ``log1p`` of the other categories'
    share where ``P_k > 1/2``; ``P_k/Q_k - 1`` from the exact counts). The textbook
    difference of ``lgamma`` values loses :math:`\epsilon\, n\log n` instead (a nat in
    float32 at :math:`n = 10^6`).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.bayes import dirichlet_categorical
        >>> from mlmath.distributions import Dirichlet
        >>> update = dirichlet_categorical(Dirichlet(jnp.ones(3)), jnp.array([0, 2, 2]))
        >>> update.posterior.concentration.tolist()
        [2.0, 1.0, 3.0]
        >>> [round(float(p), 4) for p in update.predictive.probs]
        [0.3333, 0.1667, 0.5]
    """
    x = _observations(x, "x", "dirichlet_categorical")
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"dirichlet_categorical: x must hold integer labels, got {x.dtype}")
    k = prior.event_shape[0]
    counts = jnp.sum(jax.nn.one_hot(x, k, dtype=prior.dtype), axis=0)
    concentration = prior.concentration + counts
    evidence = _log_beta_ratio(prior.concentration, counts)
    probs = concentration / jnp.sum(concentration, axis=-1, keepdims=True)
    return Conjugate(Dirichlet(concentration), Categorical(probs=probs), evidence)


@jit
def gamma_poisson(prior: Gamma, x) -> Conjugate:
    r"""Gamma prior on a Poisson rate, count observations.

    .. math:: \lambda\sim\mathrm{Gamma}(a, b)\ \Rightarrow\
              \lambda\mid x\sim\mathrm{Gamma}\big(a + \textstyle\sum_i x_i,\ b + n\big)

    The predictive is negative binomial with ``total_count = a'`` and success probability
    ``1 / (b' + 1)`` (a Poisson whose rate is Gamma-distributed); the evidence is
    :math:`\sum_i -\log x_i! + a\log b - \log\Gamma(a) + \log\Gamma(a') - a'\log b'`,
    evaluated without its cancelling terms of order :math:`n\log n`: with :math:`\bar x`
    the sample mean, :math:`s = \sum_i x_i`, the posterior mean rate
    :math:`\bar\lambda = a'/b'` and :math:`\rho = \bar\lambda/(a/b)`,

    .. math:: \sum_i\log\mathrm{Poisson}(x_i\mid\bar x) - \mathrm{bd0}(s, n\bar\lambda)
        - a\,g(\rho - 1) - \tfrac12\log(1 + s/a) + \delta(a') - \delta(a),

    :math:`g(v) = v - \log(1 + v)`, :math:`\delta` the Stirling remainder and
    :math:`\mathrm{bd0}` Loader's deviance term (the Poisson terms by Loader's saddle-point
    form): every term but the last three is of one sign.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.bayes import gamma_poisson
        >>> from mlmath.distributions import Gamma
        >>> update = gamma_poisson(Gamma(2.0, 1.0), jnp.array([3, 5, 4]))
        >>> float(update.posterior.concentration), float(update.posterior.rate)
        (14.0, 4.0)
        >>> round(float(update.predictive.mean()), 4)  # the posterior mean rate, 14 / 4
        3.5
    """
    x = _observations(x, "x", "gamma_poisson").astype(prior.dtype)
    n = x.shape[0]
    a, b = prior.concentration, prior.rate
    total = jnp.sum(x, axis=0)
    a_post = a + total
    b_post = b + n
    # Stirling's formula for both lgamma terms, with the data's log-likelihood split at the
    # sample mean (sum_i bd0(x_i, m) = sum_i bd0(x_i, mean) + bd0(total, n m)), leaves terms
    # of one sign and of the size of the result (see the docstring)
    if n == 0:
        data_term = jnp.zeros_like(total)
    else:
        data_term = jnp.sum(_special.log_poisson_kernel(x, total / n), axis=0)
    difference = (b * total - a * n) / (a * b_post)  # posterior mean / prior mean - 1
    ratio = (a_post / a) * (b / b_post)
    evidence = (
        data_term
        - _special.bd0(total, n * (a_post / b_post))
        - a * _relative_gap(difference, ratio)
        - 0.5 * jnp.log1p(total / a)
        + _special.stirling_correction(a_post) - _special.stirling_correction(a)
    )
    predictive = NegativeBinomial(a_post, probs=1.0 / (b_post + 1.0))
    return Conjugate(Gamma(a_post, b_post), predictive, evidence)


@jit
def normal_normal(prior: Normal, x, noise_scale) -> Conjugate:
    r"""Normal prior on a mean, Normal observations of known standard deviation ``noise_scale``.

    .. math:: \mu\sim\mathcal N(\mu_0,\tau_0^2),\ x_i\mid\mu\sim\mathcal N(\mu,\sigma^2)
              \ \Rightarrow\ \frac1{\tau_n^2} = \frac1{\tau_0^2} + \frac n{\sigma^2},\quad
              \mu_n = \tau_n^2\Big(\frac{\mu_0}{\tau_0^2} + \frac{\sum_i x_i}{\sigma^2}\Big)

    Predictive :math:`\mathcal N(\mu_n, \tau_n^2 + \sigma^2)`. The evidence is the density
    of :math:`x\sim\mathcal N(\mu_0 1, \sigma^2 I + \tau_0^2 11^\top)`, evaluated in closed
    form (matrix determinant lemma and Sherman–Morrison), :math:`O(n)`, with the quadratic
    form as the sum of its two non-negative parts
    :math:`\sum_i(x_i-\bar x)^2/\sigma^2 + n(\bar x-\mu_0)^2/(\sigma^2+n\tau_0^2)` (a
    refined two-pass sample mean), which does not cancel when the data sit far from
    :math:`\mu_0`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.bayes import normal_normal
        >>> from mlmath.distributions import Normal
        >>> update = normal_normal(Normal(0.0, 1.0), jnp.array([2.0, 2.0, 2.0]), noise_scale=1.0)
        >>> float(update.posterior.loc), float(update.posterior.scale)  # 6/4, sqrt(1/4)
        (1.5, 0.5)
    """
    x = _observations(x, "x", "normal_normal").astype(prior.dtype)
    sigma = jnp.asarray(noise_scale, prior.dtype)
    n = x.shape[0]
    # each observation's shape broadcasts against the prior's batch shape (and the noise
    # scale's) like the other updates', which sum over axis 0 first: x (n,) is one data set
    # shared by a batch of priors, not n values to pair with n priors
    parameter_ndim = max(prior.loc.ndim, sigma.ndim)
    if x.ndim - 1 < parameter_ndim:
        x = x.reshape((n,) + (1,) * (parameter_ndim - x.ndim + 1) + x.shape[1:])
    mu0, tau0 = prior.loc, prior.scale
    sigma2, tau02 = sigma * sigma, tau0 * tau0
    precision = 1.0 / tau02 + n / sigma2
    variance = 1.0 / precision
    mean = variance * (mu0 / tau02 + jnp.sum(x, axis=0) / sigma2)
    centred = x - mu0
    total = jnp.sum(centred, axis=0)
    spread = sigma2 + n * tau02
    # the quadratic form (x - mu0 1)^T (sigma^2 I + tau0^2 1 1^T)^-1 (x - mu0 1) as the sum
    # of its two non-negative parts, the scatter about the sample mean over sigma^2 and
    # n (mean - mu0)^2 / spread, not the difference sum c_i^2 / sigma^2 -
    # tau0^2 total^2 / (sigma^2 spread), which cancels when the data sit far from mu0
    if n == 0:
        quadratic = jnp.zeros_like(total / spread)
    else:
        # the sample mean, refined by the mean of the deviations from its first rounding
        first = total / n
        mean_offset = first + jnp.sum(centred - first, axis=0) / n
        scatter = centred - mean_offset
        quadratic = (jnp.sum(scatter * scatter, axis=0) / sigma2
                     + n * mean_offset * mean_offset / spread)
    evidence = -0.5 * (n * math.log(2.0 * math.pi) + (n - 1) * jnp.log(sigma2)
                       + jnp.log(spread) + quadratic)
    return Conjugate(Normal(mean, jnp.sqrt(variance)),
                     Normal(mean, jnp.sqrt(variance + sigma2)), evidence)


class RegressionPosterior(NamedTuple):
    """Posterior of Bayesian linear regression and its log marginal likelihood.

    ``posterior.predictive(X_new)`` is the Student-t predictive of new targets.
    """

    posterior: NormalInverseGamma
    log_marginal_likelihood: Array


@jit
def bayesian_linear_regression(prior: NormalInverseGamma, X, y) -> RegressionPosterior:
    r"""Normal–Inverse-Gamma prior, Normal linear model: Bayesian linear regression.

    .. math:: \sigma^2\sim\mathrm{IG}(a_0, b_0),\quad
              w\mid\sigma^2\sim\mathcal N(m_0,\sigma^2\Lambda_0^{-1}),\quad
              y\mid X, w,\sigma^2\sim\mathcal N(Xw,\sigma^2 I)

    give the posterior :math:`\Lambda_n = \Lambda_0 + X^\top X`,
    :math:`m_n = \Lambda_n^{-1}(\Lambda_0 m_0 + X^\top y)`, :math:`a_n = a_0 + n/2`,
    :math:`b_n = b_0 + \tfrac12[\lVert y - Xm_n\rVert^2 + (m_n-m_0)^\top\Lambda_0(m_n-m_0)]`
    (a sum of non-negative terms, rather than the cancelling textbook form), and the
    evidence :math:`-\tfrac n2\log 2\pi + \tfrac12\log\frac{|\Lambda_0|}{|\Lambda_n|} +
    a_0\log b_0 - a_n\log b_n + \log\frac{\Gamma(a_n)}{\Gamma(a_0)}`, evaluated as
    :math:`\tfrac n2\log\frac{\bar\lambda}{2\pi} - \bar\lambda(b_n - b_0)
    - a_0\,g(\rho - 1) - \tfrac12\log\frac{a_n}{a_0} + \delta(a_n) - \delta(a_0)
    + \tfrac12\log\frac{|\Lambda_0|}{|\Lambda_n|}` (:math:`\bar\lambda = a_n/b_n` the
    posterior mean noise precision, :math:`\rho = \bar\lambda b_0/a_0`,
    :math:`g(v) = v - \log(1+v)`, :math:`\delta` the Stirling remainder), in which the
    ``lgamma`` terms of order :math:`n\log n` (or :math:`a_0\log a_0` for a strong prior)
    have cancelled analytically. Add a column of ones to ``X`` for an intercept. Everything
    goes through Cholesky factors.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.bayes import bayesian_linear_regression
        >>> from mlmath.distributions import NormalInverseGamma
        >>> prior = NormalInverseGamma(jnp.zeros(1), 1e-6 * jnp.eye(1), 1.0, 1.0)
        >>> X = jnp.array([[1.0], [2.0], [3.0]])
        >>> result = bayesian_linear_regression(prior, X, 2.0 * X[:, 0])
        >>> round(float(result.posterior.loc[0]), 4)   # a nearly flat prior: least squares
        2.0
    """
    X = as_float(X, "X", prior.dtype)
    y = as_float(y, "y", prior.dtype)
    if X.ndim != 2 or X.shape[1] != prior.event_shape[0]:
        raise ValueError(
            f"bayesian_linear_regression: X must have shape (n, {prior.event_shape[0]}), "
            f"got {X.shape}"
        )
    if y.shape != (X.shape[0],):
        raise ValueError(f"bayesian_linear_regression: y must have shape ({X.shape[0]},), "
                         f"got {y.shape}")
    n = X.shape[0]
    precision = prior.precision + X.T @ X
    factor = jnp.linalg.cholesky(precision)
    mean = jax.scipy.linalg.cho_solve((factor, True), prior.precision @ prior.loc + X.T @ y)
    residual = y - X @ mean
    shift = mean - prior.loc
    a = prior.concentration + 0.5 * n
    quadratic = 0.5 * (residual @ residual + shift @ prior.precision @ shift)
    b = prior.rate + quadratic
    log_det_prior = 2.0 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(prior.precision))))
    log_det_posterior = 2.0 * jnp.sum(jnp.log(jnp.diagonal(factor)))
    # Stirling's formula for lgamma(a_n) - lgamma(a_0), combined with a_0 log b_0 - a_n log b_n
    # (each of order n log n) so that only terms of the size of the result remain: the
    # Gaussian log-likelihood at the posterior mean precision a_n / b_n, a_0 times the gap
    # g(rho - 1) of the ratio rho of posterior to prior mean precision, and remainders
    a0, b0, half_n = prior.concentration, prior.rate, 0.5 * n
    precision_mean = a / b
    difference = (half_n * b0 - a0 * quadratic) / (a0 * b)  # rho - 1, from the exact parts
    ratio = (a / a0) * (b0 / b)
    evidence = (
        half_n * (jnp.log(precision_mean) - math.log(2.0 * math.pi))
        - precision_mean * quadratic
        - a0 * _relative_gap(difference, ratio)
        - 0.5 * jnp.log1p(half_n / a0)
        + _special.stirling_correction(a) - _special.stirling_correction(a0)
        + 0.5 * (log_det_prior - log_det_posterior)
    )
    return RegressionPosterior(NormalInverseGamma(mean, precision, a, b), evidence)
