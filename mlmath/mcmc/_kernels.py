r"""MCMC transition kernels as pure functions (see :mod:`mlmath.mcmc`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from mlmath._jit import jit, jit_callables
from mlmath._validation import concrete_value, is_traced

# Stan's threshold: a trajectory whose energy error exceeds it has diverged
DIVERGENCE_THRESHOLD = 1000.0


class State(NamedTuple):
    """The state of a chain: where it is, and what the kernel needs of it there.

    Attributes:
        position: the current position, any pytree of float arrays.
        logdensity: the target's log density there (a scalar).
        logdensity_grad: its gradient (a pytree like ``position``); ``None`` for kernels
            that use no gradient (:func:`rwmh`, :func:`gibbs`).
    """

    position: Any
    logdensity: Array
    logdensity_grad: Any


class Info(NamedTuple):
    """What one transition did.

    Attributes:
        acceptance_rate: the Metropolis–Hastings acceptance probability of the proposal
            (for NUTS, the mean over the trajectory's states, Stan's ``accept_stat``); 0 for
            a proposal whose log density is NaN.
        is_accepted: whether the chain moved to the proposal.
        is_divergent: the proposal's energy error exceeded 1000 (Stan's threshold) or was
            NaN: the integrator left the typical set, a sign of a too large step size or
            of a funnel the step size cannot resolve. Such proposals are never accepted.
        num_integration_steps: leapfrog steps taken (1 for MALA, 0 for RWMH and Gibbs).
        energy: the Hamiltonian at the new state (the negative log density for kernels
            without momentum).
    """

    acceptance_rate: Array
    is_accepted: Array
    is_divergent: Array
    num_integration_steps: Array
    energy: Array


# ---------------------------------------------------------------------------------------
# log density and its gradient


def logdensity_and_grad(logdensity_fn: Callable, position: Any) -> tuple[Array, Any]:
    """The log density and its gradient at ``position``; raises at trace time unless the
    function returns a real scalar."""
    value, grad = jax.value_and_grad(_checked(logdensity_fn))(position)
    return value, grad


def _checked(logdensity_fn: Callable) -> Callable:
    def checked(position):
        value = jnp.asarray(logdensity_fn(position))
        if value.shape != ():
            raise ValueError(f"logdensity_fn must return a scalar, got shape {value.shape}")
        if not jnp.issubdtype(value.dtype, jnp.floating):
            raise ValueError(f"logdensity_fn must return a real float, got dtype {value.dtype}")
        return value
    return checked


def _finite_or_minus_inf(logdensity: Array) -> Array:
    """NaN and +inf log densities (an invalid proposal) as -inf: never accepted."""
    return jnp.where(jnp.isnan(logdensity) | (logdensity == jnp.inf), -jnp.inf, logdensity)


def _select(accept: Array, new: Any, old: Any) -> Any:
    return jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b), new, old)


def _poisoned(state: State, invalid: Array) -> State:
    """The state with NaN everywhere where the kernel's parameters are invalid."""
    return jax.tree_util.tree_map(lambda x: jnp.where(invalid, jnp.nan, x), state)


def _metropolis(key: Array, log_ratio: Array) -> tuple[Array, Array]:
    """The acceptance probability ``min(1, exp(log_ratio))`` (0 for NaN) and the decision."""
    log_ratio = jnp.where(jnp.isnan(log_ratio), -jnp.inf, log_ratio)
    probability = jnp.exp(jnp.minimum(log_ratio, 0.0))
    return probability, jax.random.uniform(key, dtype=probability.dtype) < probability


# ---------------------------------------------------------------------------------------
# mass matrices


