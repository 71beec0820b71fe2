"""Shared test configuration: dtypes under test, tolerances, hypothesis profile.

The suite runs twice in CI: once in JAX's default float32 mode and once with
``JAX_ENABLE_X64=1``. In float32 mode only float32 can be tested; in x64 mode both float32
and float64 arrays are (x64 permits both), so every float32 claim is checked twice.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("MPLBACKEND", "Agg")

X64 = bool(jax.config.jax_enable_x64)
DTYPES = [jnp.float32, jnp.float64] if X64 else [jnp.float32]

# The accuracy the project promises against reference libraries, per dtype: the error is
# measured as |actual - desired| <= RTOL * (1 + |desired|), i.e. relative for values of
# size one or more and absolute below.
RTOL = {jnp.dtype(jnp.float32): 1e-5, jnp.dtype(jnp.float64): 1e-10}

settings.register_profile(
    "mlmath",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    derandomize=True,
)
settings.load_profile("mlmath")


def rtol_for(dtype) -> float:
    return RTOL[jnp.dtype(dtype)]


def assert_close(actual, desired, dtype=None, rtol=None, err_msg=""):
    """``|actual - desired| <= rtol (1 + |desired|)`` elementwise, infinities matched exactly."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    if rtol is None:
        rtol = rtol_for(dtype)
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol, err_msg=err_msg)


@pytest.fixture(params=DTYPES, ids=lambda d: jnp.dtype(d).name)
def dtype(request):
    """Each floating dtype available in this run."""
    return request.param


def rounded(values, dtype):
    """``values`` as a JAX array of ``dtype``, and the same rounded numbers in float64.

    References are computed from the float64 copy, so they see exactly the parameters the
    code under test sees.
    """
    array = jnp.asarray(np.asarray(values, dtype=np.float64), dtype=dtype)
    return array, np.array(array, dtype=np.float64)


def assert_relative(actual, desired, rtol, err_msg=""):
    """``max |actual - desired| <= rtol * max(1, max |desired|)``: relative in the max-norm,
    so that entries near zero are held to the scale of the largest one."""
    actual = np.asarray(actual, np.float64)
    desired = np.asarray(desired, np.float64)
    assert actual.shape == desired.shape, f"{err_msg}: shape {actual.shape} != {desired.shape}"
    error = np.max(np.abs(actual - desired))
    scale = max(1.0, float(np.max(np.abs(desired))))
    assert error <= rtol * scale, f"{err_msg}: max error {error:.3e} > {rtol:.1e} * {scale:.3g}"
