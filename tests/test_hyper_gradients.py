"""Derivatives of fits with respect to their hyper-parameters (and data), by implicit
differentiation at the optimum: against central differences and independent references.

Everything but the float32 smoke test runs in float64 (inside ``jax.enable_x64``), so the
file is the same check in both modes of the suite: it runs in the default run only
(``default_mode_only``, tests/conftest.py).

Tolerances of the finite-difference checks. A central difference of step ``h`` of a
validation loss ``L`` errs by the truncation ``h^2 |L'''| / 6``, by rounding,
``eps |L| / h``, and by the fit's own error ``delta`` in the parameters, ``|L'| delta /
h``. Steps are relative, ``h = 1e-4 C`` (or ``alpha``): truncation about ``1e-8``
relative for a loss that is smooth on the scale of ``C`` itself, rounding about
``1e-16 / 1e-4 = 1e-12`` relative. The fits are run with a gradient tolerance of
``1e-12`` (``tol=``; the L2 penalty makes the Hessian at least the identity, so the
parameters are within about ``1e-12`` of the optimum and the quotient within ``1e-8``).
So ``1e-6`` relative is a bound with a margin of a hundred (measured: 5e-9 to 1.3e-8).
L-BFGS's gradient stalls near ``1e-10`` at some ``C``, so for the L-BFGS cases the
difference comes from Newton's fits of the same problem and the L-BFGS fit (``tol=1e-11``)
supplies the derivative. On a fixed active set the lasso
solution is linear in ``alpha``, the validation loss quadratic: the central difference is
exact up to rounding (the checks assert that the active set is the same at ``alpha +- h``,
and likewise for L1 logistic regression).

The references: for ridge, ``dw/dalpha = -(X^T X + alpha I)^{-1} w`` solved in NumPy; for
the lasso, ``dw_A/dalpha = -n (X_A^T X_A)^{-1} sign(w_A)`` on scikit-learn's solution; for
logistic regression, ``-H^{-1} X~^T (p - y)`` with the dense Hessian written out in NumPy
at scikit-learn's solution (``lstsq``, the minimum-norm solution, for the multinomial
gauge). Their accuracy is scikit-learn's (``tol=1e-12``): ``1e-6`` relative.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
from sklearn import datasets, linear_model, preprocessing

from mlmath.linear import (
    Lasso,
    LogisticRegression,
    Ridge,
    _logistic,
    logistic_hessian,
    logistic_regression,
)

pytestmark = pytest.mark.default_mode_only

FD_RTOL = 1e-6
REFERENCE_RTOL = 1e-6


@pytest.fixture(autouse=True)
def float64():
    with jax.enable_x64(True):
        yield


def split(X, y, n_train, seed=0):
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order], y[order]
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


@pytest.fixture(scope="module")
def data():
    standardize = preprocessing.StandardScaler().fit_transform
    cancer = datasets.load_breast_cancer(return_X_y=True)
    iris = datasets.load_iris(return_X_y=True)
    wine = datasets.load_wine(return_X_y=True)
    diabetes = datasets.load_diabetes(return_X_y=True)
    return {
        "breast_cancer": split(standardize(cancer[0]), cancer[1], 400),
        "iris": split(standardize(iris[0]), iris[1], 100),
        # not linearly separable: the maximum-likelihood estimate exists (penalty=None)
        "breast_cancer_10": split(standardize(cancer[0][:, :10]), cancer[1], 400),
        "wine_4": split(standardize(wine[0][:, :4]), wine[1], 120),
        "diabetes": split(*diabetes, 300),
    }


def assert_rel(actual, desired, rtol, what=""):
    actual, desired = float(actual), float(desired)
    assert np.isfinite(actual), f"{what}: {actual}"
    error = abs(actual - desired)
    assert error <= rtol * abs(desired), (
        f"{what}: {actual!r} vs {desired!r}, relative error {error / abs(desired):.2e} > {rtol}")


def central_difference(f, x, h):
    return (float(f(x + h)) - float(f(x - h))) / (2.0 * h)


def log_loss(model, X, y):
    """Mean validation negative log-likelihood."""
    log_p = model.predict_log_proba(jnp.asarray(X))
    return -jnp.mean(log_p[jnp.arange(len(y)), jnp.asarray(y)])


def _logistic_value(C, sample_weight, X, y, X_val, y_val, options):
    model = LogisticRegression(C=C, **dict(options)).fit(X, y, sample_weight)
    return log_loss(model, X_val, y_val), (model.coef_, model.intercept_, model.converged_)


# one compiled program per data set and options, shared by every test, every C and every
# shifted point of the central differences: the loss, its parameters, and its gradients in
# C, the sample weights and the training features
_logistic_value_and_grad = jax.jit(
    jax.value_and_grad(_logistic_value, argnums=(0, 1, 2), has_aux=True), static_argnums=6)


class LogisticProblem:
    """A validation log-loss as a function of ``C``, the sample weights and the features."""

    def __init__(self, data, name, **options):
        self.X, self.y, self.X_val, self.y_val = data[name]
        k = len(np.unique(self.y))
        # L-BFGS's gradient does not always reach 1e-12 in float64 (see the C test)
        options.setdefault("tol", 1e-11 if options.get("solver") == "lbfgs" else 1e-12)
        if options.get("solver") == "fista":
            options.setdefault("max_iter", 100_000)
        self.options = tuple(sorted(options.items())) + (("classes", tuple(range(k))),)
        self.weights = np.ones(len(self.y))

    def evaluate(self, C, weights=None, X=None):
        weights = self.weights if weights is None else weights
        X = self.X if X is None else X
        (value, aux), grads = _logistic_value_and_grad(
            jnp.asarray(C, jnp.float64), jnp.asarray(weights), jnp.asarray(X),
            jnp.asarray(self.y), jnp.asarray(self.X_val), jnp.asarray(self.y_val),
            self.options)
        return value, aux, grads

    def loss(self, C, weights=None, X=None):
        return self.evaluate(C, weights, X)[0]

    def traced_loss(self, C):
        """For ``jax.jvp``/``jax.vmap``: the loss in ``C`` alone, traced."""
        return _logistic_value(C, self.weights, self.X, self.y, self.X_val, self.y_val,
                               self.options)[0]

    def grad_C(self, C):
        return self.evaluate(C)[2][0]


# ---------------------------------------------------------------------------------------
# logistic regression


LOGISTIC_CASES = [
    ("breast_cancer", dict(solver="newton")),
    ("breast_cancer", dict(solver="lbfgs")),
    ("breast_cancer", dict(solver="fista", penalty="l1")),
    ("iris", dict(solver="newton")),
    ("iris", dict(solver="lbfgs")),
    ("iris", dict(solver="fista", penalty="l1")),
    ("iris", dict(solver="fista", penalty="l1", fit_intercept=False)),
    ("iris", dict(solver="newton", fit_intercept=False)),
]


def case_id(case):
    name, options = case
    return "-".join([name] + [f"{k}={v}" for k, v in options.items()])


@pytest.mark.parametrize("case", LOGISTIC_CASES, ids=case_id)
def test_logistic_grad_C_matches_finite_differences(data, case):
    name, options = case
    problem = LogisticProblem(data, name, **options)
    # L-BFGS's gradient stalls near 1e-10 at some C (iris at C = 1.0001): its own fits would
    # put 1e-10 / h = 1e-6 of optimizer error into the quotient. The difference is a
    # property of the problem, not of the solver: take it from Newton's fits (converged to
    # 1e-12) and compare the L-BFGS fit's derivative with it.
    differenced = (LogisticProblem(data, name, **dict(options, solver="newton"))
                   if options["solver"] == "lbfgs" else problem)
    for C in (0.05, 1.0):
        h = 1e-4 * C
        low, high = (differenced.evaluate(C + s) for s in (-h, h))
        centre = problem.evaluate(C)
        assert all(bool(point[1][2]) for point in (low, centre, high)), f"unconverged, C={C}"
        if options.get("penalty") == "l1":  # the difference must not cross a kink
            support = np.asarray(centre[1][0]) != 0
            assert np.array_equal(np.asarray(low[1][0]) != 0, support)
            assert np.array_equal(np.asarray(high[1][0]) != 0, support)
            assert 0 < support.sum() < support.size  # a real active set
        expected = (float(high[0]) - float(low[0])) / (2.0 * h)
        assert_rel(centre[2][0], expected, FD_RTOL, f"dL/dC at C={C}")


@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
@pytest.mark.parametrize("penalty", ["l2", None])
def test_logistic_grad_sample_weight_and_features_match_finite_differences(data, name,
                                                                          penalty):
    if penalty is None:  # data on which the maximum-likelihood estimate exists
        name = {"breast_cancer": "breast_cancer_10", "iris": "wine_4"}[name]
    problem = LogisticProblem(data, name, penalty=penalty)
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.5, 1.5, len(problem.y))
    d_weights = rng.normal(size=weights.shape)
    d_X = rng.normal(size=problem.X.shape)
    _, _, (_, grad_weights, grad_X) = problem.evaluate(0.5, weights)
    # the directions move every weight, every feature value, at once: the loss curves more
    # along them than along C (truncation 1e-6 relative at h = 1e-4 on breast_cancer_10,
    # 1e-8 at 1e-5, where rounding is 1e-16 / 1e-5 = 1e-11)
    h = 1e-5
    expected = (float(problem.loss(0.5, weights + h * d_weights))
                - float(problem.loss(0.5, weights - h * d_weights))) / (2 * h)
    assert_rel(grad_weights @ d_weights, expected, FD_RTOL, "dL/ds")
    expected = (float(problem.loss(0.5, weights, problem.X + h * d_X))
                - float(problem.loss(0.5, weights, problem.X - h * d_X))) / (2 * h)
    assert_rel(jnp.vdot(grad_X, d_X), expected, FD_RTOL, "dL/dX")


@pytest.mark.parametrize("name", ["breast_cancer_10", "wine_4"])
def test_logistic_without_penalty_does_not_depend_on_C(data, name):
    """C * NLL has the same minimizer for every C: the derivative is exactly zero, not NaN,
    while the objective's derivative is the NLL at the optimum (envelope theorem)."""
    problem = LogisticProblem(data, name, penalty=None)
    for C in (0.01, 0.7, 100.0):
        assert float(problem.grad_C(C)) == 0.0
    Xtr, ytr = (jnp.asarray(a) for a in data[name][:2])
    k = len(np.unique(ytr))

    def objective(C):
        return logistic_regression(Xtr, ytr, C, num_classes=k, penalty=None,
                                   tol=1e-12).objective

    value, gradient = jax.value_and_grad(objective)(0.7)
    assert_rel(gradient, value / 0.7, 1e-12, "d objective / dC")


