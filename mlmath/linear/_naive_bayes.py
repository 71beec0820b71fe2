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
    InvalidParameterError,
    check_features,
    check_n_features,
    check_positive,
    check_sample_weight,
    check_scalar_for_fit,
    concrete_value,
    encode_labels,
    static_labels,
)
from mlmath.distributions import fit_normal
from mlmath.linear._regression import power_of_two_scale


class GaussianNBFit(NamedTuple):
    theta: Array        # (K, d) per-class means
    var: Array          # (K, d) per-class variances (smoothed), in the units of X squared
    class_prior: Array  # (K,)
    class_count: Array  # (K,) summed sample weights
    epsilon: Array      # the variance added to every variance
    log_var: Array      # (K, d) log of ``var``, finite even where ``var`` over/underflows


@partial(jax.jit, static_argnames=("num_classes",))
def gaussian_naive_bayes(X, y, *, num_classes: int, var_smoothing=1e-9, sample_weight=None,
                         priors=None) -> GaussianNBFit:
    r"""Fit Gaussian naive Bayes: a Normal per class and feature, plus class priors.

    The model :math:`p(y = k)\prod_j \mathcal N(x_j; \theta_{kj}, \sigma^2_{kj})` is fitted
    by maximum likelihood: each class's means and variances are the weighted Normal fits of
    its rows (:func:`mlmath.distributions.Normal.fit` with the class indicator as weights,
    all classes at once under ``vmap``), and the priors are the class frequencies unless
    given. As scikit-learn, ``var_smoothing * max_j Var(x_j)`` is added to every variance.

    A class without data (no row, or zero total weight: a bootstrap or cross-validation
    fold, also under ``vmap``) has prior 0, so probability 0 for every input; its means
    and variances are placeholders (those of all the rows), finite so that its
    log-likelihood is finite and its log-joint exactly ``-inf``. Given ``priors`` are
    renormalized over the classes that have data.

    Scale: the fit runs on ``X`` divided by a power of two per feature (exact) and keeps
    ``log_var``, the log of the variances, so that features of any representable scale
    (``1e-30`` or ``1e30`` in float32) are fitted as accurately as at unit scale; ``var``
    and ``epsilon`` are in the units of ``X`` squared and over- or underflow where those
    do (``1e40`` in float32), ``log_var`` never does.

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
    scale = power_of_two_scale(X, axis=0)
    X_scaled = X / scale
    indicator = jax.nn.one_hot(y, num_classes, dtype=X.dtype) * sample_weight[:, None]
    class_count = jnp.sum(indicator, axis=0)
    present = class_count > 0
    # a class without data is fitted to all the rows instead: finite placeholders
    weights = jnp.where(present[None, :], indicator, sample_weight[:, None])
    means, scales = jax.vmap(lambda w: fit_normal(X_scaled, w), in_axes=1)(weights)
    feature_var = jnp.var(X_scaled, axis=0)
    epsilon_scaled = var_smoothing * feature_var  # per feature, in its own (scaled) units
    log_scale = jnp.log(scale)
    log_epsilon = jnp.max(jnp.log(epsilon_scaled) + 2.0 * log_scale)
    log_var = jnp.logaddexp(2.0 * (jnp.log(scales) + log_scale), log_epsilon)
    epsilon = var_smoothing * jnp.max(feature_var * scale * scale)
    theta = means * scale
    var = (scales * scale) ** 2 + epsilon
    if priors is None:
        class_prior = class_count / jnp.sum(class_count)
    else:
        given = jnp.where(present, jnp.asarray(priors, X.dtype), 0.0)
        total = jnp.sum(given)
        class_prior = jnp.where(total > 0, given / jnp.where(total > 0, total, 1.0),
                                present / jnp.sum(present))
    return GaussianNBFit(theta, var, class_prior, class_count, epsilon, log_var)


def _log_joint_to_posterior(X, theta, log_var, class_prior):
    # (x - theta) / sigma, never (x - theta)^2 / sigma^2: finite for any representable x
    standardized = (X[:, None, :] - theta) * jnp.exp(-0.5 * log_var)
    log_likelihood = -0.5 * jnp.sum(jnp.log(2.0 * jnp.pi) + log_var + standardized ** 2,
                                    axis=-1)
    # a class of prior 0 has log-joint -inf (its log-likelihood is finite): probability 0
    joint = jnp.log(class_prior) + log_likelihood
    return jax.nn.log_softmax(joint, axis=1)


@jax.jit
def gaussian_naive_bayes_log_proba(X, theta, var, class_prior):
    r"""Class posteriors :math:`\log p(y=k\mid x)` by Bayes' rule, ``(n, K)``.

    :math:`\log p(y=k) + \sum_j \log\mathcal N(x_j;\theta_{kj},\sigma^2_{kj})`, normalized
    over classes with a log-sum-exp. A class of prior 0 has probability 0.
    """
    return _log_joint_to_posterior(X, theta, jnp.log(var), class_prior)


@jax.jit
def _log_proba_from_log_var(X, theta, log_var, class_prior):
    return _log_joint_to_posterior(X, theta, log_var, class_prior)


def _as_static_priors(priors):
    """Priors as a tuple of Python floats: a static field must be hashable, and scikit-learn
    users pass a NumPy array (which could not cross ``jit`` as static metadata)."""
    if priors is None:
        return None
    if np.ndim(priors) != 1:
        raise InvalidParameterError(
            f"GaussianNB: priors must be one probability per class (1-D), got shape "
            f"{np.shape(priors)}"
        )
    try:
        return tuple(float(p) for p in np.asarray(priors, dtype=np.float64))
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"GaussianNB: priors must be one probability per class, got {priors!r}"
        ) from None


class GaussianNB(Classifier):
    r"""Gaussian naive Bayes classifier, scikit-learn's surface.

    Fitted: ``theta_`` (class means, ``(K, d)``), ``var_`` (class variances, in the units
    of ``X`` squared), ``log_var_`` (their log, finite at any scale of ``X``: predictions
    use it), ``class_prior_``, ``class_count_``, ``epsilon_``, ``classes_``, ``n_iter_``
    (0: a closed form) and ``converged_`` (whether the fit is finite).

    A class in ``classes`` without data in ``y`` (or with zero total weight, as in a
    bootstrap or cross-validation fold, also under ``vmap``) has prior 0 and so
    probability 0 for every input, never NaN; see :func:`gaussian_naive_bayes`. Features
    of any representable scale are fitted as at unit scale (the fit rescales each feature
    by a power of two).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.linear import GaussianNB
        >>> X = jnp.array([[0.0], [2.0], [10.0], [12.0]])
        >>> GaussianNB().fit(X, [0, 0, 1, 1]).predict(jnp.array([[1.5], [9.0]])).tolist()
        [0, 1]
    """

    var_smoothing: Array | float = 1e-9
    priors: tuple | None = eqx.field(static=True, default=None, converter=_as_static_priors)
    classes: tuple | None = eqx.field(static=True, default=None, converter=static_labels)
    theta_: Array | None = None
    var_: Array | None = None
    log_var_: Array | None = None
    class_prior_: Array | None = None
    class_count_: Array | None = None
    epsilon_: Array | None = None
    classes_: tuple | None = eqx.field(static=True, default=None)
    n_iter_: Array | None = None
    converged_: Array | None = None

    def __check_init__(self):
        check_positive("var_smoothing", self.var_smoothing, allow_zero=True, owner="GaussianNB")
        if self.priors is not None:
            priors = jnp.asarray(self.priors)
            concrete = concrete_value(priors)
            if priors.ndim != 1 or (concrete is not None and (
                    (concrete < 0).any() or abs(concrete.sum() - 1.0) > 1e-6)):
                raise InvalidParameterError(
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
        check_scalar_for_fit("var_smoothing", self.var_smoothing, owner)
        fit = gaussian_naive_bayes(
            X, codes, num_classes=len(classes), var_smoothing=self.var_smoothing,
            sample_weight=sample_weight, priors=self.priors,
        )
        # a closed form: converged unless the data made it non-finite
        finite = jnp.all(jnp.isfinite(fit.theta)) & jnp.all(jnp.isfinite(fit.log_var))
        return self._fitted(theta_=fit.theta, var_=fit.var, log_var_=fit.log_var,
                            class_prior_=fit.class_prior, class_count_=fit.class_count,
                            epsilon_=fit.epsilon, classes_=classes,
                            n_iter_=jnp.zeros((), jnp.int32), converged_=finite)

    def predict_log_proba(self, X):
        """Log posterior class probabilities, ``(n, K)``."""
        self._check_fitted()
        X = check_n_features(X, self.theta_.shape[1], type(self).__name__)
        # from log_var_, finite at any scale of X (var_ may over- or underflow)
        return _log_proba_from_log_var(X, self.theta_, self.log_var_, self.class_prior_)
