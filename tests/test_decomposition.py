"""mlmath.decomposition against NumPy, scikit-learn and the theorems of linear algebra.

Precision claims. With ``JAX_ENABLE_X64=1`` PCA's components (same sign convention),
variances, singular values, noise variance, transforms and probabilistic PCA
log-likelihoods equal scikit-learn's on iris, digits and a 5,000 x 500 low-rank matrix to
1e-8 (relative, max-norm); the SVD functions equal NumPy's to the same. In the default
float32 run the same computations run in float32 against scikit-learn's float64 answers on
the same float32 data, held to 1e-4. The randomized SVD is within 1e-3 of the exact one on
matrices with decaying spectra, in both precisions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from sklearn import datasets
from sklearn import decomposition as sk_decomposition
from sklearn.cluster import SpectralClustering as SkSpectralClustering
from sklearn.manifold import spectral_embedding as sk_spectral_embedding
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.extmath import svd_flip as sk_svd_flip

import mlmath
from mlmath import decomposition
from mlmath._estimator import NotFittedError
from mlmath.decomposition import PCA, SpectralClustering, TruncatedSVD
from tests.conftest import X64, assert_relative

FLOAT = np.float64 if X64 else np.float32
TOLERANCE = 1e-8 if X64 else 1e-4


def _data(name):
    if name == "iris":
        X = datasets.load_iris().data
    elif name == "digits":
        X = datasets.load_digits().data
    else:  # a rank-20 signal plus noise, 600 x 60: tall, so "auto" is covariance_eigh
        X = _low_rank(600, 60, 20, seed=1, noise=0.1)
    return X.astype(FLOAT)


def _low_rank(n, d, rank, seed, noise=1e-3):
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10.0, 1.0, rank)
    signal = (rng.normal(size=(n, rank)) * scales) @ rng.normal(size=(rank, d))
    return signal + noise * rng.normal(size=(n, d)) + 3.0


def _decaying(n, d, seed, rate=0.7):
    """A matrix with singular values ``rate**i``."""
    rng = np.random.default_rng(seed)
    k = min(n, d)
    left = np.linalg.qr(rng.normal(size=(n, k)))[0]
    right = np.linalg.qr(rng.normal(size=(d, k)))[0]
    return ((left * rate ** np.arange(k)) @ right.T).astype(FLOAT)


def _well_separated(variances, rtol=0.02 if not X64 else 1e-6):
    """How many leading components have eigenvalues separated from their neighbours by a
    gap above ``rtol`` times the largest (their directions are well defined at this
    precision: an eigenvector's error is the rounding error of the matrix over the gap;
    past them near-equal eigenvalues' eigenvectors may rotate within their span)."""
    variances = np.asarray(variances, np.float64)
    gaps = np.abs(np.diff(variances)) / variances[0]
    count = 0
    for i in range(len(variances) - 1):
        if gaps[i] < rtol or (i > 0 and gaps[i - 1] < rtol):
            break
        count += 1
    return count


# ---------------------------------------------------------------------------------------
# the SVD and what it gives


def test_svd_flip_is_scikit_learns_rule_and_keeps_the_product():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(7, 5)).astype(FLOAT)
    u, s, vt = np.linalg.svd(M, full_matrices=False)
    u_mine, vt_mine = decomposition.svd_flip(u, vt)
    u_ref, vt_ref = sk_svd_flip(u.astype(np.float64), vt.astype(np.float64),
                                u_based_decision=False)
    assert_relative(u_mine, u_ref, TOLERANCE, "u")
    assert_relative(vt_mine, vt_ref, TOLERANCE, "vt")
    assert_relative((np.asarray(u_mine) * s) @ np.asarray(vt_mine), M, TOLERANCE, "product")
    largest = np.take_along_axis(np.asarray(vt_mine), np.argmax(np.abs(vt_mine), 1)[:, None], 1)
    assert np.all(largest > 0)


