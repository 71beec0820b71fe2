"""Optimization: minimizers that run as one compiled loop, and estimation built on them.

* :func:`minimize` runs any optax optimizer inside ``lax.while_loop``;
  :func:`lbfgs` is optax's L-BFGS with its zoom line search; :func:`newton` is Newton's
  method with damped Cholesky solves and backtracking. All return an
  :class:`OptimizeResult`, are jittable and ``vmap`` over starting points or data.
* :func:`mle` and :func:`map_estimate` maximize a log-likelihood (plus a log-prior) over a
  pytree of parameters, with constrained parameters handled by the bijections
  :data:`positive`, :data:`unit_interval`, :data:`simplex`, :data:`cholesky_factor`,
  :func:`interval` (no clipping).
* :func:`fista` minimizes a smooth function plus a non-smooth one with a cheap proximal map
  (:func:`soft_threshold` for L1 penalties).
* :func:`check_grad` compares ``jax.grad`` with central differences.
"""

from mlmath.optim._estimation import (
    EstimationResult,
    Transform,
    check_grad,
    cholesky_factor,
    interval,
    map_estimate,
    mle,
    positive,
    real,
    simplex,
    unit_interval,
)
from mlmath.optim._minimize import OptimizeResult, lbfgs, minimize, newton, tree_norm
from mlmath.optim._proximal import fista, soft_threshold

__all__ = [
    "EstimationResult",
    "OptimizeResult",
    "Transform",
    "check_grad",
    "cholesky_factor",
    "fista",
    "interval",
    "lbfgs",
    "map_estimate",
    "minimize",
    "mle",
    "newton",
    "positive",
    "real",
    "simplex",
    "soft_threshold",
    "tree_norm",
    "unit_interval",
]
