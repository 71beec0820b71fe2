"""mlmath.linear against scikit-learn on its bundled data sets, and the estimator contract.

Precision claims. With ``JAX_ENABLE_X64=1`` everything runs in float64 and the claims are
scikit-learn's own: coefficients within 1e-4 (relative, max-norm) where the optimum is
unique, predictions and probabilities to the same accuracy, objectives never above
scikit-learn's. In JAX's default float32 mode the same comparisons run on float32 data
against scikit-learn's float64 answers, with float32-appropriate tolerances: 1e-3.

scikit-learn's references are run to tight tolerances: logistic regression by
``newton-cholesky`` with ``tol=1e-12`` (its lbfgs stops early on ill-conditioned problems
such as raw digits), L1 logistic regression by ``saga`` with ``l1_ratio=1`` on standardized
data, the lasso by coordinate descent with ``tol=1e-12``. (scikit-learn 1.8 deprecated
``penalty=``: no penalty is ``C=np.inf``, L1 is ``l1_ratio=1``.)
"""

from __future__ import annotations

import dataclasses
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from sklearn import datasets, linear_model, naive_bayes, preprocessing
from sklearn.exceptions import ConvergenceWarning

from mlmath import optim
from mlmath._estimator import NotFittedError
from mlmath.distributions import Bernoulli, Categorical, Normal
from mlmath.linear import (
    GaussianNB,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    least_squares,
    logistic_hessian,
    logistic_log_proba,
    logistic_nll,
    logistic_objective,
    ridge,
)
from tests import conftest
from tests.composability import check_gradient
from tests.conftest import X64, assert_close, rtol_for

DEFAULT_FLOAT = jnp.result_type(float)
RTOL = 1e-4 if X64 else 1e-3
# an objective found by mlmath may exceed scikit-learn's only by rounding: float64 sums in
# x64 mode; in float32 mode the float32 coefficients themselves (evaluated in float64)
OBJECTIVE_SLACK = 1e-10 if X64 else 1e-6
# a vmapped fit and a separate fit run the same algorithm and differ only by the rounding
# of batched arithmetic, which the solvers resolve to their floor
SAME_FIT_RTOL = 1e-10 if X64 else 1e-4


def assert_relative(actual, desired, rtol=RTOL, err_msg=""):
    return conftest.assert_relative(actual, desired, rtol, err_msg)


def as_jax(*arrays):
    return [jnp.asarray(a, DEFAULT_FLOAT) for a in arrays]


def standardized(X):
    return preprocessing.StandardScaler().fit_transform(X)


# ---------------------------------------------------------------------------------------------
# data sets (scikit-learn's bundled ones), loaded once


@pytest.fixture(scope="module")
def diabetes():
    return datasets.load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def classification():
    breast_cancer = datasets.load_breast_cancer(return_X_y=True)
    iris = datasets.load_iris(return_X_y=True)
    wine = datasets.load_wine(return_X_y=True)
    digits = datasets.load_digits(return_X_y=True)
    return {
        "breast_cancer": (standardized(breast_cancer[0]), breast_cancer[1]),
        "iris": (standardized(iris[0]), iris[1]),
        "wine": (standardized(wine[0]), wine[1]),
        # raw pixel counts 0..16 with constant columns: ill-conditioned. The first 360 images
        # (all ten classes) keep scikit-learn's multinomial Newton solver to a few seconds.
        "digits": (digits[0][:360], digits[1][:360]),
        # without a penalty the optimum must exist: these are not linearly separable
        "breast_cancer_10": (standardized(breast_cancer[0][:, :10]), breast_cancer[1]),
        "wine_4": (standardized(wine[0][:, :4]), wine[1]),
        "iris_raw": iris,
    }


# ---------------------------------------------------------------------------------------------
# LinearRegression


def test_linear_regression_matches_sklearn(diabetes):
    X, y = diabetes
    reference = linear_model.LinearRegression().fit(X, y)
    model = LinearRegression().fit(*as_jax(X, y))
    assert_relative(model.coef_, reference.coef_)
    assert_relative(model.intercept_, reference.intercept_)
    assert int(model.rank_) == reference.rank_
    assert_relative(model.singular_values_, reference.singular_)
    assert_relative(model.predict(as_jax(X)[0]), reference.predict(X))
    assert_close(model.score(*as_jax(X, y)), reference.score(X, y), rtol=RTOL)


def test_linear_regression_rank_deficient_design_gives_minimum_norm_solution(diabetes):
    X, y = diabetes
    duplicated = np.hstack([X, X[:, :1]])  # column 0 twice: rank 10 of 11
    reference = linear_model.LinearRegression().fit(duplicated, y)
    model = LinearRegression().fit(*as_jax(duplicated, y))
    assert int(model.rank_) == reference.rank_ == 10
    assert_relative(model.coef_, reference.coef_)
    # the minimum-norm solution splits the duplicated coefficient evenly: compare with the
    # full-rank fit (closed form of the minimum-norm solution)
    full_rank = linear_model.LinearRegression().fit(X, y)
    assert_relative(np.asarray(model.coef_)[[0, 10]], [full_rank.coef_[0] / 2] * 2)
    assert_relative(model.predict(as_jax(duplicated)[0]), full_rank.predict(X))