def test_truncated_svd_equals_numpys_leading_triplets():
    M = _decaying(40, 25, seed=2, rate=0.8)
    svd = decomposition.truncated_svd(M, 6)
    u, s, vt = np.linalg.svd(M.astype(np.float64), full_matrices=False)
    u, vt = sk_svd_flip(u[:, :6], vt[:6], u_based_decision=False)
    assert svd.u.dtype == FLOAT
    assert_relative(svd.s, s[:6], TOLERANCE, "s")
    assert_relative(svd.vt, vt, 10 * TOLERANCE, "vt")
    assert_relative(svd.u, u, 10 * TOLERANCE, "u")


def test_low_rank_approximation_meets_the_eckart_young_error():
    rng = np.random.default_rng(3)
    M = rng.normal(size=(30, 20)).astype(FLOAT)
    s = np.linalg.svd(M.astype(np.float64), compute_uv=False)
    for k in (1, 5, 19):
        approximation = np.asarray(decomposition.low_rank_approximation(M, k), np.float64)
        assert np.linalg.matrix_rank(approximation, tol=1e-3) == k
        error = M.astype(np.float64) - approximation
        assert_relative(np.linalg.norm(error, "fro") ** 2, np.sum(s[k:] ** 2), TOLERANCE * 10,
                        f"Frobenius error, k={k}")
        assert_relative(np.linalg.norm(error, 2), s[k], TOLERANCE * 10, f"spectral, k={k}")
        # no other rank-k matrix is closer: a rank-k perturbation of the best one is worse
        other = approximation + 0.01 * np.outer(rng.normal(size=30), rng.normal(size=20))
        other = decomposition.low_rank_approximation(other, k)
        assert np.linalg.norm(M - np.asarray(other, np.float64), "fro") >= np.linalg.norm(
            error, "fro") * (1 - 1e-6)


def test_randomized_svd_is_within_1e_3_of_the_exact_one_on_a_decaying_spectrum():
    M = _decaying(300, 120, seed=4, rate=0.8)
    exact = decomposition.truncated_svd(M, 10)
    approximate = decomposition.randomized_svd(jax.random.key(0), M, 10)
    assert_relative(approximate.s, exact.s, 1e-3, "s")
    assert_relative(approximate.vt, exact.vt, 1e-3, "vt")
    assert_relative(approximate.u, exact.u, 1e-3, "u")
    again = decomposition.randomized_svd(jax.random.key(0), M, 10)
    np.testing.assert_array_equal(np.asarray(again.s), np.asarray(approximate.s))
    # with no power iteration and no oversampling the same key does measurably worse: the
    # power iterations are what reach 1e-3
    rough = decomposition.randomized_svd(jax.random.key(0), M, 10, n_oversamples=0, n_iter=0)
    assert np.max(np.abs(np.asarray(rough.s) - np.asarray(exact.s))) > 1e-3


def test_randomized_svd_of_a_wide_matrix():
    M = _decaying(60, 200, seed=5, rate=0.6)
    exact = decomposition.truncated_svd(M, 5)
    approximate = decomposition.randomized_svd(jax.random.key(1), M, 5)
    assert_relative(approximate.s, exact.s, 1e-3, "s")
    assert_relative(approximate.vt, exact.vt, 1e-3, "vt")


@pytest.mark.parametrize("case", ["rank_deficient", "ill_conditioned", "wide"])
def test_pinv_equals_numpys(case):
    rng = np.random.default_rng(6)
    if case == "rank_deficient":
        M = rng.normal(size=(12, 3)) @ rng.normal(size=(3, 9))
    elif case == "ill_conditioned":
        left, right = np.linalg.qr(rng.normal(size=(10, 10)))[0], np.linalg.qr(
            rng.normal(size=(8, 8)))[0]
        M = (left[:, :8] * np.geomspace(1.0, 1e-12, 8)) @ right.T
    else:
        M = rng.normal(size=(4, 11))
    M = M.astype(FLOAT)
    M64 = M.astype(np.float64)
    eps = np.finfo(FLOAT).eps
    rtol = max(M.shape) * eps
    mine = np.asarray(decomposition.pinv(M), np.float64)
    reference = np.linalg.pinv(M64, rtol=rtol)
    # the pseudoinverse's relative sensitivity to a backward error of a few eps in the SVD
    # is the condition number of the part kept: s_1 / s_r
    s = np.linalg.svd(M64, compute_uv=False)
    condition = s[0] / np.min(s[s > rtol * s[0]])
    tolerance = 50 * eps * condition
    assert_relative(mine, reference, tolerance * np.max(np.abs(reference)), case)
    # the four Moore-Penrose conditions
    for product, expected in ((M64 @ mine @ M64, M64), (mine @ M64 @ mine, mine)):
        assert_relative(product, expected, tolerance * np.max(np.abs(expected)), case)
    for symmetric in (M64 @ mine, mine @ M64):
        assert_relative(symmetric, symmetric.T, tolerance, case)


