"""mlmath.optim against closed forms, scipy and scikit-learn; jit, vmap; honest convergence.

Every expected optimum is a closed form (a quadratic's ``A^{-1} b``, Rosenbrock's
``(a, a^2)``, a soft-thresholded point, a conjugate posterior mode), a scipy fit or optimizer
run to a tight tolerance, or a scikit-learn estimator. Tolerances follow from the stopping
rule: the default stops once ``|g| |x - x0| <= tau (f(x0) - f(x))`` with ``tau = eps^(2/3)``
(2.4e-5 in float32, 3.7e-11 in float64; tighter for L-BFGS, Newton and FISTA): an estimate
of the remaining decrease that is a ``tau`` fraction of the decrease achieved; on a
quadratic from ``x0`` that pins the minimizer to about ``kappa tau |x0 - x*|``, ~1e-9
relative in float64 and ~1e-4 in float32 for these well-conditioned problems; the tests
claim 1e-7 and 1e-3 (``solution_rtol``). It is invariant to adding a constant to ``f`` and
to scaling ``f``, which the tests check. Where a problem is badly scaled the test sets
``tol`` from the claim and says why.

Compiling an optimizer loop costs seconds, so the tests share compiled programs: ``solve``
and ``_mle_program`` are jitted once per configuration and reused across tests and weights.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
from sklearn import datasets, linear_model, preprocessing

from mlmath import optim
from mlmath.distributions import (
    Bernoulli,
    Categorical,
    Gamma,
    Laplace,
    MultivariateNormal,
    Normal,
    Poisson,
)
from mlmath.distributions import _fit as fit
from tests.conftest import assert_close, assert_relative

DEFAULT_FLOAT = jnp.result_type(float)


def solution_rtol(dtype) -> float:
    """How close a minimizer found with the default tolerance is to the true one."""
    return 1e-7 if jnp.dtype(dtype) == jnp.float64 else 1e-3


def documented_tolerance(result, start_value, start, dtype) -> float:
    """The loosest gradient norm the default stopping rule accepts at ``result``:
    ``|g| |x - x0| <= eps^(2/3) (f(x0) - f(x))``, i.e. ``eps^(2/3) (f0 - f) / |x - x0|``."""
    distance = math.sqrt(sum(np.sum((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
                             for a, b in zip(jax.tree_util.tree_leaves(result.params),
                                             jax.tree_util.tree_leaves(start), strict=True)))
    decrease = float(start_value) - float(result.value)
    return float(jnp.finfo(dtype).eps) ** (2.0 / 3.0) * decrease / distance


# ---------------------------------------------------------------------------------------------
# test problems with known minimizers, and one compiled program per configuration

EIGENVALUES = np.array([1.0, 1.5, 2.5, 4.0])


def quadratic_problem(seed=0):
    """``f(x) = x^T A x / 2 - b^T x`` with eigenvalues 1..4: minimizer ``A^{-1} b``."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    A = basis @ np.diag(EIGENVALUES) @ basis.T
    b = rng.normal(size=4)
    return A, b, np.linalg.solve(A, b)


def quadratic(x, A, b):
    return 0.5 * x @ A @ x - b @ x


def rosenbrock(x, a):
    """``(a - x)^2 + 100 (y - x^2)^2``: minimum 0 at ``(a, a^2)`` (scipy's rosen is a = 1)."""
    return (a - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


OPTIMIZERS = {
    "sgd": lambda: optax.sgd(0.25),
    "nesterov": lambda: optax.sgd(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: optax.adam(0.05),
    "adagrad": lambda: optax.adagrad(0.5),
    "optax_lbfgs": lambda: optax.lbfgs(),
}


@functools.partial(jax.jit, static_argnames=("method", "fun", "max_steps", "tol"))
def solve(start, *args, method, fun, max_steps=None, tol=None):
    """``method`` (``"lbfgs"``, ``"newton"`` or an ``OPTIMIZERS`` name) on ``fun``, compiled
    once per configuration and shape so that tests share programs."""
    steps = {} if max_steps is None else {"max_steps": max_steps}
    if method in ("lbfgs", "newton"):
        return getattr(optim, method)(fun, start, *args, tol=tol, **steps)
    return optim.minimize(fun, start, *args, optimizer=OPTIMIZERS[method](), tol=tol,
                          **{"max_steps": 5000, **steps})


def assert_quadratic_solution(result, A, b, minimizer, dtype):
    """For a quadratic, ``x - x* = A^{-1} grad``: the error is at most ``|grad| / lambda_min``
    (plus the rounding of the gradient itself), a closed-form bound on what was returned."""
    x = np.asarray(result.params, np.float64)
    eps = float(jnp.finfo(dtype).eps)
    rounding = 10 * eps * (np.linalg.norm(A, 2) * np.linalg.norm(x) + np.linalg.norm(b))
    bound = (float(result.grad_norm) + rounding) / EIGENVALUES.min()
    assert np.linalg.norm(x - minimizer) <= bound
    # the reported value and gradient norm are those of the returned point
    assert_close(result.value, quadratic(x, A, b), dtype)
    assert_close(result.grad_norm, np.linalg.norm(A @ x - b), rtol=100 * eps)


def assert_describes_its_point(result, fun, *args, dtype):
    """``value`` and ``grad_norm`` are the objective and gradient norm at ``params``."""
    eps = float(jnp.finfo(dtype).eps)
    with jax.enable_x64(True):  # recomputed in float64
        params = jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, jnp.float64),
                                        result.params)
        value, gradient = jax.value_and_grad(fun)(params, *args)
        assert_close(result.value, value, rtol=100 * eps)
        # a gradient sums many rounded terms: allow ~eps^(1/2) relative (and absolute)
        assert_close(result.grad_norm, optim.tree_norm(gradient), rtol=10 * math.sqrt(eps))


# ---------------------------------------------------------------------------------------------
# minimize (several optax optimizers), lbfgs and newton reach known optima


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_minimize_with_optax_optimizers_reaches_quadratic_minimizer(name, dtype):
    A, b, minimizer = quadratic_problem()
    result = solve(jnp.zeros(4, dtype), jnp.asarray(A, dtype), jnp.asarray(b, dtype),
                   method=name, fun=quadratic)
    assert bool(result.converged)
    assert 0 < int(result.num_steps) < 5000
    assert result.params.dtype == dtype
    assert float(result.grad_norm) <= documented_tolerance(result, 0.0, np.zeros(4), dtype)
    assert_quadratic_solution(result, A, b, minimizer, dtype)
    assert_relative(result.params, minimizer, solution_rtol(dtype))


def test_minimize_with_an_explicit_tolerance_stops_there(dtype):
    A, b, minimizer = quadratic_problem()
    args = (jnp.zeros(4, dtype), jnp.asarray(A, dtype), jnp.asarray(b, dtype))
    loose = solve(*args, method="sgd", fun=quadratic, tol=1e-2)
    tight = solve(*args, method="sgd", fun=quadratic)
    assert bool(loose.converged) and float(loose.grad_norm) <= 1e-2
    assert int(loose.num_steps) < int(tight.num_steps)
    assert_quadratic_solution(loose, A, b, minimizer, dtype)


