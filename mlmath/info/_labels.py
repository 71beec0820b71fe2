"""Mutual information from joint tables and from label arrays; information gain."""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike
from jaxtyping import Float

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import (
    as_float,
    in_base,
    integer_labels,
    label_count,
    log_base,
    weight_array,
)

# Shapes for static checkers and readers (not checked at run time).
_JointTable = Float[ArrayLike, "*batch X Y"]
_Batch = Float[Array, "*batch"]
_Table = Float[Array, "X Y"]


@jit(static_argnames="base")
def mutual_information(joint: _JointTable, base: float | None = None) -> _Batch:
    r"""Mutual information :math:`I(X;Y)` of a joint table over its last two axes.

    .. math:: I(X;Y) = \sum_{x,y} p(x,y)\log\frac{p(x,y)}{p(x)\,p(y)}
              = H(X) + H(Y) - H(X,Y)

    The table may hold probabilities or counts (it is normalized; an all-zero table gives 0).
    Computed as :math:`D_{KL}(P_{XY}\|P_X P_Y)` with the non-negative per-term form, so it
    is never negative.

    Args:
        joint: ``(..., num_x, num_y)`` non-negative table.
        base: ``None`` for nats, ``2`` for bits.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import mutual_information
        >>> round(float(mutual_information(jnp.array([[0.5, 0.0], [0.0, 0.5]]), base=2)), 12)
        1.0
    """
    log_base(base)
    joint = as_float(joint, "joint")
    if joint.ndim < 2:
        raise ValueError(
            f"mutual_information: joint must have shape (..., num_x, num_y), got {joint.shape}"
        )
    total = jnp.sum(joint, axis=(-2, -1), keepdims=True)
    nonempty = total > 0
    joint = joint / jnp.where(nonempty, total, 1.0)
    p_x = jnp.sum(joint, axis=-1, keepdims=True)
    p_y = jnp.sum(joint, axis=-2, keepdims=True)
    terms = _special.kl_terms(joint, p_x * p_y)
    return in_base(jnp.sum(terms, axis=(-2, -1)), base)


def contingency_table(labels_x: ArrayLike, labels_y: ArrayLike, num_x: int | None = None,
                      num_y: int | None = None, sample_weight: ArrayLike | None = None) -> _Table:
    """Counts (or summed weights) of each pair of labels: a ``(num_x, num_y)`` table.

    Labels are integers ``0..num - 1``. When ``num_x`` / ``num_y`` are omitted they are read
    from the labels, which must then be concrete (not traced); under ``jit`` pass them.
    Concrete labels outside the range raise a ValueError naming the argument, the label and
    the range; traced ones cannot be checked, and a label outside the range then makes the
    whole table NaN (never a table with the sample silently left out).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import contingency_table
        >>> contingency_table(jnp.array([0, 0, 1]), jnp.array([1, 1, 0])).tolist()
        [[0.0, 2.0], [1.0, 0.0]]
    """
    return _contingency(labels_x, labels_y, num_x, num_y, sample_weight,
                        ("labels_x", "labels_y"), ("num_x", "num_y"))


def _contingency(labels_x, labels_y, num_x, num_y, sample_weight, names, num_names):
    """``contingency_table`` with the caller's argument names in its error messages."""
    labels_x = integer_labels(labels_x, names[0])
    labels_y = integer_labels(labels_y, names[1])
    if labels_x.shape != labels_y.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same length, got shapes "
            f"{labels_x.shape} and {labels_y.shape}"
        )
    num_x = label_count({names[0]: labels_x}, num_x, num_names[0])
    num_y = label_count({names[1]: labels_y}, num_y, num_names[1])
    if sample_weight is None:
        weights = jnp.ones(labels_x.shape, dtype=jnp.result_type(float))
    else:
        weights = weight_array(sample_weight, labels_x.shape, described="the labels' shape")
    return _contingency_kernel(labels_x, labels_y, weights, num_x, num_y)


@jit(static_argnames=("num_x", "num_y"))
def _contingency_kernel(labels_x, labels_y, weights, num_x: int, num_y: int):
    valid = (labels_x >= 0) & (labels_x < num_x) & (labels_y >= 0) & (labels_y < num_y)
    flat = jnp.where(valid, labels_x * num_y + labels_y, 0)
    counts = jnp.bincount(flat, weights=jnp.where(valid, weights, 0.0), length=num_x * num_y)
    # a label outside the range (only traced labels get here unchecked) makes the table NaN
    counts = jnp.where(jnp.all(valid), counts, jnp.nan)
    return counts.reshape(num_x, num_y)


def mutual_info_score(labels_x: ArrayLike, labels_y: ArrayLike, num_x: int | None = None,
                      num_y: int | None = None, base: float | None = None) -> Array:
    r"""Mutual information (nats) between two labelings of the same samples.

    The mutual information of the empirical joint distribution of the label pairs, equal to
    :func:`sklearn.metrics.mutual_info_score` (for integer labels ``0..num - 1``).

    Args:
        labels_x, labels_y: integer labels ``0..num - 1``, shape ``(n,)``. Concrete labels
            outside the range raise a ValueError; traced ones give NaN.
        num_x, num_y: the number of label values (static); required under ``jit``.
        base: ``None`` for nats, ``2`` for bits.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import mutual_info_score
        >>> float(mutual_info_score(jnp.array([0, 0, 1, 1]), jnp.array([1, 1, 0, 0]), base=2))
        1.0
    """
    log_base(base)
    table = contingency_table(labels_x, labels_y, num_x, num_y)
    return mutual_information(table, base=base)


@jit(static_argnames=("num_classes", "num_branches", "base"))
def information_gain(labels: ArrayLike, split: ArrayLike, num_classes: int, num_branches: int = 2,
                     sample_weight: ArrayLike | None = None, base: float | None = None) -> Array:
    r"""Entropy reduction of the class labels that a split gives: :math:`H(Y) - H(Y\mid S)`.

    .. math:: IG = H(Y) - \sum_s \frac{n_s}{n} H(Y \mid S = s) = I(Y; S)

    the criterion a decision tree maximizes when it chooses a split. ``split`` says which
    branch each sample goes to (a boolean for a binary split, or integers
    ``0..num_branches - 1``); ``sample_weight`` weights samples (bootstrap counts, say).

    Args:
        labels: integer class labels ``0..num_classes - 1``, shape ``(n,)``.
        split: branch of each sample, ``0..num_branches - 1``, shape ``(n,)``. A label or a
            branch outside its range gives NaN (the labels are traced: this function is
            jitted).
        num_classes: number of classes (static).
        num_branches: number of branches (static), 2 by default.
        sample_weight: optional non-negative weights, shape ``(n,)``.
        base: ``None`` for nats, ``2`` for bits.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import information_gain
        >>> y = jnp.array([0, 0, 1, 1])
        >>> round(float(information_gain(y, y == 1, num_classes=2, base=2)), 12)  # perfect split
        1.0
    """
    log_base(base)
    table = _contingency(labels, split, num_classes, num_branches, sample_weight,
                         ("labels", "split"), ("num_classes", "num_branches"))
    return mutual_information(table, base=base)
