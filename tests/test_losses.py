"""Losses as negative log-likelihoods, penalties as negative log-priors.

Each loss is checked three ways: against ``-log_prob`` of the mlmath distribution it is the
negative log-likelihood of, against a float64 reference from scipy (log_softmax, log_expit,
scipy.stats log-densities), and against optax's loss where optax has one. Then the sharp
edges (logits of +-1e4 in float32, -inf logits, fully masked rows), composability (plain,
jit, vmap, grad against finite differences) and trace-time errors.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import special, stats

from mlmath.distributions import Bernoulli, Categorical, Laplace, Normal, Poisson
from mlmath.losses import (
    gaussian_nll,
    hinge,
    huber,
    l1_penalty,
    l2_penalty,
    laplace_nll,
    poisson_nll,
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
    softmax_cross_entropy_with_probs,
    squared_error,
)
from tests.composability import check_composable_packed, check_gradient
from tests.conftest import assert_close, rounded

LOG_2PI = math.log(2.0 * math.pi)


def _f64(x):
    return np.asarray(x, dtype=np.float64)


_rng = np.random.default_rng(5)
_LOGITS = _rng.normal(size=(5, 6)) * 2.0
_LOGITS[2, 1] = 30.0
_LOGITS[3] += 50.0  # a large common offset
_LABELS = np.array([0, 5, 1, 3, 2])
_TARGETS = _rng.uniform(size=(5, 6))
_TARGETS[1, :3] = 0.0
_TARGETS[4] = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
_TARGETS /= _TARGETS.sum(axis=-1, keepdims=True)


# ----------------------------------------------------------------------------------------
# Classification losses


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_cross_entropy_is_categorical_nll(dtype, axis):
    logits, z64 = rounded(_LOGITS if axis == -1 else _LOGITS.T, dtype)
    labels = jnp.asarray(_LABELS)
    loss = softmax_cross_entropy(logits, labels, axis=axis)
    assert loss.shape == (5,) and loss.dtype == dtype
    log_probs = special.log_softmax(z64, axis=axis)
    expected = -np.take_along_axis(log_probs, np.expand_dims(_LABELS, axis), axis=axis)
    assert_close(loss, np.squeeze(expected, axis), dtype)
    rows = logits if axis == -1 else logits.T
    assert_close(loss, -Categorical(logits=rows).log_prob(labels), dtype)
    assert_close(loss, optax.losses.softmax_cross_entropy_with_integer_labels(
        logits, labels, axis=axis), dtype)


def test_softmax_cross_entropy_labels_broadcast_over_models(dtype):
    """One label array scores a stack of models' logits."""
    stacked, z64 = rounded(np.stack([_LOGITS, -_LOGITS]), dtype)
    loss = softmax_cross_entropy(stacked, jnp.asarray(_LABELS))
    assert loss.shape == (2, 5)
    expected = -np.take_along_axis(special.log_softmax(z64, axis=-1),
                                   np.broadcast_to(_LABELS[:, None], (2, 5, 1)), axis=-1)
    assert_close(loss, expected[..., 0], dtype)


def test_softmax_cross_entropy_with_where_mask(dtype):
    logits, z64 = rounded(_LOGITS, dtype)
    mask = np.ones((5, 6), bool)
    mask[0, 3:] = False
    mask[1, [0, 2]] = False
    mask[4, 5] = False
    loss = softmax_cross_entropy(logits, jnp.asarray(_LABELS), where=jnp.asarray(mask))
    expected = [-special.log_softmax(z64[i][mask[i]])[np.flatnonzero(mask[i]) == _LABELS[i]][0]
                for i in range(5)]
    assert_close(loss, expected, dtype)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_cross_entropy_with_probs_is_expected_categorical_nll(dtype, axis):
    logits, z64 = rounded(_LOGITS if axis == -1 else _LOGITS.T, dtype)
    targets, t64 = rounded(_TARGETS if axis == -1 else _TARGETS.T, dtype)
    loss = softmax_cross_entropy_with_probs(logits, targets, axis=axis)
    assert loss.shape == (5,) and loss.dtype == dtype
    expected = -np.sum(t64 * special.log_softmax(z64, axis=axis), axis=axis)
    assert_close(loss, expected, dtype)
    # the expectation, over labels drawn from the targets, of the Categorical NLL
    rows, target_rows = (logits, targets) if axis == -1 else (logits.T, targets.T)
    nll = -Categorical(logits=rows[:, None, :]).log_prob(jnp.arange(6))  # (5, 6)
    assert_close(loss, jnp.sum(target_rows * nll, axis=-1), dtype)
    assert_close(loss, optax.losses.softmax_cross_entropy(logits, targets, axis=axis), dtype)


