"""Logistic regression: Bernoulli/Categorical maximum likelihood, Gaussian or Laplace priors."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.custom_derivatives import SymbolicZero

from mlmath import losses, optim
from mlmath._estimator import (
    Classifier,
    check_bool,
    check_choice,
    check_features,
    check_int,
    check_n_features,
    check_positive,
    check_sample_weight,
    check_scalar_for_fit,
    check_tolerance,
    encode_labels,
    python_scalar,
    static_labels,
)
from mlmath._jit import jit
from mlmath._linalg import sum_over_row_blocks
from mlmath._validation import concrete_value
from mlmath.linear._regression import power_of_two_scale

PENALTIES = ("l2", "l1", None)
# the degree p of each penalty, Omega(w / s) = s^-p Omega(w): what rescaling X multiplies C by
PENALTY_DEGREE = {"l2": 2, "l1": 1, None: 0}
SOLVERS = ("auto", "newton", "lbfgs", "fista")
_DEFAULT_STEPS = {"newton": 100, "lbfgs": 1000, "fista": 20000}

# ----------------------------------------------------------------------------------------
# Pure functions


class LogisticFit(NamedTuple):
    """Fitted logistic regression: ``coef (K', d)``, ``intercept (K',)`` with ``K' = 1``
    for two classes (the log-odds of the second) and ``K`` otherwise."""

    coef: Array
    intercept: Array
    num_steps: Array
    converged: Array
    objective: Array


@jit
def logistic_logits(X, coef, intercept):
    """Decision values: ``(n,)`` log-odds for binary models, ``(n, K)`` logits otherwise."""
    logits = X @ coef.T + intercept
    return logits[:, 0] if coef.shape[0] == 1 else logits


@jit
def logistic_log_proba(X, coef, intercept):
    r"""Log-probabilities of every class, ``(n, K)``, from ``X (n, d)``.

    Two classes (``coef`` of shape ``(1, d)``): :math:`\log\sigma(-z)` and
    :math:`\log\sigma(z)` of the log-odds :math:`z = x^\top w + b`; more (``coef (K, d)``):
    :math:`\log\operatorname{softmax}(W x + b)`. Both in log space, finite for any finite
    logits.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import logistic_log_proba
        >>> log_p = logistic_log_proba(jnp.array([[0.0], [2.0], [1e4]]), jnp.array([[1.0]]),
        ...                            jnp.array([0.0]))
        >>> [[round(float(v), 4) for v in row] for row in log_p[:2]]  # log sigma(-z), log sigma(z)
        [[-0.6931, -0.6931], [-2.1269, -0.1269]]
        >>> float(log_p[2, 0])  # a log-odds of 1e4: log sigma(-1e4), exact
        -10000.0
    """
    logits = logistic_logits(X, coef, intercept)
    if logits.ndim == 1:
        return jnp.stack([jax.nn.log_sigmoid(-logits), jax.nn.log_sigmoid(logits)], axis=1)
    return jax.nn.log_softmax(logits, axis=1)


@jit
def logistic_nll(params, X, y, sample_weight):
    r"""Weighted negative log-likelihood :math:`\sum_i s_i\,[-\log p(y_i \mid x_i)]`.

    Bernoulli with log-odds :math:`x^\top w + b` when ``coef`` has one row, Categorical with
    logits :math:`W x + b` otherwise; the per-example terms are
    :func:`mlmath.losses.sigmoid_binary_cross_entropy` and
    :func:`mlmath.losses.softmax_cross_entropy`.

    Differentiable in the parameters, ``X`` and ``sample_weight`` (forward and reverse
    mode, to any order). Its derivative rule computes the gradient in the parameters with
    the value, in one pass over ``X`` (reverse-mode autodiff of ``X @ W`` would read ``X``
    twice); derivatives in ``X`` or the weights, rarely wanted, use the plain formula.
    """
    return _nll(tuple(params), X, y, sample_weight)


def _per_example_nll(logits, y):
    if logits.ndim == 1:
        return losses.sigmoid_binary_cross_entropy(logits, y.astype(logits.dtype))
    return losses.softmax_cross_entropy(logits, y)


def _plain_nll(params, X, y, sample_weight):
    coef, intercept = params
    return jnp.sum(sample_weight * _per_example_nll(logistic_logits(X, coef, intercept), y))


def _nll_value_and_grad(params, X, y, sample_weight):
    """The NLL and its gradient in the parameters in one pass over ``X``, block by block.

    Reverse-mode differentiation of ``X @ W`` reads ``X`` twice, once for the logits and
    once, much later, for ``X^T r``; for a large ``X`` both passes come from main memory.
    Here each block's residuals ``r = s (p - onehot(y))`` are formed right after its logits
    and ``X_b^T r`` is taken while the block is still in cache (on 2 CPU cores this halves
    the time of a binary fit's gradient at 200,000 x 100).
    """
    coef, intercept = params

    def block(Xb, yb, sb):
        logits = logistic_logits(Xb, coef, intercept)
        if logits.ndim == 1:
            value = jnp.sum(sb * _per_example_nll(logits, yb))
            residual = (sb * (jax.nn.sigmoid(logits) - yb.astype(Xb.dtype)))[:, None]
        else:
            # the value and the residuals from one log-softmax (inside a fit the logits are
            # finite; softmax_cross_entropy's handling of infinite logits and masks is not
            # needed here); a label outside 0..K-1 makes both NaN, as that loss does
            k = coef.shape[0]
            log_p = jax.nn.log_softmax(logits, axis=-1)
            one_hot = jax.nn.one_hot(yb, k, dtype=Xb.dtype)
            invalid = jnp.where((yb >= 0) & (yb < k), 0.0, jnp.nan).astype(Xb.dtype)
            value = jnp.sum(sb * (invalid - jnp.sum(one_hot * log_p, axis=-1)))
            residual = (sb + invalid)[:, None] * (jnp.exp(log_p) - one_hot)
        return value, (residual.T @ Xb, jnp.sum(residual, axis=0))

    return sum_over_row_blocks(block, (X, y), sample_weight)


@jax.custom_jvp
def _nll(params, X, y, sample_weight):
    return _plain_nll(params, X, y, sample_weight)


def _nll_jvp(primals, tangents):
    params, X, y, sample_weight = primals
    d_params, d_X, _, d_weight = tangents
    value, grad = _nll_value_and_grad(params, X, y, sample_weight)
    tangent = jnp.zeros((), value.dtype)
    for g, t in zip(grad, d_params, strict=True):
        if not isinstance(t, SymbolicZero):
            tangent = tangent + jnp.vdot(g, t)
    if not (isinstance(d_X, SymbolicZero) and isinstance(d_weight, SymbolicZero)):
        # derivatives in the data (rarely wanted): forward mode through the plain formula
        d_X, d_weight = (jnp.zeros(p.shape, p.dtype) if isinstance(t, SymbolicZero) else t
                         for p, t in ((X, d_X), (sample_weight, d_weight)))
        _, data_tangent = jax.jvp(lambda X, s: _plain_nll(params, X, y, s),
                                  (X, sample_weight), (d_X, d_weight))
        tangent = tangent + data_tangent
    return value, tangent


_nll.defjvp(_nll_jvp, symbolic_zeros=True)


@jit(static_argnames="penalty")
def logistic_objective(params, X, y, sample_weight, C, penalty):
    r"""scikit-learn's objective: :math:`C\sum_i s_i\,\mathrm{NLL}_i + \Omega(W)`.

    :math:`\Omega = \tfrac12\lVert W\rVert^2` (``"l2"``: a Gaussian prior of variance ``C``),
    :math:`\lVert W\rVert_1` (``"l1"``: a Laplace prior of scale ``C``) or 0 (``None``:
    maximum likelihood); the intercept is never penalized.
    """
    value = C * logistic_nll(params, X, y, sample_weight)
    if penalty == "l2":
        value = value + losses.l2_penalty(params[0])
    elif penalty == "l1":
        value = value + losses.l1_penalty(params[0])
    return value


@jit(static_argnames="penalty")
def logistic_hessian(params, X, y, sample_weight, C, penalty):
    r"""Closed-form Hessian of :func:`logistic_objective` (L2 or no penalty).

    Binary: :math:`C\,\tilde X^\top \mathrm{diag}(s\,p(1-p))\,\tilde X + \mathrm{diag}(1_W, 0_b)`
    with :math:`\tilde X = [X, 1]`. Multinomial: the blocks
    :math:`C\sum_i s_i \tilde x_i\tilde x_i^\top(\delta_{kl}p_{ik} - p_{ik}p_{il})`. One
    matrix product instead of ``jax.hessian``'s one Hessian-vector product per parameter.
    Returned in the order of ``ravel_pytree((coef, intercept))``.
    """
    coef, intercept = params
    d = X.shape[1]
    k = coef.shape[0]

    def block(Xb, _, sb):
        rows = Xb.shape[0]
        logits = logistic_logits(Xb, coef, intercept)
        if k == 1:
            p = jax.nn.sigmoid(logits)
            curvature = sb * p * (1.0 - p)
            # [[X^T W X, X^T w], [w^T X, sum w]] (intercept last), without copying X into
            # the design matrix [X, 1]
            weighted = Xb * curvature[:, None]
            column = jnp.sum(weighted, axis=0)
            return jnp.block([[weighted.T @ Xb, column[:, None]],
                              [column[None, :], jnp.sum(curvature)[None, None]]])
        p = jax.nn.softmax(logits, axis=-1)
        design = jnp.concatenate([Xb, jnp.ones((rows, 1), Xb.dtype)], axis=1)
        # H = sum_i s_i (diag(p_i) - p_i p_i^T) (x) x_i x_i^T with z_i = p_i (x) x_i: the
        # diagonal blocks are K products X^T diag(s p_k) X, the cross term one
        # (K (d+1)) x n x (K (d+1)) product, and no (n, K, K, d+1) array is ever formed
        z = p[:, :, None] * design[:, None, :]                       # (n, K, d+1)
        diagonal = jnp.einsum("nkj,nm->kjm", z * sb[:, None, None], design)
        z_flat = z.reshape(rows, k * (d + 1))
        cross = (z_flat * sb[:, None]).T @ z_flat                    # (K(d+1), K(d+1))
        blocks = jnp.zeros((k, d + 1, k, d + 1), Xb.dtype).at[
            jnp.arange(k), :, jnp.arange(k), :].set(diagonal)
        return blocks.reshape(k * (d + 1), k * (d + 1)) - cross

    hessian = C * sum_over_row_blocks(block, (X, y), sample_weight,
                                       width=d if k == 1 else 2 * k * (d + 1))
    if k > 1:
        # reorder (class, feature-or-intercept) to ravel order, all of coef then the
        # intercepts, by slicing (a gather here is fused into every consumer of the matrix)
        full = hessian.reshape(k, d + 1, k, d + 1)
        hessian = jnp.block([
            [full[:, :d, :, :d].reshape(k * d, k * d), full[:, :d, :, d].reshape(k * d, k)],
            [full[:, d, :, :d].reshape(k, k * d), full[:, d, :, d]],
        ])
    if penalty == "l2":
        penalized = jnp.concatenate([jnp.ones(k * d, X.dtype), jnp.zeros(k, X.dtype)])
        hessian = hessian + jnp.diag(penalized)
    return hessian


def _centre_gauge(coef, intercept, penalty):
    """Multinomial logits are unchanged by adding one vector to every class: pick the
    representative scikit-learn reports (intercepts, and unpenalized coefficients, summing
    to zero over classes). Binary models have no such freedom."""
    if coef.shape[0] == 1:
        return coef, intercept
    intercept = intercept - jnp.mean(intercept)
    if penalty is None:
        coef = coef - jnp.mean(coef, axis=0, keepdims=True)
    return coef, intercept


def _gauge_directions(k: int, d: int, penalty, fit_intercept: bool, dtype):
    """Unit vectors (rows) along which the multinomial objective is flat, in ravel order.

    Adding one number to a column of every class (an intercept, or, without a penalty, a
    feature's coefficients) leaves every softmax unchanged. Binary models have no such
    direction.
    """
    if k == 1:
        return None
    rows = []
    if penalty is None:
        for j in range(d):
            row = np.zeros(k * d + k)
            row[np.arange(k) * d + j] = 1.0 / np.sqrt(k)
            rows.append(row)
    if fit_intercept:
        row = np.zeros(k * d + k)
        row[k * d:] = 1.0 / np.sqrt(k)
        rows.append(row)
    return jnp.asarray(np.stack(rows), dtype) if rows else None


def _free_mask(k: int, d: int, fit_intercept: bool, dtype, active=None):
    """1 for the parameters the optimality conditions determine, 0 for those held fixed.

    In ravel order. Without an intercept the intercepts are fixed (at zero); with an L1
    penalty (``active``, ``(k, d)`` booleans) so are the coefficients at zero, whose
    derivative is zero on the active set. ``None`` when every parameter is free.
    """
    if fit_intercept and active is None:
        return None
    coef = jnp.ones(k * d, dtype) if active is None else active.reshape(-1).astype(dtype)
    return jnp.concatenate([coef, jnp.full(k, 1.0 if fit_intercept else 0.0, dtype)])


def _system_matrix(h, free, gauge):
    """The Hessian ``h`` as Newton's method and the implicit derivative solve with it.

    Rows and columns of fixed parameters (``free`` 0) are replaced by a unit diagonal. The
    multinomial Hessian is singular along each gauge direction ``u`` (``H u = 0``, and
    ``g`` and every derivative of ``g`` are orthogonal to ``u``); adding ``c u u^T`` leaves
    the solution exactly the minimum-norm one and makes the matrix positive definite, so
    no damping search is needed.
    """
    if free is not None:
        h = h * free[:, None] * free[None, :] + jnp.diag(1.0 - free)
    if gauge is not None:
        scale = jnp.mean(jnp.abs(jnp.diagonal(h)))
        h = h + scale * gauge.T @ gauge
    return h


def _logistic_hvp(params, X, y, sample_weight, C, penalty, vector):
    """Hessian-vector product of :func:`logistic_objective` (L2 or none), in two passes over
    ``X`` and without the matrix: ``C X~^T (s (diag(p) - p p^T) X~ v) (+ v_W)``."""
    coef, intercept = params
    v_coef, v_intercept = vector

    def block(Xb, _, sb):
        logits = Xb @ coef.T + intercept
        direction = Xb @ v_coef.T + v_intercept                       # (n, K')
        if coef.shape[0] == 1:
            p = jax.nn.sigmoid(logits)
            q = sb[:, None] * p * (1.0 - p) * direction
        else:
            p = jax.nn.softmax(logits, axis=-1)
            q = sb[:, None] * p * (direction - jnp.sum(p * direction, axis=1, keepdims=True))
        return q.T @ Xb, jnp.sum(q, axis=0)

    hv_coef, hv_intercept = sum_over_row_blocks(block, (X, y), sample_weight)
    hv_coef = C * hv_coef
    if penalty == "l2":
        hv_coef = hv_coef + v_coef
    return hv_coef, C * hv_intercept


def _logistic_hessian_diagonal(params, X, y, sample_weight, C, penalty):
    """The diagonal of :func:`logistic_hessian` in ravel order, in one pass over ``X``."""
    coef, intercept = params
    k, d = coef.shape

    def block(Xb, _, sb):
        logits = Xb @ coef.T + intercept
        p = jax.nn.sigmoid(logits) if k == 1 else jax.nn.softmax(logits, axis=-1)
        curvature = sb[:, None] * p * (1.0 - p)                        # (n, K')
        return curvature.T @ (Xb * Xb), jnp.sum(curvature, axis=0)

    diag_coef, diag_intercept = sum_over_row_blocks(block, (X, y), sample_weight)
    diag_coef = C * diag_coef + (1.0 if penalty == "l2" else 0.0)
    return jnp.concatenate([diag_coef.reshape(k * d), C * diag_intercept])


# Up to this many parameters the implicit derivative solves with the dense closed-form
# Hessian (as Newton's method does); above, with conjugate gradients on Hessian-vector
# products, so no (k (d+1))^2 matrix is ever formed.
_DENSE_TANGENT_MAX = 4096


class _Implicit(NamedTuple):
    """Static description of the optimality conditions :func:`_at_optimum` differentiates."""

    penalty: str | None
    fit_intercept: bool
    dense: bool


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _at_optimum(config, solution, X, y, sample_weight, C):
    """``solution = ((coef, intercept), objective)``, unchanged, made differentiable in
    ``X``, ``sample_weight`` and ``C`` by the implicit function theorem.

    The solver ran on ``stop_gradient``-ed inputs, so nothing is differentiated through its
    loop; the derivative comes from the optimality conditions ``g(w*; theta) = 0`` with
    ``g`` the gradient of :func:`logistic_objective` in the free parameters:
    ``dw* = -H^{-1} (d g / d theta) d theta`` with the Hessian ``H`` (restricted and
    regularized as :func:`_system_matrix`). The objective's derivative is its partial
    derivative in ``theta`` (envelope theorem). The primal is the identity: a fit that
    is not differentiated does no extra work.
    """
    return solution


def _at_optimum_jvp(config, primals, tangents):
    solution, X, y, sample_weight, C = primals
    _, d_X, _, d_weight, d_C = tangents
    (coef, intercept), value = solution
    penalty, fit_intercept, dense = config
    k, d = coef.shape
    data = [(i, primal, tangent)
            for i, (primal, tangent) in enumerate(((X, d_X), (sample_weight, d_weight)))
            if not isinstance(tangent, SymbolicZero)]
    with_C = not isinstance(d_C, SymbolicZero)

    def nll_and_grad(*live):
        args = [X, sample_weight]
        for (i, _, _), primal in zip(data, live, strict=True):
            args[i] = primal
        nll, (g_coef, g_intercept) = _nll_value_and_grad((coef, intercept), args[0], y,
                                                         args[1])
        return nll, jnp.concatenate([g_coef.reshape(-1), g_intercept])

    if data:
        (nll, grad), (d_nll, d_grad) = jax.jvp(
            nll_and_grad, tuple(p for _, p, _ in data), tuple(t for _, _, t in data))
    else:
        nll, grad = nll_and_grad()
        d_nll = d_grad = None
    # objective C * NLL + Omega(W): its partial derivative in theta; Omega has none
    d_value = jnp.zeros((), value.dtype)
    rhs = None  # the derivative of the optimality conditions g = C grad NLL + grad Omega
    if data:
        d_value = d_value + C * d_nll
        rhs = C * d_grad
    if with_C:
        d_value = d_value + d_C * nll
        if penalty is not None:  # without a penalty the optimum does not depend on C
            rhs = d_C * grad if rhs is None else rhs + d_C * grad
    if rhs is None:
        d_params = (jnp.zeros_like(coef), jnp.zeros_like(intercept))
        return solution, (d_params, d_value)

    active = (coef != 0) if penalty == "l1" else None
    free = _free_mask(k, d, fit_intercept, coef.dtype, active)
    gauge = _gauge_directions(k, d, penalty, fit_intercept, coef.dtype)
    if free is not None:
        rhs = rhs * free
    params = (coef, intercept)
    curvature_penalty = "l2" if penalty == "l2" else None  # an L1 term has no curvature
    if dense:
        h = logistic_hessian(params, X, y, sample_weight, C, curvature_penalty)
        factor = jax.scipy.linalg.cho_factor(_system_matrix(h, free, gauge), lower=True)
        step = jax.scipy.linalg.cho_solve(factor, -rhs)
    else:
        step = _conjugate_gradient_solve(params, X, y, sample_weight, C, curvature_penalty,
                                         free, gauge, -rhs)
    d_coef, d_intercept = _centre_gauge(step[:k * d].reshape(k, d), step[k * d:], penalty)
    return solution, ((d_coef, d_intercept), d_value)


_at_optimum.defjvp(_at_optimum_jvp, symbolic_zeros=True)


def _conjugate_gradient_solve(params, X, y, sample_weight, C, penalty, free, gauge, rhs):
    """Solve :func:`_system_matrix`'s system by Jacobi-preconditioned conjugate gradients on
    Hessian-vector products (:func:`_logistic_hvp`), never forming the matrix.

    The operator is the dense one exactly (same restriction to the free parameters, same
    ``c u u^T`` along the gauge with ``c`` the mean of its diagonal); the solve stops at a
    relative residual of ``eps^(2/3)`` (the minimizers' own stopping level).
    """
    k, d = params[0].shape
    dtype = params[0].dtype
    diagonal = _logistic_hessian_diagonal(params, X, y, sample_weight, C, penalty)
    mask = jnp.ones_like(diagonal) if free is None else free
    diagonal = mask * diagonal + (1.0 - mask)
    scale = jnp.mean(jnp.abs(diagonal))
    if gauge is not None:
        diagonal = diagonal + scale * jnp.sum(gauge * gauge, axis=0)

    def matvec(v):
        u = mask * v
        hv_coef, hv_intercept = _logistic_hvp(params, X, y, sample_weight, C, penalty,
                                              (u[:k * d].reshape(k, d), u[k * d:]))
        out = mask * jnp.concatenate([hv_coef.reshape(-1), hv_intercept]) + (1.0 - mask) * v
        if gauge is not None:
            out = out + scale * (gauge.T @ (gauge @ v))
        return out

    tol = jnp.finfo(dtype).eps ** (2.0 / 3.0)

    def solve(matvec, b):
        return _preconditioned_cg(matvec, b, lambda r: r / diagonal, tol, b.shape[0])

    # a linear solve JAX can transpose (the operator is symmetric), so reverse mode works
    return jax.lax.custom_linear_solve(matvec, rhs, solve, symmetric=True)


def _preconditioned_cg(matvec, b, precond, tol, max_steps: int):
    """Preconditioned conjugate gradients for a symmetric positive definite ``matvec``, from
    zero, to ``|r| <= tol |b|`` or ``max_steps`` steps (the exact-arithmetic bound).

    Written out (not ``jax.scipy.sparse.linalg.cg``) because, inside a custom JVP rule,
    reverse mode could not transpose the latter's solve in this JAX version.
    """
    target = tol * jnp.linalg.norm(b)

    def condition(carry):
        _, residual, _, _, step = carry
        return (step < max_steps) & (jnp.linalg.norm(residual) > target)

    def body(carry):
        x, residual, direction, rz, step = carry
        product = matvec(direction)
        length = rz / jnp.vdot(direction, product)
        x = x + length * direction
        residual = residual - length * product
        z = precond(residual)
        rz_new = jnp.vdot(residual, z)
        return x, residual, z + (rz_new / rz) * direction, rz_new, step + 1

    z = precond(b)
    x, *_ = jax.lax.while_loop(condition, body,
                               (jnp.zeros_like(b), b, z, jnp.vdot(b, z), jnp.asarray(0)))
    return x


@partial(jax.jit, static_argnames=("num_classes", "penalty", "solver", "fit_intercept",
                                   "max_steps"))
def logistic_regression(X, y, C, sample_weight=None, *, num_classes: int, penalty="l2",
                        solver: str = "auto", fit_intercept: bool = True,
                        max_steps: int | None = None,
                        tol=None) -> LogisticFit:
    r"""Fit (multinomial) logistic regression by maximum likelihood or MAP.

    Minimizes :func:`logistic_objective` for labels ``y`` in ``0..num_classes-1``. Two
    classes give one coefficient vector (the log-odds of class 1); more give the symmetric
    multinomial (softmax) model, both as scikit-learn. Solvers: ``"newton"`` (Newton's
    method with the closed-form Hessian; few, exact steps), ``"lbfgs"`` (optax's L-BFGS),
    ``"fista"`` (proximal gradient; the one that handles ``penalty="l1"``); ``"auto"``
    picks Newton when the Hessian has at most 4096 rows, L-BFGS above, and FISTA for L1.
    Newton reaches the optimum even on badly scaled features, at ``n d^2`` a step; with
    many rows and well-scaled features ``"lbfgs"`` (``n d`` a step) is usually faster.
    The value and gradient are formed in one pass over ``X`` (see :func:`logistic_nll`).

    Differentiable in ``C``, ``X`` and ``sample_weight`` (``jax.grad``, ``jax.jvp``, under
    ``vmap``) by implicit differentiation at the optimum, never through the solver's loop
    (which runs on ``stop_gradient``-ed inputs): the optimality conditions
    :math:`g(w^*; \theta) = 0` give :math:`dw^* = -H^{-1}\,\partial_\theta g\,d\theta`,
    solved with the closed-form Hessian (with the same ``c u u^T`` along the multinomial
    gauge as Newton's method) up to 4096 parameters and by conjugate gradients on
    Hessian-vector products above. Without an intercept the intercepts have derivative
    zero; with ``penalty="l1"`` the system is restricted to the active set (zero
    coefficients have derivative zero); with ``penalty=None`` the optimum does not depend
    on ``C`` and its derivative there is exactly zero. ``objective`` has the derivative
    of the envelope theorem. Only a derivative pays for the solve: the fit itself is
    the same program.

    Args:
        X: ``(n, d)``; y: ``(n,)`` integer codes; C: inverse regularization strength
            (may be traced, e.g. under ``vmap`` over a grid).
        sample_weight: ``(n,)`` or ``None``.
        num_classes, penalty, solver, fit_intercept, max_steps: static. ``max_steps=None``
            picks the solver's default: 100 Newton steps, 1000 L-BFGS steps, 20000 FISTA
            steps (a proximal gradient method needs many cheap iterations).
        tol: gradient-norm (proximal-mapping norm for FISTA) tolerance; the default is
            relative to the objective (:func:`mlmath.optim.minimize`).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import logistic_regression
        >>> X = jnp.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> fit = logistic_regression(X, jnp.array([0, 1, 0, 1]), 1.0, num_classes=2)
        >>> fit.coef.shape, bool(fit.converged)
        ((1, 1), True)
    """
    n, d = X.shape
    k = 1 if num_classes == 2 else num_classes
    sample_weight = jnp.ones(n, X.dtype) if sample_weight is None else sample_weight
    C = jnp.asarray(C, X.dtype)
    theta = (X, sample_weight, C)
    # the solver never sees a derivative (none is taken through its loop): the solution is
    # made differentiable by the implicit function theorem below (_at_optimum)
    X, sample_weight, C = jax.lax.stop_gradient(theta)
    # Features of extreme magnitude are fitted at unit scale. With X' = X / s and w' = s w
    # (s a power of two: both exact), C NLL + Omega(w) = s^-p (C s^p NLL + Omega(w')) for a
    # penalty of degree p (2 for "l2", 1 for "l1", 0 without), so the fit on X' with
    # C s^p has the same optimum. Only outside 2^-20..2^20 (moderate data is untouched);
    # where C s^p leaves the dtype's range the problem cannot be represented at all and the
    # fit is NaN, unconverged (the estimator says so before fitting).
    power = PENALTY_DEGREE[penalty]
    scale, C_fit, representable = fit_scale(X, C, power)
    X_fit = X / scale
    if tol is not None:  # the gradient in (w', b) is s^(p-1) (resp. s^p) the one in (w, b)
        tol = tol * jnp.minimum(scale ** (power - 1), scale ** power)
    if solver == "auto":
        solver = "fista" if penalty == "l1" else ("newton" if k * (d + 1) <= 4096 else "lbfgs")
    if penalty == "l1" and solver != "fista":
        raise ValueError(f"penalty='l1' is not differentiable: use solver='fista', not {solver!r}")
    if max_steps is None:
        max_steps = _DEFAULT_STEPS[solver]
    params = (jnp.zeros((k, d), X.dtype), jnp.zeros(k, X.dtype))

    def restrict(params):
        # without an intercept the intercept stays at zero: it is not a free parameter
        return params if fit_intercept else (params[0], jnp.zeros_like(params[1]))

    def objective(params):
        return logistic_objective(restrict(params), X_fit, y, sample_weight, C_fit, penalty)

    if solver == "newton":
        gauge = _gauge_directions(k, d, penalty, fit_intercept, X.dtype)

        free = _free_mask(k, d, fit_intercept, X.dtype)

        def hessian(params):
            h = logistic_hessian(restrict(params), X_fit, y, sample_weight, C_fit, penalty)
            return _system_matrix(h, free, gauge)

        result = optim.newton(objective, params, max_steps=max_steps, tol=tol, hessian=hessian)
    elif solver == "lbfgs":
        result = optim.lbfgs(objective, params, max_steps=max_steps, tol=tol)
    elif solver == "fista":
        def smooth(params):  # everything but the L1 term, which the proximal map handles
            value = C_fit * logistic_nll(restrict(params), X_fit, y, sample_weight)
            if penalty == "l2":
                value = value + losses.l2_penalty(params[0])
            return value

        def prox(params, step):
            coef, intercept = params
            if penalty == "l1":
                coef = optim.soft_threshold(coef, step)
            return coef, intercept

        penalty_value = (lambda params: losses.l1_penalty(params[0])) if penalty == "l1" else None
        result = optim.fista(smooth, prox, params, max_steps=max_steps, tol=tol,
                             penalty=penalty_value)
    else:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    coef, intercept = restrict(result.params)
    coef, intercept = _centre_gauge(coef / scale, intercept, penalty)
    value = result.value / scale ** power
    coef, intercept, value = (jnp.where(representable, a, jnp.nan)
                              for a in (coef, intercept, value))
    config = _Implicit(penalty, fit_intercept, k * (d + 1) <= _DENSE_TANGENT_MAX)
    (coef, intercept), value = _at_optimum(config, ((coef, intercept), value),
                                           theta[0], y, theta[1], theta[2])
    finite = jnp.all(jnp.isfinite(coef)) & jnp.all(jnp.isfinite(intercept))
    return LogisticFit(coef, intercept, result.num_steps, result.converged & finite, value)


_EXTREME = 20  # features beyond 2^-20..2^20 in magnitude are fitted at unit scale
_MARGIN = 40   # C s^p must stay 2^40 inside the dtype's range (objective, gradient, Hessian)


def fit_scale(X, C, power: int, xp=jnp):
    """``(s, C s^power, representable)`` for :func:`logistic_regression`'s rescaling.

    ``X (n, d)``, ``C`` a scalar; returns three scalars. ``s`` is
    :func:`mlmath.linear._regression.power_of_two_scale` of ``X`` when ``max |X|`` is
    outside ``2^-20..2^20`` and 1 otherwise; ``representable`` is false when ``C s^power``
    is within ``2^40`` of the dtype's under- or overflow (only possible after rescaling,
    and never without a penalty, ``power=0``). ``xp=numpy`` computes it on the host (the
    estimator checks with it before fitting).
    """
    magnitude = xp.max(xp.abs(X))
    extreme = (magnitude > 2.0 ** _EXTREME) | (magnitude < 2.0 ** -_EXTREME)
    scale = xp.where(extreme, power_of_two_scale(X, xp=xp), 1.0).astype(X.dtype)
    C_fit = (C * scale ** power).astype(X.dtype)
    info = jnp.finfo(X.dtype)
    inside = (C_fit > info.tiny * 2.0 ** _MARGIN) & (C_fit < info.max * 2.0 ** -_MARGIN)
    return scale, C_fit, ~extreme | inside | (power == 0)


# ----------------------------------------------------------------------------------------
# Estimator


class LogisticRegression(Classifier):
    r"""Logistic regression for two or more classes, scikit-learn's surface.

    Maximizes the Bernoulli (two classes) or Categorical (softmax, more classes)
    log-likelihood of the labels, times ``C``, plus a log-prior: ``penalty="l2"`` is a
    Gaussian prior (ridge-like), ``"l1"`` a Laplace prior (sparse), ``None`` plain maximum
    likelihood. See :func:`logistic_regression` for the solvers. ``C`` is an array field:
    ``jax.vmap(lambda c: LogisticRegression(C=c).fit(X, y))(grid)`` fits every model of the
    grid in one compiled program, and ``fit`` is differentiable in ``C`` (and in ``X`` and
    ``sample_weight``): ``jax.grad`` of a validation loss of the fitted model goes through
    :func:`logistic_regression`'s implicit derivative at the optimum, not through the
    solver's iterations.

    ``max_iter=None`` uses the solver's default (:func:`logistic_regression`). With
    ``penalty=None`` on linearly separable classes the maximum-likelihood estimate does not
    exist (the likelihood keeps rising as the coefficients grow): the fit stops where the
    gradient has become negligible, at large coefficients; use a penalty there.

    Labels may be any sortable values (strings too); ``classes_`` is their sorted tuple
    (hashable, so the fitted model stays a pytree; ``np.asarray(model.classes_)`` for an
    array). Fitted: ``coef_``, ``intercept_``, ``classes_``, ``n_iter_``, ``converged_``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import LogisticRegression
        >>> X = jnp.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> model = LogisticRegression(C=10.0).fit(X, ["no", "no", "yes", "yes"])
        >>> model.classes_, model.predict(jnp.array([[-3.0], [3.0]])).tolist()
        (('no', 'yes'), ['no', 'yes'])
    """

    C: Array | float = 1.0
    penalty: str | None = eqx.field(static=True, default="l2")
    solver: str = eqx.field(static=True, default="auto")
    fit_intercept: bool = eqx.field(static=True, default=True, converter=python_scalar)
    max_iter: int | None = eqx.field(static=True, default=None, converter=python_scalar)
    tol: float | None = eqx.field(static=True, default=None, converter=python_scalar)
    classes: tuple | None = eqx.field(static=True, default=None, converter=static_labels)
    coef_: Array | None = None
    intercept_: Array | None = None
    classes_: tuple | None = eqx.field(static=True, default=None)
    n_iter_: Array | None = None
    converged_: Array | None = None

    def __check_init__(self):
        owner = "LogisticRegression"
        check_positive("C", self.C, owner=owner)
        check_choice("penalty", self.penalty, PENALTIES, owner)
        check_choice("solver", self.solver, SOLVERS, owner)
        check_bool("fit_intercept", self.fit_intercept, owner)
        if self.max_iter is not None:
            check_int("max_iter", self.max_iter, 1, owner)
        check_tolerance("tol", self.tol, owner)
        if self.penalty == "l1" and self.solver not in ("auto", "fista"):
            raise ValueError(
                f"{owner}: penalty='l1' needs solver='fista' (or 'auto'), got {self.solver!r}"
            )

    def fit(self, X, y, sample_weight=None) -> LogisticRegression:
        """Fit to features ``X (n, d)`` and labels ``y (n,)``; returns a new estimator."""
        owner = type(self).__name__
        X = check_features(X, owner)
        codes, classes = encode_labels(y, X.shape[0], owner, self.classes)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype, owner)
        check_scalar_for_fit("C", self.C, owner)
        self._check_representable(X)
        fit = logistic_regression(
            X, codes, self.C, sample_weight, num_classes=len(classes), penalty=self.penalty,
            solver=self.solver, fit_intercept=self.fit_intercept, max_steps=self.max_iter,
            tol=self.tol,
        )
        return self._fitted(coef_=fit.coef, intercept_=fit.intercept, classes_=classes,
                            n_iter_=fit.num_steps, converged_=fit.converged)

    def _check_representable(self, X) -> None:
        """Features far from unit scale are fitted at unit scale, which multiplies ``C`` by
        ``s^2`` (L2) or ``s`` (L1); say so when that leaves the dtype's range."""
        C = concrete_value(self.C)
        if C is None:  # traced (a vmap over C): the fit itself returns NaN if unrepresentable
            return
        X = np.asarray(X)
        with np.errstate(over="ignore", under="ignore"):
            _, C_fit, representable = fit_scale(X, C.astype(X.dtype),
                                                PENALTY_DEGREE[self.penalty], xp=np)
        if not bool(representable):
            magnitude = float(np.max(np.abs(X)))
            raise ValueError(
                f"{type(self).__name__}: X has features of magnitude {magnitude:.3g}; at "
                f"that scale penalty={self.penalty!r} with C={float(C):g} weighs the "
                f"likelihood {float(C_fit):.3g} times the penalty (in unit-scale features), "
                f"outside what {X.dtype} can represent. Rescale X (e.g. standardize its "
                f"columns), fit in float64, or use penalty=None"
            )

    def decision_function(self, X):
        """Log-odds of the second class ``(n,)`` (two classes) or logits ``(n, K)``."""
        self._check_fitted()
        X = check_n_features(X, self.coef_.shape[-1], type(self).__name__)
        return logistic_logits(X, self.coef_, self.intercept_)

    def predict_log_proba(self, X):
        """Log-probabilities of each class, ``(n, K)``."""
        self._check_fitted()
        X = check_n_features(X, self.coef_.shape[-1], type(self).__name__)
        return logistic_log_proba(X, self.coef_, self.intercept_)
