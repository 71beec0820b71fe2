"""The estimators at their edges: empty classes, lengths, extreme scales, types, options.

Each check runs on a tiny data set (24 rows, 3 features) and against a closed form or
scikit-learn in float64:

* a class without data (``classes=`` names it, or its weights are all zero, as in a
  bootstrap fold under ``vmap``) has probability 0, never NaN;
* every method taking ``X`` and ``y`` checks that their lengths match;
* features at ``1e-30 .. 1e30`` fit as accurately as at unit scale, through the closed
  relations ``LinearRegression: coef(sX) = coef(X) / s``, ``Ridge(a): coef(sX) =
  Ridge(a / s^2) coef(X) / s``, ``Lasso(a): coef(sX) = Lasso(a / s) coef(X) / s``, and
  Gaussian naive Bayes's probabilities are scale-free;
* half precision, pandas' nullable dtypes and every hyper-parameter are checked;
* ``converged_`` says whether the fit reached its optimum.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import linear_model, naive_bayes

from mlmath._estimator import InvalidParameterError, check_features
from mlmath._validation import aligned_host_copy
from mlmath.linear import GaussianNB, Lasso, LinearRegression, LogisticRegression, Ridge
from tests.conftest import assert_close, rtol_for

N, D = 24, 3


def _data(dtype, seed=0):
    """Features (as ``dtype`` and as the same numbers in float64), a target, 3-class labels."""
    rng = np.random.default_rng(seed)
    X64 = np.array(jnp.asarray(rng.normal(size=(N, D)), dtype), np.float64)
    y = X64 @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.2 * rng.normal(size=N)
    labels = np.arange(N) % 3
    X64[labels == 1] += 1.0
    X64 = np.asarray(jnp.asarray(X64, dtype), np.float64)
    return jnp.asarray(X64, dtype), X64, np.asarray(jnp.asarray(y, dtype), np.float64), labels


def _relative_error(actual, desired):
    actual, desired = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    return float(np.max(np.abs(actual - desired)) / np.max(np.abs(desired)))


# ---------------------------------------------------------------------------------------
# (a) a class without data has probability zero


def test_gaussian_nb_class_without_samples_has_probability_zero(dtype):
    X, X64, _, labels = _data(dtype)
    two = labels % 2  # classes 0 and 1 only
    model = GaussianNB(classes=(0, 1, 2)).fit(X, two)
    proba = np.asarray(model.predict_proba(X))
    assert np.all(np.isfinite(proba)) and np.all(proba[:, 2] == 0.0)
    assert set(np.asarray(model.predict(X)).tolist()) <= {0, 1}
    reference = naive_bayes.GaussianNB().fit(X64, two)
    assert_close(proba[:, :2], reference.predict_proba(X64), dtype, rtol=10 * rtol_for(dtype))
    assert float(model.class_prior_[2]) == 0.0 and bool(model.converged_)
    # given priors are renormalized over the classes that have data
    with_priors = GaussianNB(classes=(0, 1, 2), priors=(0.2, 0.3, 0.5)).fit(X, two)
    reference = naive_bayes.GaussianNB(priors=[0.4, 0.6]).fit(X64, two)
    proba = np.asarray(with_priors.predict_proba(X))
    assert np.all(proba[:, 2] == 0.0)
    assert_close(proba[:, :2], reference.predict_proba(X64), dtype, rtol=10 * rtol_for(dtype))


def test_gaussian_nb_zero_weight_class_under_vmap(dtype):
    """Bootstrap-style weight vectors, one of which gives a class zero total weight: the fit
    is traced (vmap), so nothing is checked on the host, and still no NaN."""
    X, X64, _, labels = _data(dtype)
    weights = np.ones((3, N))
    weights[0, labels == 2] = 0.0  # class 2 empty
    weights[1, labels == 0] = 0.0  # class 0 empty
    weights[2] = np.random.default_rng(1).integers(0, 3, N)  # a bootstrap count vector
    weights[2, labels == 1] = 0.0

    def fit_and_predict(w):
        model = GaussianNB(classes=(0, 1, 2)).fit(X, labels, sample_weight=w)
        return model.predict_proba(X), model.class_prior_

    proba, prior = jax.vmap(fit_and_predict)(jnp.asarray(weights, dtype))
    proba, prior = np.asarray(proba), np.asarray(prior)
    assert np.all(np.isfinite(proba))
    for row, empty in enumerate((2, 0, 1)):
        assert np.all(proba[row, :, empty] == 0.0) and prior[row, empty] == 0.0
        keep = weights[row] > 0
        others = [k for k in range(3) if k != empty]
        # the same epsilon (var_smoothing times the largest variance of all of X's rows)
        smoothing = 1e-9 * np.var(X64, axis=0).max() / np.var(X64[keep], axis=0).max()
        reference = naive_bayes.GaussianNB(var_smoothing=smoothing).fit(
            X64[keep], labels[keep], sample_weight=weights[row, keep])
        assert_close(proba[row][:, others], reference.predict_proba(X64), dtype,
                     rtol=10 * rtol_for(dtype), err_msg=f"weights {row}")


# ---------------------------------------------------------------------------------------
# (b) X and y must have the same length, in every method that takes both


@pytest.fixture(scope="module")
def fitted():
    X, _, y, labels = _data(jnp.result_type(float))
    return {
        "LinearRegression": (LinearRegression().fit(X, y), X, y),
        "Ridge": (Ridge().fit(X, y), X, y),
        "Lasso": (Lasso(alpha=0.01).fit(X, y), X, y),
        "LogisticRegression": (LogisticRegression().fit(X, labels), X, labels),
        "GaussianNB": (GaussianNB().fit(X, labels), X, labels),
    }


ESTIMATORS = ["LinearRegression", "Ridge", "Lasso", "LogisticRegression", "GaussianNB"]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_methods_taking_X_and_y_check_their_lengths(fitted, name):
    model, X, y = fitted[name]
    both = rf"\({N},\).*\(1,\)"  # the length X implies and the one y has
    with pytest.raises(ValueError, match=both):
        model.score(X, y[:1])
    with pytest.raises(ValueError, match=both):
        model.score(np.asarray(X), jnp.asarray(y[:1]))
    with pytest.raises(ValueError, match=both):
        type(model)().fit(X, y[:1])
    with pytest.raises(ValueError, match=rf"sample_weight.*\({N},\).*\(1,\)"):
        type(model)().fit(X, y, sample_weight=np.ones(1))


# ---------------------------------------------------------------------------------------
# (c) extreme feature scales: the closed relations to the unit-scale fit, and scikit-learn

SCALES = [1e-30, 1e-20, 1e20, 1e30]  # all representable in float32 (and their products
# with the data); their squares are not, which is what the rescaling is about


def _sklearn(estimator, X64, y, **options):
    return getattr(linear_model, estimator)(**options).fit(X64, y)


@pytest.mark.parametrize("scale", SCALES)
def test_linear_regression_at_extreme_scales(dtype, scale):
    X, X64, y, _ = _data(dtype)
    unit = LinearRegression().fit(X, y)
    scaled = LinearRegression().fit(X * scale, y)
    rtol = 10 * rtol_for(dtype)
    assert _relative_error(np.asarray(scaled.coef_) * scale, unit.coef_) <= rtol
    assert_close(scaled.intercept_, unit.intercept_, dtype, rtol=rtol)
    reference = _sklearn("LinearRegression", X64 * scale, y)
    assert _relative_error(np.asarray(scaled.coef_) * scale, reference.coef_ * scale) <= rtol
    assert int(scaled.rank_) == D and bool(scaled.converged_)


# Ridge(a).fit(sX) has Ridge(a / s^2).fit(X)'s coefficients over s. Each scale is paired
# with a unit-scale alpha for which a = alpha s^2 is a normal float32 number too.
RIDGE_CASES = [(1e-30, 1e23), (1e-20, 1e3), (1e20, 1e-2), (1e30, 1e-22)]


@pytest.mark.parametrize(("scale", "unit_alpha"), RIDGE_CASES)
def test_ridge_at_extreme_scales(dtype, scale, unit_alpha):
    X, X64, y, _ = _data(dtype)
    alpha = unit_alpha * scale**2
    scaled = Ridge(alpha=alpha).fit(X * scale, y)
    unit = Ridge(alpha=unit_alpha).fit(X, y)
    rtol = 10 * rtol_for(dtype)
    assert _relative_error(np.asarray(scaled.coef_) * scale, unit.coef_) <= rtol
    reference = _sklearn("Ridge", X64 * scale, y, alpha=alpha)
    assert _relative_error(np.asarray(scaled.coef_) * scale, reference.coef_ * scale) <= rtol
    assert_close(scaled.intercept_, reference.intercept_, dtype, rtol=rtol)
    assert bool(scaled.converged_)


@pytest.mark.parametrize("scale", [1e-20, 1e20])
def test_ridge_with_unit_alpha_at_extreme_scales_matches_sklearn(dtype, scale):
    """The issue's case: alpha = 1 at 1e20 is (nearly) least squares, not zero; at 1e-20
    it shrinks the coefficients to about s X^T y / alpha, small but not zero."""
    X, X64, y, _ = _data(dtype)
    scaled = Ridge().fit(X * scale, y)
    reference = _sklearn("Ridge", X64 * scale, y, alpha=1.0)
    assert np.all(np.asarray(scaled.coef_) != 0)
    assert _relative_error(scaled.coef_, reference.coef_) <= 10 * rtol_for(dtype)


@pytest.mark.parametrize("scale", SCALES)
def test_lasso_at_extreme_scales(dtype, scale):
    """Lasso(a).fit(sX) is Lasso(a / s).fit(X) over s: Lasso(a s).fit(sX).coef_ s is the
    unit-scale Lasso(a).fit(X).coef_ (alpha multiplies |w|_1, which scales as 1 / s)."""
    X, X64, y, _ = _data(dtype)
    alpha = 0.1
    unit = Lasso(alpha=alpha).fit(X, y)
    scaled = Lasso(alpha=alpha * scale).fit(X * scale, y)
    rtol = 10 * rtol_for(dtype)
    assert _relative_error(np.asarray(scaled.coef_) * scale, unit.coef_) <= rtol
    assert_close(scaled.intercept_, unit.intercept_, dtype, rtol=rtol)
    assert bool(scaled.converged_)
    reference = _sklearn("Lasso", X64 * scale, y, alpha=alpha * scale, tol=1e-12,
                         max_iter=10**5)
    assert _relative_error(np.asarray(scaled.coef_) * scale, reference.coef_ * scale) <= rtol


@pytest.mark.parametrize("scale", [1e-20, 1e20])
def test_lasso_with_fixed_alpha_at_extreme_scales_matches_sklearn(dtype, scale):
    """The issue's case, Lasso(alpha=0.1) on 1e-20 X: the penalty is then 1e19 at unit
    scale, every coefficient is exactly zero (not NaN), as scikit-learn's. On 1e20 X it is
    1e-21 at unit scale: least squares to 20 digits (the reference; scikit-learn's
    coordinate descent stops at a duality gap of 0.5 at that scale)."""
    X, X64, y, _ = _data(dtype)
    scaled = Lasso(alpha=0.1).fit(X * scale, y)
    coef = np.asarray(scaled.coef_)
    assert np.all(np.isfinite(coef)) and bool(scaled.converged_)
    if scale < 1:
        reference = _sklearn("Lasso", X64 * scale, y, alpha=0.1, tol=1e-12, max_iter=10**5)
        assert np.all(coef == 0) and np.all(reference.coef_ == 0)
    else:
        reference = _sklearn("LinearRegression", X64 * scale, y)
        assert _relative_error(coef, reference.coef_) <= 10 * rtol_for(dtype)


@pytest.mark.parametrize("xp", [jnp, np], ids=["jax", "numpy"])
def test_power_of_two_scale_and_the_logistic_fit_scale(dtype, xp):
    from mlmath.linear._logistic import fit_scale
    from mlmath.linear._regression import power_of_two_scale

    X = xp.asarray(np.array([[3e-25, 0.0, -5.0], [-1e-25, 0.0, 6.0]]), dtype=dtype)
    scale = np.asarray(power_of_two_scale(X, xp=xp), np.float64)
    columns = np.asarray(power_of_two_scale(X, axis=0, xp=xp), np.float64)
    for s, m in [(scale, 6.0)] + list(zip(columns, [3e-25, 0.0, 6.0], strict=True)):
        if m == 0:
            assert s == 1.0
        else:  # a power of two in (m / 2, m]
            assert np.log2(s) == np.round(np.log2(s)) and m / 2 < s <= m * (1 + 1e-6)
    # moderate data: no rescaling, C unchanged; extreme data: C s^p
    s, C_fit, ok = fit_scale(X, xp.asarray(1.5, dtype=dtype), 2, xp=xp)
    assert float(s) == 1.0 and float(C_fit) == 1.5 and bool(ok)
    tiny = X[:, :1]
    s, C_fit, ok = fit_scale(tiny, xp.asarray(1e20, dtype=dtype), 1, xp=xp)
    assert_close(float(C_fit), 1e20 * float(s), rtol=1e-7)
    assert float(s) == np.asarray(power_of_two_scale(tiny, xp=xp)) and bool(ok)
    # L2 at 3e-25: 1e20 s^2 is about 3e-30, within 2^40 of float32's underflow; float64 holds it
    _, _, ok = fit_scale(tiny, xp.asarray(1e20, dtype=dtype), 2, xp=xp)
    assert bool(ok) == (dtype == jnp.float64)
    assert bool(fit_scale(tiny, xp.asarray(1e20, dtype=dtype), 0, xp=xp)[2])


# LogisticRegression(C).fit(sX) has LogisticRegression(C s^p).fit(X)'s coefficients over s,
# p = 2 for "l2", 1 for "l1", 0 without a penalty. Each scale's C makes C s^p = 1 (the l1
# scales are those whose C is a normal float32 number).
LOGISTIC_CASES = [("l2", 1e-15), ("l2", 1e15), ("l1", 1e-30), ("l1", 1e30),
                  (None, 1e-30), (None, 1e30)]


@pytest.mark.parametrize(("penalty", "scale"), LOGISTIC_CASES)
def test_logistic_regression_at_extreme_scales(dtype, penalty, scale):
    """Features of extreme magnitude are fitted at unit scale: the same model as the
    unit-scale fit of the same problem (before, 1e20 X took 0 steps and returned zeros,
    1e-20 X stopped after 4 with a third of the labels right)."""
    X, _, _, labels = _data(dtype)
    power = {"l2": 2, "l1": 1, None: 0}[penalty]
    options = dict(penalty=penalty, solver="fista" if penalty == "l1" else "auto",
                   max_iter=200_000 if penalty == "l1" else None)
    unit = LogisticRegression(**options).fit(X, labels)
    scaled = LogisticRegression(C=scale ** -power, **options).fit(X * scale, labels)
    assert bool(unit.converged_) and bool(scaled.converged_)
    rtol = 10 * rtol_for(dtype)
    assert _relative_error(np.asarray(scaled.coef_) * scale, unit.coef_) <= rtol
    assert _relative_error(scaled.intercept_, unit.intercept_) <= rtol
    assert_close(scaled.predict_proba(X * scale), unit.predict_proba(X), dtype, rtol=rtol)


def test_logistic_regression_says_when_the_penalty_is_not_representable(dtype):
    """L2 at 1e20 with C = 1 weighs the likelihood about 1e42 times the penalty at unit
    scale: beyond float32, a clear error; float64 fits it."""
    X, _, _, labels = _data(dtype)
    if dtype == jnp.float32:
        with pytest.raises(ValueError, match=r"magnitude .*e\+20.*penalty='l2'.*C=1\b"):
            LogisticRegression().fit(X * 1e20, labels)
        with pytest.raises(ValueError, match=r"magnitude .*e-20.*penalty='l1'"):
            LogisticRegression(penalty="l1", C=1e-30).fit(X * 1e-20, labels)
    else:
        model = LogisticRegression().fit(X * 1e20, labels)
        assert bool(model.converged_)
        assert np.all(np.isfinite(np.asarray(model.coef_)))
    # unpenalized fits have no such limit
    assert bool(LogisticRegression(penalty=None).fit(X * 1e20, labels).converged_)


@pytest.mark.parametrize("scale", SCALES)
def test_gaussian_nb_at_extreme_scales(dtype, scale):
    X, X64, _, labels = _data(dtype)
    unit = GaussianNB().fit(X, labels)
    scaled = GaussianNB().fit(X * scale, labels)
    rtol = 10 * rtol_for(dtype)
    proba = scaled.predict_proba(X * scale)
    assert np.all(np.isfinite(np.asarray(proba)))
    assert_close(proba, unit.predict_proba(X), dtype, rtol=rtol)
    assert _relative_error(np.asarray(scaled.theta_) / scale, unit.theta_) <= rtol
    assert_close(np.asarray(scaled.log_var_) - 2 * np.log(scale), unit.log_var_, dtype,
                 rtol=rtol)
    reference = naive_bayes.GaussianNB().fit(X64 * scale, labels)
    assert_close(proba, reference.predict_proba(X64 * scale), dtype, rtol=rtol)
    assert_close(np.asarray(scaled.log_var_), np.log(reference.var_), dtype, rtol=rtol)


# ---------------------------------------------------------------------------------------
# (e) dtypes and containers


HALF = [jnp.float16, jnp.bfloat16]


@pytest.mark.parametrize("half", HALF, ids=["float16", "bfloat16"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_half_precision_input_is_computed_in_the_default_float(fitted, name, half):
    """Half precision (NumPy or JAX arrays) is promoted in every method: the results are
    those of the same (rounded) numbers in the default float."""
    model, X, y = fitted[name]
    X_half = jnp.asarray(X, half)
    X_rounded = jnp.asarray(X_half, X.dtype)
    regressor = name in ("LinearRegression", "Ridge", "Lasso")
    y_half = jnp.asarray(y, half) if regressor else y
    y_rounded = jnp.asarray(y_half, X.dtype) if regressor else y
    weights = jnp.asarray(np.linspace(0.5, 1.5, N), half)
    for container in (lambda a: a, np.asarray):
        half_fit = type(model)().fit(container(X_half), container(y_half),
                                     sample_weight=container(weights))
        plain_fit = type(model)().fit(X_rounded, y_rounded,
                                      sample_weight=jnp.asarray(weights, X.dtype))
        methods = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
        for method in methods:
            if hasattr(half_fit, method):
                actual = getattr(half_fit, method)(container(X_half))
                assert actual.dtype != half
                assert_close(actual, getattr(plain_fit, method)(X_rounded), X.dtype,
                             rtol=10 * rtol_for(X.dtype), err_msg=method)
        assert_close(half_fit.score(container(X_half), container(y_half)),
                     plain_fit.score(X_rounded, y_rounded), X.dtype, rtol=10 * rtol_for(X.dtype))


def test_pandas_nullable_dtypes(fitted):
    pd = pytest.importorskip("pandas")
    model, X, y = fitted["Ridge"]
    frame = pd.DataFrame({f"x{j}": pd.array(np.asarray(X[:, j], np.float64), dtype="Float64")
                          for j in range(D)})
    target = pd.Series(pd.array(np.asarray(y, np.float64), dtype="Float64"))
    from_pandas = Ridge().fit(frame, target)
    assert_close(from_pandas.coef_, Ridge().fit(np.asarray(X, np.float64), y).coef_,
                 X.dtype, rtol=10 * rtol_for(X.dtype))
    assert_close(from_pandas.predict(frame), model.predict(X), X.dtype,
                 rtol=10 * rtol_for(X.dtype))
    classifier, _, labels = fitted["GaussianNB"]
    codes = pd.Series(pd.array(labels, dtype="Int64"))
    assert_close(GaussianNB().fit(frame, codes).predict_proba(frame),
                 classifier.predict_proba(X), X.dtype, rtol=10 * rtol_for(X.dtype))
    assert float(GaussianNB().fit(frame, codes).score(frame, codes)) == float(
        classifier.score(X, labels))
    missing = frame.copy()
    missing.iloc[3, 1] = pd.NA
    with pytest.raises(ValueError, match=r"X has missing values \(pandas NA, first at row 3"):
        Ridge().fit(missing, target)
    with pytest.raises(ValueError, match="y has missing values"):
        GaussianNB().fit(frame, pd.Series(pd.array([None] + labels[1:].tolist(),
                                                   dtype="Int64")))


# ---------------------------------------------------------------------------------------
# (e) hyper-parameters: validated at construction, naming the parameter, the value and
# what is expected

BAD_HYPER_PARAMETERS = [
    # (estimator, parameter, bad value, expectation in the message)
    *[(name, "fit_intercept", value, "True or False")
      for name in ESTIMATORS if name != "GaussianNB" for value in ("no", 1, None)],
    *[(name, "alpha", value, "finite and >= 0")
      for name in ("Ridge", "Lasso") for value in (-1.0, np.nan, np.inf)],
    *[(name, "alpha", value, "real number") for name in ("Ridge", "Lasso")
      for value in ("1.0", True, None, 1j)],
    ("Lasso", "max_iter", 0, "int >= 1"), ("Lasso", "max_iter", -1, "int >= 1"),
    ("Lasso", "max_iter", 1.5, "int >= 1"), ("Lasso", "max_iter", "5", "int >= 1"),
    ("Lasso", "max_iter", True, "int >= 1"),
    *[(name, "tol", value, "None or a finite number >= 0")
      for name in ("Lasso", "LogisticRegression") for value in ("a", -1, np.nan, np.inf, [1e-3])],
    *[("LogisticRegression", "C", value, "finite and > 0") for value in (0.0, -1.0, np.inf)],
    *[("LogisticRegression", "C", value, "real number") for value in ("1.0", None, True)],
    ("LogisticRegression", "penalty", "elasticnet", "one of"),
    ("LogisticRegression", "penalty", 1, "one of"),
    ("LogisticRegression", "penalty", ["l2"], "one of"),
    ("LogisticRegression", "solver", "sgd", "one of"),
    *[("LogisticRegression", "max_iter", value, "int >= 1") for value in (0, -1, 1.5, "10")],
    *[(name, "classes", value, "classes must")
      for name in ("LogisticRegression", "GaussianNB")
      for value in ("ab", (1,), (1, 1), ({}, 2), 3)],
    ("GaussianNB", "var_smoothing", -1e-9, "finite and >= 0"),
    ("GaussianNB", "var_smoothing", np.nan, "finite and >= 0"),
    ("GaussianNB", "var_smoothing", "a", "real number"),
    ("GaussianNB", "priors", (0.5, 0.6), "sum to 1"),
    ("GaussianNB", "priors", ((0.5, 0.5),), "one probability per class"),
    ("GaussianNB", "priors", (0.5, "a"), "one probability per class"),
    ("GaussianNB", "priors", "ab", "one probability per class"),
]
CONSTRUCTORS = {"LinearRegression": LinearRegression, "Ridge": Ridge, "Lasso": Lasso,
                "LogisticRegression": LogisticRegression, "GaussianNB": GaussianNB}


@pytest.mark.parametrize(("name", "parameter", "value", "expected"), BAD_HYPER_PARAMETERS,
                         ids=[f"{n}-{p}-{v!r}" for n, p, v, _ in BAD_HYPER_PARAMETERS])
def test_bad_hyper_parameters_are_rejected_at_construction(name, parameter, value, expected):
    with pytest.raises((ValueError, TypeError)) as raised:
        CONSTRUCTORS[name](**{parameter: value})
    message = str(raised.value)
    assert parameter in message and expected in message, message
    assert "got" in message, message
    assert isinstance(raised.value, ValueError)  # as every boundary error (sklearn's too)


def test_good_hyper_parameters_are_accepted():
    """Python and NumPy numbers, JAX scalars, zero where it is allowed."""
    Ridge(alpha=0)
    Ridge(alpha=np.float32(2.0), fit_intercept=np.True_)
    Lasso(alpha=jnp.asarray(0.5), max_iter=np.int64(10), tol=0)
    LogisticRegression(C=2, tol=1e-6, max_iter=5, classes=["a", "b"], penalty=None)
    assert LogisticRegression(classes=np.array([3, 1])).classes == (3, 1)
    GaussianNB(var_smoothing=0.0, priors=np.array([0.25, 0.75]), classes=(True, False))
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


@pytest.mark.parametrize(("name", "parameter"), [
    ("LogisticRegression", "C"), ("Ridge", "alpha"), ("Lasso", "alpha"),
    ("GaussianNB", "var_smoothing")])
def test_an_array_of_a_hyper_parameter_needs_vmap(fitted, name, parameter):
    _, X, y = fitted[name]
    estimator = CONSTRUCTORS[name](**{parameter: [1.0, 2.0]})  # a grid is a valid leaf
    with pytest.raises(ValueError, match=rf"{parameter} has shape \(2,\).*jax\.vmap"):
        estimator.fit(X, y)


# ---------------------------------------------------------------------------------------
# (f) converged_ and n_iter_ are honest


def test_closed_forms_report_convergence(fitted):
    for name in ("LinearRegression", "Ridge", "GaussianNB"):
        model = fitted[name][0]
        assert bool(model.converged_) and int(model.n_iter_) == 0, name


def test_an_iteration_limit_reports_no_convergence(fitted):
    _, X, y = fitted["Lasso"]
    X_correlated = X.at[:, 1].set(X[:, 0] + 0.05 * X[:, 1])
    short = Lasso(alpha=0.01, max_iter=1).fit(X_correlated, y)
    full = Lasso(alpha=0.01).fit(X_correlated, y)
    assert not bool(short.converged_) and int(short.n_iter_) == 1
    assert bool(full.converged_) and float(full.dual_gap_) < float(short.dual_gap_)
    _, X, labels = fitted["LogisticRegression"]
    short = LogisticRegression(max_iter=1).fit(X, labels)
    assert not bool(short.converged_) and int(short.n_iter_) == 1
    assert bool(fitted["LogisticRegression"][0].converged_)


# ---------------------------------------------------------------------------------------------
# Host input: one NumPy copy, aligned, then on the device without another


def test_host_features_are_copied_once_into_an_aligned_buffer_the_estimator_owns():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(300, 7))[:, 1:6]  # float64, not contiguous
    for dtype in (np.float32, np.float64):
        copy = aligned_host_copy(source, dtype)
        assert copy.dtype == dtype and copy.shape == source.shape
        assert copy.ctypes.data % 64 == 0 and copy.flags.c_contiguous
        np.testing.assert_array_equal(copy, source.astype(dtype))
        assert not np.shares_memory(copy, source)
    X = check_features(source, "Ridge")
    expected = np.array(source, X.dtype)  # a copy
    source[:] = 0.0  # the caller's array changes afterwards: the device array does not
    np.testing.assert_array_equal(np.asarray(X), expected)
    # integers become the default float, as before
    assert check_features(np.arange(6).reshape(3, 2), "Ridge").dtype == jnp.result_type(float)


def test_host_features_that_overflow_the_float_dtype_are_rejected():
    X = np.ones((4, 2))
    X[2, 1] = 1e300  # finite in float64, inf in float32
    if jax.config.jax_enable_x64:
        Ridge().fit(X, np.arange(4.0))
    else:
        with pytest.raises(ValueError, match=r"NaN or inf \(first at row 2, column 1\)"):
            Ridge().fit(X, np.arange(4.0))