def test_newton_is_exact_on_a_quadratic(dtype):
    A, b, minimizer = quadratic_problem()
    result = solve(jnp.zeros(4, dtype), jnp.asarray(A, dtype), jnp.asarray(b, dtype),
                   method="newton", fun=quadratic)
    assert bool(result.converged)
    assert int(result.num_steps) == 1  # one full Newton step solves a quadratic
    assert_quadratic_solution(result, A, b, minimizer, dtype)
    assert_relative(result.params, minimizer, solution_rtol(dtype))


@pytest.mark.parametrize("method", ["lbfgs", "newton"])
def test_rosenbrock_minimum_is_found(method, dtype):
    result = solve(jnp.asarray([-1.2, 1.0], dtype), jnp.asarray(1.0, dtype), method=method,
                   fun=rosenbrock)
    assert bool(result.converged)
    start = np.array([-1.2, 1.0])
    assert float(result.grad_norm) <= documented_tolerance(result, rosenbrock(start, 1.0), start,
                                                           dtype)
    assert_close(result.params, [1.0, 1.0], rtol=solution_rtol(dtype))
    assert_close(result.value, 0.0, rtol=solution_rtol(dtype) ** 2)
    assert_close(scipy.optimize.rosen(np.asarray(result.params, np.float64)), result.value,
                 rtol=10 * float(jnp.finfo(dtype).eps))
    assert_describes_its_point(result, rosenbrock, 1.0, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# logistic loss against scipy.optimize


@pytest.fixture(scope="module")
def logistic_problem():
    """Breast cancer, first 8 features standardized, L2 weight 0.1 (strictly convex)."""
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = preprocessing.StandardScaler().fit_transform(X[:, :8])
    lam = 0.1

    def objective(w):
        z = X @ w[:-1] + w[-1]
        return np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * w[:-1] @ w[:-1]

    def gradient(w):
        residual = scipy.special.expit(X @ w[:-1] + w[-1]) - y
        return np.concatenate([X.T @ residual + lam * w[:-1], [residual.sum()]])

    def hessian(w):
        p = scipy.special.expit(X @ w[:-1] + w[-1])
        design = np.hstack([X, np.ones((len(y), 1))])
        penalty = np.diag(np.r_[np.full(X.shape[1], lam), 0.0])
        return design.T @ (design * (p * (1 - p))[:, None]) + penalty

    reference = scipy.optimize.minimize(objective, np.zeros(X.shape[1] + 1), jac=gradient,
                                        hess=hessian, method="Newton-CG",
                                        options={"xtol": 1e-14})
    assert reference.success
    # scipy's line search stops at a gradient of ~1e-8 (f's rounding); two exact Newton
    # steps in NumPy take it to float64's floor
    minimizer = reference.x
    for _ in range(2):
        minimizer = minimizer - np.linalg.solve(hessian(minimizer), gradient(minimizer))
    assert np.linalg.norm(gradient(minimizer)) < 1e-11
    return X, y, lam, minimizer, objective(minimizer)


def logistic_loss(params, X, y, lam):
    z = X @ params["w"] + params["b"]
    return jnp.sum(jnp.logaddexp(0.0, z) - y * z) + 0.5 * lam * params["w"] @ params["w"]


@pytest.mark.parametrize("method", ["lbfgs", "newton"])
def test_logistic_loss_matches_scipy(logistic_problem, method):
    X, y, lam, expected, expected_value = logistic_problem
    dtype = DEFAULT_FLOAT
    start = {"w": jnp.zeros(X.shape[1], dtype), "b": jnp.zeros((), dtype)}
    result = solve(start, jnp.asarray(X, dtype), jnp.asarray(y, dtype), lam, method=method,
                   fun=logistic_loss)
    assert bool(result.converged)
    assert set(result.params) == {"w", "b"}  # the starting pytree's structure
    found = np.r_[np.asarray(result.params["w"]), float(result.params["b"])]
    assert_relative(found, expected, solution_rtol(dtype))
    assert_close(result.value, expected_value, rtol=solution_rtol(dtype))
    # never below scipy's optimum, up to the rounding of the objective in this dtype
    assert float(result.value) >= expected_value * (1 - 100 * float(jnp.finfo(dtype).eps))
    assert_describes_its_point(result, logistic_loss, X, y, lam, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# jit and vmap: over starting points, over data


def test_eager_and_jitted_calls_agree():
    A, b, _ = quadratic_problem()
    start = jnp.asarray([-1.2, 1.0])
    eager = optim.newton(rosenbrock, start, 1.0)
    jitted = solve(start, jnp.asarray(1.0), method="newton", fun=rosenbrock)
    assert_close(jitted.params, eager.params, DEFAULT_FLOAT)
    assert int(jitted.num_steps) == int(eager.num_steps)
    eager = optim.minimize(quadratic, jnp.zeros(4), jnp.asarray(A), jnp.asarray(b),
                           optimizer=optax.adam(0.05), max_steps=5000)
    jitted = solve(jnp.zeros(4), jnp.asarray(A), jnp.asarray(b), method="adam", fun=quadratic)
    assert_close(jitted.params, eager.params, DEFAULT_FLOAT)
    assert int(jitted.num_steps) == int(eager.num_steps)


STARTS = [[-1.2, 1.0], [2.0, 2.0], [0.5, -0.5], [-1.0, -1.0]]


@pytest.mark.parametrize("method", ["lbfgs", "newton"])
def test_vmap_over_starting_points(method):
    starts = jnp.asarray(STARTS, DEFAULT_FLOAT)
    one = jnp.asarray(1.0, DEFAULT_FLOAT)
    batched = jax.vmap(lambda start: solve(start, one, method=method, fun=rosenbrock))(starts)
    assert batched.params.shape == (4, 2)
    assert bool(jnp.all(batched.converged))
    for index in range(len(STARTS)):
        assert_close(batched.params[index], [1.0, 1.0], rtol=solution_rtol(DEFAULT_FLOAT))
        single = solve(starts[index], one, method=method, fun=rosenbrock)
        assert bool(single.converged)
        assert_close(batched.params[index], single.params, rtol=solution_rtol(DEFAULT_FLOAT))
        # batched arithmetic may round differently, and once the iterates reach the
        # dtype's resolution the paths part: the step counts may differ by a few (float32
        # L-BFGS on this CPU: 29 against 26), not by the spread between starting points
        # (9 to 38), which a vmapped loop stepping its finished elements would erase
        single_steps = int(single.num_steps)
        assert abs(int(batched.num_steps[index]) - single_steps) <= max(2, 0.2 * single_steps)
    assert len(set(np.asarray(batched.num_steps).tolist())) > 1  # each stopped on its own


def test_vmap_of_adam_over_starting_points():
    A, b, minimizer = quadratic_problem()
    starts = jnp.asarray(np.random.default_rng(2).normal(size=(5, 4)), DEFAULT_FLOAT)
    batched = jax.vmap(lambda start: solve(start, jnp.asarray(A, DEFAULT_FLOAT),
                                           jnp.asarray(b, DEFAULT_FLOAT), method="adam",
                                           fun=quadratic))(starts)
    assert bool(jnp.all(batched.converged))
    assert_relative(batched.params, np.broadcast_to(minimizer, (5, 4)),
                    solution_rtol(DEFAULT_FLOAT))


@pytest.mark.parametrize("method", ["lbfgs", "newton"])
def test_vmap_over_data(method):
    """Rosenbrock with ``a`` batched: the minima ``(a, a^2)``."""
    shifts = np.array([1.0, -0.5, 0.7, 1.5])
    batched = jax.vmap(lambda a: solve(jnp.asarray([-1.2, 1.0], DEFAULT_FLOAT), a,
                                       method=method, fun=rosenbrock))(
        jnp.asarray(shifts, DEFAULT_FLOAT))
    assert bool(jnp.all(batched.converged))
    assert_close(batched.params, np.stack([shifts, shifts ** 2], axis=1),
                 rtol=solution_rtol(DEFAULT_FLOAT))


def test_fista_matches_soft_thresholding_closed_form_under_vmap():
    """``min sum_i d_i (x_i - v_i)^2 / 2 + lam |x|_1`` is solved by ``soft(v_i, lam / d_i)``;
    with d up to 9 the default unit step must backtrack."""
    dtype = DEFAULT_FLOAT
    curvature = jnp.asarray([1.0, 4.0, 9.0, 2.0], dtype)
    centre = jnp.asarray([3.0, -0.1, -2.0, 0.3], dtype)

    def run(lam):
        smooth = lambda x: 0.5 * jnp.sum(curvature * (x - centre) ** 2)  # noqa: E731
        return optim.fista(smooth, lambda x, t: optim.soft_threshold(x, lam * t),
                           jnp.zeros(4, dtype), penalty=lambda x: lam * jnp.sum(jnp.abs(x)))

    lams = jnp.asarray([0.0, 0.5, 1.0, 5.0], dtype)
    batched = jax.jit(jax.vmap(run))(lams)
    assert bool(jnp.all(batched.converged))
    c, v = np.asarray(curvature, np.float64), np.asarray(centre, np.float64)
    for index, lam in enumerate(np.asarray(lams, np.float64)):
        expected = np.sign(v) * np.maximum(np.abs(v) - lam / c, 0.0)
        assert_close(batched.params[index], expected, rtol=solution_rtol(dtype))
        # exact zeros where the closed form has them
        assert np.all(np.asarray(batched.params[index])[expected == 0] == 0)
        total = 0.5 * np.sum(c * (expected - v) ** 2) + lam * np.abs(expected).sum()
        assert_close(batched.value[index], total, rtol=solution_rtol(dtype))
    # the jitted, batched run agrees with a plain call
    single = run(lams[1])
    assert_close(single.params, batched.params[1], dtype)


def test_soft_threshold_closed_form(dtype):
    x = jnp.asarray([-3.0, -0.5, 0.0, 0.5, 2.0], dtype)
    assert_close(optim.soft_threshold(x, 1.0), [-2.0, 0.0, 0.0, 0.0, 1.0], dtype)


# ---------------------------------------------------------------------------------------------
# converged / num_steps are truthful


@pytest.mark.parametrize("method", ["lbfgs", "newton", "adam"])
def test_one_step_on_rosenbrock_is_not_converged(method):
    result = solve(jnp.asarray([-1.2, 1.0], DEFAULT_FLOAT), jnp.asarray(1.0, DEFAULT_FLOAT),
                   method=method, fun=rosenbrock, max_steps=1)
    assert int(result.num_steps) == 1
    assert not bool(result.converged)
    assert float(result.grad_norm) > 1.0
    assert_describes_its_point(result, rosenbrock, 1.0, dtype=DEFAULT_FLOAT)


def test_zero_steps_reports_the_start():
    start = jnp.asarray([-1.2, 1.0], DEFAULT_FLOAT)
    result = solve(start, jnp.asarray(1.0, DEFAULT_FLOAT), method="newton", fun=rosenbrock,
                   max_steps=0)
    assert int(result.num_steps) == 0 and not bool(result.converged)
    assert_close(result.params, start, DEFAULT_FLOAT)
    assert_close(result.value, 24.2, DEFAULT_FLOAT)  # (1 + 1.2)^2 + 100 (1 - 1.44)^2


@pytest.mark.parametrize("method", ["lbfgs", "newton"])
def test_starting_at_the_minimum_takes_no_step(method):
    result = solve(jnp.asarray([0.7, 0.49], DEFAULT_FLOAT), jnp.asarray(0.7, DEFAULT_FLOAT),
                   method=method, fun=rosenbrock)
    assert int(result.num_steps) == 0 and bool(result.converged)


@pytest.mark.parametrize("method", ["lbfgs", "newton", "adam"])
def test_nan_objective_stops_unconverged(method):
    """Rosenbrock with ``a = NaN`` is NaN everywhere: no step, not converged."""
    result = solve(jnp.asarray([-1.2, 1.0], DEFAULT_FLOAT), jnp.asarray(np.nan, DEFAULT_FLOAT),
                   method=method, fun=rosenbrock)
    assert not bool(result.converged)
    assert int(result.num_steps) == 0


def test_nan_objective_stops_fista_unconverged():
    result = optim.fista(lambda x: jnp.sum(x ** 2) * jnp.nan, lambda x, t: x, jnp.ones(3),
                         max_steps=50)
    assert not bool(result.converged)
    assert int(result.num_steps) == 0


def test_objective_turning_nan_midway_stops_unconverged():
    """``x^2 - log x`` with a huge SGD step lands on x < 0 where the log is NaN: that step is
    not taken, the start (the last finite iterate) is returned, unconverged."""
    result = optim.minimize(lambda x: jnp.sum(x ** 2 - jnp.log(x)), jnp.full(2, 2.0),
                            optimizer=optax.sgd(10.0), max_steps=100)
    assert int(result.num_steps) == 0
    assert not bool(result.converged)
    assert_close(result.params, [2.0, 2.0], DEFAULT_FLOAT)
    assert_close(result.value, 2 * (4.0 - math.log(2.0)), DEFAULT_FLOAT)
    assert_close(result.grad_norm, math.sqrt(2) * 3.5, DEFAULT_FLOAT)  # 2 x - 1 / x


def test_unreachable_tolerance_runs_out_of_steps_unconverged():
    A, b, _ = quadratic_problem()
    result = solve(jnp.zeros(4, DEFAULT_FLOAT), jnp.asarray(A, DEFAULT_FLOAT),
                   jnp.asarray(b, DEFAULT_FLOAT), method="sgd", fun=quadratic, max_steps=5)
    assert int(result.num_steps) == 5 and not bool(result.converged)
    assert_quadratic_solution(result, A, b, np.linalg.solve(A, b), DEFAULT_FLOAT)


# ---------------------------------------------------------------------------------------------
# the stopping rule is invariant to adding a constant to f and to scaling f; it never claims
# convergence at a start that is not a minimizer, nor on a problem unbounded below


def shifted_quadratic(x, A, b, shift, scale):
    """``shift + scale (x^T A x / 2 - b^T x)``: the minimizer ``A^{-1} b`` whatever the
    shift and the (positive) scale."""
    return shift + scale * quadratic(x, A, b)


@jax.jit
def fista_separable(start, curvature, centre, lam, shift, scale):
    """``shift + scale (sum_i c_i (x_i - v_i)^2 / 2 + lam |x|_1)`` by FISTA: solved by
    ``soft(v_i, lam / c_i)``."""
    return optim.fista(
        lambda x: shift + 0.5 * scale * jnp.sum(curvature * (x - centre) ** 2),
        lambda x, t: optim.soft_threshold(x, t * scale * lam), start,
        penalty=lambda x: scale * lam * jnp.sum(jnp.abs(x)))


SHIFTS_AND_SCALES = [(0.0, 1.0), (1e6, 1.0), (0.0, 1e-6), (0.0, 1e6)]


@pytest.mark.parametrize("method", ["lbfgs", "newton", "adam"])
def test_stopping_is_invariant_to_a_constant_and_a_scale(method, dtype):
    """``1e6 + f``, ``1e-6 f`` and ``1e6 f`` are solved like ``f``: the same minimizer
    ``A^{-1} b``, about the same number of steps, none converged at the start (which is
    not the minimizer)."""
    A, b, minimizer = quadratic_problem()
    results = [solve(jnp.zeros(4, dtype), jnp.asarray(A, dtype), jnp.asarray(b, dtype),
                     jnp.asarray(shift, dtype), jnp.asarray(scale, dtype), method=method,
                     fun=shifted_quadratic)
               for shift, scale in SHIFTS_AND_SCALES]
    reference = results[0]
    for (shift, scale), result in zip(SHIFTS_AND_SCALES, results, strict=True):
        assert bool(result.converged), (shift, scale)
        assert int(result.num_steps) > 0
        assert_relative(result.params, minimizer, solution_rtol(dtype))
        if method == "adam" and scale < 1:
            # Adam itself is not scale-free: its eps = 1e-8 is not small against the root
            # mean square of gradients of order 1e-6, so its path changes
            continue
        # rounding in the scaled or shifted objective may change a step or two
        assert abs(int(result.num_steps) - int(reference.num_steps)) <= 2, (shift, scale)


def test_fista_stopping_is_invariant_to_a_constant_and_a_scale(dtype):
    curvature = jnp.asarray([1.0, 4.0, 9.0, 2.0], dtype)
    centre = jnp.asarray([3.0, -0.1, -2.0, 0.3], dtype)
    c, v = np.asarray(curvature, np.float64), np.asarray(centre, np.float64)
    expected = np.sign(v) * np.maximum(np.abs(v) - 0.5 / c, 0.0)
    for shift, scale in SHIFTS_AND_SCALES:
        result = fista_separable(jnp.zeros(4, dtype), curvature, centre, jnp.asarray(0.5, dtype),
                                 jnp.asarray(shift, dtype), jnp.asarray(scale, dtype))
        assert bool(result.converged), (shift, scale)
        assert int(result.num_steps) > 1
        assert_close(result.params, expected, rtol=solution_rtol(dtype))
        assert np.all(np.asarray(result.params)[expected == 0] == 0)


@pytest.mark.parametrize("method", ["lbfgs", "newton", "adam"])
@pytest.mark.parametrize("shift, scale", SHIFTS_AND_SCALES[:3])
def test_issue_examples_are_not_converged_at_the_start(method, shift, scale, dtype):
    """``1e6 + |x - 1|^2`` and ``1e-6 |x - 1|^2`` (up to a constant: ``A = 2 I``,
    ``b = 2``) from 0, where the gradient norm is 4 (resp. 4e-6): solved at x = 1, after at
    least one step; from x = 1 exactly, where the gradient is exactly zero, no step is
    needed and the start is the answer."""
    args = (2.0 * jnp.eye(4, dtype=dtype), jnp.full(4, 2.0, dtype), jnp.asarray(shift, dtype),
            jnp.asarray(scale, dtype))
    result = solve(jnp.zeros(4, dtype), *args, method=method, fun=shifted_quadratic)
    assert bool(result.converged) and int(result.num_steps) > 0
    assert_close(result.params, np.ones(4), rtol=solution_rtol(dtype))
    at_minimum = solve(jnp.ones(4, dtype), *args, method=method, fun=shifted_quadratic)
    assert bool(at_minimum.converged) and int(at_minimum.num_steps) == 0
    assert float(at_minimum.grad_norm) == 0.0
    assert_close(at_minimum.params, np.ones(4), dtype)


@pytest.mark.parametrize("method", ["lbfgs", "newton", "adam"])
def test_unbounded_below_is_not_converged(method, dtype):
    """``x_1^2 + x_2^2 + x_3^2 - x_0`` (``A = diag(0, 2, 2, 2)``, ``b = e_0``) keeps
    decreasing along ``x_0``: the step limit is reached or the objective overflows (the
    last finite iterate is then returned), never a convergence."""
    A = jnp.diag(jnp.asarray([0.0, 2.0, 2.0, 2.0], dtype))
    b = jnp.asarray([1.0, 0.0, 0.0, 0.0], dtype)
    one, zero = jnp.ones((), dtype), jnp.zeros((), dtype)
    result = solve(jnp.full(4, 0.5, dtype), A, b, zero, one, method=method,
                   fun=shifted_quadratic, max_steps=200)
    assert not bool(result.converged)
    assert int(result.num_steps) > 0
    assert np.isfinite(float(result.value)) and float(result.value) < -1.0
    # the gradient (-1, 2 x_1, 2 x_2, 2 x_3) has norm at least 1 everywhere
    assert float(result.grad_norm) >= 1.0 - 10 * float(jnp.finfo(dtype).eps)


def test_fista_unbounded_below_is_not_converged(dtype):
    """FISTA with the identity as proximal map on ``x_1^2 - x_0``."""
    result = optim.fista(lambda x: x[1] ** 2 - x[0], lambda x, t: x, jnp.zeros(2, dtype),
                         max_steps=200)
    assert not bool(result.converged)
    assert np.isfinite(float(result.value)) and float(result.value) < -1.0


def log_barrier(x):
    """``sum x^2 - log x``: NaN for x < 0."""
    return jnp.sum(x ** 2 - jnp.log(x))


@functools.partial(jax.jit, static_argnames="learning_rate")
def adam_on_log_barrier(start, learning_rate):
    return optim.minimize(log_barrier, start, optimizer=optax.adam(learning_rate),
                          max_steps=100)


def test_adam_stepping_into_nan_returns_the_last_finite_iterate(dtype):
    """Adam with a large rate overshoots into x < 0 after a few finite steps; the result is
    the last finite iterate, replayed here step by step, with its value and gradient."""
    start = jnp.asarray([3.0, 2.5], dtype)
    result = adam_on_log_barrier(start, 0.9)
    optimizer = optax.adam(0.9)
    params, state, last, steps = start, optimizer.init(start), start, 0
    for _ in range(100):
        updates, state = optimizer.update(jax.grad(log_barrier)(params), state, params)
        params = optax.apply_updates(params, updates)
        if not np.isfinite(float(log_barrier(params))):
            break
        last, steps = params, steps + 1
    assert 0 < steps < 100  # the replay did step into the NaN region
    assert not bool(result.converged)
    assert int(result.num_steps) == steps
    assert_close(result.params, last, dtype)
    assert_close(result.value, log_barrier(np.asarray(last, np.float64)), dtype)
    last = np.asarray(last, np.float64)
    assert_close(result.grad_norm, np.linalg.norm(2 * last - 1 / last),
                 rtol=100 * float(jnp.finfo(dtype).eps))


# ---------------------------------------------------------------------------------------------
# Newton: damping on indefinite Hessians, closed-form Hessians


def double_well(x):
    """``x^4/4 - x^2/2 + y^2``: minima at (+-1, 0) (value -1/4), a saddle at the origin."""
    return x[0] ** 4 / 4.0 - x[0] ** 2 / 2.0 + x[1] ** 2


def test_newton_damps_an_indefinite_hessian():
    dtype = DEFAULT_FLOAT
    x = 0.1
    hessian = np.diag([3 * x ** 2 - 1, 2.0])  # closed form: indefinite at the start
    assert np.linalg.eigvalsh(hessian)[0] < 0
    # the undamped Newton step in x would head for the saddle at x = 0
    assert abs(x - (x ** 3 - x) / (3 * x ** 2 - 1)) < 0.01
    result = solve(jnp.asarray([x, 1.0], dtype), method="newton", fun=double_well)
    assert bool(result.converged)
    assert_close(result.params, [1.0, 0.0], rtol=solution_rtol(dtype))
    assert_close(result.value, -0.25, rtol=solution_rtol(dtype))


def test_newton_uses_a_supplied_hessian():
    dtype = DEFAULT_FLOAT
    A, b, minimizer = quadratic_problem()
    args = (jnp.asarray(A, dtype), jnp.asarray(b, dtype))

    @functools.partial(jax.jit, static_argnames="factor")
    def run(A, b, factor):
        return optim.newton(quadratic, jnp.zeros(4, dtype), A, b, max_steps=200,
                            hessian=lambda x, A, b: factor * A)

    exact, scaled = run(*args, factor=1.0), run(*args, factor=1.5)
    assert int(exact.num_steps) == 1 and bool(exact.converged)
    # 1.5 times the curvature: every step goes two thirds of the way, linear convergence,
    # many steps. (Not twice: each step would then halve the gradient exactly, on the
    # 0.5 threshold of the line search's approximate-Wolfe test, where rounding decides
    # whether float32 steps near the minimum are accepted.)
    assert bool(scaled.converged) and int(scaled.num_steps) > 10
    for result in (exact, scaled):
        assert_quadratic_solution(result, A, b, minimizer, dtype)


def test_newton_stops_soon_after_the_gradient_reaches_its_rounding_floor():
    """In float32 the gradient of a sum over many examples has a rounding floor far above
    what the relative rule asks for: Newton gets there in a handful of quadratic steps
    and must then stop (converged: stationary to rounding), not spend dozens of steps
    shuffling the last digits."""
    X, y = datasets.load_iris(return_X_y=True)
    X, y = jnp.asarray(X, jnp.float32), jnp.asarray(y == 2, jnp.float32)

    def objective(w):
        logits = X @ w[:4] + w[4]
        return jnp.sum(jax.nn.softplus(logits) - y * logits) + 0.5 * jnp.sum(w[:4] ** 2)

    result = optim.newton(objective, jnp.zeros(5, jnp.float32))
    assert bool(result.converged)
    # quadratic convergence: at the floor after about 7 steps, and the loop ends at the
    # first iterate there (the run limited to one step fewer is not converged), instead of
    # shuffling the last digits while the gradient norm's rounding noise sets new records
    # (a dozen steps more before the rounding test ran inside the loop)
    steps = int(result.num_steps)
    assert steps <= 8
    assert not bool(optim.newton(objective, jnp.zeros(5, jnp.float32),
                                 max_steps=steps - 1).converged)
    reference = scipy.optimize.minimize(
        lambda w: float(objective(jnp.asarray(w, jnp.float32))), np.zeros(5),
        jac=lambda w: np.asarray(jax.grad(objective)(jnp.asarray(w, jnp.float32)), np.float64),
        method="BFGS", options={"gtol": 1e-3})
    assert float(result.value) <= reference.fun * (1 + 1e-6)


def test_newton_closed_form_hessian_over_a_pytree():
    """The supplied Hessian is in ``ravel_pytree`` order: ``{"a": (2,), "b": ()}``."""
    A, b, _ = quadratic_problem()
    A3, b3 = A[:3, :3], b[:3]

    def objective(params):
        return quadratic(jnp.concatenate([params["a"], params["b"][None]]), A3, b3)

    result = optim.newton(objective, {"a": jnp.zeros(2), "b": jnp.zeros(())},
                          hessian=lambda params: A3)
    assert int(result.num_steps) == 1 and bool(result.converged)
    found = np.r_[np.asarray(result.params["a"]), float(result.params["b"])]
    assert_relative(found, np.linalg.solve(A3, b3), solution_rtol(DEFAULT_FLOAT))


# ---------------------------------------------------------------------------------------------
# shape and type errors at trace time


def _call(method, fun, params):
    if method == "minimize":
        return optim.minimize(fun, params, optimizer=optax.sgd(0.1), max_steps=5)
    if method == "fista":
        return optim.fista(fun, lambda x, t: x, params, max_steps=5)
    return getattr(optim, method)(fun, params, max_steps=5)


METHODS = ["minimize", "lbfgs", "newton", "fista"]


@pytest.mark.parametrize("method", METHODS)
def test_non_scalar_objective_raises_at_trace_time(method):
    with pytest.raises((ValueError, TypeError), match="scalar"):
        jax.jit(lambda x: _call(method, lambda p: p ** 2, x))(jnp.ones(3))


@pytest.mark.parametrize("method", METHODS)
def test_integer_params_raise_at_trace_time(method):
    with pytest.raises(TypeError, match="floating"):
        jax.jit(lambda x: _call(method, lambda p: jnp.sum(p ** 2), x))(jnp.ones(3, jnp.int32))


@pytest.mark.parametrize("method", METHODS)
def test_empty_pytree_raises(method):
    with pytest.raises(ValueError, match="empty"):
        _call(method, lambda p: 0.0, {})


def test_negative_max_steps_raises():
    with pytest.raises(ValueError, match="max_steps"):
        optim.lbfgs(rosenbrock, jnp.zeros(2), 1.0, max_steps=-1)


# ---------------------------------------------------------------------------------------------
# check_grad


def test_check_grad_is_small_for_correct_gradients(dtype):
    point = {"a": jnp.asarray([0.3, -1.2, 2.0], dtype), "b": jnp.asarray(0.7, dtype)}
    error = optim.check_grad(
        lambda p: jnp.sum(jnp.sin(p["a"]) * p["b"]) + jnp.exp(p["b"]) * p["a"][0], point
    )
    assert float(error) < (1e-7 if dtype == jnp.float64 else 1e-2)


@jax.custom_jvp
def wrong_square(x):
    return x ** 2


@wrong_square.defjvp
def _wrong_square_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return x ** 2, 4.0 * x * dx  # twice the true derivative 2x


def test_check_grad_is_large_for_a_wrong_custom_jvp(dtype):
    point = jnp.asarray([0.5, -1.0, 2.0], dtype)
    error = optim.check_grad(lambda x: jnp.sum(wrong_square(x)), point)
    # autodiff gives 2 g, finite differences g: |2g - g| / |2g| = 1/2, up to the error of
    # the central differences (about eps^(2/3) relative)
    assert_close(error, 0.5, rtol=1e-7 if dtype == jnp.float64 else 1e-2)
    # a stop_gradient in the wrong place: the autodiff gradient is 0, the error 1
    error = optim.check_grad(lambda x: jnp.sum(jax.lax.stop_gradient(x) ** 2), point)
    assert_close(error, 1.0, rtol=1e-6)


def test_check_grad_rejects_integer_params():
    with pytest.raises(TypeError, match="floating"):
        optim.check_grad(lambda x: jnp.sum(x), jnp.ones(3, jnp.int32))


# ---------------------------------------------------------------------------------------------
# transforms


@pytest.mark.parametrize("name", ["real", "positive", "unit_interval", "simplex",
                                  "cholesky_factor", "interval"])
def test_transforms_round_trip_and_land_in_their_sets(name, dtype):
    rng = np.random.default_rng(3)
    transform = optim.interval(-2.0, 3.0) if name == "interval" else getattr(optim, name)
    if name == "cholesky_factor":  # the unconstrained space: lower-triangular matrices
        unconstrained = jnp.asarray(np.tril(rng.normal(size=(3, 3))), dtype)
    else:
        unconstrained = jnp.asarray(rng.normal(size=4), dtype)
    value = transform.forward(unconstrained)
    assert_close(transform.inverse(value), unconstrained, rtol=100 * float(jnp.finfo(dtype).eps))
    value = np.asarray(value, np.float64)
    if name == "positive":
        assert np.all(value > 0)
    elif name == "unit_interval":
        assert np.all((value > 0) & (value < 1))
    elif name == "interval":
        assert np.all((value > -2) & (value < 3))
    elif name == "simplex":
        assert value.shape == (5,) and np.all(value > 0)
        assert_close(value.sum(), 1.0, dtype)
    elif name == "cholesky_factor":
        assert np.all(np.triu(value, 1) == 0) and np.all(np.diag(value) > 0)


def test_interval_needs_low_below_high():
    with pytest.raises(ValueError, match="low < high"):
        optim.interval(1.0, 1.0)


# ---------------------------------------------------------------------------------------------
# mle: each weighted closed-form fit = optim.mle = scipy / numpy


@pytest.fixture(scope="module")
def samples():
    """Samples of each family and integer weights (zeros included), in float64 NumPy."""
    rng = np.random.default_rng(42)
    n = 60
    return {
        "normal": rng.normal(1.5, 2.0, n),
        "mvn": rng.multivariate_normal([1.0, -1.0, 0.5],
                                       [[2.0, 0.6, 0.2], [0.6, 1.0, -0.3], [0.2, -0.3, 0.5]], n),
        "bernoulli": (rng.random(n) < 0.3).astype(np.float64),
        "categorical": rng.choice(4, size=n, p=[0.1, 0.2, 0.3, 0.4]),
        "poisson": rng.poisson(3.5, n).astype(np.float64),
        "laplace": rng.laplace(0.5, 1.5, n),
        "gamma": rng.gamma(2.5, 1.0 / 1.5, n),
        "uniform": rng.uniform(-1.0, 2.0, n),
        "counts": rng.integers(0, 4, n),  # integer weights: weighting = repeating samples
    }


WEIGHTINGS = ["unweighted", "counts"]


def _weights(samples, weighting):
    return None if weighting == "unweighted" else samples["counts"].astype(np.float64)


def _repeat(x, weights):
    """The data set that integer weights stand for."""
    return x if weights is None else np.repeat(x, weights.astype(int), axis=0)


def _jnp(x):
    return None if x is None else jnp.asarray(x, DEFAULT_FLOAT)


# family: (weighted log-density of one sample, starting point, constraints, method)
MLE_PROBLEMS = {
    "normal": (lambda p, x: Normal(p["loc"], p["scale"]).log_prob(x),
               {"loc": 0.0, "scale": 1.0}, {"loc": None, "scale": optim.positive}, "newton"),
    "mvn": (lambda p, x: MultivariateNormal(p["loc"], scale_tril=p["scale_tril"]).log_prob(x),
            {"loc": np.zeros(3), "scale_tril": np.eye(3)},
            {"loc": None, "scale_tril": optim.cholesky_factor}, "lbfgs"),
    "bernoulli": (lambda p, x: Bernoulli(probs=p).log_prob(x), 0.5, optim.unit_interval,
                  "newton"),
    "categorical": (lambda p, x: Categorical(probs=p).log_prob(x.astype(jnp.int32)),
                    np.full(4, 0.25), optim.simplex, "lbfgs"),
    "poisson": (lambda p, x: Poisson(p).log_prob(x), 1.0, optim.positive, "newton"),
    "laplace": (lambda p, x: Laplace(p["loc"], p["scale"]).log_prob(x),
                {"loc": 0.0, "scale": 1.0}, {"loc": None, "scale": optim.positive}, "lbfgs"),
    "gamma": (lambda p, x: Gamma(p["shape"], p["rate"]).log_prob(x),
              {"shape": 1.0, "rate": 1.0}, {"shape": optim.positive, "rate": optim.positive},
              "lbfgs"),
}


@functools.cache
def _mle_program(family):
    """One compiled ``optim.mle`` per family, shared by every weighting of the same data."""
    log_prob, start, constraints, method = MLE_PROBLEMS[family]

    @jax.jit
    def run(x, weights):
        params = jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, DEFAULT_FLOAT), start)
        return optim.mle(lambda p, data: jnp.sum(data[1] * log_prob(p, data[0])), params,
                         (x, weights), constraints=constraints, method=method)

    return run


