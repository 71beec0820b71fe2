"""Minimization inside one compiled loop: any optax optimizer, L-BFGS, and Newton's method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike
from jaxtyping import PyTree

from mlmath._jit import jit, jit_callables


class OptimizeResult(NamedTuple):
    """What a minimizer returns.

    Attributes:
        params: the final parameters (a pytree like the starting point).
        value: the objective at ``params``.
        grad_norm: the Euclidean norm of the gradient at ``params``.
        num_steps: iterations taken.
        converged: whether a stopping criterion (gradient norm or relative change) was met,
            as opposed to running out of steps or meeting a non-finite value.
    """

    params: Any
    value: Array
    grad_norm: Array
    num_steps: Array
    converged: Array


@jit
def tree_norm(tree: PyTree) -> Array:
    r"""Euclidean norm of all the leaves of a pytree together, :math:`\sqrt{\sum |x_i|^2}`.

    :func:`optax.tree_utils.tree_norm`, jitted (the tree arithmetic of mlmath's solvers is
    optax's, not a copy of it).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.optim import tree_norm
        >>> float(tree_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])}))
        5.0
    """
    return optax.tree_utils.tree_norm(tree)


def _float_dtype(params):
    leaves = [jnp.asarray(leaf) for leaf in jax.tree_util.tree_leaves(params)]
    if not leaves:
        raise ValueError("params is an empty pytree: there is nothing to optimize")
    for leaf in leaves:
        if not jnp.issubdtype(leaf.dtype, jnp.floating):
            raise TypeError(f"params must be floating arrays, got a leaf of dtype {leaf.dtype}")
    return jnp.result_type(*leaves)


def _check_steps(max_steps) -> int:
    if not isinstance(max_steps, int) or max_steps < 0:
        raise ValueError(f"max_steps must be a non-negative int, got {max_steps!r}")
    return max_steps


def _gradient_tolerance(tol, value):
    """The gradient-norm tolerance at an iterate whose objective is ``value``.

    A given ``tol`` is absolute. The default, ``eps^(2/3) max(1, |f|)`` (2.4e-5 |f| in
    float32, 3.7e-11 |f| in float64), is relative to the current objective: fine enough to
    pin a well-conditioned minimizer to about ``eps^(2/3)``, yet above the rounding floor of
    a float32 gradient (a tolerance tightened further, e.g. by the parameters' norm, can lie
    below that floor and never be met).
    """
    if tol is not None:
        return jnp.asarray(tol, value.dtype)
    eps = jnp.finfo(value.dtype).eps
    return eps ** (2.0 / 3.0) * jnp.maximum(1.0, jnp.abs(value))


def _relative_change(value, new_value):
    scale = jnp.maximum(jnp.maximum(jnp.abs(value), jnp.abs(new_value)),
                        jnp.finfo(value.dtype).tiny)
    return jnp.abs(new_value - value) / scale


_PATIENCE = 10


def _criteria(value, new_value, grad_norm, tol, rtol, idle):
    """``(converged, stop, idle)`` after a step from ``value`` to ``new_value``.

    Converged: the gradient criterion holds, or a given ``rtol`` bounds the relative change.
    ``idle`` counts consecutive steps that changed the objective not at all; L-BFGS often
    takes a few such steps and then moves on, so only ``_PATIENCE`` of them in a row stop
    the loop (unconverged: no progress is being made).
    """
    converged = grad_norm <= _gradient_tolerance(tol, new_value)
    if rtol is not None:
        converged = converged | (_relative_change(value, new_value) <= rtol)
    idle = jnp.where(new_value == value, idle + 1, 0)
    return converged, converged | (idle >= _PATIENCE), idle


@jit_callables(static_argnames="max_steps")
def minimize(fun: Callable, params: PyTree, *args, optimizer: optax.GradientTransformation,
             max_steps: int = 1000, tol: ArrayLike | None = None,
             rtol: ArrayLike | None = None) -> OptimizeResult:
    r"""Minimize ``fun(params, *args)`` with any optax optimizer, in one ``lax.while_loop``.

    Each iteration asks the optimizer for an update from the gradient (and, for optimizers
    with extra arguments such as L-BFGS with its zoom line search, the value, the gradient
    and the function itself), applies it, and stops when

    * the gradient norm falls to ``tol`` (default :math:`\epsilon^{2/3}\max(1, |f|)` at the
      current iterate),
    * or, if ``rtol`` is given, an iteration changes the objective by at most ``rtol``
      relatively,
    * or ten iterations in a row change nothing, ``max_steps`` iterations have run, or the
      objective is no longer finite (these report ``converged=False``).

    The whole loop is one compiled program: it can be ``jit``-ed, ``vmap``-ped over starting
    points or data, and called inside other JAX code.

    Args:
        fun: scalar objective of a pytree of floating parameters (and ``args``).
        params: starting point.
        *args: extra arguments passed to ``fun`` (data, hyper-parameters; may be traced).
        optimizer: an optax ``GradientTransformation``.
        max_steps: iteration limit (a Python int).
        tol: absolute gradient-norm tolerance (default: relative to the objective, above).
        rtol: relative-change tolerance (default: not used).

    Returns:
        An :class:`OptimizeResult`.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> from mlmath.optim import minimize
        >>> result = minimize(lambda x: jnp.sum((x - 3.0) ** 2), jnp.zeros(2),
        ...                   optimizer=optax.adam(0.1), max_steps=2000, tol=1e-4)
        >>> bool(result.converged), [round(float(v), 3) for v in result.params]
        (True, [3.0, 3.0])
    """
    max_steps = _check_steps(max_steps)
    dtype = _float_dtype(params)

    def value_fn(p):
        return fun(p, *args)

    value, grad = jax.value_and_grad(value_fn)(params)
    if jnp.shape(value) != ():
        raise ValueError(f"fun must return a scalar, got shape {jnp.shape(value)}")
    value = value.astype(dtype)
    state = optimizer.init(params)
    extra_args = isinstance(optimizer, optax.GradientTransformationExtraArgs)
    # optimizers whose line search evaluates f at the accepted point keep that value and
    # gradient in their state; reuse it rather than evaluating f again
    cached = optax.tree_utils.tree_get(state, "value", default=None) is not None
    value_and_grad = (optax.value_and_grad_from_state(value_fn) if cached
                      else jax.value_and_grad(value_fn))

    def condition(carry):
        _, _, value, _, step, _, stop, _ = carry
        return (step < max_steps) & ~stop & jnp.isfinite(value)

    def body(carry):
        params, state, value, grad, step, _, _, idle = carry
        if extra_args:
            updates, state = optimizer.update(grad, state, params, value=value, grad=grad,
                                              value_fn=value_fn)
        else:
            updates, state = optimizer.update(grad, state, params)
        params = optax.apply_updates(params, updates)
        new_value, grad = (value_and_grad(params, state=state) if cached
                           else value_and_grad(params))
        converged, stop, idle = _criteria(value, new_value, tree_norm(grad), tol, rtol, idle)
        return params, state, new_value, grad, step + 1, converged, stop, idle

    done = tree_norm(grad) <= _gradient_tolerance(tol, value)
    initial = (params, state, value, grad, jnp.asarray(0), done, done, jnp.asarray(0))
    params, _, value, grad, steps, converged, _, _ = jax.lax.while_loop(condition, body, initial)
    return OptimizeResult(params, value, tree_norm(grad), steps, converged & jnp.isfinite(value))


@jit_callables(static_argnames=("max_steps", "memory_size"))
def lbfgs(fun: Callable, params: PyTree, *args, max_steps: int = 500, tol: ArrayLike | None = None,
          rtol: ArrayLike | None = None, memory_size: int = 10) -> OptimizeResult:
    r"""Minimize with optax's L-BFGS and its zoom line search (strong Wolfe conditions).

    :func:`minimize` with ``optimizer=optax.lbfgs(memory_size=memory_size)``; the value and
    gradient the line search computed at the accepted point are reused, so each iteration
    costs one or a few function-and-gradient evaluations.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.optim import lbfgs
        >>> rosenbrock = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        >>> result = lbfgs(rosenbrock, jnp.array([-1.0, 1.0]), tol=1e-3)
        >>> [round(float(v), 2) for v in result.params]
        [1.0, 1.0]
    """
    return minimize(fun, params, *args, optimizer=optax.lbfgs(memory_size=memory_size),
                    max_steps=max_steps, tol=tol, rtol=rtol)


def _damped_cholesky(hessian, max_tries: int = 40):
    """Cholesky factor of ``H + lam I`` with the smallest ``lam`` in ``0, s, 10 s, ...`` that works.

    ``s = 1e-10 (1 + max |H_ii|)``. Returns the factor and whether one was found.
    """
    size = hessian.shape[0]
    identity = jnp.eye(size, dtype=hessian.dtype)
    scale = 1e-10 * (1.0 + jnp.max(jnp.abs(jnp.diagonal(hessian))))

    def attempt(damping):
        factor = jnp.linalg.cholesky(hessian + damping * identity)
        return factor, jnp.all(jnp.isfinite(factor))

    def condition(carry):
        _, _, ok, tries = carry
        return ~ok & (tries < max_tries)

    def body(carry):
        _, damping, _, tries = carry
        damping = jnp.where(damping == 0, scale, 10.0 * damping)
        factor, ok = attempt(damping)
        return factor, damping, ok, tries + 1

    factor, ok = attempt(jnp.zeros((), hessian.dtype))
    factor, _, ok, _ = jax.lax.while_loop(condition, body, (factor, jnp.zeros((), hessian.dtype),
                                                            ok, jnp.asarray(0)))
    return factor, ok


@jit_callables(static_argnames=("max_steps", "max_backtracks"))
def newton(fun: Callable, params: PyTree, *args, max_steps: int = 100, tol: ArrayLike | None = None,
           rtol: ArrayLike | None = None, hessian: Callable | None = None, max_backtracks: int = 40,
           armijo: float = 1e-4) -> OptimizeResult:
    r"""Minimize with Newton's method: damped Cholesky solves and a backtracking line search.

    Each step solves :math:`(H + \lambda I)\,d = -g` for the smallest damping
    :math:`\lambda \ge 0` (from :math:`0, s, 10s, \dots`) that makes the matrix positive
    definite, so the direction is always one of descent, then halves the step from 1 until
    the Armijo condition :math:`f(x + t d) \le f(x) + c\,t\,g^\top d` holds (or, once the
    decrease is below the rounding error of :math:`f`, Hager and Zhang's approximate Wolfe
    conditions: :math:`f` not measurably higher and the slope along :math:`d` mostly gone).
    Near a strict minimum the undamped full step is taken and convergence is quadratic.

    The Hessian is ``jax.hessian`` of ``fun`` over the flattened parameters unless
    ``hessian(params, *args)`` is given (a closed form is usually much cheaper, e.g.
    :math:`X^\top W X` for a generalized linear model); it must return the matrix for the
    parameters flattened in ``jax.flatten_util.ravel_pytree`` order.

    Args:
        fun, params, *args, max_steps, tol, rtol: as in :func:`minimize`.
        hessian: optional closed-form Hessian.
        max_backtracks: step halvings before a step is abandoned (the loop then stops).
        armijo: the sufficient-decrease constant :math:`c`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.optim import newton
        >>> result = newton(lambda x: jnp.sum(jnp.cosh(x - 1.0)), jnp.zeros(3))
        >>> bool(result.converged), int(result.num_steps) <= 6
        (True, True)
    """
    max_steps = _check_steps(max_steps)
    dtype = _float_dtype(params)
    flat, unravel = ravel_pytree(params)

    def flat_fun(x):
        return fun(unravel(x), *args)

    if hessian is None:
        flat_hessian = jax.hessian(flat_fun)
    else:
        def flat_hessian(x):
            return jnp.asarray(hessian(unravel(x), *args), dtype)

    value_and_grad = jax.value_and_grad(flat_fun)
    value, grad = value_and_grad(flat)
    if jnp.shape(value) != ():
        raise ValueError(f"fun must return a scalar, got shape {jnp.shape(value)}")

    def condition(carry):
        _, value, _, step, _, stop, _ = carry
        return (step < max_steps) & ~stop & jnp.isfinite(value)

    def body(carry):
        x, value, grad, step, _, _, idle = carry
        factor, ok = _damped_cholesky(flat_hessian(x))
        solved = jax.scipy.linalg.cho_solve((factor, True), -grad)
        direction = jnp.where(ok, solved, -grad)
        slope = jnp.dot(grad, direction)
        # the rounding level of f: below it a decrease cannot be seen (approximate Wolfe)
        noise = jnp.finfo(dtype).eps ** (2.0 / 3.0) * jnp.maximum(1.0, jnp.abs(value))
        grad_norm = jnp.linalg.norm(grad)

        def sufficient(t, trial_value, trial_grad):
            decrease = trial_value <= value + armijo * t * slope
            # Near the minimum the predicted decrease g^T d / 2 falls below f's rounding
            # error and the Armijo test fails on noise alone. Accept then a step that does
            # not raise f measurably and flattens f along d (Hager & Zhang's approximate
            # Wolfe conditions, as optax's zoom line search) if it at least halves the
            # gradient: the gradient, unlike f, is still accurate there, so Newton keeps
            # converging quadratically; once the gradient is at its own rounding floor such
            # steps are refused and the loop stops.
            trial_slope = jnp.dot(trial_grad, direction)
            approximate = ((trial_value <= value + noise) & (trial_slope >= 0.9 * slope)
                           & (trial_slope <= (2.0 * armijo - 1.0) * slope)
                           & (jnp.linalg.norm(trial_grad) <= 0.5 * grad_norm))
            return decrease | approximate

        def not_enough(state):
            t, trial_value, trial_grad, tries = state
            return ~sufficient(t, trial_value, trial_grad) & (tries < max_backtracks)

        def halve(state):
            t, _, _, tries = state
            t = 0.5 * t
            return (t, *value_and_grad(x + t * direction), tries + 1)

        one = jnp.ones((), dtype)
        t, trial_value, trial_grad, _ = jax.lax.while_loop(
            not_enough, halve, (one, *value_and_grad(x + direction), jnp.asarray(0))
        )
        accepted = sufficient(t, trial_value, trial_grad)
        new_x = jnp.where(accepted, x + t * direction, x)
        new_value = jnp.where(accepted, trial_value, value)
        new_grad = jnp.where(accepted, trial_grad, grad)
        converged, stop, idle = _criteria(value, new_value, jnp.linalg.norm(new_grad), tol,
                                          rtol, idle)
        # a step the line search cannot make decrease f ends the loop
        return new_x, new_value, new_grad, step + 1, converged, stop | ~accepted, idle

    done = jnp.linalg.norm(grad) <= _gradient_tolerance(tol, value)
    x, value, grad, steps, converged, _, _ = jax.lax.while_loop(
        condition, body, (flat, value, grad, jnp.asarray(0), done, done, jnp.asarray(0))
    )
    grad_norm = jnp.linalg.norm(grad)
    converged = converged & jnp.isfinite(value)
    return OptimizeResult(unravel(x), value, grad_norm, steps, converged)
