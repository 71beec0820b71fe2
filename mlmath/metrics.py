r"""Evaluation metrics: counts of a classifier's decisions, log loss, regression errors.

Arguments come in scikit-learn's order, ``(y_true, y_pred)``, and the values equal
:mod:`sklearn.metrics`' (with ``zero_division=0``) except where a docstring says otherwise.

Conventions
-----------
* **Class labels are integers** ``0..K-1`` (or booleans). ``K`` is ``num_classes``, a static
  argument: pass it under ``jit`` or ``vmap``, e.g.
  ``jax.jit(f1, static_argnames=("average", "num_classes"))``. When it is omitted the labels
  must be concrete and ``K = max(y_true.max(), y_pred.max()) + 1``. Concrete labels are
  checked (non-negative, below ``num_classes``): a label outside the range is a
  ``ValueError`` naming the argument, the label and the range. Traced labels cannot be
  checked, and a label outside ``0..K-1`` then makes the result NaN (never a count with the
  sample left out, and never a negative label wrapped round to the last class).
* **String labels** (NumPy string arrays, lists of ``str``, object arrays of strings), which
  scikit-learn accepts, are accepted by the counting metrics (:func:`accuracy`,
  :func:`confusion_matrix`, :func:`precision`, :func:`recall`, :func:`f1`) and the log
  losses. They are compared on the host with NumPy and encoded as integer codes before the
  compiled kernel runs: class ``k`` is the ``k``-th of the sorted distinct labels (of
  ``y_true`` and ``y_pred`` together; of ``y_true`` for a log loss, whose columns they
  name), as scikit-learn orders them. With string labels ``num_classes`` is the number of
  distinct labels, and for ``average="binary"`` ``pos_label`` must be one of them (as in
  scikit-learn, whose default ``pos_label=1`` is not a string label either). String labels
  must be concrete: under ``jit`` pass integer codes. Float labels are a ``TypeError``.
* **A ratio whose denominator is zero is 0** (scikit-learn's ``zero_division=0``): the
  precision of a class that is never predicted, the recall of a class absent from
  ``y_true``. Nothing returns NaN for it.
* ``average``: ``"binary"`` (the class ``pos_label`` of two classes 0 and 1),
  ``"micro"`` (pool the counts of all classes), ``"macro"`` (the unweighted mean over the
  classes that occur in ``y_true`` or ``y_pred``, as scikit-learn when ``labels`` is not
  given), ``"weighted"`` (the mean weighted by each class's support in ``y_true``) or
  ``None`` (one value per class, shape ``(K,)``).
* ``sample_weight`` (shape ``(n,)``) weights every count; ``"macro"`` still averages over
  the classes whose labels occur, whatever their weights (as scikit-learn).
* Counts are floating point (float32 by default: exact up to 2**24 per cell).
* Each function checks its arguments eagerly and then runs one compiled kernel, so a plain
  call compiles once per shape instead of dispatching its operations one by one.

The counting metrics are piecewise constant in the labels, so they have no useful gradient;
:func:`log_loss`, :func:`log_loss_from_logits`, :func:`mean_squared_error` and
:func:`r2_score` are differentiable in the predictions.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from mlmath import losses
from mlmath._validation import (
    as_float,
    as_floats,
    concrete_value,
    integer_labels,
    label_count,
    label_count_argument,
    weight_array,
)
from mlmath.info import contingency_table

__all__ = [
    "accuracy",
    "confusion_matrix",
    "f1",
    "log_loss",
    "log_loss_from_logits",
    "mean_squared_error",
    "precision",
    "r2_score",
    "recall",
]

_AVERAGES = ("binary", "micro", "macro", "weighted", None)
_MULTIOUTPUTS = ("uniform_average", "raw_values")


# ---------------------------------------------------------------------------------------------
# validation (trace time: shapes, dtypes, static arguments; values only when concrete)


_LABEL_KIND = ("integer class labels 0..K-1 (or string labels, compared on the host; booleans "
               "count as 0 and 1)")


def _class_labels(labels: ArrayLike, name: str, function: str) -> Array:
    return integer_labels(labels, name, function, kind=_LABEL_KIND, allow_empty=False)


def _host_labels(labels, name: str, function: str) -> np.ndarray | None:
    """Concrete string labels as a NumPy array; ``None`` for numeric (or traced) labels.

    An object array is read by its elements: integers stay integer labels, strings are
    string labels; anything else is a TypeError naming the argument.
    """
    if isinstance(labels, jax.Array):  # JAX arrays (traced or not) are never strings
        return None
    values = np.asarray(labels)
    if values.dtype.kind == "O":
        values = np.asarray(values.tolist())
    if values.dtype.kind in "biu":
        return None
    if values.dtype.kind not in "US":
        return None  # integer_labels words the TypeError (floats, complex, objects)
    return values


def _encode_labels(function: str, named: dict) -> tuple[dict, np.ndarray | None]:
    """String labels (scikit-learn's other label type) as integer codes, and their classes.

    The classes are the sorted distinct labels of all the arrays (scikit-learn's
    ``unique_labels``); code ``k`` is ``classes[k]``. Numeric labels are returned unchanged
    with ``classes = None``; a mix of string and numeric labels is a TypeError.
    """
    host = {name: _host_labels(values, name, function) for name, values in named.items()}
    strings = [name for name, values in host.items() if values is not None]
    if not strings:
        return named, None
    if len(strings) != len(named):
        numeric = [name for name in named if name not in strings]
        raise TypeError(
            f"{function}: {' and '.join(strings)} {'holds' if len(strings) == 1 else 'hold'} "
            f"string labels but {' and '.join(numeric)} numeric ones; pass labels of one kind "
            f"(as scikit-learn, which refuses a mix of label types)"
        )
    encoded = {name: values for name, values in host.items() if values is not None}
    for name, values in encoded.items():
        if values.ndim != 1:
            raise ValueError(
                f"{function}: {name} must have shape (n,), got shape {values.shape}: labels are "
                "one-dimensional"
            )
    classes = np.unique(np.concatenate(list(encoded.values())))
    codes = {name: jnp.asarray(np.searchsorted(classes, values).astype(np.int32))
             for name, values in encoded.items()}
    return codes, classes


def _label_pair(function: str, y_true: ArrayLike, y_pred: ArrayLike,
                ) -> tuple[Array, Array, np.ndarray | None]:
    """Both label arrays checked (and string labels encoded), with the string classes."""
    codes, classes = _encode_labels(function, {"y_true": y_true, "y_pred": y_pred})
    y_true = _class_labels(codes["y_true"], "y_true", function)
    y_pred = _class_labels(codes["y_pred"], "y_pred", function)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{function}: y_true and y_pred must have the same length, got shapes "
            f"{y_true.shape} and {y_pred.shape}"
        )
    return y_true, y_pred, classes


def _string_num_classes(function: str, num_classes, classes) -> int | None:
    """``num_classes`` for string labels: omitted, or the number of distinct labels."""
    num_classes = label_count_argument(num_classes, "num_classes", function)
    if num_classes is not None and num_classes != len(classes):
        raise ValueError(
            f"{function}: with string labels the classes are the {len(classes)} distinct "
            f"labels {classes.tolist()}, so num_classes must be {len(classes)} or omitted, "
            f"got {num_classes}"
        )
    return len(classes)


def _weights(function: str, sample_weight, shape, dtype=None):
    return weight_array(sample_weight, shape, function, dtype)


def _check_average(function: str, average):
    if not any(average is option or average == option for option in _AVERAGES):
        raise ValueError(
            f"{function}: average must be 'binary', 'micro', 'macro', 'weighted' or None, "
            f"got {average!r}"
        )


def _check_pos_label(function: str, pos_label):
    if isinstance(pos_label, bool) or not isinstance(pos_label, int | np.integer) or (
        pos_label not in (0, 1)
    ):
        raise ValueError(
            f"{function}: pos_label must be 0 or 1 (a static int) for average='binary', "
            f"got {pos_label!r}"
        )


def _num_classes(function: str, labels: dict, num_classes, binary: bool = False) -> int:
    """The number of classes: given, 2 for ``binary``, or read from concrete labels
    (:func:`mlmath._validation.label_count`, which checks concrete labels against it)."""
    num_classes = label_count_argument(num_classes, "num_classes", function)
    if binary:
        if num_classes not in (None, 2):
            raise ValueError(
                f"{function}: average='binary' is for the two classes 0 and 1, so num_classes "
                f"must be 2 or omitted, got {num_classes}"
            )
        concrete = [concrete_value(values) for values in labels.values()]
        largest = max((int(v.max()) for v in concrete if v is not None and v.size), default=0)
        if largest > 1:
            raise ValueError(
                f"{function}: average='binary' needs labels 0 and 1 only, but the labels "
                f"include {largest}, so more than two classes are present; use "
                f"average='micro', 'macro', 'weighted' or None for more classes"
            )
        num_classes = 2
    return label_count(labels, num_classes, "num_classes", function)


def _string_pos_label(function: str, pos_label, classes) -> int:
    """The code of ``pos_label`` among two string classes (scikit-learn's binary rule)."""
    if len(classes) > 2:
        raise ValueError(
            f"{function}: average='binary' needs two classes, but the labels include "
            f"{len(classes)}: {classes.tolist()}; use average='micro', 'macro', 'weighted' or "
            f"None for more classes"
        )
    matches = np.flatnonzero(classes == np.asarray(pos_label)) if isinstance(
        pos_label, str | bytes | np.str_ | np.bytes_) else np.array([], int)
    if matches.size == 0:
        raise ValueError(
            f"{function}: pos_label={pos_label!r} is not a valid label: with string labels it "
            f"must be one of {classes.tolist()}"
        )
    return int(matches[0])


def _divide(numerator, denominator):
    """``numerator / denominator``, 0 where the denominator is 0 (``zero_division=0``)."""
    nonzero = denominator != 0
    return jnp.where(nonzero, numerator / jnp.where(nonzero, denominator, 1), 0)


# ---------------------------------------------------------------------------------------------
# classification counts


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None,
                     sample_weight: ArrayLike | None = None) -> Array:
    r"""Confusion matrix: entry ``[i, j]`` counts samples of true class ``i`` predicted ``j``.

    .. math:: C_{ij} = \sum_s w_s\,[y_s = i]\,[\hat y_s = j]

    Rows are true classes and columns predicted classes, as
    :func:`sklearn.metrics.confusion_matrix` (which returns integers when unweighted; this
    returns floats). Built by :func:`mlmath.info.contingency_table`. With string labels the
    classes are the sorted distinct labels of both arrays, as in scikit-learn.

    Args:
        y_true: true class labels ``0..K-1``, shape ``(n,)``.
        y_pred: predicted class labels, shape ``(n,)``.
        num_classes: ``K`` (static); required under ``jit``, else read from the labels.
        sample_weight: optional weights, shape ``(n,)``.

    Returns:
        ``(K, K)`` counts (summed weights).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import confusion_matrix
        >>> confusion_matrix(jnp.array([0, 1, 1, 2]), jnp.array([0, 1, 2, 2])).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    """
    function = "confusion_matrix"
    y_true, y_pred, classes = _label_pair(function, y_true, y_pred)
    weights = _weights(function, sample_weight, y_true.shape)
    if classes is not None:
        num_classes = _string_num_classes(function, num_classes, classes)
    num_classes = _num_classes(function, {"y_true": y_true, "y_pred": y_pred}, num_classes)
    return _confusion_kernel(y_true, y_pred, weights, num_classes)


@partial(jax.jit, static_argnames="num_classes")
def _confusion_kernel(y_true, y_pred, weights, num_classes):
    return contingency_table(y_true, y_pred, num_classes, num_classes, weights)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike, *,
             sample_weight: ArrayLike | None = None) -> Array:
    r"""Fraction of samples whose predicted class is the true one.

    .. math:: \mathrm{accuracy} = \frac{\sum_s w_s\,[y_s = \hat y_s]}{\sum_s w_s}

    Equal to :func:`sklearn.metrics.accuracy_score`, and to the micro-averaged precision,
    recall and F1. It needs no ``num_classes``, and any integer labels (negative ones too)
    are compared as they are. Total weight 0 gives 0.

    Args:
        y_true: true class labels, shape ``(n,)``: integers, booleans, or strings (compared
            on the host; see :mod:`mlmath.metrics`).
        y_pred: predicted class labels, shape ``(n,)``.
        sample_weight: optional weights, shape ``(n,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import accuracy
        >>> float(accuracy(jnp.array([0, 1, 2, 2]), jnp.array([0, 1, 1, 2])))
        0.75
        >>> float(accuracy(["cat", "dog", "dog"], ["cat", "cat", "dog"]))  # string labels
        0.6666666...
    """
    function = "accuracy"
    y_true, y_pred, _ = _label_pair(function, y_true, y_pred)
    weights = _weights(function, sample_weight, y_true.shape)
    return _accuracy_kernel(y_true, y_pred, weights)


