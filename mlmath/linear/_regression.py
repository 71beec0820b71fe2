"""Linear regression as Gaussian maximum likelihood; ridge and lasso as MAP estimates."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from mlmath import metrics, optim
from mlmath._estimator import (
    Estimator,
    check_bool,
    check_features,
    check_int,
    check_n_features,
    check_positive,
    check_sample_weight,
    check_scalar_for_fit,
    check_targets,
    check_tolerance,
    python_scalar,
)
from mlmath._jit import jit

# ----------------------------------------------------------------------------------------
# Pure functions


class LinearFit(NamedTuple):
    """Coefficients ``(d,)`` or ``(k, d)`` and intercepts ``()`` or ``(k,)`` of a linear model."""

    coef: Array
    intercept: Array


def _centre(X, y, sample_weight, fit_intercept: bool):
    """Weighted centring (when fitting an intercept) and square-root-weight scaling."""
    weights = sample_weight / jnp.sum(sample_weight)
    if fit_intercept:
        x_mean = weights @ X
        y_mean = jnp.tensordot(weights, y, axes=1)
    else:
        x_mean = jnp.zeros(X.shape[1], X.dtype)
        y_mean = jnp.zeros(y.shape[1:], y.dtype)
    root = jnp.sqrt(sample_weight)
    X_c = (X - x_mean) * root[:, None]
    y_c = (y - y_mean) * root.reshape(root.shape + (1,) * (y.ndim - 1))
    return X_c, y_c, x_mean, y_mean


def power_of_two_scale(X, axis=None, xp=jnp):
    """A power of two in ``(max |X| / 2, max |X|]`` (over ``axis``; 1 where that is 0 or not
    finite), outside any derivative: shape ``()`` for ``axis=None``, ``(d,)`` for ``axis=0``
    and ``X (n, d)``.

    The linear models are solved on ``X / scale``, at unit scale, and the coefficients are
    scaled back: dividing by a power of two is exact, so nothing changes at moderate
    scales, and features at ``1e-30`` or ``1e30`` (float32) neither over- nor underflow in
    squared quantities (Gram matrices, singular values squared). One scale for all
    features (``axis=None``, the regressions and logistic regression) keeps the
    minimum-norm solution and the penalties' meaning unchanged; naive Bayes, whose features
    are independent, scales each column. ``xp=numpy`` computes it on the host (for the
    estimators' checks before a fit).
    """
    magnitude = xp.max(xp.abs(X), axis=axis)
    _, exponent = xp.frexp(magnitude)
    scale = xp.ldexp(xp.ones_like(magnitude), exponent - 1)
    usable = (magnitude > 0) & xp.isfinite(magnitude) & (scale > 0) & xp.isfinite(scale)
    scale = xp.where(usable, scale, 1.0).astype(magnitude.dtype)
    return jax.lax.stop_gradient(scale) if xp is jnp else scale


def _finish(coef_columns, x_mean, y_mean, fit_intercept: bool) -> LinearFit:
    """``coef`` in scikit-learn's layout (targets first) and the intercept that centring implies."""
    coef = coef_columns.T if coef_columns.ndim == 2 else coef_columns
    intercept = y_mean - (coef @ x_mean) if fit_intercept else jnp.zeros_like(y_mean)
    return LinearFit(coef, intercept)


@partial(jax.jit, static_argnames=("fit_intercept",))
def least_squares(X, y, sample_weight=None, fit_intercept: bool = True):
    r"""Ordinary least squares, the Gaussian maximum-likelihood estimate.

    .. math:: \hat w = \arg\min_w \sum_i s_i (y_i - x_i^\top w - b)^2
              = \arg\max_w \sum_i s_i \log\mathcal N(y_i; x_i^\top w + b, \sigma^2)

    Solved by the SVD of the (centred, weighted) design, :math:`\hat w = V\Sigma^+U^\top y`,
    so rank-deficient designs give the minimum-norm solution (singular values below
    ``eps max(n, d) s_max`` are treated as zero), as :func:`numpy.linalg.lstsq` does.

    Args:
        X: ``(n, d)``; y: ``(n,)`` or ``(n, k)``; sample_weight: ``(n,)`` or ``None``.

    Returns:
        ``(LinearFit(coef, intercept), rank, singular_values)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import least_squares
        >>> X = jnp.array([[0.0], [1.0], [2.0]])
        >>> fit, rank, _ = least_squares(X, 1.0 + 2.0 * X[:, 0])
        >>> round(float(fit.coef[0]), 5), round(float(fit.intercept), 5), int(rank)
        (2.0, 1.0, 1)
    """
    sample_weight = jnp.ones(X.shape[0], X.dtype) if sample_weight is None else sample_weight
    X_c, y_c, x_mean, y_mean = _centre(X, y, sample_weight, fit_intercept)
    scale = power_of_two_scale(X_c)
    u, s, vt = jnp.linalg.svd(X_c / scale, full_matrices=False)
    cutoff = jnp.finfo(X.dtype).eps * max(X.shape) * s[0]
    kept = s > cutoff
    # 1 / (scale s): the singular values of X_c are scale * s
    inverse = jnp.where(kept, (1.0 / jnp.where(kept, s, 1.0)) / scale, 0.0)
    projected = u.T @ y_c
    coef = vt.T @ (inverse.reshape(inverse.shape + (1,) * (y.ndim - 1)) * projected)
    return _finish(coef, x_mean, y_mean, fit_intercept), jnp.sum(kept), s * scale


@partial(jax.jit, static_argnames=("fit_intercept",))
def ridge(X, y, alpha, sample_weight=None, fit_intercept: bool = True) -> LinearFit:
    r"""Ridge regression, the MAP estimate under a Gaussian prior on the coefficients.

    .. math:: \hat w = \arg\min_w \sum_i s_i (y_i - x_i^\top w - b)^2 + \alpha\lVert w\rVert^2

    is the posterior mode for :math:`y \mid w \sim \mathcal N(Xw + b, \sigma^2 I)` and the
    prior :math:`w \sim \mathcal N(0, (\sigma^2/\alpha) I)`; the intercept is not penalized.
    Solved through the SVD, :math:`\hat w = V\,\mathrm{diag}(s/(s^2+\alpha))\,U^\top y`, so a
    grid of ``alpha`` under ``jax.vmap`` shares one decomposition of ``X``. The solution is
    a closed form, differentiated directly (forward and reverse mode): in ``alpha``,
    :math:`d\hat w/d\alpha = -V\,\mathrm{diag}(s/(s^2+\alpha)^2)\,U^\top y
    = -(X^\top X + \alpha I)^{-1}\hat w`, no decomposition being differentiated.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import ridge
        >>> X = jnp.array([[1.0], [-1.0]])
        >>> round(float(ridge(X, jnp.array([1.0, -1.0]), 2.0).coef[0]), 5)  # 2 / (2 + 2)
        0.5
    """
    sample_weight = jnp.ones(X.shape[0], X.dtype) if sample_weight is None else sample_weight
    X_c, y_c, x_mean, y_mean = _centre(X, y, sample_weight, fit_intercept)
    scale = power_of_two_scale(X_c)
    u, s, vt = jnp.linalg.svd(X_c / scale, full_matrices=False)
    shrink = _ridge_shrinkage(s * scale, jnp.asarray(alpha, X.dtype))
    coef = vt.T @ (shrink.reshape(shrink.shape + (1,) * (y.ndim - 1)) * (u.T @ y_c))
    return _finish(coef, x_mean, y_mean, fit_intercept)


def _ridge_shrinkage(s, alpha):
    """``s / (s^2 + alpha)`` without forming ``s^2``, which over- or underflows at extreme
    scales of ``X`` (0 at ``s = 0``).

    ``1 / (s + alpha / s)`` for ``s >= sqrt(alpha)``, ``(s / alpha) / (1 + s (s / alpha))``
    below: every intermediate is between the result and 1 in magnitude, or negligible
    where it underflows. Every operand of the branch not taken is replaced by a harmless
    one, so derivatives in ``alpha`` never meet a division by zero.
    """
    large = s >= jax.lax.stop_gradient(jnp.sqrt(alpha))
    positive = large & (s > 0)
    s_large = jnp.where(positive, s, 1.0)
    s_small = jnp.where(large, 0.0, s)
    alpha_small = jnp.where(large, 1.0, alpha)
    shrink = jnp.where(positive, 1.0 / (s_large + alpha / s_large),
                       (s_small / alpha_small) / (1.0 + s_small * (s_small / alpha_small)))
    return jnp.where(s > 0, shrink, 0.0)


class LassoFit(NamedTuple):
    coef: Array
    intercept: Array
    dual_gap: Array
    num_steps: Array
    converged: Array


@jit
def lasso_duality_gap(gram, correlation, y_squared, coef, alpha, n_samples):
    """Duality gap of the lasso in Gram form (the certificate scikit-learn's ``tol`` bounds).

    ``gram = X^T X``, ``correlation = X^T y``, ``y_squared = y^T y`` (centred, weighted),
    for the objective ``|y - Xw|^2 / (2n) + alpha |w|_1`` scaled by ``n``.
    """
    residual_squared = y_squared - 2.0 * coef @ correlation + coef @ gram @ coef
    dual_correlation = correlation - gram @ coef
    dual_norm = jnp.max(jnp.abs(dual_correlation))
    alpha_n = alpha * n_samples
    scale = jnp.where(dual_norm > alpha_n, alpha_n / dual_norm, 1.0)
    gap = 0.5 * residual_squared * (1.0 + scale * scale)
    return gap + alpha_n * jnp.sum(jnp.abs(coef)) - scale * (y_squared - coef @ correlation)


@partial(jax.jit, static_argnames=("fit_intercept", "max_steps"))
def lasso(X, y, alpha, sample_weight=None, fit_intercept: bool = True, max_steps: int = 5000,
          tol=None) -> LassoFit:
    r"""The lasso, the MAP estimate under a Laplace prior on the coefficients.

    .. math:: \hat w = \arg\min_w \frac{1}{2\sum_i s_i}\sum_i s_i(y_i - x_i^\top w - b)^2
              + \alpha\lVert w\rVert_1

    (scikit-learn's scaling), the posterior mode under i.i.d. Laplace priors, whose peak at
    zero sets coefficients exactly to zero. Solved by FISTA (:func:`mlmath.optim.fista`) on
    the Gram matrix :math:`X^\top X`, so each iteration costs :math:`O(d^2)` whatever
    ``n``, to a proximal-gradient mapping below ``tol`` (default ``sqrt(eps) * alpha``),
    followed by an exact solve on the active set; ``dual_gap`` is the duality gap at the
    solution, the optimality certificate.

    Differentiable in ``alpha``, ``X``, ``y`` and ``sample_weight`` (``jax.grad``,
    ``jax.jvp``, under ``vmap``) by implicit differentiation on the active set, never
    through FISTA's loop (which runs on ``stop_gradient``-ed statistics): active
    coefficients from the linear system the exact solve uses,
    :math:`dw_A = -G_{AA}^{-1}(dG_{A\cdot}\,w - dc_A + d(\alpha n)\,\mathrm{sign}(w_A))`
    with :math:`G = X^\top X`, :math:`c = X^\top y`; inactive coefficients have derivative
    zero (the one-sided derivative where the active set is about to change).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import lasso
        >>> X = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        >>> y = jnp.array([2.0, -2.0, 0.1, -0.1])
        >>> [round(float(c), 4) for c in lasso(X, y, 0.1).coef]  # small coefficient zeroed
        [1.8, 0.0]
    """
    sample_weight = jnp.ones(X.shape[0], X.dtype) if sample_weight is None else sample_weight
    X_c, y_c, x_mean, y_mean = _centre(X, y, sample_weight, fit_intercept)
    n = jnp.sum(sample_weight)
    # solved for w' = scale w on X_c / scale: the same objective, with alpha / scale
    # (|y - X w|^2 / 2n + alpha |w|_1 = |y - (X / scale) w'|^2 / 2n + (alpha / scale) |w'|_1)
    scale = power_of_two_scale(X_c)
    X_c = X_c / scale
    alpha = jnp.asarray(alpha, X.dtype) / scale
    if tol is not None:
        tol = tol / scale  # the gradient mapping in w' is the one in w over scale
    statistics = (X_c.T @ X_c, X_c.T @ y_c, y_c @ y_c, n, alpha)
    # the solver never sees a derivative (none is taken through its loop): the solution is
    # made differentiable on its active set below (_lasso_at_optimum)
    gram, correlation, y_squared, n, alpha = jax.lax.stop_gradient(statistics)

    def smooth(coef):
        return (0.5 * coef @ gram @ coef - coef @ correlation + 0.5 * y_squared) / n

    def prox(coef, step):
        return optim.soft_threshold(coef, step * alpha)

    # the gradient's Lipschitz constant is the top eigenvalue of the Gram matrix over n
    step = n / jnp.maximum(jnp.linalg.eigvalsh(gram)[-1], jnp.finfo(X.dtype).tiny)
    if tol is None:
        # FISTA only has to find the active set (the polish below then solves on it
        # exactly): that takes a proximal-gradient mapping small against the subgradient
        # bound alpha that separates active from inactive coordinates, not against |f|
        tol = jnp.sqrt(jnp.finfo(X.dtype).eps) * alpha
    result = optim.fista(smooth, prox, jnp.zeros(X.shape[1], X.dtype), max_steps=max_steps,
                         tol=tol, step_size=step,
                         penalty=lambda coef: alpha * jnp.sum(jnp.abs(coef)))
    coef, exact = _polish_on_support(gram, correlation, result.params, alpha * n)
    gram, correlation, y_squared, n, alpha = statistics
    coef = _lasso_at_optimum(coef, gram, correlation, alpha * n)
    gap = lasso_duality_gap(gram, correlation, y_squared, coef, alpha, n)  # scale-invariant
    fit = _finish(coef / scale, x_mean, y_mean, fit_intercept)
    converged = (result.converged | exact) & jnp.all(jnp.isfinite(fit.coef))
    return LassoFit(fit.coef, fit.intercept, gap, result.num_steps, converged)


def _polish_on_support(gram, correlation, coef, threshold):
    """The exact lasso solution on the support (and signs) that ``coef`` found, if it is one.

    FISTA stops on a gradient-mapping tolerance, which bounds the coefficients' error only
    through the smallest curvature of ``X^T X / n`` (tiny for small-scale features, e.g.
    0.3% off in float32 on scikit-learn's diabetes data). Given the support ``S`` and signs
    ``s``, the optimality conditions are linear: ``G_SS w_S = c_S - threshold s_S`` with
    ``threshold = alpha n``. The solve is kept when it is finite, keeps the signs, solves
    its system and satisfies ``|c_j - (G w)_j| <= threshold`` off the support: then it is a
    solution to working precision; otherwise ``coef`` is returned unchanged.
    """
    dtype = coef.dtype
    active = coef != 0
    signs = jnp.sign(coef)
    mask = active.astype(dtype)
    system = gram * mask[:, None] * mask[None, :] + jnp.diag(1.0 - mask)
    target = mask * (correlation - threshold * signs)
    polished = jnp.linalg.solve(system, target)
    residual = correlation - gram @ polished
    slack = jnp.sqrt(jnp.finfo(dtype).eps)
    scale = jnp.max(jnp.abs(correlation)) + threshold
    stationary = jnp.where(active, jnp.abs(residual - threshold * signs) <= slack * scale,
                           jnp.abs(residual) <= threshold + slack * scale)
    exact = (jnp.all(jnp.isfinite(polished)) & jnp.all(stationary)
             & jnp.all(jnp.where(active, jnp.sign(polished) == signs, True)))
    return jnp.where(exact, polished, coef), exact


@jax.custom_jvp
def _lasso_at_optimum(coef, gram, correlation, threshold):
    """``coef``, unchanged, made differentiable by the implicit function theorem.

    On the active set ``A`` (nonzero coefficients, signs ``s``) the optimality conditions
    are ``G_AA w_A - c_A + threshold s_A = 0`` (``threshold = alpha n``), so
    ``dw_A = -G_AA^{-1} (dG_A. w - dc_A + d threshold s_A)``; inactive coefficients stay
    at zero (derivative zero) as long as the active set does not change. The system is the
    one :func:`_polish_on_support` solves. The primal is the identity: a fit that is not
    differentiated does no extra work.
    """
    return coef


@_lasso_at_optimum.defjvp
def _lasso_at_optimum_jvp(primals, tangents):
    coef, gram, _, _ = primals
    _, d_gram, d_correlation, d_threshold = tangents
    signs = jnp.sign(coef)
    mask = (coef != 0).astype(coef.dtype)
    system = gram * mask[:, None] * mask[None, :] + jnp.diag(1.0 - mask)
    rhs = mask * (d_gram @ coef - d_correlation + d_threshold * signs)
    return coef, jnp.linalg.solve(system, -rhs)


@jax.jit
def linear_predict(X, coef, intercept):
    """``X coef^T + intercept``: ``(n,)`` for one target, ``(n, k)`` for several."""
    return X @ coef.T + intercept


# ----------------------------------------------------------------------------------------
# Estimators


def _closed_form(fit: LinearFit) -> dict:
    """``n_iter_`` (0: no iterations) and ``converged_`` (a closed form is at its optimum
    whenever it is finite) of a closed-form fit."""
    finite = jnp.all(jnp.isfinite(fit.coef)) & jnp.all(jnp.isfinite(fit.intercept))
    return {"n_iter_": jnp.zeros((), jnp.int32), "converged_": finite}


class _LinearRegressor(Estimator):
    """Shared predict/score of the linear regressors."""

    def predict(self, X):
        """Predicted targets, ``(n,)`` or ``(n, k)``."""
        self._check_fitted()
        X = check_n_features(X, self.coef_.shape[-1], type(self).__name__)
        return linear_predict(X, self.coef_, self.intercept_)

    def __check_init__(self):
        owner = type(self).__name__
        check_bool("fit_intercept", self.fit_intercept, owner)
        if hasattr(self, "alpha"):
            check_positive("alpha", self.alpha, allow_zero=True, owner=owner)
        if hasattr(self, "max_iter"):
            check_int("max_iter", self.max_iter, 1, owner)
        if hasattr(self, "tol"):
            check_tolerance("tol", self.tol, owner)

    def score(self, X, y):
        """Coefficient of determination :math:`R^2` on ``(X, y)`` (as scikit-learn)."""
        prediction = self.predict(X)
        y = check_targets(y, prediction.shape[0], type(self).__name__, allow_2d=True)
        return metrics.r2_score(y, prediction)

    def _inputs(self, X, y, sample_weight):
        owner = type(self).__name__
        X = check_features(X, owner)
        y = check_targets(y, X.shape[0], owner, allow_2d=True).astype(X.dtype)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype, owner)
        return X, y, sample_weight