def _mle(family, x, weights):
    weights = np.ones(len(x)) if weights is None else weights
    return _mle_program(family)(_jnp(x), _jnp(weights))


MLE_RTOL = solution_rtol(DEFAULT_FLOAT)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_normal_fit(samples, weighting):
    x, weights = samples["normal"], _weights(samples, weighting)
    loc, scale = fit.fit_normal(_jnp(x), _jnp(weights))
    expected = scipy.stats.norm.fit(_repeat(x, weights))
    assert_close([loc, scale], expected, rtol=MLE_RTOL)
    result = _mle("normal", x, weights)
    assert bool(result.converged)
    assert_close([result.params["loc"], result.params["scale"]], expected, rtol=MLE_RTOL)
    assert_close(result.log_density,
                 np.sum(scipy.stats.norm.logpdf(_repeat(x, weights), *expected)), rtol=MLE_RTOL)


def test_normal_fit_with_real_weights(samples):
    x = samples["normal"]
    weights = np.random.default_rng(0).uniform(0.0, 2.0, len(x))
    mean = np.average(x, weights=weights)
    expected = [mean, np.sqrt(np.average((x - mean) ** 2, weights=weights))]
    assert_close(fit.fit_normal(_jnp(x), _jnp(weights)), expected, rtol=MLE_RTOL)
    result = _mle("normal", x, weights)
    assert_close([result.params["loc"], result.params["scale"]], expected, rtol=MLE_RTOL)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_multivariate_normal_fit(samples, weighting):
    x, weights = samples["mvn"], _weights(samples, weighting)
    mean, covariance = fit.fit_multivariate_normal(_jnp(x), _jnp(weights))
    aweights = np.ones(len(x)) if weights is None else weights
    expected_mean = np.average(x, axis=0, weights=aweights)
    expected_covariance = np.cov(x.T, aweights=aweights, bias=True)
    assert_close(mean, expected_mean, rtol=MLE_RTOL)
    assert_close(covariance, expected_covariance, rtol=MLE_RTOL)
    result = _mle("mvn", x, weights)
    assert bool(result.converged)
    factor = np.asarray(result.params["scale_tril"], np.float64)
    assert_close(result.params["loc"], expected_mean, rtol=MLE_RTOL)
    assert_close(factor @ factor.T, expected_covariance, rtol=MLE_RTOL)
    expected_log_likelihood = np.sum(scipy.stats.multivariate_normal.logpdf(
        _repeat(x, weights), expected_mean, expected_covariance))
    assert_close(result.log_density, expected_log_likelihood, rtol=MLE_RTOL)