def test_logistic_objective_derivative_is_the_envelope(data):
    Xtr, ytr = (jnp.asarray(a) for a in data["iris"][:2])

    @jax.jit
    def objective(C):
        return logistic_regression(Xtr, ytr, C, num_classes=3, tol=1e-12).objective

    assert_rel(jax.jit(jax.grad(objective))(0.5), central_difference(objective, 0.5, 5e-5),
               FD_RTOL, "d objective / dC")


def numpy_logistic_dloss_dC(X, y, Xva, yva, coef, intercept, C):
    """dL/dC from scikit-learn's parameters, with the dense Hessian written out in NumPy.

    Parameters per class ``theta_k = (w_k, b_k)``; the optimality conditions
    ``g_k = C X~^T (p_k - y_k) + (w_k, 0) = 0`` give ``dtheta/dC = -H^{-1} X~^T (p - y)``.
    """
    def design(X):
        return np.hstack([X, np.ones((len(X), 1))])

    Xt, Xv = design(X), design(Xva)
    theta = np.hstack([coef, intercept[:, None]])                  # (K', d + 1)
    k, m = theta.shape
    if k == 1:
        p = scipy.special.expit(Xt @ theta[0])
        H = C * (Xt.T * (p * (1 - p))) @ Xt + np.diag(np.r_[np.ones(m - 1), 0.0])
        dtheta = -np.linalg.solve(H, Xt.T @ (p - y))
        pv = scipy.special.expit(Xv @ theta[0])
        return (Xv.T @ (pv - yva) / len(yva)) @ dtheta
    P = scipy.special.softmax(Xt @ theta.T, axis=1)
    Y = np.eye(k)[y]
    H = np.zeros((k, m, k, m))
    for a in range(k):
        for b in range(k):
            curvature = P[:, a] * ((a == b) - P[:, b])
            H[a, :, b, :] = C * (Xt.T * curvature) @ Xt
        H[a, :m - 1, a, :m - 1] += np.eye(m - 1)
    rhs = (Xt.T @ (P - Y)).T.reshape(-1)                           # d g / dC
    dtheta = -np.linalg.lstsq(H.reshape(k * m, k * m), rhs, rcond=None)[0]
    Pv = scipy.special.softmax(Xv @ theta.T, axis=1)
    grad_val = (Xv.T @ (Pv - np.eye(k)[yva]) / len(yva)).T.reshape(-1)
    return grad_val @ dtheta


