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
from mlmath.distributions._multivariate import Dirichlet, MultivariateNormal

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
]