def test_softmax_cross_entropy_with_probs_and_where_mask(dtype):
    logits, z64 = rounded(_LOGITS, dtype)
    mask = np.ones((5, 6), bool)
    mask[0, 4] = False
    mask[1, :2] = False  # targets are zero there anyway
    targets = np.where(mask, _TARGETS, 0.0)
    targets /= targets.sum(axis=-1, keepdims=True)
    targets, t64 = rounded(targets, dtype)
    loss = softmax_cross_entropy_with_probs(logits, targets, where=jnp.asarray(mask))
    expected = [-np.sum(t64[i][mask[i]] * special.log_softmax(z64[i][mask[i]])) for i in range(5)]
    assert_close(loss, expected, dtype)


_BINARY_LOGITS = np.array([-40.0, -3.0, -0.5, 0.7, 15.0, 60.0])


def test_sigmoid_binary_cross_entropy_is_bernoulli_nll(dtype):
    logits, z64 = rounded(_BINARY_LOGITS, dtype)
    for labels in (np.array([0, 1, 0, 1, 1, 0]), np.array([1, 0, 1, 0, 0, 1])):
        y = jnp.asarray(labels, dtype)
        loss = sigmoid_binary_cross_entropy(logits, y)
        assert loss.dtype == dtype
        expected = -(labels * special.log_expit(z64) + (1 - labels) * special.log_expit(-z64))
        assert_close(loss, expected, dtype)
        assert_close(loss, -Bernoulli(logits=logits).log_prob(jnp.asarray(labels)), dtype)
        assert_close(loss, optax.losses.sigmoid_binary_cross_entropy(logits, y), dtype)
    # soft labels: the expected Bernoulli NLL
    soft, s64 = rounded(np.linspace(0.0, 1.0, 6), dtype)
    loss = sigmoid_binary_cross_entropy(logits, soft)
    expected = -(s64 * special.log_expit(z64) + (1 - s64) * special.log_expit(-z64))
    assert_close(loss, expected, dtype)
    bernoulli = Bernoulli(logits=logits)
    assert_close(loss, -(soft * bernoulli.log_prob(1) + (1 - soft) * bernoulli.log_prob(0)),
                 dtype)
    assert_close(loss, optax.losses.sigmoid_binary_cross_entropy(logits, soft), dtype)