@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_logistic_grad_C_matches_numpy_formula_at_sklearn_solution(data, name, solver):
    Xtr, ytr, Xva, yva = data[name]
    C = 1.0
    reference = linear_model.LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12,
                                                max_iter=1000).fit(Xtr, ytr)
    expected = numpy_logistic_dloss_dC(Xtr, ytr, Xva, yva, reference.coef_,
                                       reference.intercept_, C)
    problem = LogisticProblem(data, name, solver=solver)
    assert_rel(problem.grad_C(C), expected, REFERENCE_RTOL, "dL/dC vs NumPy")


def test_logistic_vmap_and_forward_mode(data):
    for name in ("iris",):
        problem = LogisticProblem(data, name, solver="newton")
        grid = jnp.array([0.05, 1.0, 10.0])
        batched = jax.jit(jax.vmap(jax.grad(problem.traced_loss)))(grid)
        for C, value in zip(grid, batched, strict=True):
            assert_rel(value, problem.grad_C(C), 1e-8, f"{name}: vmap at C={float(C)}")
        _, tangent = jax.jit(lambda C, p=problem: jax.jvp(p.traced_loss, (C,), (1.0,)))(1.0)
        assert_rel(tangent, problem.grad_C(1.0), 1e-10, f"{name}: jvp vs grad")