def test_pinv_explicit_rtol_and_invalid_input():
    M = np.diag([1.0, 1e-3, 0.0]).astype(FLOAT)
    assert_relative(decomposition.pinv(M, rtol=1e-2), np.diag([1.0, 0.0, 0.0]), TOLERANCE)
    assert_relative(decomposition.pinv(M, rtol=1e-4), np.diag([1.0, 1e3, 0.0]), TOLERANCE)
    assert np.all(np.isnan(decomposition.pinv(np.where(np.eye(3) > 0, np.nan, M))))
    assert np.all(np.isnan(decomposition.pinv(M, rtol=-1.0)))
    with pytest.raises(ValueError, match="M must be a matrix"):
        decomposition.pinv(np.ones(3, FLOAT))


def test_power_iteration_finds_the_dominant_eigenpair():
    rng = np.random.default_rng(7)
    A = rng.normal(size=(20, 20))
    A = (A + A.T).astype(FLOAT)
    result = decomposition.power_iteration(A, jax.random.key(0), tol=1e-4 if not X64 else 1e-9)
    values, vectors = np.linalg.eigh(A.astype(np.float64))
    dominant = np.argmax(np.abs(values))
    assert bool(result.converged) and 1 < int(result.n_iter) < 1000
    vector = vectors[:, dominant] * np.sign(vectors[np.argmax(np.abs(vectors[:, dominant])),
                                                    dominant])
    assert_relative(result.eigenvalue, values[dominant], TOLERANCE * 10)
    # the eigenvector's error is the residual over the gap to the next eigenvalue
    gap = np.sort(np.abs(values))[-1] - np.sort(np.abs(values))[-2]
    assert np.max(np.abs(np.asarray(result.eigenvector) - vector)) <= (
        (1e-4 if not X64 else 1e-9) * abs(values[dominant]) / gap * 2 + 10 * TOLERANCE)


def test_power_iteration_non_symmetric_and_non_convergent_cases():
    rng = np.random.default_rng(8)
    # a real dominant eigenvalue of a non-symmetric matrix
    basis = rng.normal(size=(6, 6))
    A = (basis @ np.diag([5.0, 2.0, 1.0, 0.5, -0.5, 0.1]) @ np.linalg.inv(basis)).astype(FLOAT)
    result = decomposition.power_iteration(A, jax.random.key(1))
    assert bool(result.converged)
    assert_relative(result.eigenvalue, 5.0, 1e-4)
    # eigenvalues +1 and -1 of equal magnitude, and a rotation: never converge, and say so
    for B in (np.diag([1.0, -1.0]), np.array([[0.0, -1.0], [1.0, 0.0]])):
        stuck = decomposition.power_iteration(B.astype(FLOAT), jax.random.key(2), num_iters=50)
        assert not bool(stuck.converged) and int(stuck.n_iter) == 50
    zero = decomposition.power_iteration(np.zeros((3, 3), FLOAT), jax.random.key(3))
    assert bool(zero.converged) and float(zero.eigenvalue) == 0.0
    nan = decomposition.power_iteration(np.full((3, 3), np.nan, FLOAT), jax.random.key(3))
    assert not bool(nan.converged)
    with pytest.raises(ValueError, match="square"):
        decomposition.power_iteration(np.ones((2, 3), FLOAT), jax.random.key(0))