def test_multivariate_normal_fit_reg_covar(samples):
    x = samples["mvn"]
    _, covariance = fit.fit_multivariate_normal(_jnp(x), reg_covar=0.25)
    assert_close(covariance, np.cov(x.T, bias=True) + 0.25 * np.eye(3), rtol=MLE_RTOL)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_bernoulli_fit(samples, weighting):
    x, weights = samples["bernoulli"], _weights(samples, weighting)
    expected = np.mean(_repeat(x, weights))
    assert_close(fit.fit_bernoulli(_jnp(x), _jnp(weights)), expected, rtol=MLE_RTOL)
    result = _mle("bernoulli", x, weights)
    assert bool(result.converged)
    assert_close(result.params, expected, rtol=MLE_RTOL)
    expected_log_likelihood = np.sum(scipy.stats.bernoulli.logpmf(_repeat(x, weights), expected))
    assert_close(result.log_density, expected_log_likelihood, rtol=MLE_RTOL)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_categorical_fit(samples, weighting):
    x, weights = samples["categorical"], _weights(samples, weighting)
    expected = np.bincount(_repeat(x, weights), minlength=4) / len(_repeat(x, weights))
    assert_close(fit.fit_categorical(jnp.asarray(x), 4, _jnp(weights)), expected, rtol=MLE_RTOL)
    result = _mle("categorical", x, weights)
    assert bool(result.converged)
    assert_close(result.params, expected, rtol=MLE_RTOL)


