"""Maximum likelihood and maximum a posteriori estimation over constrained parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike
from jaxtyping import PyTree

from mlmath._jit import jit_callables
from mlmath.optim._minimize import lbfgs, newton


class Transform(NamedTuple):
    """A bijection from unconstrained reals onto a constrained parameter set.

    ``forward(u)`` maps an unconstrained array to the constrained parameter; ``inverse``
    maps back. Estimation optimizes over ``u``, so a scale can never go negative and a
    probability vector never leaves the simplex, with no clipping anywhere.
    """

    forward: Callable
    inverse: Callable
    name: str


def _identity(x):
    return x


real = Transform(_identity, _identity, "real")
"""No constraint."""

positive = Transform(jnp.exp, jnp.log, "positive")
"""``(0, inf)`` through ``exp``/``log``: a log-scale parameterization (scales, rates)."""

unit_interval = Transform(jax.nn.sigmoid, jax.scipy.special.logit, "unit_interval")
"""``(0, 1)`` through the logistic function (a probability)."""


def interval(low: float, high: float) -> Transform:
    """``(low, high)`` through a scaled logistic function."""
    if not low < high:
        raise ValueError(f"interval needs low < high, got ({low}, {high})")
    width = high - low
    return Transform(
        lambda u: low + width * jax.nn.sigmoid(u),
        lambda x: jax.scipy.special.logit((x - low) / width),
        f"interval({low}, {high})",
    )


def _simplex_forward(u):
    zeros = jnp.zeros(u.shape[:-1] + (1,), u.dtype)
    return jax.nn.softmax(jnp.concatenate([u, zeros], axis=-1), axis=-1)


def _simplex_inverse(p):
    log_p = jnp.log(p)
    return log_p[..., :-1] - log_p[..., -1:]


simplex = Transform(_simplex_forward, _simplex_inverse, "simplex")
"""Probability vectors of length ``K`` from ``K - 1`` unconstrained log-ratios.

The additive log-ratio map ``p = softmax([u, 0])`` (the last category is the reference):
one-to-one, so the optimum is unique and Newton's method sees no flat direction.
"""


def _cholesky_forward(u):
    diagonal = jnp.exp(jnp.diagonal(u, axis1=-2, axis2=-1))
    return jnp.tril(u, k=-1) + diagonal[..., None] * jnp.eye(u.shape[-1], dtype=u.dtype)


def _cholesky_inverse(factor):
    log_diagonal = jnp.log(jnp.diagonal(factor, axis1=-2, axis2=-1))
    return jnp.tril(factor, k=-1) + log_diagonal[..., None] * jnp.eye(
        factor.shape[-1], dtype=factor.dtype
    )


cholesky_factor = Transform(_cholesky_forward, _cholesky_inverse, "cholesky_factor")
"""Lower-triangular matrices with a positive diagonal (Cholesky factors of covariances)."""


class EstimationResult(NamedTuple):
    """What :func:`mle` and :func:`map_estimate` return.

    Attributes:
        params: the estimate, in the constrained (original) parameterization.
        log_density: the maximized log-likelihood (``mle``) or log-likelihood plus
            log-prior (``map_estimate``).
        grad_norm: the gradient norm at the optimum, in the unconstrained coordinates.
        num_steps: iterations of the optimizer.
        converged: whether the optimizer met its stopping criterion.
    """

    params: Any
    log_density: Array
    grad_norm: Array
    num_steps: Array
    converged: Array


def _map_constraints(constraints, params, method: str):
    """Apply each leaf's transform (``real`` where the constraint tree has ``None``)."""
    if constraints is None:
        return params
    return jax.tree_util.tree_map(
        lambda transform, leaf: getattr(real if transform is None else transform, method)(leaf),
        constraints,
        params,
        is_leaf=lambda node: node is None or isinstance(node, Transform),
    )


def _estimate(objective: Callable, params, constraints, method: str, max_steps: int, tol,
              rtol) -> EstimationResult:
    unconstrained = _map_constraints(constraints, params, "inverse")

    def negative(u, *args):
        return -objective(_map_constraints(constraints, u, "forward"), *args)

    if method == "lbfgs":
        result = lbfgs(negative, unconstrained, max_steps=max_steps, tol=tol, rtol=rtol)
    elif method == "newton":
        result = newton(negative, unconstrained, max_steps=max_steps, tol=tol, rtol=rtol)
    else:
        raise ValueError(f"method must be 'lbfgs' or 'newton', got {method!r}")
    return EstimationResult(
        _map_constraints(constraints, result.params, "forward"),
        -result.value,
        result.grad_norm,
        result.num_steps,
        result.converged,
    )