def test_covariance_equals_numpy_with_and_without_weights():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(50, 4)).astype(FLOAT)
    weights = rng.uniform(0.1, 2.0, size=50).astype(FLOAT)
    X64_, w64 = X.astype(np.float64), weights.astype(np.float64)
    for ddof in (0, 1):
        assert_relative(decomposition.covariance(X, ddof=ddof),
                        np.cov(X64_, rowvar=False, ddof=ddof), TOLERANCE, f"ddof={ddof}")
        assert_relative(decomposition.covariance(X, weights, ddof=ddof),
                        np.cov(X64_, rowvar=False, aweights=w64, ddof=ddof), TOLERANCE,
                        f"weighted, ddof={ddof}")
    negative = np.where(np.arange(50) == 0, -1.0, weights)
    assert np.all(np.isnan(decomposition.covariance(X, negative)))
    assert np.all(np.isnan(decomposition.covariance(X[:2], ddof=2)))


def test_covariance_of_features_far_from_the_origin_keeps_its_digits():
    """Mean 1e4, unit variance, float32: E[x x^T] - mu mu^T would lose every digit (float32
    holds 1e8 to about 8); the two-pass covariance keeps the variance to float32's
    accuracy of the deviations themselves."""
    rng = np.random.default_rng(10)
    deviations = rng.normal(size=(20000, 3))
    X = (1e4 + deviations).astype(np.float32)
    reference = np.cov(X.astype(np.float64), rowvar=False)
    mine = np.asarray(decomposition.covariance(X), np.float64)
    assert np.max(np.abs(mine - reference)) < 1e-4
    naive = (X.T @ X / len(X) - np.outer(X.mean(0), X.mean(0))).astype(np.float64)
    assert np.max(np.abs(naive - reference)) > 0.1  # the cancellation the test guards against
    # blocks of rows: a matrix taller than one block gives the same answer
    tall = np.tile(X, (3, 1))
    assert np.max(np.abs(np.asarray(decomposition.covariance(tall)) - reference)) < 1e-3


@pytest.mark.x64_only
def test_covariance_and_pca_gradients_match_finite_differences():
    with jax.enable_x64():
        rng = np.random.default_rng(11)
        X = jnp.asarray(rng.normal(size=(12, 3)) * np.array([3.0, 1.0, 0.3]))
        direction = jnp.asarray(rng.normal(size=X.shape))

        def top_variance(X):
            return decomposition.pca(X, 1, solver="covariance_eigh").explained_variance[0]

        def weighted_trace(X):
            return jnp.trace(decomposition.covariance(X) @ jnp.diag(jnp.arange(1.0, 4.0)))

        for function in (top_variance, weighted_trace):
            analytic = jnp.vdot(jax.grad(function)(X), direction)
            step = 1e-6
            numeric = (function(X + step * direction) - function(X - step * direction)) / (
                2 * step)
            np.testing.assert_allclose(float(analytic), float(numeric), rtol=1e-6)


# ---------------------------------------------------------------------------------------
# PCA against scikit-learn