class LinearRegression(_LinearRegressor):
    r"""Ordinary least squares: the maximum-likelihood fit under Gaussian noise.

    ``fit(X, y, sample_weight=None)`` solves :func:`least_squares` (SVD; rank-deficient
    designs give the minimum-norm solution, as scikit-learn). Fitted: ``coef_`` (``(d,)``,
    or ``(k, d)`` for ``k`` targets), ``intercept_``, ``rank_``, ``singular_values_``,
    ``n_iter_`` (0: a closed form) and ``converged_`` (whether the solution is finite).
    The SVD runs on ``X`` divided by a power of two near its largest entry, so features of
    any representable scale (``1e-30`` to ``1e30`` in float32) fit as accurately as at
    unit scale.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import LinearRegression
        >>> X = jnp.array([[0.0], [1.0], [2.0], [3.0]])
        >>> model = LinearRegression().fit(X, 3.0 * X[:, 0] - 1.0)
        >>> round(float(model.coef_[0]), 4), round(float(model.predict(jnp.array([[10.0]]))[0]), 3)
        (3.0, 29.0)
    """

    fit_intercept: bool = eqx.field(static=True, default=True, converter=python_scalar)
    coef_: Array | None = None
    intercept_: Array | None = None
    rank_: Array | None = None
    singular_values_: Array | None = None
    n_iter_: Array | None = None
    converged_: Array | None = None

    def fit(self, X, y, sample_weight=None) -> LinearRegression:
        """Fit by least squares; returns a new fitted estimator."""
        X, y, sample_weight = self._inputs(X, y, sample_weight)
        fit, rank, singular_values = least_squares(X, y, sample_weight, self.fit_intercept)
        return self._fitted(coef_=fit.coef, intercept_=fit.intercept, rank_=rank,
                            singular_values_=singular_values, **_closed_form(fit))


