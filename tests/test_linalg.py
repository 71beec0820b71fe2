"""mlmath._linalg: batched Cholesky and triangular solves that cannot wedge XLA's CPU pool.

Two batched LAPACK calls large enough for jaxlib to split across the CPU thread pool, run
at the same time, could leave a two-core machine with no thread to run their chunks: the
program never finished (it hung this suite's KL Monte Carlo test of two batched
multivariate normals about once in six runs). The helpers solve such batches one matrix
at a time on the CPU; these tests check the results against the batched JAX calls, the
compiled programs' LAPACK calls, and the scenario that hung.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from mlmath import _linalg
from mlmath.distributions import MultivariateNormal
from tests.conftest import assert_close


def _spd(rng, batch, n, dtype):
    a = rng.normal(size=batch + (n, n))
    return jnp.asarray(a @ np.swapaxes(a, -1, -2) + n * np.eye(n), dtype)


@pytest.mark.parametrize("batch", [(), (3,), (2, 40), (600,)],
                         ids=["unbatched", "small", "two_axes", "large"])
def test_cholesky_and_solve_match_numpy_and_scipy(batch, dtype):
    rng = np.random.default_rng(0)
    n, k = 5, 7
    matrix = _spd(rng, batch, n, dtype)
    factor = _linalg.cholesky(matrix)
    assert factor.shape == matrix.shape and factor.dtype == matrix.dtype
    assert_close(factor, np.linalg.cholesky(np.asarray(matrix, np.float64)), dtype)
    rhs = jnp.asarray(rng.normal(size=batch + (n, k)), dtype)
    for lower in (True, False):
        a = factor if lower else jnp.swapaxes(factor, -1, -2)
        solved = _linalg.solve_triangular(a, rhs, lower=lower)
        a64, b64 = np.asarray(a, np.float64), np.asarray(rhs, np.float64)
        expected = np.stack([scipy.linalg.solve_triangular(ai, bi, lower=lower) for ai, bi in
                             zip(a64.reshape(-1, n, n), b64.reshape(-1, n, k), strict=True)])
        assert_close(solved, expected.reshape(batch + (n, k)), dtype)


def test_solve_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="one batch shape"):
        _linalg.solve_triangular(jnp.eye(3)[None].repeat(2, 0), jnp.ones((3, 3, 1)), lower=True)


def test_gradients_flow_through_the_per_matrix_loop():
    rng = np.random.default_rng(1)
    matrix = _spd(rng, (600,), 5, jnp.float32)

    def loss(m):
        return jnp.sum(_linalg.cholesky(m) ** 2)

    def reference(m):
        return jnp.sum(jnp.linalg.cholesky(m) ** 2)

    assert_close(jax.grad(loss)(matrix), jax.grad(reference)(matrix), jnp.float32,
                 rtol=1e-4)


def _lapack_operand_ranks(compiled_text):
    ranks = []
    for line in compiled_text.splitlines():
        if 'custom_call_target="lapack_' in line:
            shapes = re.search(r"operand_layout_constraints=\{(.*?)\}, ", line).group(1)
            ranks += [shape.count(",") + 1 for shape in re.findall(r"\[([\d,]*)\]", shapes)]
    return ranks


@pytest.mark.default_mode_only
@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU runtime's thread pool")
def test_large_batches_reach_lapack_one_matrix_at_a_time():
    loc = jnp.zeros((4, 3))
    p = MultivariateNormal(loc, covariance=jnp.tile(2.0 * jnp.eye(3), (4, 1, 1)))
    q = MultivariateNormal(loc + 1.0, scale_tril=jnp.tile(jnp.eye(3), (4, 1, 1)))
    x = jnp.ones((10_000, 4, 3))
    text = jax.jit(lambda x: p.log_prob(x) - q.log_prob(x)).lower(x).compile().as_text()
    ranks = _lapack_operand_ranks(text)
    assert ranks and max(ranks) == 2, ranks  # (3, 3) factors and (3, 10000) columns
    # a small batch keeps the one batched call (jaxlib runs it on the calling thread)
    small = jax.jit(lambda x: p.log_prob(x)).lower(x[:10]).compile().as_text()
    assert max(_lapack_operand_ranks(small)) == 3


@pytest.mark.default_mode_only
def test_two_batched_log_densities_in_one_program_finish():
    """The program that hung: two batched multivariate normals scored on the same draws,
    compiled afresh several times (the hang depended on how the two calls overlapped)."""
    loc = jnp.asarray(np.random.default_rng(2).normal(size=(4, 3)), jnp.float32)
    tril = jnp.tile(jnp.asarray([[1.0, 0, 0], [0.3, 0.8, 0], [-0.2, 0.1, 1.5]]), (4, 1, 1))
    p = MultivariateNormal(loc, scale_tril=tril)
    q = MultivariateNormal(loc[::-1], scale_tril=1.3 * tril)
    for seed in range(6):
        def ratio(key):
            x = p.sample(key, (10_000,))
            return jnp.mean(p.log_prob(x) - q.log_prob(x), axis=0)

        value = jax.jit(ratio)(jax.random.key(seed))  # a new function: compiled each time
        assert bool(jnp.all(jnp.isfinite(value)))