def test_linear_regression_multi_output(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, np.log(y), 100 * X[:, 2] + X[:, 3]])
    reference = linear_model.LinearRegression().fit(X, Y)
    model = LinearRegression().fit(*as_jax(X, Y))
    assert model.coef_.shape == (3, 10) and model.intercept_.shape == (3,)
    for target in range(3):  # each target on its own scale
        assert_relative(model.coef_[target], reference.coef_[target])
        assert_relative(model.intercept_[target], reference.intercept_[target])
    prediction = model.predict(as_jax(X)[0])
    assert prediction.shape == (442, 3)
    for target in range(3):
        assert_relative(prediction[:, target], reference.predict(X)[:, target])
    assert_close(model.score(*as_jax(X, Y)), reference.score(X, Y), rtol=RTOL)


def test_linear_regression_sample_weight(diabetes):
    X, y = diabetes
    weights = np.random.default_rng(0).uniform(0.0, 3.0, len(y))
    reference = linear_model.LinearRegression().fit(X, y, sample_weight=weights)
    model = LinearRegression().fit(*as_jax(X, y), sample_weight=as_jax(weights)[0])
    assert_relative(model.coef_, reference.coef_)
    assert_relative(model.intercept_, reference.intercept_)
    # integer weights are repeated samples
    counts = np.random.default_rng(1).integers(0, 3, len(y))
    repeated = linear_model.LinearRegression().fit(np.repeat(X, counts, axis=0),
                                                   np.repeat(y, counts))
    model = LinearRegression().fit(*as_jax(X, y), sample_weight=as_jax(counts)[0])
    assert_relative(model.coef_, repeated.coef_)


def test_linear_regression_without_intercept(diabetes):
    X, y = diabetes
    reference = linear_model.LinearRegression(fit_intercept=False).fit(X, y)
    model = LinearRegression(fit_intercept=False).fit(*as_jax(X, y))
    assert_relative(model.coef_, reference.coef_)
    assert float(model.intercept_) == 0.0


# ---------------------------------------------------------------------------------------------
# Ridge and Lasso


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 1.0, 10.0, 100.0])
def test_ridge_matches_sklearn(diabetes, alpha):
    X, y = diabetes
    reference = linear_model.Ridge(alpha=alpha).fit(X, y)
    model = Ridge(alpha=alpha).fit(*as_jax(X, y))
    assert_relative(model.coef_, reference.coef_, err_msg=f"alpha={alpha}")
    assert_relative(model.intercept_, reference.intercept_)
    assert_relative(model.predict(as_jax(X)[0]), reference.predict(X))


def test_ridge_multi_output_and_sample_weight(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, 100 * X[:, 2] + X[:, 3]])
    weights = np.random.default_rng(2).uniform(0.0, 3.0, len(y))
    reference = linear_model.Ridge(alpha=0.5).fit(X, Y, sample_weight=weights)
    model = Ridge(alpha=0.5).fit(*as_jax(X, Y), sample_weight=as_jax(weights)[0])
    for target in range(2):
        assert_relative(model.coef_[target], reference.coef_[target])
        assert_relative(model.intercept_[target], reference.intercept_[target])


def lasso_objective(X, y, coef, intercept, alpha, weights=None):
    """scikit-learn's lasso objective in float64: ``sum s r^2 / (2 sum s) + alpha |w|_1``."""
    weights = np.ones(len(y)) if weights is None else weights
    residual = y - X @ np.asarray(coef, np.float64) - float(intercept)
    return weights @ residual ** 2 / (2 * weights.sum()) + alpha * np.abs(coef).sum()


@pytest.mark.parametrize("alpha", [0.01, 0.1, 1.0])
def test_lasso_matches_sklearn(diabetes, alpha):
    X, y = diabetes
    reference = linear_model.Lasso(alpha=alpha, tol=1e-12, max_iter=10**6).fit(X, y)
    model = Lasso(alpha=alpha).fit(*as_jax(X, y))
    assert bool(model.converged_)
    assert_relative(model.coef_, reference.coef_, err_msg=f"alpha={alpha}")
    assert_relative(model.intercept_, reference.intercept_)
    # the same exact zeros (the Laplace prior's sparsity)
    np.testing.assert_array_equal(np.asarray(model.coef_) == 0, reference.coef_ == 0)
    assert_relative(model.predict(as_jax(X)[0]), reference.predict(X))
    ours = lasso_objective(X, y, model.coef_, model.intercept_, alpha)
    theirs = lasso_objective(X, y, reference.coef_, reference.intercept_, alpha)
    assert ours <= theirs * (1 + OBJECTIVE_SLACK)


