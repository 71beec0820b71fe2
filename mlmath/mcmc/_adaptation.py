r"""Warm-up adaptation: Stan's windows, dual averaging of the step size, mass matrices."""

from __future__ import annotations

import sys
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.flatten_util import ravel_pytree

from mlmath.mcmc._kernels import Kernel, State, integrate, metric

# the acceptance rates the step size is tuned to: Stan's 0.8 for HMC and NUTS; the optimal
# scaling results for MALA (0.574) and random-walk Metropolis (0.234)
TARGET_ACCEPTANCE = {"hmc": 0.8, "nuts": 0.8, "mala": 0.574, "rwmh": 0.234}
# dual averaging (Hoffman & Gelman 2014, as Stan): shrinkage, offset, decay
_GAMMA, _T0, _KAPPA = 0.05, 10.0, 0.75


def window_schedule(num_warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """Stan's warm-up windows: a fast initial buffer (75 steps) that tunes the step size
    only, slow windows of doubling length (from 25) at the end of each of which the mass
    matrix is re-estimated from that window's draws, and a fast terminal buffer (50 steps).
    A warm-up shorter than 150 steps keeps the proportions (15%, 75%, 10%).

    Returns:
        ``(slow, window_end)``: boolean arrays of length ``num_warmup``: whether a step
        belongs to a slow window, and whether it is the last step of one.
    """
    slow = np.zeros(num_warmup, bool)
    end = np.zeros(num_warmup, bool)
    if num_warmup < 20:
        return slow, end
    initial, terminal, base = 75, 50, 25
    if num_warmup < initial + terminal + base:
        initial = int(0.15 * num_warmup)
        terminal = int(0.1 * num_warmup)
        base = num_warmup - initial - terminal
    start, size = initial, base
    stop = num_warmup - terminal
    while start < stop:
        following = start + size
        if following + 2 * size > stop:  # the next window would not fit: extend this one
            following = stop
        slow[start:following] = True
        end[following - 1] = True
        start, size = following, 2 * size
    return slow, end


class Adaptation(NamedTuple):
    log_step: Array
    log_step_average: Array
    error_average: Array
    steps: Array
    mu: Array
    mean: Array
    scatter: Array  # (d,) or (d, d)
    seen: Array
    inverse_mass_matrix: Array


def dual_averaging(adaptation: Adaptation, acceptance: Array, target: float) -> Adaptation:
    count = adaptation.steps + 1
    eta = 1.0 / (count + _T0)
    error = (1 - eta) * adaptation.error_average + eta * (target - acceptance)
    log_step = adaptation.mu - jnp.sqrt(count) / _GAMMA * error
    weight = count ** -_KAPPA
    average = weight * log_step + (1 - weight) * adaptation.log_step_average
    return adaptation._replace(log_step=log_step, log_step_average=average,
                               error_average=error, steps=count)


def restart(adaptation: Adaptation, log_step: Array) -> Adaptation:
    zero = jnp.zeros_like(adaptation.error_average)
    return adaptation._replace(log_step=log_step, log_step_average=zero, error_average=zero,
                               steps=zero, mu=jnp.log(10.0) + log_step)


def welford(adaptation: Adaptation, x: Array) -> Adaptation:
    seen = adaptation.seen + 1
    delta = x - adaptation.mean
    mean = adaptation.mean + delta / seen
    if adaptation.scatter.ndim == 1:
        scatter = adaptation.scatter + delta * (x - mean)
    else:
        scatter = adaptation.scatter + jnp.outer(delta, x - mean)
    return adaptation._replace(mean=mean, scatter=scatter, seen=seen)


def estimated_inverse_mass(adaptation: Adaptation) -> Array:
    """Stan's regularized estimate: the window's covariance shrunk towards 1e-3 I."""
    n = adaptation.seen
    covariance = adaptation.scatter / jnp.maximum(n - 1, 1)
    shrink = n / (n + 5.0)
    floor = 1e-3 * 5.0 / (n + 5.0)
    if covariance.ndim == 1:
        return shrink * covariance + floor
    return shrink * covariance + floor * jnp.eye(covariance.shape[0], dtype=covariance.dtype)


def reasonable_step_size(key: Array, kernel: Kernel, state: State, step_size: Array,
                          inverse_mass_matrix: Array) -> Array:
    """Stan's heuristic start: double or halve the step size until one leapfrog step's
    acceptance probability crosses 0.8 (at most 50 times either way)."""
    flat, unravel = ravel_pytree(state.position)
    grad = ravel_pytree(state.logdensity_grad)[0]
    metric_ = metric(inverse_mass_matrix, flat.size, flat.dtype)
    momentum = metric_.sample_momentum(key, flat.size, flat.dtype)
    energy = -state.logdensity + metric_.kinetic_energy(momentum)

    def log_acceptance(epsilon):
        _, p, logdensity, _ = integrate(kernel.logdensity_fn, unravel, metric_, epsilon, 1,
                                       flat, momentum, state.logdensity, grad)
        delta = energy - (-logdensity + metric_.kinetic_energy(p))
        return jnp.where(jnp.isnan(delta), -jnp.inf, delta)

    threshold = jnp.log(0.8)
    direction = jnp.where(log_acceptance(step_size) > threshold, 1.0, -1.0)

    def continuing(carry):
        epsilon, i = carry
        crossed = jnp.where(direction > 0, log_acceptance(epsilon) < threshold,
                            log_acceptance(epsilon) > threshold)
        return ~crossed & (i < 50)

    def body(carry):
        epsilon, i = carry
        return epsilon * 2.0 ** direction, i + 1

    epsilon, _ = lax.while_loop(continuing, body, (step_size, jnp.zeros((), jnp.int32)))
    return epsilon




def report(step, total, phase):
    if int(step) % max(1, int(total) // 20) == 0 or int(step) == int(total):
        print(f"mlmath.mcmc.sample: {phase} {int(step)}/{int(total)}", file=sys.stderr,
              flush=True)


def _new_window(adaptation: Adaptation) -> Adaptation:
    adaptation = adaptation._replace(
        inverse_mass_matrix=estimated_inverse_mass(adaptation),
        mean=jnp.zeros_like(adaptation.mean), scatter=jnp.zeros_like(adaptation.scatter),
        seen=jnp.zeros_like(adaptation.seen))
    return restart(adaptation, adaptation.log_step)


def mass_matrix_window(adaptation: Adaptation, draws: Array, in_slow: Array,
                       at_end: Array) -> Adaptation:
    """One warm-up step of the mass matrix: the ``draws`` (rows, one per chain that pools
    into this estimate) join the running estimate during a slow window; at the window's
    end the estimate becomes the inverse mass matrix, and the step size's dual averaging
    restarts from the current step."""
    def add(a):
        return lax.fori_loop(0, draws.shape[0], lambda row, a: welford(a, draws[row]), a)

    adaptation = lax.cond(in_slow, add, lambda a: a, adaptation)
    return lax.cond(at_end, _new_window, lambda a: a, adaptation)