@jax.jit
def _accuracy_kernel(y_true, y_pred, weights):
    correct = y_true == y_pred
    if weights is None:
        return jnp.mean(correct.astype(jnp.result_type(float)))
    return _divide(jnp.sum(jnp.where(correct, weights, 0)), jnp.sum(weights))


def _score(score: str, y_true, y_pred, average, pos_label, num_classes, sample_weight):
    """Check the arguments of a counting score, then compute it in one compiled kernel."""
    _check_average(score, average)
    binary = average == "binary"
    y_true, y_pred, classes = _label_pair(score, y_true, y_pred)
    if classes is not None:
        if binary:
            pos_label = _string_pos_label(score, pos_label, classes)
            num_classes = label_count_argument(num_classes, "num_classes", score)
        else:
            num_classes = _string_num_classes(score, num_classes, classes)
    elif binary:
        _check_pos_label(score, pos_label)
    weights = _weights(score, sample_weight, y_true.shape)
    num_classes = _num_classes(score, {"y_true": y_true, "y_pred": y_pred}, num_classes,
                               binary=binary)
    scores = _scores_kernel(y_true, y_pred, weights, num_classes)
    if binary:
        return scores[score, "per_class"][pos_label]
    return scores[score, "per_class" if average is None else average]


@partial(jax.jit, static_argnames="num_classes")
def _scores_kernel(y_true, y_pred, weights, num_classes):
    """Every counting score under every average, keyed ``(score, average or "per_class")``.

    One kernel per shape serves all of them (under an outer ``jit`` the unused ones are
    dropped); binary scores are the per-class values at ``pos_label``.
    """
    table = contingency_table(y_true, y_pred, num_classes, num_classes, weights)
    # scikit-learn's label set is every label that occurs, whatever its weight
    unweighted = table if weights is None else contingency_table(
        y_true, y_pred, num_classes, num_classes
    )
    occurs = (jnp.sum(unweighted, axis=0) + jnp.sum(unweighted, axis=1)) > 0
    true_positive = jnp.diagonal(table)
    support, predicted = jnp.sum(table, axis=1), jnp.sum(table, axis=0)
    ratios = {
        "precision": (true_positive, predicted),
        "recall": (true_positive, support),
        "f1": (2 * true_positive, support + predicted),
    }
    # a traced label outside 0..K-1 makes the table NaN: keep it NaN through the zero checks
    poison = jnp.where(jnp.any(jnp.isnan(table)), jnp.nan, 0.0).astype(table.dtype)
    return {
        (score, average): poison + _averaged(numerator, denominator, support, occurs, average)
        for score, (numerator, denominator) in ratios.items()
        for average in ("micro", "macro", "weighted", "per_class")
    }