def test_lasso_sample_weight(diabetes):
    X, y = diabetes
    weights = np.random.default_rng(3).uniform(0.0, 3.0, len(y))
    reference = linear_model.Lasso(alpha=0.1, tol=1e-12, max_iter=10**6).fit(
        X, y, sample_weight=weights)
    model = Lasso(alpha=0.1).fit(*as_jax(X, y), sample_weight=as_jax(weights)[0])
    assert bool(model.converged_)
    assert_relative(model.coef_, reference.coef_)
    assert_relative(model.intercept_, reference.intercept_)
    ours = lasso_objective(X, y, model.coef_, model.intercept_, 0.1, weights)
    theirs = lasso_objective(X, y, reference.coef_, reference.intercept_, 0.1, weights)
    assert ours <= theirs * (1 + OBJECTIVE_SLACK)


def test_lasso_with_a_large_alpha_is_all_zeros(diabetes):
    """Above ``alpha_max = max |X_c^T y_c| / n`` the solution is exactly zero (closed form)."""
    X, y = diabetes
    alpha_max = np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / len(y)
    model = Lasso(alpha=1.01 * alpha_max).fit(*as_jax(X, y))
    assert np.all(np.asarray(model.coef_) == 0)
    assert_relative(model.intercept_, y.mean())


# ---------------------------------------------------------------------------------------------
# LogisticRegression against scikit-learn


