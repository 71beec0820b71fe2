"""Latent-variable benchmarks: EM for Gaussian mixtures and Lloyd's k-means, against scikit-learn.

* ``gmm_em_step``: one full-covariance EM iteration (E-step, then M-step) from the same
  parameters, float32 and float64; scikit-learn's is its estimator's ``_e_step`` and
  ``_m_step``, the two calls its ``fit`` makes per iteration. Checked: the new means and
  covariances agree.
* ``kmeans_lloyd``: Lloyd's algorithm from the same initial centres, ``max_iter`` steps
  with ``tol=0`` on data without cluster structure (so both take every step); checked:
  the same number of steps and the same inertia. Reported per fit.
* ``gmm_restarts``: 32 starts of a mixture fit in one ``jax.vmap`` against 32 sequential
  scikit-learn fits (each from random data points, ``n_init=1``); checked: the best lower
  bound is at least scikit-learn's best.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from sklearn import cluster
from sklearn import mixture as sk_mixture

from benchmarks._harness import Case
from mlmath import mixture

_EM = {"tiny": (2_000, 4, 3), "small": (100_000, 16, 8), "medium": (1_000_000, 16, 8),
       "large": (4_000_000, 32, 16)}
_RESTARTS = {"tiny": (4, 500), "small": (32, 2_000), "medium": (64, 10_000),
             "large": (128, 20_000)}


def _mixture_data(rng, n, d, K):
    centers = rng.normal(scale=3.0, size=(K, d))
    labels = rng.integers(K, size=n)
    return centers[labels] + rng.normal(size=(n, d)), centers


def _sklearn_model(X, K, weights, means, precisions_cholesky):
    model = sk_mixture.GaussianMixture(K, covariance_type="full")
    model.weights_, model.means_ = weights, means
    model.precisions_cholesky_ = precisions_cholesky
    return model


def _em_check(rtol):
    def check(output, reference):
        params, _ = output
        means, precisions_cholesky = reference
        for name, ours, theirs in (("means", params.means, means),
                                   ("precisions", params.precisions_cholesky,
                                    precisions_cholesky)):
            ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
            error = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
            if not error <= rtol:
                raise AssertionError(f"EM step {name} differ from sklearn's: {error:.1e}")
        return None

    return check


def em_cases(size: str, rng: np.random.Generator) -> list[Case]:
    n, d, K = _EM[size]
    X, centers = _mixture_data(rng, n, d, K)
    weights = np.full(K, 1.0 / K)
    precisions_cholesky = np.stack([np.eye(d)] * K)
    cases = []
    for dtype, x64, rtol in ((np.float32, False, 1e-3), (np.float64, True, 1e-9)):
        Xd, means = X.astype(dtype), centers.astype(dtype)
        params = mixture.GaussianMixtureParams(weights.astype(dtype), means,
                                               precisions_cholesky.astype(dtype))
        model = _sklearn_model(Xd, K, params.weights, means, params.precisions_cholesky)

        def sklearn_step(X, model=model):
            _, log_resp = model._e_step(X)
            step = sk_mixture.GaussianMixture(K, covariance_type="full")
            step._m_step(X, log_resp)
            return step.means_, step.precisions_cholesky_

        def em_step(params, X):
            return mixture.em_step(params, X, covariance_type="full")

        cases.append(Case(
            "gmm_em_step", f"n={n} d={d} K={K} full {np.dtype(dtype).name}", em_step,
            (params, Xd), "sklearn _e_step + _m_step", sklearn_step, (Xd,),
            check=_em_check(rtol), x64=x64, notes="one EM iteration from the same parameters"))
    return cases


def kmeans_cases(size: str, rng: np.random.Generator) -> list[Case]:
    n, d, K = _EM[size]
    X = rng.normal(size=(n, d))
    centers = X[rng.choice(n, K, replace=False)]
    steps = 10

    def lloyd(X, centers):
        return mixture.lloyd(X, centers, max_iter=steps, tol=0.0)

    def sklearn_lloyd(X, centers):
        return cluster.KMeans(K, init=centers, n_init=1, max_iter=steps, tol=0.0,
                              algorithm="lloyd").fit(X)

    def check(output, reference):
        if int(output.n_iter) != reference.n_iter_:
            raise AssertionError(f"steps differ: {int(output.n_iter)} vs {reference.n_iter_}")
        error = abs(float(output.inertia) - reference.inertia_) / reference.inertia_
        if not error < 1e-8:
            raise AssertionError(f"inertia differs from sklearn's: {error:.1e}")
        return f"{reference.n_iter_} steps each"

    return [Case("kmeans_lloyd", f"n={n} d={d} K={K} f64, {steps} steps", lloyd, (X, centers),
                 "sklearn KMeans(algorithm='lloyd')", sklearn_lloyd, (X, centers),
                 check=check, x64=True, notes="per fit of the same steps")]


def restart_cases(size: str, rng: np.random.Generator) -> list[Case]:
    starts, n = _RESTARTS[size]
    d, K = 4, 4
    X, _ = _mixture_data(rng, n, d, K)

    def restarts(key, X):
        return mixture.fit_gaussian_mixture(key, X, K, init_params="random_from_data",
                                            n_init=starts)

    def sklearn_restarts(X):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [sk_mixture.GaussianMixture(K, init_params="random_from_data",
                                               random_state=seed).fit(X)
                    for seed in range(starts)]

    def check(output, models):
        best = max(model.lower_bound_ for model in models)
        if not float(output.lower_bound) >= best - 1e-3:
            raise AssertionError(f"best lower bound {float(output.lower_bound)} < sklearn's "
                                 f"{best}")
        return f"best lower bound {float(output.lower_bound):.4f} (sklearn {best:.4f})"

    return [Case("gmm_restarts", f"{starts} starts, n={n} d={d} K={K} full f64", restarts,
                 (jax.random.key(0), X), f"{starts} sklearn fits", sklearn_restarts, (X,),
                 check=check, x64=True, notes="one jax.vmap over the starts")]

