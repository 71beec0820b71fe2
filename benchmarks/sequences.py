"""Hidden Markov model benchmarks against hmmlearn: forward-backward and one Baum–Welch step.

Both on one long sequence with full-covariance Gaussian emissions, float64 (hmmlearn's
precision), from the same parameters:

* ``hmm_forward_backward``: the log-likelihood and state posteriors, emissions included
  (:func:`mlmath.hmm.hmm_posteriors` against hmmlearn's ``score_samples``), once against
  hmmlearn's default log-space implementation and once against its scaling one. Checked:
  the log-likelihoods agree to 1e-9 relative and the posteriors to 1e-7.
* ``hmm_baum_welch_step``: one EM iteration (:func:`mlmath.hmm.baum_welch_step` against
  ``GaussianHMM(n_iter=1, init_params="").fit``, whose input checks are included).
  Checked: the new means, covariances and transition matrix agree.
"""

from __future__ import annotations

import logging

import numpy as np
from hmmlearn import hmm as hmmlearn_hmm

from benchmarks._harness import Case
from mlmath import hmm
from mlmath.mixture import covariances_from_precisions_cholesky

_SIZES = {"tiny": (2_000, 3, 2), "small": (100_000, 8, 4), "medium": (1_000_000, 8, 4),
          "large": (4_000_000, 16, 8)}


def _model(rng, K, d):
    initial = np.full(K, 1.0 / K)
    transition = 0.8 * np.eye(K) + 0.2 * rng.dirichlet(np.ones(K), K)
    means = rng.normal(scale=2.0, size=(K, d))
    factors = rng.normal(scale=0.3, size=(K, d, d)) + np.eye(d)
    covariances = factors @ np.swapaxes(factors, 1, 2)
    return initial, transition, means, covariances


def _data(rng, T, initial, transition, means, covariances):
    K, d = means.shape
    states = np.empty(T, int)
    states[0] = rng.choice(K, p=initial)
    uniforms = rng.uniform(size=T)
    cumulative = np.cumsum(transition, axis=1)
    for t in range(1, T):
        states[t] = min(int(np.searchsorted(cumulative[states[t - 1]], uniforms[t])), K - 1)
    factors = np.linalg.cholesky(covariances)
    return means[states] + np.einsum("tij,tj->ti", factors[states], rng.normal(size=(T, d)))


def _reference(implementation, start, n_iter=1):
    K = len(start[0])
    model = hmmlearn_hmm.GaussianHMM(K, covariance_type="full", covars_prior=0.0,
                                     covars_weight=1.0, n_iter=n_iter, tol=-np.inf,
                                     init_params="", implementation=implementation)
    model.startprob_, model.transmat_, model.means_, model.covars_ = start
    return model


def _precisions_cholesky(covariances):
    """``P = L^-T`` for ``Sigma = L L^T``, in float64 NumPy (the cases are built outside
    the x64 mode, where mlmath's own function would round to float32)."""
    return np.swapaxes(np.linalg.inv(np.linalg.cholesky(covariances)), -1, -2)


def _relative(ours, theirs):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300))


def forward_backward_cases(size: str, rng: np.random.Generator) -> list[Case]:
    T, K, d = _SIZES[size]
    start = _model(rng, K, d)
    X = _data(rng, T, *start)
    initial, transition, means, covariances = start
    params = hmm.GaussianHMMParams(initial, transition, means,
                                   _precisions_cholesky(covariances))

    def posteriors(params, X):
        return hmm.hmm_posteriors(params, X, covariance_type="full")

    def check(output, reference):
        log_likelihood, ours = output
        their_log_likelihood, theirs = reference
        error = abs(float(log_likelihood) - their_log_likelihood) / abs(their_log_likelihood)
        if not error < 1e-9:
            raise AssertionError(f"log-likelihoods differ by {error:.1e} relative")
        if not _relative(ours, theirs) < 1e-7:
            raise AssertionError(f"posteriors differ by {_relative(ours, theirs):.1e}")
        return None

    cases = []
    for implementation in ("log", "scaling"):
        model = _reference(implementation, start)
        cases.append(Case(
            "hmm_forward_backward", f"T={T} K={K} d={d} full f64", posteriors, (params, X),
            f"hmmlearn score_samples ({implementation})", model.score_samples, (X,),
            check=check, x64=True, notes="emissions, filter, smoother, posteriors"))
    return cases


def baum_welch_cases(size: str, rng: np.random.Generator) -> list[Case]:
    T, K, d = _SIZES[size]
    truth = _model(rng, K, d)
    X = _data(rng, T, *truth)
    # start away from the truth: uniform chain, shifted means, the data's covariance
    start = (np.full(K, 1.0 / K), np.full((K, K), 1.0 / K),
             truth[2] + rng.normal(scale=0.5, size=(K, d)), np.stack([np.cov(X.T)] * K))
    params = hmm.GaussianHMMParams(start[0], start[1], start[2],
                                   _precisions_cholesky(start[3]))

    def step(params, X):
        return hmm.baum_welch_step(params, X, covariance_type="full")

    def reference_step(X):
        logging.getLogger("hmmlearn").setLevel(logging.ERROR)
        return _reference("log", start).fit(X)

    def check(output, model):
        new = output[0]
        covariances = covariances_from_precisions_cholesky(new.precisions_cholesky)
        for name, ours, theirs in (("means", new.means, model.means_),
                                   ("covariances", covariances, model.covars_),
                                   ("transitions", new.transition, model.transmat_)):
            if not _relative(ours, theirs) < 1e-8:
                raise AssertionError(f"{name} differ from hmmlearn's by "
                                     f"{_relative(ours, theirs):.1e}")
        return None

    return [Case("hmm_baum_welch_step", f"T={T} K={K} d={d} full f64", step, (params, X),
                 "hmmlearn GaussianHMM fit, n_iter=1 (log)", reference_step, (X,),
                 check=check, x64=True, notes="one EM iteration from the same parameters")]
