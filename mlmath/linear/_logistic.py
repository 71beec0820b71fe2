"""Logistic regression: Bernoulli/Categorical maximum likelihood, Gaussian or Laplace priors."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from mlmath import losses, optim
from mlmath._estimator import (
    Estimator,
    check_choice,
    check_features,
    check_int,
    check_n_features,
    check_positive,
    check_sample_weight,
    concrete_value,
    encode_labels,
)

PENALTIES = ("l2", "l1", None)
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


def logistic_logits(X, coef, intercept):
    """Decision values: ``(n,)`` log-odds for binary models, ``(n, K)`` logits otherwise."""
    logits = X @ coef.T + intercept
    return logits[:, 0] if coef.shape[0] == 1 else logits


def logistic_nll(params, X, y, sample_weight):
    r"""Weighted negative log-likelihood :math:`\sum_i s_i\,[-\log p(y_i \mid x_i)]`.

    Bernoulli with log-odds :math:`x^\top w + b` when ``coef`` has one row, Categorical with
    logits :math:`W x + b` otherwise; the per-example terms are
    :func:`mlmath.losses.sigmoid_binary_cross_entropy` and
    :func:`mlmath.losses.softmax_cross_entropy`.
    """
    coef, intercept = params
    logits = logistic_logits(X, coef, intercept)
    if coef.shape[0] == 1:
        per_example = losses.sigmoid_binary_cross_entropy(logits, y.astype(X.dtype))
    else:
        per_example = losses.softmax_cross_entropy(logits, y)
    return jnp.sum(sample_weight * per_example)


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


def logistic_hessian(params, X, y, sample_weight, C, penalty):
    r"""Closed-form Hessian of :func:`logistic_objective` (L2 or no penalty).

    Binary: :math:`C\,\tilde X^\top \mathrm{diag}(s\,p(1-p))\,\tilde X + \mathrm{diag}(1_W, 0_b)`
    with :math:`\tilde X = [X, 1]`. Multinomial: the blocks
    :math:`C\sum_i s_i \tilde x_i\tilde x_i^\top(\delta_{kl}p_{ik} - p_{ik}p_{il})`. One
    matrix product instead of ``jax.hessian``'s one Hessian-vector product per parameter.
    Returned in the order of ``ravel_pytree((coef, intercept))``.
    """
    coef, intercept = params
    n, d = X.shape
    k = coef.shape[0]
    design = jnp.concatenate([X, jnp.ones((n, 1), X.dtype)], axis=1)
    logits = logistic_logits(X, coef, intercept)
    if k == 1:
        p = jax.nn.sigmoid(logits)
        curvature = C * sample_weight * p * (1.0 - p)
        full = (design * curvature[:, None]).T @ design  # (d+1, d+1), intercept last
        hessian = full
    else:
        p = jax.nn.softmax(logits, axis=-1)
        # H = sum_i C s_i (diag(p_i) - p_i p_i^T) (x) x_i x_i^T with z_i = p_i (x) x_i:
        # the diagonal blocks are K products X^T diag(C s p_k) X, the cross term one
        # (K (d+1)) x n x (K (d+1)) product, and no (n, K, K, d+1) array is ever formed
        scale = C * sample_weight
        z = p[:, :, None] * design[:, None, :]                       # (n, K, d+1)
        diagonal = jnp.einsum("nkj,nm->kjm", z * scale[:, None, None], design)
        z_flat = z.reshape(n, k * (d + 1))
        cross = (z_flat * scale[:, None]).T @ z_flat                 # (K(d+1), K(d+1))
        blocks = jnp.zeros((k, d + 1, k, d + 1), X.dtype).at[
            jnp.arange(k), :, jnp.arange(k), :].set(diagonal)
        full = blocks.reshape(k * (d + 1), k * (d + 1)) - cross
        # reorder (class, feature-or-intercept) to ravel order: all of coef, then intercepts
        order = np.concatenate([
            (np.arange(k)[:, None] * (d + 1) + np.arange(d)[None, :]).ravel(),
            np.arange(k) * (d + 1) + d,
        ])
        hessian = full[order][:, order]
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
        return logistic_objective(restrict(params), X, y, sample_weight, C, penalty)

    if solver == "newton":
        gauge = _gauge_directions(k, d, penalty, fit_intercept, X.dtype)

        def hessian(params):
            h = logistic_hessian(restrict(params), X, y, sample_weight, C, penalty)
            if not fit_intercept:  # the intercept is fixed: give it a unit diagonal
                free = jnp.concatenate([jnp.ones(k * d, X.dtype), jnp.zeros(k, X.dtype)])
                h = h * free[:, None] * free[None, :] + jnp.diag(1.0 - free)
            if gauge is not None:
                # H is singular along each gauge direction u (H u = 0, and g is orthogonal
                # to u); adding c u u^T leaves the Newton direction exactly the minimum-norm
                # one and makes the matrix positive definite, so no damping search is needed
                scale = jnp.mean(jnp.abs(jnp.diagonal(h)))
                h = h + scale * gauge.T @ gauge
            return h

        result = optim.newton(objective, params, max_steps=max_steps, tol=tol, hessian=hessian)
    elif solver == "lbfgs":
        result = optim.lbfgs(objective, params, max_steps=max_steps, tol=tol)
    elif solver == "fista":
        def smooth(params):  # everything but the L1 term, which the proximal map handles
            value = C * logistic_nll(restrict(params), X, y, sample_weight)
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
    coef, intercept = _centre_gauge(coef, intercept, penalty)
    return LogisticFit(coef, intercept, result.num_steps, result.converged, result.value)


# ----------------------------------------------------------------------------------------
# Estimator


class LogisticRegression(Estimator):
    r"""Logistic regression for two or more classes, scikit-learn's surface.

    Maximizes the Bernoulli (two classes) or Categorical (softmax, more classes)
    log-likelihood of the labels, times ``C``, plus a log-prior: ``penalty="l2"`` is a
    Gaussian prior (ridge-like), ``"l1"`` a Laplace prior (sparse), ``None`` plain maximum
    likelihood. See :func:`logistic_regression` for the solvers. ``C`` is an array field:
    ``jax.vmap(lambda c: LogisticRegression(C=c).fit(X, y))(grid)`` fits every model of the
    grid in one compiled program.

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
    fit_intercept: bool = eqx.field(static=True, default=True)
    max_iter: int | None = eqx.field(static=True, default=None)
    tol: float | None = eqx.field(static=True, default=None)
    classes: tuple | None = eqx.field(static=True, default=None)
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
        if self.max_iter is not None:
            check_int("max_iter", self.max_iter, 1, owner)
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
        fit = logistic_regression(
            X, codes, self.C, sample_weight, num_classes=len(classes), penalty=self.penalty,
            solver=self.solver, fit_intercept=self.fit_intercept, max_steps=self.max_iter,
            tol=self.tol,
        )
        return self._fitted(coef_=fit.coef, intercept_=fit.intercept, classes_=classes,
                            n_iter_=fit.num_steps, converged_=fit.converged)

    def decision_function(self, X):
        """Log-odds of the second class ``(n,)`` (two classes) or logits ``(n, K)``."""
        self._check_fitted()
        X = check_n_features(X, self.coef_.shape[-1], type(self).__name__)
        return logistic_logits(X, self.coef_, self.intercept_)

    def predict_log_proba(self, X):
        """Log-probabilities of each class, ``(n, K)``."""
        logits = self.decision_function(X)
        if logits.ndim == 1:
            return jnp.stack([jax.nn.log_sigmoid(-logits), jax.nn.log_sigmoid(logits)], axis=1)
        return jax.nn.log_softmax(logits, axis=1)

    def predict_proba(self, X):
        """Probabilities of each class, ``(n, K)``."""
        return jnp.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The most probable class label of each row."""
        return _labels(self.classes_, jnp.argmax(self.predict_log_proba(X), axis=1))

    def score(self, X, y):
        """Mean accuracy on ``(X, y)``."""
        predicted = self.predict(X)
        return _accuracy(y, predicted)


def _labels(classes: tuple, codes):
    """Map integer codes back to labels: a JAX array for numeric labels (jittable), a NumPy
    array for others (which needs concrete codes)."""
    array = np.asarray(classes)
    if array.dtype.kind in "biuf":
        return jnp.asarray(array)[codes]
    concrete = concrete_value(codes)
    if concrete is None:
        raise ValueError(
            "predict cannot return non-numeric labels inside jit/vmap; use "
            "predict_proba or decision_function there, or numeric labels"
        )
    return array[concrete]


def _accuracy(y, predicted):
    y_np, predicted_np = concrete_value(y), concrete_value(predicted)
    if y_np is not None and predicted_np is not None and (
            np.asarray(y_np).dtype.kind not in "biuf"):
        return jnp.asarray(np.mean(np.asarray(y_np) == np.asarray(predicted_np)))
    return jnp.mean(jnp.asarray(y) == jnp.asarray(predicted))
