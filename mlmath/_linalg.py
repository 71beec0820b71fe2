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


def weighted_centre(X: Array, weights: Array) -> Array:
    """The weighted mean ``(d,)`` of the rows of ``X (n, d)`` under ``weights (n,)``, in two
    passes: the mean of the deviations from a first mean corrects that mean's rounding
    (features around 1e4 keep their digits in float32)."""
    total = jnp.sum(weights)
    first = jnp.sum(weights[:, None] * X, axis=0) / total
    return first + jnp.sum(weights[:, None] * (X - first), axis=0) / total


# Rows per block of a one-pass computation over the rows of a data matrix on the CPU: the
# block's working set (about 4 MiB) stays in cache between the product that makes it and the
# reduction that consumes it, instead of an (n, ...) intermediate being written to memory
# and read back. Accelerators get one block: they want one large product.
ROW_BLOCK_BYTES = 4 << 20


def rows_per_block(n: int, width: int, itemsize: int) -> int:
    """Rows of a block whose ``width`` values a row (of ``itemsize`` bytes) fill about
    :data:`ROW_BLOCK_BYTES`: all ``n`` rows off the CPU or when they fit."""
    if jax.default_backend() != "cpu":
        return n
    return max(1, min(n, ROW_BLOCK_BYTES // (max(width, 1) * itemsize)))


def _block_layout(arrays: tuple, width: int | None) -> tuple[int, int, int]:
    """``(n, rows, blocks)``: the row count of ``arrays``, the rows of a block and the number
    of blocks, for a ``width``-column working set (the first array's width by default)."""
    first = arrays[0]
    n = first.shape[0]
    columns = math.prod(first.shape[1:]) if width is None else width
    rows = rows_per_block(n, columns, jnp.dtype(first.dtype).itemsize)
    return n, rows, -(-n // rows)


def sum_over_row_blocks(fn: Callable, arrays: tuple, sample_weight: Array,
                        width: int | None = None):
    """``sum_b fn(*arrays_b, sample_weight_b)`` over blocks of rows, in one pass.

    ``arrays`` share their first axis (``n`` rows) with ``sample_weight (n,)``; ``fn`` maps
    a block of each (and its weights) to a pytree of sums. A block is
    :func:`rows_per_block` rows of a ``width``-column array (the first array's width by
    default; give the width of the widest intermediate ``fn`` makes). The last block starts
    ``n - rows`` in and gives the rows already counted weight 0, so nothing is copied or
    padded: ``fn`` must weight every row's contribution by its sample weight.
    """
    n, rows, blocks = _block_layout(arrays, width)
    if blocks == 1:
        return fn(*arrays, sample_weight)

    def block(i, total):
        start = jnp.minimum(i * rows, n - rows)
        weight = jax.lax.dynamic_slice_in_dim(sample_weight, start, rows)
        weight = jnp.where(start + jnp.arange(rows) >= i * rows, weight, 0)
        parts = [jax.lax.dynamic_slice_in_dim(a, start, rows) for a in arrays]
        return jax.tree_util.tree_map(jnp.add, total, fn(*parts, weight))

    shapes = jax.eval_shape(fn, *(a[:rows] for a in arrays), sample_weight[:rows])
    zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    return jax.lax.fori_loop(0, blocks, block, zeros)


def map_over_row_blocks(fn: Callable, arrays: tuple, width: int | None = None):
    """``fn`` applied to blocks of rows of ``arrays`` and the per-row results stacked:
    ``fn(*arrays)`` computed block by block (see :func:`sum_over_row_blocks` for the block
    size), so that a wide per-row intermediate never spans all ``n`` rows. ``fn`` maps a
    block of ``rows`` rows to a pytree of arrays whose first axis is ``rows``. The last
    block overlaps the one before and rewrites its rows with the same values."""
    n, rows, blocks = _block_layout(arrays, width)
    if blocks == 1:
        return fn(*arrays)
    shapes = jax.eval_shape(fn, *(a[:rows] for a in arrays))
    outputs = jax.tree_util.tree_map(lambda s: jnp.zeros((n,) + s.shape[1:], s.dtype), shapes)

    def block(i, outputs):
        start = jnp.minimum(i * rows, n - rows)
        parts = fn(*(jax.lax.dynamic_slice_in_dim(a, start, rows) for a in arrays))
        return jax.tree_util.tree_map(
            lambda out, part: jax.lax.dynamic_update_slice_in_dim(out, part, start, 0),
            outputs, parts)

    return jax.lax.fori_loop(0, blocks, block, outputs)
