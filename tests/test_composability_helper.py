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


def test_rejects_a_function_that_jit_changes():
    counter = {"calls": 0}

    def impure(x):
        counter["calls"] += 1
        return x + counter["calls"]  # traced once under jit, so jit and plain calls differ

    with pytest.raises(AssertionError):
        check_composable(impure, (1.0,))
