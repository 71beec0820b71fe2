r"""Gaussian variational inference on the same ``logdensity_fn`` as MCMC.

Variational inference replaces the posterior :math:`p(z \mid D)` by the member of a family
:math:`q_\lambda` closest to it in :math:`\mathrm{KL}(q \,\|\, p(\cdot \mid D))`, found by
maximizing the evidence lower bound

.. math:: \mathrm{ELBO}(\lambda) = \mathbb E_{q_\lambda}[\log p(z, D) - \log q_\lambda(z)]
          = \log p(D) - \mathrm{KL}(q_\lambda \,\|\, p(\cdot \mid D)),

so the ELBO is the log evidence exactly when ``q`` is the posterior — the seed's link
between the EM step, KL divergence and Bayesian inference, made executable. Here ``q`` is
a Gaussian over the flattened position:

* :func:`meanfield_vi`: independent coordinates, :math:`q = \prod_i N(\mu_i, \sigma_i^2)`
  (a :class:`~mlmath.distributions.Normal` with batch shape ``(d,)``);
* :func:`fullrank_vi`: :math:`q = N(\mu, LL^\top)` (a
  :class:`~mlmath.distributions.MultivariateNormal`), which captures correlations.

Both maximize the ELBO with reparameterized draws :math:`z = \mu + L\varepsilon` and any
optax optimizer, in one ``lax.scan`` of ``num_steps`` steps, with the "sticking the landing"
gradient (Roeder, Wu & Duvenaud 2017: the score term of :math:`\log q` is dropped, so
at the optimum the gradient estimate has zero variance when the family contains the
posterior). ``logdensity_fn`` is the unnormalized log posterior :math:`\log p(z, D)` of a
pytree position, as for :func:`mlmath.mcmc.sample`; the same function object reuses the
compiled program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array, lax
from jax.flatten_util import ravel_pytree

from mlmath._jit import jit_callables
from mlmath.distributions import MultivariateNormal, Normal

__all__ = ["VIResult", "fullrank_vi", "meanfield_vi"]

_DEFAULT_OPTIMIZER = optax.adam(1e-2)


class VIResult(NamedTuple):
    """A fitted Gaussian approximation.

    Attributes:
        approximation: the fitted ``q`` over the flattened position (a ``Normal`` of batch
            shape ``(d,)`` or a ``MultivariateNormal`` of event shape ``(d,)``); flatten a
            position with ``jax.flatten_util.ravel_pytree`` to evaluate it.
        mean: the mean of ``q`` as a position (a pytree like ``initial_position``).
        elbo: ``(num_steps,)`` the ELBO estimated at each step (a Monte Carlo average over
            ``num_samples`` draws), whose last values estimate :math:`\\log p(D)` minus the
            KL divergence left.
    """

    approximation: Any
    mean: Any
    elbo: Array


def _check(function: str, logdensity_fn: Callable, num_steps: int, num_samples: int) -> None:
    if not callable(logdensity_fn):
        raise TypeError(f"{function}: logdensity_fn must be callable, got "
                        f"{type(logdensity_fn).__name__}")
    for name, value in [("num_steps", num_steps), ("num_samples", num_samples)]:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{function}: {name} must be an int >= 1, got {value!r}")


def _fit(key: Array, logdensity_fn: Callable, initial_position: Any, optimizer, num_steps: int,
         num_samples: int, initial_scale, full_rank: bool):
    flat, unravel = ravel_pytree(initial_position)
    if not jnp.issubdtype(flat.dtype, jnp.floating):
        flat = flat.astype(jnp.result_type(float))
    d = flat.size
    dtype = flat.dtype
    log_scale = jnp.full((d,), jnp.log(jnp.asarray(initial_scale, dtype)))
    if full_rank:
        params = {"loc": flat, "log_diagonal": log_scale,
                  "lower": jnp.zeros((d, d), dtype)}
    else:
        params = {"loc": flat, "log_scale": log_scale}

    def factor(params):
        if full_rank:
            return (jnp.tril(params["lower"], -1) + jnp.diag(jnp.exp(params["log_diagonal"])))
        return jnp.exp(params["log_scale"])

    def log_q(params, z):
        """log q(z), the scale and location held fixed (sticking the landing)."""
        fixed = jax.tree_util.tree_map(lax.stop_gradient, params)
        L = factor(fixed)
        centred = z - fixed["loc"]
        if full_rank:
            white = jax.scipy.linalg.solve_triangular(L, centred, lower=True)
            log_det = jnp.sum(fixed["log_diagonal"])
        else:
            white = centred / L
            log_det = jnp.sum(fixed["log_scale"])
        return -0.5 * jnp.sum(white * white) - log_det - 0.5 * d * jnp.log(2 * jnp.pi)

    def negative_elbo(params, key):
        eps = jax.random.normal(key, (num_samples, d), dtype)
        L = factor(params)
        z = params["loc"] + (eps @ L.T if full_rank else eps * L)
        log_p = jax.vmap(lambda x: jnp.asarray(logdensity_fn(unravel(x)), dtype))(z)
        log_qs = jax.vmap(lambda x: log_q(params, x))(z)
        return -jnp.mean(log_p - log_qs)

    def step(carry, step_key):
        params, state = carry
        value, grads = jax.value_and_grad(negative_elbo)(params, step_key)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), -value

    (params, _), elbo = lax.scan(step, (params, optimizer.init(params)),
                                 jax.random.split(key, num_steps))
    L = factor(params)
    approximation: Any
    if full_rank:
        approximation = MultivariateNormal(params["loc"], scale_tril=L, validate_args=False)
    else:
        approximation = Normal(params["loc"], L, validate_args=False)
    return VIResult(approximation, unravel(params["loc"]), elbo)


@jit_callables(static_argnames=("num_steps", "num_samples"))
def meanfield_vi(key: Array, logdensity_fn: Callable, initial_position: Any, *,
                 optimizer: optax.GradientTransformation = _DEFAULT_OPTIMIZER,
                 num_steps: int = 2000, num_samples: int = 16,
                 initial_scale: float = 1.0) -> VIResult:
    r"""Mean-field Gaussian VI: :math:`q = \prod_i N(\mu_i, \sigma_i^2)` maximizing the ELBO.

    Args:
        key: a JAX random key (the draws of every step).
        logdensity_fn: the unnormalized log posterior of a position.
        initial_position: where the means start (any pytree of floats).
        optimizer: an optax optimizer (default Adam with learning rate 0.01).
        num_steps: optimization steps (static).
        num_samples: reparameterized draws per ELBO estimate (static).
        initial_scale: the starting standard deviation of every coordinate.

    Returns:
        :class:`VIResult`. A mean-field ``q`` underestimates the variance of correlated
        posteriors (it matches the conditional, not the marginal, precisions).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.vi import meanfield_vi
        >>> result = meanfield_vi(jax.random.key(0), lambda z: -0.5 * jnp.sum((z - 3) ** 2),
        ...                       jnp.zeros(2), num_steps=1500)
        >>> [round(m, 1) for m in result.mean.tolist()]
        [3.0, 3.0]
    """
    _check("meanfield_vi", logdensity_fn, num_steps, num_samples)
    return _fit(key, logdensity_fn, initial_position, optimizer, num_steps, num_samples,
                initial_scale, full_rank=False)


@jit_callables(static_argnames=("num_steps", "num_samples"))
def fullrank_vi(key: Array, logdensity_fn: Callable, initial_position: Any, *,
                optimizer: optax.GradientTransformation = _DEFAULT_OPTIMIZER,
                num_steps: int = 2000, num_samples: int = 16,
                initial_scale: float = 1.0) -> VIResult:
    r"""Full-rank Gaussian VI: :math:`q = N(\mu, LL^\top)` maximizing the ELBO, ``L``
    lower-triangular with a positive diagonal (its logarithm is what is optimized). For a
    Gaussian posterior the optimum is the posterior itself and the ELBO there is the log
    evidence. Arguments as :func:`meanfield_vi`."""
    _check("fullrank_vi", logdensity_fn, num_steps, num_samples)
    return _fit(key, logdensity_fn, initial_position, optimizer, num_steps, num_samples,
                initial_scale, full_rank=True)