@pytest.mark.parametrize("name", ["iris", "digits", "low_rank"])
@pytest.mark.parametrize("solver", ["full", "covariance_eigh"])
def test_pca_equals_scikit_learn(name, solver):
    X = _data(name)
    # iris: all but one component; digits: 10; low rank: its rank (the noise variance is
    # then the mean of 40 eigenvalues: one eigenvalue at float32's floor of eps times the
    # largest, as the covariance solver gives it, would make the likelihood a test of the
    # rounding, not of the model)
    k = {"iris": 3, "digits": 10, "low_rank": 20}[name]
    reference = sk_decomposition.PCA(k, svd_solver=solver).fit(X.astype(np.float64))
    model = PCA(k, svd_solver=solver).fit(X)
    assert model.components_.dtype == FLOAT and model.n_components_ == k
    scale = reference.explained_variance_[0]
    assert_relative(np.asarray(model.explained_variance_) / scale,
                    reference.explained_variance_ / scale, TOLERANCE, "explained_variance_")
    assert_relative(model.explained_variance_ratio_, reference.explained_variance_ratio_,
                    TOLERANCE, "explained_variance_ratio_")
    assert_relative(np.asarray(model.singular_values_) / reference.singular_values_[0],
                    reference.singular_values_ / reference.singular_values_[0], TOLERANCE,
                    "singular_values_")
    assert_relative(model.noise_variance_ / scale, reference.noise_variance_ / scale,
                    TOLERANCE, "noise_variance_")
    assert_relative(model.mean_, reference.mean_, TOLERANCE, "mean_")
    separated = _well_separated(reference.explained_variance_)
    assert separated >= 2
    assert_relative(model.components_[:separated], reference.components_[:separated],
                    10 * TOLERANCE, "components_")
    scores = np.asarray(model.transform(X))
    assert_relative(scores[:, :separated], reference.transform(X.astype(np.float64))[:,
                    :separated], 10 * TOLERANCE * np.sqrt(scale), "transform")
    assert_relative(model.inverse_transform(scores),
                    reference.inverse_transform(reference.transform(X.astype(np.float64))),
                    10 * TOLERANCE * np.sqrt(scale), "inverse_transform")
    if name != "digits":  # digits has constant pixels: its model covariance is singular
        log_likelihood = reference.score_samples(X.astype(np.float64))
        # the likelihood divides the residual off the principal subspace by the noise
        # variance, so the subspace's own error (eps * lambda_1 / gap, for an eigenvector
        # computed at precision eps) leaks |x| * error of signal into it: in float32 that,
        # not the formula, bounds the agreement
        variances = reference.explained_variance_
        eps = np.finfo(FLOAT).eps
        angle = 10 * eps * variances[0] / (variances[k - 1] - reference.noise_variance_)
        centred = X.astype(np.float64) - reference.mean_
        scores = centred @ reference.components_.T
        residual = np.linalg.norm(centred - scores @ reference.components_, axis=1)
        leak = np.linalg.norm(centred, axis=1) * angle
        bound = leak * (2 * residual + leak) / (2 * reference.noise_variance_)
        error = np.abs(np.asarray(model.score_samples(X), np.float64) - log_likelihood)
        allowed = bound + 10 * TOLERANCE * np.max(np.abs(log_likelihood))
        assert np.all(error <= allowed), f"score_samples: {np.max(error / allowed):.2f}"
        assert_relative(model.score(X), np.mean(log_likelihood), 10 * TOLERANCE, "score")
        assert_relative(model.get_covariance(), reference.get_covariance(), TOLERANCE * scale,
                        "get_covariance")


@pytest.mark.skipif(not X64, reason="the 5,000 x 500 claim is a float64 one")
def test_pca_of_a_5000_by_500_low_rank_matrix_equals_scikit_learn():
    X = _low_rank(5000, 500, 25, seed=12)
    reference = sk_decomposition.PCA(25).fit(X)   # auto: covariance_eigh for this shape
    model = PCA(25).fit(X)
    assert_relative(model.explained_variance_ / reference.explained_variance_[0],
                    reference.explained_variance_ / reference.explained_variance_[0], 1e-8)
    assert_relative(model.components_, reference.components_, 1e-8, "components_")
    assert_relative(model.noise_variance_, reference.noise_variance_, 1e-8, "noise_variance_")
    full = PCA(25, svd_solver="full").fit(X)
    assert_relative(full.components_, reference.components_, 1e-8, "full solver")