def _averaged(numerator, denominator, support, occurs, average):
    """Average the per-class ratios ``numerator / denominator`` as ``average`` says."""
    per_class = _divide(numerator, denominator)
    if average == "per_class":
        return per_class
    if average == "micro":
        return _divide(jnp.sum(numerator), jnp.sum(denominator))
    if average == "macro":
        count = jnp.sum(occurs).astype(per_class.dtype)
        return _divide(jnp.sum(jnp.where(occurs, per_class, 0)), count)
    return _divide(jnp.sum(support * per_class), jnp.sum(support))  # "weighted"


def precision(y_true: ArrayLike, y_pred: ArrayLike, *, average: str | None = "binary",
              pos_label: int = 1, num_classes: int | None = None,
              sample_weight: ArrayLike | None = None) -> Array:
    r"""Precision: of the samples predicted as a class, the fraction that belong to it.

    .. math:: P_k = \frac{TP_k}{TP_k + FP_k} = \frac{C_{kk}}{\sum_i C_{ik}}

    with ``C`` the :func:`confusion_matrix`; averaged over classes as ``average`` says (see
    :mod:`mlmath.metrics`). A class never predicted has precision 0. Equal to
    :func:`sklearn.metrics.precision_score` with ``zero_division=0``.

    Args:
        y_true: true class labels ``0..K-1``, shape ``(n,)``.
        y_pred: predicted class labels, shape ``(n,)``.
        average: ``"binary"`` (default, as scikit-learn), ``"micro"``, ``"macro"``,
            ``"weighted"`` or ``None`` for per-class values (static).
        pos_label: the positive class, 0 or 1, for ``average="binary"`` (static).
        num_classes: ``K`` (static); required under ``jit`` unless ``average="binary"``.
        sample_weight: optional weights, shape ``(n,)``.

    Returns:
        A scalar, or ``(K,)`` when ``average`` is ``None``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import precision
        >>> y_true, y_pred = jnp.array([0, 1, 1, 0]), jnp.array([1, 1, 1, 0])
        >>> round(float(precision(y_true, y_pred)), 6)  # 2 of the 3 predicted 1s are right
        0.666667
    """
    return _score("precision", y_true, y_pred, average, pos_label, num_classes,
                  sample_weight)


