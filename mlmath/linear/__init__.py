"""Linear models: least squares, ridge, lasso, logistic regression, Gaussian naive Bayes.

Each estimator is a thin, validating wrapper around a pure function of the same model:

============================  ================================  ==============================
estimator                     pure function                     estimate
============================  ================================  ==============================
``LinearRegression``          :func:`least_squares`             Gaussian MLE
``Ridge``                     :func:`ridge`                     MAP, Gaussian prior
``Lasso``                     :func:`lasso`                     MAP, Laplace prior
``LogisticRegression``        :func:`logistic_regression`       Bernoulli/Categorical MLE or MAP
``GaussianNB``                :func:`gaussian_naive_bayes`      per-class Normal MLE + Bayes' rule
============================  ================================  ==============================
"""

from mlmath.linear._logistic import (
    LogisticFit,
    LogisticRegression,
    logistic_hessian,
    logistic_log_proba,
    logistic_logits,
    logistic_nll,
    logistic_objective,
    logistic_regression,
)
from mlmath.linear._naive_bayes import (
    GaussianNB,
    GaussianNBFit,
    gaussian_naive_bayes,
    gaussian_naive_bayes_log_proba,
)
from mlmath.linear._regression import (
    Lasso,
    LassoFit,
    LinearFit,
    LinearRegression,
    Ridge,
    lasso,
    lasso_duality_gap,
    least_squares,
    linear_predict,
    ridge,
)

__all__ = [
    "GaussianNB",
    "GaussianNBFit",
    "Lasso",
    "LassoFit",
    "LinearFit",
    "LinearRegression",
    "LogisticFit",
    "LogisticRegression",
    "Ridge",
    "gaussian_naive_bayes",
    "gaussian_naive_bayes_log_proba",
    "lasso",
    "lasso_duality_gap",
    "least_squares",
    "linear_predict",
    "logistic_hessian",
    "logistic_log_proba",
    "logistic_logits",
    "logistic_nll",
    "logistic_objective",
    "logistic_regression",
    "ridge",
]
