"""Edges of the information measures, losses and metrics (issue 8), table-driven and cheap.

* Infinite logits are their limit: the value and the gradient of a softmax (or sigmoid) as
  the ``+inf`` logits grow together, checked against closed forms at the limiting
  probabilities; NaN input gives NaN, in the value and in the gradient.
* Labels outside ``0..K-1`` (negative ones included) give NaN from the pure functions and a
  ``ValueError`` naming the argument, the label and the range from the validating ones.
* Elementwise losses refuse a prediction and a target of different shapes that would
  broadcast into a table; the documented broadcasts (scalars, a shared scale) still work.
* String labels in the metrics, against scikit-learn.

Every batch of cases is one call of one module-level jitted function, so the file compiles a
few dozen small programs in all.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn.metrics as skm
from scipy import special, stats

from mlmath import info, losses, metrics
from tests.conftest import assert_close

INF, NAN = np.inf, np.nan
LOG2, LOG3 = math.log(2.0), math.log(3.0)


# ----------------------------------------------------------------------------------------
# closed forms at the limiting probabilities (float64 NumPy)


def _limit_probs(z):
    """softmax of one row of extended-real logits: uniform on the +inf ones if any."""
    z = np.asarray(z, np.float64)
    if np.any(np.isnan(z)):
        return np.full(z.shape, NAN)
    if np.any(np.isposinf(z)):
        return np.isposinf(z) / np.sum(np.isposinf(z))
    finite = np.isfinite(z)
    p = np.zeros(z.shape)
    p[finite] = special.softmax(z[finite])
    return p


def _xlogy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(y))


def _through_softmax(p, a):
    """The gradient with respect to logits of f(softmax(z)), given a = df/dp."""
    with np.errstate(invalid="ignore"):  # infinite divergences: the reference is not used
        a = np.where(p > 0, a, 0.0)
        return p * (a - np.sum(p * a))


def _ratio(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x / y)


def _log_ratio(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, np.log(x / y))


def _ref_entropy(p, q):
    del q
    value = -np.sum(_xlogy(p, p))
    return value, _through_softmax(p, -(_log_ratio(p, 1.0) + 1.0)), None


def _ref_cross_entropy(p, q):
    value = -np.sum(_xlogy(p, q))
    return value, _through_softmax(p, -_log_ratio(np.where(p > 0, q, 1.0), 1.0)), \
        _through_softmax(q, -_ratio(p, q))


def _ref_kl(p, q):
    value = np.sum(_xlogy(p, p) - _xlogy(p, q))
    return value, _through_softmax(p, _log_ratio(p, q) + 1.0), _through_softmax(q, -_ratio(p, q))


def _ref_js(p, q):
    m = 0.5 * (p + q)
    value = 0.5 * np.sum(_xlogy(p, p) - _xlogy(p, m)) + 0.5 * np.sum(_xlogy(q, q) - _xlogy(q, m))
    return value, _through_softmax(p, 0.5 * _log_ratio(p, m)), \
        _through_softmax(q, 0.5 * _log_ratio(q, m))


# ----------------------------------------------------------------------------------------
# info: *_from_logits at infinite and NaN logits


def _values_and_gradients(function, argnums=(0, 1)):
    """One compiled program: the per-row values and the gradients of their sum."""
    def summed(*args):
        values = function(*args)
        return jnp.sum(values), values

    gradients = jax.grad(summed, argnums=argnums, has_aux=True)
    return jax.jit(lambda *args: gradients(*args)[::-1])


_INFO = {
    "entropy_from_logits": (info.entropy_from_logits, _ref_entropy),
    "cross_entropy_from_logits": (info.cross_entropy_from_logits, _ref_cross_entropy),
    "kl_divergence_from_logits": (info.kl_divergence_from_logits, _ref_kl),
    "js_divergence_from_logits": (info.js_divergence_from_logits, _ref_js),
}
def _entropy_of_p(p_logits, q_logits):
    del q_logits
    return info.entropy_from_logits(p_logits)


_INFO_FUNCTIONS = {name: _values_and_gradients(_entropy_of_p if name == "entropy_from_logits"
                                               else function)
                   for name, (function, _) in _INFO.items()}
# all four in one compiled program
_INFO_CALLS = jax.jit(lambda p, q: {name: f(p, q) for name, f in _INFO_FUNCTIONS.items()})

# rows of (p_logits, q_logits): every value here is finite
_FINITE_LIMITS = [
    ([INF, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]),       # the case, one class more
    ([INF, INF, 0.0, -INF], [0.5, 0.0, 0.0, 0.0]),       # two +inf logits share the mass
    ([0.0, -INF, -INF, -INF], [INF, 1.0, 2.0, 3.0]),     # q a point mass where p is
    ([INF, -INF, INF, 2.0], [INF, 0.0, INF, 0.0]),       # equal limits: KL 0, CE log 2
    ([1.0, -INF, INF, 0.0], [2.0, INF, INF, INF]),       # CE = KL = log 3
    ([0.3, -1.0, 2.0, 0.0], [1.0, 0.0, -2.0, 0.5]),      # finite logits, for comparison
    ([INF, 0.0, -INF, -INF], [0.0, 0.0, -INF, -INF]),    # [inf, 0] || [0, 0] of the issue
]
# rows whose divergence is infinite (q misses p's support): value inf, gradient not NaN
_INFINITE = [([0.0, 0.0, 0.0, 0.0], [INF, 0.0, 0.0, 0.0]),
             ([0.0, 1.0, -INF, 0.0], [0.0, -INF, 0.0, 0.0])]
# rows with a NaN in p, or in q: NaN value, NaN gradient in the argument holding it
_NAN_IN_P = [([NAN, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0]),
             ([NAN, INF, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0]),
             ([NAN, NAN, NAN, NAN], [0.0, 1.0, 2.0, 3.0])]
_NAN_IN_Q = [([0.0, 1.0, 2.0, 3.0], [NAN, -INF, 0.0, 0.0]),
             ([INF, 1.0, 2.0, 3.0], [0.0, NAN, INF, 0.0])]
_ROWS = _FINITE_LIMITS + _INFINITE + _NAN_IN_P + _NAN_IN_Q


def test_logit_information_measures_at_infinite_and_nan_logits(dtype):
    p_logits = jnp.asarray([row[0] for row in _ROWS], dtype)
    q_logits = jnp.asarray([row[1] for row in _ROWS], dtype)
    for name, (value, (grad_p, grad_q)) in _INFO_CALLS(p_logits, q_logits).items():
        _check_information_measure(name, np.asarray(value), np.asarray(grad_p),
                                   np.asarray(grad_q), dtype)


def _check_information_measure(name, value, grad_p, grad_q, dtype):
    _, reference = _INFO[name]
    nan_p = len(_FINITE_LIMITS) + len(_INFINITE)
    nan_q = nan_p + len(_NAN_IN_P)
    for i, (zp, zq) in enumerate(_ROWS[:nan_p]):
        expected, expected_p, expected_q = reference(_limit_probs(zp), _limit_probs(zq))
        assert not np.any(np.isnan(grad_p[i])) and not np.any(np.isnan(grad_q[i])), (i, name)
        if i >= len(_FINITE_LIMITS):
            assert np.isposinf(value[i]) or name == "js_divergence_from_logits" \
                or name == "entropy_from_logits", (i, value[i])
            continue
        assert np.isfinite(expected)
        assert_close(value[i], expected, dtype, err_msg=f"{name} row {i}")
        assert_close(grad_p[i], expected_p, dtype, err_msg=f"{name} d/dp row {i}")
        if expected_q is not None:
            assert_close(grad_q[i], expected_q, dtype, err_msg=f"{name} d/dq row {i}")
    # NaN input: NaN out (never a number), and NaN gradient in the argument that held it
    assert np.all(np.isnan(value[nan_p:nan_q])) and np.all(np.isnan(grad_p[nan_p:nan_q]))
    if name != "entropy_from_logits":
        assert np.all(np.isnan(value[nan_q:])) and np.all(np.isnan(grad_q[nan_q:]))


# ----------------------------------------------------------------------------------------
# losses at infinite and NaN logits, and at labels outside 0..K-1

# (logits, label): the limit's value is -log p*_y and its gradient p* - onehot(y)
_CE_ROWS = [
    ([INF, 0.0, 0.0], 0),     # point mass on the label: 0, zero gradient
    ([INF, 0.0, 0.0], 1),     # point mass elsewhere: inf, gradient [1, -1, 0]
    ([INF, INF, -INF], 1),    # log 2
    ([INF, INF, 0.0], 2),
    ([-INF, 0.0, INF], 0),
    ([1.0, 2.0, 3.0], 2),     # finite, for comparison
    ([NAN, 0.0, 0.0], 0),     # NaN logit
    ([0.0, 1.0, 2.0], -1),    # negative label: NaN, not the last class
    ([0.0, 1.0, 2.0], 3),     # label K
    ([0.0, 1.0, 2.0], 5),
]
_CE_NAN_ROWS = 4  # the last rows are NaN
_SOFTMAX_CE = _values_and_gradients(losses.softmax_cross_entropy, argnums=0)


def test_softmax_cross_entropy_limits_nan_and_labels_out_of_range(dtype):
    logits = jnp.asarray([row[0] for row in _CE_ROWS], dtype)
    labels = jnp.asarray([row[1] for row in _CE_ROWS])
    value, gradient = (np.asarray(a) for a in _SOFTMAX_CE(logits, labels))
    for i, (z, y) in enumerate(_CE_ROWS[:-_CE_NAN_ROWS]):
        p = _limit_probs(z)
        with np.errstate(divide="ignore"):
            expected = -np.log(p[y])
        assert_close(value[i], expected, dtype, err_msg=f"row {i}")
        assert_close(gradient[i], p - np.eye(3)[y], dtype, err_msg=f"gradient row {i}")
    assert np.all(np.isnan(value[-_CE_NAN_ROWS:]))
    assert np.all(np.isnan(gradient[-_CE_NAN_ROWS:]))


@jax.jit
def _masked_losses(z, y, t, m):
    return (losses.softmax_cross_entropy(z, y, where=m),
            losses.softmax_cross_entropy_with_probs(z, t, where=m))


def test_masked_out_infinite_or_nan_logits_take_no_part(dtype):
    logits = jnp.asarray([[INF, 1.0, 2.0], [NAN, 1.0, 2.0], [-INF, INF, 0.0]], dtype)
    mask = jnp.asarray([[False, True, True], [False, True, True], [True, False, True]])
    expected = -special.log_softmax([1.0, 2.0])[1]
    targets = jnp.asarray([[0.0, 0.0, 1.0]] * 3, dtype)
    for value in _masked_losses(logits, jnp.asarray([2, 2, 2]), targets, mask):
        assert_close(value, [expected, expected, 0.0], dtype)


# (logits, targets): value -sum t log p*, gradient p* - t
_PROBS_ROWS = [
    ([INF, 0.0, 0.0], [1.0, 0.0, 0.0]),
    ([INF, INF, -INF], [0.25, 0.75, 0.0]),
    ([INF, 0.0, 0.0], [0.5, 0.5, 0.0]),   # inf, with the limit gradient
    ([1.0, 2.0, 3.0], [0.2, 0.3, 0.5]),
    ([NAN, 0.0, 0.0], [1.0, 0.0, 0.0]),
    ([0.0, 0.0, 0.0], [NAN, 0.5, 0.5]),
]
_SOFTMAX_CE_PROBS = _values_and_gradients(losses.softmax_cross_entropy_with_probs, argnums=0)


def test_softmax_cross_entropy_with_probs_limits_and_nan(dtype):
    logits = jnp.asarray([row[0] for row in _PROBS_ROWS], dtype)
    targets = jnp.asarray([row[1] for row in _PROBS_ROWS], dtype)
    value, gradient = (np.asarray(a) for a in _SOFTMAX_CE_PROBS(logits, targets))
    for i, (z, t) in enumerate(_PROBS_ROWS[:4]):
        p, t = _limit_probs(z), np.asarray(t)
        assert_close(value[i], -np.sum(_xlogy(t, p)), dtype, err_msg=f"row {i}")
        assert_close(gradient[i], p - t, dtype, err_msg=f"gradient row {i}")
    assert np.all(np.isnan(value[4:])) and np.all(np.isnan(gradient[4]))


_BCE = _values_and_gradients(losses.sigmoid_binary_cross_entropy, argnums=0)
_POISSON = _values_and_gradients(losses.poisson_nll, argnums=0)


def test_binary_and_poisson_losses_at_infinite_and_nan_inputs(dtype):
    # sigmoid: the limits of -y log s(z) - (1 - y) log s(-z) and of s(z) - y
    z = jnp.asarray([INF, -INF, INF, -INF, NAN, 2.0, INF, 0.5], dtype)
    y = jnp.asarray([1.0, 0.0, 0.25, 0.5, 1.0, NAN, NAN, 0.3], dtype)
    finite = -(0.3 * special.log_expit(0.5) + 0.7 * special.log_expit(-0.5))
    value, gradient = _BCE(z, y)
    assert_close(value, [0.0, 0.0, INF, INF, NAN, NAN, NAN, finite], dtype)
    assert_close(gradient, [0.0, 0.0, 0.75, -0.5, NAN, NAN, NAN, special.expit(0.5) - 0.3],
                 dtype)
    # Poisson: rate 0 gives 0 at count 0 (else inf, gradient -count); rate inf gives inf
    log_rate = jnp.asarray([-INF, -INF, INF, NAN, 1.0], dtype)
    counts = jnp.asarray([0.0, 3.0, 2.0, 1.0, NAN], dtype)
    value, gradient = _POISSON(log_rate, counts)
    assert_close(value, [0.0, INF, INF, NAN, NAN], dtype)
    assert_close(np.asarray(gradient)[:4], [0.0, -3.0, 0.0, NAN], dtype)


# every elementwise loss: a NaN anywhere gives NaN there, and only there
_NAN_PAIR = np.array([NAN, 0.5])
_ELEMENTWISE_NAN = {
    "gaussian_nll mean": lambda x: losses.gaussian_nll(x, 1.0, 0.0),
    "gaussian_nll variance": lambda x: losses.gaussian_nll(0.0, x + 1.0, 0.0),
    "laplace_nll y": lambda x: losses.laplace_nll(0.0, 1.0, x),
    "squared_error": lambda x: losses.squared_error(x, 0.0),
    "huber": lambda x: losses.huber(0.0, x),
    "hinge scores": lambda x: losses.hinge(x, 1.0),
    "hinge labels": lambda x: losses.hinge(0.25, x),
    "sigmoid labels": lambda x: losses.sigmoid_binary_cross_entropy(0.0, x),
    "poisson counts": lambda x: losses.poisson_nll(0.0, x + 1.0),
}


_ALL_ELEMENTWISE_NAN = jax.jit(lambda x: {name: f(x) for name, f in _ELEMENTWISE_NAN.items()})


def test_nan_input_gives_nan_in_every_elementwise_loss(dtype):
    values = _ALL_ELEMENTWISE_NAN(jnp.asarray(_NAN_PAIR, dtype))
    for name, value in values.items():
        value = np.asarray(value)
        assert np.isnan(value[0]) and np.isfinite(value[1]), (name, value)


_LOG_LOSS = jax.jit(metrics.log_loss)
_LOG_LOSS_FROM_LOGITS = jax.jit(metrics.log_loss_from_logits)


def test_log_loss_from_infinite_logits_is_the_limit():
    # the shapes of the test below, so the programs are shared
    labels = jnp.asarray([0, 0, 1, 1, 0, 1])
    logits = jnp.asarray([[INF, 0.0], [INF, INF], [0.0, INF], [-INF, 0.0], [0.0, -INF],
                          [0.0, 0.0]])
    float_dtype = jnp.result_type(float)
    assert_close(_LOG_LOSS_FROM_LOGITS(labels, logits), (0 + LOG2 + 0 + 0 + 0 + LOG2) / 6,
                 float_dtype)
    binary = jnp.asarray([-INF, -INF, INF, INF, 0.0, 0.0])
    assert_close(_LOG_LOSS_FROM_LOGITS(labels, binary), 2 * LOG2 / 6, float_dtype)
    assert np.isnan(float(_LOG_LOSS_FROM_LOGITS(labels, binary.at[4].set(NAN))))


# ----------------------------------------------------------------------------------------
# labels outside the range: NaN when traced, ValueError when checked

_MI = jax.jit(info.mutual_info_score, static_argnames=("num_x", "num_y"))
_F1 = jax.jit(metrics.f1, static_argnames=("average", "num_classes"))

_GOOD = np.array([0, 1, 1, 0, 1, 0])
_OTHER = np.array([0, 1, 0, 0, 1, 1])


@pytest.mark.parametrize("bad", [-1, 2, 7])
def test_traced_labels_out_of_range_give_nan(bad):
    good, other = jnp.asarray(_GOOD), jnp.asarray(_OTHER)
    spoiled = good.at[2].set(bad)
    # the valid labels give the reference values; one bad label makes the result NaN
    assert_close(_MI(good, other, num_x=2, num_y=2), skm.mutual_info_score(_GOOD, _OTHER),
                 jnp.result_type(float))
    for value in (_MI(spoiled, other, num_x=2, num_y=2), _MI(other, spoiled, num_x=2, num_y=2),
                  info.information_gain(spoiled, other, num_classes=2),
                  info.information_gain(other, spoiled, num_classes=2),
                  _F1(spoiled, other, average="macro", num_classes=2),
                  _F1(other, spoiled, average="macro", num_classes=2)):
        assert np.all(np.isnan(np.asarray(value))), value
    probs = jnp.full((6, 2), 0.5)
    assert_close(_LOG_LOSS(good, probs), LOG2, jnp.result_type(float))
    assert np.isnan(float(_LOG_LOSS(spoiled, probs)))                          # (n, K)
    assert np.isnan(float(_LOG_LOSS_FROM_LOGITS(spoiled, probs)))
    assert np.isnan(float(_LOG_LOSS_FROM_LOGITS(spoiled, probs[:, 0])))        # (n,)


_LABELS = jnp.asarray([0, 1, 2, 0])
_PAIR = jnp.asarray([0, 1, 1, 0])
# (call, the message: the argument, the label and the valid range)
_CHECKED = {
    "mutual_info_score num_x": (lambda: info.mutual_info_score(_LABELS, _PAIR, num_x=2),
                                r"labels_x contains label 2, outside the valid range 0\.\.1 "
                                r"\(num_x=2\)"),
    "mutual_info_score num_y": (lambda: info.mutual_info_score(_PAIR, _LABELS, num_y=2),
                                r"labels_y contains label 2, outside the valid range 0\.\.1"),
    "mutual_info_score negative": (
        lambda: info.mutual_info_score(_PAIR.at[1].set(-1), _PAIR),
        r"labels_x must hold labels 0\.\.K-1, got label -1, outside the valid "
        r"range 0\.\.num_x - 1"),
    "contingency_table": (lambda: info.contingency_table(_LABELS, _PAIR, num_x=2, num_y=2),
                          r"labels_x contains label 2, outside the valid range 0\.\.1"),
    "contingency_table negative": (
        lambda: info.contingency_table(_PAIR, _PAIR.at[0].set(-3), num_x=2, num_y=2),
        r"labels_y must hold labels 0\.\.K-1, got label -3, outside the valid range 0\.\.1 "
        r"\(num_y=2\)"),
    "confusion_matrix": (lambda: metrics.confusion_matrix(_PAIR, _LABELS, num_classes=2),
                         r"y_pred contains label 2, outside the valid range 0\.\.1 "
                         r"\(num_classes=2\)"),
    "f1 negative": (lambda: metrics.f1(_PAIR.at[0].set(-1), _PAIR, average="macro",
                                       num_classes=2),
                    r"y_true must hold labels 0\.\.K-1, got label -1, outside the valid "
                    r"range 0\.\.1 \(num_classes=2\)"),
    "recall negative, K from the labels": (
        lambda: metrics.recall(_PAIR, _PAIR.at[0].set(-1), average="micro"),
        r"y_pred must hold labels 0\.\.K-1, got label -1"),
    "log_loss": (lambda: metrics.log_loss(_LABELS, jnp.full((4, 2), 0.5)),
                 r"y_true contains label 2, outside the valid range 0\.\.1"),
    "log_loss negative": (lambda: metrics.log_loss(_PAIR.at[0].set(-1), jnp.full((4, 2), 0.5)),
                          r"y_true must hold labels 0\.\.K-1, got label -1, outside the "
                          r"valid range 0\.\.1"),
}


@pytest.mark.parametrize("name", list(_CHECKED))
def test_concrete_labels_out_of_range_raise_naming_label_and_range(name):
    call, message = _CHECKED[name]
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------------------
# shapes: a prediction and a target of different shapes never broadcast into a table

_Z3, _Z31 = jnp.zeros(3), jnp.zeros((3, 1))
_SHAPES = {
    "sigmoid_binary_cross_entropy": (lambda: losses.sigmoid_binary_cross_entropy(_Z3, _Z31),
                                     r"logits shape \(3,\), labels shape \(3, 1\)"),
    "gaussian_nll y": (lambda: losses.gaussian_nll(_Z3, 1.0, _Z31),
                       r"mean shape \(3,\), y shape \(3, 1\).*shape \(3, 3\)"),
    "gaussian_nll variance": (lambda: losses.gaussian_nll(_Z3, _Z31 + 1.0, _Z3),
                              r"variance must broadcast to the shape \(3,\) of mean and y.*"
                              r"variance shape \(3, 1\)"),
    "laplace_nll": (lambda: losses.laplace_nll(_Z31, 1.0, _Z3),
                    r"loc shape \(3, 1\), y shape \(3,\)"),
    "poisson_nll": (lambda: losses.poisson_nll(_Z3, _Z31),
                    r"log_rate shape \(3,\), counts shape \(3, 1\)"),
    "squared_error": (lambda: losses.squared_error(_Z3, _Z31),
                      r"predictions shape \(3,\), targets shape \(3, 1\)"),
    "huber": (lambda: losses.huber(_Z31, _Z3), r"predictions shape \(3, 1\), targets shape \(3,\)"),
    "huber delta": (lambda: losses.huber(_Z3, _Z3, delta=_Z31 + 1.0),
                    r"delta must broadcast to the shape \(3,\).*delta shape \(3, 1\)"),
    "hinge": (lambda: losses.hinge(_Z3, _Z31), r"scores shape \(3,\), labels shape \(3, 1\)"),
    "softmax_cross_entropy_with_probs": (
        lambda: losses.softmax_cross_entropy_with_probs(jnp.zeros((3, 1, 4)), jnp.ones((3, 4))),
        r"logits shape \(3, 1, 4\), target_probs shape \(3, 4\)"),
    "softmax_cross_entropy labels": (
        lambda: losses.softmax_cross_entropy(jnp.zeros((3, 4)), jnp.zeros((3, 1), int)),
        r"labels must broadcast to the shape of logits without axis"),
    "under an outer jit": (lambda: jax.jit(losses.huber)(_Z3, _Z31),
                           r"predictions shape \(3,\), targets shape \(3, 1\)"),
    "metrics.mean_squared_error": (lambda: metrics.mean_squared_error(_Z3, _Z31),
                                   r"y_pred must have the shape of y_true \(3,\), got \(3, 1\)"),
    "metrics.r2_score": (lambda: metrics.r2_score(_Z31, _Z3),
                         r"y_pred must have the shape of y_true \(3, 1\), got \(3,\)"),
    "metrics.accuracy": (lambda: metrics.accuracy(jnp.zeros(3, int), jnp.zeros((3, 1), int)),
                         r"y_pred must have shape \(n,\), got shape \(3, 1\)"),
}


@pytest.mark.parametrize("name", list(_SHAPES))
def test_mismatched_shapes_raise_naming_both(name):
    call, message = _SHAPES[name]
    with pytest.raises(ValueError, match=message):
        call()


@jax.jit
def _documented_broadcasts(mean, variance, y, logits):
    return (losses.gaussian_nll(mean, variance, y),
            losses.sigmoid_binary_cross_entropy(logits, 1.0),
            losses.squared_error(1.0, logits),
            losses.laplace_nll(logits, 0.5, 0.0),
            losses.gaussian_nll(0.0, jnp.abs(logits) + 1.0, 0.0))


def test_documented_broadcasts_still_work(dtype):
    """Scalars and a parameter shared along the leading axis broadcast, as documented."""
    rng = np.random.default_rng(0)
    mean, y = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    variance = np.array([0.5, 2.0])  # one variance per output
    args = [jnp.asarray(a, dtype) for a in (mean, variance, y, [-1.0, 0.0, 2.0])]
    m64, v64, y64, z64 = (np.asarray(a, np.float64) for a in args)
    gaussian, sigmoid, squared, laplace, scalar_mean = _documented_broadcasts(*args)
    assert_close(gaussian, -stats.norm.logpdf(y64, m64, np.sqrt(v64)), dtype)
    assert_close(sigmoid, -special.log_expit(z64), dtype)
    assert_close(squared, (z64 - 1.0) ** 2, dtype)
    assert_close(laplace, -stats.laplace.logpdf(0.0, z64, 0.5), dtype)
    assert_close(scalar_mean, -stats.norm.logpdf(0.0, 0.0, np.sqrt(np.abs(z64) + 1.0)), dtype)


# ----------------------------------------------------------------------------------------
# string labels in the metrics, against scikit-learn

_TRUE = np.array(["cat", "dog", "dog", "bird", "cat", "bird", "dog"])
_PRED = np.array(["cat", "cat", "dog", "dog", "bird", "bird", "dog"])
_BINARY_TRUE = ["no", "yes", "yes", "no", "yes"]
_BINARY_PRED = ["yes", "yes", "no", "no", "yes"]


def test_string_labels_match_sklearn():
    float_dtype = jnp.result_type(float)
    objects = _TRUE.astype(object)
    assert_close(metrics.accuracy(objects, list(_PRED)), skm.accuracy_score(_TRUE, _PRED),
                 float_dtype)
    np.testing.assert_array_equal(metrics.confusion_matrix(_TRUE, _PRED),
                                  skm.confusion_matrix(_TRUE, _PRED))
    weights = np.array([1.0, 0.5, 2.0, 1.0, 0.0, 1.5, 1.0])
    for name, reference in (("precision", skm.precision_score), ("recall", skm.recall_score),
                            ("f1", skm.f1_score)):
        function = getattr(metrics, name)
        for average in ("macro", "weighted", None):
            assert_close(function(_TRUE, _PRED, average=average, sample_weight=weights),
                         reference(_TRUE, _PRED, average=average, sample_weight=weights,
                                   zero_division=0), float_dtype, err_msg=f"{name} {average}")
        assert_close(function(_BINARY_TRUE, _BINARY_PRED, pos_label="no"),
                     reference(_BINARY_TRUE, _BINARY_PRED, pos_label="no"), float_dtype)
    probs = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.9, 0.1], [0.3, 0.7]])
    assert_close(metrics.log_loss(_BINARY_TRUE, probs), skm.log_loss(_BINARY_TRUE, probs),
                 float_dtype)
    assert_close(metrics.log_loss(_BINARY_TRUE, probs[:, 1]),
                 skm.log_loss(_BINARY_TRUE, probs[:, 1]), float_dtype)


_STRING_ERRORS = {
    "mixed kinds": (lambda: metrics.accuracy(_TRUE, np.arange(7)), TypeError,
                    r"y_true holds string labels but y_pred numeric ones"),
    "default pos_label": (lambda: metrics.f1(_BINARY_TRUE, _BINARY_PRED), ValueError,
                          r"pos_label=1 is not a valid label.*\['no', 'yes'\]"),
    "binary of three": (lambda: metrics.recall(_TRUE, _PRED, pos_label="cat"), ValueError,
                        r"average='binary' needs two classes.*\['bird', 'cat', 'dog'\]"),
    "num_classes": (lambda: metrics.confusion_matrix(_TRUE, _PRED, num_classes=4), ValueError,
                    r"num_classes must be 3 or omitted, got 4"),
    "log_loss columns": (lambda: metrics.log_loss(_TRUE, np.full((7, 4), 0.25)), ValueError,
                         r"3 distinct string labels .* but probs has 4 classes"),
    "float labels": (lambda: metrics.accuracy(np.zeros(3), np.zeros(3)), TypeError,
                     r"y_true must hold integer class labels 0\.\.K-1 \(or string labels"),
    "regression strings": (lambda: metrics.r2_score(np.array(["1", "2"]), np.ones(2)), TypeError,
                           r"y_true must be numeric \(regression values"),
}


@pytest.mark.parametrize("name", list(_STRING_ERRORS))
def test_string_label_errors_say_what_is_expected(name):
    call, error, message = _STRING_ERRORS[name]
    with pytest.raises(error, match=message):
        call()
