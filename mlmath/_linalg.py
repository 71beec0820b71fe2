"""Batched Cholesky factorizations and triangular solves that cannot wedge XLA's CPU runtime.

jaxlib's CPU LAPACK kernels split a large batch of matrices into chunks on XLA's intra-op
thread pool and block the calling pool thread until every chunk is done. When two such
calls run at the same time (XLA runs independent operations of one program concurrently,
e.g. ``p.log_prob(x)`` and ``q.log_prob(x)`` of two batched multivariate normals), each can
hold one pool thread while its chunks wait for a free one; on a machine with as many pool
threads as concurrent calls (two cores, two calls) nothing is left to run them and the
program never finishes (seen here as a test that hung, every thread idle, two threads
inside ``lapack_strsm_ffi``'s ``ParallelBatchMap``).

The functions below give the same results as ``jnp.linalg.cholesky`` and
``jax.scipy.linalg.solve_triangular``. On the CPU, a batch large enough to be chunked is
instead solved one matrix at a time in a ``lax.map`` (a loop in the compiled program, each
step one unbatched LAPACK call that runs on the calling thread); small batches, which
jaxlib runs on the calling thread anyway, and every other backend keep the batched call.
The protection covers the batch dimensions these functions see: a ``jax.vmap`` applied
outside them batches the loop's body again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import Array

# jaxlib runs a batched call on the calling thread when the batch's total cost (about the
# flop count) is below 200,000; half of that keeps a margin for its cost estimates.
_INLINE_WORK = 100_000


def _per_matrix(fn: Callable, batch: tuple[int, ...], work: float, *operands: Array) -> Array:
    """``fn(*operands)`` over leading ``batch`` dimensions, one matrix at a time on the CPU
    when the batch is large enough for jaxlib to split it across threads."""
    count = math.prod(batch)
    if count <= 1 or work < _INLINE_WORK or jax.default_backend() != "cpu":
        return fn(*operands)
    flat = tuple(op.reshape((count,) + op.shape[len(batch):]) for op in operands)
    out = jax.lax.map(lambda ops: fn(*ops), flat)
    return out.reshape(batch + out.shape[1:])


def cholesky(matrix: Array) -> Array:
    """Lower Cholesky factor of ``(..., n, n)`` matrices: ``jnp.linalg.cholesky``, batched
    safely on the CPU (see the module docstring)."""
    n = matrix.shape[-1]
    batch = matrix.shape[:-2]
    return _per_matrix(jnp.linalg.cholesky, batch, math.prod(batch) * n ** 3 / 3, matrix)


def solve_triangular(a: Array, b: Array, *, lower: bool) -> Array:
    """``a^{-1} b`` for triangular ``a (..., n, n)`` and ``b (..., n, k)`` of the same batch
    shape: ``jax.scipy.linalg.solve_triangular``, batched safely on the CPU (see the module
    docstring)."""
    if a.shape[:-2] != b.shape[:-2] or b.ndim != a.ndim:
        raise ValueError(f"solve_triangular: a {a.shape} and b {b.shape} must have one batch "
                         "shape")
    n, k = b.shape[-2:]
    batch = a.shape[:-2]

    def solve(a, b):
        return jax.scipy.linalg.solve_triangular(a, b, lower=lower)

    return _per_matrix(solve, batch, math.prod(batch) * n * n * k, a, b)
