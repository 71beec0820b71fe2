"""Gaussian naive Bayes: a generative classifier fitted by per-class Normal maximum likelihood."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from mlmath._estimator import (
    Classifier,
    check_features,
    check_n_features,
    check_positive,
    check_sample_weight,
    concrete_value,
    encode_labels,
)
from mlmath.distributions import Normal, fit_normal


class GaussianNBFit(NamedTuple):
    theta: Array        # (K, d) per-class means
    var: Array          # (K, d) per-class variances (smoothed)
    class_prior: Array  # (K,)
    class_count: Array  # (K,) summed sample weights
    epsilon: Array      # the variance added to every variance


@partial(jax.jit, static_argnames=("num_classes",))
def gaussian_naive_bayes(X, y, *, num_classes: int, var_smoothing=1e-9, sample_weight=None,
                         priors=None) -> GaussianNBFit:
    r"""Fit Gaussian naive Bayes: a Normal per class and feature, plus class priors.

    The model :math:`p(y = k)\prod_j \mathcal N(x_j; \theta_{kj}, \sigma^2_{kj})` is fitted
    by maximum likelihood: each class's means and variances are the weighted Normal fits of
    its rows (:func:`mlmath.distributions.Normal.fit` with the class indicator as weights,
    all classes at once under ``vmap``), and the priors are the class frequencies unless
    given. As scikit-learn, ``var_smoothing * max_j Var(x_j)`` is added to every variance.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import gaussian_naive_bayes
        >>> X = jnp.array([[0.0], [2.0], [10.0], [12.0]])
        >>> fit = gaussian_naive_bayes(X, jnp.array([0, 0, 1, 1]), num_classes=2)
        >>> fit.theta[:, 0].tolist(), [round(float(v), 4) for v in fit.var[:, 0]]
        ([1.0, 11.0], [1.0, 1.0])
    """
    n = X.shape[0]
    sample_weight = jnp.ones(n, X.dtype) if sample_weight is None else sample_weight
    indicator = jax.nn.one_hot(y, num_classes, dtype=X.dtype) * sample_weight[:, None]
    means, scales = jax.vmap(lambda weights: fit_normal(X, weights), in_axes=1)(indicator)
    epsilon = var_smoothing * jnp.max(jnp.var(X, axis=0))
    class_count = jnp.sum(indicator, axis=0)
    if priors is None:
        class_prior = class_count / jnp.sum(class_count)
    else:
        class_prior = jnp.asarray(priors, X.dtype)
    return GaussianNBFit(means, scales * scales + epsilon, class_prior, class_count, epsilon)


@jax.jit
def gaussian_naive_bayes_log_proba(X, theta, var, class_prior):
    r"""Class posteriors :math:`\log p(y=k\mid x)` by Bayes' rule, ``(n, K)``.

    :math:`\log p(y=k) + \sum_j \log\mathcal N(x_j;\theta_{kj},\sigma^2_{kj})`, normalized
    over classes with a log-sum-exp.
    """
    joint = jnp.log(class_prior) + jnp.sum(
        Normal(theta, jnp.sqrt(var)).log_prob(X[:, None, :]), axis=-1
    )
    return jax.nn.log_softmax(joint, axis=1)


def _as_static_priors(priors):
    """Priors as a tuple of Python floats: a static field must be hashable, and scikit-learn
    users pass a NumPy array (which could not cross ``jit`` as static metadata)."""
    if priors is None:
        return None
    if np.ndim(priors) != 1:
        raise ValueError(
            f"GaussianNB: priors must be one probability per class (1-D), got shape "
            f"{np.shape(priors)}"
        )
    return tuple(float(p) for p in np.asarray(priors, dtype=np.float64))


class GaussianNB(Classifier):
    r"""Gaussian naive Bayes classifier, scikit-learn's surface.

    Fitted: ``theta_`` (class means, ``(K, d)``), ``var_`` (class variances),
    ``class_prior_``, ``class_count_``, ``epsilon_``, ``classes_``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import GaussianNB
        >>> X = jnp.array([[0.0], [2.0], [10.0], [12.0]])
        >>> GaussianNB().fit(X, [0, 0, 1, 1]).predict(jnp.array([[1.5], [9.0]])).tolist()
        [0, 1]
    """

    var_smoothing: Array | float = 1e-9
    priors: tuple | None = eqx.field(static=True, default=None, converter=_as_static_priors)
    classes: tuple | None = eqx.field(static=True, default=None)
    theta_: Array | None = None
    var_: Array | None = None
    class_prior_: Array | None = None
    class_count_: Array | None = None
    epsilon_: Array | None = None
    classes_: tuple | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        check_positive("var_smoothing", self.var_smoothing, allow_zero=True, owner="GaussianNB")
        if self.priors is not None:
            priors = jnp.asarray(self.priors)
            concrete = concrete_value(priors)
            if priors.ndim != 1 or (concrete is not None and (
                    (concrete < 0).any() or abs(concrete.sum() - 1.0) > 1e-6)):
                raise ValueError(
                    f"GaussianNB: priors must be non-negative and sum to 1, got {self.priors}"
                )

    def fit(self, X, y, sample_weight=None) -> GaussianNB:
        """Fit to ``X (n, d)`` and labels ``y (n,)``; returns a new estimator."""
        owner = type(self).__name__
        X = check_features(X, owner)
        codes, classes = encode_labels(y, X.shape[0], owner, self.classes)
        if self.priors is not None and len(self.priors) != len(classes):
            raise ValueError(
                f"{owner}: priors has {len(self.priors)} entries for {len(classes)} classes"
            )
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype, owner)
        fit = gaussian_naive_bayes(
            X, codes, num_classes=len(classes), var_smoothing=self.var_smoothing,
            sample_weight=sample_weight, priors=self.priors,
        )
        return self._fitted(theta_=fit.theta, var_=fit.var, class_prior_=fit.class_prior,
                            class_count_=fit.class_count, epsilon_=fit.epsilon,
                            classes_=classes)

    def predict_log_proba(self, X):
        """Log posterior class probabilities, ``(n, K)``."""
        self._check_fitted()
        X = check_n_features(X, self.theta_.shape[1], type(self).__name__)
        return gaussian_naive_bayes_log_proba(X, self.theta_, self.var_, self.class_prior_)