class Metric(NamedTuple):
    """A Euclidean metric: momenta ``p ~ N(0, M)`` and kinetic energy ``p' M^-1 p / 2``."""

    inverse_mass_matrix: Array
    factor: Array  # diagonal: 1 / sqrt(M^-1); dense: the Cholesky factor of M^-1
    valid: Array

    def sample_momentum(self, key: Array, dimension: int, dtype) -> Array:
        z = jax.random.normal(key, (dimension,), dtype)
        if self.inverse_mass_matrix.ndim == 1:
            return z * self.factor
        # M = (U U')^-1 with U the lower factor of M^-1: p = U^-T z has covariance M
        return jax.scipy.linalg.solve_triangular(self.factor, z, lower=True, trans=1)

    def velocity(self, momentum: Array) -> Array:
        if self.inverse_mass_matrix.ndim == 1:
            return self.inverse_mass_matrix * momentum
        return self.inverse_mass_matrix @ momentum

    def velocity_rows(self, momenta: Array) -> Array:
        """:math:`M^{-1}p` of each row of ``momenta (n, d)``."""
        if self.inverse_mass_matrix.ndim == 1:
            return momenta * self.inverse_mass_matrix
        return momenta @ self.inverse_mass_matrix.T

    def kinetic_energy(self, momentum: Array) -> Array:
        return 0.5 * jnp.dot(momentum, self.velocity(momentum))

    def mass_quadratic(self, displacement: Array) -> Array:
        """:math:`r^\top M r`, the squared length of a displacement in the metric."""
        if self.inverse_mass_matrix.ndim == 1:
            return jnp.sum(displacement * displacement / self.inverse_mass_matrix)
        whitened = jax.scipy.linalg.solve_triangular(self.factor, displacement, lower=True)
        return jnp.sum(whitened * whitened)


def metric(inverse_mass_matrix: ArrayLike, dimension: int, dtype) -> Metric:
    """The metric of an inverse mass matrix given as a scalar, a ``(d,)`` diagonal or a
    ``(d, d)`` matrix; ``valid`` is whether it is positive definite and finite."""
    inverse = jnp.asarray(inverse_mass_matrix, dtype)
    if inverse.ndim == 0:
        inverse = jnp.full((dimension,), inverse, dtype)
    if inverse.shape not in ((dimension,), (dimension, dimension)):
        raise ValueError(f"inverse_mass_matrix must be a scalar, a diagonal of shape (d,) = "
                         f"({dimension},) or a matrix of shape (d, d) = ({dimension}, "
                         f"{dimension}) for a position of {dimension} numbers, got shape "
                         f"{inverse.shape}")
    if inverse.ndim == 1:
        valid = jnp.all((inverse > 0) & (inverse < jnp.inf))
        factor = 1.0 / jnp.sqrt(jnp.where(valid, inverse, 1.0))
    else:
        factor = jnp.linalg.cholesky(inverse)
        valid = jnp.all(jnp.isfinite(factor)) & jnp.all(jnp.isfinite(inverse))
        factor = jnp.where(valid, factor, jnp.eye(dimension, dtype=dtype))
    return Metric(inverse, factor, valid)


def check_inverse_mass_matrix(inverse_mass_matrix: ArrayLike, owner: str) -> None:
    """A ``ValueError`` for a concrete inverse mass matrix that is not positive definite."""
    value = concrete_value(inverse_mass_matrix)
    if value is None:
        return
    value = np.asarray(value, np.float64)
    if value.ndim > 2 or (value.ndim == 2 and value.shape[0] != value.shape[1]):
        raise ValueError(f"{owner}: inverse_mass_matrix must be a scalar, a diagonal (d,) or "
                         f"a square matrix (d, d), got shape {value.shape}")
    bad = not np.all(np.isfinite(value))
    if not bad and value.ndim < 2:
        bad = not np.all(value > 0)
    elif not bad:
        try:
            np.linalg.cholesky(value)
            bad = not np.allclose(value, value.T, rtol=1e-6, atol=0)
        except np.linalg.LinAlgError:
            bad = True
    if bad:
        raise ValueError(f"{owner}: inverse_mass_matrix must be symmetric positive definite "
                         f"and finite, got {value.tolist() if value.size <= 16 else value}")


def check_positive_parameter(name: str, value: ArrayLike, owner: str) -> None:
    """A ``ValueError`` for a concrete parameter that is not a positive finite number."""
    array = concrete_value(value)
    if array is None:
        return
    array = np.asarray(array, np.float64)
    if not np.all(np.isfinite(array) & (array > 0)):
        raise ValueError(f"{owner}: {name} must be positive and finite, got "
                         f"{array.tolist() if array.size <= 16 else array}")


# ---------------------------------------------------------------------------------------
# the transitions


def _flat(tree: Any) -> tuple[Array, Callable]:
    flat, unravel = ravel_pytree(tree)
    if not jnp.issubdtype(flat.dtype, jnp.floating):
        raise ValueError(f"the position must hold float arrays, got dtype {flat.dtype}")
    return flat, unravel