def test_categorical_fit_with_an_empty_category():
    x = np.array([0, 0, 1, 3, 3, 3])
    weights = np.array([1.0, 0.5, 2.0, 1.0, 0.0, 1.5])
    expected = np.bincount(x, weights=weights, minlength=5) / weights.sum()
    assert_close(fit.fit_categorical(jnp.asarray(x), 5, _jnp(weights)), expected, rtol=MLE_RTOL)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_poisson_fit(samples, weighting):
    x, weights = samples["poisson"], _weights(samples, weighting)
    expected = np.mean(_repeat(x, weights))
    assert_close(fit.fit_poisson(_jnp(x), _jnp(weights)), expected, rtol=MLE_RTOL)
    result = _mle("poisson", x, weights)
    assert bool(result.converged)
    assert_close(result.params, expected, rtol=MLE_RTOL)
    expected_log_likelihood = np.sum(scipy.stats.poisson.logpmf(_repeat(x, weights), expected))
    assert_close(result.log_density, expected_log_likelihood, rtol=MLE_RTOL)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_laplace_fit(samples, weighting):
    """The location is a (weighted) median; the likelihood is not smooth there, so the
    optimizer is compared on the maximized log-likelihood, not on the argmax."""
    x, weights = samples["laplace"], _weights(samples, weighting)
    repeated = _repeat(x, weights)
    loc, scale = fit.fit_laplace(_jnp(x), _jnp(weights))
    expected = scipy.stats.laplace.fit(repeated)
    assert_close(loc, np.median(repeated), rtol=MLE_RTOL)
    assert_close([loc, scale], expected, rtol=MLE_RTOL)
    best = np.sum(scipy.stats.laplace.logpdf(repeated, *expected))
    result = _mle("laplace", x, weights)
    assert_close(result.log_density, best, rtol=MLE_RTOL)
    # nothing beats the closed form (up to rounding of the sum)
    assert float(result.log_density) <= best + MLE_RTOL * abs(best)