def test_pca_whitening_and_all_components():
    X = _data("iris")
    reference = sk_decomposition.PCA(whiten=True).fit(X.astype(np.float64))
    unwhitened = sk_decomposition.PCA().fit(X.astype(np.float64))
    model = PCA(whiten=True).fit(X)
    assert model.n_components_ == 4 and float(model.noise_variance_) == 0.0
    scores = np.asarray(model.transform(X))
    assert_relative(scores, reference.transform(X.astype(np.float64)), 10 * TOLERANCE,
                    "whitened scores")
    assert_relative(np.var(scores, axis=0, ddof=1), np.ones(4), 10 * TOLERANCE, "unit variance")
    assert_relative(model.inverse_transform(scores), X, 10 * TOLERANCE, "round trip")
    # the model of the data does not depend on how the scores are scaled: the density is
    # the Gaussian of the full covariance (scikit-learn's whitened score_samples rescales
    # the components by the variances: scikit-learn issue #13898)
    density = scipy.stats.multivariate_normal(unwhitened.mean_, unwhitened.get_covariance())
    assert_relative(model.score_samples(X), density.logpdf(X.astype(np.float64)),
                    10 * TOLERANCE, "score_samples with every component")


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.99])
def test_pca_fraction_keeps_scikit_learns_number_of_components(fraction):
    X = _data("digits")
    reference = sk_decomposition.PCA(fraction, svd_solver="full").fit(X.astype(np.float64))
    model = PCA(fraction, svd_solver="full").fit(X)
    assert model.n_components_ == reference.n_components_
    assert_relative(model.noise_variance_ / reference.explained_variance_[0],
                    reference.noise_variance_ / reference.explained_variance_[0], TOLERANCE)
    assert float(np.sum(model.explained_variance_ratio_)) > fraction


def test_randomized_pca_is_within_1e_3_of_the_exact_one():
    X = _low_rank(2000, 200, 12, seed=13, noise=0.05)   # 12 of 200: 7 power iterations
    exact = PCA(8, svd_solver="full").fit(X)
    randomized = PCA(8, svd_solver="randomized").fit(X, key=jax.random.key(3))
    reference = sk_decomposition.PCA(8, svd_solver="randomized", random_state=0).fit(X)
    scale = float(exact.explained_variance_[0])
    assert_relative(np.asarray(randomized.explained_variance_) / scale,
                    np.asarray(exact.explained_variance_) / scale, 1e-3)
    assert_relative(randomized.components_, exact.components_, 1e-3, "components_")
    assert_relative(randomized.noise_variance_ / scale, exact.noise_variance_ / scale, 1e-3)
    assert_relative(randomized.explained_variance_ratio_, reference.explained_variance_ratio_,
                    1e-3, "against scikit-learn's randomized")


def test_pca_of_data_far_from_the_origin_in_float32():
    rng = np.random.default_rng(14)
    deviations = rng.normal(size=(5000, 4)) * np.array([3.0, 2.0, 1.0, 0.5])
    at_origin = PCA(svd_solver="covariance_eigh").fit(deviations.astype(np.float32))
    shifted = PCA(svd_solver="covariance_eigh").fit((1e4 + deviations).astype(np.float32))
    reference = np.linalg.eigvalsh(np.cov(deviations, rowvar=False))[::-1]
    for model in (at_origin, shifted):
        assert_relative(np.asarray(model.explained_variance_) / 9.0, reference / 9.0, 1e-3)


def test_pca_auto_picks_scikit_learns_solver():
    assert decomposition.resolve_pca_solver("auto", 10000, 50, 5) == "covariance_eigh"
    assert decomposition.resolve_pca_solver("auto", 300, 200, 5) == "full"
    assert decomposition.resolve_pca_solver("auto", 600, 700, 5) == "randomized"
    assert decomposition.resolve_pca_solver("auto", 600, 700, 5,
                                            randomized_allowed=False) == "full"
    assert decomposition.resolve_pca_solver("auto", 600, 700, 590) == "full"


def test_pca_fits_many_data_sets_in_one_vmap_and_differentiates():
    rng = np.random.default_rng(15)
    stacks = jnp.asarray(rng.normal(size=(6, 40, 3)) * np.array([2.0, 1.0, 0.5]), FLOAT)
    fits = jax.vmap(lambda X: PCA(2).fit(X))(stacks)
    assert fits.components_.shape == (6, 2, 3)
    for i in range(6):
        one = PCA(2).fit(stacks[i])
        assert_relative(fits.explained_variance_[i], one.explained_variance_, TOLERANCE)
    gradient = jax.grad(lambda X: PCA(1).fit(X).explained_variance_[0])(stacks[0])
    assert gradient.shape == (40, 3) and bool(jnp.all(jnp.isfinite(gradient)))


