"""Probability distributions as pytrees: ``log_prob``, ``sample``, ``entropy``, moments.

Every distribution is an equinox Module whose fields are its parameters, broadcast into a
batch shape. See :class:`Distribution` for the shape conventions.

============================  =========================================================
``Bernoulli``                 ``logits=`` or ``probs=``
``Categorical``               ``logits=`` or ``probs=``, shape ``(..., K)``
``Poisson``                   ``rate``
``Normal``                    ``loc``, ``scale``
``MultivariateNormal``        ``loc``, ``covariance=`` or ``scale_tril=``
``Laplace``                   ``loc``, ``scale``
``Uniform``                   ``low``, ``high``
``Gamma``                     ``concentration``, ``rate``
``Beta``                      ``concentration1``, ``concentration0``
``Dirichlet``                 ``concentration``, shape ``(..., K)``
``StudentT``                  ``df``, ``loc``, ``scale``
``InverseGamma``              ``concentration``, ``scale``
``NegativeBinomial``          ``total_count``, ``logits=`` or ``probs=``
``NormalInverseGamma``        ``loc``, ``precision``, ``concentration``, ``rate`` (draws are pairs)
============================  =========================================================

The closed-form weighted maximum-likelihood fits behind each family's ``fit`` classmethod
(``fit_normal``, ``fit_multivariate_normal``, ``fit_bernoulli``, ``fit_categorical``,
``fit_poisson``, ``fit_laplace``, ``fit_gamma``, ``fit_uniform``, with ``weighted_mean`` and
``weighted_median``) are public: they return parameters rather than objects, the form a
mixture's M-step needs. ``solve_lower_triangular`` is the batched triangular solve that
``MultivariateNormal`` evaluates its densities with.
"""

from mlmath.distributions._base import Distribution
from mlmath.distributions._compound import (
    InverseGamma,
    NegativeBinomial,
    NormalInverseGamma,
    StudentT,
)
from mlmath.distributions._continuous import Beta, Gamma, Laplace, Normal, Uniform
from mlmath.distributions._discrete import Bernoulli, Categorical, Poisson
from mlmath.distributions._fit import (
    fit_bernoulli,
    fit_categorical,
    fit_gamma,
    fit_laplace,
    fit_multivariate_normal,
    fit_normal,
    fit_poisson,
    fit_uniform,
    weighted_mean,
    weighted_median,
)
from mlmath.distributions._multivariate import Dirichlet, MultivariateNormal, solve_lower_triangular

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "Dirichlet",
    "Distribution",
    "Gamma",
    "InverseGamma",
    "Laplace",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "NormalInverseGamma",
    "Poisson",
    "StudentT",
    "Uniform",
    "fit_bernoulli",
    "fit_categorical",
    "fit_gamma",
    "fit_laplace",
    "fit_multivariate_normal",
    "fit_normal",
    "fit_poisson",
    "fit_uniform",
    "solve_lower_triangular",
    "weighted_mean",
    "weighted_median",
]