def recall(y_true: ArrayLike, y_pred: ArrayLike, *, average: str | None = "binary",
           pos_label: int = 1, num_classes: int | None = None,
           sample_weight: ArrayLike | None = None) -> Array:
    r"""Recall: of the samples of a class, the fraction predicted as that class.

    .. math:: R_k = \frac{TP_k}{TP_k + FN_k} = \frac{C_{kk}}{\sum_j C_{kj}}

    averaged over classes as ``average`` says (see :mod:`mlmath.metrics`). A class absent
    from ``y_true`` has recall 0; the macro average of recall is the balanced accuracy. Equal
    to :func:`sklearn.metrics.recall_score` with ``zero_division=0``.

    Args:
        y_true, y_pred, average, pos_label, num_classes, sample_weight: as in
            :func:`precision`.

    Returns:
        A scalar, or ``(K,)`` when ``average`` is ``None``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import recall
        >>> y_true, y_pred = jnp.array([0, 1, 1, 1]), jnp.array([0, 1, 0, 0])
        >>> round(float(recall(y_true, y_pred)), 6)  # 1 of the 3 true 1s is found
        0.333333
    """
    return _score("recall", y_true, y_pred, average, pos_label, num_classes, sample_weight)


def f1(y_true: ArrayLike, y_pred: ArrayLike, *, average: str | None = "binary", pos_label: int = 1,
       num_classes: int | None = None, sample_weight: ArrayLike | None = None) -> Array:
    r"""F1 score: the harmonic mean of precision and recall, per class.

    .. math:: F_k = \frac{2 P_k R_k}{P_k + R_k} = \frac{2\,TP_k}{2\,TP_k + FP_k + FN_k}

    computed from the counts (the right-hand form), 0 for a class that is neither present
    nor predicted; averaged over classes as ``average`` says (``"macro"`` is the mean of the
    per-class F1, not the F1 of macro precision and recall). Equal to
    :func:`sklearn.metrics.f1_score` with ``zero_division=0``.

    Args:
        y_true, y_pred, average, pos_label, num_classes, sample_weight: as in
            :func:`precision`.

    Returns:
        A scalar, or ``(K,)`` when ``average`` is ``None``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import f1
        >>> y_true, y_pred = jnp.array([0, 1, 1, 0]), jnp.array([1, 1, 0, 0])
        >>> round(float(f1(y_true, y_pred)), 6)  # precision 1/2, recall 1/2
        0.5
    """
    return _score("f1", y_true, y_pred, average, pos_label, num_classes, sample_weight)


