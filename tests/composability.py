"""The shared composability check: plain, ``jit``, ``vmap`` and ``grad`` against finite differences.

Every public function of mlmath must give the same answer called plainly, under
``jax.jit``, and under ``jax.vmap`` over a batch axis, and its gradient must agree with
central finite differences. ``check_composable`` does all four on one call:

    result = check_composable(
        lambda loc, scale, x: Normal(loc, scale).log_prob(x),
        args=(0.5, 2.0, 1.5),
        batch=[(0.1, 1.0, 0.0), (0.2, 3.0, -1.0), (-1.0, 0.5, 2.0)],
        grad_argnums=(0, 1, 2),
    )

The gradient check runs in float64 (inside ``jax.enable_x64``) whatever mode the suite
runs in, so finite differences are accurate to ~1e-9; it compares the directional
derivative of a random linear functional of the output along random directions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from tests.conftest import assert_close, rtol_for


def _is_float(leaf) -> bool:
    return jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating)


def _output_dtype(tree):
    leaves = [leaf for leaf in jax.tree_util.tree_leaves(tree) if _is_float(leaf)]
    return jnp.asarray(leaves[0]).dtype if leaves else jnp.float32


def _assert_trees_close(actual, desired, dtype, what: str):
    actual_leaves = jax.tree_util.tree_leaves(actual)
    desired_leaves = jax.tree_util.tree_leaves(desired)
    assert len(actual_leaves) == len(desired_leaves), what
    for a, d in zip(actual_leaves, desired_leaves, strict=True):
        assert jnp.shape(a) == jnp.shape(d), f"{what}: shape {jnp.shape(a)} != {jnp.shape(d)}"
        # jit may fuse and reorder floating-point operations: allow a few ulps more
        assert_close(a, d, rtol=10 * rtol_for(dtype), err_msg=what)


def _to_float64(tree):
    return jax.tree_util.tree_map(
        lambda leaf: jnp.asarray(leaf, jnp.float64) if _is_float(leaf) else jnp.asarray(leaf),
        tree,
    )


def check_gradient(function: Callable, args: Sequence, argnums: Sequence[int],
                   *, step: float = 1e-6, directions: int = 2, seed: int = 0,
                   rtol: float = 1e-5) -> None:
    """Directional derivatives of ``<w, function(*args)>`` against central differences.

    Runs in float64. Directions are relative to the size of each coordinate (so positive
    parameters stay positive for small steps); coordinates equal to zero move by 1e-3.
    """
    rng = np.random.default_rng(seed)
    with jax.enable_x64(True):
        args = [_to_float64(a) for a in args]
        output = function(*args)
        weights = [
            jnp.asarray(rng.normal(size=jnp.shape(leaf)))
            for leaf in jax.tree_util.tree_leaves(output)
        ]

        def scalar(*arguments):
            leaves = jax.tree_util.tree_leaves(function(*arguments))
            return sum(jnp.sum(w * leaf) for w, leaf in zip(weights, leaves, strict=True))

        value = float(scalar(*args))
        assert np.isfinite(value), f"the function is not finite at the check point: {value}"
        for argnum in argnums:
            gradient = jax.grad(scalar, argnums=argnum)(*args)
            for leaf in jax.tree_util.tree_leaves(gradient):
                assert np.all(np.isfinite(np.asarray(leaf))), f"non-finite gradient: {leaf}"
            for _ in range(directions):
                def direction(leaf):
                    leaf = np.asarray(leaf)
                    scale = np.where(leaf != 0, np.abs(leaf), 1e-3)
                    return jnp.asarray(rng.normal(size=leaf.shape) * scale)

                tangent = jax.tree_util.tree_map(direction, args[argnum])
                analytic = sum(
                    float(jnp.sum(g * t))
                    for g, t in zip(jax.tree_util.tree_leaves(gradient),
                                    jax.tree_util.tree_leaves(tangent), strict=True)
                )

                def shifted(sign, argnum=argnum, tangent=tangent):
                    moved = list(args)
                    moved[argnum] = jax.tree_util.tree_map(
                        lambda point, move: point + sign * step * move, args[argnum], tangent
                    )
                    return float(scalar(*moved))

                numeric = (shifted(1.0) - shifted(-1.0)) / (2.0 * step)
                tolerance = rtol * max(abs(analytic), abs(numeric)) + 1e-8 * max(1.0, abs(value))
                assert abs(analytic - numeric) <= tolerance, (
                    f"gradient of argument {argnum}: autodiff {analytic!r} vs central "
                    f"differences {numeric!r}"
                )


def check_composable(function: Callable, args: Sequence, batch: Sequence[Sequence] | None = None,
                     *, grad_argnums: Sequence[int] = (), gradient_args: Sequence | None = None,
                     seed: int = 0):
    """Run ``function`` plain, under ``jit``, under ``vmap`` and through ``grad``.

    Args:
        function: the function under test, of positional array (or pytree) arguments.
        args: one example call.
        batch: several calls of the same shapes, stacked into a leading batch axis for the
            ``vmap`` check (defaults to ``[args, args]``).
        grad_argnums: which arguments to differentiate with respect to.
        gradient_args: the point for the gradient check if not ``args`` (e.g. an interior
            point when ``args`` exercises an edge).

    Returns:
        ``function(*args)``.
    """
    result = function(*args)
    dtype = _output_dtype(result)
    _assert_trees_close(jax.jit(function)(*args), result, dtype, "jit differs from plain call")

    batch = list(batch) if batch is not None else [tuple(args), tuple(args)]
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *batch)
    batched = jax.vmap(function)(*stacked)
    for index, arguments in enumerate(batch):
        expected = function(*arguments)
        _assert_trees_close(
            jax.tree_util.tree_map(lambda leaf, i=index: leaf[i], batched), expected, dtype,
            f"vmap element {index} differs from the plain call",
        )
    if grad_argnums:
        check_gradient(function, gradient_args if gradient_args is not None else args,
                       grad_argnums, seed=seed)
    return result


def check_composable_packed(function, batch, argnums=()):
    """check_composable with the differentiated arguments packed into one tuple.

    The gradient is then taken once, and checked against finite differences along random
    directions in all of them at once, rather than once per argument: the same check at a
    fraction of the cost of the eager evaluations.
    """
    argnums = tuple(argnums)
    count = len(batch[0])

    def split(args):
        return (tuple(args[i] for i in argnums),
                tuple(a for i, a in enumerate(args) if i not in argnums))

    def packed(differentiated, others):
        differentiated, others = iter(differentiated), iter(others)
        return function(*(next(differentiated) if i in argnums else next(others)
                          for i in range(count)))

    packed_batch = [split(args) for args in batch]
    return check_composable(packed, packed_batch[0], packed_batch,
                            grad_argnums=(0,) if argnums else ())