@pytest.mark.parametrize("case", [("iris", dict(solver="newton")),
                                  ("iris", dict(solver="fista", penalty="l1")),
                                  ("breast_cancer", dict(solver="lbfgs"))], ids=case_id)
def test_logistic_fit_under_grad_gives_the_same_parameters(data, case):
    name, options = case
    problem = LogisticProblem(data, name, **options)
    _, (coef, intercept, _), _ = problem.evaluate(1.0)
    plain = LogisticRegression(C=1.0, **dict(problem.options)).fit(problem.X, problem.y)
    np.testing.assert_allclose(coef, plain.coef_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(intercept, plain.intercept_, rtol=1e-12, atol=1e-12)


def test_logistic_intercept_derivatives_keep_the_reported_gauge(data):
    """Multinomial intercepts are reported summing to zero; so do their derivatives."""
    Xtr, ytr = (jnp.asarray(a) for a in data["iris"][:2])
    d_intercept = jax.jacfwd(lambda C: logistic_regression(Xtr, ytr, C, num_classes=3,
                                                           tol=1e-12).intercept)(1.0)
    assert float(jnp.max(jnp.abs(d_intercept))) > 1e-3
    assert abs(float(jnp.sum(d_intercept))) <= 1e-12 * float(jnp.max(jnp.abs(d_intercept)))


def test_logistic_grad_in_float32_is_finite_and_close_to_float64(data):
    """The issue's example, in float32 data (whatever the suite's mode)."""
    Xtr, ytr, Xva, yva = data["breast_cancer"]

    def val_loss(C):
        model = LogisticRegression(C=C).fit(jnp.asarray(Xtr, jnp.float32), ytr)
        return log_loss(model, jnp.asarray(Xva, jnp.float32), yva)

    g32 = jax.grad(val_loss)(jnp.asarray(1.0, jnp.float32))
    g64 = LogisticProblem(data, "breast_cancer", solver="newton").grad_C(1.0)
    assert g32.dtype == jnp.float32
    assert_rel(g32, g64, 1e-3, "float32 vs float64")


# conjugate gradients on Hessian-vector products (the path above 4096 parameters)


def _clear_compiled():
    logistic_regression.clear_cache()
    _logistic_value_and_grad.clear_cache()


@pytest.fixture
def conjugate_gradients(monkeypatch):
    """Every implicit derivative through CG, with the Hessian-vector products over blocks
    of 4 KiB of rows (many blocks, a partial last one). Read at trace time: the compiled
    programs are dropped before and after."""
    monkeypatch.setattr(_logistic, "_DENSE_TANGENT_MAX", 0)
    monkeypatch.setattr("mlmath._linalg.ROW_BLOCK_BYTES", 4096)
    _clear_compiled()
    yield
    monkeypatch.undo()
    _clear_compiled()


CG_CASES = [
    ("breast_cancer", dict(solver="lbfgs")),                       # binary
    ("iris", dict(solver="fista", penalty="l1")),                  # active set, gauge
    ("wine_4", dict(solver="newton", penalty=None, fit_intercept=False)),  # column gauge
]


def test_conjugate_gradient_derivatives_equal_the_dense_ones(data, request):
    """The two tangent solves share one system; CG stops at a relative residual of
    eps^(2/3) = 4e-11, which, for these condition numbers (below 1e3), leaves 1e-7."""
    problems = [LogisticProblem(data, name, **options) for name, options in CG_CASES]
    weights = [np.random.default_rng(3).uniform(0.5, 1.5, len(p.y)) for p in problems]
    dense = [p.evaluate(0.5, w)[2] for p, w in zip(problems, weights, strict=True)]
    request.getfixturevalue("conjugate_gradients")
    for (name, options), p, w, expected in zip(CG_CASES, problems, weights, dense,
                                                strict=True):
        grads = p.evaluate(0.5, w)[2]
        what = case_id((name, options))
        if options.get("penalty", "l2") is not None:
            assert_rel(grads[0], expected[0], 1e-7, f"{what}: dL/dC")
        else:
            assert float(grads[0]) == float(expected[0]) == 0.0
        for got, want, arg in zip(grads[1:], expected[1:], ("s", "X"), strict=True):
            error = float(jnp.max(jnp.abs(got - want)))
            assert error <= 1e-7 * float(jnp.max(jnp.abs(want))), f"{what}: dL/d{arg}"


def test_hessian_vector_products_and_diagonal_are_the_closed_form(data, monkeypatch):
    monkeypatch.setattr("mlmath._linalg.ROW_BLOCK_BYTES", 4096)
    rng = np.random.default_rng(4)
    hvp = jax.jit(_logistic._logistic_hvp, static_argnums=5)
    hessian_diagonal = jax.jit(_logistic._logistic_hessian_diagonal, static_argnums=5)
    for name, k in (("breast_cancer", 1), ("iris", 3)):
        X, y = (jnp.asarray(a) for a in data[name][:2])
        d = X.shape[1]
        params = (jnp.asarray(rng.normal(size=(k, d))), jnp.asarray(rng.normal(size=k)))
        vector = (jnp.asarray(rng.normal(size=(k, d))), jnp.asarray(rng.normal(size=k)))
        weights = jnp.asarray(rng.uniform(0.5, 1.5, len(y)))
        H = jax.jit(logistic_hessian, static_argnums=5)(params, X, y, weights, 0.7, "l2")
        flat = jnp.concatenate([vector[0].reshape(-1), vector[1]])
        hv = hvp(params, X, y, weights, 0.7, "l2", vector)
        np.testing.assert_allclose(jnp.concatenate([hv[0].reshape(-1), hv[1]]), H @ flat,
                                   rtol=1e-12, atol=1e-12 * float(jnp.max(jnp.abs(H))))
        diagonal = hessian_diagonal(params, X, y, weights, 0.7, "l2")
        np.testing.assert_allclose(diagonal, jnp.diagonal(H), rtol=1e-12)


def test_logistic_grad_C_above_the_dense_limit_matches_finite_differences():
    """4110 parameters (10 classes, 410 features): the tangent solve is CG on
    Hessian-vector products, as with any fit above 4096 parameters."""
    rng = np.random.default_rng(5)
    n, d, k = 400, 410, 10
    X = rng.normal(size=(2 * n, d))
    y = np.argmax(X @ rng.normal(size=(d, k)) * 0.1 + rng.gumbel(size=(2 * n, k)), axis=1)
    assert k * (d + 1) > _logistic._DENSE_TANGENT_MAX
    problem = LogisticProblem({"synthetic": (X[:n], y[:n], X[n:], y[n:])}, "synthetic",
                              solver="lbfgs")
    C = 0.01
    h = 1e-4 * C
    (low, (_, _, ok_low), _), (_, (_, _, ok), grads), (high, (_, _, ok_high), _) = (
        problem.evaluate(C + s) for s in (-h, 0.0, h))
    assert bool(ok_low) and bool(ok) and bool(ok_high)
    assert_rel(grads[0], (float(high) - float(low)) / (2 * h), FD_RTOL, "dL/dC")


# ---------------------------------------------------------------------------------------
# lasso and ridge


def _regression_value(alpha, sample_weight, X, y, X_val, y_val, estimator, options):
    model = estimator(alpha=alpha, **dict(options)).fit(X, y, sample_weight)
    return jnp.mean((model.predict(X_val) - y_val) ** 2), model.coef_


_regression_value_and_grad = jax.jit(
    jax.value_and_grad(_regression_value, argnums=(0, 1), has_aux=True),
    static_argnums=(6, 7))


class RegressionProblem:
    """A validation mean squared error as a function of ``alpha`` and the sample weights."""

    def __init__(self, data, estimator, **options):
        self.X, self.y, self.X_val, self.y_val = data["diabetes"]
        self.estimator = estimator
        self.options = tuple(sorted(options.items()))
        self.weights = np.ones(len(self.y))

    def evaluate(self, alpha, weights=None):
        weights = self.weights if weights is None else weights
        return _regression_value_and_grad(
            jnp.asarray(alpha, jnp.float64), jnp.asarray(weights), jnp.asarray(self.X),
            jnp.asarray(self.y), jnp.asarray(self.X_val), jnp.asarray(self.y_val),
            self.estimator, self.options)

    def loss(self, alpha, weights=None):
        return self.evaluate(alpha, weights)[0][0]

    def grad_alpha(self, alpha):
        return self.evaluate(alpha)[1][0]

    def traced_loss(self, alpha):
        return _regression_value(alpha, self.weights, self.X, self.y, self.X_val, self.y_val,
                                 self.estimator, self.options)[0]


LASSO_OPTIONS = dict(tol=1e-12, max_iter=100_000)


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.5])
def test_lasso_grad_alpha_matches_finite_differences_and_sklearn(data, alpha):
    problem = RegressionProblem(data, Lasso, **LASSO_OPTIONS)
    h = 1e-4 * alpha
    ((low, coef_low), _), ((_, coef), (gradient, _)), ((high, coef_high), _) = (
        problem.evaluate(alpha + s) for s in (-h, 0.0, h))
    support = np.asarray(coef) != 0
    assert np.array_equal(np.asarray(coef_low) != 0, support)
    assert np.array_equal(np.asarray(coef_high) != 0, support)
    assert 0 < support.sum()
    assert_rel(gradient, (float(high) - float(low)) / (2 * h), FD_RTOL, "dL/dalpha")

    Xtr, ytr, Xva, yva = data["diabetes"]
    reference = linear_model.Lasso(alpha=alpha, tol=1e-12, max_iter=1_000_000).fit(Xtr, ytr)
    active = reference.coef_ != 0
    assert np.array_equal(active, support)
    x_mean = Xtr.mean(axis=0)
    Xa = (Xtr - x_mean)[:, active]
    d_coef = np.zeros(Xtr.shape[1])
    d_coef[active] = -len(ytr) * np.linalg.solve(Xa.T @ Xa, np.sign(reference.coef_[active]))
    residual = reference.predict(Xva) - yva
    expected = 2.0 * np.mean(residual * ((Xva - x_mean) @ d_coef))
    assert_rel(gradient, expected, REFERENCE_RTOL, "dL/dalpha vs NumPy")