@jit_callables
def rwmh_step(key: Array, state: State, logdensity_fn: Callable, scale: ArrayLike,
              inverse_mass_matrix: ArrayLike = 1.0) -> tuple[State, Info]:
    r"""One random-walk Metropolis step: propose :math:`x' = x + \sigma\, \xi`,
    :math:`\xi \sim N(0, M^{-1})`, and accept with probability :math:`\min(1, p(x')/p(x))`.

    ``scale`` :math:`\sigma` is a scalar or one value per coordinate of the flattened
    position; ``inverse_mass_matrix`` :math:`M^{-1}` (a scalar, a diagonal or a dense
    matrix) shapes the proposal: :math:`M^{-1} \approx` the target's covariance is the
    well-conditioned choice (:func:`sample` estimates it during warm-up). A non-positive or
    NaN ``scale``, or an :math:`M^{-1}` that is not positive definite, makes the new state
    NaN.
    """
    flat, unravel = _flat(state.position)
    scale = jnp.asarray(scale, flat.dtype)
    if scale.shape not in ((), flat.shape):
        raise ValueError(f"rwmh: scale must be a scalar or have shape (d,) = {flat.shape}, "
                         f"got shape {scale.shape}")
    metric_ = metric(inverse_mass_matrix, flat.size, flat.dtype)
    key_move, key_accept = jax.random.split(key)
    xi = metric_.velocity(metric_.sample_momentum(key_move, flat.size, flat.dtype))
    proposal = unravel(flat + scale * xi)
    raw = _checked(logdensity_fn)(proposal)
    logdensity = _finite_or_minus_inf(raw)
    probability, accept = _metropolis(key_accept, logdensity - state.logdensity)
    new = State(_select(accept, proposal, state.position),
                jnp.where(accept, logdensity, state.logdensity), None)
    invalid = ~(jnp.all((scale > 0) & (scale < jnp.inf)) & metric_.valid)
    info = Info(probability, accept, jnp.isnan(raw) | (raw == jnp.inf),
                jnp.zeros((), jnp.int32), -new.logdensity)
    return _poisoned(new, invalid), info


@jit_callables
def mala_step(key: Array, state: State, logdensity_fn: Callable, step_size: ArrayLike,
              inverse_mass_matrix: ArrayLike = 1.0) -> tuple[State, Info]:
    r"""One Metropolis-adjusted Langevin step: propose
    :math:`x' = x + \epsilon M^{-1} \nabla \log p(x) + \sqrt{2\epsilon}\, \xi`,
    :math:`\xi \sim N(0, M^{-1})` (the Euler step of the preconditioned Langevin diffusion
    over a time :math:`\epsilon`), and correct it by Metropolis–Hastings with the
    proposal's Gaussian density in both directions. A non-positive or NaN ``step_size``, or
    an :math:`M^{-1}` that is not positive definite, makes the new state NaN.
    """
    flat, unravel = _flat(state.position)
    grad, _ = ravel_pytree(state.logdensity_grad)
    step_size = jnp.asarray(step_size, flat.dtype)
    metric_ = metric(inverse_mass_matrix, flat.size, flat.dtype)
    key_move, key_accept = jax.random.split(key)
    xi = metric_.velocity(metric_.sample_momentum(key_move, flat.size, flat.dtype))
    moved = flat + step_size * metric_.velocity(grad) + jnp.sqrt(2 * step_size) * xi
    logdensity, new_grad = logdensity_and_grad(logdensity_fn, unravel(moved))
    new_grad_flat, _ = ravel_pytree(new_grad)

    def log_proposal(to, start, start_grad):
        return -metric_.mass_quadratic(to - start - step_size * metric_.velocity(start_grad)) / (
            4 * step_size)

    log_ratio = (logdensity - state.logdensity + log_proposal(flat, moved, new_grad_flat)
                 - log_proposal(moved, flat, grad))
    bad = jnp.isnan(log_ratio) | (log_ratio == jnp.inf)
    probability, accept = _metropolis(key_accept, jnp.where(bad, -jnp.inf, log_ratio))
    proposal = State(unravel(moved), logdensity, new_grad)
    new = _select(accept, proposal, state)
    info = Info(probability, accept, bad | (-log_ratio > DIVERGENCE_THRESHOLD),
                jnp.ones((), jnp.int32), -new.logdensity)
    invalid = ~((step_size > 0) & (step_size < jnp.inf) & metric_.valid)
    return _poisoned(new, invalid), info


