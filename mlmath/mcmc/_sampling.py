r"""Running chains: Stan's windowed warm-up and :func:`sample` (see :mod:`mlmath.mcmc`)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.flatten_util import ravel_pytree

from mlmath._jit import jit
from mlmath.mcmc._adaptation import (
    TARGET_ACCEPTANCE,
    Adaptation,
    dual_averaging,
    mass_matrix_window,
    reasonable_step_size,
    report,
    restart,
    window_schedule,
)
from mlmath.mcmc._chees import CHEES_TARGET_ACCEPTANCE, run_chees
from mlmath.mcmc._kernels import Info, Kernel, State, metric

__all__ = ["Samples", "sample", "window_schedule"]


class Samples(NamedTuple):
    """What :func:`sample` returns.

    Attributes:
        draws: the positions kept, a pytree like the position with leading
            ``(chain, draw)`` axes.
        infos: the :class:`Info` of each kept transition, leaves of shape
            ``(chain, draw)``.
        num_divergent: ``(chain,)`` divergent transitions while sampling, thinned-out
            steps included.
        kernel: the kernel each chain sampled with (its adapted step size and inverse mass
            matrix, with a leading chain axis).
        state: the last state of each chain, to sample on from.
    """

    draws: Any
    infos: Info
    num_divergent: Array
    kernel: Kernel
    state: State


def _step_parameter(kernel: Kernel) -> str | None:
    for name in ("step_size", "scale"):
        if name in kernel.parameters:
            return name
    return None


def _run_chain(key: Array, kernel: Kernel, position: Any, num_samples: int, num_warmup: int,
               thinning: int, adaptation: str | None, target: float, adapt_mass_matrix: bool,
               progress_bar: bool) -> tuple:
    key_init, key_warmup, key_sample = jax.random.split(key, 3)
    state = kernel.init(position)
    step_name = _step_parameter(kernel) if adaptation == "window" else None
    adapt_mass = (adaptation == "window" and adapt_mass_matrix
                  and "inverse_mass_matrix" in kernel.parameters)
    flat = ravel_pytree(state.position)[0]
    dtype = flat.dtype

    if step_name is not None and num_warmup > 0:
        step_size = jnp.asarray(kernel.parameters[step_name], dtype)
        if "inverse_mass_matrix" in kernel.parameters:
            inverse = metric(kernel.parameters["inverse_mass_matrix"], flat.size,
                             dtype).inverse_mass_matrix
        else:
            inverse = jnp.ones((flat.size,), dtype)
        if kernel.kind in ("hmc", "nuts"):
            step_size = reasonable_step_size(key_init, kernel, state, step_size, inverse)
        scatter = jnp.zeros(inverse.shape, dtype)
        log_step = jnp.log(step_size)
        zero = jnp.zeros_like(log_step)
        adapt = restart(Adaptation(log_step, zero, zero, zero, zero, jnp.zeros_like(flat),
                                     scatter, jnp.zeros((), dtype), inverse), log_step)
        slow, window_end = window_schedule(num_warmup)

        def warmup_step(carry, inputs):
            state, adapt = carry
            step_key, in_slow, at_end, i = inputs
            parameters = {step_name: jnp.exp(adapt.log_step)}
            if adapt_mass:
                parameters["inverse_mass_matrix"] = adapt.inverse_mass_matrix
            state, info = kernel.replace(**parameters).step(step_key, state)
            adapt = dual_averaging(adapt, info.acceptance_rate, target)
            if adapt_mass:
                adapt = mass_matrix_window(adapt, ravel_pytree(state.position)[0][None],
                                           in_slow, at_end)
            if progress_bar:
                jax.debug.callback(report, i + 1, num_warmup, "warmup")
            return (state, adapt), None

        inputs = (jax.random.split(key_warmup, num_warmup), jnp.asarray(slow),
                  jnp.asarray(window_end), jnp.arange(num_warmup))
        (state, adapt), _ = lax.scan(warmup_step, (state, adapt), inputs)
        parameters = {step_name: jnp.exp(adapt.log_step_average).astype(dtype)}
        if adapt_mass:
            parameters["inverse_mass_matrix"] = adapt.inverse_mass_matrix
        kernel = kernel.replace(**parameters)
    elif num_warmup > 0:  # burn-in only
        def burn(state, inputs):
            step_key, i = inputs
            state, _ = kernel.step(step_key, state)
            if progress_bar:
                jax.debug.callback(report, i + 1, num_warmup, "warmup")
            return state, None

        state, _ = lax.scan(burn, state, (jax.random.split(key_warmup, num_warmup),
                                          jnp.arange(num_warmup)))

    def draw(carry, inputs):
        state, divergent = carry
        step_key, i = inputs

        def thin(j, carry):
            state, info, divergent = carry
            state, info = kernel.step(jax.random.fold_in(step_key, j), state)
            return state, info, divergent + info.is_divergent.astype(jnp.int32)

        _, info0 = jax.eval_shape(kernel.step, step_key, state)
        empty = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), info0)
        state, info, divergent = lax.fori_loop(0, thinning, thin, (state, empty, divergent))
        if progress_bar:
            jax.debug.callback(report, i + 1, num_samples, "sampling")
        return (state, divergent), (state.position, info)

    (state, divergent), (draws, infos) = lax.scan(
        draw, (state, jnp.zeros((), jnp.int32)),
        (jax.random.split(key_sample, num_samples), jnp.arange(num_samples)))
    return draws, infos, divergent, kernel, state


@jit(static_argnames=("num_samples", "num_warmup", "thinning", "adaptation", "target",
                      "adapt_mass_matrix", "progress_bar"))
def _run(keys, kernel, positions, num_samples, num_warmup, thinning, adaptation, target,
         adapt_mass_matrix, progress_bar):
    def one(key, position):
        return _run_chain(key, kernel, position, num_samples, num_warmup, thinning,
                          adaptation, target, adapt_mass_matrix, progress_bar)

    return jax.vmap(one)(keys, positions)


@jit(static_argnames=("num_samples", "num_warmup", "thinning", "target", "adapt_mass_matrix",
                      "progress_bar"))
def _run_chees(key, kernel, positions, num_samples, num_warmup, thinning, target,
               adapt_mass_matrix, progress_bar):
    return run_chees(key, kernel, positions, num_samples, num_warmup, thinning, target,
                     adapt_mass_matrix, progress_bar)


@jit
def _initial_states(kernel: Kernel, positions: Any) -> State:
    return jax.vmap(kernel.init)(positions)


def spread_over_devices(tree: Any, num_chains: int) -> Any:
    """The arrays of ``tree`` (leading axis: the chains) split over every device JAX sees,
    when there are several and they divide the chains evenly; the compiled sampler then
    runs each device's chains there (the chains are independent, so nothing but the
    ChEES statistics crosses devices)."""
    devices = jax.devices()
    if len(devices) == 1 or num_chains % len(devices):
        return tree
    mesh = jax.sharding.Mesh(np.array(devices), ("chain",))
    return jax.device_put(tree, jax.sharding.NamedSharding(mesh,
                                                           jax.sharding.PartitionSpec("chain")))


def _check_int(name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"sample: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def sample(key: Array, kernel: Kernel, initial_position: Any, *, num_samples: int,
           num_warmup: int = 1000, num_chains: int = 4, thinning: int = 1,
           adaptation: str | None = "window", target_acceptance: float | None = None,
           adapt_mass_matrix: bool = True, progress_bar: bool = False) -> Samples:
    r"""Run ``num_chains`` chains of ``kernel``: warm-up, then ``num_samples`` draws each.

    Args:
        key: a JAX random key; the same key gives the same draws.
        kernel: an MCMC kernel (:func:`rwmh`, :func:`mala`, :func:`hmc`, :func:`nuts`,
            :func:`gibbs`); its parameters are the starting values of the adaptation.
        initial_position: one position per chain: a pytree whose every leaf has a leading
            axis of length ``num_chains`` (as NumPyro's ``init_params``). Start the chains
            apart (over-dispersed) so that :func:`rhat` can detect a chain stuck in a mode.
        num_samples: draws kept per chain (at least 1).
        num_warmup: warm-up steps per chain, not kept.
        num_chains: chains, run in one ``jax.vmap``; when JAX sees several devices and
            they divide ``num_chains``, the chains are split over them (the draws come back
            sharded along the chain axis).
        thinning: keep every ``thinning``-th step (memory stays ``num_samples`` draws).
        adaptation: ``"window"``: Stan's windowed adaptation during warm-up (dual
            averaging of the step size towards ``target_acceptance``, or of the scale of
            random-walk Metropolis; and the inverse mass matrix, diagonal or dense as the
            kernel's ``inverse_mass_matrix`` is, from the draws of each slow window, see
            :func:`window_schedule`), each chain on its own. ``"chees"`` (an :func:`hmc`
            kernel only): ChEES-HMC, for many chains on an accelerator: every chain shares
            one step size and one trajectory length, jittered by a Halton sequence at each
            iteration (warm-up and sampling), the length tuned across chains by the ChEES
            criterion and the step size by the harmonic mean of the chains' acceptance
            rates (target 0.651); the kernel's ``num_integration_steps`` times its step
            size is the starting length. ``None``: the warm-up is a plain burn-in with the
            kernel's parameters.
        target_acceptance: default 0.8 for HMC and NUTS, 0.574 for MALA, 0.234 for RWMH.
        adapt_mass_matrix: with ``adaptation="window"``, whether the inverse mass matrix
            (the proposal's shape for RWMH and MALA) is estimated too, or kept as given.
        progress_bar: report progress on stderr every 5% of the steps, from inside the
            compiled loop (a host callback), so a long run is not a silent one.

    Returns:
        :class:`Samples`. The warm-up keeps only the adaptation's running statistics, never
        a trace of its steps.

    Raises:
        ValueError: before anything runs, when an integer argument is out of range, the
            positions have no leading chain axis, or the log density (or its gradient) at
            a chain's initial position is NaN or infinite, or not a real scalar.
    """
    num_samples = _check_int("num_samples", num_samples, 1)
    num_warmup = _check_int("num_warmup", num_warmup, 0)
    num_chains = _check_int("num_chains", num_chains, 1)
    thinning = _check_int("thinning", thinning, 1)
    if adaptation not in ("window", "chees", None):
        raise ValueError(f"sample: adaptation must be 'window', 'chees' or None, got "
                         f"{adaptation!r}")
    if not isinstance(kernel, Kernel):
        raise TypeError(f"sample: kernel must be an mlmath.mcmc kernel, got "
                        f"{type(kernel).__name__}")
    if adaptation == "chees" and kernel.kind != "hmc":
        raise ValueError(f"sample: adaptation='chees' tunes the trajectory length of an hmc "
                         f"kernel, got a {kernel.kind} kernel")
    positions = jax.tree_util.tree_map(jnp.asarray, initial_position)
    leaves = jax.tree_util.tree_leaves(positions)
    if not leaves:
        raise ValueError("sample: initial_position holds no arrays")
    for leaf in leaves:
        if leaf.ndim == 0 or leaf.shape[0] != num_chains:
            raise ValueError(f"sample: every leaf of initial_position must have a leading "
                             f"axis of length num_chains = {num_chains} (one position per "
                             f"chain), got a leaf of shape {leaf.shape}")
    if target_acceptance is None:
        target = (CHEES_TARGET_ACCEPTANCE if adaptation == "chees"
                  else TARGET_ACCEPTANCE.get(kernel.kind, 0.8))
    else:
        target = float(target_acceptance)
        if not 0 < target < 1:
            raise ValueError(f"sample: target_acceptance must be in (0, 1), got "
                             f"{target_acceptance!r}")
    if kernel.logdensity_fn is not None:
        states = _initial_states(kernel, positions)
        values = np.asarray(states.logdensity)
        for chain, value in enumerate(values):
            if not np.isfinite(value):
                what = "NaN" if np.isnan(value) else f"{value} (outside the support)"
                raise ValueError(f"sample: logdensity_fn is {what} at the initial position "
                                 f"of chain {chain}; start every chain where the density "
                                 f"is positive and finite")
        if states.logdensity_grad is not None:
            gradient = np.stack([np.all(np.isfinite(np.asarray(g).reshape(num_chains, -1)),
                                        axis=1)
                                 for g in jax.tree_util.tree_leaves(states.logdensity_grad)])
            bad = np.flatnonzero(~np.all(gradient, axis=0))
            if bad.size:
                raise ValueError(f"sample: the gradient of logdensity_fn is not finite at "
                                 f"the initial position of chain {int(bad[0])}")
    positions = spread_over_devices(positions, num_chains)
    if adaptation == "chees":
        draws, infos, divergent, kernels, state = _run_chees(
            key, kernel, positions, num_samples, num_warmup, thinning, target,
            bool(adapt_mass_matrix), bool(progress_bar))
        return Samples(draws, infos, divergent, kernels, state)
    keys = spread_over_devices(jax.random.split(key, num_chains), num_chains)
    draws, infos, divergent, kernels, state = _run(keys, kernel, positions, num_samples,
                                                   num_warmup, thinning, adaptation, target,
                                                   bool(adapt_mass_matrix), bool(progress_bar))
    return Samples(draws, infos, divergent, kernels, state)
