"""The common surface of every distribution."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike, DTypeLike

from mlmath._jit import jit
from mlmath._validation import broadcast_shapes_or_raise, shape_tuple


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

    @jit
    def prob(self, x: ArrayLike) -> Array:
        """Density or mass at ``x``: ``exp(log_prob(x))``."""
        return jnp.exp(self.log_prob(x))

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