def integrate(logdensity_fn: Callable, unravel: Callable, metric_: Metric, step_size: Array,
              num_steps: ArrayLike, position: Array, momentum: Array, logdensity: Array,
              grad: Array) -> tuple[Array, Array, Array, Array]:
    """``num_steps`` velocity-Verlet steps of the Hamiltonian flow on flat arrays (one
    gradient a step): ``(position, momentum, logdensity, grad)`` at the end."""

    def step(_, carry):
        q, p, _, g = carry
        p = p + 0.5 * step_size * g
        q = q + step_size * metric_.velocity(p)
        value, g_tree = logdensity_and_grad(logdensity_fn, unravel(q))
        g = ravel_pytree(g_tree)[0]
        return q, p + 0.5 * step_size * g, value, g

    return lax.fori_loop(0, num_steps, step, (position, momentum, logdensity, grad))


@jit_callables
def leapfrog(logdensity_fn: Callable, position: Any, momentum: Any, step_size: ArrayLike,
             num_steps: ArrayLike, inverse_mass_matrix: ArrayLike = 1.0) -> tuple[Any, Any]:
    r"""``num_steps`` leapfrog (velocity Verlet) steps of Hamilton's equations for
    :math:`H(x, p) = -\log p(x) + p^\top M^{-1} p / 2`, from ``(position, momentum)``
    (pytrees of one structure): the integrator of :func:`hmc_step` and NUTS.

    It is symplectic and time-reversible (integrating back from the end with the momentum
    negated returns to the start) and its energy error is :math:`O(\epsilon^2)` over a
    fixed trajectory length. A negative ``step_size`` integrates backwards in time.
    """
    flat, unravel = _flat(position)
    p, _ = ravel_pytree(momentum)
    metric_ = metric(inverse_mass_matrix, flat.size, flat.dtype)
    logdensity, grad = logdensity_and_grad(logdensity_fn, position)
    q, p, _, _ = integrate(logdensity_fn, unravel, metric_, jnp.asarray(step_size, flat.dtype),
                           jnp.asarray(num_steps, jnp.int32), flat, p.astype(flat.dtype),
                           logdensity, ravel_pytree(grad)[0])
    return unravel(q), unravel(p)


class Proposal(NamedTuple):
    r"""The end of one HMC trajectory, before the Metropolis decision (:func:`hmc_proposal`).

    Attributes:
        state: the state at the end of the trajectory.
        momentum: the (flat) momentum there.
        acceptance_rate: :math:`\min(1, e^{-\Delta H})`; 0 for a divergent trajectory.
        is_divergent: the energy error exceeded 1000 or was NaN.
        energy: the Hamiltonian at the start and at the end.
    """

    state: State
    momentum: Array
    acceptance_rate: Array
    is_divergent: Array
    energy: tuple[Array, Array]


def hmc_proposal(key: Array, state: State, logdensity_fn: Callable, step_size: Array,
                 metric_: Metric, num_integration_steps: Array) -> Proposal:
    """A momentum drawn with ``key`` and the leapfrog trajectory from ``state``."""
    flat, unravel = _flat(state.position)
    grad, _ = ravel_pytree(state.logdensity_grad)
    momentum = metric_.sample_momentum(key, flat.size, flat.dtype)
    energy = -state.logdensity + metric_.kinetic_energy(momentum)
    q, p, logdensity, new_grad = integrate(logdensity_fn, unravel, metric_, step_size,
                                           num_integration_steps, flat, momentum,
                                           state.logdensity, grad)
    new_energy = -logdensity + metric_.kinetic_energy(p)
    error = new_energy - energy
    divergent = jnp.isnan(error) | (error > DIVERGENCE_THRESHOLD)
    error = jnp.where(divergent, jnp.inf, error)
    probability = jnp.exp(jnp.minimum(-error, 0.0))
    return Proposal(State(unravel(q), logdensity, unravel(new_grad)), p, probability,
                    divergent, (energy, new_energy))