def test_weighted_median_with_real_weights():
    """A weighted median minimizes ``sum_i w_i |x_i - m|``: compare that sum with the
    best of all candidates (the minimum of a piecewise-linear function is at a sample)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=25)
    weights = rng.uniform(0.0, 3.0, 25)
    loc, scale = fit.fit_laplace(_jnp(x), _jnp(weights))
    cost = lambda m: np.sum(weights * np.abs(x - m))  # noqa: E731
    best = min(cost(candidate) for candidate in x)
    assert_close(cost(float(loc)), best, rtol=MLE_RTOL)
    assert_close(scale, best / weights.sum(), rtol=MLE_RTOL)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_gamma_fit(samples, weighting):
    x, weights = samples["gamma"], _weights(samples, weighting)
    shape, rate = fit.fit_gamma(_jnp(x), _jnp(weights))
    expected_shape, location, expected_scale = scipy.stats.gamma.fit(_repeat(x, weights), floc=0)
    assert location == 0
    expected = [expected_shape, 1.0 / expected_scale]
    assert_close([shape, rate], expected, rtol=MLE_RTOL)
    result = _mle("gamma", x, weights)
    assert bool(result.converged)
    assert_close([result.params["shape"], result.params["rate"]], expected, rtol=MLE_RTOL)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_uniform_fit(samples, weighting):
    """The Uniform MLE sits on the boundary of the likelihood's support (no stationary point
    for a gradient method), so only the closed form is checked, against scipy."""
    x, weights = samples["uniform"], _weights(samples, weighting)
    low, high = fit.fit_uniform(_jnp(x), _jnp(weights))
    loc, scale = scipy.stats.uniform.fit(_repeat(x, weights))
    assert_close([low, high], [loc, loc + scale], rtol=MLE_RTOL)
    if weights is not None:  # zero-weight samples do not count
        assert float(low) > x.min() or weights[np.argmin(x)] > 0


# ---------------------------------------------------------------------------------------------
# map_estimate


def test_map_normal_mean_with_normal_prior_is_the_posterior_mode():
    rng = np.random.default_rng(7)
    x = rng.normal(2.0, 1.5, 20)
    sigma, prior_mean, prior_scale = 1.5, -1.0, 0.5
    precision = 1 / prior_scale ** 2 + len(x) / sigma ** 2
    expected = (prior_mean / prior_scale ** 2 + x.sum() / sigma ** 2) / precision
    result = optim.map_estimate(lambda mu, x: jnp.sum(Normal(mu, sigma).log_prob(x)),
                                lambda mu: Normal(prior_mean, prior_scale).log_prob(mu),
                                0.0, _jnp(x), method="newton")
    assert bool(result.converged)
    assert_close(result.params, expected, rtol=MLE_RTOL)
    log_posterior = (np.sum(scipy.stats.norm.logpdf(x, expected, sigma))
                     + scipy.stats.norm.logpdf(expected, prior_mean, prior_scale))
    assert_close(result.log_density, log_posterior, rtol=MLE_RTOL)


@pytest.fixture(scope="module")
def diabetes():
    X, y = datasets.load_diabetes(return_X_y=True)
    return X, y


NOISE_SCALE = 50.0  # about the residual scale of the diabetes targets


def _regression_log_likelihood(p, data):
    X, y = data
    return jnp.sum(Normal(X @ p["w"] + p["b"], NOISE_SCALE).log_prob(y))


def _regression_start(X, y):
    return {"w": jnp.zeros(X.shape[1], X.dtype), "b": jnp.mean(y)}


@jax.jit
def _ridge_as_map(X, y, alpha):
    """A Normal prior of variance sigma^2 / alpha on the weights (none on the intercept)."""
    prior_scale = NOISE_SCALE / jnp.sqrt(alpha)
    return optim.map_estimate(_regression_log_likelihood,
                              lambda p: jnp.sum(Normal(0.0, prior_scale).log_prob(p["w"])),
                              _regression_start(X, y), (X, y), method="newton")


@pytest.mark.parametrize("alpha", [0.1, 10.0])
def test_map_with_a_gaussian_prior_is_ridge(diabetes, alpha):
    """``-log posterior = (|y - Xw - b|^2 + alpha |w|^2) / (2 sigma^2) + const``: ridge."""
    X, y = diabetes
    reference = linear_model.Ridge(alpha=alpha).fit(X, y)
    result = _ridge_as_map(_jnp(X), _jnp(y), alpha)
    assert bool(result.converged)
    assert_relative(result.params["w"], reference.coef_, MLE_RTOL)
    assert_close(result.params["b"], reference.intercept_, rtol=MLE_RTOL)


@pytest.fixture(scope="module", params=[0.1, 1.0], ids=lambda alpha: f"alpha={alpha}")
def lasso_reference(request, diabetes):
    X, y = diabetes
    alpha = request.param
    reference = linear_model.Lasso(alpha=alpha, tol=1e-12, max_iter=10**6).fit(X, y)
    prior_scale = NOISE_SCALE ** 2 / (len(y) * alpha)
    best = (np.sum(scipy.stats.norm.logpdf(y, X @ reference.coef_ + reference.intercept_,
                                           NOISE_SCALE))
            + np.sum(scipy.stats.laplace.logpdf(reference.coef_, 0.0, prior_scale)))
    return alpha, reference, best


@functools.partial(jax.jit, static_argnames="tol")
def _lasso_as_proximal_map(X, y, alpha, tol):
    """The same posterior mode by FISTA: the Normal likelihood is the smooth part, the
    Laplace prior's proximal map is soft-thresholding at ``step / prior_scale``."""
    prior_scale = NOISE_SCALE ** 2 / (X.shape[0] * alpha)

    def prox(p, step):
        return {"w": optim.soft_threshold(p["w"], step / prior_scale), "b": p["b"]}

    return optim.fista(lambda p: -_regression_log_likelihood(p, (X, y)), prox,
                       _regression_start(X, y), max_steps=20000, tol=tol,
                       penalty=lambda p: -jnp.sum(Laplace(0.0, prior_scale).log_prob(p["w"])))


