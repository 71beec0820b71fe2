"""Shared test configuration: dtypes under test, tolerances, hypothesis profile.

The suite runs twice in CI: once in JAX's default float32 mode and once with
``JAX_ENABLE_X64=1``. Each run tests its own precision: the ``dtype`` fixture is float32 in
the default run and float64 in the x64 run, so every claim is checked once per precision.
That float32 input stays float32 when x64 is enabled (no Python float or float64 constant
promoting it) is checked once for every public function, by
``tests/test_compile_once.py::test_float32_stays_float32_under_x64``.

Tests that do not depend on the float mode (the notebooks, the benchmark harness, the
layering contract, the compilation cache, statistical checks run in float32 whatever the
mode) carry ``@pytest.mark.default_mode_only`` and run in the default run only: in the x64
run they would repeat the same check. Tests that are nothing but a float64 gradient check
(run inside ``jax.enable_x64`` whatever the mode) carry ``@pytest.mark.x64_only`` and run
in the x64 run only, for the same reason.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("MPLBACKEND", "Agg")

# The run once hung (a test blocked in bool(array), every thread idle): two batched LAPACK
# calls of one program each waiting on XLA's CPU thread pool for chunks no free thread could
# run (found with gdb: both pool threads in lapack_strsm_ffi's ParallelBatchMap). mlmath now
# makes such calls one matrix at a time (mlmath/_linalg.py, tests/test_linalg.py). Two
# settings from before that diagnosis stay: single-threaded Eigen (two xdist workers already
# fill two cores; set here, before any computation initializes the backend, and inherited
# through XLA_FLAGS by the notebook kernels and the README and benchmark subprocesses) and
# synchronous CPU dispatch (a computation that fails does so inside the test that ran it).
#
# The tests also compile with less optimization: JAX's jax_disable_most_optimizations
# (LLVM's optimization passes off) and XLA's older elemental emitters for fusions
# (--xla_cpu_use_fusion_emitters=false) instead of its MLIR fusion emitters. XLA's HLO
# optimizations, fusion included, still run, and the programs compute the same
# operations. Most of the suite's time is the compilation of small programs that then run
# for microseconds (measured: 56% of the workers' time with the first setting alone), and
# together the two halve it. Rounding may differ in the last bits (a multiply and an add
# fused or not, another polynomial for exp), as it does between CPUs: no test may depend
# on that. The notebooks run in kernels with XLA's defaults (tests/test_notebooks.py), as
# do the benchmarks outside the tests. A setting already in the environment is kept.
_TEST_XLA_FLAGS = {"--xla_cpu_multi_thread_eigen": "false",
                   "--xla_cpu_use_fusion_emitters": "false"}
_added = [f"{flag}={value}" for flag, value in _TEST_XLA_FLAGS.items()
          if flag not in os.environ.get("XLA_FLAGS", "")]
os.environ["XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("XLA_FLAGS"), *_added]))
# what the first process (the xdist controller) added, for default_compiler_environment;
# the workers inherit its XLA_FLAGS and add nothing
os.environ.setdefault("MLMATH_TEST_ADDED_XLA_FLAGS", " ".join(
    flag for flag in _added if "multi_thread_eigen" not in flag))
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")  # inherited by subprocesses
jax.config.update("jax_disable_most_optimizations",
                  os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] not in ("0", "false", "False"))
jax.config.update("jax_cpu_enable_async_dispatch", False)

# One persistent compilation cache for the whole test session: every program any process of
# the run compiles (either xdist worker, the notebook kernels, the README and benchmark
# subprocesses) is written to a fresh temporary directory, and a process that needs the same
# program (same HLO, JAX version, device and options) loads it instead of compiling it again.
# The directory is made by the first process that imports this file (the xdist controller,
# before it starts the workers) and passed on in the environment, which every child
# inherits; it is removed when that process exits. The compile counter of the
# compile-once tests counts a cache hit as a compilation (tests/compile_counter.py), so the
# cache cannot hide a recompile. MLMATH_TEST_COMPILATION_CACHE=0 turns it off.
if os.environ.get("MLMATH_TEST_COMPILATION_CACHE", "1") != "0" and not os.environ.get(
        "JAX_COMPILATION_CACHE_DIR"):
    _CACHE_DIR = tempfile.mkdtemp(prefix="mlmath-test-jax-cache-")
    atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE_DIR
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "-1"
    jax.config.update("jax_compilation_cache_dir", _CACHE_DIR)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)

X64 = bool(jax.config.jax_enable_x64)
DTYPES = [jnp.float64] if X64 else [jnp.float32]

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


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "default_mode_only: independent of the float mode; skipped under x64")
    config.addinivalue_line(
        "markers", "x64_only: a float64 check whatever the mode; skipped in the default run")


def pytest_collection_modifyitems(config, items):
    skipped = "x64_only" if not X64 else "default_mode_only"
    reason = ("a float64 check whatever the mode: runs in the x64 run" if not X64 else
              "independent of the float mode: runs in the default run")
    for item in items:
        if item.get_closest_marker(skipped):
            item.add_marker(pytest.mark.skip(reason=reason))


def default_compiler_environment() -> dict[str, str]:
    """The environment variables that give a subprocess XLA's and JAX's default
    optimizations, undoing the test settings above (single-threaded Eigen stays)."""
    added = set(os.environ.get("MLMATH_TEST_ADDED_XLA_FLAGS", "").split())
    flags = [flag for flag in os.environ.get("XLA_FLAGS", "").split() if flag not in added]
    return {"XLA_FLAGS": " ".join(flags), "JAX_DISABLE_MOST_OPTIMIZATIONS": "0"}


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
