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


# Rows per block of the one-pass gradient on CPU: a block of X (about 4 MiB) stays in
# cache between the product that makes its logits and the one that takes its gradient.
_BLOCK_BYTES = 4 << 20


def _per_example_nll(logits, y):
    if logits.ndim == 1:
        return losses.sigmoid_binary_cross_entropy(logits, y.astype(logits.dtype))
    return losses.softmax_cross_entropy(logits, y)


def _plain_nll(params, X, y, sample_weight):
    coef, intercept = params
    return jnp.sum(sample_weight * _per_example_nll(logistic_logits(X, coef, intercept), y))


def _sum_over_row_blocks(fn, X, y, sample_weight, width: int | None = None):
    """``sum_b fn(X_b, y_b, s_b)`` over blocks of rows, in one pass over ``X``.

    On the CPU a block is about ``_BLOCK_BYTES`` of ``X`` (of a ``width``-column array
    where ``fn`` makes a wider one), so that everything ``fn`` does with it happens while it
    is in cache; elsewhere there is one block (accelerators want one large product). The
    last block starts ``n - rows`` in and gives the rows already counted weight 0, so no
    copy or padding of ``X`` is made.
    """
    n, d = X.shape
    rows = n
    if jax.default_backend() == "cpu":
        per_row = max(d if width is None else width, 1) * jnp.dtype(X.dtype).itemsize
        rows = max(1, min(n, _BLOCK_BYTES // per_row))
    blocks = -(-n // rows)
    if blocks == 1:
        return fn(X, y, sample_weight)

    def block(i, total):
        start = jnp.minimum(i * rows, n - rows)
        sb = jax.lax.dynamic_slice_in_dim(sample_weight, start, rows)
        sb = jnp.where(start + jnp.arange(rows) >= i * rows, sb, 0)
        part = fn(jax.lax.dynamic_slice_in_dim(X, start, rows),
                  jax.lax.dynamic_slice_in_dim(y, start, rows), sb)
        return jax.tree_util.tree_map(jnp.add, total, part)

    shapes = jax.eval_shape(fn, X[:rows], y[:rows], sample_weight[:rows])
    zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    return jax.lax.fori_loop(0, blocks, block, zeros)


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
        value = jnp.sum(sb * _per_example_nll(logits, yb))
        if logits.ndim == 1:
            residual = (sb * (jax.nn.sigmoid(logits) - yb.astype(Xb.dtype)))[:, None]
        else:
            one_hot = jax.nn.one_hot(yb, coef.shape[0], dtype=Xb.dtype)
            residual = sb[:, None] * (jax.nn.softmax(logits, axis=-1) - one_hot)
        return value, (residual.T @ Xb, jnp.sum(residual, axis=0))

    return _sum_over_row_blocks(block, X, y, sample_weight)


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

    hessian = C * _sum_over_row_blocks(block, X, y, sample_weight,
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
        self._check_fitted()
        X = check_n_features(X, self.coef_.shape[-1], type(self).__name__)
        return logistic_log_proba(X, self.coef_, self.intercept_)

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