def test_sigmoid_binary_cross_entropy_at_infinite_logits(dtype):
    logits = jnp.asarray([np.inf, -np.inf, np.inf, -np.inf], dtype)
    labels = jnp.asarray([1.0, 0.0, 0.0, 1.0], dtype)
    loss = np.asarray(sigmoid_binary_cross_entropy(logits, labels))
    # -log sigma(+inf) = 0, -log sigma(-inf) = inf: agree -> 0, disagree -> inf
    np.testing.assert_array_equal(loss, [0.0, 0.0, np.inf, np.inf])
    gradient = np.asarray(jax.grad(
        lambda z: jnp.sum(sigmoid_binary_cross_entropy(z, labels)[:2]))(logits))
    # the limit of sigmoid(z) - y where they agree is 0; no NaN anywhere
    np.testing.assert_array_equal(gradient, [0.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("labels", [np.array([1, 0, 1, 0, 1, 1]), np.array([1, -1, 1, -1, 1, 1])])
def test_hinge(dtype, labels):
    scores, s64 = rounded([2.0, 0.25, 0.25, -3.0, -0.5, 1.0], dtype)
    signs = np.where(labels > 0, 1.0, -1.0)
    loss = hinge(scores, jnp.asarray(labels))
    assert loss.dtype == dtype
    assert_close(loss, np.maximum(0.0, 1.0 - signs * s64), dtype)
    assert_close(loss, optax.losses.hinge_loss(scores, jnp.asarray(signs, dtype)), dtype)


# ----------------------------------------------------------------------------------------
# Regression losses

_Y = np.array([0.3, -1.2, 4.0, 2.5, -0.7, 10.0])
_MEAN = np.array([0.0, -1.0, 1.0, 2.5, 0.6, -3.0])
_VARIANCE = np.array([1.0, 0.25, 4.0, 0.01, 2.0, 30.0])


def test_gaussian_nll_is_normal_nll(dtype):
    y, y64 = rounded(_Y, dtype)
    mean, m64 = rounded(_MEAN, dtype)
    variance, v64 = rounded(_VARIANCE, dtype)
    loss = gaussian_nll(mean, variance, y)
    assert loss.dtype == dtype
    assert_close(loss, -stats.norm.logpdf(y64, m64, np.sqrt(v64)), dtype)
    assert_close(loss, -Normal(mean, jnp.sqrt(variance)).log_prob(y), dtype)


def test_laplace_nll_is_laplace_nll(dtype):
    y, y64 = rounded(_Y, dtype)
    loc, m64 = rounded(_MEAN, dtype)
    scale, b64 = rounded(np.sqrt(_VARIANCE), dtype)
    loss = laplace_nll(loc, scale, y)
    assert loss.dtype == dtype
    assert_close(loss, -stats.laplace.logpdf(y64, m64, b64), dtype)
    assert_close(loss, -Laplace(loc, scale).log_prob(y), dtype)


def test_poisson_nll_is_poisson_nll(dtype):
    log_rate, r64 = rounded([0.0, 1.2, -2.0, 10.0, 13.8, 3.0], dtype)
    counts, k64 = rounded([0.0, 3.0, 1.0, 22000.0, 1e6, 40.0], dtype)
    loss = poisson_nll(log_rate, counts)
    assert loss.dtype == dtype
    assert_close(loss, -stats.poisson.logpmf(k64, np.exp(r64)), dtype)
    assert_close(loss, -Poisson(jnp.exp(log_rate)).log_prob(counts), dtype)


def test_poisson_nll_where_the_rate_underflows(dtype):
    """exp(-200) underflows in float32: the loss still uses the exact log-rate."""
    log_rate, r64 = rounded([-200.0, -200.0, -120.0, -800.0, -95.0, -150.0], dtype)
    counts, k64 = rounded([0.0, 3.0, 2.0, 1.0, 40.0, 7.0], dtype)
    loss = poisson_nll(log_rate, counts)
    expected = -(k64 * r64 - np.exp(r64) - special.gammaln(k64 + 1.0))
    assert np.all(np.isfinite(np.asarray(loss)))
    assert_close(loss, expected, dtype)
    gradient = jax.grad(lambda r: jnp.sum(poisson_nll(r, counts)))(log_rate)
    assert_close(gradient, np.exp(r64) - k64, dtype)


def test_squared_error_is_scaled_normal_nll(dtype):
    predictions, p64 = rounded(_MEAN, dtype)
    targets, y64 = rounded(_Y, dtype)
    loss = squared_error(predictions, targets)
    assert loss.dtype == dtype
    assert_close(loss, (y64 - p64) ** 2, dtype)
    assert_close(loss, 2.0 * -stats.norm.logpdf(y64, p64, 1.0) - LOG_2PI, dtype)
    assert_close(loss, 2.0 * -Normal(predictions, 1.0).log_prob(targets) - LOG_2PI, dtype)
    assert_close(loss, optax.losses.squared_error(predictions, targets), dtype)


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_is_normal_core_and_laplace_tails(dtype, delta):
    predictions, p64 = rounded([0.0, 0.0, 0.5, 0.0, -1.0, 0.0], dtype)
    targets, y64 = rounded([-5.0, -2.1, -0.5, 0.4, 0.5, 3.0], dtype)
    loss = huber(predictions, targets, delta=delta)
    assert loss.dtype == dtype
    residual = y64 - p64
    core = np.abs(residual) <= delta
    # core: 1/2 r^2 = -log N(y; pred, 1) - log(2 pi)/2, a shifted Normal NLL
    normal_core = -stats.norm.logpdf(y64, p64, 1.0) - 0.5 * LOG_2PI
    # tails: delta |r| - delta^2/2 = -log Laplace(y; pred, 1/delta) - log(2/delta) - delta^2/2
    laplace_tail = (-stats.laplace.logpdf(y64, p64, 1.0 / delta) - math.log(2.0 / delta)
                    - 0.5 * delta**2)
    assert core.any() and (~core).any()
    assert_close(loss, np.where(core, normal_core, laplace_tail), dtype)
    assert_close(loss, np.where(core, 0.5 * residual**2, delta * np.abs(residual)
                                - 0.5 * delta**2), dtype)
    mlmath_core = -Normal(predictions, 1.0).log_prob(targets) - 0.5 * LOG_2PI
    mlmath_tail = (-Laplace(predictions, 1.0 / delta).log_prob(targets) - math.log(2.0 / delta)
                   - 0.5 * delta**2)
    assert_close(loss, jnp.where(jnp.asarray(core), mlmath_core, mlmath_tail), dtype)
    assert_close(loss, optax.losses.huber_loss(predictions, targets, delta=delta), dtype)


# ----------------------------------------------------------------------------------------
# Penalties: negative log-priors


def _params(dtype):
    rng = np.random.default_rng(9)
    return {
        "w": jnp.asarray(rng.normal(size=(3, 2)), dtype),
        "b": jnp.asarray(rng.normal(size=2), dtype),
        "nested": [jnp.asarray(-1.5, dtype), (jnp.asarray(rng.normal(size=4) * 3, dtype),)],
    }


def test_penalties_are_negative_log_priors(dtype):
    params = _params(dtype)
    leaves = [_f64(leaf) for leaf in jax.tree_util.tree_leaves(params)]
    d = sum(leaf.size for leaf in leaves)
    gauss = -sum(np.sum(stats.norm.logpdf(leaf)) for leaf in leaves)
    laplace = -sum(np.sum(stats.laplace.logpdf(leaf)) for leaf in leaves)
    assert_close(l2_penalty(params), gauss - 0.5 * d * LOG_2PI, dtype)
    assert_close(l1_penalty(params), laplace - d * math.log(2.0), dtype)
    # lam * penalty is the prior N(0, 1/lam) / Laplace(0, 1/lam), up to its constant
    lam = 4.0
    gauss = -sum(np.sum(stats.norm.logpdf(leaf, scale=1 / math.sqrt(lam))) for leaf in leaves)
    laplace = -sum(np.sum(stats.laplace.logpdf(leaf, scale=1 / lam)) for leaf in leaves)
    assert_close(lam * l2_penalty(params), gauss - 0.5 * d * math.log(2 * math.pi / lam), dtype)
    assert_close(lam * l1_penalty(params), laplace - d * math.log(2.0 / lam), dtype)
    assert l2_penalty(params).dtype == dtype and l1_penalty(params).dtype == dtype


def test_penalties_reject_integer_leaves():
    for penalty in (l2_penalty, l1_penalty):
        with pytest.raises(TypeError, match="floating"):
            penalty({"w": jnp.ones(3), "n": jnp.arange(3)})


# ----------------------------------------------------------------------------------------
# Sharp edges


def test_huge_float32_logits_give_finite_correct_losses_and_gradients():
    """Logits of +-1e4 in float32: the loss and the gradient match float64 references."""
    dtype = jnp.float32
    logits, z64 = rounded([[1e4, -1e4, 0.0, 3.0, -2.0, 1e4 - 1.0],
                       [-1e4, -1e4, 1e4, -1e4, 5.0, 0.0],
                       [1e4, 1e4, 1e4, -1e4, -1e4, 1e4],
                       [-1e4, -1e4, -1e4, -1e4, -1e4, -1e4 + 2.0],
                       [1e4, -1e4, 1e4 - 0.5, 2.0, -3.0, 0.0]], dtype)
    labels = np.array([1, 2, 4, 5, 2])
    onehot = np.eye(6)[labels]
    loss, gradient = jax.value_and_grad(
        lambda z: jnp.sum(softmax_cross_entropy(z, jnp.asarray(labels))))(logits)
    assert np.isfinite(float(loss))
    expected = special.logsumexp(z64, axis=-1) - z64[np.arange(5), labels]
    assert_close(softmax_cross_entropy(logits, jnp.asarray(labels)), expected, dtype)
    assert_close(gradient, special.softmax(z64, axis=-1) - onehot, dtype)

    targets, t64 = rounded([[0.2, 0.3, 0.0, 0.0, 0.5, 0.0],
                        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
                        [0.1, 0.1, 0.1, 0.2, 0.3, 0.2],
                        [0.0, 0.0, 0.0, 0.0, 0.5, 0.5],
                        [0.5, 0.0, 0.0, 0.0, 0.0, 0.5]], dtype)
    loss, gradient = jax.value_and_grad(
        lambda z: jnp.sum(softmax_cross_entropy_with_probs(z, targets)))(logits)
    assert np.isfinite(float(loss))
    expected = -np.sum(t64 * special.log_softmax(z64, axis=-1), axis=-1)
    assert_close(softmax_cross_entropy_with_probs(logits, targets), expected, dtype)
    assert_close(gradient, special.softmax(z64, axis=-1) - t64, dtype)

    binary, b64 = rounded([1e4, -1e4, 1e4, -1e4, 3.0, -1e4], dtype)
    y, y64 = rounded([1.0, 0.0, 0.0, 1.0, 0.3, 0.5], dtype)
    value = sigmoid_binary_cross_entropy(binary, y)
    gradient = jax.grad(lambda z: jnp.sum(sigmoid_binary_cross_entropy(z, y)))(binary)
    expected = -(y64 * special.log_expit(b64) + (1 - y64) * special.log_expit(-b64))
    assert np.all(np.isfinite(np.asarray(value)))
    assert_close(value, expected, dtype)
    assert_close(gradient, special.expit(b64) - y64, dtype)


def test_minus_inf_logit_on_a_class_without_target_mass(dtype):
    logits, z64 = rounded([0.5, -np.inf, 1.0, -0.3, -np.inf, 2.0], dtype)
    finite = np.isfinite(z64)
    probs = np.zeros(6)
    probs[finite] = special.softmax(z64[finite])
    # integer label on a finite class: finite loss, gradient softmax - onehot (0 at -inf)
    value, gradient = jax.value_and_grad(softmax_cross_entropy)(logits, jnp.asarray(2))
    assert_close(value, -special.log_softmax(z64[finite])[1], dtype)
    assert_close(gradient, probs - np.eye(6)[2], dtype)
    # a label whose logit is -inf is impossible: infinite loss
    assert np.isposinf(float(softmax_cross_entropy(logits, jnp.asarray(1))))
    # soft targets with zero mass on the -inf classes: finite value and gradient
    targets, t64 = rounded([0.2, 0.0, 0.3, 0.1, 0.0, 0.4], dtype)
    value, (grad_z, grad_t) = jax.value_and_grad(softmax_cross_entropy_with_probs,
                                                 argnums=(0, 1))(logits, targets)
    assert_close(value, -np.sum(t64[finite] * special.log_softmax(z64[finite])), dtype)
    assert_close(grad_z, probs - t64, dtype)
    # d/dt = -log softmax(z): finite on the live classes (+inf, not NaN, on the -inf ones)
    grad_t = np.asarray(grad_t)
    assert not np.any(np.isnan(grad_t))
    assert_close(grad_t[finite], -special.log_softmax(z64[finite]), dtype)


def test_fully_masked_rows_cost_zero_with_zero_gradient(dtype):
    logits, z64 = rounded(_LOGITS, dtype)
    targets, t64 = rounded(_TARGETS, dtype)
    labels = jnp.asarray(_LABELS)
    mask = np.ones((5, 6), bool)
    mask[1] = False  # the second row is entirely masked
    minus_inf = logits.at[2].set(-jnp.inf)  # the third row has no finite logit
    log_softmax = special.log_softmax(z64, axis=-1)
    for function in (lambda z: softmax_cross_entropy(z, labels, where=jnp.asarray(mask)),
                     lambda z: softmax_cross_entropy_with_probs(z, targets,
                                                                where=jnp.asarray(mask))):
        value, gradient = jax.jit(jax.value_and_grad(lambda z, f=function: jnp.sum(f(z)[1])))(
            logits)
        assert float(value) == 0.0
        np.testing.assert_array_equal(np.asarray(gradient), np.zeros((5, 6)))
    # the other rows are untouched
    expected = -log_softmax[np.arange(5), _LABELS]
    assert_close(softmax_cross_entropy(minus_inf, labels), np.where(np.arange(5) == 2, 0.0,
                                                                    expected), dtype)
    expected = -np.sum(t64 * log_softmax, axis=-1)
    assert_close(softmax_cross_entropy_with_probs(minus_inf, targets),
                 np.where(np.arange(5) == 2, 0.0, expected), dtype)
    for function in (lambda z: softmax_cross_entropy(z, labels),
                     lambda z: softmax_cross_entropy_with_probs(z, targets)):
        value, gradient = jax.jit(jax.value_and_grad(lambda z, f=function: jnp.sum(f(z)[2])))(
            minus_inf)
        assert float(value) == 0.0
        np.testing.assert_array_equal(np.asarray(gradient), np.zeros((5, 6)))


# ----------------------------------------------------------------------------------------
# Composability: plain, jit, vmap, grad against finite differences (float64)

_V = np.random.default_rng(21)
_Z = [jnp.asarray(_V.normal(size=6) * 2) for _ in range(3)]
_T = [jnp.asarray(t / t.sum()) for t in _V.uniform(0.05, 1.0, size=(3, 6))]
_MASK = jnp.asarray([True, True, False, True, True, True])
_POS = [jnp.asarray(_V.uniform(0.3, 3.0, size=6)) for _ in range(3)]
_R = [jnp.asarray(_V.normal(size=6)) for _ in range(3)]

_COMPOSABLE = {
    "softmax_cross_entropy": (
        lambda z, y: softmax_cross_entropy(z, y), [(z, jnp.asarray(i)) for i, z in enumerate(_Z)],
        (0,)),
    "softmax_cross_entropy_masked": (
        lambda z, y: softmax_cross_entropy(z, y, where=_MASK),
        [(z, jnp.asarray(i)) for i, z in enumerate(_Z)], (0,)),
    "softmax_cross_entropy_with_probs": (
        lambda z, t: softmax_cross_entropy_with_probs(z, t), list(zip(_Z, _T, strict=True)),
        (0, 1)),
    "softmax_cross_entropy_with_probs_masked": (
        lambda z, t: softmax_cross_entropy_with_probs(z, t, where=_MASK),
        list(zip(_Z, _T, strict=True)), (0, 1)),
    "sigmoid_binary_cross_entropy": (
        sigmoid_binary_cross_entropy, [(z, t * 5.0) for z, t in zip(_Z, _T, strict=True)],
        (0, 1)),
    "gaussian_nll": (gaussian_nll, [(r, p, r + 0.5) for r, p in zip(_R, _POS, strict=True)],
                     (0, 1, 2)),
    "laplace_nll": (laplace_nll, [(r, p, r + 0.5) for r, p in zip(_R, _POS, strict=True)],
                    (0, 1, 2)),
    "poisson_nll": (poisson_nll,
                    [(r, jnp.asarray([0.5, 3.0, 7.0, 12.0, 150.0, 2.5]) + i)
                     for i, r in enumerate(_R)], (0, 1)),
    "squared_error": (squared_error, [(r, p) for r, p in zip(_R, _POS, strict=True)], (0, 1)),
    # residuals away from the kinks at |r| = delta and y s = 1
    "huber": (lambda a, b: huber(a, b, delta=1.5),
              [(r, r + jnp.asarray([0.2, -3.0, 2.5, -0.4, 1.0, 6.0])) for r in _R], (0, 1)),
    "hinge": (hinge, [(jnp.asarray([2.0, 0.25, -0.5, -3.0, 0.7, 1.2]) + 0.1 * i,
                       jnp.asarray([1.0, 0.0, 1.0, -1.0, -1.0, 1.0])) for i in range(3)], (0,)),
    "l2_penalty": (lambda w, b: l2_penalty({"w": w, "b": [b]}), list(zip(_R, _POS, strict=True)),
                   (0, 1)),
    "l1_penalty": (lambda w, b: l1_penalty({"w": w, "b": [b]}), list(zip(_R, _POS, strict=True)),
                   (0, 1)),
}


@pytest.mark.parametrize("name", list(_COMPOSABLE))
def test_composable(name):
    function, batch, argnums = _COMPOSABLE[name]
    check_composable_packed(function, batch, argnums=argnums)


@pytest.mark.x64_only  # float64 whatever the mode: see tests/conftest.py
def test_gradients_at_extreme_logits_match_finite_differences():
    z = jnp.asarray([1e4, -1e4, 0.0, 3.0, -2.0, 1e4 - 1.0])
    # the directions scale with the coordinates (1e4): a smaller step keeps the central
    # differences' truncation error (curvature between the two 1e4 logits) below 1e-7
    step = 1e-9
    check_gradient(lambda a: softmax_cross_entropy(a, jnp.asarray(1)), (z,), (0,), step=step)
    check_gradient(lambda at: softmax_cross_entropy_with_probs(*at), ((z, _T[0]),), (0,),
                   step=step)
    check_gradient(lambda zy: sigmoid_binary_cross_entropy(*zy), ((z, _T[0] * 5.0),), (0,),
                   step=step)
    # a rate that underflows in float64 too: exp(-800) = 0
    check_gradient(lambda r: poisson_nll(r, jnp.asarray([3.0, 0.0, 1.0, 2.0, 5.0, 1.0])),
                   (jnp.asarray([-800.0, -800.0, -750.0, 0.5, 1.0, -2.0]),), (0,))


# ----------------------------------------------------------------------------------------
# Bad input


def test_integer_label_loss_rejects_float_labels():
    with pytest.raises(TypeError, match="labels must be integers"):
        softmax_cross_entropy(jnp.zeros((2, 6)), jnp.asarray([0.0, 1.0]))


def test_incompatible_shapes_raise_naming_the_arguments():
    with pytest.raises(ValueError, match=r"labels shape \(3,\), logits_without_axis shape \(2,\)"):
        softmax_cross_entropy(jnp.zeros((2, 6)), jnp.asarray([0, 1, 2]))
    with pytest.raises(ValueError, match=r"logits shape \(2, 6\), target_probs shape \(2, 5\)"):
        softmax_cross_entropy_with_probs(jnp.zeros((2, 6)), jnp.ones((2, 5)) / 5)
    with pytest.raises(ValueError, match=r"logits shape \(3,\), labels shape \(4,\)"):
        sigmoid_binary_cross_entropy(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError, match=r"mean shape \(2,\), variance shape \(3,\), y shape"):
        gaussian_nll(jnp.zeros(2), jnp.ones(3), 0.0)
    with pytest.raises(ValueError, match=r"loc shape \(2,\), scale shape \(\), y shape \(5,\)"):
        laplace_nll(jnp.zeros(2), 1.0, jnp.zeros(5))
    with pytest.raises(ValueError, match=r"log_rate shape \(2,\), counts shape \(3,\)"):
        poisson_nll(jnp.zeros(2), jnp.zeros(3))
    for loss in (squared_error, huber):
        with pytest.raises(ValueError, match=r"predictions shape \(2,\), targets shape \(3,\)"):
            loss(jnp.zeros(2), jnp.zeros(3))
    with pytest.raises(ValueError, match=r"scores shape \(2,\), labels shape \(3,\)"):
        hinge(jnp.zeros(2), jnp.zeros(3))
    for loss, args in ((softmax_cross_entropy, (jnp.zeros((2, 6)), jnp.asarray([0, 1]))),
                       (softmax_cross_entropy_with_probs, (jnp.zeros((2, 6)),
                                                           jnp.ones((2, 6)) / 6))):
        with pytest.raises(ValueError, match=r"where shape \(4,\)"):
            loss(*args, where=jnp.ones(4, bool))
        with pytest.raises(ValueError, match="axis=2"):
            loss(*args, axis=2)