# ---------------------------------------------------------------------------------------------
# log loss


def _weighted_mean(values, weights):
    """Mean of ``values`` (shape ``(n,)``) weighted by ``weights``; total weight 0 -> 0."""
    if weights is None:
        return jnp.mean(values)
    # a zero weight excludes its sample, even one whose loss is inf
    total = jnp.sum(jnp.where(weights != 0, weights * values, 0))
    return _divide(total, jnp.sum(weights))


def _check_prediction_rows(function: str, name: str, predictions, y_true):
    if predictions.ndim not in (1, 2) or predictions.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"{function}: {name} must have shape (n, K), or (n,) for class 1 of two classes, "
            f"with n = len(y_true) = {y_true.shape[0]}; got {name} shape {predictions.shape}"
        )
    if predictions.ndim == 2 and predictions.shape[1] == 0:
        raise ValueError(f"{function}: {name} has no classes, shape {predictions.shape}")
    num_classes = 2 if predictions.ndim == 1 else predictions.shape[1]
    _num_classes(function, {"y_true": y_true}, num_classes)


def _prediction_labels(function: str, name: str, y_true, predictions):
    """``y_true`` as integer codes for a log loss: integer labels as given, string labels as
    their index among the sorted distinct labels (scikit-learn's column order)."""
    host = _host_labels(y_true, "y_true", function)
    if host is None:
        return _class_labels(y_true, "y_true", function)
    if host.ndim != 1:
        raise ValueError(
            f"{function}: y_true must have shape (n,), got shape {host.shape}: labels are "
            "one-dimensional"
        )
    classes = np.unique(host)
    columns = 2 if predictions.ndim == 1 else predictions.shape[-1]
    if len(classes) != columns:
        raise ValueError(
            f"{function}: y_true holds {len(classes)} distinct string labels "
            f"{classes.tolist()}, but {name} has {columns} classes: with string labels the "
            f"columns are the sorted distinct labels of y_true (as scikit-learn's), so each "
            f"class must occur; pass integer labels 0..K-1 otherwise"
        )
    return _class_labels(jnp.asarray(np.searchsorted(classes, host).astype(np.int32)), "y_true",
                         function)