def test_pca_rejects_bad_input_with_named_errors():
    X = _data("iris")
    with pytest.raises(ValueError, match="n_components=5 must be at most"):
        PCA(5).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        PCA(2).fit(np.where(np.arange(4) == 1, np.nan, X))
    with pytest.raises(ValueError, match="inf"):
        PCA(2).fit(np.where(np.arange(4) == 1, np.inf, X))
    with pytest.raises(ValueError, match="2-D"):
        PCA(1).fit(X[:, 0])
    with pytest.raises(ValueError, match="at least 2 samples"):
        PCA(1).fit(X[:1])
    for bad in (0, -1, 1.5, 0.0, True, "two"):
        with pytest.raises(ValueError, match="n_components"):
            PCA(bad)
    with pytest.raises(ValueError, match="svd_solver"):
        PCA(2, svd_solver="arpack")
    with pytest.raises(ValueError, match="fraction"):
        PCA(0.9, svd_solver="randomized").fit(X)
    with pytest.raises(ValueError, match="traced"):
        jax.vmap(lambda X: PCA(0.9).fit(X))(jnp.stack([jnp.asarray(X)] * 2))
    with pytest.raises(NotFittedError):
        PCA(2).transform(X)
    model = PCA(2).fit(X)
    with pytest.raises(ValueError, match="3 features"):
        model.transform(X[:, :3])
    with pytest.raises(ValueError, match="features"):
        model.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="k must be an int"):
        decomposition.truncated_svd(X, 5)
    with pytest.raises(ValueError, match="key"):
        decomposition.pca(X, 1, solver="randomized")


def test_pure_pca_poisons_nan_and_the_degenerate_likelihood():
    X = _data("iris")
    fit = decomposition.pca(np.where(np.arange(4) == 2, np.nan, X), 2)
    assert all(bool(jnp.all(jnp.isnan(leaf))) for leaf in fit)
    # a model with zero noise variance and fewer components than features has no density
    fit = decomposition.pca(X, 2)
    assert np.all(np.isfinite(decomposition.pca_log_likelihood(fit, X[:5])))
    degenerate = fit._replace(noise_variance=jnp.zeros((), FLOAT))
    assert np.all(np.isnan(decomposition.pca_log_likelihood(degenerate, X[:5])))
    flat = fit._replace(explained_variance=fit.explained_variance.at[1].set(0.0),
                        noise_variance=jnp.zeros((), FLOAT))
    assert np.all(np.isnan(decomposition.pca_log_likelihood(flat, X[:5])))


def test_pca_save_and_load(tmp_path):
    model = PCA(2, whiten=True).fit(_data("iris"))
    path = tmp_path / "pca.eqx"
    model.save(path)
    loaded = PCA.load(path)
    assert loaded.whiten and loaded.n_components_ == 2
    np.testing.assert_array_equal(np.asarray(loaded.transform(_data("iris"))),
                                  np.asarray(model.transform(_data("iris"))))


# ---------------------------------------------------------------------------------------
# TruncatedSVD


@pytest.mark.parametrize("algorithm", ["full", "randomized"])
def test_truncated_svd_estimator_equals_scikit_learn(algorithm):
    X = _decaying(200, 50, seed=16, rate=0.75) + 0.5   # not centred
    reference = sk_decomposition.TruncatedSVD(5, algorithm="arpack", tol=0.0).fit(
        X.astype(np.float64))
    model = TruncatedSVD(5, algorithm=algorithm).fit(X)
    tolerance = TOLERANCE * 10 if algorithm == "full" else 1e-3
    assert_relative(model.singular_values_, reference.singular_values_, tolerance, "s")
    assert_relative(model.components_, reference.components_, tolerance, "components_")
    assert_relative(model.explained_variance_, reference.explained_variance_, tolerance)
    assert_relative(model.explained_variance_ratio_, reference.explained_variance_ratio_,
                    tolerance)
    scores = model.transform(X)
    assert_relative(scores, reference.transform(X.astype(np.float64)), tolerance)
    assert_relative(model.fit_transform(X), scores, tolerance)
    assert_relative(model.inverse_transform(scores),
                    reference.inverse_transform(reference.transform(X.astype(np.float64))),
                    tolerance)
    with pytest.raises(ValueError, match="n_components=60 must be at most"):
        TruncatedSVD(60).fit(X)
    with pytest.raises(ValueError, match="algorithm"):
        TruncatedSVD(2, algorithm="arpack")