def sklearn_logistic(X, y, C, penalty, sample_weight=None):
    if penalty == "l1":
        reference = linear_model.LogisticRegression(C=C, l1_ratio=1.0, solver="saga",
                                                    tol=1e-12, max_iter=100_000)
    else:
        reference = linear_model.LogisticRegression(C=np.inf if penalty is None else C,
                                                    solver="newton-cholesky", tol=1e-12,
                                                    max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a reference must converge
        return reference.fit(X, y, sample_weight=sample_weight)


def numpy_objective(X, y, coef, intercept, C, penalty, sample_weight=None):
    """scikit-learn's objective in float64: ``C sum s NLL + (|W|^2 / 2 or |W|_1)``."""
    coef = np.asarray(coef, np.float64)
    logits = X @ coef.T + np.asarray(intercept, np.float64)
    weights = np.ones(len(y)) if sample_weight is None else sample_weight
    if coef.shape[0] == 1:
        z = logits[:, 0]
        nll = -(y * scipy.special.log_expit(z) + (1 - y) * scipy.special.log_expit(-z))
    else:
        nll = -scipy.special.log_softmax(logits, axis=1)[np.arange(len(y)), y]
    value = C * weights @ nll
    if penalty == "l2":
        value += 0.5 * np.sum(coef ** 2)
    elif penalty == "l1":
        value += np.sum(np.abs(coef))
    return value


def centred_intercept(intercept):
    """Multinomial intercepts are defined up to a common shift: compare them centred."""
    intercept = np.asarray(intercept, np.float64)
    return intercept - intercept.mean() if intercept.shape[0] > 1 else intercept


def check_against_sklearn(model, reference, X, y, C, penalty, sample_weight=None):
    assert bool(model.converged_), f"not converged after {int(model.n_iter_)} iterations"
    assert model.coef_.shape == reference.coef_.shape
    assert model.classes_ == tuple(reference.classes_.tolist())
    assert_relative(model.coef_, reference.coef_, err_msg="coef_")
    assert_relative(centred_intercept(model.intercept_), centred_intercept(reference.intercept_),
                    err_msg="intercept_")
    X_jax = as_jax(X)[0]
    assert_close(model.predict_proba(X_jax), reference.predict_proba(X), rtol=RTOL)
    decision = model.decision_function(X_jax)
    expected = reference.decision_function(X)
    if decision.ndim == 2:  # logits up to a common shift per row
        decision = decision - decision.mean(axis=1, keepdims=True)
        expected = expected - expected.mean(axis=1, keepdims=True)
    assert_relative(decision, expected, err_msg="decision_function")
    agreement = np.mean(np.asarray(model.predict(X_jax)) == reference.predict(X))
    assert agreement >= 0.99  # ties aside, the same labels
    ours = numpy_objective(X, y, model.coef_, model.intercept_, C, penalty, sample_weight)
    theirs = numpy_objective(X, y, reference.coef_, reference.intercept_, C, penalty,
                             sample_weight)
    assert ours <= theirs * (1 + OBJECTIVE_SLACK), f"objective {ours!r} > scikit-learn's {theirs!r}"


L2_CASES = [
    (name, solver, C)
    for name, solvers in [("breast_cancer", ["newton", "lbfgs"]), ("iris", ["newton"]),
                          ("wine", ["newton", "lbfgs"])]
    for solver in solvers
    for C in [0.1, 1.0, 10.0]
]


@pytest.mark.parametrize(("name", "solver", "C"), L2_CASES)
def test_logistic_regression_l2_matches_sklearn(classification, name, solver, C):
    X, y = classification[name]
    model = LogisticRegression(C=C, solver=solver, max_iter=100 if solver == "newton" else 1000)
    model = model.fit(as_jax(X)[0], y)
    check_against_sklearn(model, sklearn_logistic(X, y, C, "l2"), X, y, C, "l2")


def test_logistic_regression_on_raw_digits(classification):
    """Ill-conditioned (pixel counts, constant columns), multinomial with ten classes."""
    X, y = classification["digits"]
    model = LogisticRegression(C=1.0, solver="newton").fit(as_jax(X)[0], y)
    check_against_sklearn(model, sklearn_logistic(X, y, 1.0, "l2"), X, y, 1.0, "l2")


@pytest.mark.parametrize(("name", "solver"), [("breast_cancer_10", "newton"),
                                              ("breast_cancer_10", "lbfgs"),
                                              ("wine_4", "newton")])
def test_logistic_regression_without_penalty_matches_sklearn(classification, name, solver):
    X, y = classification[name]
    model = LogisticRegression(penalty=None, solver=solver, max_iter=1000).fit(as_jax(X)[0], y)
    check_against_sklearn(model, sklearn_logistic(X, y, 1.0, None), X, y, 1.0, None)


@pytest.mark.parametrize(("name", "C"), [("breast_cancer", 0.1), ("iris", 0.1), ("iris", 1.0),
                                         ("wine", 0.1), ("wine", 1.0)])
def test_logistic_regression_l1_matches_sklearn(classification, name, C):
    X, y = classification[name]
    model = LogisticRegression(C=C, penalty="l1", max_iter=20_000).fit(as_jax(X)[0], y)
    reference = sklearn_logistic(X, y, C, "l1")
    check_against_sklearn(model, reference, X, y, C, "l1")
    np.testing.assert_array_equal(np.asarray(model.coef_) == 0, reference.coef_ == 0)


def test_logistic_regression_sample_weight(classification):
    X, y = classification["breast_cancer"]
    weights = np.random.default_rng(4).uniform(0.0, 3.0, len(y))
    model = LogisticRegression(C=1.0, solver="newton").fit(as_jax(X)[0], y,
                                                          sample_weight=as_jax(weights)[0])
    reference = sklearn_logistic(X, y, 1.0, "l2", sample_weight=weights)
    check_against_sklearn(model, reference, X, y, 1.0, "l2", sample_weight=weights)


@pytest.fixture(params=[None, 4096], ids=["one_block", "blocks_of_4KiB"])
def row_blocks(request, monkeypatch):
    """The gradient and Hessian run over blocks of rows on the CPU: with 4 KiB blocks the
    data sets below span many blocks and end in a partial one."""
    if request.param is not None:
        monkeypatch.setattr("mlmath._linalg.ROW_BLOCK_BYTES", request.param)
    return request.param


def test_logistic_nll_value_and_gradients(classification, row_blocks):
    """The NLL against NumPy; its gradient in the parameters (the one-pass custom rule)
    against NumPy's closed form; and gradients in the parameters, the data and the weights
    against finite differences."""
    rng = np.random.default_rng(6)
    for name in ("breast_cancer_10", "wine_4"):
        X, y = classification[name]
        k = 1 if len(np.unique(y)) == 2 else len(np.unique(y))
        coef, intercept = rng.normal(size=(k, X.shape[1])) * 0.3, rng.normal(size=k)
        weights = rng.uniform(0.5, 2.0, len(y))
        logits = X @ coef.T + intercept
        if k == 1:
            p = scipy.special.expit(logits)
            nll = -(y[:, None] * np.log(p) + (1 - y[:, None]) * np.log1p(-p))[:, 0]
            residual = p - y[:, None]
        else:
            log_p = scipy.special.log_softmax(logits, axis=1)
            nll = -log_p[np.arange(len(y)), y]
            residual = np.exp(log_p) - np.eye(k)[y]
        residual = residual * weights[:, None]
        params = tuple(as_jax(coef, intercept))
        Xj, wj = as_jax(X, weights)
        value, (grad_coef, grad_intercept) = jax.value_and_grad(logistic_nll)(
            params, Xj, jnp.asarray(y), wj)
        assert_relative(value, np.sum(weights * nll), err_msg=name)
        assert_relative(grad_coef, residual.T @ X, err_msg=name)
        assert_relative(grad_intercept, residual.sum(axis=0), err_msg=name)
        rows = slice(0, 120)  # enough for several 4 KiB blocks, few finite differences
        labels = jnp.asarray(y[rows])
        nll = jax.jit(lambda params, X, w: logistic_nll(params, X, labels, w))  # noqa: B023
        check_gradient(nll, [params, Xj[rows], wj[rows]], argnums=(0, 1, 2))


def test_logistic_log_proba_against_scipy():
    """Binary: log expit of -z and z; multinomial: log_softmax; logits up to 1e4 stay exact."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 3)) * np.array([1.0, 10.0, 1e3])
    for k in (1, 4):
        arrays = as_jax(X, rng.normal(size=(k, 3)), rng.normal(size=k))
        Xr, coef, intercept = (np.asarray(a, np.float64) for a in arrays)  # the rounded values
        logits = Xr @ coef.T + intercept
        if k == 1:
            log_expit = scipy.special.log_expit
            expected = np.hstack([log_expit(-logits), log_expit(logits)])
        else:
            expected = scipy.special.log_softmax(logits, axis=1)
        actual = logistic_log_proba(*arrays)
        assert np.all(np.isfinite(np.asarray(actual)))
        # relative to the largest |log p| (~1e3): the rounding of the logits' dot products
        assert_relative(actual, expected, rtol=rtol_for(DEFAULT_FLOAT), err_msg=str(k))


def test_logistic_hessian_is_the_closed_form(classification, row_blocks):
    """``logistic_hessian`` against the Hessian written out in NumPy (binary and softmax)."""
    rng = np.random.default_rng(5)
    for name in ("breast_cancer_10", "wine_4"):
        X, y = classification[name]
        k = 1 if len(np.unique(y)) == 2 else len(np.unique(y))
        coef, intercept = rng.normal(size=(k, X.shape[1])) * 0.3, rng.normal(size=k)
        weights, C = rng.uniform(0.5, 2.0, len(y)), 0.7
        design = np.hstack([X, np.ones((len(y), 1))])
        logits = X @ coef.T + intercept
        if k == 1:
            p = scipy.special.expit(logits[:, 0])
            expected = C * design.T @ (design * (weights * p * (1 - p))[:, None])
            order = np.arange(X.shape[1] + 1)
        else:
            p = scipy.special.softmax(logits, axis=1)
            blocks = [[C * design.T @ (design * (weights * (p[:, a] * (a == b)
                                                              - p[:, a] * p[:, b]))[:, None])
                       for b in range(k)] for a in range(k)]
            expected = np.block(blocks)  # (class, feature-or-intercept) order
            d = X.shape[1]
            order = np.concatenate([(np.arange(k)[:, None] * (d + 1) + np.arange(d)).ravel(),
                                    np.arange(k) * (d + 1) + d])  # coef first, then intercepts
        expected = expected[np.ix_(order, order)]
        expected += np.diag(np.r_[np.ones(k * X.shape[1]), np.zeros(k)])  # the L2 penalty
        actual = logistic_hessian(as_jax(coef, intercept), *as_jax(X), jnp.asarray(y),
                                  *as_jax(weights), C, "l2")
        assert_relative(actual, expected, err_msg=name)


# ---------------------------------------------------------------------------------------------
# GaussianNB against scikit-learn


@pytest.mark.parametrize("variant", ["plain", "priors", "sample_weight"])
@pytest.mark.parametrize("name", ["iris_raw", "wine", "digits"])
def test_gaussian_nb_matches_sklearn(classification, name, variant):
    X, y = classification[name]
    num_classes = len(np.unique(y))
    # priors as scikit-learn users give them: a NumPy array
    priors = (np.arange(1, num_classes + 1) / np.arange(1, num_classes + 1).sum()
              if variant == "priors" else None)
    weights = np.random.default_rng(6).uniform(0.1, 2.0, len(y)) if (
        variant == "sample_weight") else None
    reference = naive_bayes.GaussianNB(priors=priors).fit(X, y, sample_weight=weights)
    model = GaussianNB(priors=priors).fit(as_jax(X)[0], y,
                                          sample_weight=None if weights is None
                                          else as_jax(weights)[0])
    assert model.classes_ == tuple(reference.classes_.tolist())
    assert_relative(model.theta_, reference.theta_, err_msg="theta_")
    assert_relative(model.var_, reference.var_, err_msg="var_")
    assert_close(model.epsilon_, reference.epsilon_, rtol=RTOL)
    assert_close(model.class_prior_, reference.class_prior_, rtol=RTOL)
    assert_close(model.class_count_, reference.class_count_, rtol=RTOL)
    X_jax = as_jax(X)[0]
    assert_close(model.predict_proba(X_jax), reference.predict_proba(X), rtol=RTOL)
    assert np.mean(np.asarray(model.predict(X_jax)) == reference.predict(X)) >= 0.99
    # the fitted model (priors included, held as static metadata) crosses jit
    assert_close(jax.jit(lambda m, X: m.predict_proba(X))(model, X_jax),
                 model.predict_proba(X_jax), rtol=10 * rtol_for(DEFAULT_FLOAT))


def test_gaussian_nb_var_smoothing(classification):
    X, y = classification["iris_raw"]
    reference = naive_bayes.GaussianNB(var_smoothing=0.1).fit(X, y)
    model = GaussianNB(var_smoothing=0.1).fit(as_jax(X)[0], y)
    assert_relative(model.var_, reference.var_)
    assert_close(model.predict_proba(as_jax(X)[0]), reference.predict_proba(X), rtol=RTOL)


# ---------------------------------------------------------------------------------------------
# the seed documents' equivalences, numerically


def test_least_squares_is_gaussian_maximum_likelihood(diabetes):
    """Maximizing ``sum log N(y; Xw + b, sigma^2)`` over w, b and sigma gives the least
    squares coefficients and ``sigma^2 = RSS / n``."""
    X, y = diabetes
    reference = linear_model.LinearRegression().fit(X, y)
    residual_scale = np.sqrt(np.mean((y - reference.predict(X)) ** 2))

    def log_likelihood(p, data):
        X, y = data
        return jnp.sum(Normal(X @ p["w"] + p["b"], p["scale"]).log_prob(y))

    X_jax, y_jax = as_jax(X, y)
    start = {"w": jnp.zeros(10, DEFAULT_FLOAT), "b": jnp.mean(y_jax),
             "scale": jnp.std(y_jax)}
    result = jax.jit(lambda X, y: optim.mle(
        log_likelihood, start, (X, y), method="newton",
        constraints={"w": None, "b": None, "scale": optim.positive}))(X_jax, y_jax)
    assert bool(result.converged)
    assert_relative(result.params["w"], reference.coef_)
    assert_relative(result.params["b"], reference.intercept_)
    assert_relative(result.params["scale"], residual_scale)
    fit, _, _ = least_squares(X_jax, y_jax)
    assert_relative(fit.coef, result.params["w"])


def test_ridge_is_map_with_a_gaussian_prior(diabetes):
    """``y ~ N(Xw + b, sigma^2)``, ``w ~ N(0, sigma^2 / alpha)``: the posterior mode is
    ridge's, whatever sigma."""
    X, y = diabetes
    alpha, sigma = 0.3, 10.0
    X_jax, y_jax = as_jax(X, y)

    def log_likelihood(p, data):
        X, y = data
        return jnp.sum(Normal(X @ p["w"] + p["b"], sigma).log_prob(y))

    def log_prior(p):
        return jnp.sum(Normal(0.0, sigma / np.sqrt(alpha)).log_prob(p["w"]))

    start = {"w": jnp.zeros(10, DEFAULT_FLOAT), "b": jnp.mean(y_jax)}
    result = jax.jit(lambda X, y: optim.map_estimate(log_likelihood, log_prior, start, (X, y),
                                                     method="newton"))(X_jax, y_jax)
    assert bool(result.converged)
    reference = linear_model.Ridge(alpha=alpha).fit(X, y)
    assert_relative(result.params["w"], reference.coef_)
    assert_relative(ridge(X_jax, y_jax, alpha).coef, result.params["w"])


def test_logistic_loss_is_bernoulli_and_categorical_nll(classification):
    rng = np.random.default_rng(8)
    for name in ("breast_cancer_10", "wine_4"):
        X, y = classification[name]
        k = 1 if len(np.unique(y)) == 2 else len(np.unique(y))
        coef, intercept = rng.normal(size=(k, X.shape[1])), rng.normal(size=k)
        weights = rng.uniform(0.0, 2.0, len(y))
        X_jax, coef_jax, intercept_jax, weights_jax = as_jax(X, coef, intercept, weights)
        nll = logistic_nll((coef_jax, intercept_jax), X_jax, jnp.asarray(y), weights_jax)
        logits = X_jax @ coef_jax.T + intercept_jax
        if k == 1:
            distribution_nll = -jnp.sum(weights_jax * Bernoulli(logits=logits[:, 0])
                                        .log_prob(jnp.asarray(y)))
            z = X @ coef[0] + intercept[0]
            expected = -weights @ scipy.stats.bernoulli.logpmf(y, scipy.special.expit(z))
        else:
            distribution_nll = -jnp.sum(weights_jax * Categorical(logits=logits)
                                        .log_prob(jnp.asarray(y)))
            expected = -weights @ scipy.special.log_softmax(X @ coef.T + intercept, axis=1)[
                np.arange(len(y)), y]
        assert_close(nll, expected, rtol=RTOL)
        assert_close(distribution_nll, expected, rtol=RTOL)
        # the objective is C times it plus the penalty
        objective = logistic_objective((coef_jax, intercept_jax), X_jax, jnp.asarray(y),
                                       weights_jax, 2.0, "l2")
        assert_close(objective, 2.0 * expected + 0.5 * np.sum(coef ** 2), rtol=RTOL)


# ---------------------------------------------------------------------------------------------
# the estimator contract


@pytest.fixture(scope="module")
def fitted(classification, diabetes):
    """One fitted model of each estimator (and its training data)."""
    X_reg, y_reg = as_jax(*diabetes)
    X_cls, y_cls = classification["iris"]
    X_cls = as_jax(X_cls)[0]
    return {
        "LinearRegression": (LinearRegression(), LinearRegression().fit(X_reg, y_reg), X_reg,
                             y_reg),
        "Ridge": (Ridge(alpha=1.0), Ridge(alpha=1.0).fit(X_reg, y_reg), X_reg, y_reg),
        "Lasso": (Lasso(alpha=0.1), Lasso(alpha=0.1).fit(X_reg, y_reg), X_reg, y_reg),
        "LogisticRegression": (LogisticRegression(), LogisticRegression().fit(X_cls, y_cls),
                               X_cls, y_cls),
        "GaussianNB": (GaussianNB(), GaussianNB().fit(X_cls, y_cls), X_cls, y_cls),
    }


ESTIMATORS = ["LinearRegression", "Ridge", "Lasso", "LogisticRegression", "GaussianNB"]
CLASSIFIERS = {"LogisticRegression", "GaussianNB"}


def _output(model, X):
    return model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_returns_a_new_estimator_and_leaves_the_original_unfitted(fitted, name):
    unfitted, model, X, y = fitted[name]
    assert model is not unfitted and type(model) is type(unfitted)
    assert model.is_fitted and not unfitted.is_fitted
    fitted_fields = [field.name for field in dataclasses.fields(model)
                     if field.name.endswith("_")]
    assert fitted_fields and all(getattr(unfitted, field) is None for field in fitted_fields)
    # fitting again gives the same model: fit is a function of its inputs
    again = unfitted.fit(X, y)
    for field in fitted_fields:
        if isinstance(getattr(model, field), jax.Array):
            assert_close(getattr(again, field), getattr(model, field), rtol=1e-12)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_using_an_unfitted_estimator_says_how_to_fit(fitted, name):
    unfitted, _, X, _ = fitted[name]
    methods = ["predict", "score"] + (["predict_proba", "predict_log_proba"]
                                      if name in CLASSIFIERS else [])
    for method in methods:
        args = (X, jnp.zeros(X.shape[0])) if method == "score" else (X,)
        with pytest.raises(NotFittedError, match=r"est = est\.fit\(X, y\)"):
            getattr(unfitted, method)(*args)
    assert issubclass(NotFittedError, ValueError)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fitted_estimators_cross_jit(fitted, name):
    _, model, X, _ = fitted[name]
    jitted = jax.jit(lambda m, X: _output(m, X))(model, X)
    # jit may fuse and reorder floating-point operations: a few ulps
    assert_close(jitted, _output(model, X), rtol=10 * rtol_for(DEFAULT_FLOAT))
    # numeric labels come back through jit too
    assert_close(jax.jit(lambda m, X: m.predict(X))(model, X), model.predict(X),
                 rtol=10 * rtol_for(DEFAULT_FLOAT))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fitted_estimators_round_trip_through_equinox_serialisation(fitted, name, tmp_path):
    _, model, X, y = fitted[name]
    path = tmp_path / f"{name}.eqx"
    eqx.tree_serialise_leaves(path, model)
    # a template of the same structure with different values: fitted to other data
    hyper_parameters = {field.name: getattr(model, field.name)
                        for field in dataclasses.fields(model) if not field.name.endswith("_")}
    template = type(model)(**hyper_parameters).fit(X * 2.0 + 1.0, y)
    assert not np.allclose(np.asarray(_output(template, X)), np.asarray(_output(model, X)))
    loaded = eqx.tree_deserialise_leaves(path, template)
    for field in dataclasses.fields(model):
        value = getattr(model, field.name)
        if isinstance(value, jax.Array):
            np.testing.assert_array_equal(np.asarray(getattr(loaded, field.name)),
                                          np.asarray(value))
        else:  # static fields (hyper-parameters, classes_) come from the template
            assert getattr(loaded, field.name) == value
    np.testing.assert_array_equal(np.asarray(_output(loaded, X)), np.asarray(_output(model, X)))


GRID = np.logspace(-2, 2, 16)


def test_vmap_over_a_grid_of_C_equals_separate_fits(classification):
    X, y = classification["iris"]
    X_jax = as_jax(X)[0]
    batched = jax.vmap(lambda c: LogisticRegression(C=c).fit(X_jax, y))(
        jnp.asarray(GRID, DEFAULT_FLOAT))
    assert batched.coef_.shape == (16, 3, 4)
    assert bool(jnp.all(batched.converged_))
    for index, C in enumerate(GRID):
        single = LogisticRegression(C=float(C)).fit(X_jax, y)
        assert_relative(batched.coef_[index], single.coef_, SAME_FIT_RTOL, err_msg=f"C={C}")
        assert_relative(batched.intercept_[index], single.intercept_, SAME_FIT_RTOL)
    # and each matches scikit-learn
    for index in (0, 15):
        reference = sklearn_logistic(X, y, GRID[index], "l2")
        assert_relative(batched.coef_[index], reference.coef_)


@pytest.mark.parametrize("estimator", [Ridge, Lasso])
def test_vmap_over_a_grid_of_alpha_equals_separate_fits(diabetes, estimator):
    X, y = as_jax(*diabetes)
    alphas = np.logspace(-3, 1, 16) if estimator is Ridge else np.logspace(-2, 0.5, 16)
    batched = jax.vmap(lambda a: estimator(alpha=a).fit(X, y))(jnp.asarray(alphas, X.dtype))
    assert batched.coef_.shape == (16, 10)
    for index, alpha in enumerate(alphas):
        single = estimator(alpha=float(alpha)).fit(X, y)
        assert_relative(batched.coef_[index], single.coef_, SAME_FIT_RTOL,
                        err_msg=f"alpha={alpha}")
        assert_relative(batched.intercept_[index], single.intercept_, SAME_FIT_RTOL)
    reference = getattr(linear_model, estimator.__name__)(
        alpha=alphas[5], **({"tol": 1e-12, "max_iter": 10**6} if estimator is Lasso else {})
    ).fit(*diabetes)
    assert_relative(batched.coef_[5], reference.coef_)


# ---------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("name", ESTIMATORS)
def test_bad_input_raises_a_clear_error(fitted, name):
    unfitted, model, X, y = fitted[name]
    X_np, y_np = np.asarray(X), np.asarray(y)
    with pytest.raises(ValueError, match=r"y must have shape"):
        unfitted.fit(X_np, y_np[:-1])
    for bad in (np.nan, np.inf):
        corrupted = X_np.copy()
        corrupted[3, 1] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            unfitted.fit(corrupted, y_np)
    with pytest.raises(ValueError, match="2-D"):
        unfitted.fit(X_np[:, 0], y_np)
    with pytest.raises(ValueError, match="features"):
        model.predict(X_np[:, :-1])
    with pytest.raises(TypeError, match="numeric"):
        unfitted.fit(X_np.astype(str), y_np)


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_a_single_class_is_rejected(fitted, name):
    unfitted, _, X, _ = fitted[name]
    with pytest.raises(ValueError, match="single class"):
        unfitted.fit(X, np.zeros(X.shape[0], int))


def test_bad_hyper_parameters_raise_at_construction():
    for alpha in (-1.0, np.nan):
        with pytest.raises(ValueError, match="alpha"):
            Ridge(alpha=alpha)
        with pytest.raises(ValueError, match="alpha"):
            Lasso(alpha=alpha)
    for C in (0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match="C must be"):
            LogisticRegression(C=C)
    with pytest.raises(ValueError, match="solver='fista'"):
        LogisticRegression(penalty="l1", solver="newton")
    with pytest.raises(ValueError, match="penalty"):
        LogisticRegression(penalty="elasticnet")
    with pytest.raises(ValueError, match="var_smoothing"):
        GaussianNB(var_smoothing=-1e-9)
    with pytest.raises(ValueError, match="priors"):
        GaussianNB(priors=(0.5, 0.6))
    with pytest.raises(ValueError, match="priors"):
        GaussianNB(priors=np.full((1, 2), 0.5))


def test_lasso_rejects_multi_output_y(diabetes):
    X, y = as_jax(*diabetes)
    with pytest.raises(ValueError, match="one-dimensional"):
        Lasso(alpha=0.1).fit(X, jnp.stack([y, y], axis=1))


def test_sample_weight_must_match_and_be_non_negative(fitted):
    unfitted, _, X, y = fitted["Ridge"]
    with pytest.raises(ValueError, match="sample_weight"):
        unfitted.fit(X, y, sample_weight=jnp.ones(X.shape[0] - 1))
    with pytest.raises(ValueError, match="sample_weight"):
        unfitted.fit(X, y, sample_weight=-jnp.ones(X.shape[0]))


# ---------------------------------------------------------------------------------------------
# string labels work like scikit-learn's classes_


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_string_labels(classification, name):
    X, y = classification["iris"]
    names = np.asarray(datasets.load_iris().target_names)[y]
    model = (LogisticRegression(C=1.0) if name == "LogisticRegression" else GaussianNB()).fit(
        as_jax(X)[0], names)
    reference = (sklearn_logistic(X, names, 1.0, "l2") if name == "LogisticRegression"
                 else naive_bayes.GaussianNB().fit(X, names))
    assert model.classes_ == tuple(reference.classes_.tolist()) == ("setosa", "versicolor",
                                                                      "virginica")
    predicted = model.predict(as_jax(X)[0])
    assert predicted.dtype.kind == "U"
    np.testing.assert_array_equal(predicted, reference.predict(X))
    assert_close(model.score(as_jax(X)[0], names), reference.score(X, names), rtol=RTOL)