def log_loss(y_true: ArrayLike, probs: ArrayLike, *,
             sample_weight: ArrayLike | None = None) -> Array:
    r"""Log loss: the mean negative log-likelihood of ``Categorical(probs)`` at the labels.

    .. math:: \mathrm{log\_loss} = -\frac{\sum_s w_s \log p_{s, y_s}}{\sum_s w_s}

    the mean of :func:`mlmath.losses.softmax_cross_entropy` written with probabilities
    instead of logits. The probabilities are used as given: unlike
    :func:`sklearn.metrics.log_loss`, which clips them to ``[eps, 1 - eps]``, nothing is
    clipped or renormalized, so a probability of 0 on a sample's true class gives ``inf``
    (the model called the observed outcome impossible), while zeros on other classes cost
    nothing (``0 log 0 = 0``). Away from 0 and 1 the value equals scikit-learn's. Prefer
    :func:`log_loss_from_logits` when the model produces logits.

    Args:
        y_true: class labels ``0..K-1``, shape ``(n,)`` (checked when concrete; under
            ``jit`` a label outside the range gives NaN), or string labels, whose sorted
            distinct values name the ``K`` columns (each must occur, as scikit-learn).
        probs: ``(n, K)`` class probabilities (rows summing to one), or ``(n,)``
            probabilities of class 1 when there are two classes.
        sample_weight: optional weights, shape ``(n,)``; a weight of 0 removes its sample.

    Returns:
        A scalar (nats).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import log_loss
        >>> probs = jnp.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
        >>> round(float(log_loss(jnp.array([0, 2]), probs)), 6)  # (log 2 + 0) / 2
        0.346574
        >>> float(log_loss(jnp.array([1, 0]), jnp.array([0.75, 1.0])))  # p(class 0) = 0
        inf
    """
    function = "log_loss"
    probs = as_float(probs, "probs")
    y_true = _prediction_labels(function, "probs", y_true, probs)
    _check_prediction_rows(function, "probs", probs, y_true)
    weights = _weights(function, sample_weight, np.shape(y_true), probs.dtype)
    return _log_loss_kernel(y_true, probs, weights)


def _labels_in_range(y_true, predictions):
    """Whether every label is a class of ``predictions`` (``(n, K)``, or ``(n,)`` for 0 and 1)."""
    num_classes = 2 if predictions.ndim == 1 else predictions.shape[1]
    valid = (y_true >= 0) & (y_true < num_classes)
    return valid, jnp.where(jnp.all(valid), 0.0, jnp.nan).astype(predictions.dtype)


@jax.jit
def _log_loss_kernel(y_true, probs, weights):
    # a label outside the classes (only traced labels get here unchecked) gives NaN
    valid, poison = _labels_in_range(y_true, probs)
    y_true = jnp.where(valid, y_true, 0)
    keep = True if weights is None else weights != 0
    if probs.ndim == 2:
        true_prob = jnp.take_along_axis(probs, y_true[:, None], axis=1)[:, 0]
        # excluded samples read probability 1, so log(0) never meets a zero weight
        log_true = jnp.log(jnp.where(keep, true_prob, 1))
    else:
        is_one = y_true == 1
        # log p for label 1, log1p(-p) (accurate for small p) for label 0; unused inputs
        # are replaced so neither branch sees log(0) where the other is selected
        log_p = jnp.log(jnp.where(is_one & keep, probs, 1))
        log_not_p = jnp.log1p(-jnp.where(~is_one & keep, probs, 0))
        log_true = jnp.where(is_one, log_p, log_not_p)
    return poison - _weighted_mean(log_true, weights)


