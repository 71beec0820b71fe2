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
derivative of a random linear functional of the output along random directions. Being the
same check in both modes, ``check_composable`` runs it in the x64 run only. The plain,
``jit`` and ``vmap`` comparisons are the same check in both modes too (whether a transform
changes a function's answer does not depend on the float mode), so they run in the
default run only, in float32; in the x64 run ``check_composable`` is the gradient check
alone and returns the jitted call. Tests that are nothing but a gradient check are marked
``x64_only`` (see ``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from tests.conftest import X64, assert_close, rtol_for


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


# Compiled programs per function under test, so that a test which checks the same function
# object at several points (parametrized cases of the same shapes and dtypes) compiles once.
_COMPILED: dict = {}


def _compiled(kind: str, function: Callable, build: Callable):
    key = (kind, function)
    if key not in _COMPILED:
        _COMPILED[key] = build()
    return _COMPILED[key]


def _value_and_gradients(function: Callable, argnums: tuple[int, ...]):
    """``jit(value_and_grad)`` of ``<weights, function(*arguments)>``, the weights an argument."""
    def scalar(weights, *arguments):
        leaves = jax.tree_util.tree_leaves(function(*arguments))
        return sum(jnp.sum(w * leaf) for w, leaf in zip(weights, leaves, strict=True))

    return _compiled(("value_and_grad", argnums), function, lambda: jax.jit(
        jax.value_and_grad(scalar, argnums=tuple(i + 1 for i in argnums))))


def check_gradient(function: Callable, args: Sequence, argnums: Sequence[int],
                   *, step: float = 1e-6, directions: int = 2, seed: int = 0,
                   rtol: float = 1e-5) -> None:
    """Directional derivatives of ``<w, function(*args)>`` against central differences.

    Runs in float64. Directions are relative to the size of each coordinate (so positive
    parameters stay positive for small steps); coordinates equal to zero move by 1e-3.

    ``<w, function>`` and its gradient are compiled once (one ``jit`` of ``value_and_grad``)
    and that program is reused at the check point and at every shifted point of the central
    differences, rather than re-running the function op by op at each of them.
    """
    rng = np.random.default_rng(seed)
    argnums = tuple(argnums)
    with jax.enable_x64(True):
        args = [_to_float64(a) for a in args]
        # only the output's shapes are needed for the weights: no evaluation
        output = jax.eval_shape(function, *args)
        weights = [
            jnp.asarray(rng.normal(size=leaf.shape))
            for leaf in jax.tree_util.tree_leaves(output)
        ]

        value_and_gradients = _value_and_gradients(function, argnums)

        def evaluate(arguments):
            return value_and_gradients(weights, *arguments)

        value, gradients = evaluate(args)
        value = float(value)
        assert np.isfinite(value), f"the function is not finite at the check point: {value}"
        for argnum, gradient in zip(argnums, gradients, strict=True):
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
                    return float(evaluate(moved)[0])

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

    The function is called plainly (op by op) once, at ``args``; the ``jit`` result there
    must match it. The ``vmap`` over ``batch`` runs compiled (``jit(vmap(function))``) and
    each of its elements must match the jitted function at that element, which reuses the
    one compiled program (the elements have the shapes of ``args``).

    Args:
        function: the function under test, of positional array (or pytree) arguments.
        args: one example call.
        batch: several calls of the same shapes, stacked into a leading batch axis for the
            ``vmap`` check (defaults to ``[args, args]``).
        grad_argnums: which arguments to differentiate with respect to.
        gradient_args: the point for the gradient check if not ``args`` (e.g. an interior
            point when ``args`` exercises an edge).

    In the x64 run only the gradient is checked (see the module docstring).

    Returns:
        ``function(*args)``.
    """
    jitted = _compiled("jit", function, lambda: jax.jit(function))
    if X64:  # the float64 check, once: in the x64 run (module docstring)
        if grad_argnums:
            check_gradient(function, gradient_args if gradient_args is not None else args,
                           grad_argnums, seed=seed)
        return jitted(*args)
    result = function(*args)
    dtype = _output_dtype(result)
    _assert_trees_close(jitted(*args), result, dtype, "jit differs from plain call")

    batch = list(batch) if batch is not None else [tuple(args), tuple(args)]
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *batch)
    batched = _compiled("vmap", function, lambda: jax.jit(jax.vmap(function)))(*stacked)
    for index, arguments in enumerate(batch):
        expected = jitted(*arguments)
        _assert_trees_close(
            jax.tree_util.tree_map(lambda leaf, i=index: leaf[i], batched), expected, dtype,
            f"vmap element {index} differs from the jitted call",
        )
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

    # the same packed function for the same function: its compiled programs are reused
    shared = _compiled(("packed", argnums, count), function, lambda: packed)
    packed_batch = [split(args) for args in batch]
    return check_composable(shared, packed_batch[0], packed_batch,
                            grad_argnums=(0,) if argnums else ())
