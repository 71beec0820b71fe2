"""mlmath: the mathematics of machine learning as a fast, composable JAX library.

Pure functions of arrays and pytrees (distributions, information theory, losses, ...) that
compose with ``jax.grad``, ``jax.vmap``, ``jax.jit`` and sharding. See the README for the
map of the package.
"""

from mlmath import distributions, info, losses, metrics

__version__ = "0.1.0"

__all__ = ["distributions", "info", "losses", "metrics"]
