"""The benchmark cases: matrix-multiply and gradient hot paths, against their references.

Each function returns ``Case`` objects for a size ("tiny" is for the test suite, "small" is
the default, "medium" and "large" are for accelerators). The kernels take float32 inputs, the
dtype models are trained in; the estimation cases (``benchmarks/estimation.py``) run in
float64, as scikit-learn does. ``first_call`` (``benchmarks/first_call.py``) has no
reference: it is a ``FirstCallCase``, timed in fresh processes and reported on its own.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.special
import scipy.stats

from benchmarks import decomposition, estimation, first_call, mcmc, mixture, sequences
from benchmarks._harness import Case
from mlmath.distributions import MultivariateNormal
from mlmath.info import kl_divergence_from_logits
from mlmath.losses import softmax_cross_entropy

SIZES = ("tiny", "small", "medium", "large")


def _close(rtol: float):
    def check(actual, desired):
        for a, d in zip(jax.tree_util.tree_leaves(actual), jax.tree_util.tree_leaves(desired),
                        strict=True):
            a, d = np.asarray(a, np.float64), np.asarray(d, np.float64)
            error = np.linalg.norm(a - d) / max(np.linalg.norm(d), 1e-30)
            if not error <= rtol:
                raise AssertionError(f"benchmark output differs from the reference: {error:.2e}")

    return check


# Matrix multiply: X @ W, the core of every linear model and network layer.
_MATMUL = {"tiny": (64, 32, 16), "small": (1024, 512, 512), "medium": (4096, 2048, 2048),
           "large": (8192, 8192, 8192)}


def matmul_cases(size: str, rng: np.random.Generator) -> list[Case]:
    n, d, k = _MATMUL[size]
    x = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal((d, k), dtype=np.float32)
    # accelerators multiply float32 in reduced internal precision (TF32) by default
    return [Case("matmul", f"{n}x{d} @ {d}x{k}", lambda a, b: a @ b,
                 (jnp.asarray(x), jnp.asarray(w)), "numpy", np.matmul, (x, w),
                 check=_close(1e-2))]


# Gradient of the mean softmax cross-entropy of a linear classifier: the training step of
# multinomial logistic regression.
_SOFTMAX = {"tiny": (128, 16, 4), "small": (4096, 256, 10), "medium": (65536, 512, 100),
            "large": (262144, 1024, 1000)}


def _linear_softmax_loss(params, x, labels, loss=softmax_cross_entropy):
    weights, bias = params
    return jnp.mean(loss(x @ weights + bias, labels))


def _numpy_value_and_grad(params, x, labels):
    weights, bias = params
    logits = x @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    value = -np.mean(np.log(probs[rows, labels]))
    probs[rows, labels] -= 1.0
    probs /= len(labels)
    return value, (x.T @ probs, probs.sum(axis=0))


def softmax_gradient_cases(size: str, rng: np.random.Generator) -> list[Case]:
    n, d, k = _SOFTMAX[size]
    x = rng.standard_normal((n, d), dtype=np.float32)
    labels = rng.integers(0, k, n).astype(np.int32)
    params = (0.1 * rng.standard_normal((d, k), dtype=np.float32), np.zeros(k, np.float32))
    jax_args = (jax.tree_util.tree_map(jnp.asarray, params), jnp.asarray(x), jnp.asarray(labels))
    label = f"n={n} d={d} k={k}"

    def optax_loss(params, x, labels):
        return _linear_softmax_loss(
            params, x, labels, optax.losses.softmax_cross_entropy_with_integer_labels
        )

    optax_step = jax.jit(jax.value_and_grad(optax_loss))
    return [
        Case("softmax_xent_grad", label, jax.value_and_grad(_linear_softmax_loss), jax_args,
             "numpy (analytic)", _numpy_value_and_grad, (params, x, labels),
             check=_close(1e-3)),
        Case("softmax_xent_grad", label, jax.value_and_grad(_linear_softmax_loss), jax_args,
             "optax (jit)", optax_step, jax_args, check=_close(1e-5),
             notes="same XLA program; measures the cost of mlmath's edge guards"),
    ]


# Multivariate normal log-density of a batch of points: one Cholesky factorization and one
# triangular solve with n right-hand sides (the E-step of a Gaussian mixture).
_MVN = {"tiny": (256, 4), "small": (4096, 32), "medium": (65536, 64), "large": (262144, 128)}


def mvn_cases(size: str, rng: np.random.Generator) -> list[Case]:
    n, d = _MVN[size]
    x = rng.standard_normal((n, d), dtype=np.float32)
    loc = rng.standard_normal(d).astype(np.float32)
    factor = rng.standard_normal((d, d)).astype(np.float32) / np.sqrt(d)
    covariance = (factor @ factor.T + np.eye(d, dtype=np.float32)).astype(np.float32)
    frozen = scipy.stats.multivariate_normal(loc.astype(np.float64), covariance.astype(np.float64))

    def log_prob(loc, covariance, x):
        return MultivariateNormal(loc, covariance=covariance).log_prob(x)

    return [Case("mvn_log_prob", f"n={n} d={d}", log_prob,
                 (jnp.asarray(loc), jnp.asarray(covariance), jnp.asarray(x)),
                 "scipy.stats (frozen)", frozen.logpdf, (x,), check=_close(1e-4))]


# KL divergence between batches of categorical distributions given by logits.
_KL = {"tiny": (256, 8), "small": (16384, 64), "medium": (262144, 256), "large": (1048576, 1000)}


def _scipy_kl_from_logits(p_logits, q_logits):
    log_p = scipy.special.log_softmax(p_logits, axis=-1)
    log_q = scipy.special.log_softmax(q_logits, axis=-1)
    return scipy.special.rel_entr(np.exp(log_p), np.exp(log_q)).sum(axis=-1)


def kl_cases(size: str, rng: np.random.Generator) -> list[Case]:
    n, k = _KL[size]
    p = rng.standard_normal((n, k), dtype=np.float32)
    q = rng.standard_normal((n, k), dtype=np.float32)
    return [Case("categorical_kl", f"n={n} k={k}", kl_divergence_from_logits,
                 (jnp.asarray(p), jnp.asarray(q)), "scipy.special", _scipy_kl_from_logits,
                 (p, q), check=_close(1e-4))]


ALL = {
    "matmul": matmul_cases,
    "softmax_xent_grad": softmax_gradient_cases,
    "mvn_log_prob": mvn_cases,
    "categorical_kl": kl_cases,
    "logreg_fit": estimation.logistic_cases,
    "model_grid": estimation.grid_cases,
    "gmm_em_step": mixture.em_cases,
    "kmeans_lloyd": mixture.kmeans_cases,
    "gmm_restarts": mixture.restart_cases,
    "hmm_forward_backward": sequences.forward_backward_cases,
    "hmm_baum_welch_step": sequences.baum_welch_cases,
    "pca_fit": decomposition.pca_cases,
    "truncated_svd_fit": decomposition.truncated_svd_cases,
    "hmc_sample": mcmc.hmc_cases,
    "nuts_sample": mcmc.nuts_cases,
    # no reference library: a FirstCallCase, run in fresh processes and reported in a
    # table of its own (benchmarks/first_call.py)
    first_call.NAME: first_call.cases,
}


def build(size: str, only: list[str] | None = None, seed: int = 0
          ) -> list[Case | first_call.FirstCallCase]:
    """The selected benchmarks: ``Case`` objects, and the ``first_call`` case if selected."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    unknown = set(only or ()) - set(ALL)
    if unknown:
        raise ValueError(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(ALL)}")
    rng = np.random.default_rng(seed)
    cases: list[Case | first_call.FirstCallCase] = []
    for name, factory in ALL.items():
        if only and name not in only:
            continue
        cases.extend(factory(size, rng))
    return cases