class Ridge(_LinearRegressor):
    r"""Ridge regression: the MAP estimate under a Gaussian prior (L2 penalty ``alpha``).

    ``alpha`` is an array field, so ``jax.vmap(lambda a: Ridge(alpha=a).fit(X, y))(alphas)``
    fits a whole regularization path from one SVD, and ``fit`` is differentiable in
    ``alpha`` (``jax.grad`` of a validation loss; see :func:`ridge`). Fitted: ``coef_``,
    ``intercept_``, ``n_iter_`` (0: a closed form) and ``converged_`` (whether the
    solution is finite). ``alpha`` keeps its meaning at every scale of ``X``: fitting
    ``s X`` gives ``Ridge(alpha / s**2).fit(X)``'s coefficients over ``s``, computed
    without forming ``s**2`` (no overflow at ``1e20`` in float32).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import Ridge
        >>> X = jnp.array([[1.0], [-1.0]])
        >>> round(float(Ridge(alpha=2.0).fit(X, jnp.array([1.0, -1.0])).coef_[0]), 5)
        0.5
    """

    alpha: Array | float = 1.0
    fit_intercept: bool = eqx.field(static=True, default=True, converter=python_scalar)
    coef_: Array | None = None
    intercept_: Array | None = None
    n_iter_: Array | None = None
    converged_: Array | None = None

    def fit(self, X, y, sample_weight=None) -> Ridge:
        """Fit the penalized least squares; returns a new fitted estimator."""
        X, y, sample_weight = self._inputs(X, y, sample_weight)
        check_scalar_for_fit("alpha", self.alpha, "Ridge")
        fit = ridge(X, y, jnp.asarray(self.alpha, X.dtype), sample_weight, self.fit_intercept)
        return self._fitted(coef_=fit.coef, intercept_=fit.intercept, **_closed_form(fit))