def test_svd_explained_variance_equals_scikit_learns_truncated_svd_statistics():
    X = _decaying(200, 50, seed=16, rate=0.75) + 0.5   # not centred
    reference = sk_decomposition.TruncatedSVD(5, algorithm="arpack", tol=0.0).fit(
        X.astype(np.float64))
    svd = decomposition.truncated_svd(X.astype(FLOAT), 5)
    variances, ratios = decomposition.svd_explained_variance(X.astype(FLOAT), svd)
    assert_relative(variances, reference.explained_variance_, TOLERANCE * 10)
    assert_relative(ratios, reference.explained_variance_ratio_, TOLERANCE * 10)
    with pytest.raises(ValueError, match="does not match X"):
        decomposition.svd_explained_variance(X[:, :40].astype(FLOAT), svd)


# ---------------------------------------------------------------------------------------
# spectral methods


def test_affinities_equal_scikit_learns():
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.neighbors import kneighbors_graph

    rng = np.random.default_rng(17)
    X = rng.normal(size=(30, 2)).astype(FLOAT)
    assert_relative(decomposition.rbf_affinity(X, gamma=0.7),
                    rbf_kernel(X.astype(np.float64), gamma=0.7), TOLERANCE)
    graph = kneighbors_graph(X.astype(np.float64), 5, include_self=True).toarray()
    assert_relative(decomposition.nearest_neighbors_affinity(X, 5), 0.5 * (graph + graph.T),
                    0.0)
    assert np.all(np.isnan(decomposition.rbf_affinity(X, gamma=-1.0)))


def test_spectral_embedding_equals_scikit_learns():
    rng = np.random.default_rng(18)
    X = rng.normal(size=(40, 2))
    affinity = np.exp(-np.sum((X[:, None] - X[None]) ** 2, axis=-1))
    reference = sk_spectral_embedding(affinity, n_components=3, drop_first=True,
                                      random_state=0)
    mine = np.asarray(decomposition.spectral_embedding(affinity.astype(FLOAT), 3), np.float64)
    # equal up to the sign of each vector (scikit-learn flips before dropping the first)
    signs = np.sign(np.sum(mine * reference, axis=0))
    assert_relative(mine * signs, reference, 1e-3 if not X64 else 1e-6)


@pytest.mark.parametrize("affinity", ["nearest_neighbors", "rbf"])
@pytest.mark.parametrize("shape", ["moons", "circles"])
def test_spectral_clustering_separates_what_kmeans_cannot(shape, affinity):
    if shape == "moons":
        X, y = datasets.make_moons(200, noise=0.05, random_state=0)
    else:
        X, y = datasets.make_circles(200, noise=0.05, factor=0.5, random_state=0)
    X = X.astype(FLOAT)
    labels = SpectralClustering(2, affinity=affinity, gamma=30.0).fit_predict(X)
    assert adjusted_rand_score(y, np.asarray(labels)) == 1.0
    kmeans_labels = mlmath.KMeans(2).fit_predict(X)
    assert adjusted_rand_score(y, np.asarray(kmeans_labels)) < 0.5
    reference = SkSpectralClustering(2, affinity=affinity, gamma=30.0,
                                     random_state=0).fit_predict(X)
    assert adjusted_rand_score(reference, np.asarray(labels)) == 1.0


def test_spectral_clustering_rejects_bad_input():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="affinity"):
        SpectralClustering(2, affinity="cosine")
    with pytest.raises(ValueError, match="gamma"):
        SpectralClustering(2, gamma=-1.0)
    with pytest.raises(ValueError, match="n_clusters=6"):
        SpectralClustering(6).fit(X)
    with pytest.raises(ValueError, match="n_neighbors=10 must be at most"):
        SpectralClustering(2, affinity="nearest_neighbors").fit(X)
    with pytest.raises(ValueError, match="square"):
        decomposition.spectral_embedding(np.ones((3, 4)), 1)
