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
from optax.tree_utils import tree_sub

from mlmath._jit import jit, jit_callables


class OptimizeResult(NamedTuple):
    """What a minimizer returns.

    Attributes:
        params: the final parameters (a pytree like the starting point).
        value: the objective at ``params``.
        grad_norm: the Euclidean norm of the gradient at ``params``.
        num_steps: iterations taken (steps accepted: one rejected as non-finite, or that
            Newton's line search could not accept, is not counted).
        converged: whether the stopping rule of :func:`minimize` was met at ``params``, or
            ``params`` is a stationary point to the rounding of ``params``; false when the
            loop ran out of steps or of progress away from such a point, or a step met a
            non-finite objective or gradient (``params`` is then the last finite iterate).
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


def _default_rtol(dtype, power=2.0 / 3.0):
    """The default relative tolerance ``tau = eps^power``.

    ``eps^(2/3)`` (2.4e-5 in float32, 3.7e-11 in float64) for :func:`minimize`'s
    first-order optimizers; Newton's method and L-BFGS use ``eps^(7/8)`` (8.7e-7, 2.1e-14),
    FISTA ``eps^(3/4)`` (6.4e-6, 1.8e-12): an extra digit costs a superlinear method a step
    or two, a linear one many.
    """
    return jnp.finfo(dtype).eps ** power


_SUPERLINEAR = 7.0 / 8.0


def _small_enough(grad_norm, distance, decrease, tol, rtol, power=2.0 / 3.0):
    r"""Whether an iterate meets the stopping rule (see :func:`minimize`).

    * ``tol`` given: the absolute test ``|g| <= tol``;
    * ``rtol`` given, or neither given (``rtol = eps^power``): the relative test
      :math:`|g_k|\,\lVert x_k - x_0\rVert \le \tau\,(f_0 - f_k)` with
      :math:`f_0 - f_k > 0`, invariant to adding a constant to :math:`f`, to scaling it,
      and to translating and scaling :math:`x`;
    * either way an exactly zero gradient.
    """
    dtype = grad_norm.dtype
    converged = grad_norm == 0
    if tol is not None:
        converged = converged | (grad_norm <= jnp.asarray(tol, dtype))
    if rtol is not None or tol is None:
        tau = _default_rtol(dtype, power) if rtol is None else jnp.asarray(rtol, dtype)
        converged = converged | ((decrease > 0) & (grad_norm * distance <= tau * decrease))
    return converged


_ROUNDING_ULPS = 16


def _at_rounding_floor(residual_fn, x, residual):
    r"""Whether ``x`` is a zero of ``residual_fn`` (a gradient) to the rounding of ``x``.

    True when moving every coordinate by :math:`16\,\epsilon\,|x_i|` against the sign of
    its residual changes the residual by at least the residual's own norm:
    :math:`\lVert r(x)\rVert \le \lVert r(x + \delta) - r(x)\rVert`. Then the correction
    that would zero ``r`` (about :math:`H^{-1} r`) is of the order of ``x``'s rounding, and
    no floating-point iterate can do materially better. Free of any scale of ``f`` or ``x``
    (and of constants added to ``f``); a residual that does not change (a linear function)
    or a point at the origin passes only with an exactly zero residual.
    """
    leaves = jax.tree_util.tree_leaves(residual)
    dtype = jnp.result_type(*leaves)
    ulps = _ROUNDING_ULPS * jnp.finfo(dtype).eps
    shifted = jax.tree_util.tree_map(lambda xi, ri: xi - ulps * jnp.abs(xi) * jnp.sign(ri),
                                     x, residual)
    change = tree_norm(jax.tree_util.tree_map(jnp.subtract, residual_fn(shifted), residual))
    norm = tree_norm(residual)
    return (norm <= change) & jnp.isfinite(norm)


_PATIENCE = 10
_NEWTON_PATIENCE = 3


def _progress(moved, value, new_value, grad_norm, best_grad, idle, line_search=True):
    """Count iterations in a row that make no progress; ``_PATIENCE`` of them stop a loop.

    No progress: the parameters did not move, or (for a method with a line search, whose
    steps must lower the objective) the objective is exactly unchanged and the gradient
    norm no smaller than its best so far. L-BFGS often takes a few such steps and then
    moves on. The gradient counts too because it may still improve where the objective
    cannot (that of ``1e6 + q(x)`` in float32 is lost in its rounding long before its
    gradient is); a method without a line search (Adam, FISTA's momentum) may leave both
    unimproved for many steps while it is still converging, so there only a step that
    does not move counts. (Newton's method has its own, quicker rule: :func:`newton`.)
    """
    stalled = ~moved
    if line_search:
        stalled = stalled | ((new_value == value) & (grad_norm >= best_grad))
    return jnp.where(stalled, idle + 1, 0), jnp.minimum(best_grad, grad_norm)


def _moved(new, old):
    moved = jnp.asarray(False)
    for a, b in zip(jax.tree_util.tree_leaves(new), jax.tree_util.tree_leaves(old), strict=True):
        moved = moved | jnp.any(a != b)
    return moved


def _all_finite(value, tree):
    finite = jnp.isfinite(value)
    for leaf in jax.tree_util.tree_leaves(tree):
        finite = finite & jnp.all(jnp.isfinite(leaf))
    return finite


def _select(keep_new, new, old):
    return jax.tree_util.tree_map(lambda a, b: jnp.where(keep_new, a, b), new, old)


@jit_callables(static_argnames="max_steps")
def minimize(fun: Callable, params: PyTree, *args, optimizer: optax.GradientTransformation,
             max_steps: int = 1000, tol: ArrayLike | None = None,
             rtol: ArrayLike | None = None) -> OptimizeResult:
    r"""Minimize ``fun(params, *args)`` with any optax optimizer, in one ``lax.while_loop``.

    Each iteration asks the optimizer for an update from the gradient (and, for optimizers
    with extra arguments such as L-BFGS with its zoom line search, the value, the gradient
    and the function itself) and applies it. With :math:`x_0, f_0` the start and its
    objective and :math:`g_k` the gradient at iterate :math:`x_k`, the loop stops,
    converged, when

    * by default (or with ``rtol`` given, as :math:`\tau`)
      :math:`\lVert g_k\rVert\,\lVert x_k - x_0\rVert \le \tau\,(f_0 - f_k)` with
      :math:`f_0 > f_k` and :math:`\tau = \epsilon^{2/3}` (2.4e-5 in float32, 3.7e-11 in
      float64; :func:`lbfgs` and :func:`newton` use :math:`\epsilon^{7/8}`, :func:`fista`
      :math:`\epsilon^{3/4}`). :math:`\lVert g_k\rVert\,\lVert x_k - x_0\rVert` estimates
      the decrease still to come over the length scale the problem has shown; the rule asks
      it to be a :math:`\tau` fraction of the decrease achieved (for convex :math:`f` with
      :math:`\lVert x_k - x^*\rVert \lesssim \lVert x_k - x_0\rVert`, a bound
      :math:`f_k - f^* \lesssim \tau\,(f_0 - f_k)`). It is unchanged by adding a constant to
      :math:`f`, scaling :math:`f`, or translating and scaling :math:`x`, and is never met
      at the start, nor on an objective unbounded below (there
      :math:`\lVert g\rVert\lVert x_k - x_0\rVert` grows with the decrease);
    * with ``tol`` given: :math:`\lVert g_k\rVert \le` ``tol`` (absolute; the rule above then
      applies only if ``rtol`` is given too);
    * the gradient is exactly zero.

    It also stops when ``max_steps`` iterations have run, when ten iterations in a row make
    no progress (the parameters do not move or, for optimizers with a line search, neither
    the objective nor the best gradient norm changes), or when a step reaches a non-finite
    objective or gradient: that step is not taken and the last finite iterate is returned.
    These report ``converged=False`` unless the final point (like the start, before any
    step) is a stationary point to the rounding of the parameters: moving every coordinate
    by :math:`16\epsilon|x_i|` changes the gradient by at least its norm, so no
    floating-point iterate could do materially better. That test too is free of any scale
    or offset of :math:`f`; at :math:`x = 0` it needs an exactly zero gradient.

    The whole loop is one compiled program: it can be ``jit``-ed, ``vmap``-ped over starting
    points or data, and called inside other JAX code.

    Args:
        fun: scalar objective of a pytree of floating parameters (and ``args``).
        params: starting point.
        *args: extra arguments passed to ``fun`` (data, hyper-parameters; may be traced).
        optimizer: an optax ``GradientTransformation``.
        max_steps: iteration limit (a Python int).
        tol: absolute gradient-norm tolerance (default: not used; the relative rule).
        rtol: the :math:`\tau` of the relative rule (default :math:`\epsilon^{2/3}`, or not
            used when only ``tol`` is given).

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

    start = params
    grad_fn = jax.grad(value_fn)

    def condition(carry):
        *_, step, _, stop, _, _ = carry
        return (step < max_steps) & ~stop

    def body(carry):
        params, state, value, grad, step, _, _, idle, best = carry
        if extra_args:
            updates, state = optimizer.update(grad, state, params, value=value, grad=grad,
                                              value_fn=value_fn)
        else:
            updates, state = optimizer.update(grad, state, params)
        new_params = optax.apply_updates(params, updates)
        new_value, new_grad = (value_and_grad(new_params, state=state) if cached
                               else value_and_grad(new_params))
        new_value = new_value.astype(dtype)
        # a step into a non-finite region is not taken: the loop ends at the last finite
        # iterate, unconverged
        finite = _all_finite(new_value, new_grad)
        moved = _moved(new_params, params)
        params, value_kept, grad = _select(finite, (new_params, new_value, new_grad),
                                           (params, value, grad))
        grad_norm = tree_norm(grad)
        converged = finite & _small_enough(grad_norm, tree_norm(tree_sub(params, start)),
                                           value0 - value_kept, tol, rtol)
        idle, best = _progress(moved, value, value_kept, grad_norm, best, idle, cached)
        stop = converged | ~finite | (idle >= _PATIENCE)
        return (params, state, value_kept, grad, step + finite.astype(step.dtype), converged,
                stop, idle, best)

    value0 = value
    finite = _all_finite(value, grad)
    done = finite & (_small_enough(tree_norm(grad), jnp.zeros((), dtype), jnp.zeros((), dtype),
                                   tol, None)
                     | _at_rounding_floor(grad_fn, params, grad))
    initial = (params, state, value, grad, jnp.asarray(0), done, done | ~finite, jnp.asarray(0),
               tree_norm(grad))
    params, _, value, grad, steps, converged, *_ = jax.lax.while_loop(condition, body, initial)
    # out of steps or out of progress: converged after all if the gradient is zero to the
    # rounding of the parameters
    converged = (converged | _at_rounding_floor(grad_fn, params, grad)) & _all_finite(value, grad)
    return OptimizeResult(params, value, tree_norm(grad), steps, converged)


@jit_callables(static_argnames=("max_steps", "memory_size"))
def lbfgs(fun: Callable, params: PyTree, *args, max_steps: int = 500, tol: ArrayLike | None = None,
          rtol: ArrayLike | None = None, memory_size: int = 10) -> OptimizeResult:
    r"""Minimize with optax's L-BFGS and its zoom line search (strong Wolfe conditions).

    :func:`minimize` with ``optimizer=optax.lbfgs(memory_size=memory_size)``; the value and
    gradient the line search computed at the accepted point are reused, so each iteration
    costs one or a few function-and-gradient evaluations. The default relative tolerance
    is tighter than :func:`minimize`'s, :math:`\tau = \epsilon^{7/8}` (8.7e-7 in float32,
    2.1e-14 in float64): each extra digit costs L-BFGS, a superlinear method, few steps.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.optim import lbfgs
        >>> rosenbrock = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        >>> result = lbfgs(rosenbrock, jnp.array([-1.0, 1.0]), tol=1e-3)
        >>> [round(float(v), 2) for v in result.params]
        [1.0, 1.0]
    """
    if rtol is None and tol is None:
        rtol = _default_rtol(_float_dtype(params), _SUPERLINEAR)
    return minimize(fun, params, *args, optimizer=optax.lbfgs(memory_size=memory_size),
                    max_steps=max_steps, tol=tol, rtol=rtol)


def _damped_cholesky(hessian, max_tries: int = 40):
    """Cholesky factor of ``H + lam I`` with the smallest ``lam`` in ``0, s, 10 s, ...`` that works.

    ``s = 1e-10 (1 + max |H_ii|)``. Returns the factor and whether one was found. One loop
    whose first pass tries ``lam = 0`` (the factorization is traced and compiled once).
    """
    size = hessian.shape[0]
    identity = jnp.eye(size, dtype=hessian.dtype)
    scale = 1e-10 * (1.0 + jnp.max(jnp.abs(jnp.diagonal(hessian))))

    def condition(carry):
        _, _, ok, tries = carry
        return (tries == 0) | (~ok & (tries <= max_tries))

    def body(carry):
        _, damping, _, tries = carry
        damping = jnp.where(tries == 0, 0.0, jnp.where(damping == 0, scale, 10.0 * damping))
        factor = jnp.linalg.cholesky(hessian + damping * identity)
        return factor, damping, jnp.all(jnp.isfinite(factor)), tries + 1

    zero = jnp.zeros((), hessian.dtype)
    factor, _, ok, _ = jax.lax.while_loop(
        condition, body, (jnp.zeros_like(hessian), zero, jnp.asarray(False), jnp.asarray(0)))
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
    It stops as :func:`minimize` does (a step the line search cannot accept ends the loop,
    converged only if the point is stationary to rounding), with the tighter default
    :math:`\tau = \epsilon^{7/8}` (8.7e-7 in float32, 2.1e-14 in float64): near a minimum
    each Newton step doubles the correct digits, so they cost almost nothing. Where the
    gradient's own rounding keeps that rule out of reach (common in float32), the loop
    stops, converged, at the first iterate that is stationary to the rounding of its
    coordinates (the rounding test of :func:`minimize`); failing that, three steps in a
    row that neither lower :math:`f` above its rounding level nor bring the gradient norm
    below its best so far end it, and the rounding test decides ``converged``.

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

    grad_fn = jax.grad(flat_fun)

    def condition(carry):
        *_, step, _, stop, _, _ = carry
        return (step < max_steps) & ~stop

    def body(carry):
        x, value, grad, step, _, _, idle, best = carry
        factor, ok = _damped_cholesky(flat_hessian(x))
        solved = jax.scipy.linalg.cho_solve((factor, True), -grad)
        direction = jnp.where(ok, solved, -grad)
        slope = jnp.dot(grad, direction)
        # the rounding level of f: below it a decrease cannot be seen (approximate Wolfe)
        noise = jnp.finfo(dtype).eps ** (2.0 / 3.0) * jnp.abs(value)
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

        # one loop whose first pass tries the full step t = 1 (f is traced and compiled
        # once for the line search): then up to max_backtracks halvings
        def not_enough(state):
            t, trial_value, trial_grad, tries = state
            return (tries == 0) | (~sufficient(t, trial_value, trial_grad)
                                   & (tries <= max_backtracks))

        def halve(state):
            t, _, _, tries = state
            t = 0.5 * t
            return (t, *value_and_grad(x + t * direction), tries + 1)

        two = jnp.full((), 2.0, dtype)
        t, trial_value, trial_grad, _ = jax.lax.while_loop(
            not_enough, halve, (two, value, grad, jnp.asarray(0))
        )
        # a step into a non-finite region is not taken either: the loop ends at the last
        # finite iterate, unconverged
        accepted = (sufficient(t, trial_value, trial_grad)
                    & _all_finite(trial_value, trial_grad))
        new_x = jnp.where(accepted, x + t * direction, x)
        new_value = jnp.where(accepted, trial_value, value)
        new_grad = jnp.where(accepted, trial_grad, grad)
        new_grad_norm = jnp.linalg.norm(new_grad)
        # Converged: the stopping rule, or (where the gradient's rounding keeps that rule
        # out of reach, common in float32) a point that is stationary to the rounding of
        # its own coordinates, which no further step can materially improve (the test
        # costs one more gradient evaluation a step)
        converged = accepted & (
            _small_enough(new_grad_norm, jnp.linalg.norm(new_x - flat), value0 - new_value,
                          tol, rtol, _SUPERLINEAR)
            | _at_rounding_floor(grad_fn, new_x, new_grad))
        # Progress, for Newton's method: a decrease of f above its rounding level, or a
        # gradient norm below the best so far. Far from the minimum accepted steps lower f
        # measurably; near it the gradient shrinks every step (quadratically, or linearly
        # with an approximate Hessian) until it reaches its rounding floor, where steps only
        # shuffle the last digits and rarely set a new best: _NEWTON_PATIENCE such steps in a
        # row end the loop.
        progress = (value - new_value > noise) | (new_grad_norm < best)
        idle = jnp.where(progress, 0, idle + 1)
        best = jnp.minimum(best, new_grad_norm)
        # a step the line search cannot make decrease f ends the loop
        stop = converged | ~accepted | (idle >= _NEWTON_PATIENCE)
        return (new_x, new_value, new_grad, step + accepted.astype(step.dtype), converged, stop,
                idle, best)

    value0 = value
    finite = _all_finite(value, grad)
    done = finite & (_small_enough(jnp.linalg.norm(grad), jnp.zeros((), dtype),
                                   jnp.zeros((), dtype), tol, None)
                     | _at_rounding_floor(grad_fn, flat, grad))
    x, value, grad, steps, converged, *_ = jax.lax.while_loop(
        condition, body, (flat, value, grad, jnp.asarray(0), done, done | ~finite, jnp.asarray(0),
                          jnp.linalg.norm(grad))
    )
    grad_norm = jnp.linalg.norm(grad)
    # out of steps or out of progress: converged after all if the gradient is zero to the
    # rounding of the parameters
    converged = (converged | _at_rounding_floor(grad_fn, x, grad)) & _all_finite(value, grad)
    return OptimizeResult(unravel(x), value, grad_norm, steps, converged)
