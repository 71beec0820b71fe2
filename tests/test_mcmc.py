"""mlmath.mcmc: kernels against known targets and closed forms, diagnostics against ArviZ.

The statistical checks use fixed keys and the smallest chains that still have power; each
runs in one precision (the default run) unless the other could fail differently.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from mlmath import bayes, mcmc
from mlmath import distributions as dist
from tests.conftest import X64

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz

FLOAT = jnp.result_type(float)
statistical = pytest.mark.default_mode_only  # see the module docstring

COVARIANCE = np.array([[1.0, 1.8], [1.8, 4.0]])  # correlation 0.9, scales 1 and 2
PRECISION = np.linalg.inv(COVARIANCE)


def gaussian_2d(x):
    return -0.5 * x @ jnp.asarray(PRECISION, x.dtype) @ x


def _starts(seed, chains, d, scale=1.0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(chains, d)) * scale, FLOAT)


def _within_mcse(draws, mean, covariance, k=4.0):
    """Means and second moments within k Monte Carlo standard errors from their own ESS."""
    draws = np.asarray(draws, np.float64)
    d = draws.shape[-1]
    mean_error = (draws.mean((0, 1)) - mean) / np.asarray(mcmc.mcse(draws))
    assert np.all(np.abs(mean_error) < k), mean_error
    centred = draws - mean
    products = centred[..., :, None] * centred[..., None, :]
    iu = np.triu_indices(d)
    products = products[..., iu[0], iu[1]]
    covariance_error = (products.mean((0, 1)) - covariance[iu]) / np.asarray(
        mcmc.mcse(products))
    assert np.all(np.abs(covariance_error) < k), covariance_error


# ---------------------------------------------------------------------------------------
# diagnostics against ArviZ and closed forms


def _ar1(seed, chains, n, phi, shift=None):
    rng = np.random.default_rng(seed)
    x = np.zeros((chains, n))
    noise = rng.normal(size=(chains, n)) * np.sqrt(1 - phi ** 2)
    x[:, 0] = rng.normal(size=chains)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    if shift is not None:
        x += np.asarray(shift)[:, None]
    return x


@pytest.mark.parametrize("case", ["ar1", "ties", "odd", "stuck_chain", "antithetic", "short"])
def test_diagnostics_equal_arviz(case):
    if case == "ar1":
        x = _ar1(0, 4, 400, 0.6)
    elif case == "ties":  # a Metropolis chain repeats values: rank ties
        x = np.round(_ar1(1, 4, 300, 0.3), 1)
    elif case == "odd":  # an odd number of draws: the split drops the middle one
        x = _ar1(2, 3, 251, 0.9)
    elif case == "stuck_chain":
        x = _ar1(3, 4, 200, 0.5, shift=[0, 0, 0, 3])
    elif case == "antithetic":
        x = _ar1(4, 2, 300, -0.6)
    else:
        x = _ar1(5, 2, 6, 0.2)
    x = x.astype(FLOAT)
    tolerance = 1e-9 if X64 else 2e-4
    reference = x.astype(np.float64)
    np.testing.assert_allclose(mcmc.rhat(x), arviz.rhat(reference), rtol=tolerance)
    for kind in ["bulk", "tail", "mean"]:
        np.testing.assert_allclose(mcmc.ess(x, kind), arviz.ess(reference, method=kind),
                                   rtol=10 * tolerance, err_msg=kind)
    np.testing.assert_allclose(mcmc.mcse(x), arviz.mcse(reference), rtol=10 * tolerance)


def test_diagnostics_per_variable_shapes():
    x = np.stack([_ar1(s, 4, 100, 0.5) for s in range(6)], axis=-1).reshape(4, 100, 2, 3)
    assert mcmc.rhat(x).shape == (2, 3) and mcmc.ess(x).shape == (2, 3)
    np.testing.assert_allclose(mcmc.ess(x)[1, 2], arviz.ess(x[..., 1, 2]), rtol=1e-4)


@statistical
def test_ess_of_an_ar1_chain_matches_its_closed_form():
    """An AR(1) chain of coefficient phi has integrated autocorrelation time
    (1 + phi) / (1 - phi)."""
    for phi in [0.0, 0.5, 0.9]:
        x = _ar1(10, 4, 5000, phi)
        expected = x.size * (1 - phi) / (1 + phi)
        assert abs(float(mcmc.ess(x, "mean")) / expected - 1) < 0.12, phi


def test_rhat_flags_a_stuck_chain_and_nan():
    x = _ar1(11, 4, 500, 0.5, shift=[0, 0, 0, 2])
    assert float(mcmc.rhat(x)) > 1.1
    assert float(mcmc.rhat(_ar1(12, 4, 500, 0.5))) < 1.01
    x[0, 3] = np.nan
    assert np.isnan(mcmc.rhat(x)) and np.isnan(mcmc.ess(x))


def test_diagnostics_shape_errors():
    with pytest.raises(ValueError, match=r"draws must have shape \(chain, draw, ...\)"):
        mcmc.rhat(np.zeros(10))
    with pytest.raises(ValueError, match="at least 4 draws"):
        mcmc.ess(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="kind must be 'bulk', 'tail' or 'mean'"):
        mcmc.ess(np.zeros((4, 10)), "median")


def test_summary_prints_like_arviz_and_converts():
    draws = {"mu": _ar1(20, 4, 200, 0.5), "theta": np.stack(
        [_ar1(21, 4, 200, 0.2), _ar1(22, 4, 200, 0.8)], axis=-1)}
    table = mcmc.summary(draws)
    text = repr(table)
    assert "mu" in text and "theta[1]" in text and "r_hat" in text and "ess_bulk" in text
    reference = arviz.summary(arviz.from_dict(posterior=draws), kind="all",
                              round_to="none")
    for name in ["mu", "theta[0]", "theta[1]"]:
        row = table[name]
        for ours, theirs in [("mean", "mean"), ("sd", "sd"), ("ess_bulk", "ess_bulk"),
                             ("ess_tail", "ess_tail"), ("r_hat", "r_hat"),
                             ("mcse_mean", "mcse_mean")]:
            assert row[ours] == pytest.approx(reference.loc[name, theirs], rel=2e-4), (
                name, ours)
    data = table.to_inference_data()
    assert set(data.posterior.data_vars) == {"mu", "theta"}


# ---------------------------------------------------------------------------------------
# every kernel recovers known targets


def _kernel(kind, logdensity, d):
    if kind == "rwmh":
        return mcmc.rwmh(logdensity, 0.5, jnp.ones(d, FLOAT))
    if kind == "mala":
        return mcmc.mala(logdensity, 0.1, jnp.ones(d, FLOAT))
    if kind == "hmc":
        return mcmc.hmc(logdensity, 0.3, jnp.ones(d, FLOAT), 5)
    if kind == "nuts":
        return mcmc.nuts(logdensity, 0.3, jnp.ones(d, FLOAT))
    raise AssertionError(kind)


@statistical
@pytest.mark.parametrize("kind", ["rwmh", "mala", "hmc", "nuts"])
def test_kernels_recover_a_correlated_gaussian(kind):
    samples = {"rwmh": 4000, "mala": 4000, "hmc": 1000, "nuts": 1000}[kind]
    out = mcmc.sample(jax.random.key(1), _kernel(kind, gaussian_2d, 2), _starts(0, 4, 2),
                      num_samples=samples, num_warmup=500)
    assert out.draws.shape == (4, samples, 2)
    assert float(jnp.max(mcmc.rhat(out.draws))) < 1.02
    _within_mcse(out.draws, np.zeros(2), COVARIANCE)
    assert int(out.num_divergent.sum()) == 0


# three orders of magnitude, placed where Stan's regularization of the estimated mass
# matrix (a floor of about 1e-5 on each variance) does not matter
SCALES = np.logspace(-1.5, 1.5, 50)


def scaled_50d(x):
    return -0.5 * jnp.sum((x / jnp.asarray(SCALES, x.dtype)) ** 2)


@statistical
@pytest.mark.parametrize("kind", ["rwmh", "mala", "hmc", "nuts"])
def test_kernels_recover_a_50d_gaussian_with_scales_over_three_orders(kind):
    """HMC and NUTS learn the diagonal mass matrix in warm-up; random-walk Metropolis and
    MALA are given it (their adaptation from a start this badly scaled would take far more
    warm-up than a test can afford) and tune their step only."""
    d = SCALES.size
    start = _starts(2, 4, d) * jnp.asarray(SCALES, FLOAT)
    if kind in ("rwmh", "mala"):
        kernel = (mcmc.rwmh(scaled_50d, 0.1, jnp.asarray(SCALES ** 2, FLOAT)) if kind == "rwmh"
                  else mcmc.mala(scaled_50d, 0.1, jnp.asarray(SCALES ** 2, FLOAT)))
        out = mcmc.sample(jax.random.key(3), kernel, start, num_warmup=500,
                          num_samples=2000, thinning=5 if kind == "rwmh" else 1,
                          adapt_mass_matrix=False)
    else:
        kernel = _kernel(kind, scaled_50d, d)
        if kind == "hmc":  # a shorter path (5 steps resonate with some learned scale),
            # so a longer warm-up for the widest coordinates to be explored
            kernel = kernel.replace(num_integration_steps=3)
        out = mcmc.sample(jax.random.key(3), kernel, start, num_samples=400,
                          num_warmup=1000 if kind == "hmc" else 400)
        learned = np.asarray(out.kernel.parameters["inverse_mass_matrix"])
        ratio = learned / SCALES ** 2
        assert np.all((ratio > 0.5) & (ratio < 2)), ratio  # it found the scales
    draws = np.asarray(out.draws, np.float64) / SCALES  # standardized coordinates
    _within_mcse(draws[..., :10], np.zeros(10), np.eye(10))  # smallest scales
    _within_mcse(draws[..., -10:], np.zeros(10), np.eye(10))  # largest
    assert float(np.max(mcmc.rhat(draws))) < 1.05


@statistical
@pytest.mark.parametrize("kind", ["rwmh", "mala", "hmc", "nuts"])
def test_one_step_from_the_target_leaves_it_invariant(kind):
    """Chains started at exact draws of the target are still exact draws after one step
    (a one-sample Kolmogorov–Smirnov test of each coordinate against its marginal)."""
    n = 2000
    exact = jax.random.multivariate_normal(jax.random.key(5), jnp.zeros(2, FLOAT),
                                           jnp.asarray(COVARIANCE, FLOAT), (n,))
    kernel = _kernel(kind, gaussian_2d, 2)
    states = jax.vmap(kernel.init)(exact)
    stepped, info = jax.vmap(kernel.step)(jax.random.split(jax.random.key(6), n), states)
    moved = np.asarray(stepped.position)
    assert 0.2 < float(jnp.mean(info.is_accepted)) <= 1.0
    assert np.mean(np.any(moved != np.asarray(exact), axis=1)) > 0.2
    for i, sd in enumerate(np.sqrt(np.diag(COVARIANCE))):
        assert stats.kstest(moved[:, i] / sd, "norm").pvalue > 1e-3


def test_a_gibbs_sampler_of_a_bivariate_normal():
    rho = 0.8

    def sweep(key, position):
        k1, k2 = jax.random.split(key)
        x = rho * position[1] + jnp.sqrt(1 - rho ** 2) * jax.random.normal(k1)
        y = rho * x + jnp.sqrt(1 - rho ** 2) * jax.random.normal(k2)
        return jnp.stack([x, y])

    out = mcmc.sample(jax.random.key(7), mcmc.gibbs(sweep), _starts(1, 4, 2),
                      num_samples=3000, num_warmup=100)
    _within_mcse(out.draws, np.zeros(2), np.array([[1.0, rho], [rho, 1.0]]))
    assert np.all(np.asarray(out.infos.is_accepted))


# ---------------------------------------------------------------------------------------
# the integrator


def test_leapfrog_energy_error_is_second_order_and_time_reversible():
    x0 = jnp.asarray([0.5, -1.0], FLOAT)
    p0 = jnp.asarray([1.0, 0.3], FLOAT)

    def energy(x, p):
        return -gaussian_2d(x) + 0.5 * p @ p

    errors = []
    for epsilon in [0.1, 0.05, 0.025]:
        steps = round(1.0 / epsilon)  # a fixed trajectory length
        x, p = mcmc.leapfrog(gaussian_2d, x0, p0, epsilon, steps)
        errors.append(abs(float(energy(x, p) - energy(x0, p0))))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios
    x, p = mcmc.leapfrog(gaussian_2d, x0, p0, 0.1, 25)
    back_x, back_p = mcmc.leapfrog(gaussian_2d, x, -p, 0.1, 25)
    tolerance = 1e-12 if X64 else 2e-5
    np.testing.assert_allclose(back_x, x0, atol=tolerance)
    np.testing.assert_allclose(-back_p, p0, atol=tolerance)


def test_leapfrog_with_a_dense_mass_matrix_and_pytrees():
    position = {"a": jnp.asarray([0.2, 0.1], FLOAT), "b": jnp.asarray(0.3, FLOAT)}
    momentum = {"a": jnp.asarray([0.5, -0.5], FLOAT), "b": jnp.asarray(1.0, FLOAT)}

    def logdensity(z):
        return -0.5 * (jnp.sum(z["a"] ** 2) + z["b"] ** 2)

    inverse = jnp.asarray([[2.0, 0.3, 0.0], [0.3, 1.0, 0.0], [0.0, 0.0, 0.5]], FLOAT)
    x, p = mcmc.leapfrog(logdensity, position, momentum, 0.01, 300, inverse)
    flat_x = np.concatenate([np.asarray(x["a"]), [float(x["b"])]])
    flat_p = np.concatenate([np.asarray(p["a"]), [float(p["b"])]])
    x0 = np.array([0.2, 0.1, 0.3])
    p0 = np.array([0.5, -0.5, 1.0])
    # the exact flow of H = x'x/2 + p'Ap/2: x'' = -A x, solved by the matrix exponential
    A = np.asarray(inverse, np.float64)
    from scipy.linalg import expm
    generator = np.block([[np.zeros((3, 3)), A], [-np.eye(3), np.zeros((3, 3))]])
    exact = expm(3.0 * generator) @ np.concatenate([x0, p0])
    np.testing.assert_allclose(np.concatenate([flat_x, flat_p]), exact, atol=2e-4)


# ---------------------------------------------------------------------------------------
# NUTS: divergences, conjugate posteriors


@statistical
def test_nuts_reports_divergences_on_neals_funnel():
    def funnel(z):
        v, x = z[0], z[1:]
        return (dist.Normal(0.0, 3.0).log_prob(v)
                + jnp.sum(dist.Normal(0.0, jnp.exp(v / 2)).log_prob(x)))

    start = _starts(8, 4, 10) * 0.5
    out = mcmc.sample(jax.random.key(9), mcmc.nuts(funnel, 0.5), start, num_warmup=200,
                      num_samples=300)
    assert int(out.num_divergent.sum()) > 0
    assert int(np.asarray(out.infos.is_divergent).sum()) > 0
    assert np.all(np.isfinite(np.asarray(out.draws)))


@statistical
def test_nuts_matches_the_normal_normal_posterior_in_closed_form():
    rng = np.random.default_rng(10)
    data = rng.normal(1.5, 2.0, size=20)
    prior = dist.Normal(0.0, 5.0)
    exact = bayes.normal_normal(prior, jnp.asarray(data, FLOAT), 2.0).posterior

    def logdensity(mu):
        return prior.log_prob(mu[0]) + jnp.sum(dist.Normal(mu[0], 2.0).log_prob(data))

    out = mcmc.sample(jax.random.key(11), mcmc.nuts(logdensity, 1.0), _starts(3, 4, 1),
                      num_samples=1000, num_warmup=300)
    _within_mcse(out.draws, np.array([float(exact.mean())]),
                 np.array([[float(exact.variance())]]))


@statistical
def test_hmc_matches_the_beta_bernoulli_posterior_on_the_logit_scale():
    """The probability sampled as its logit, with the Jacobian of the sigmoid in the
    density: the draws' sigmoid has the Beta posterior's mean and variance."""
    flips = np.array([1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1])
    prior = dist.Beta(2.0, 2.0)
    posterior = bayes.beta_bernoulli(prior, jnp.asarray(flips)).posterior

    def logdensity(z):
        theta = jax.nn.sigmoid(z[0])
        log_jacobian = jax.nn.log_sigmoid(z[0]) + jax.nn.log_sigmoid(-z[0])
        return (prior.log_prob(theta) + jnp.sum(dist.Bernoulli(probs=theta).log_prob(flips))
                + log_jacobian)

    out = mcmc.sample(jax.random.key(12), mcmc.hmc(logdensity, 0.5, 1.0, 5),
                      _starts(4, 4, 1), num_samples=1500, num_warmup=300)
    theta = np.asarray(jax.nn.sigmoid(out.draws), np.float64)
    mean = float(posterior.mean())
    _within_mcse(theta, np.array([mean]), np.array([[float(posterior.variance())]]))


# ---------------------------------------------------------------------------------------
# bad input


def test_bad_initial_positions_are_rejected_before_sampling():
    kernel = mcmc.nuts(gaussian_2d, 0.1)
    with pytest.raises(ValueError, match="num_chains = 4"):
        mcmc.sample(jax.random.key(0), kernel, jnp.zeros(2), num_samples=10)
    with pytest.raises(ValueError, match="num_samples must be an int >= 1, got 0"):
        mcmc.sample(jax.random.key(0), kernel, jnp.zeros((4, 2)), num_samples=0)

    def nan_at_start(x):
        return jnp.where(x[0] > 0.5, jnp.nan, gaussian_2d(x))

    start = jnp.zeros((4, 2)).at[2, 0].set(1.0)
    with pytest.raises(ValueError, match="NaN at the initial position of chain 2"):
        mcmc.sample(jax.random.key(0), mcmc.nuts(nan_at_start, 0.1), start, num_samples=10)

    def outside(x):
        return jnp.where(x[0] < 0, -jnp.inf, -jnp.sum(x))

    with pytest.raises(ValueError, match="outside the support"):
        mcmc.sample(jax.random.key(0), mcmc.rwmh(outside), -jnp.ones((4, 2)), num_samples=10)
    with pytest.raises(ValueError, match="logdensity_fn must return a scalar"):
        mcmc.sample(jax.random.key(0), mcmc.hmc(lambda x: -x ** 2, 0.1), jnp.zeros((4, 2)),
                    num_samples=10)
    with pytest.raises(ValueError, match="adaptation must be 'window', 'chees' or None"):
        mcmc.sample(jax.random.key(0), kernel, jnp.zeros((4, 2)), num_samples=10,
                    adaptation="chess")


def test_bad_kernel_parameters_are_rejected_when_concrete():
    with pytest.raises(ValueError, match="inverse_mass_matrix must be symmetric positive"):
        mcmc.hmc(gaussian_2d, 0.1, jnp.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="inverse_mass_matrix must be symmetric positive"):
        mcmc.nuts(gaussian_2d, 0.1, jnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"step_size must be positive and finite, got -0\.1"):
        mcmc.mala(gaussian_2d, -0.1)
    with pytest.raises(ValueError, match="scale must be positive"):
        mcmc.rwmh(gaussian_2d, float("nan"))
    with pytest.raises(ValueError, match=r"num_integration_steps must be an integer >= 1"):
        mcmc.hmc(gaussian_2d, 0.1, 1.0, 0)
    with pytest.raises(ValueError, match=r"max_tree_depth must be an int in 1\.\.30"):
        mcmc.nuts(gaussian_2d, 0.1, max_tree_depth=0)
    with pytest.raises(TypeError, match="logdensity_fn must be callable"):
        mcmc.hmc(3.0, 0.1)


def test_invalid_traced_parameters_give_a_nan_state():
    kernel = mcmc.hmc(gaussian_2d, 0.1)
    state = kernel.init(jnp.zeros(2, FLOAT))
    for parameters in [{"step_size": jnp.asarray(-0.1)},
                       {"inverse_mass_matrix": jnp.asarray([[1.0, 2.0], [2.0, 1.0]])}]:
        new, _ = jax.jit(lambda k, s, p: k.replace(**p).step(jax.random.key(0), s))(
            kernel, state, parameters)
        assert np.all(np.isnan(np.asarray(new.position)))


def test_nan_proposals_are_rejected_and_counted():
    """A density that is NaN beyond x = 1: the chain never goes there, and the proposals
    that tried are counted as divergent."""
    def logdensity(x):
        return jnp.where(x[0] > 1.0, jnp.nan, -0.5 * jnp.sum(x ** 2))

    for kernel in [mcmc.rwmh(logdensity, 1.0), mcmc.hmc(logdensity, 0.2, 1.0, 5),
                   mcmc.nuts(logdensity, 0.2), mcmc.mala(logdensity, 0.2)]:
        out = mcmc.sample(jax.random.key(13), kernel, jnp.zeros((2, 1)), num_samples=300,
                          num_warmup=0, num_chains=2, adaptation=None)
        assert float(jnp.max(out.draws)) <= 1.0, kernel.kind
        assert int(out.num_divergent.sum()) > 0, kernel.kind
        assert not np.any(np.isnan(np.asarray(out.draws)))


# ---------------------------------------------------------------------------------------
# composition: pytrees, vmap over kernels, thinning, progress


def test_pytree_positions_and_thinning():
    def logdensity(z):
        return -0.5 * (jnp.sum(z["loc"] ** 2) + z["log_scale"] ** 2)

    start = {"loc": jnp.zeros((3, 2), FLOAT), "log_scale": jnp.zeros(3, FLOAT)}
    out = mcmc.sample(jax.random.key(14), mcmc.nuts(logdensity, 0.5), start, num_samples=20,
                      num_warmup=30, num_chains=3, thinning=3)
    assert out.draws["loc"].shape == (3, 20, 2) and out.draws["log_scale"].shape == (3, 20)
    assert out.infos.acceptance_rate.shape == (3, 20)
    assert out.kernel.parameters["step_size"].shape == (3,)
    assert out.state.position["loc"].shape == (3, 2)


def test_vmap_over_step_sizes_matches_one_at_a_time():
    kernel = mcmc.hmc(gaussian_2d, 0.1, 1.0, 4)
    state = kernel.init(jnp.asarray([0.3, -0.2], FLOAT))
    sizes = jnp.asarray([0.05, 0.1, 0.2], FLOAT)
    key = jax.random.key(15)
    batched, _ = jax.vmap(lambda e: kernel.replace(step_size=e).step(key, state))(sizes)
    for i, e in enumerate(sizes):
        single, _ = kernel.replace(step_size=e).step(key, state)
        np.testing.assert_allclose(batched.position[i], single.position, rtol=1e-5)


def test_progress_is_reported_from_inside_the_compiled_loop(capfd):
    mcmc.sample(jax.random.key(16), mcmc.rwmh(gaussian_2d, 0.5), jnp.zeros((2, 2), FLOAT),
                num_samples=40, num_warmup=20, num_chains=2, progress_bar=True)
    jax.effects_barrier()
    err = capfd.readouterr().err
    assert "warmup 20/20" in err and "sampling 40/40" in err


def test_window_schedule_is_stans():
    slow, end = mcmc.window_schedule(1000)
    # Stan: init buffer 75, windows 25, 50, 100, 200, 500 (the last one stretched), term 50
    assert not slow[:75].any() and not slow[950:].any() and slow[75:950].all()
    assert np.flatnonzero(end).tolist() == [99, 149, 249, 449, 949]
    slow, end = mcmc.window_schedule(100)  # 15 / 75 / 10
    assert np.flatnonzero(slow).min() == 15 and np.flatnonzero(end).tolist() == [89]
    assert not mcmc.window_schedule(10)[0].any()


# ---------------------------------------------------------------------------------------
# ChEES-HMC: many chains, one jittered trajectory length


def test_halton_jitter_is_the_van_der_corput_sequence():
    from mlmath.mcmc._chees import halton

    values = [float(halton(n)) for n in range(1, 9)]
    assert values == [0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875, 0.0625]


@statistical
def test_chees_hmc_recovers_the_50d_gaussian_with_one_trajectory_for_all_chains():
    d = SCALES.size
    chains = 32
    start = _starts(20, chains, d) * jnp.asarray(SCALES, FLOAT)
    out = mcmc.sample(jax.random.key(21), mcmc.hmc(scaled_50d, 0.1, jnp.ones(d, FLOAT), 10),
                      start, num_chains=chains, num_warmup=400, num_samples=100,
                      adaptation="chees")
    steps = np.asarray(out.infos.num_integration_steps)
    assert np.all(steps == steps[:1])  # every chain ran the same number of steps
    # jittered from one iteration to the next (a standardized Gaussian's ChEES optimum is
    # a quarter period, pi / 2, a few steps of the adapted step size)
    assert len(np.unique(steps)) >= 3
    learned = np.asarray(out.kernel.parameters["inverse_mass_matrix"][0])
    assert np.all((learned / SCALES ** 2 > 0.5) & (learned / SCALES ** 2 < 2))
    draws = np.asarray(out.draws, np.float64) / SCALES
    _within_mcse(draws[..., :10], np.zeros(10), np.eye(10))
    _within_mcse(draws[..., -10:], np.zeros(10), np.eye(10))
    assert float(np.max(mcmc.rhat(draws))) < 1.05
    assert int(out.num_divergent.sum()) == 0


def test_chees_needs_an_hmc_kernel_with_a_diagonal_metric():
    start = jnp.zeros((4, 2), FLOAT)
    with pytest.raises(ValueError, match="adaptation='chees' tunes the trajectory length"):
        mcmc.sample(jax.random.key(0), mcmc.nuts(gaussian_2d, 0.1), start, num_samples=5,
                    adaptation="chees")
    with pytest.raises(ValueError, match="adapts a diagonal mass matrix"):
        mcmc.sample(jax.random.key(0), mcmc.hmc(gaussian_2d, 0.1, jnp.eye(2)), start,
                    num_samples=5, adaptation="chees")


# ---------------------------------------------------------------------------------------
# against BlackJAX on a real posterior


@statistical
def test_nuts_posterior_of_a_logistic_regression_equals_blackjaxs():
    """Bayesian logistic regression on scikit-learn's breast_cancer (standardized, a
    N(0, 2^2) prior on the 31 coefficients): mlmath's NUTS after its own warm-up, and
    BlackJAX's NUTS run with the step size and mass matrix mlmath adapted, give posterior
    means and sds within 4 combined Monte Carlo standard errors of each other."""
    blackjax = pytest.importorskip("blackjax")
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    X = jnp.asarray(np.hstack([np.ones((len(X), 1)), X]), FLOAT)
    y = jnp.asarray(y, FLOAT)

    def logdensity(w):
        logits = X @ w
        return (jnp.sum(y * jax.nn.log_sigmoid(logits) + (1 - y) * jax.nn.log_sigmoid(-logits))
                - 0.5 * jnp.sum(w ** 2) / 4.0)

    d = X.shape[1]
    chains, draws = 4, 200
    ours = mcmc.sample(jax.random.key(30), mcmc.nuts(logdensity, 0.1, jnp.ones(d, FLOAT)),
                       _starts(31, chains, d, 0.1), num_warmup=250, num_samples=draws)
    assert float(jnp.max(mcmc.rhat(ours.draws))) < 1.05
    step_size = ours.kernel.parameters["step_size"]
    inverse_mass = ours.kernel.parameters["inverse_mass_matrix"]

    def one_chain(key, position, epsilon, inverse):
        kernel = blackjax.nuts(logdensity, epsilon, inverse)

        def body(state, step_key):
            state, _ = kernel.step(step_key, state)
            return state, state.position

        _, positions = jax.lax.scan(body, kernel.init(position),
                                    jax.random.split(key, draws))
        return positions

    theirs = jax.jit(jax.vmap(one_chain))(jax.random.split(jax.random.key(32), chains),
                                          ours.state.position, step_size, inverse_mass)
    ours_draws = np.asarray(ours.draws, np.float64)
    theirs_draws = np.asarray(theirs, np.float64)
    for statistic in (lambda x: x, lambda x: (x - ours_draws.mean((0, 1))) ** 2):
        a, b = statistic(ours_draws), statistic(theirs_draws)
        error = np.sqrt(np.asarray(mcmc.mcse(a)) ** 2 + np.asarray(mcmc.mcse(b)) ** 2)
        z = (a.mean((0, 1)) - b.mean((0, 1))) / error
        assert np.all(np.abs(z) < 4), z


_TWO_DEVICES = """
import jax, jax.numpy as jnp, numpy as np, sys
from mlmath import mcmc
start = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)), jnp.float32)
out = mcmc.sample(jax.random.key(0), mcmc.hmc(lambda x: -0.5 * jnp.sum(x ** 2), 0.3,
                  jnp.ones(3), 5), start, num_samples=20, num_warmup=0, adaptation=None)
assert len(jax.devices()) == 2 and len(out.draws.sharding.device_set) == 2
np.save(sys.argv[1], np.asarray(out.draws))
"""


@statistical
def test_chains_are_split_over_several_devices(tmp_path):
    """With two (host) devices the chains run sharded over both and give the draws of one
    device, up to the rounding of a differently compiled program."""
    import os
    import subprocess
    import sys

    path = tmp_path / "draws.npy"
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2")
    subprocess.run([sys.executable, "-c", _TWO_DEVICES, str(path)], env=env, check=True,
                   timeout=300)
    start = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)), jnp.float32)
    out = mcmc.sample(jax.random.key(0), mcmc.hmc(lambda x: -0.5 * jnp.sum(x ** 2), 0.3,
                      jnp.ones(3), 5), start, num_samples=20, num_warmup=0, adaptation=None)
    np.testing.assert_allclose(np.load(path), out.draws, atol=1e-5)
