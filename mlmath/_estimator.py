"""The estimator contract: scikit-learn's surface, honest about JAX (private base + checks).

An estimator is an equinox Module:

* hyper-parameters are fields. Structural ones (a penalty's kind, a solver, iteration
  limits, whether to fit an intercept) are static: they change the program. Continuous ones
  (``C``, ``alpha``, ``var_smoothing``) are array leaves, so a grid of them is one
  ``jax.vmap``: ``jax.vmap(lambda c: LogisticRegression(C=c).fit(X, y))(grid)`` compiles
  once and fits every model.
* fitted values are fields whose names end in ``_`` and are ``None`` until ``fit``.
  ``fit`` returns a new estimator (``dataclasses.replace``) and never mutates.
* input is validated eagerly at the boundary (rank, lengths, NaN/inf, labels, impossible
  hyper-parameters) with errors that say what was wrong and what was expected. Values that
  are traced (the estimator is fitted under ``vmap``/``jit``) cannot be inspected; their
  value checks are skipped, their shape checks are not.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``."""


def is_traced(x) -> bool:
    """Whether ``x`` is a JAX tracer (inside ``jit``/``vmap``/``grad``): values unknown."""
    return isinstance(x, jax.core.Tracer)


def concrete_value(x):
    """``x`` as a NumPy value, or ``None`` if it is traced."""
    if is_traced(x):
        return None
    return np.asarray(x)


class Estimator(eqx.Module):
    """Base class: ``fit`` returns a new fitted estimator; unfitted use raises clearly."""

    def _fitted_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if f.name.endswith("_")]

    @property
    def is_fitted(self) -> bool:
        """Whether every fitted field has been set by ``fit``."""
        names = self._fitted_names()
        return bool(names) and all(getattr(self, name) is not None for name in names)

    def _check_fitted(self):
        if not self.is_fitted:
            name = type(self).__name__
            raise NotFittedError(
                f"This {name} is not fitted yet. fit returns a new, fitted estimator and "
                f"leaves this one unchanged: write `est = est.fit(X, y)` and use `est`."
            )

    def _fitted(self, **values):
        return dataclasses.replace(self, **values)


def check_positive(name: str, value, allow_zero: bool = False, owner: str = ""):
    """Raise ``ValueError`` for a concrete hyper-parameter below (or at) zero, or not finite."""
    concrete = concrete_value(value)
    if concrete is None:
        return
    bad = ~np.isfinite(concrete) | ((concrete < 0) if allow_zero else (concrete <= 0))
    if np.any(bad):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}: {name} must be finite and {bound}, got {concrete}")


def check_choice(name: str, value, choices, owner: str):
    if value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {list(choices)}, got {value!r}")


def check_int(name: str, value, minimum: int, owner: str):
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")


@jax.jit
def _all_finite(X):
    return jnp.all(jnp.isfinite(X))


def check_features(X, owner: str, name: str = "X"):
    """``X`` as a 2-D floating array with finite values (checked when concrete)."""
    if not is_traced(X):
        X_np = np.asarray(X)
        if X_np.dtype.kind in "OUSV":
            raise TypeError(f"{owner}: {name} must be numeric, got dtype {X_np.dtype}")
        if X_np.dtype.kind == "c":
            raise TypeError(f"{owner}: {name} must be real, got dtype {X_np.dtype}")
    X = jnp.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"{owner}: {name} must be 2-D (n_samples, n_features), got shape {X.shape}"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{owner}: {name} must be non-empty, got shape {X.shape}")
    if not jnp.issubdtype(X.dtype, jnp.floating):
        X = X.astype(jnp.result_type(float))
    if not is_traced(X) and not bool(_all_finite(X)):
        # one fused pass on the device; only a failing X is copied back to find the culprit
        bad = np.argwhere(~np.isfinite(np.asarray(X)))[0]
        raise ValueError(
            f"{owner}: {name} contains NaN or inf (first at row {bad[0]}, column {bad[1]}); "
            "remove or impute them before fitting"
        )
    return X


def check_targets(y, n_samples: int, owner: str, allow_2d: bool = False):
    """Regression targets: ``(n,)`` (or ``(n, k)``), finite when concrete."""
    y = jnp.asarray(y)
    if y.ndim not in ((1, 2) if allow_2d else (1,)) or y.shape[0] != n_samples:
        expected = f"({n_samples},)" + (f" or ({n_samples}, k)" if allow_2d else "")
        raise ValueError(f"{owner}: y must have shape {expected} to match X, got {y.shape}")
    if not jnp.issubdtype(y.dtype, jnp.floating):
        y = y.astype(jnp.result_type(float))
    concrete = concrete_value(y)
    if concrete is not None and not np.all(np.isfinite(concrete)):
        raise ValueError(f"{owner}: y contains NaN or inf")
    return y


def check_sample_weight(sample_weight, n_samples: int, dtype, owner: str):
    if sample_weight is None:
        return jnp.ones(n_samples, dtype)
    weights = jnp.asarray(sample_weight, dtype)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"{owner}: sample_weight must have shape ({n_samples},), got {weights.shape}"
        )
    concrete = concrete_value(weights)
    if concrete is not None and (np.any(concrete < 0) or not np.all(np.isfinite(concrete))
                                 or not np.any(concrete > 0)):
        raise ValueError(f"{owner}: sample_weight must be finite, >= 0 and not all zero")
    return weights


def encode_labels(y, n_samples: int, owner: str, classes=None):
    """Class labels as integer codes ``0..K-1`` and the sorted label set ``classes_``.

    Labels may be anything NumPy can sort (strings included), as scikit-learn's
    ``classes_``. Traced labels cannot be inspected: they must already be codes, and the
    estimator's ``classes`` hyper-parameter must give the label set.
    """
    if is_traced(y):
        if classes is None:
            raise ValueError(
                f"{owner}: y is traced (the fit is inside jit/vmap over y), so its label set "
                "cannot be read; pass classes=(...) to the estimator and give y as integer "
                "codes 0..K-1"
            )
        y = jnp.asarray(y)
        if y.shape != (n_samples,):
            raise ValueError(f"{owner}: y must have shape ({n_samples},), got {y.shape}")
        return y.astype(jnp.int32), tuple(classes)
    y_np = np.asarray(y)
    if y_np.ndim != 1 or y_np.shape[0] != n_samples:
        raise ValueError(f"{owner}: y must have shape ({n_samples},) to match X, got {y_np.shape}")
    if y_np.dtype.kind == "f" and not np.all(np.isfinite(y_np)):
        raise ValueError(f"{owner}: y contains NaN or inf")
    if classes is None:
        labels, codes = np.unique(y_np, return_inverse=True)
    else:
        labels = np.asarray(classes)
        lookup = {label: index for index, label in enumerate(labels.tolist())}
        unknown = sorted({v for v in y_np.tolist() if v not in lookup}, key=str)
        if unknown:
            raise ValueError(f"{owner}: y has labels {unknown[:5]} not in classes={list(labels)}")
        codes = np.array([lookup[v] for v in y_np.tolist()])
    if len(labels) < 2:
        raise ValueError(
            f"{owner}: y has a single class ({labels.tolist()}); a classifier needs at least two"
        )
    return jnp.asarray(codes, jnp.int32), tuple(labels.tolist())


def check_n_features(X, expected: int, owner: str):
    X = check_features(X, owner)
    if X.shape[1] != expected:
        raise ValueError(
            f"{owner}: X has {X.shape[1]} features, but the estimator was fitted with {expected}"
        )
    return X