def log_loss_from_logits(y_true: ArrayLike, logits: ArrayLike, *,
                         sample_weight: ArrayLike | None = None) -> Array:
    r"""Log loss from logits: the mean of :func:`mlmath.losses.softmax_cross_entropy`.

    .. math:: \mathrm{log\_loss} = \frac{\sum_s w_s\,[\mathrm{logsumexp}(z_s) - z_{s,y_s}]}
              {\sum_s w_s}

    The same value as :func:`log_loss` at ``probs = softmax(logits)``, without forming
    probabilities, so logits of any finite size (±1e4 in float32) give the exact finite
    loss and gradient. ``(n,)`` logits are the logit of class 1 of two classes
    (:func:`mlmath.losses.sigmoid_binary_cross_entropy`).

    Infinite logits are taken at their limit and NaN logits give NaN, as in
    :mod:`mlmath.losses`.

    Args:
        y_true: class labels ``0..K-1``, shape ``(n,)``, or string labels (as in
            :func:`log_loss`); under ``jit`` a label outside the range gives NaN.
        logits: ``(n, K)`` unnormalized log-probabilities, or ``(n,)`` logits of class 1.
        sample_weight: optional weights, shape ``(n,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import log_loss_from_logits
        >>> logits = jnp.array([[0.0, 0.0], [1e4, 0.0]])
        >>> round(float(log_loss_from_logits(jnp.array([1, 1]), logits)), 3)  # (log 2 + 1e4)/2
        5000.347
    """
    function = "log_loss_from_logits"
    logits = as_float(logits, "logits")
    y_true = _prediction_labels(function, "logits", y_true, logits)
    _check_prediction_rows(function, "logits", logits, y_true)
    weights = _weights(function, sample_weight, np.shape(y_true), logits.dtype)
    return _log_loss_from_logits_kernel(y_true, logits, weights)


@jax.jit
def _log_loss_from_logits_kernel(y_true, logits, weights):
    valid, poison = _labels_in_range(y_true, logits)
    if logits.ndim == 2:
        per_sample = losses.softmax_cross_entropy(logits, y_true)  # NaN where not valid
    else:
        per_sample = losses.sigmoid_binary_cross_entropy(
            logits, jnp.where(valid, y_true, 0).astype(logits.dtype))
    return poison + _weighted_mean(per_sample, weights)


# ---------------------------------------------------------------------------------------------
# regression


def _regression_inputs(function: str, y_true, y_pred, sample_weight, multioutput):
    if multioutput not in _MULTIOUTPUTS:
        raise ValueError(
            f"{function}: multioutput must be 'uniform_average' or 'raw_values', "
            f"got {multioutput!r}"
        )
    names: tuple[str, ...] = ("y_true", "y_pred")
    values: tuple[ArrayLike, ...] = (y_true, y_pred)
    if sample_weight is not None:
        names, values = (*names, "sample_weight"), (*values, sample_weight)
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, jax.Array) and np.asarray(value).dtype.kind in "USO":
            raise TypeError(
                f"{function}: {name} must be numeric (regression values, as in scikit-learn), "
                f"got dtype {np.asarray(value).dtype}"
            )
    arrays = as_floats(names, values)
    y_true, y_pred = arrays[0], arrays[1]
    if y_true.ndim not in (1, 2):
        raise ValueError(
            f"{function}: y_true must have shape (n,) or (n, num_outputs), got {y_true.shape}"
        )
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"{function}: y_pred must have the shape of y_true {y_true.shape}, "
            f"got {y_pred.shape}"
        )
    if y_true.shape[0] == 0:
        raise ValueError(f"{function}: y_true is empty; metrics need at least one sample")
    weights = None
    if sample_weight is not None:
        weights = _weights(function, arrays[2], y_true.shape[:1])
    # one column per output, as scikit-learn: raw_values always has shape (num_outputs,)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    return y_true, y_pred, weights


def _column_mean(values, weights):
    """Mean of each column of ``values`` ``(n, d)``, weighted by ``weights`` ``(n,)``."""
    if weights is None:
        return jnp.mean(values, axis=0)
    return _divide(jnp.sum(weights[:, None] * values, axis=0), jnp.sum(weights))