def test_lasso_grad_sample_weight_forward_mode_and_vmap(data):
    problem = RegressionProblem(data, Lasso, **LASSO_OPTIONS)
    rng = np.random.default_rng(6)
    weights = rng.uniform(0.5, 1.5, len(problem.y))
    direction = rng.normal(size=weights.shape)
    gradient = problem.evaluate(0.1, weights)[1][1]
    h = 1e-5
    expected = (float(problem.loss(0.1, weights + h * direction))
                - float(problem.loss(0.1, weights - h * direction))) / (2 * h)
    assert_rel(gradient @ direction, expected, FD_RTOL, "dL/ds")
    _, tangent = jax.jit(lambda a: jax.jvp(problem.traced_loss, (a,), (1.0,)))(0.1)
    assert_rel(tangent, problem.grad_alpha(0.1), 1e-10, "jvp vs grad")
    grid = jnp.array([0.01, 0.1, 0.5])
    for alpha, value in zip(grid, jax.jit(jax.vmap(jax.grad(problem.traced_loss)))(grid),
                            strict=True):
        assert_rel(value, problem.grad_alpha(alpha), 1e-10, f"vmap at alpha={float(alpha)}")


def test_lasso_fit_under_grad_gives_the_same_parameters(data):
    problem = RegressionProblem(data, Lasso, **LASSO_OPTIONS)
    (_, coef), _ = problem.evaluate(0.1)
    plain = Lasso(alpha=0.1, **LASSO_OPTIONS).fit(problem.X, problem.y)
    np.testing.assert_allclose(coef, plain.coef_, rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.01, 0.1, 1.0])
