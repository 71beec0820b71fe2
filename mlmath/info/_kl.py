"""KL divergence between distribution objects: closed forms in a registry, and Monte Carlo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from mlmath import _linalg, _special
from mlmath._jit import jit
from mlmath._validation import broadcast_shapes_or_raise
from mlmath.distributions import (
    Bernoulli,
    Beta,
    Categorical,
    Dirichlet,
    Distribution,
    Gamma,
    Laplace,
    MultivariateNormal,
    Normal,
    Poisson,
    Uniform,
    solve_lower_triangular,
)

_KL_REGISTRY: dict[tuple[type, type], Callable] = {}

F = TypeVar("F", bound=Callable[..., Any])


def register_kl(p_type: type, q_type: type) -> Callable[[F], F]:
    """Register a closed-form ``KL(p || q)`` for instances of ``p_type`` and ``q_type``.

    Use as a decorator on ``fn(p, q) -> array``; :func:`kl` then dispatches to it, for
    subclasses too (the closest registered pair along both MROs wins). This module registers
    its own pairs this way, for example the cross-family pair::

        @register_kl(Normal, Laplace)
        def _kl_normal_laplace(p, q):
            ...  # -H(p) + log(2 b_q) + E_p|x - mu_q| / b_q

    Example:
        >>> from mlmath.distributions import Laplace, Normal
        >>> from mlmath.info import kl
        >>> round(float(kl(Normal(0.0, 1.0), Laplace(0.0, 1.0))), 6)  # sqrt(2/pi) - 1/2 - log(pi)/2
        0.072093
    """

    def decorator(function: F) -> F:
        _KL_REGISTRY[(p_type, q_type)] = function
        return function

    return decorator


def _lookup(p_type: type, q_type: type):
    best = None
    for i, p_base in enumerate(p_type.__mro__):
        for j, q_base in enumerate(q_type.__mro__):
            function = _KL_REGISTRY.get((p_base, q_base))
            if function is not None and (best is None or i + j < best[0]):
                best = (i + j, function)
    return None if best is None else best[1]


@jit
def kl(p: Distribution, q: Distribution) -> Array:
    r"""Closed-form :math:`D_{KL}(p\|q) = \mathbb E_p[\log p(x) - \log q(x)]` of two distributions.

    Available for every same-family pair with a closed form: Normal, MultivariateNormal,
    Bernoulli, Categorical, Laplace, Poisson, Gamma, Beta, Dirichlet and Uniform. Each is
    written as a sum of terms that are non-negative or second order near ``p == q``, so
    nearly equal distributions give small non-negative values rather than the noise of a
    difference of large numbers. Batch shapes broadcast. New pairs are added with
    :func:`register_kl`; for pairs with no closed form use :func:`kl_monte_carlo`.

    Example:
        >>> from mlmath.distributions import Normal
        >>> from mlmath.info import kl
        >>> float(kl(Normal(0.0, 1.0), Normal(1.0, 1.0)))  # (mu_p - mu_q)^2 / 2
        0.5
    """
    if not isinstance(p, Distribution) or not isinstance(q, Distribution):
        raise TypeError(
            f"kl expects two Distribution objects, got {type(p).__name__} and {type(q).__name__}"
        )
    function = _lookup(type(p), type(q))
    if function is None:
        raise TypeError(
            f"kl: no closed form is registered for KL({type(p).__name__} || "
            f"{type(q).__name__}); use kl_monte_carlo, or add one with register_kl"
        )
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"kl: event shapes differ, p has {p.event_shape} and q has {q.event_shape}"
        )
    shape = broadcast_shapes_or_raise("kl", p=p.batch_shape, q=q.batch_shape)
    return jnp.broadcast_to(function(p, q), shape)


@jit(static_argnames="num_samples")
def kl_monte_carlo(key: ArrayLike, p: Distribution, q: Distribution, num_samples: int) -> Array:
    r"""Monte Carlo estimate of :math:`D_{KL}(p\|q)` from ``num_samples`` draws of ``p``.

    .. math:: \hat D = \frac1n \sum_{i=1}^n \big[\log p(x_i) - \log q(x_i)\big],
              \quad x_i \sim p

    Unbiased for any pair whose supports nest; its standard error is the standard deviation
    of the log-ratio over :math:`\sqrt n`. Reparameterized samplers (Normal, Laplace,
    Gamma, ...) make it differentiable in ``p``'s parameters.

    Example:
        >>> import jax
        >>> from mlmath.distributions import Normal, Laplace
        >>> from mlmath.info import kl_monte_carlo
        >>> kl_monte_carlo(jax.random.key(0), Normal(0.0, 1.0), Laplace(0.0, 1.0), 1000).shape
        ()
    """
    if not isinstance(num_samples, int | np.integer) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"kl_monte_carlo: event shapes differ, p has {p.event_shape} and q has "
            f"{q.event_shape}"
        )
    broadcast_shapes_or_raise("kl_monte_carlo", p=p.batch_shape, q=q.batch_shape)
    samples = p.sample(key, (int(num_samples),))
    return jnp.mean(p.log_prob(samples) - q.log_prob(samples), axis=0)


# ----------------------------------------------------------------------------------------
# Closed forms. phi(d) = d - 1 + exp(-d) >= 0 (see mlmath._special).


@register_kl(Normal, Normal)
def _kl_normal(p: Normal, q: Normal):
    # 1/2 [r^2 - 1 - log r^2] + (mu_p - mu_q)^2 / (2 s_q^2), r = s_p / s_q
    log_ratio = jnp.log(p.scale) - jnp.log(q.scale)
    z = (p.loc - q.loc) / q.scale
    return 0.5 * _special.phi(-2.0 * log_ratio) + 0.5 * z * z


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariate_normal(p: MultivariateNormal, q: MultivariateNormal):
    # With M = L_q^{-1} L_p (lower triangular):
    # 2 KL = tr(M M^T) - d - log det(M M^T) + |L_q^{-1}(mu_p - mu_q)|^2
    #      = sum_i phi(-2 log|M_ii|) + sum_{i>j} M_ij^2 + |L_q^{-1}(mu_p - mu_q)|^2,
    # a sum of non-negative terms.
    batch = tuple(np.broadcast_shapes(p.scale_tril.shape[:-2], q.scale_tril.shape[:-2]))
    d = p.event_shape[0]
    factor_p = jnp.broadcast_to(p.scale_tril, batch + (d, d))
    factor_q = jnp.broadcast_to(q.scale_tril, batch + (d, d))
    m = _linalg.solve_triangular(factor_q, factor_p, lower=True)
    diagonal = jnp.diagonal(m, axis1=-2, axis2=-1)
    strictly_lower = jnp.tril(m, k=-1)
    shape_term = jnp.sum(_special.phi(-2.0 * jnp.log(jnp.abs(diagonal))), axis=-1) + jnp.sum(
        strictly_lower * strictly_lower, axis=(-2, -1)
    )
    whitened = solve_lower_triangular(q.scale_tril, p.loc - q.loc)
    return 0.5 * (shape_term + jnp.sum(whitened * whitened, axis=-1))


def _two_class_log_probs(distribution: Bernoulli):
    log_zero, log_one = distribution._log_probs_pair()
    return jnp.stack([log_zero, log_one], axis=-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli(p: Bernoulli, q: Bernoulli):
    log_p, log_q = jnp.broadcast_arrays(_two_class_log_probs(p), _two_class_log_probs(q))
    return jnp.sum(_special.kl_terms(None, None, log_p, log_q), axis=-1)


@register_kl(Categorical, Categorical)
def _kl_categorical(p: Categorical, q: Categorical):
    if p.num_categories != q.num_categories:
        raise ValueError(
            f"kl: Categorical distributions over different numbers of categories "
            f"({p.num_categories} and {q.num_categories})"
        )
    log_p, log_q = jnp.broadcast_arrays(p.log_probs, q.log_probs)
    return jnp.sum(_special.kl_terms(None, None, log_p, log_q), axis=-1)


@register_kl(Laplace, Laplace)
def _kl_laplace(p: Laplace, q: Laplace):
    # log(b_q/b_p) + |dmu|/b_q + (b_p/b_q) exp(-|dmu|/b_p) - 1 = phi(-log r) + r phi(t),
    # r = b_p / b_q, t = |dmu| / b_p
    log_ratio = jnp.log(p.scale) - jnp.log(q.scale)
    t = jnp.abs(p.loc - q.loc) / p.scale
    return _special.phi(-log_ratio) + jnp.exp(log_ratio) * _special.phi(t)


@register_kl(Poisson, Poisson)
def _kl_poisson(p: Poisson, q: Poisson):
    # rate_p log(rate_p / rate_q) - rate_p + rate_q: exactly the per-term KL form
    rate_p, rate_q = jnp.broadcast_arrays(p.rate, q.rate)
    return _special.kl_terms(rate_p, rate_q)


# Gamma, Beta and Dirichlet divergences are differences of lgamma and digamma values that
# are large when a concentration is. Each is evaluated two ways, with every large part
# cancelled analytically, and the form whose terms are smaller in magnitude (so whose
# rounding error is smaller) is used:
# * the Bregman form, with B(b, a) = lgamma(b) - lgamma(a) - psi(a) (b - a) >= 0, whose
#   terms are all small when p is near q (second order in the difference);
# * the Stirling form, lgamma(x) = (x - 1/2) log x - x + log(2 pi)/2 + delta(x) and
#   psi(x) = log x + dml(x), in which the linear parts cancel exactly and what is left is of
#   the size of log-ratios of the concentrations: small when p and q are far apart (a
#   concentrated posterior against a flat prior, say), where the Bregman terms are large
#   and cancel to a small divergence.


@register_kl(Gamma, Gamma)
def _kl_gamma(p: Gamma, q: Gamma):
    # (a_p - a_q) psi(a_p) - lgamma(a_p) + lgamma(a_q) + a_q log(b_p/b_q) + a_p (b_q - b_p)/b_p
    a_p, a_q = jnp.broadcast_arrays(p.concentration, q.concentration)
    d = _special.log_ratio(p.rate, q.rate)
    # Bregman form: B(a_q, a_p) + a_p phi(d) + (a_q - a_p) d
    bregman_terms = (
        _special.lgamma_bregman(a_q, a_p),
        a_p * _special.phi(d),
        (a_q - a_p) * d,
    )
    # Stirling form: a_q phi(d + u) - u/2 + (a_p - a_q) dml(a_p) + delta(a_q) - delta(a_p),
    # u = log(a_q / a_p)
    u = _special.log_ratio(a_q, a_p)
    stirling_terms = (
        a_q * _special.phi(d + u),
        -0.5 * u,
        (a_p - a_q) * _special.digamma_minus_log(a_p),
        _special.stirling_correction(a_q),
        -_special.stirling_correction(a_p),
    )
    return jnp.maximum(_smaller_error(bregman_terms, stirling_terms), 0.0)


def _smaller_error(first, second):
    """The sum of whichever list of terms has the smaller total magnitude."""
    size_first = sum(jnp.abs(term) for term in first)
    size_second = sum(jnp.abs(term) for term in second)
    return jnp.where(size_first <= size_second, sum(first), sum(second))


def _kl_dirichlet_concentrations(alpha, beta):
    alpha, beta = jnp.broadcast_arrays(alpha, beta)
    alpha_0, beta_0 = jnp.sum(alpha, axis=-1), jnp.sum(beta, axis=-1)
    # Bregman form: sum_j B(beta_j, alpha_j) - B(beta_0, alpha_0)
    bregman_terms = (
        jnp.sum(_special.lgamma_bregman(beta, alpha), axis=-1),
        -_special.lgamma_bregman(beta_0, alpha_0),
    )
    # Stirling form: sum_j (beta_j - 1/2) log(beta_j/alpha_j) - (beta_0 - 1/2) log(beta_0/alpha_0)
    #   + sum_j [delta(beta_j) - delta(alpha_j)] - [delta(beta_0) - delta(alpha_0)]
    #   + sum_j (alpha_j - beta_j) [dml(alpha_j) - dml(alpha_0)]
    delta = _special.stirling_correction
    dml = _special.digamma_minus_log
    stirling_terms = (
        jnp.sum((beta - 0.5) * _special.log_ratio(beta, alpha), axis=-1),
        -(beta_0 - 0.5) * _special.log_ratio(beta_0, alpha_0),
        jnp.sum(delta(beta) - delta(alpha), axis=-1),
        delta(alpha_0) - delta(beta_0),
        jnp.sum((alpha - beta) * (dml(alpha) - dml(alpha_0)[..., None]), axis=-1),
    )
    return jnp.maximum(_smaller_error(bregman_terms, stirling_terms), 0.0)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet(p: Dirichlet, q: Dirichlet):
    return _kl_dirichlet_concentrations(p.concentration, q.concentration)


@register_kl(Beta, Beta)
def _kl_beta(p: Beta, q: Beta):
    return _kl_dirichlet_concentrations(p._pair(), q._pair())


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p: Normal, q: Laplace):
    # E_p[log p] - E_p[log q] = -H(p) + log(2 b) + E|x - mu_q| / b, where for x ~ N(m, s^2)
    # E|x - mu_q| = s sqrt(2/pi) exp(-u^2/2) + delta erf(u / sqrt 2), delta = m - mu_q, u = delta/s
    delta = p.loc - q.loc
    u = delta / p.scale
    folded_mean = p.scale * jnp.sqrt(2.0 / jnp.pi) * jnp.exp(-0.5 * u * u) + delta * (
        jax.scipy.special.erf(u / jnp.sqrt(2.0))
    )
    return -p.entropy() + jnp.log(2.0 * q.scale) + folded_mean / q.scale


@register_kl(Uniform, Uniform)
def _kl_uniform(p: Uniform, q: Uniform):
    # log(width_q / width_p) when [low_p, high_p] lies inside [low_q, high_q], else inf
    inside = (q.low <= p.low) & (p.high <= q.high)
    value = jnp.log(q.high - q.low) - jnp.log(p.high - p.low)
    return jnp.where(inside, value, jnp.inf)