def _combine_outputs(per_output, multioutput):
    return per_output if multioutput == "raw_values" else jnp.mean(per_output)


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike, *,
                       sample_weight: ArrayLike | None = None,
                       multioutput: str = "uniform_average") -> Array:
    r"""Mean squared error :math:`\frac{\sum_s w_s (y_s - \hat y_s)^2}{\sum_s w_s}`.

    The mean of :func:`mlmath.losses.squared_error`: the Gaussian negative log-likelihood
    with unit variance, up to scale and constant. Equal to
    :func:`sklearn.metrics.mean_squared_error`.

    Args:
        y_true: targets, shape ``(n,)`` or ``(n, num_outputs)``.
        y_pred: predictions, the shape of ``y_true``.
        sample_weight: optional weights, shape ``(n,)``.
        multioutput: ``"uniform_average"`` (the mean over outputs) or ``"raw_values"``
            (one value per output, shape ``(num_outputs,)``; ``(1,)`` for 1-D targets).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import mean_squared_error
        >>> float(mean_squared_error(jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, 2.0, 5.0])))
        1.3333333...
    """
    y_true, y_pred, weights = _regression_inputs(
        "mean_squared_error", y_true, y_pred, sample_weight, multioutput
    )
    return _mean_squared_error_kernel(y_true, y_pred, weights, multioutput)


@partial(jax.jit, static_argnames="multioutput")
def _mean_squared_error_kernel(y_true, y_pred, weights, multioutput):
    per_output = _column_mean(losses.squared_error(y_pred, y_true), weights)
    return _combine_outputs(per_output, multioutput)


def r2_score(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None,
             multioutput: str = "uniform_average") -> Array:
    r"""Coefficient of determination :math:`R^2 = 1 - SS_{res} / SS_{tot}`, per output.

    .. math:: R^2 = 1 - \frac{\sum_s w_s (y_s - \hat y_s)^2}{\sum_s w_s (y_s - \bar y)^2},
              \qquad \bar y = \frac{\sum_s w_s y_s}{\sum_s w_s}

    1 for a perfect fit, 0 for predicting the mean, negative for worse. Constant targets
    (:math:`SS_{tot} = 0`) give 1.0 for a perfect fit and 0.0 otherwise, as
    :func:`sklearn.metrics.r2_score` with ``force_finite=True``; the mean is taken about the
    first target, so targets that are all equal give :math:`SS_{tot} = 0` exactly (in
    scikit-learn, rounding of the mean of e.g. three 0.1s leaves a tiny :math:`SS_{tot}` and
    a score of -1.7e31). Fewer than two samples give NaN, as scikit-learn.

    Args:
        y_true: targets, shape ``(n,)`` or ``(n, num_outputs)``.
        y_pred: predictions, the shape of ``y_true``.
        sample_weight: optional weights, shape ``(n,)``.
        multioutput: ``"uniform_average"`` (default, the mean of the outputs' scores) or
            ``"raw_values"`` (shape ``(num_outputs,)``; ``(1,)`` for 1-D targets).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.metrics import r2_score
        >>> y = jnp.array([1.0, 2.0, 3.0])
        >>> float(r2_score(y, jnp.array([1.0, 2.0, 4.0]))), float(r2_score(y, jnp.full(3, 2.0)))
        (0.5, 0.0)
    """
    y_true, y_pred, weights = _regression_inputs(
        "r2_score", y_true, y_pred, sample_weight, multioutput
    )
    return _r2_kernel(y_true, y_pred, weights, multioutput)


@partial(jax.jit, static_argnames="multioutput")
def _r2_kernel(y_true, y_pred, weights, multioutput):
    if y_true.shape[0] < 2:
        return _combine_outputs(jnp.full(y_true.shape[1:], jnp.nan, y_true.dtype), multioutput)
    residual = _column_mean(losses.squared_error(y_pred, y_true), weights)
    shift = y_true[0]
    centre = shift + _column_mean(y_true - shift, weights)
    total = _column_mean(jnp.square(y_true - centre), weights)
    # the means share the factor 1 / sum(w), so their ratio is SS_res / SS_tot
    nonconstant = total != 0
    score = jnp.where(
        nonconstant,
        1 - residual / jnp.where(nonconstant, total, 1),
        jnp.where(residual == 0, 1.0, 0.0).astype(y_true.dtype),
    )
    return _combine_outputs(score, multioutput)