class Lasso(_LinearRegressor):
    r"""The lasso: the MAP estimate under a Laplace prior (L1 penalty ``alpha``).

    Minimizes ``|y - Xw - b|^2 / (2 n) + alpha |w|_1`` (scikit-learn's scaling) with
    :func:`lasso`: FISTA until its proximal-gradient mapping is below ``tol`` (default
    ``sqrt(eps) * alpha``, small against the subgradient bound that separates active from
    inactive coefficients), then an exact solve on the active set it found, kept if it
    passes the optimality conditions. ``dual_gap_`` reports the duality gap of the
    solution, the certificate scikit-learn's own ``tol`` is measured on. ``fit`` is
    differentiable in ``alpha`` (and the data) by implicit differentiation on the active
    set (:func:`lasso`), not through FISTA's iterations. Fitted: ``coef_``,
    ``intercept_``, ``dual_gap_``, ``n_iter_``, ``converged_``.

    Scale: ``Lasso(alpha).fit(s X)`` has the coefficients of ``Lasso(alpha / s).fit(X)``
    over ``s`` (equivalently ``Lasso(alpha * s).fit(s X).coef_ * s`` is
    ``Lasso(alpha).fit(X).coef_``); the fit is solved on ``X`` divided by a power of two
    (exact), so any representable scale is as accurate as unit scale.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import Lasso
        >>> X = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        >>> y = jnp.array([2.0, -2.0, 0.1, -0.1])
        >>> [round(float(c), 4) for c in Lasso(alpha=0.1).fit(X, y).coef_]
        [1.8, 0.0]
    """

    alpha: Array | float = 1.0
    fit_intercept: bool = eqx.field(static=True, default=True, converter=python_scalar)
    max_iter: int = eqx.field(static=True, default=5000, converter=python_scalar)
    tol: float | None = eqx.field(static=True, default=None, converter=python_scalar)
    coef_: Array | None = None
    intercept_: Array | None = None
    dual_gap_: Array | None = None
    n_iter_: Array | None = None
    converged_: Array | None = None

    def fit(self, X, y, sample_weight=None) -> Lasso:
        """Fit by FISTA; returns a new fitted estimator."""
        X, y, sample_weight = self._inputs(X, y, sample_weight)
        if y.ndim != 1:
            raise ValueError(f"Lasso: y must be one-dimensional, got shape {y.shape}")
        check_scalar_for_fit("alpha", self.alpha, "Lasso")
        fit = lasso(X, y, jnp.asarray(self.alpha, X.dtype), sample_weight, self.fit_intercept,
                    self.max_iter, self.tol)
        return self._fitted(coef_=fit.coef, intercept_=fit.intercept, dual_gap_=fit.dual_gap,
                            n_iter_=fit.num_steps, converged_=fit.converged)
