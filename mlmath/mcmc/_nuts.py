r"""The No-U-Turn sampler, multinomial, iterative (see :mod:`mlmath.mcmc`).

Hoffman & Gelman (2014) with the changes Stan made since (Betancourt 2017): the point is
drawn from the whole trajectory with probability proportional to :math:`e^{-H}`
(multinomial, not slice, sampling), progressively within each new subtree and with the
biased progressive rule when a subtree joins the trajectory, and the trajectory stops at
the generalized no-U-turn criterion :math:`p^\sharp_\pm \cdot \rho \le 0` (with
:math:`\rho` the sum of the momenta), checked for every balanced subtree and for the
whole trajectory, each time with Stan's two extra checks across the junction of the
merged halves (each half extended by the nearest leaf of the other), which catch the
U-turns that a check of the merged tree alone misses.

The recursion of the paper is written here as two loops, so it compiles to one program of
fixed size: an outer ``while_loop`` doubles the trajectory; an inner ``while_loop`` adds
the new subtree's leapfrog steps one at a time. The balanced sub-subtrees that end at leaf
``n`` of a subtree are those of sizes :math:`2^m` with the low ``m`` bits of ``n`` all
ones; the momentum and running momentum sum at the first leaf of each level's current
range are kept (one row per level), so every U-turn check of the recursion is made, in
the same order, from :math:`O(\text{depth} \cdot d)` memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from mlmath._jit import jit_callables
from mlmath.mcmc._kernels import (
    DIVERGENCE_THRESHOLD,
    Info,
    Kernel,
    Metric,
    State,
    check_inverse_mass_matrix,
    check_positive_parameter,
    integrate,
    metric,
)

__all__ = ["nuts", "nuts_step"]


class _Leaf(NamedTuple):
    q: Array
    p: Array
    logdensity: Array
    grad: Array


class _Candidate(NamedTuple):
    q: Array
    logdensity: Array
    grad: Array
    energy: Array


class _Subtree(NamedTuple):
    leaf: _Leaf  # the last leaf built: the new end of the trajectory
    first_p: Array  # the momentum of the first leaf built, next to the old trajectory
    first_v: Array  # and its velocity
    candidate: _Candidate
    log_weight: Array
    rho: Array
    turning: Array
    diverging: Array
    accept_sum: Array
    num_steps: Array


class _Trajectory(NamedTuple):
    left: _Leaf
    right: _Leaf
    candidate: _Candidate
    log_weight: Array
    rho: Array
    depth: Array
    stop: Array
    diverging: Array
    moved: Array
    accept_sum: Array
    num_steps: Array
    key: Array


def _turning(v_start: Array, v_end: Array, rho: Array) -> Array:
    r"""The generalized no-U-turn criterion between two ends of velocities
    :math:`p^\sharp = M^{-1}p` with momentum sum ``rho`` (each of shape ``(d,)``, or rows of
    one level each)."""
    return (jnp.sum(v_start * rho, axis=-1) <= 0) | (jnp.sum(v_end * rho, axis=-1) <= 0)


def _leapfrog(logdensity_fn: Callable, unravel: Callable, metric_: Metric, epsilon: Array,
              leaf: _Leaf) -> _Leaf:
    return _Leaf(*integrate(logdensity_fn, unravel, metric_, epsilon, 1, *leaf))


@jit_callables(static_argnames=("max_tree_depth",))
def nuts_step(key: Array, state: State, logdensity_fn: Callable, step_size: ArrayLike,
              inverse_mass_matrix: ArrayLike, max_tree_depth: int = 10
              ) -> tuple[State, Info]:
    r"""One transition of the multinomial No-U-Turn sampler (see the module docstring).

    The trajectory doubles (in a random direction each time) until it makes a U-turn, a
    leapfrog step diverges (energy error above 1000, or NaN), or it has
    :math:`2^{\text{max\_tree\_depth}} - 1` steps. ``Info.acceptance_rate`` is the mean
    Metropolis acceptance probability over every leapfrog step taken (Stan's
    ``accept_stat``, what the step size is tuned on); ``num_integration_steps`` counts
    them. A step size that is not positive and finite or an inverse mass matrix that is not
    positive definite makes the new state NaN.
    """
    if not isinstance(max_tree_depth, int) or isinstance(max_tree_depth, bool) or not (
            1 <= max_tree_depth <= 30):
        raise ValueError(f"nuts: max_tree_depth must be an int in 1..30, got "
                         f"{max_tree_depth!r}")
    flat, unravel = ravel_pytree(state.position)
    grad = ravel_pytree(state.logdensity_grad)[0]
    dtype = flat.dtype
    d = flat.size
    step_size = jnp.asarray(step_size, dtype)
    metric_ = metric(inverse_mass_matrix, d, dtype)
    key_momentum, key_tree = jax.random.split(key)
    momentum = metric_.sample_momentum(key_momentum, d, dtype)
    energy0 = -state.logdensity + metric_.kinetic_energy(momentum)
    start = _Leaf(flat, momentum, state.logdensity, grad)
    # levels 0..max_tree_depth: a range of level m holds 2^m leaves
    levels = jnp.arange(0, max_tree_depth + 1)
    masks = (jnp.left_shift(1, levels) - 1).astype(jnp.int32)  # the low m bits

    def subtree(key: Array, edge: _Leaf, direction: Array, depth: Array) -> _Subtree:
        size = jnp.left_shift(1, depth)
        epsilon = direction * step_size

        class Carry(NamedTuple):
            leaf: _Leaf
            n: Array
            candidate: _Candidate
            log_weight: Array
            rho: Array
            kept: Array
            first_p: Array
            turning: Array
            diverging: Array
            accept_sum: Array
            key: Array

        def continuing(c: Carry) -> Array:
            return (c.n < size) & ~c.turning & ~c.diverging

        def add_leaf(c: Carry) -> Carry:
            key, key_take = jax.random.split(c.key)
            leaf = _leapfrog(logdensity_fn, unravel, metric_, epsilon, c.leaf)
            energy = -leaf.logdensity + metric_.kinetic_energy(leaf.p)
            error = energy - energy0
            bad = jnp.isnan(error)
            diverging = bad | (error > DIVERGENCE_THRESHOLD)
            accept = jnp.where(bad, 0.0, jnp.exp(jnp.minimum(-error, 0.0)))
            weight = jnp.where(bad, -jnp.inf, -energy)
            log_weight = jnp.logaddexp(c.log_weight, weight)
            take = jax.random.uniform(key_take, dtype=dtype) < jnp.exp(weight - log_weight)
            candidate = jax.tree_util.tree_map(
                lambda new, old: jnp.where(take, new, old),
                _Candidate(leaf.q, leaf.logdensity, leaf.grad, energy), c.candidate)
            # the ranges of 2^m leaves that start at this leaf (their first momentum, the
            # momentum sum before them and the momentum of the leaf before them are kept),
            # and those that end at it, whose U-turns are checked
            starting = (c.n & masks) == 0
            velocity = metric_.velocity(leaf.p)
            # one array of what is kept for each level's current range (rows: its first
            # momentum, the momentum sum before it, and the momentum of the leaf before
            # it), updated for the ranges starting here; the velocities are recomputed
            # (a batched while loop selects its whole carry at every step, so a small
            # carry is the fast one)
            fresh = jnp.stack([leaf.p, c.rho, c.leaf.p])
            kept = jnp.where(starting[None, :, None], fresh[:, None, :], c.kept)
            starts_p, starts_rho, before_p = kept
            rho = c.rho + leaf.p
            ending = ((c.n & masks) == masks) & (levels <= depth)
            # a range of level m >= 1 is a first half X (level m - 1, starting where the
            # range starts: row m) and a second half Y (the current level m - 1 range:
            # row m - 1); the checks are on rows 1.., Y's values from rows ..-1
            starts_v = metric_.velocity_rows(starts_p)
            x_start_v, x_start_rho = starts_v[1:], starts_rho[1:]
            y_first_p, y_first_v, y_rho_before = starts_p[:-1], starts_v[:-1], starts_rho[:-1]
            x_last_p = before_p[:-1]
            x_last_v = metric_.velocity_rows(x_last_p)
            # the whole range, then Stan's checks across the junction of the halves
            whole = _turning(x_start_v, velocity, rho - x_start_rho)
            left = _turning(x_start_v, y_first_v, y_rho_before - x_start_rho + y_first_p)
            right = _turning(x_last_v, velocity, rho - y_rho_before + x_last_p)
            turning = jnp.any(ending[1:] & (whole | left | right))
            first = jnp.where(c.n == 0, leaf.p, c.first_p)
            return Carry(leaf, c.n + 1, candidate, log_weight, rho, kept, first, turning,
                         diverging, c.accept_sum + accept, key)

        zeros = jnp.zeros((3, max_tree_depth + 1, d), dtype)
        empty = _Candidate(edge.q, edge.logdensity, edge.grad, energy0)
        vector = jnp.zeros(d, dtype)
        carry = Carry(edge, jnp.zeros((), jnp.int32), empty,
                      jnp.asarray(-jnp.inf, dtype), vector, zeros, vector,
                      jnp.asarray(False), jnp.asarray(False), jnp.zeros((), dtype), key)
        c = lax.while_loop(continuing, add_leaf, carry)
        return _Subtree(c.leaf, c.first_p, metric_.velocity(c.first_p), c.candidate,
                        c.log_weight, c.rho, c.turning, c.diverging, c.accept_sum, c.n)

    def doubling(t: _Trajectory) -> _Trajectory:
        key, key_direction, key_subtree, key_merge = jax.random.split(t.key, 4)
        forward = jax.random.bernoulli(key_direction)
        direction = jnp.where(forward, 1.0, -1.0).astype(dtype)
        edge = jax.tree_util.tree_map(lambda r, left: jnp.where(forward, r, left),
                                      t.right, t.left)
        sub = subtree(key_subtree, edge, direction, t.depth)
        valid = ~sub.turning & ~sub.diverging
        # biased progressive sampling: move to the new subtree with probability
        # min(1, w_new / w_old)
        take = valid & (jax.random.uniform(key_merge, dtype=dtype)
                        < jnp.exp(jnp.minimum(sub.log_weight - t.log_weight, 0.0)))
        candidate = jax.tree_util.tree_map(lambda new, old: jnp.where(take, new, old),
                                           sub.candidate, t.candidate)
        right = jax.tree_util.tree_map(lambda new, old: jnp.where(forward & valid, new, old),
                                       sub.leaf, t.right)
        left = jax.tree_util.tree_map(lambda new, old: jnp.where(~forward & valid, new, old),
                                      sub.leaf, t.left)
        rho = t.rho + sub.rho
        log_weight = jnp.where(valid, jnp.logaddexp(t.log_weight, sub.log_weight),
                               t.log_weight)
        # the whole trajectory, and Stan's checks across the junction of the old trajectory
        # (its far end, and the end the subtree grew from) and the new subtree
        far = metric_.velocity(jnp.where(forward, t.left.p, t.right.p))
        v_edge = metric_.velocity(edge.p)
        v_end = metric_.velocity(sub.leaf.p)
        v_left = jnp.where(forward, far, v_end)
        v_right = jnp.where(forward, v_end, far)
        turning = (_turning(v_left, v_right, rho)
                   | _turning(far, sub.first_v, t.rho + sub.first_p)
                   | _turning(v_edge, v_end, sub.rho + edge.p))
        return _Trajectory(left, right, candidate, log_weight, jnp.where(valid, rho, t.rho),
                           t.depth + 1, ~valid | turning, t.diverging | sub.diverging,
                           t.moved | take, t.accept_sum + sub.accept_sum,
                           t.num_steps + sub.num_steps, key)

    trajectory = _Trajectory(start, start, _Candidate(flat, state.logdensity, grad, energy0),
                             -energy0, momentum, jnp.zeros((), jnp.int32), jnp.asarray(False),
                             jnp.asarray(False), jnp.asarray(False), jnp.zeros((), dtype),
                             jnp.zeros((), jnp.int32), key_tree)
    t = lax.while_loop(lambda t: ~t.stop & (t.depth < max_tree_depth), doubling, trajectory)
    chosen = t.candidate
    new = State(unravel(chosen.q), chosen.logdensity, unravel(chosen.grad))
    info = Info(t.accept_sum / jnp.maximum(t.num_steps, 1), t.moved, t.diverging,
                t.num_steps, chosen.energy)
    invalid = ~((step_size > 0) & (step_size < jnp.inf) & metric_.valid)
    new = jax.tree_util.tree_map(lambda x: jnp.where(invalid, jnp.nan, x), new)
    return new, info


def nuts(logdensity_fn: Callable, step_size: ArrayLike, inverse_mass_matrix: ArrayLike = 1.0,
         max_tree_depth: int = 10) -> Kernel:
    """The No-U-Turn sampler (multinomial, Stan's), with a diagonal or dense Euclidean
    metric; see :func:`nuts_step`. ``max_tree_depth`` (static) caps a trajectory at
    :math:`2^{\\text{max\\_tree\\_depth}} - 1` leapfrog steps."""
    if not callable(logdensity_fn):
        raise TypeError(f"nuts: logdensity_fn must be callable, got "
                        f"{type(logdensity_fn).__name__}")
    check_positive_parameter("step_size", step_size, "nuts")
    check_inverse_mass_matrix(inverse_mass_matrix, "nuts")
    if not isinstance(max_tree_depth, int) or isinstance(max_tree_depth, bool) or not (
            1 <= max_tree_depth <= 30):
        raise ValueError(f"nuts: max_tree_depth must be an int in 1..30, got "
                         f"{max_tree_depth!r}")

    def step(key, state, logdensity_fn, step_size, inverse_mass_matrix):
        return nuts_step(key, state, logdensity_fn, step_size, inverse_mass_matrix,
                         max_tree_depth)

    return Kernel("nuts", step, logdensity_fn, {"step_size": step_size,
                                                "inverse_mass_matrix": inverse_mass_matrix})
