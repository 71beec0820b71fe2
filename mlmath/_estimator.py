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
  value checks are skipped, their shape checks are not. Hyper-parameters are checked at
  construction (``__check_init__``), concrete values only: under ``vmap``/``grad`` they
  are tracers. A bad one raises :class:`InvalidParameterError` (a ``ValueError`` and a
  ``TypeError``) naming it, the value and what is expected.
* a fitted estimator is saved with ``est.save(path)`` and read back with
  ``type(est).load(path)`` (:mod:`mlmath._persistence`: a JSON header and equinox's
  serialisation of the leaves; no pickle, nothing executed on load).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Self, cast

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike, DTypeLike

from mlmath import metrics
from mlmath._persistence import load_estimator, save_estimator
from mlmath._validation import aligned_host_copy, concrete_value, is_traced


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class Estimator(eqx.Module):
    """Base class: ``fit`` returns a new fitted estimator; unfitted use raises clearly."""

    def _fitted_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if f.name.endswith("_")]

    @property
    def is_fitted(self) -> bool:
        """Whether every fitted field has been set by ``fit``."""
        names = self._fitted_names()
        return bool(names) and all(getattr(self, name) is not None for name in names)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            name = type(self).__name__
            raise NotFittedError(
                f"This {name} is not fitted yet. fit returns a new, fitted estimator and "
                f"leaves this one unchanged: write `est = est.fit(X, y)` and use `est`."
            )

    def _fitted(self, **values: Any) -> Self:
        return dataclasses.replace(self, **values)

    def save(self, path: str | os.PathLike) -> None:
        """Save this fitted estimator to ``path``: a JSON header (type, hyper-parameters,
        ``classes_``, leaf shapes and dtypes, mlmath version, checksum) and the array leaves
        by :func:`equinox.tree_serialise_leaves`. No pickle: loading executes nothing from
        the file. See :mod:`mlmath._persistence` for the format."""
        save_estimator(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Self:
        """The estimator saved at ``path`` by :meth:`save`, fitted as it was saved.

        Raises ``ValueError`` for a file of another estimator type, another mlmath
        version, or one that is truncated or corrupted."""
        return load_estimator(cls, path)


class InvalidParameterError(ValueError, TypeError):
    """A hyper-parameter of the wrong type or value (a ``ValueError`` and a ``TypeError``,
    as scikit-learn's ``InvalidParameterError``), raised at construction."""


def _described(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_positive(name: str, value: object, allow_zero: bool = False, owner: str = "") -> None:
    """Raise for a concrete hyper-parameter that is not a real number, below (or at) zero,
    or not finite. Traced values (under ``vmap``/``grad``) are not inspected."""
    if is_traced(value):
        return
    bound = ">= 0" if allow_zero else "> 0"
    try:
        concrete = np.asarray(value)
    except (TypeError, ValueError):
        concrete = None
    if concrete is None or concrete.dtype.kind not in "iuf":
        raise InvalidParameterError(
            f"{owner}: {name} must be a real number (finite and {bound}), got "
            f"{_described(value)}"
        )
    bad = ~np.isfinite(concrete) | ((concrete < 0) if allow_zero else (concrete <= 0))
    if np.any(bad):
        raise InvalidParameterError(f"{owner}: {name} must be finite and {bound}, got {concrete}")


def check_scalar_for_fit(name: str, value: Any, owner: str) -> None:
    """One fit takes one value of a continuous hyper-parameter: an array of them (a grid)
    is fitted by ``jax.vmap`` over a pure fit, which this message says how to write."""
    shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    if shape:
        raise ValueError(
            f"{owner}: {name} has shape {shape}, but one fit takes a single {name}. To fit "
            f"one model per value, vmap over the fit: "
            f"jax.vmap(lambda value: {owner}({name}=value).fit(X, y))(jnp.asarray(values))"
        )


def check_choice(name: str, value: object, choices: Sequence[object], owner: str) -> None:
    try:
        known = value in choices
    except TypeError:  # unhashable
        known = False
    if not known:
        raise InvalidParameterError(
            f"{owner}: {name} must be one of {list(choices)}, got {value!r}"
        )


def check_int(name: str, value: object, minimum: int, owner: str) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise InvalidParameterError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")


def check_bool(name: str, value: object, owner: str) -> None:
    if not isinstance(value, bool | np.bool_):
        raise InvalidParameterError(
            f"{owner}: {name} must be True or False, got {_described(value)}"
        )


def check_tolerance(name: str, value: object, owner: str) -> None:
    """``None`` (the default rule) or a finite number ``>= 0``, as a static Python number."""
    if value is None:
        return
    if (not isinstance(value, int | float | np.integer | np.floating) or isinstance(value, bool)
            or not np.isfinite(value) or value < 0):
        raise InvalidParameterError(
            f"{owner}: {name} must be None or a finite number >= 0, got {_described(value)}"
        )


_LABEL_TYPES = (bool, int, float, str)


def python_scalar(value: Any) -> Any:
    """A NumPy scalar (``np.True_``, ``np.int64(5)``) as the Python one, anything else
    unchanged: the converter of static hyper-parameters, which must be hashable metadata
    (equinox warns on NumPy values there) and JSON in a saved file."""
    return value.item() if isinstance(value, np.generic) else value


def static_labels(classes: Sequence[Any] | None) -> tuple[Any, ...] | None:
    """A ``classes=`` hyper-parameter as a tuple of Python labels (hashable static metadata
    that a saved file's JSON header can hold), or ``None``; raises for anything else."""
    if classes is None:
        return None
    if isinstance(classes, str | bytes) or not hasattr(classes, "__iter__"):
        raise InvalidParameterError(
            f"classes must be None or a sequence of labels, got {_described(classes)}"
        )
    labels = tuple(label.item() if isinstance(label, np.generic) else label
                   for label in np.asarray(classes, dtype=object).ravel().tolist())
    if any(not isinstance(label, _LABEL_TYPES) for label in labels):
        raise InvalidParameterError(
            f"classes must hold ints, floats, strings or bools, got {classes!r}"
        )
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise InvalidParameterError(
            f"classes must be at least two distinct labels, got {classes!r}"
        )
    return labels


def default_key(key: Array | None) -> Array:
    """The key a fit uses: the one given, else ``jax.random.key(0)`` (deterministic)."""
    return jax.random.key(0) if key is None else key


def check_enough_samples(n_samples: int, needed: int, name: str, noun: str,
                         owner: str) -> None:
    """Raise unless there are at least ``needed`` samples (one per component, cluster or
    state)."""
    if n_samples < needed:
        raise ValueError(
            f"{owner}: X has {n_samples} samples, fewer than {name}={needed}; a fit needs at "
            f"least one sample per {noun}"
        )


def concrete_initial_array(value: Any, name: str, owner: str,
                           shape: tuple[int, ...]) -> np.ndarray | None:
    """A concrete initial value as a finite float64 NumPy array of ``shape``, or ``None``
    when it is ``None`` or traced (its shape is still checked)."""
    if value is None:
        return None
    got = tuple(np.shape(value)) if not hasattr(value, "shape") else tuple(value.shape)
    if got != shape:
        raise ValueError(f"{owner}: {name} must have shape {shape}, got {got}")
    concrete = concrete_value(value)
    if concrete is None:
        return None
    concrete = np.asarray(concrete, dtype=np.float64)
    if not np.all(np.isfinite(concrete)):
        raise ValueError(f"{owner}: {name} contains NaN or inf")
    return concrete


def check_positive_definite(values: np.ndarray, name: str, diagonal: bool, owner: str) -> None:
    """Raise unless ``values`` are positive (``diagonal``: variances or precisions as
    values) or a stack of symmetric positive definite matrices; the message names the
    offending entry."""
    if diagonal:
        if np.any(values <= 0):
            raise ValueError(f"{owner}: {name} must be positive, got minimum {values.min()}")
        return
    matrices = values.reshape((-1,) + values.shape[-2:])
    for index, matrix in enumerate(matrices):
        where = f"{name}[{index}]" if values.ndim > 2 else name
        if not np.allclose(matrix, matrix.T, rtol=1e-6, atol=1e-10 * np.abs(matrix).max()):
            raise ValueError(f"{owner}: {where} is not symmetric")
        if np.linalg.eigvalsh(matrix).min() <= 0:
            raise ValueError(f"{owner}: {where} is not positive definite")


def check_probability_rows(values: np.ndarray, name: str, owner: str) -> None:
    """Raise unless every row (last axis) of ``values`` is non-negative and sums to 1 (to
    1e-6, relative to the row's length); the message names the first bad row."""
    flat = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values[None]
    negative = np.flatnonzero(np.any(flat < 0, axis=1))
    if negative.size:
        row = int(negative[0])
        where = f"{name}[{row}]" if values.ndim > 1 else name
        raise ValueError(f"{owner}: {where} has a negative probability: {flat[row].tolist()}")
    sums = flat.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6 * max(1, flat.shape[1]))
    if bad.size:
        row = int(bad[0])
        where = f"row {row} of {name}" if values.ndim > 1 else name
        raise ValueError(f"{owner}: {where} sums to {sums[row]!r}, not 1: each row must be a "
                         "probability vector")


def check_gaussian_prior_fields(owner: str, mean_prior: Any, mean_precision_prior: Any,
                                covariance_prior: Any, degrees_of_freedom_prior: Any) -> None:
    """Construction-time checks of an estimator's Normal–Inverse-Wishart prior fields
    (shared by ``GaussianMixture`` and ``mlmath.hmm.GaussianHMM``): the pairs go together
    and a concrete ``mean_precision_prior`` is positive; ``InvalidParameterError`` names
    the field."""
    if (mean_prior is None) != (mean_precision_prior is None):
        raise InvalidParameterError(
            f"{owner}: mean_prior and mean_precision_prior go together: give both or neither")
    if mean_precision_prior is not None:
        check_positive("mean_precision_prior", mean_precision_prior, owner=owner)
    if (covariance_prior is None) != (degrees_of_freedom_prior is None):
        raise InvalidParameterError(
            f"{owner}: covariance_prior and degrees_of_freedom_prior go together: give both "
            "or neither")


def check_gaussian_prior_for_fit(owner: str, d: int, mean: Any, covariance: Any,
                                 degrees_of_freedom: Any) -> None:
    """Fit-time checks of a Normal–Inverse-Wishart prior's fields against the number of
    features ``d``: the shapes of ``mean`` and ``covariance``, ``degrees_of_freedom > d -
    1`` and a positive definite ``covariance`` (when concrete); ``ValueError`` names the
    field."""
    if mean is not None:
        shape = tuple(np.shape(mean))
        if shape not in ((), (d,)):
            raise ValueError(f"{owner}: mean_prior must be a scalar or ({d},), got {shape}")
    if degrees_of_freedom is not None:
        dof = concrete_value(degrees_of_freedom)
        if dof is not None and not float(dof) > d - 1:
            raise ValueError(f"{owner}: degrees_of_freedom_prior must be > n_features - 1 "
                             f"= {d - 1}, got {degrees_of_freedom!r}")
    if covariance is not None:
        concrete = concrete_value(covariance)
        shape = tuple(np.shape(covariance))
        if shape not in ((), (d,), (d, d)):
            raise ValueError(f"{owner}: covariance_prior must be a scalar, ({d},) or "
                             f"({d}, {d}), got {shape}")
        if concrete is not None:
            matrix = (np.diag(np.broadcast_to(concrete, (d,))) if concrete.ndim < 2
                      else concrete)
            if (not np.all(np.isfinite(matrix)) or not np.allclose(matrix, matrix.T)
                    or np.linalg.eigvalsh(matrix).min() <= 0):
                raise ValueError(f"{owner}: covariance_prior must be positive definite "
                                 "(a positive scalar or vector, or an SPD matrix)")


@jax.jit
def _all_finite(X: Array) -> Array:
    return jnp.all(jnp.isfinite(X))


def feature_dtype(dtype: DTypeLike) -> np.dtype:
    """The floating dtype features of ``dtype`` are computed in.

    Floating inputs of at least single precision keep their dtype (float64 needs
    ``jax_enable_x64``, else it becomes float32, as everywhere in JAX); half precision
    (float16, bfloat16), integers and booleans become the default float (float32, or
    float64 under ``jax_enable_x64``): no estimator computes in half precision.
    """
    dtype = np.dtype(dtype)
    default = np.dtype(jnp.result_type(float))
    if dtype.kind == "f" and dtype.itemsize >= 4:
        return np.dtype(jnp.dtype(jax.dtypes.canonicalize_dtype(dtype)))
    return default


def _host_array(x: object, owner: str, name: str) -> np.ndarray | None:
    """``x`` as a NumPy array when it is host data (NumPy, lists, pandas), else ``None``.

    Host data are checked with NumPy, where no check compiles a program; JAX arrays stay
    on their device and are checked there.
    """
    if isinstance(x, jax.Array) or is_traced(x):
        return None
    converted = _from_pandas(x, owner, name)
    if converted is not None:
        return converted
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{owner}: {name} must be an array of numbers ({error})") from None
    return array


def _from_pandas(x: Any, owner: str, name: str) -> np.ndarray | None:
    """A pandas object with nullable (extension) columns as a NumPy array, else ``None``.

    pandas' nullable dtypes (``Float64``, ``Int64``, ``boolean``) become NumPy arrays of
    their NumPy dtype when they hold no missing value; a missing value (``pd.NA``) is a
    clear ``ValueError``. Other extension dtypes (strings, categories) become object
    arrays, which the numeric checks reject for features and accept as labels. pandas is
    never imported: an object is recognized by its module.
    """
    if not type(x).__module__.startswith("pandas") or not hasattr(x, "to_numpy"):
        return None
    dtypes = list(x.dtypes) if hasattr(x, "columns") else [getattr(x, "dtype", None)]
    if all(isinstance(dtype, np.dtype) for dtype in dtypes):
        return None  # NumPy-backed: np.asarray is exact, NaN is reported as such
    missing = np.asarray(x.isna())
    if missing.any():
        where = np.argwhere(missing)[0]
        place = (f"row {where[0]}, column {where[1]}" if len(where) == 2
                 else f"row {where[0]}")
        raise ValueError(
            f"{owner}: {name} has missing values (pandas NA, first at {place}); remove or "
            "impute them before fitting"
        )
    numpy_dtypes = [dtype if isinstance(dtype, np.dtype) else getattr(dtype, "numpy_dtype", None)
                    for dtype in dtypes]
    if all(isinstance(dtype, np.dtype) and dtype.kind in "biuf" for dtype in numpy_dtypes):
        return x.to_numpy(dtype=np.result_type(*numpy_dtypes))
    return x.to_numpy()


def _check_kind(dtype: np.dtype, owner: str, name: str) -> None:
    if jnp.issubdtype(dtype, jnp.floating):  # bfloat16 and friends have NumPy kind "V"
        return
    if dtype.kind in "OUSVM m":
        raise TypeError(f"{owner}: {name} must be numeric, got dtype {dtype}")
    if dtype.kind == "c":
        raise TypeError(f"{owner}: {name} must be real, got dtype {dtype}")


def _raise_not_finite(values: np.ndarray, owner: str, name: str) -> NoReturn:
    bad = np.argwhere(~np.isfinite(values))[0]
    where = f"row {bad[0]}, column {bad[1]}" if len(bad) == 2 else f"index {tuple(bad)}"
    raise ValueError(
        f"{owner}: {name} contains NaN or inf (first at {where}); "
        "remove or impute them before fitting"
    )


def check_features(X: Any, owner: str, name: str = "X") -> Array:
    """``X`` as a 2-D floating JAX array with finite values (checked when concrete).

    NumPy (and other host) input is checked and converted with NumPy: no compiled program
    per shape. A JAX array is checked on its device in one fused pass. Traced input gets its
    shape checked only.
    """
    host = _host_array(X, owner, name)
    if host is not None:
        _check_kind(host.dtype, owner, name)
        X_np = host
    else:
        _check_kind(np.dtype(X.dtype), owner, name)
    shape = X_np.shape if host is not None else X.shape
    if len(shape) != 2:
        raise ValueError(
            f"{owner}: {name} must be 2-D (n_samples, n_features), got shape {tuple(shape)}"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{owner}: {name} must be non-empty, got shape {tuple(shape)}")
    if host is not None:
        # the one copy of the data, converted (a float64 value beyond float32's range
        # becomes inf here, and is caught), then put on the device without another
        X_np = aligned_host_copy(X_np, feature_dtype(X_np.dtype))
        if not np.isfinite(X_np).all():
            _raise_not_finite(X_np, owner, name)
        return jax.device_put(X_np)
    X = X.astype(feature_dtype(X.dtype)) if X.dtype != feature_dtype(X.dtype) else X
    if not is_traced(X) and not bool(_all_finite(X)):
        # one fused pass on the device; only a failing X is copied back to find the culprit
        _raise_not_finite(np.asarray(X), owner, name)
    return X


def check_targets(y: Any, n_samples: int, owner: str, allow_2d: bool = False,
                  dtype: DTypeLike | None = None) -> Array:
    """Regression targets: ``(n,)`` (or ``(n, k)``) of floating ``dtype``, finite when concrete."""
    host = _host_array(y, owner, "y")
    shape = host.shape if host is not None else y.shape
    if len(shape) not in ((1, 2) if allow_2d else (1,)) or shape[0] != n_samples:
        expected = f"({n_samples},)" + (f" or ({n_samples}, k)" if allow_2d else "")
        raise ValueError(f"{owner}: y must have shape {expected} to match X, got {tuple(shape)}")
    if host is not None:
        _check_kind(host.dtype, owner, "y")
        y_np = aligned_host_copy(host, dtype or feature_dtype(host.dtype))
        if not np.isfinite(y_np).all():
            raise ValueError(f"{owner}: y contains NaN or inf")
        return jax.device_put(y_np)
    target = dtype or feature_dtype(y.dtype)
    y = y.astype(target) if y.dtype != target else y
    if not is_traced(y) and not bool(_all_finite(y)):
        raise ValueError(f"{owner}: y contains NaN or inf")
    return y


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: DTypeLike,
                        owner: str) -> Array:
    """Sample weights ``(n,)``: finite, non-negative and not all zero (checked when concrete);
    ones when omitted."""
    if sample_weight is None:
        return jnp.ones(n_samples, dtype)
    host = _host_array(sample_weight, owner, "sample_weight")
    shape = host.shape if host is not None else sample_weight.shape
    if tuple(shape) != (n_samples,):
        raise ValueError(
            f"{owner}: sample_weight must have shape ({n_samples},), got {tuple(shape)}"
        )
    concrete: np.ndarray | None
    if host is not None:
        _check_kind(host.dtype, owner, "sample_weight")
        concrete = host.astype(dtype)
    else:
        concrete = None if is_traced(sample_weight) else np.asarray(sample_weight, dtype)
    if concrete is not None and (np.any(concrete < 0) or not np.all(np.isfinite(concrete))
                                 or not np.any(concrete > 0)):
        raise ValueError(f"{owner}: sample_weight must be finite, >= 0 and not all zero")
    if concrete is not None:
        return jnp.asarray(concrete)
    return jnp.asarray(sample_weight, dtype)


def encode_labels(y: Any, n_samples: int, owner: str,
                  classes: Sequence[Any] | None = None) -> tuple[Array, tuple[Any, ...]]:
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
    converted = None if isinstance(y, jax.Array) else _from_pandas(y, owner, "y")
    y_np = np.asarray(y) if converted is None else converted
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
    return jnp.asarray(np.asarray(codes, np.int32)), tuple(labels.tolist())


def check_label_shape(y: Any, n_samples: int, owner: str) -> None:
    """Labels ``y`` must be ``(n_samples,)``: one per row of ``X``."""
    shape = tuple(np.shape(y)) if not isinstance(y, jax.Array) and not is_traced(y) else y.shape
    if tuple(shape) != (n_samples,):
        raise ValueError(
            f"{owner}: y must have shape ({n_samples},) to match X ({n_samples} rows), got "
            f"{tuple(shape)}"
        )


def check_n_features(X: Any, expected: int, owner: str) -> Array:
    X = check_features(X, owner)
    if X.shape[1] != expected:
        raise ValueError(
            f"{owner}: X has {X.shape[1]} features, but the estimator was fitted with {expected}"
        )
    return X


@jax.jit
def _probabilities(log_proba: Array) -> Array:
    return jnp.exp(log_proba)


@jax.jit
def _most_probable(log_proba: Array) -> Array:
    return jnp.argmax(log_proba, axis=1)


def decode_labels(classes: tuple[Any, ...], codes: Array) -> Any:
    """Integer codes back to the labels ``classes``: a JAX array for numeric labels, a NumPy
    array for others (which needs concrete codes). Concrete codes are mapped on the host."""
    array = np.asarray(classes)
    concrete = concrete_value(codes)
    if concrete is None:
        if array.dtype.kind in "biuf":
            return jnp.asarray(array)[codes]
        raise ValueError(
            "predict cannot return non-numeric labels inside jit/vmap; use "
            "predict_proba or decision_function there, or numeric labels"
        )
    labels = array[concrete]
    return jnp.asarray(labels) if array.dtype.kind in "biuf" else labels


def label_codes(classes: tuple[Any, ...], y: Any, owner: str) -> Array:
    """Labels ``y`` as the integer codes of ``classes`` (``-1`` for a label not among them).

    Concrete labels are looked up on the host; traced labels must already be codes (as in
    ``fit`` under ``vmap``)."""
    if is_traced(y):
        return jnp.asarray(y)
    converted = None if isinstance(y, jax.Array) else _from_pandas(y, owner, "y")
    values = np.asarray(y) if converted is None else converted
    if values.ndim != 1:
        raise ValueError(f"{owner}: y must have shape (n,), got {values.shape}")
    labels = np.asarray(classes)
    if (values.dtype.kind in "biuf" and labels.dtype.kind not in "biuf") or (
            values.dtype.kind not in "biuf" and labels.dtype.kind in "biuf"):
        return jnp.full(values.shape, -1, jnp.int32)
    order = np.argsort(labels, kind="stable")
    position = np.clip(np.searchsorted(labels[order], values), 0, len(labels) - 1)
    found = labels[order][position] == values
    return jnp.asarray(np.where(found, order[position], -1).astype(np.int32))


class Classifier(Estimator):
    """A fitted classifier's shared surface over its ``predict_log_proba`` (``(n, K)``):
    probabilities, decisions and accuracy, each one small compiled kernel."""

    if TYPE_CHECKING:  # what every subclass defines (a field and a method)
        classes_: tuple[Any, ...] | None

        def predict_log_proba(self, X: ArrayLike) -> Array: ...

    def _classes(self) -> tuple[Any, ...]:
        self._check_fitted()  # NotFittedError before fit, when classes_ is still None
        return cast(tuple[Any, ...], self.classes_)

    def predict_proba(self, X: ArrayLike) -> Array:
        """Probabilities of each class, ``(n, K)``."""
        return _probabilities(self.predict_log_proba(X))

    def predict(self, X: ArrayLike) -> Any:
        """The most probable class label of each row."""
        return decode_labels(self._classes(), _most_probable(self.predict_log_proba(X)))

    def score(self, X: ArrayLike, y: ArrayLike) -> Array:
        """Mean accuracy on ``(X, y)`` (:func:`mlmath.metrics.accuracy`)."""
        log_proba = self.predict_log_proba(X)
        check_label_shape(y, log_proba.shape[0], type(self).__name__)
        predicted = _most_probable(log_proba)
        return metrics.accuracy(label_codes(self._classes(), y, type(self).__name__), predicted)