def test_laplace_prior_mode_by_fista_is_lasso(diabetes, lasso_reference):
    """The tolerance is set from the claim: a gradient mapping ``g`` leaves the mode at most
    ``|g| / lambda_min`` away, and ``lambda_min`` of this posterior's curvature
    ``[X, 1]^T [X, 1] / sigma^2`` is only ~3e-6 (diabetes' features are tiny): no
    tolerance relative to the objective (the default) pins this ill-conditioned mode to
    the claim in float32."""
    X, y = diabetes
    alpha, reference, best = lasso_reference
    design = np.hstack([X, np.ones((len(y), 1))])
    curvature = np.linalg.eigvalsh(design.T @ design / NOISE_SCALE ** 2)[0]
    tol = 0.1 * MLE_RTOL * np.max(np.abs(reference.coef_)) * curvature
    result = _lasso_as_proximal_map(_jnp(X), _jnp(y), alpha, tol=float(tol))
    assert bool(result.converged)
    assert_relative(result.params["w"], reference.coef_, MLE_RTOL)
    assert np.all(np.asarray(result.params["w"])[reference.coef_ == 0] == 0)
    assert_close(result.params["b"], reference.intercept_, rtol=MLE_RTOL)
    assert_close(-result.value, best, rtol=MLE_RTOL)


def test_mle_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="method"):
        optim.mle(lambda p, x: -jnp.sum((x - p) ** 2), 0.0, jnp.ones(3), method="bfgs")
