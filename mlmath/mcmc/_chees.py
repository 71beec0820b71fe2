r"""ChEES-HMC: many chains that share one step size and one jittered trajectory length.

Hoffman, Radul & Sountsov (2021), "An adaptive MCMC scheme for setting trajectory lengths
in Hamiltonian Monte Carlo". NUTS under ``jax.vmap`` makes every chain wait for the longest
tree of the batch; ChEES-HMC instead runs every chain for the same number of leapfrog steps
at each iteration, so a batch of chains is one dense computation, and tunes the common
trajectory length :math:`T` during warm-up by stochastic gradient ascent on the *change in
the estimator of the expected square* (ChEES),

.. math:: \mathrm{ChEES}(T) = \tfrac14\,
          \mathbb E\bigl[(\lVert \theta' - \mathbb E\theta\rVert^2
          - \lVert \theta - \mathbb E\theta\rVert^2)^2\bigr],

estimated across the chains (each chain's term weighted by its acceptance probability).
Each iteration's length is :math:`t_n = u_n T` with :math:`u_n` the base-2 Halton
(van der Corput) sequence, the jitter that stops the trajectories resonating with the
target's periods. The step size follows dual averaging of the harmonic mean of the chains'
acceptance probabilities towards 0.651, the optimum the paper derives; the diagonal mass
matrix is estimated from the pooled draws of all chains at the end of each of Stan's slow
windows.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax import Array, lax
from jax.flatten_util import ravel_pytree

from mlmath.mcmc._adaptation import (
    Adaptation,
    dual_averaging,
    mass_matrix_window,
    reasonable_step_size,
    report,
    restart,
    window_schedule,
)
from mlmath.mcmc._kernels import Info, Kernel, accept_proposal, hmc_proposal, metric

# the paper's choices: target acceptance, and Adam on log T (learning rate, no momentum)
CHEES_TARGET_ACCEPTANCE = 0.651
_LEARNING_RATE, _BETA2 = 0.025, 0.95
_MAX_STEPS = 1000  # a cap on the leapfrog steps of one iteration


def halton(index: Array) -> Array:
    """The base-2 Halton (van der Corput) number of ``index >= 1``: its bits reversed after
    the binary point (1 -> 0.5, 2 -> 0.25, 3 -> 0.75, ...)."""
    index = jnp.asarray(index, jnp.uint32)
    value = jnp.zeros((), jnp.float32)
    for bit in range(32):
        value = value + ((index >> bit) & 1).astype(jnp.float32) * 0.5 ** (bit + 1)
    return value


def chees_gradient(positions: Array, proposals: Array, velocities: Array,
                   acceptance: Array, jitter: Array) -> Array:
    """The acceptance-weighted estimate of d ChEES / d T across chains (flat arrays with a
    leading chain axis); chains whose proposal is not finite get weight 0."""
    finite = jnp.all(jnp.isfinite(proposals), axis=1) & jnp.isfinite(acceptance)
    weight = jnp.where(finite, acceptance, 0.0)
    safe = jnp.where(finite[:, None], proposals, positions)
    centre = jnp.mean(positions, axis=0)
    centre_new = jnp.sum(weight[:, None] * safe, axis=0) / jnp.maximum(jnp.sum(weight), 1e-12)
    change = (jnp.sum((safe - centre_new) ** 2, axis=1)
              - jnp.sum((positions - centre) ** 2, axis=1))
    rate = jnp.sum((safe - centre_new) * jnp.where(finite[:, None], velocities, 0.0), axis=1)
    total = jnp.sum(weight)
    return jitter * jnp.sum(weight * change * rate) / jnp.maximum(total, 1e-12)


def run_chees(key: Array, kernel: Kernel, positions: Any, num_samples: int, num_warmup: int,
              thinning: int, target: float, adapt_mass_matrix: bool,
              progress_bar: bool) -> tuple:
    """Warm-up and sampling of all chains together (see the module docstring). Returns what
    :func:`mlmath.mcmc.sample` returns, chain axis first."""
    logdensity_fn = kernel.logdensity_fn
    states = jax.vmap(kernel.init)(positions)
    flat0 = ravel_pytree(jax.tree_util.tree_map(lambda x: x[0], positions))[0]
    dtype = flat0.dtype
    d = flat0.size
    num_chains = jax.tree_util.tree_leaves(positions)[0].shape[0]
    inverse = metric(kernel.parameters["inverse_mass_matrix"], d, dtype).inverse_mass_matrix
    if inverse.ndim != 1:
        raise ValueError("sample: adaptation='chees' adapts a diagonal mass matrix; give the "
                         "hmc kernel a scalar or diagonal inverse_mass_matrix")
    key_init, key_warmup, key_sample = jax.random.split(key, 3)
    start_step = jnp.asarray(kernel.parameters["step_size"], dtype)
    step_size = jnp.median(jax.vmap(
        lambda k, s: reasonable_step_size(k, kernel, s, start_step, inverse))(
        jax.random.split(key_init, num_chains), states))
    length = step_size * jnp.asarray(kernel.parameters["num_integration_steps"], dtype)

    def transition(step_key, states, step_size, inverse, length, n):
        """One jittered HMC step of every chain, the same number of leapfrog steps for all;
        also the proposals and their end velocities (for the ChEES gradient)."""
        jitter = halton(n).astype(dtype)
        steps = jnp.clip(jnp.ceil(jitter * length / step_size), 1, _MAX_STEPS).astype(
            jnp.int32)
        metric_ = metric(inverse, d, dtype)

        def one(k, s):
            key_momentum, key_accept = jax.random.split(k)
            proposal = hmc_proposal(key_momentum, s, logdensity_fn, step_size, metric_, steps)
            new, info = accept_proposal(key_accept, s, proposal, steps)
            q = ravel_pytree(proposal.state.position)[0]
            return new, info, q, metric_.velocity(proposal.momentum)

        new, info, q, velocity = jax.vmap(one)(jax.random.split(step_key, num_chains), states)
        return new, info, q, velocity, jitter

    def flat_positions(states):
        return jax.vmap(lambda p: ravel_pytree(p)[0])(states.position)

    if num_warmup > 0:
        slow, window_end = window_schedule(num_warmup)
        zero = jnp.zeros((), dtype)
        log_step = jnp.log(step_size)
        adapt = restart(Adaptation(log_step, zero, zero, zero, zero, jnp.zeros(d, dtype),
                                   jnp.zeros(d, dtype), zero, inverse), log_step)
        log_length = jnp.log(length)
        optimizer = optax.adam(_LEARNING_RATE, b1=0.0, b2=_BETA2)

        def warmup_step(carry, inputs):
            states, adapt, log_length, opt_state = carry
            step_key, in_slow, at_end, i = inputs
            before = flat_positions(states)
            states, info, q, velocity, jitter = transition(
                step_key, states, jnp.exp(adapt.log_step), adapt.inverse_mass_matrix,
                jnp.exp(log_length), i + 1)
            acceptance = info.acceptance_rate
            harmonic = 1.0 / jnp.mean(1.0 / jnp.maximum(acceptance, 1e-10))
            adapt = dual_averaging(adapt, harmonic, target)
            # d ChEES / d log T = T d ChEES / d T; Adam ascends it
            gradient = chees_gradient(before, q, velocity, acceptance, jitter) * jnp.exp(
                log_length)
            updates, new_opt_state = optimizer.update(-gradient, opt_state)
            ok = jnp.isfinite(gradient)
            log_length = jnp.where(ok, log_length + updates, log_length)
            opt_state = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b),
                                               new_opt_state, opt_state)
            if adapt_mass_matrix:
                adapt = mass_matrix_window(adapt, flat_positions(states), in_slow, at_end)
            if progress_bar:
                jax.debug.callback(report, i + 1, num_warmup, "warmup")
            return (states, adapt, log_length, opt_state), None

        carry = (states, adapt, log_length, optimizer.init(log_length))
        inputs = (jax.random.split(key_warmup, num_warmup), jnp.asarray(slow),
                  jnp.asarray(window_end), jnp.arange(num_warmup))
        (states, adapt, log_length, _), _ = lax.scan(warmup_step, carry, inputs)
        step_size = jnp.exp(adapt.log_step_average)
        inverse = adapt.inverse_mass_matrix
        length = jnp.exp(log_length)

    def draw(carry, inputs):
        states, divergent = carry
        step_key, i = inputs

        def thin(j, carry):
            states, _, divergent = carry
            n = num_warmup + i * thinning + j + 1
            states, info, _, _, _ = transition(jax.random.fold_in(step_key, j), states,
                                               step_size, inverse, length, n)
            return states, info, divergent + info.is_divergent.astype(jnp.int32)

        empty = _empty_info(num_chains, dtype)
        states, info, divergent = lax.fori_loop(0, thinning, thin, (states, empty, divergent))
        if progress_bar:
            jax.debug.callback(report, i + 1, num_samples, "sampling")
        return (states, divergent), (states.position, info)

    (states, divergent), (draws, infos) = lax.scan(
        draw, (states, jnp.zeros((num_chains,), jnp.int32)),
        (jax.random.split(key_sample, num_samples), jnp.arange(num_samples)))
    draws, infos = jax.tree_util.tree_map(lambda x: jnp.swapaxes(x, 0, 1), (draws, infos))
    steps = jnp.clip(jnp.ceil(length / step_size), 1, _MAX_STEPS).astype(jnp.int32)
    # the kernel each chain sampled with; its num_integration_steps is the longest
    # trajectory, T / step size (every iteration runs a Halton fraction of it)
    adapted = kernel.replace(step_size=jnp.full((num_chains,), step_size),
                             inverse_mass_matrix=jnp.broadcast_to(inverse, (num_chains, d)),
                             num_integration_steps=jnp.full((num_chains,), steps))
    return draws, infos, divergent, adapted, states


def _empty_info(num_chains: int, dtype) -> Info:
    zeros = jnp.zeros((num_chains,), dtype)
    false = jnp.zeros((num_chains,), bool)
    return Info(zeros, false, false, jnp.zeros((num_chains,), jnp.int32), zeros)