def accept_proposal(key: Array, state: State, proposal: Proposal,
                    num_integration_steps: Array) -> tuple[State, Info]:
    """The Metropolis decision on an HMC proposal: the next state and its :class:`Info`."""
    accept = jax.random.uniform(key, dtype=proposal.acceptance_rate.dtype) < (
        proposal.acceptance_rate)
    new = _select(accept, proposal.state, state)
    start, end = proposal.energy
    return new, Info(proposal.acceptance_rate, accept, proposal.is_divergent,
                     num_integration_steps, jnp.where(accept, end, start))


@jit_callables
def hmc_step(key: Array, state: State, logdensity_fn: Callable, step_size: ArrayLike,
             inverse_mass_matrix: ArrayLike, num_integration_steps: ArrayLike
             ) -> tuple[State, Info]:
    r"""One Hamiltonian Monte Carlo step: draw a momentum :math:`p \sim N(0, M)`, follow the
    Hamiltonian :math:`H = -\log p(x) + p^\top M^{-1} p / 2` for ``num_integration_steps``
    leapfrog steps of ``step_size`` (a traced integer: one program for every length), and
    accept the end point with probability :math:`\min(1, e^{-\Delta H})`.

    ``inverse_mass_matrix`` :math:`M^{-1}`: a scalar, a diagonal ``(d,)`` or a dense
    ``(d, d)`` matrix, for the ``d`` numbers of the flattened position. A step size that is
    not positive and finite or an inverse mass matrix that is not positive definite makes
    the new state NaN.
    """
    flat, _ = _flat(state.position)
    step_size = jnp.asarray(step_size, flat.dtype)
    metric_ = metric(inverse_mass_matrix, flat.size, flat.dtype)
    key_momentum, key_accept = jax.random.split(key)
    num_integration_steps = jnp.asarray(num_integration_steps, jnp.int32)
    proposal = hmc_proposal(key_momentum, state, logdensity_fn, step_size, metric_,
                            num_integration_steps)
    new, info = accept_proposal(key_accept, state, proposal, num_integration_steps)
    invalid = ~((step_size > 0) & (step_size < jnp.inf) & metric_.valid
                & (num_integration_steps >= 0))
    return _poisoned(new, invalid), info


@jit_callables
def gibbs_step(key: Array, state: State, update_fn: Callable,
               logdensity_fn: Callable | None) -> tuple[State, Info]:
    """One sweep of a user-supplied Gibbs sampler ``update_fn(key, position) -> position``
    (draws from the full conditionals); always accepted."""
    position = update_fn(key, state.position)
    logdensity = (jnp.zeros((), jnp.result_type(float)) if logdensity_fn is None
                  else _checked(logdensity_fn)(position))
    one = jnp.ones((), logdensity.dtype)
    info = Info(one, jnp.asarray(True), jnp.asarray(False), jnp.zeros((), jnp.int32),
                -logdensity)
    return State(position, logdensity, None), info


# ---------------------------------------------------------------------------------------
# kernels: a pure step function with its parameters bound


class Kernel(eqx.Module):
    """An MCMC kernel: ``init(position) -> State`` and ``step(key, state) -> (State, Info)``.

    A pytree: its tunable ``parameters`` (step size, inverse mass matrix, …) are array
    leaves, so a kernel can be passed through ``jax.jit`` and ``jax.vmap`` (one kernel per
    chain, each with its own adapted step size), and :meth:`replace` gives the same kernel
    with other parameters without compiling again. ``step_fn`` (the pure transition, e.g.
    :func:`hmc_step`) and ``logdensity_fn`` are static and hashed by identity: the same
    function objects reuse the compiled program.
    """

    kind: str = eqx.field(static=True)
    step_fn: Callable = eqx.field(static=True)
    logdensity_fn: Callable | None = eqx.field(static=True)
    parameters: dict[str, Any]

    @property
    def uses_gradient(self) -> bool:
        return self.kind in GRADIENT_KERNELS

    @jit
    def init(self, position: Any) -> State:
        """The state at ``position``: its log density, and gradient for gradient kernels."""
        position = jax.tree_util.tree_map(jnp.asarray, position)
        if self.logdensity_fn is None:
            return State(position, jnp.zeros((), jnp.result_type(float)), None)
        if self.uses_gradient:
            logdensity, grad = logdensity_and_grad(self.logdensity_fn, position)
            return State(position, logdensity, grad)
        return State(position, _checked(self.logdensity_fn)(position), None)

    @jit
    def step(self, key: Array, state: State) -> tuple[State, Info]:
        """One transition from ``state``."""
        return self.step_fn(key, state, self.logdensity_fn, **self.parameters)

    def replace(self, **parameters: Any) -> Kernel:
        """The same kernel with some parameters changed (e.g. an adapted step size)."""
        unknown = set(parameters) - set(self.parameters)
        if unknown:
            raise ValueError(f"{self.kind} has no parameters {sorted(unknown)}; it has "
                             f"{sorted(self.parameters)}")
        return Kernel(self.kind, self.step_fn, self.logdensity_fn,
                      {**self.parameters, **parameters})


