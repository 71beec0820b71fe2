"""Trace-time checks on shapes and static arguments (private).

Pure functions never look at values (they may be traced); they only check what is known
when tracing: shapes, dtypes and Python arguments. Every error names the argument and says
what it got and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike, DTypeLike


def is_traced(x: object) -> bool:
    """Whether ``x`` is a JAX tracer (inside ``jit``/``vmap``/``grad``): its values are unknown.

    The one test of traced-ness in mlmath: value checks run only when this is false.
    """
    return isinstance(x, jax.core.Tracer)


def concrete_value(x: ArrayLike) -> np.ndarray | None:
    """``x`` as a NumPy array, or ``None`` if it is traced (its value cannot be read)."""
    if is_traced(x):
        return None
    return np.asarray(x)


# XLA's CPU client uses a host buffer aligned to this many bytes in place
_HOST_ALIGNMENT = 64


def aligned_host_copy(x: np.ndarray, dtype: DTypeLike | None = None) -> np.ndarray:
    """A fresh copy of the NumPy array ``x``, converted to ``dtype``, whose buffer is aligned
    so that ``jax.device_put`` of it on the CPU uses its memory in place.

    ``jnp.asarray`` of a large NumPy array takes a slow copy on the CPU (measured: 80 ms for
    100 MB, where NumPy copies it in 15 ms), while ``device_put`` of an array aligned to 64
    bytes takes no copy at all. The copy belongs to the caller alone, so nothing done to
    ``x`` later can change the device array made from it.
    """
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    size = x.size * dtype.itemsize
    raw = np.empty(size + _HOST_ALIGNMENT, np.uint8)
    offset = -raw.ctypes.data % _HOST_ALIGNMENT
    aligned = raw[offset:offset + size].view(dtype).reshape(x.shape)
    with np.errstate(over="ignore"):  # a value beyond dtype's range becomes inf: callers
        np.copyto(aligned, x, casting="unsafe")  # check finiteness after the conversion
    return aligned


def float_dtype_of(*arrays: Array) -> np.dtype:
    """The floating dtype a computation on ``arrays`` should use.

    Floating inputs keep their (promoted) dtype; integer and boolean inputs become the
    default float (float32, or float64 under ``jax_enable_x64``).
    """
    floating = [a.dtype for a in arrays if jnp.issubdtype(a.dtype, jnp.floating)]
    if floating:
        return jnp.result_type(*floating)
    return jnp.result_type(float)


def as_float(x: ArrayLike, name: str, dtype: DTypeLike | None = None) -> Array:
    """``x`` as a JAX array of floating dtype; raises ``TypeError`` for complex input."""
    array = jnp.asarray(x)
    if jnp.issubdtype(array.dtype, jnp.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    if dtype is None:
        dtype = float_dtype_of(array)
    return array.astype(dtype)


def as_floats(names: Sequence[str], values: Sequence[ArrayLike]) -> list[Array]:
    """Several parameters as arrays of one common floating dtype."""
    arrays = []
    for name, value in zip(names, values, strict=True):
        array = jnp.asarray(value)
        if jnp.issubdtype(array.dtype, jnp.complexfloating):
            raise TypeError(f"{name} must be real, got dtype {array.dtype}")
        arrays.append(array)
    dtype = float_dtype_of(*arrays)
    return [a.astype(dtype) for a in arrays]


def broadcast_shapes_or_raise(owner: str, **shapes: Sequence[int]) -> tuple[int, ...]:
    """``np.broadcast_shapes`` of the named shapes, or a ``ValueError`` naming them all."""
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        described = ", ".join(f"{name} shape {tuple(shape)}" for name, shape in shapes.items())
        raise ValueError(f"{owner}: {described} do not broadcast together") from None


def broadcast_parameters(owner: str, **parameters: Array) -> list[Array]:
    """Broadcast named parameters (already arrays) to one shape, or raise naming them."""
    shape = broadcast_shapes_or_raise(
        owner, **{name: value.shape for name, value in parameters.items()}
    )
    return [jnp.broadcast_to(value, shape) for value in parameters.values()]


def shape_tuple(shape: int | Sequence[int], name: str = "sample_shape") -> tuple[int, ...]:
    """A sample shape given as an int or a sequence of ints, as a tuple."""
    if isinstance(shape, int | np.integer):
        shape = (int(shape),)
    try:
        result = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in result):
        raise ValueError(f"{name} must not contain negative sizes, got {result}")
    return result


def normalize_axis(axis: int, ndim: int, name: str = "axis") -> int:
    """A non-negative axis index, or a ``ValueError`` for an out-of-range axis."""
    if not isinstance(axis, int | np.integer):
        raise TypeError(f"{name} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array with {ndim} dimensions")
    return int(axis) % ndim


def log_base(base: float | None) -> float | None:
    """``log(base)`` for an information unit (``None`` means nats), checked."""
    if base is None:
        return None
    try:
        value = float(base)
    except TypeError:
        raise TypeError(f"base must be a positive number other than 1, got {base!r}") from None
    if not value > 0 or value == 1:
        raise ValueError(f"base must be a positive number other than 1, got {base!r}")
    return math.log(value)


def in_base(nats: Array, base: float | None) -> Array:
    """Convert a quantity measured in nats to the unit given by ``base``."""
    scale = log_base(base)
    return nats if scale is None else nats / scale


def integer_labels(labels: ArrayLike, name: str, owner: str | None = None,
                   kind: str = "integer labels", allow_empty: bool = True) -> Array:
    """``labels`` as a 1-D ``int32`` array, or a ``TypeError`` / ``ValueError`` naming it.

    The one check of integer label arrays (information measures, metrics, losses): the
    dtype must be integer or boolean and the shape ``(n,)``. ``kind`` words the expectation
    (e.g. ``"integer class labels 0..K-1"``); ``owner`` prefixes the message.
    """
    prefix = f"{owner}: " if owner else ""
    labels = jnp.asarray(labels)
    if not (jnp.issubdtype(labels.dtype, jnp.integer) or labels.dtype == jnp.bool_):
        raise TypeError(f"{prefix}{name} must hold {kind}, got dtype {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(
            f"{prefix}{name} must have shape (n,), got shape {labels.shape}: labels are "
            "one-dimensional"
        )
    if not allow_empty and labels.shape[0] == 0:
        raise ValueError(f"{prefix}{name} is empty; at least one sample is needed")
    return labels.astype(jnp.int32)


def label_count_argument(num: object, num_name: str, owner: str | None = None) -> int | None:
    """``num`` (a number of label values) as an ``int``, ``None`` if omitted, or a
    ``ValueError`` naming ``num_name``: it must be a positive int (it is static under jit)."""
    prefix = f"{owner}: " if owner else ""
    if num is None:
        return None
    if isinstance(num, bool) or not isinstance(num, int | np.integer) or num < 1:
        raise ValueError(f"{prefix}{num_name} must be a positive int (static under jit), "
                         f"got {num!r}")
    return int(num)


def label_count(labels: dict[str, ArrayLike], num: int | None, num_name: str,
                owner: str | None = None) -> int:
    """The number of label values ``K`` for integer labels ``0..K-1``: ``num``, or one more
    than the largest concrete label.

    The one range check of integer labels (information measures, metrics). ``labels`` maps
    each argument's name to its array. Concrete labels outside ``0..num - 1`` are a
    ``ValueError`` naming the argument, the label and the range; traced labels cannot be read
    (``num`` must then be given, and the pure kernel gives NaN for a label out of range).
    """
    prefix = f"{owner}: " if owner else ""
    num = label_count_argument(num, num_name, owner)
    read = {name: concrete_value(values) for name, values in labels.items()}
    names = " and ".join(labels)
    concrete = {name: values for name, values in read.items() if values is not None}
    if len(concrete) < len(read):
        if num is None:
            raise ValueError(f"{prefix}{num_name} must be given when {names} are traced (under "
                             "jit or vmap); pass it as a static argument")
        return num
    concrete = {name: values for name, values in concrete.items() if values.size}
    if not concrete:
        if num is None:
            raise ValueError(f"{prefix}{names} are empty; pass {num_name} to define the label "
                             "set")
        return num
    valid = f"0..{num - 1} ({num_name}={num})" if num is not None else f"0..{num_name} - 1"
    for name, values in concrete.items():
        if values.min() < 0:
            raise ValueError(f"{prefix}{name} must hold labels 0..K-1, got label {values.min()}, "
                             f"outside the valid range {valid}")
    largest = max(int(values.max()) for values in concrete.values())
    if num is None:
        return largest + 1
    if largest >= num:
        name = next(name for name, values in concrete.items() if values.max() == largest)
        raise ValueError(f"{prefix}{name} contains label {largest}, outside the valid range "
                         f"{valid}")
    return num


def weight_array(sample_weight: ArrayLike | None, shape: Sequence[int], owner: str | None = None,
                 dtype: DTypeLike | None = None, described: str = "shape") -> Array | None:
    """``sample_weight`` as a floating array of exactly ``shape`` (one weight per sample).

    ``None`` stays ``None``; ``described`` words the expected shape in the message. The
    one shape check of per-sample weights; value checks (finite, non-negative) belong to
    the validating entry points, which can see values.
    """
    if sample_weight is None:
        return None
    weights = as_float(sample_weight, "sample_weight", dtype)
    if weights.shape != tuple(shape):
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}sample_weight must have {described} {tuple(shape)} (one weight per sample), "
            f"got {weights.shape}"
        )
    return weights
