"""Trace-time checks on shapes and static arguments (private).

Pure functions never look at values (they may be traced); they only check what is known
when tracing: shapes, dtypes and Python arguments. Every error names the argument and says
what it got and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np


def float_dtype_of(*arrays):
    """The floating dtype a computation on ``arrays`` should use.

    Floating inputs keep their (promoted) dtype; integer and boolean inputs become the
    default float (float32, or float64 under ``jax_enable_x64``).
    """
    floating = [a.dtype for a in arrays if jnp.issubdtype(a.dtype, jnp.floating)]
    if floating:
        return jnp.result_type(*floating)
    return jnp.result_type(float)


def as_float(x, name: str, dtype=None):
    """``x`` as a JAX array of floating dtype; raises ``TypeError`` for complex input."""
    array = jnp.asarray(x)
    if jnp.issubdtype(array.dtype, jnp.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    if dtype is None:
        dtype = float_dtype_of(array)
    return array.astype(dtype)


def as_floats(names: Sequence[str], values: Sequence) -> list:
    """Several parameters as arrays of one common floating dtype."""
    arrays = []
    for name, value in zip(names, values, strict=True):
        array = jnp.asarray(value)
        if jnp.issubdtype(array.dtype, jnp.complexfloating):
            raise TypeError(f"{name} must be real, got dtype {array.dtype}")
        arrays.append(array)
    dtype = float_dtype_of(*arrays)
    return [a.astype(dtype) for a in arrays]


def broadcast_shapes_or_raise(owner: str, **shapes) -> tuple[int, ...]:
    """``np.broadcast_shapes`` of the named shapes, or a ``ValueError`` naming them all."""
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        described = ", ".join(f"{name} shape {tuple(shape)}" for name, shape in shapes.items())
        raise ValueError(f"{owner}: {described} do not broadcast together") from None


def broadcast_parameters(owner: str, **parameters):
    """Broadcast named parameters (already arrays) to one shape, or raise naming them."""
    shape = broadcast_shapes_or_raise(
        owner, **{name: value.shape for name, value in parameters.items()}
    )
    return [jnp.broadcast_to(value, shape) for value in parameters.values()]


def shape_tuple(shape, name: str = "sample_shape") -> tuple[int, ...]:
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


def log_base(base) -> float | None:
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


def in_base(nats, base):
    """Convert a quantity measured in nats to the unit given by ``base``."""
    scale = log_base(base)
    return nats if scale is None else nats / scale
