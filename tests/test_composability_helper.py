"""The composability helper must itself be able to fail."""

import jax
import jax.numpy as jnp
import pytest

from tests.composability import check_composable, check_gradient


def test_accepts_a_correct_function():
    result = check_composable(
        lambda x, y: jnp.sin(x) * y, (0.3, 2.0), [(0.1, 1.0), (0.2, -1.0)], grad_argnums=(0, 1)
    )
    assert jnp.allclose(result, jnp.sin(0.3) * 2.0)


def test_rejects_a_wrong_custom_gradient():
    @jax.custom_jvp
    def square(x):
        return x * x

    @square.defjvp
    def _square_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return x * x, 3.0 * x * t  # wrong: should be 2 x t

    with pytest.raises(AssertionError, match="central differences"):
        check_gradient(square, (1.5,), (0,))


@pytest.mark.default_mode_only  # check_composable compares transforms in the default run only
def test_rejects_a_function_that_jit_changes():
    counter = {"calls": 0}

    def impure(x):
        counter["calls"] += 1
        return x + counter["calls"]  # traced once under jit, so jit and plain calls differ

    with pytest.raises(AssertionError):
        check_composable(impure, (1.0,))


@pytest.mark.default_mode_only  # check_composable compares transforms in the default run only
def test_rejects_a_function_that_vmap_changes():
    @jax.custom_batching.custom_vmap
    def sine(x):
        return jnp.sin(x)

    @sine.def_vmap
    def _sine_vmap(axis_size, in_batched, x):
        return jnp.cos(x), in_batched[0]  # wrong: the batched function is not sin

    # plain and jit agree (no batching there): only the vmap comparison can catch it
    assert jnp.allclose(jax.jit(sine)(0.3), jnp.sin(0.3))
    with pytest.raises(AssertionError, match="vmap element"):
        check_composable(sine, (0.3,), [(0.1,), (0.2,)])


@pytest.mark.x64_only  # check_composable checks gradients in the x64 run only
def test_rejects_a_wrong_gradient_inside_check_composable():
    @jax.custom_jvp
    def square(x):
        return x * x

    @square.defjvp
    def _square_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return x * x, 3.0 * x * t

    with pytest.raises(AssertionError, match="central differences"):
        check_composable(square, (1.5,), [(0.5,), (2.0,)], grad_argnums=(0,))