GRADIENT_KERNELS = ("mala", "hmc", "nuts")


def _check_callable(owner: str, name: str, fn: object) -> None:
    if not callable(fn):
        raise TypeError(f"{owner}: {name} must be callable, got {type(fn).__name__}")


def _check_steps(owner: str, value: object) -> None:
    if is_traced(value):
        return
    array = np.asarray(value)
    if array.shape != () or not np.issubdtype(array.dtype, np.integer) or array < 1:
        raise ValueError(f"{owner}: num_integration_steps must be an integer >= 1, got "
                         f"{value!r}")


def rwmh(logdensity_fn: Callable, scale: ArrayLike = 1.0,
         inverse_mass_matrix: ArrayLike = 1.0) -> Kernel:
    """Random-walk Metropolis with Gaussian proposals of covariance
    ``scale**2 * inverse_mass_matrix``; see :func:`rwmh_step`. The optimal acceptance rate
    in high dimension is about 0.234."""
    _check_callable("rwmh", "logdensity_fn", logdensity_fn)
    check_positive_parameter("scale", scale, "rwmh")
    check_inverse_mass_matrix(inverse_mass_matrix, "rwmh")
    return Kernel("rwmh", rwmh_step, logdensity_fn,
                  {"scale": scale, "inverse_mass_matrix": inverse_mass_matrix})


def mala(logdensity_fn: Callable, step_size: ArrayLike,
         inverse_mass_matrix: ArrayLike = 1.0) -> Kernel:
    """The Metropolis-adjusted Langevin algorithm, preconditioned by
    ``inverse_mass_matrix``; see :func:`mala_step`. Its optimal acceptance rate in high
    dimension is about 0.574."""
    _check_callable("mala", "logdensity_fn", logdensity_fn)
    check_positive_parameter("step_size", step_size, "mala")
    check_inverse_mass_matrix(inverse_mass_matrix, "mala")
    return Kernel("mala", mala_step, logdensity_fn,
                  {"step_size": step_size, "inverse_mass_matrix": inverse_mass_matrix})


def hmc(logdensity_fn: Callable, step_size: ArrayLike, inverse_mass_matrix: ArrayLike = 1.0,
        num_integration_steps: ArrayLike = 10) -> Kernel:
    """Hamiltonian Monte Carlo with a fixed number of leapfrog steps and a diagonal or dense
    Euclidean metric; see :func:`hmc_step`."""
    _check_callable("hmc", "logdensity_fn", logdensity_fn)
    check_positive_parameter("step_size", step_size, "hmc")
    check_inverse_mass_matrix(inverse_mass_matrix, "hmc")
    _check_steps("hmc", num_integration_steps)
    return Kernel("hmc", hmc_step, logdensity_fn, {"step_size": step_size,
                                         "inverse_mass_matrix": inverse_mass_matrix,
                                         "num_integration_steps": num_integration_steps})


def gibbs(update_fn: Callable, logdensity_fn: Callable | None = None) -> Kernel:
    """A Gibbs sampler from a user-supplied sweep ``update_fn(key, position) -> position``
    that draws each block from its full conditional. ``logdensity_fn``, if given, is only
    evaluated to report the log density of each state."""
    _check_callable("gibbs", "update_fn", update_fn)
    if logdensity_fn is not None:
        _check_callable("gibbs", "logdensity_fn", logdensity_fn)

    def step(key, state, logdensity_fn):
        return gibbs_step(key, state, update_fn, logdensity_fn)

    return Kernel("gibbs", step, logdensity_fn, {})
