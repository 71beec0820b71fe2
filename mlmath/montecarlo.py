"""Expectations by sampling: the law of large numbers, with the CLT's error bars."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.scipy.special import ndtri
from jax.typing import ArrayLike

from mlmath._jit import jit_callables
from mlmath.distributions import Distribution

__all__ = ["MonteCarloEstimate", "monte_carlo_mean"]


class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo estimate of :math:`\\mathbb E[f(X)]`.

    Attributes:
        mean: the sample mean of ``f`` (the estimate).
        standard_error: its CLT standard error, the sample standard deviation over
            :math:`\\sqrt n`.
        lower, upper: the central confidence interval ``mean -/+ z * standard_error``.
    """

    mean: Array
    standard_error: Array
    lower: Array
    upper: Array


@jit_callables(static_argnames=("num_samples", "confidence"))
def monte_carlo_mean(key: ArrayLike, f: Callable, distribution: Distribution, num_samples: int,
                     confidence: float = 0.95) -> MonteCarloEstimate:
    r"""Estimate :math:`\mathbb E_{X\sim p}[f(X)]` from ``num_samples`` independent draws.

    .. math:: \hat\mu_n = \frac1n\sum_{i=1}^n f(x_i),\qquad
              \mathrm{SE} = \frac{s_n}{\sqrt n},\qquad
              \hat\mu_n \pm z_{(1+c)/2}\,\mathrm{SE}

    The law of large numbers makes :math:`\hat\mu_n` converge to the expectation; the
    central limit theorem makes its error approximately :math:`\mathcal N(0, \sigma^2/n)`,
    so the error shrinks as :math:`1/\sqrt n` and the interval covers the true value with
    probability close to ``confidence`` (for finite-variance ``f``). ``f`` maps one draw
    (of the distribution's batch and event shape) to an array; it is ``vmap``-ped over the
    draws.

    Example:
        >>> import jax
        >>> from mlmath.distributions import Normal
        >>> from mlmath.montecarlo import monte_carlo_mean
        >>> est = monte_carlo_mean(jax.random.key(0), lambda x: x ** 2, Normal(0.0, 1.0), 100_000)
        >>> bool(est.lower < 1.0 < est.upper), round(float(est.standard_error), 3)  # E[X^2] = 1
        (True, 0.004)
    """
    if not isinstance(num_samples, int | np.integer) or num_samples < 2:
        raise ValueError(f"num_samples must be an int >= 2, got {num_samples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    draws = distribution.sample(key, (int(num_samples),))
    values = jax.vmap(f)(draws)
    values = values.astype(jnp.result_type(values.dtype, distribution.dtype))
    mean = jnp.mean(values, axis=0)
    standard_error = jnp.std(values, axis=0, ddof=1) / jnp.sqrt(num_samples)
    z = ndtri(jnp.asarray(0.5 * (1.0 + confidence), mean.dtype))
    return MonteCarloEstimate(mean, standard_error, mean - z * standard_error,
                              mean + z * standard_error)
