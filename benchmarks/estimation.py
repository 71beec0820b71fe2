"""Estimation benchmarks: fitting logistic regression and grids of models, against scikit-learn.

Float64 throughout (both sides), as the issue specifies. Each fit is checked before it is
timed: the penalized objective of mlmath's solution must be at least as low as
scikit-learn's (to 1e-9 relative), and the note printed with the results gives both
sides' distance to the optimum (computed by a tight Newton solve), so "faster" always
means "faster at no worse an optimum".
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from sklearn import datasets
from sklearn import linear_model as sk_linear
from sklearn.preprocessing import StandardScaler

from benchmarks._harness import Case
from mlmath import linear

_SYNTHETIC = {"tiny": (2_000, 20), "small": (50_000, 100), "medium": (200_000, 100),
              "large": (1_000_000, 100)}


def _objective(X, y, coef, intercept, C):
    """scikit-learn's L2 objective for binary or multinomial logistic regression (NumPy)."""
    coef, intercept = np.asarray(coef, np.float64), np.asarray(intercept, np.float64)
    logits = X @ coef.T + intercept
    if coef.shape[0] == 1:
        z = logits[:, 0]
        nll = np.sum(np.logaddexp(0.0, z) - y * z)
    else:
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1))
        nll = np.sum(log_norm - shifted[np.arange(len(y)), y])
    return C * nll + 0.5 * np.sum(coef * coef)


def _optimality_check(X, y, C, num_classes):
    optimum = None

    def check(output, model):
        nonlocal optimum
        if optimum is None:
            with jax.enable_x64(True):
                tight = linear.logistic_regression(
                    jnp.asarray(X), jnp.asarray(y), C, num_classes=num_classes,
                    solver="newton", max_steps=200, tol=1e-10 * len(y))
            optimum = _objective(X, y, tight.coef, tight.intercept, C)
        mine = _objective(X, y, output.coef_, output.intercept_, C)
        theirs = _objective(X, y, model.coef_, model.intercept_, C)
        if not mine <= theirs + 1e-9 * abs(theirs):
            raise AssertionError(f"mlmath's optimum {mine!r} is worse than sklearn's {theirs!r}")
        return (f"relative excess objective: mlmath {(mine - optimum) / abs(optimum):.1e}, "
                f"sklearn {(theirs - optimum) / abs(optimum):.1e}")

    return check


# scikit-learn's lbfgs stops when the largest gradient component of its objective, the mean
# loss plus |w|^2 / (2 C n), is at most `tol`; that objective is mlmath's (C times the summed
# loss plus |w|^2 / 2) over C n. mlmath's tolerance bounds the gradient's 2-norm, which is at
# least its largest component: `tol * C * n` is the same stopping rule, or a stricter one.
_SKLEARN_TOL = 1e-4