def test_ridge_grad_alpha_matches_finite_differences_and_closed_form(data, alpha):
    problem = RegressionProblem(data, Ridge)
    gradient = problem.grad_alpha(alpha)
    assert_rel(gradient, central_difference(problem.loss, alpha, 1e-4 * alpha), FD_RTOL,
               "dL/dalpha")
    # w = (Xc^T Xc + alpha I)^{-1} Xc^T yc, dw/dalpha = -(Xc^T Xc + alpha I)^{-1} w
    Xtr, ytr, Xva, yva = data["diabetes"]
    x_mean, y_mean = Xtr.mean(axis=0), ytr.mean()
    Xc = Xtr - x_mean
    system = Xc.T @ Xc + alpha * np.eye(Xtr.shape[1])
    coef = np.linalg.solve(system, Xc.T @ (ytr - y_mean))
    d_coef = -np.linalg.solve(system, coef)
    residual = (Xva - x_mean) @ coef + y_mean - yva
    expected = 2.0 * np.mean(residual * ((Xva - x_mean) @ d_coef))
    assert_rel(gradient, expected, 1e-9, "dL/dalpha vs NumPy")
    _, tangent = jax.jvp(problem.traced_loss, (alpha,), (1.0,))
    assert_rel(tangent, gradient, 1e-10, "jvp vs grad")
