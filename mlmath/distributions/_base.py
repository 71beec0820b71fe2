"""The common surface of every distribution."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike, DTypeLike

from mlmath._jit import jit
from mlmath._validation import broadcast_shapes_or_raise, concrete_value, shape_tuple

# The parameter constraints the families share: (predicate on arrays, words for messages).
# Each predicate is False for NaN, so that one mask serves both purposes.
CONSTRAINTS = {
    "positive": (lambda v: (v > 0) & (v < np.inf), "> 0 and finite"),
    "nonnegative": (lambda v: (v >= 0) & (v < np.inf), ">= 0 and finite"),
    "finite": (lambda v: (v > -np.inf) & (v < np.inf), "finite"),
    "probability": (lambda v: (v >= 0) & (v <= 1), "in [0, 1]"),
    "not_nan": (lambda v: v == v, "a number (not NaN)"),
}


def satisfies(value: ArrayLike, constraint: str) -> Array:
    """Elementwise mask of the entries of ``value`` that satisfy a named constraint."""
    return CONSTRAINTS[constraint][0](value)


def raise_if_invalid(owner: str, name: str, value: ArrayLike, ok: ArrayLike,
                     expected: str) -> None:
    """``ValueError`` naming ``name``, its first offending entry and what was expected."""
    ok = np.broadcast_to(ok, np.shape(value)) if np.ndim(ok) < np.ndim(value) else ok
    if np.all(ok):
        return
    bad = np.argwhere(~np.asarray(ok))[0]
    got = np.asarray(value)[tuple(bad)] if np.ndim(value) else np.asarray(value)[()]
    at = f" at index {tuple(int(i) for i in bad)}" if np.ndim(value) else ""
    raise ValueError(
        f"{owner}: {name} must be {expected}, got {got}{at} "
        "(validate_args=False gives NaN results instead of this error)"
    )


def concrete_parameters(validate_args: bool, *values: ArrayLike) -> list[np.ndarray] | None:
    """The parameters as NumPy arrays when they are to be checked: ``validate_args`` is true
    and none of them is traced (inside ``jit``/``vmap``/``grad`` nothing is checked)."""
    if not validate_args:
        return None
    arrays = [concrete_value(value) for value in values]
    if any(array is None for array in arrays):
        return None
    return arrays  # type: ignore[return-value]


def check_constraints(owner: str, validate_args: bool, **parameters) -> None:
    """Raise a ``ValueError`` for a concrete parameter that breaks its constraint.

    ``parameters`` maps each name to ``(value, constraint)`` with a constraint of
    :data:`CONSTRAINTS`. Runs on the host with NumPy, and only when every value is concrete
    and ``validate_args`` is true; traced parameters are never checked (their invalid values
    give NaN from every method instead).
    """
    names = list(parameters)
    arrays = concrete_parameters(validate_args, *(parameters[n][0] for n in names))
    if arrays is None:
        return
    for name, array in zip(names, arrays, strict=True):
        predicate, expected = CONSTRAINTS[parameters[name][1]]
        with np.errstate(invalid="ignore"):
            raise_if_invalid(owner, name, array, predicate(array), expected)


def nan_where_invalid(value: Array, valid: Array, event_ndim: int = 0) -> Array:
    """``value`` with NaN (integer dtypes: -1, outside every support) where ``valid`` is false.

    ``valid`` has the batch shape; ``value`` ends with it and then ``event_ndim`` axes.
    """
    valid = jnp.reshape(valid, jnp.shape(valid) + (1,) * event_ndim)
    value = jnp.asarray(value)
    fill = jnp.nan if jnp.issubdtype(value.dtype, jnp.inexact) else -1
    return jnp.where(valid, value, jnp.asarray(fill, value.dtype))


class Distribution(eqx.Module):
    """A probability distribution whose parameters are arrays: a pytree.

    Parameters broadcast into a *batch shape*: ``Normal(jnp.zeros(3), 1.0)`` is three
    independent normals. Each draw has the *event shape* (``()`` for scalar distributions,
    ``(d,)`` for ``MultivariateNormal`` and ``Dirichlet``). ``sample(key, sample_shape)``
    returns ``sample_shape + batch_shape + event_shape``; ``log_prob(x)`` takes ``x`` whose
    trailing dimensions are the event shape and whose leading dimensions broadcast against
    the batch shape.

    Instances are equinox Modules, so they cross ``jax.jit``, can be ``jax.vmap``-ped over
    (a batch of parameters is a batch of distributions) and differentiated through.

    Edge cases follow one convention in every family:

    * a constructor given *concrete* invalid parameters raises a ``ValueError`` naming the
      argument, the value and what was expected; ``validate_args=False`` turns the check
      off, and traced parameters (inside ``jit``, ``vmap``, ``grad``; a rebuilt pytree) are
      never checked. Invalid parameters then give NaN from every method, ``sample`` included
      (integer draws: ``-1``, outside every support);
    * a point outside the support has ``log_prob`` ``-inf`` (``prob`` 0); a NaN point gives
      NaN;
    * an infinite ``log_prob`` (off the support, or on its boundary where the density
      vanishes or diverges) has a zero gradient with respect to the parameters, never NaN;
      a finite value on the boundary keeps the gradient of its finite terms (``xlogy``'s
      ``0 log 0 = 0``, with zero gradient, for an exponent of 0);
    * draws stay inside the open support where the density is finite: samplers of the Gamma
      family work in log space and clip to the dtype's smallest positive normal number (and
      ``1 - eps/2`` for the Beta).
    """

    @property
    @abc.abstractmethod
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of the batch of independent distributions."""

    @property
    def event_shape(self) -> tuple[int, ...]:
        """Shape of one draw (``()`` for scalar distributions)."""
        return ()

    @property
    @abc.abstractmethod
    def dtype(self) -> jnp.dtype:
        """Floating dtype of the parameters."""

    @abc.abstractmethod
    def log_prob(self, x: ArrayLike) -> Array:
        """Log-density (continuous) or log-mass (discrete) at ``x``; ``-inf`` off the support."""

    @abc.abstractmethod
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        """Draws of shape ``sample_shape + batch_shape + event_shape``."""

    @abc.abstractmethod
    def entropy(self) -> Array:
        """Differential (continuous) or Shannon (discrete) entropy in nats, batch-shaped."""

    @abc.abstractmethod
    def mean(self) -> Array:
        """Mean, of shape ``batch_shape + event_shape``."""

    @abc.abstractmethod
    def variance(self) -> Array:
        """Variance of each coordinate, of shape ``batch_shape + event_shape``."""

    def _parameters_valid(self) -> Array:
        """Batch-shaped mask of the distributions whose parameters are valid (traceable)."""
        return jnp.ones(self.batch_shape, bool)

    def _checked(self, value: Array, event_ndim: int = 0) -> Array:
        """A method's result with NaN for the batch members with invalid parameters."""
        return nan_where_invalid(value, self._parameters_valid(), event_ndim)

    def _finish_log_prob(self, value: Array, x: Array) -> Array:
        """The common end of every ``log_prob``: the conventions for edge cases.

        * an infinite value (``-inf`` off the support or on its boundary, ``+inf`` where a
          density diverges) is a constant: its gradient is 0, never NaN;
        * a NaN coordinate of ``x`` gives NaN;
        * invalid parameters give NaN.
        """
        value = jnp.where(jnp.isinf(value), jax.lax.stop_gradient(value), value)
        if jnp.issubdtype(x.dtype, jnp.inexact):
            missing = jnp.isnan(x)
            if self.event_shape:
                missing = jnp.any(missing, axis=tuple(range(-len(self.event_shape), 0)))
            value = jnp.where(missing, jnp.nan, value)
        return self._checked(value)

    @jit
    def prob(self, x: ArrayLike) -> Array:
        """Density or mass at ``x``: ``exp(log_prob(x))``."""
        log_prob = self.log_prob(x)
        # (XLA's vectorized exp does not always propagate NaN: it is restored explicitly)
        return jnp.where(jnp.isnan(log_prob), jnp.nan, jnp.exp(log_prob))

    @jit
    def stddev(self) -> Array:
        """Standard deviation: the square root of ``variance()``."""
        return jnp.sqrt(self.variance())

    def _value(self, x: ArrayLike, name: str = "x",
               dtype: DTypeLike | None = None) -> tuple[Array, tuple[int, ...]]:
        """``x`` as an array checked against the event shape and broadcast to the batch.

        Returns ``(x, shape)`` where ``shape`` is the broadcast of ``x``'s batch part and the
        distribution's batch shape (the shape ``log_prob`` returns).
        """
        x = jnp.asarray(x)
        event = self.event_shape
        cls = type(self).__name__
        if event:
            if x.shape[x.ndim - len(event):] != event or x.ndim < len(event):
                raise ValueError(
                    f"{cls}.log_prob: {name} must end with the event shape {event}, "
                    f"got shape {x.shape}"
                )
        batch = x.shape[: x.ndim - len(event)]
        shape = broadcast_shapes_or_raise(
            f"{cls}.log_prob", **{name: batch, "batch_shape": self.batch_shape}
        )
        if dtype is not None:
            if jnp.issubdtype(x.dtype, jnp.floating):
                x = x.astype(jnp.promote_types(x.dtype, dtype))
            else:
                x = x.astype(dtype)
        return x, shape


def sample_dims(distribution: Distribution, sample_shape: int | Sequence[int]) -> tuple[int, ...]:
    """``sample_shape + batch_shape`` for a draw, with ``sample_shape`` validated."""
    return shape_tuple(sample_shape) + tuple(distribution.batch_shape)