def _sklearn_fit(C, max_iter, solver="lbfgs"):
    def fit(X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sk_linear.LogisticRegression(C=C, solver=solver, max_iter=max_iter,
                                                tol=_SKLEARN_TOL).fit(X, y)

    return fit


def _mlmath_fit(C, solver, n):
    tol = _SKLEARN_TOL * C * n

    def fit(X, y):
        model = linear.LogisticRegression(C=C, solver=solver, tol=tol).fit(X, y)
        return jax.block_until_ready(model)

    return fit


def logistic_cases(size: str, rng: np.random.Generator) -> list[Case]:
    """Single fits at scikit-learn's stopping rule: L-BFGS against L-BFGS and Newton
    against newton-cholesky, on a synthetic binary problem and on raw ``digits``."""
    n, d = _SYNTHETIC[size]
    X = rng.standard_normal((n, d))
    true_coef = rng.standard_normal(d) / np.sqrt(d) * 3.0
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ true_coef + 0.5)))).astype(np.int32)
    C = 1.0
    synthetic = f"binary n={n} d={d} f64"
    check_synthetic = _optimality_check(X, y, C, 2)

    digits_X, digits_y = datasets.load_digits(return_X_y=True)
    if size == "tiny":
        digits_X, digits_y = digits_X[:300], digits_y[:300]
    digits_X = digits_X.astype(np.float64)
    digits_y = digits_y.astype(np.int32)
    classes = len(np.unique(digits_y))
    digits = f"digits {digits_X.shape[0]}x64 k={classes} f64"
    check_digits = _optimality_check(digits_X, digits_y, C, classes)
    m = digits_X.shape[0]

    # The estimators are timed as users call them (input checks and label encoding
    # included, as in scikit-learn's fit), not as the bare jitted solver.
    same = "LogisticRegression.fit at sklearn's stopping rule"
    return [
        Case("logreg_fit", f"{synthetic}, lbfgs", _mlmath_fit(C, "lbfgs", n), (X, y),
             "sklearn lbfgs", _sklearn_fit(C, 1000), (X, y), check=check_synthetic,
             x64=True, jit=False, notes=same),
        Case("logreg_fit", f"{synthetic}, newton", _mlmath_fit(C, "newton", n), (X, y),
             "sklearn newton-cholesky", _sklearn_fit(C, 1000, "newton-cholesky"), (X, y),
             check=check_synthetic, x64=True, jit=False, notes=same),
        Case("logreg_fit", f"{digits}, newton", _mlmath_fit(C, "newton", m),
             (digits_X, digits_y), "sklearn lbfgs", _sklearn_fit(C, 10_000),
             (digits_X, digits_y), check=check_digits, x64=True, jit=False,
             notes=f"{same}; sklearn given max_iter=10000"),
        Case("logreg_fit", f"{digits}, newton", _mlmath_fit(C, "newton", m),
             (digits_X, digits_y), "sklearn newton-cholesky",
             _sklearn_fit(C, 1000, "newton-cholesky"), (digits_X, digits_y),
             check=check_digits, x64=True, jit=False, notes=same),
    ]


def grid_cases(size: str, rng: np.random.Generator) -> list[Case]:
    """64 models over a grid of the regularization strength: one vmap against 64 fits."""
    count = 8 if size == "tiny" else 64
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = y.astype(np.int32)
    Cs = np.logspace(-3, 2, count)

    def fit_grid(X, y, Cs):
        return jax.vmap(lambda C: linear.logistic_regression(X, y, C, num_classes=2))(Cs)

    def sklearn_grid(X, y, Cs):
        return [_sklearn_fit(float(C), 1000)(X, y) for C in Cs]

    def check_grid(output, models):
        worst = 0.0
        for index, model in enumerate(models):
            mine = _objective(X, y, output.coef[index], output.intercept[index], Cs[index])
            theirs = _objective(X, y, model.coef_, model.intercept_, Cs[index])
            if not mine <= theirs + 1e-9 * abs(theirs):
                raise AssertionError(f"model {index}: mlmath objective {mine} > sklearn {theirs}")
            worst = max(worst, (theirs - mine) / abs(theirs))
        return f"sklearn's objectives exceed mlmath's by up to {worst:.1e} relative"

    diabetes_X, diabetes_y = datasets.load_diabetes(return_X_y=True)
    alphas = np.logspace(-4, 2, count)

    def ridge_grid(X, y, alphas):
        return jax.vmap(lambda alpha: linear.ridge(X, y, alpha))(alphas)

    def sklearn_ridge_grid(X, y, alphas):
        return [sk_linear.Ridge(alpha=float(alpha)).fit(X, y) for alpha in alphas]

    def check_ridge(output, models):
        coef = np.asarray(output.coef)
        expected = np.stack([m.coef_ for m in models])
        error = np.max(np.abs(coef - expected)) / np.max(np.abs(expected))
        if not error < 1e-8:
            raise AssertionError(f"ridge grid differs from sklearn: {error:.1e}")
        return f"coefficients agree to {error:.0e}"

    return [
        Case("logreg_grid", f"{count} C values, breast_cancer f64", fit_grid, (X, y, Cs),
             f"{count} sklearn fits", sklearn_grid, (X, y, Cs), check=check_grid, x64=True,
             notes="one jax.vmap"),
        Case("ridge_grid", f"{count} alphas, diabetes f64", ridge_grid,
             (diabetes_X, diabetes_y, alphas), f"{count} sklearn fits", sklearn_ridge_grid,
             (diabetes_X, diabetes_y, alphas), check=check_ridge, x64=True,
             notes="one jax.vmap: one SVD shared by every alpha"),
    ]