@jit_callables(static_argnames="max_steps")
def mle(log_likelihood: Callable, params: PyTree, data: Any, *, constraints: PyTree | None = None,
        method: str = "lbfgs", max_steps: int = 500, tol: ArrayLike | None = None,
        rtol: ArrayLike | None = None) -> EstimationResult:
    r"""Maximum likelihood: :math:`\hat\theta = \arg\max_\theta \log p(D\mid\theta)`.

    ``log_likelihood(params, data)`` returns the total (summed over examples) log-likelihood
    as a scalar. Constrained parameters are optimized through the bijections in
    ``constraints`` (a pytree like ``params`` whose leaves are :class:`Transform` objects
    or ``None`` for unconstrained): ``positive`` for scales and rates, ``unit_interval``
    for probabilities, ``simplex`` for probability vectors, ``cholesky_factor`` for
    covariance factors. No Jacobian term is added: the result maximizes the likelihood of
    the original parameters, which a reparameterization does not move.

    Args:
        log_likelihood: ``(params, data) -> scalar``.
        params: starting point, in the constrained parameterization.
        data: any pytree of arrays (batched under ``vmap`` to fit many data sets at once).
        constraints: optional pytree of transforms.
        method: ``"lbfgs"`` (default) or ``"newton"``.
        max_steps, tol, rtol: as in :func:`mlmath.optim.minimize`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.distributions import Normal
        >>> from mlmath import optim
        >>> x = jnp.array([1.0, 2.0, 4.0, 5.0])
        >>> loglik = lambda p, x: jnp.sum(Normal(p["loc"], p["scale"]).log_prob(x))
        >>> fit = optim.mle(loglik, {"loc": 0.0, "scale": 1.0}, x,
        ...                 constraints={"loc": None, "scale": optim.positive})
        >>> round(float(fit.params["loc"]), 3), round(float(fit.params["scale"]), 3)  # 3, sqrt(2.5)
        (3.0, 1.581)
    """
    params = jax.tree_util.tree_map(jnp.asarray, params)
    params = jax.tree_util.tree_map(
        lambda leaf: leaf.astype(jnp.result_type(float)) if not jnp.issubdtype(
            leaf.dtype, jnp.floating) else leaf, params)

    def objective(p):
        return log_likelihood(p, data)

    return _estimate(objective, params, constraints, method, max_steps, tol, rtol)


@jit_callables(static_argnames="max_steps")
def map_estimate(log_likelihood: Callable, log_prior: Callable, params: PyTree, data: Any, *,
                 constraints: PyTree | None = None, method: str = "lbfgs", max_steps: int = 500,
                 tol: ArrayLike | None = None, rtol: ArrayLike | None = None) -> EstimationResult:
    r"""Maximum a posteriori: :math:`\arg\max_\theta \log p(D\mid\theta) + \log p(\theta)`.

    As :func:`mle` with ``log_prior(params)`` added to the objective. A Gaussian prior makes
    this ridge-style L2 regularization (see :mod:`mlmath.losses`). The solvers need a
    log-prior that is differentiable at the mode: a Laplace prior (L1), whose mode sits at
    its kink when a coefficient is zero, needs a proximal method instead, as
    :func:`mlmath.optim.fista` with :func:`mlmath.optim.soft_threshold` (which is what
    :func:`mlmath.linear.lasso` does). The mode is that of the density over the original
    parameters (no Jacobian of the unconstraining transform is added).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.distributions import Normal
        >>> from mlmath import optim
        >>> x = jnp.array([2.0, 2.0, 2.0, 2.0])
        >>> loglik = lambda mu, x: jnp.sum(Normal(mu, 1.0).log_prob(x))
        >>> prior = lambda mu: Normal(0.0, 1.0).log_prob(mu)   # shrinks the mean toward 0
        >>> round(float(optim.map_estimate(loglik, prior, 0.0, x).params), 4)  # 4 * 2 / 5
        1.6
    """
    params = jax.tree_util.tree_map(jnp.asarray, params)
    params = jax.tree_util.tree_map(
        lambda leaf: leaf.astype(jnp.result_type(float)) if not jnp.issubdtype(
            leaf.dtype, jnp.floating) else leaf, params)

    def objective(p):
        return log_likelihood(p, data) + log_prior(p)

    return _estimate(objective, params, constraints, method, max_steps, tol, rtol)


@jit_callables
def check_grad(fun: Callable, params: PyTree, *args, step: ArrayLike | None = None) -> Array:
    r"""Relative error between ``jax.grad(fun)`` and central finite differences.

    .. math:: \frac{\lVert g_{\text{autodiff}} - g_{\text{fd}}\rVert}
              {\max(\lVert g_{\text{autodiff}}\rVert, \lVert g_{\text{fd}}\rVert)}

    For users who write their own log-densities: a value near ``1e-8`` (float64) or
    ``1e-3`` (float32) says the gradient is right; a value near 1 says it is not (a
    ``stop_gradient`` in the wrong place, a custom rule with a bug, a discontinuity). Each
    coordinate moves by ``step`` (default ``cbrt(eps) max(1, |x_i|)``); all ``2 P``
    evaluations run in one ``vmap``, so keep ``P`` moderate. Run it in float64 for a sharp
    answer.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.optim import check_grad
        >>> float(check_grad(lambda x: jnp.sum(jnp.sin(x)), jnp.array([0.1, 0.7]))) < 1e-3
        True
    """
    flat, unravel = ravel_pytree(params)
    if not jnp.issubdtype(flat.dtype, jnp.floating):
        raise TypeError(f"params must be floating, got dtype {flat.dtype}")

    def flat_fun(x):
        return fun(unravel(x), *args)

    autodiff = jax.grad(flat_fun)(flat)
    if step is None:
        step = jnp.cbrt(jnp.finfo(flat.dtype).eps) * jnp.maximum(1.0, jnp.abs(flat))
    step = jnp.broadcast_to(jnp.asarray(step, flat.dtype), flat.shape)
    moves = jnp.diag(step)
    forward = jax.vmap(flat_fun)(flat + moves)
    backward = jax.vmap(flat_fun)(flat - moves)
    numeric = (forward - backward) / (2.0 * step)
    scale = jnp.maximum(jnp.maximum(jnp.linalg.norm(autodiff), jnp.linalg.norm(numeric)),
                        jnp.finfo(flat.dtype).tiny)
    return jnp.linalg.norm(autodiff - numeric) / scale
