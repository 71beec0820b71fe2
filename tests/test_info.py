"""Information measures of discrete distributions, mutual information and information gain.

References: scipy.stats.entropy, scipy.special (entr, xlogy, rel_entr, kl_div, softmax,
log_softmax), scipy.spatial.distance.jensenshannon (which returns the square root of the JS
divergence), sklearn.metrics (mutual_info_score, contingency_matrix), and independent
numpy computations. Identities are checked with hypothesis on jit-compiled functions of
fixed shapes.
"""

from __future__ import annotations

import math

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from hypothesis import given
from scipy import special, stats
from scipy.spatial import distance
from sklearn import metrics
from sklearn.metrics.cluster import contingency_matrix

from mlmath.info import (
    contingency_table,
    cross_entropy,
    cross_entropy_from_logits,
    entropy,
    entropy_from_logits,
    information_gain,
    js_divergence,
    js_divergence_from_logits,
    kl_divergence,
    kl_divergence_from_logits,
    mutual_info_score,
    mutual_information,
    self_information,
)
from tests.composability import check_composable, check_composable_packed, check_gradient
from tests.conftest import DTYPES, assert_close, rounded, rtol_for

LOG2 = math.log(2.0)


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _in_base(nats, base):
    return nats if base is None else nats / math.log(base)


# ----------------------------------------------------------------------------------------
# Test data: five pairs of probability vectors over six outcomes, covering the zero cases.

_rng = np.random.default_rng(7)


def _normalize(w, axis=-1):
    w = np.asarray(w, np.float64)
    return w / w.sum(axis=axis, keepdims=True)


_P = _normalize(np.array([
    [0.3, 0.1, 0.2, 0.15, 0.05, 0.2],     # generic
    [0.4, 0.0, 0.3, 0.0, 0.2, 0.1],       # zeros in p only
    [0.5, 0.25, 0.0, 0.25, 0.0, 0.0],     # zeros shared with q
    [0.2, 0.2, 0.2, 0.2, 0.1, 0.1],       # q is zero where p is not: KL = CE = inf
    [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],       # one-hot: entropy 0
]))
_Q = _normalize(np.array([
    [0.1, 0.3, 0.1, 0.2, 0.25, 0.05],
    [0.1, 0.2, 0.2, 0.2, 0.2, 0.1],
    [0.25, 0.5, 0.0, 0.25, 0.0, 0.0],
    [0.3, 0.0, 0.3, 0.1, 0.2, 0.1],
    [0.2, 0.1, 0.3, 0.1, 0.2, 0.1],
]))

BASES = [None, 2, 10]


def _ref_entropy(p, axis=-1, base=None):
    return stats.entropy(p, axis=axis, base=base)


def _ref_cross_entropy(p, q, axis=-1, base=None):
    with np.errstate(divide="ignore"):
        return _in_base(-np.sum(special.xlogy(p, q), axis=axis), base)


def _ref_kl(p, q, axis=-1, base=None):
    return _in_base(np.sum(special.rel_entr(p, q), axis=axis), base)


def _ref_js(p, q, axis=-1, base=None):
    return distance.jensenshannon(p, q, axis=axis, base=base) ** 2


# ----------------------------------------------------------------------------------------
# Values against scipy


@pytest.mark.parametrize("base", BASES)
def test_self_information_is_minus_log(dtype, base):
    p, p64 = rounded([0.0, 1e-30, 0.125, 0.5, 1.0, 0.3], dtype)
    with np.errstate(divide="ignore"):
        expected = _in_base(-np.log(p64), base)
    assert np.isposinf(expected[0])
    assert_close(self_information(p, base=base), expected, dtype)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_entropy_matches_scipy(dtype, base, axis):
    p, p64 = rounded(_P if axis == -1 else _P.T, dtype)
    value = entropy(p, axis=axis, base=base)
    assert value.shape == (5,) and value.dtype == dtype
    expected = _ref_entropy(p64, axis=axis, base=base)
    assert_close(value, expected, dtype)
    # 0 log 0 = 0: the one-hot row has zero entropy, the zeros add nothing
    assert_close(value[4], 0.0, dtype)
    assert_close(expected, _in_base(np.sum(special.entr(p64), axis=axis), base), dtype)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_cross_entropy_matches_scipy(dtype, base, axis):
    p, p64 = rounded(_P if axis == -1 else _P.T, dtype)
    q, q64 = rounded(_Q if axis == -1 else _Q.T, dtype)
    value = cross_entropy(p, q, axis=axis, base=base)
    expected = _ref_cross_entropy(p64, q64, axis=axis, base=base)
    assert np.isposinf(expected[3])
    assert_close(value, expected, dtype)
    # H(P, Q) = H(P) + KL(P || Q), with scipy's entropy for both terms
    assert_close(expected, stats.entropy(p64, axis=axis, base=base)
                 + stats.entropy(p64, q64, axis=axis, base=base), dtype)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_kl_divergence_matches_scipy(dtype, base, axis):
    p, p64 = rounded(_P if axis == -1 else _P.T, dtype)
    q, q64 = rounded(_Q if axis == -1 else _Q.T, dtype)
    value = kl_divergence(p, q, axis=axis, base=base)
    expected = _ref_kl(p64, q64, axis=axis, base=base)
    assert np.isposinf(expected[3]) and np.all(np.isfinite(np.delete(expected, 3)))
    assert_close(value, expected, dtype)
    # the same as scipy's per-term kl_div form and scipy.stats.entropy(p, q)
    assert_close(value, _in_base(np.sum(special.kl_div(p64, q64), axis=axis), base), dtype)
    assert_close(value, stats.entropy(p64, q64, axis=axis, base=base), dtype)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_js_divergence_matches_scipy(dtype, base, axis):
    p, p64 = rounded(_P if axis == -1 else _P.T, dtype)
    q, q64 = rounded(_Q if axis == -1 else _Q.T, dtype)
    value = js_divergence(p, q, axis=axis, base=base)
    # scipy's jensenshannon is the square root of the divergence
    assert_close(value, _ref_js(p64, q64, axis=axis, base=base), dtype)


def test_disjoint_supports():
    """JS of disjoint distributions is exactly 1 bit; KL is inf; 0 log 0 = 0."""
    p = jnp.asarray([1.0, 0.0])
    q = jnp.asarray([0.0, 1.0])
    assert_close(js_divergence(p, q, base=2), _ref_js(_f64(p), _f64(q), base=2), jnp.float32)
    assert_close(js_divergence(p, q, base=2), 1.0, jnp.float32)
    assert np.isposinf(float(kl_divergence(p, q)))
    assert np.isposinf(float(cross_entropy(p, q)))
    assert float(entropy(p)) == 0.0


def test_where_mask_restricts_every_function(dtype):
    """Excluded entries contribute nothing, whatever they hold (NaN, negative padding)."""
    mask = np.array([
        [True, True, True, False, False, False],
        [True, False, True, True, True, False],
        [False, True, True, True, True, True],
        [False, False, False, False, False, False],  # entirely masked: every measure is 0
        [True, True, False, True, True, True],
    ])

    def normalized_inside(rows):
        rows = np.where(mask, rows + 0.05, 0.0)
        return rows / np.maximum(rows.sum(axis=-1, keepdims=True), 1e-300)

    p = np.where(mask, normalized_inside(_P), np.nan)
    q = np.where(mask, normalized_inside(_Q), -1.0)
    p_arr, p64 = rounded(p, dtype)
    q_arr, q64 = rounded(q, dtype)

    def per_row(reference, *arrays):
        return [reference(*(a[i][mask[i]] for a in arrays)) if mask[i].any() else 0.0
                for i in range(5)]

    m = jnp.asarray(mask)
    assert_close(entropy(p_arr, where=m), per_row(_ref_entropy, p64), dtype)
    assert_close(cross_entropy(p_arr, q_arr, where=m), per_row(_ref_cross_entropy, p64, q64),
                 dtype)
    assert_close(kl_divergence(p_arr, q_arr, where=m), per_row(_ref_kl, p64, q64), dtype)
    assert_close(js_divergence(p_arr, q_arr, where=m), per_row(_ref_js, p64, q64), dtype)


def test_where_mask_broadcasts(dtype):
    column_mask = np.array([True, True, True, True, False, False])

    def inside_columns(rows):
        """Rows renormalized over the masked-in columns, zero padded to six."""
        sub = _normalize(np.asarray(rows)[..., column_mask] + 0.01)
        return np.concatenate([sub, np.zeros(sub.shape[:-1] + (2,))], axis=-1)

    p, p64 = rounded(inside_columns(_P), dtype)
    q, q64 = rounded(inside_columns(_Q[:1]), dtype)  # one q for every p
    m = jnp.asarray(column_mask)  # one mask for every row
    assert_close(entropy(p, where=m), _ref_entropy(p64[:, column_mask]), dtype)
    assert_close(kl_divergence(p, q, where=m),
                 _ref_kl(p64[:, column_mask], q64[:, column_mask]), dtype)
    # a mask with more dimensions than p broadcasts p: one vector, three masks
    masks = np.array([[True] * 6, [True, True, True, False, False, False], [False] * 6])
    single, single64 = rounded(_P[0], dtype)
    expected = [-np.sum(special.xlogy(single64[m], single64[m])) for m in masks]
    value = entropy(single, where=jnp.asarray(masks))
    assert value.shape == (3,)
    assert_close(value, expected, dtype)


# ----------------------------------------------------------------------------------------
# Logit variants

_LOGITS_P = np.array([
    [0.5, -1.0, 2.0, 0.0, -0.3, 1.2],
    [1.0, -np.inf, 0.3, -np.inf, -2.0, 0.7],
    [0.0, 0.0, -np.inf, 1.0, -np.inf, -np.inf],
    [0.2, -0.4, 1.1, 0.9, -1.5, 0.0],       # q has -inf where p is finite: KL = CE = inf
    [-np.inf, -np.inf, 3.0, -np.inf, -np.inf, -np.inf],  # one-hot
])
_LOGITS_Q = np.array([
    [-0.5, 1.0, 0.2, 0.8, 0.0, -1.2],
    [0.1, 0.4, -0.3, 0.2, 1.0, -0.7],
    [1.0, -0.5, -np.inf, 0.3, -np.inf, -np.inf],
    [0.2, -np.inf, 1.1, 0.9, -1.5, 0.0],
    [0.3, 0.1, -0.2, 0.5, 0.0, -1.0],
])


@pytest.mark.parametrize("base", [None, 2])
@pytest.mark.parametrize("axis", [-1, 0])
def test_logit_variants_match_scipy_on_softmax(dtype, base, axis):
    lp, lp64 = rounded(_LOGITS_P if axis == -1 else _LOGITS_P.T, dtype)
    lq, lq64 = rounded(_LOGITS_Q if axis == -1 else _LOGITS_Q.T, dtype)
    p64, q64 = special.softmax(lp64, axis=axis), special.softmax(lq64, axis=axis)
    cases = [
        (entropy_from_logits(lp, axis=axis, base=base), _ref_entropy(p64, axis, base),
         entropy(jax.nn.softmax(lp, axis=axis), axis=axis, base=base)),
        (cross_entropy_from_logits(lp, lq, axis=axis, base=base),
         _ref_cross_entropy(p64, q64, axis, base),
         cross_entropy(jax.nn.softmax(lp, axis=axis), jax.nn.softmax(lq, axis=axis),
                       axis=axis, base=base)),
        (kl_divergence_from_logits(lp, lq, axis=axis, base=base), _ref_kl(p64, q64, axis, base),
         kl_divergence(jax.nn.softmax(lp, axis=axis), jax.nn.softmax(lq, axis=axis),
                       axis=axis, base=base)),
        (js_divergence_from_logits(lp, lq, axis=axis, base=base), _ref_js(p64, q64, axis, base),
         js_divergence(jax.nn.softmax(lp, axis=axis), jax.nn.softmax(lq, axis=axis),
                       axis=axis, base=base)),
    ]
    for from_logits, expected, from_probs in cases:
        assert from_logits.shape == (5,) and from_logits.dtype == dtype
        assert_close(from_logits, expected, dtype)
        assert_close(from_logits, from_probs, dtype)
    assert np.isposinf(float(cases[1][0][3])) and np.isposinf(float(cases[2][0][3]))


def test_logit_variants_with_where_mask(dtype):
    lp, lp64 = rounded(_LOGITS_P, dtype)
    lq, lq64 = rounded(_LOGITS_Q, dtype)
    mask = np.array([[True, False, True, True, False, True],
                     [True, True, True, False, True, True],
                     [False] * 6,
                     [True, False, True, True, True, True],  # drops q's -inf: finite now
                     [True, False, True, True, False, True]])
    m = jnp.asarray(mask)

    def per_row(reference, *logits):
        return [reference(*(special.softmax(a[i][mask[i]]) for a in logits))
                if mask[i].any() else 0.0 for i in range(5)]

    assert_close(entropy_from_logits(lp, where=m), per_row(_ref_entropy, lp64), dtype)
    assert_close(cross_entropy_from_logits(lp, lq, where=m),
                 per_row(_ref_cross_entropy, lp64, lq64), dtype)
    assert_close(kl_divergence_from_logits(lp, lq, where=m), per_row(_ref_kl, lp64, lq64),
                 dtype)
    assert_close(js_divergence_from_logits(lp, lq, where=m), per_row(_ref_js, lp64, lq64),
                 dtype)


# logits 200 apart: exp(-200) underflows in float32, the logit variants must not care
_FAR_P = np.array([
    [0.0, -200.0, 1.0, -150.0, -210.0, 0.5],
    [0.0, 0.0, -200.0, -200.0, -200.0, -200.0],
    [0.0, -200.0, 0.0, -200.0, 0.0, -200.0],
    [-200.0, -200.0, -200.0, -200.0, -200.0, 0.0],
    [1.0, 2.0, 3.0, -200.0, -180.0, -250.0],
])
_FAR_Q = np.array([
    [-200.0, 0.0, -190.0, 3.0, 0.0, -1.0],
    [0.0, -200.0, 0.0, -200.0, 0.0, 0.0],
    [-200.0, 0.0, -200.0, 0.0, -200.0, 0.0],
    [0.0, -200.0, -200.0, -200.0, -200.0, -200.0],
    [1.0, 2.0, 3.0, -199.0, -181.0, -260.0],
])


def _log_softmax_references(lp64, lq64):
    """Entropy, cross-entropy, KL and JS (nats) from float64 log-probabilities."""
    log_p, log_q = special.log_softmax(lp64, axis=-1), special.log_softmax(lq64, axis=-1)
    p, q = np.exp(log_p), np.exp(log_q)
    log_m = np.logaddexp(log_p, log_q) - LOG2
    return {
        "entropy": -np.sum(p * log_p, axis=-1),
        "cross_entropy": -np.sum(p * log_q, axis=-1),
        "kl": np.sum(p * (log_p - log_q), axis=-1),
        "js": 0.5 * np.sum(p * (log_p - log_m) + q * (log_q - log_m), axis=-1),
    }


def test_logit_variants_stay_accurate_where_probabilities_underflow(dtype):
    lp, lp64 = rounded(_FAR_P, dtype)
    lq, lq64 = rounded(_FAR_Q, dtype)
    ref = _log_softmax_references(lp64, lq64)
    assert ref["kl"][0] > 100  # the probability version in float32 would say inf
    assert_close(entropy_from_logits(lp), ref["entropy"], dtype)
    assert_close(cross_entropy_from_logits(lp, lq), ref["cross_entropy"], dtype)
    assert_close(kl_divergence_from_logits(lp, lq), ref["kl"], dtype)
    assert_close(js_divergence_from_logits(lp, lq), ref["js"], dtype)
    assert_close(kl_divergence_from_logits(lq, lp), _log_softmax_references(lq64, lp64)["kl"],
                 dtype)


# ----------------------------------------------------------------------------------------
# Mutual information, contingency tables, information gain


def _ref_mutual_information_of_table(table):
    """sklearn's mutual information of a contingency table (nats)."""
    table = _f64(table)
    if table.sum() == 0:
        return 0.0
    return metrics.mutual_info_score(None, None, contingency=table)


@pytest.mark.parametrize("base", [None, 2])
def test_mutual_information_of_joint_tables(dtype, base):
    counts = np.random.default_rng(13).integers(0, 6, size=(4, 5, 4)).astype(np.float64)
    counts[1, :, 2] = 0.0  # an unused y value
    counts[2] = np.outer([1.0, 2.0, 3.0, 0.0, 1.0], [2.0, 0.0, 1.0, 4.0])  # independent: I = 0
    counts[3] = 0.0  # an empty table: 0
    table, table64 = rounded(counts, dtype)
    value = mutual_information(table, base=base)
    assert value.shape == (4,) and value.dtype == dtype
    expected = [_in_base(_ref_mutual_information_of_table(t), base) for t in table64]
    assert_close(value, expected, dtype)
    # probabilities give the same as counts; and I = H(X) + H(Y) - H(X, Y)
    joint = table64[0] / table64[0].sum()
    identity = (stats.entropy(joint.sum(1)) + stats.entropy(joint.sum(0))
                - stats.entropy(joint.ravel()))
    assert_close(mutual_information(jnp.asarray(joint, dtype), base=base),
                 _in_base(identity, base), dtype)


def _random_labels(n, k, rng):
    labels = rng.integers(0, k, size=n)
    labels[0] = k - 1  # the largest value occurs
    return labels


# Forty samples each, with label values 0..4 for x and 0..3 for y (so every case shares
# one table shape).
_N = 40
_LABEL_CASES = {
    "random": (_random_labels(_N, 5, _rng), _random_labels(_N, 4, _rng)),
    "one_constant": (np.full(_N, 4), _random_labels(_N, 4, _rng)),
    "both_constant": (np.full(_N, 4), np.full(_N, 3)),
    # a bijection between x in {0, 2, 3, 4} and y in {3, 0, 1, 2}: I = H(X) = H(Y)
    "perfectly_dependent": (np.array([0, 2, 3, 4] * 10)[_rng.permutation(_N)], None),
    "unused_values": (np.array([0, 2, 4, 4] * 10), np.array([1, 3, 3, 1, 3] * 8)),
}
_x = _LABEL_CASES["perfectly_dependent"][0]
_LABEL_CASES["perfectly_dependent"] = (_x, np.array([3, -1, 0, 1, 2])[_x])


_mutual_info_score_jit = jax.jit(mutual_info_score, static_argnames=("num_x", "num_y", "base"))


@pytest.mark.parametrize("case", list(_LABEL_CASES))
def test_mutual_info_score_matches_sklearn(case):
    x, y = _LABEL_CASES[case]
    expected = metrics.mutual_info_score(x, y)
    # the label sets are read from the labels (concrete, not under jit)
    value = mutual_info_score(jnp.asarray(x), jnp.asarray(y))
    assert_close(value, expected, value.dtype)
    # under jit, with the label sets declared, some values unused
    x, y = jnp.asarray(x), jnp.asarray(y)
    value = _mutual_info_score_jit(x, y, num_x=7, num_y=6)
    assert_close(value, expected, value.dtype)
    value = _mutual_info_score_jit(x, y, num_x=7, num_y=6, base=2)
    assert_close(value, expected / LOG2, value.dtype)
    if case == "perfectly_dependent":
        assert_close(expected, stats.entropy(np.bincount(np.asarray(x))), value.dtype)
    if "constant" in case:
        assert_close(expected, 0.0, value.dtype)


def test_mutual_info_score_under_jit():
    x, y = _LABEL_CASES["random"]
    value = _mutual_info_score_jit(jnp.asarray(x), jnp.asarray(y), num_x=5, num_y=4)
    assert_close(value, metrics.mutual_info_score(x, y), value.dtype)
    with pytest.raises(ValueError, match="num_x must be given"):
        jax.jit(mutual_info_score)(jnp.asarray(x), jnp.asarray(y))
    with pytest.raises(ValueError, match="num_y must be given"):
        jax.jit(lambda a, b: mutual_info_score(a, b, num_x=5))(jnp.asarray(x), jnp.asarray(y))
    with pytest.raises(ValueError, match="num_classes must be given"):
        jax.jit(lambda a, b: information_gain(a, b, num_classes=None))(
            jnp.asarray(x), jnp.asarray(y))


def _ref_information_gain(labels, split, num_classes, weights=None):
    """H(Y) - sum_s n_s / n H(Y | S = s), with numpy counts and scipy.stats.entropy."""
    labels, split = np.asarray(labels), np.asarray(split).astype(int)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)
    total = weights.sum()
    gain = stats.entropy(np.bincount(labels, weights=weights, minlength=num_classes))
    for branch in np.unique(split):
        inside = split == branch
        n_s = weights[inside].sum()
        if n_s > 0:
            counts = np.bincount(labels[inside], weights=weights[inside], minlength=num_classes)
            gain -= n_s / total * stats.entropy(counts)
    return gain


def test_information_gain_matches_independent_computation():
    rng = np.random.default_rng(17)
    labels = _random_labels(_N, 5, rng)
    feature = rng.normal(size=_N) + labels / 2  # informative about the label
    weights = rng.uniform(0.0, 3.0, size=_N)
    weights[:5] = 0.0
    boolean = feature > 1.0
    branches = np.digitize(feature, [0.5, 1.8])  # three branches
    w, w64 = rounded(weights, jnp.result_type(float))
    y = jnp.asarray(labels)
    cases = [
        (information_gain(y, jnp.asarray(boolean), num_classes=5),
         _ref_information_gain(labels, boolean, 5)),
        (information_gain(y, jnp.asarray(branches), 5, num_branches=3),
         _ref_information_gain(labels, branches, 5)),
        (information_gain(y, jnp.asarray(branches), 5, num_branches=3, sample_weight=w),
         _ref_information_gain(labels, branches, 5, w64)),
        (information_gain(y, jnp.asarray(boolean), 5, base=2, sample_weight=w),
         _ref_information_gain(labels, boolean, 5, w64) / LOG2),
    ]
    for value, expected in cases:
        assert expected > 0.05
        assert_close(value, expected, value.dtype)
    # a perfect split recovers all of H(Y); a constant split gains nothing
    perfect = information_gain(y, y, 5, num_branches=5)
    assert_close(perfect, stats.entropy(np.bincount(labels)), perfect.dtype)
    constant = information_gain(y, jnp.zeros(_N, bool), 5)
    assert_close(constant, 0.0, constant.dtype)


def test_contingency_table_matches_sklearn():
    for case in ("random", "perfectly_dependent", "unused_values"):
        x, y = _LABEL_CASES[case]
        table = np.asarray(contingency_table(jnp.asarray(x), jnp.asarray(y)))
        assert table.shape == (x.max() + 1, y.max() + 1)
        # sklearn's matrix has one row per label value present, one column likewise
        present_x, present_y = np.unique(x), np.unique(y)
        expected = np.zeros(table.shape)
        expected[np.ix_(present_x, present_y)] = contingency_matrix(x, y)
        np.testing.assert_array_equal(table, expected)


def test_contingency_table_weights_and_out_of_range_labels():
    x = np.array([0, 1, 2, 5, 1, 0, 2, 2])
    y = np.array([1, 0, 1, 1, 2, 0, 0, 3])
    w = np.array([0.5, 2.0, 1.0, 4.0, 1.5, 0.25, 3.0, 1.0])
    weights, w64 = rounded(w, jnp.result_type(float))
    inside = (x < 3) & (y < 3)
    table = contingency_table(jnp.asarray(x[inside]), jnp.asarray(y[inside]), num_x=3, num_y=3,
                              sample_weight=weights[inside])
    expected = np.zeros((3, 3))
    np.add.at(expected, (x[inside], y[inside]), w64[inside])
    assert_close(table, expected, table.dtype)
    # labels outside the declared range are an error, never silently left out
    with pytest.raises(ValueError, match=r"labels_x contains label 5, outside the valid range "
                                         r"0\.\.2 \(num_x=3\)"):
        contingency_table(jnp.asarray(x), jnp.asarray(y), num_x=3, num_y=3,
                          sample_weight=weights)


# ----------------------------------------------------------------------------------------
# Identities, with hypothesis, on jit-compiled functions of fixed shapes

_K = 6
_ENTRY = st.one_of(st.just(0.0), st.floats(1e-6, 1.0), st.floats(0.1, 1.0))
_PROBS = st.lists(_ENTRY, min_size=_K, max_size=_K).filter(lambda w: sum(w) > 0).map(
    lambda w: np.asarray(w) / np.sum(w)
)


@jax.jit
def _divergence_identities(p, q):
    return {
        "cross_entropy": cross_entropy(p, q),
        "entropy": entropy(p),
        "kl": kl_divergence(p, q),
        "kl_self": kl_divergence(p, p),
        "js": js_divergence(p, q),
        "js_swapped": js_divergence(q, p),
        "js_bits": js_divergence(p, q, base=2),
    }


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: jnp.dtype(d).name)
@given(p=_PROBS, q=_PROBS)
def test_divergence_identities(dtype, p, q):
    out = {k: _f64(v) for k, v in _divergence_identities(jnp.asarray(p, dtype),
                                                         jnp.asarray(q, dtype)).items()}
    tolerance = rtol_for(dtype)
    # H(P, Q) = H(P) + KL(P || Q) (both infinite where q misses p's support)
    assert_close(out["cross_entropy"], out["entropy"] + out["kl"], dtype)
    assert out["kl"] >= 0.0
    assert out["kl_self"] == 0.0
    assert_close(out["js"], out["js_swapped"], dtype)
    assert 0.0 <= out["js"] <= LOG2 * (1 + tolerance)
    assert 0.0 <= out["js_bits"] <= 1.0 + tolerance


_JOINT = st.lists(st.one_of(st.just(0.0), st.floats(1e-4, 1.0)), min_size=12,
                  max_size=12).filter(lambda w: sum(w) > 0).map(
    lambda w: np.reshape(w, (3, 4)) / np.sum(w))


@jax.jit
def _entropy_decomposition(joint):
    return (mutual_information(joint), entropy(jnp.sum(joint, axis=1)),
            entropy(jnp.sum(joint, axis=0)), entropy(joint.reshape(-1)))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: jnp.dtype(d).name)
@given(joint=_JOINT)
def test_mutual_information_is_entropy_decomposition(dtype, joint):
    info, h_x, h_y, h_xy = (_f64(v) for v in _entropy_decomposition(jnp.asarray(joint, dtype)))
    assert info >= 0.0
    assert_close(info, h_x + h_y - h_xy, dtype)


@jax.jit
def _gain_and_mutual_information(labels, split):
    return (information_gain(labels, split, num_classes=3),
            mutual_info_score(labels, split, num_x=3, num_y=2))


@given(labels=st.lists(st.integers(0, 2), min_size=16, max_size=16),
       split=st.lists(st.booleans(), min_size=16, max_size=16))
def test_information_gain_is_mutual_information_of_labels_and_split(labels, split):
    gain, info = _gain_and_mutual_information(jnp.asarray(labels), jnp.asarray(split))
    assert_close(gain, info, gain.dtype)
    assert_close(gain, _ref_information_gain(labels, split, 3), gain.dtype)


# ----------------------------------------------------------------------------------------
# Numerical sharp edges


def test_gradients_at_zero_probabilities_follow_the_convention(dtype):
    """Where p == 0 the p-partial of that term is 0 (the documented convention), and no
    gradient is NaN or infinite."""
    p, p64 = rounded([0.5, 0.0, 0.3, 0.2, 0.0, 0.0], dtype)
    q, q64 = rounded([0.25, 0.25, 0.2, 0.2, 0.0, 0.1], dtype)
    zero = p64 == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        grad_h = jax.grad(entropy)(p)
        assert_close(grad_h, np.where(zero, 0.0, -(np.log(p64) + 1.0)), dtype)
        grad_p, grad_q = jax.grad(kl_divergence, argnums=(0, 1))(p, q)
        # the documented gradients of the per-term form: log(p/q) and 1 - p/q
        assert_close(grad_p, np.where(zero, 0.0, np.log(p64 / q64)), dtype)
        # (a term with p == 0 is q itself, so its q-derivative is 1 even where q == 0)
        assert_close(grad_q, np.where(zero, 1.0, 1.0 - p64 / q64), dtype)
        grad_p, grad_q = jax.grad(cross_entropy, argnums=(0, 1))(p, q)
        assert_close(grad_p, np.where(zero, 0.0, -np.log(q64)), dtype)
        assert_close(grad_q, np.where(zero, 0.0, -p64 / q64), dtype)
        grad_p, grad_q = jax.grad(js_divergence, argnums=(0, 1))(p, q)
        # d JS / dp = log(p / m) / 2 (exactly: the generalized terms cancel in JS), 0 where
        # p == 0 < q; where p == 0 == q JS is not differentiable: only finite is asked
        m64 = 0.5 * (p64 + q64)
        both = zero & (q64 == 0)
        assert np.all(np.isfinite(np.asarray(grad_p))) and np.all(np.isfinite(np.asarray(grad_q)))
        assert_close(np.asarray(grad_p)[~both], np.where(zero, 0.0, 0.5 * np.log(p64 / m64))[~both],
                     dtype)
        assert_close(np.asarray(grad_q)[~both], (0.5 * np.log(q64 / m64))[~both], dtype)


# Reference functions of logits in 40-digit arithmetic (mpmath), for finite differences
# accurate far beyond float64.


def _mp_softmax(logits):
    top = max(logits)
    weights = [mpmath.exp(v - top) for v in logits]
    total = mpmath.fsum(weights)
    return [w / total for w in weights]


def _mp_entropy(p):
    return -mpmath.fsum(v * mpmath.log(v) for v in p if v > 0)


def _mp_cross_entropy(p, q):
    return -mpmath.fsum(a * mpmath.log(b) for a, b in zip(p, q, strict=True) if a > 0)


def _mp_kl(p, q):
    return mpmath.fsum(a * mpmath.log(a / b) for a, b in zip(p, q, strict=True) if a > 0)


def _mp_js(p, q):
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    return (_mp_kl(p, m) + _mp_kl(q, m)) / 2


def _mp_finite_difference_gradient(function, x):
    """Central differences, in 40-digit arithmetic, of ``function`` of a list of mpf."""
    with mpmath.workdps(40):
        point = [mpmath.mpf(float(v)) for v in x]
        step = mpmath.mpf("1e-15")
        gradient = []
        for i in range(len(point)):
            upper = list(point)
            lower = list(point)
            upper[i] += step
            lower[i] -= step
            gradient.append(float((function(upper) - function(lower)) / (2 * step)))
    return np.array(gradient)


def test_gradients_through_softmax_with_an_underflowing_class(dtype):
    """Logits [0, 0.5, -200, 1, ...]: exp(-200) underflows in float32; gradients are right."""
    point, a64 = rounded([0.0, 0.5, -200.0, 1.0, -0.3, -210.0], dtype)
    b, b64 = rounded([0.3, -0.2, 0.0, -0.5, 0.1, 0.0], dtype)
    sm = _mp_softmax

    def fixed(values):
        return [mpmath.mpf(float(v)) for v in values]

    cases = [
        (lambda x: entropy(jax.nn.softmax(x)), lambda x: _mp_entropy(sm(x)), a64),
        (lambda x: kl_divergence(jax.nn.softmax(x), jax.nn.softmax(b)),
         lambda x: _mp_kl(sm(x), sm(fixed(b64))), a64),
        (lambda x: cross_entropy(jax.nn.softmax(x), jax.nn.softmax(b)),
         lambda x: _mp_cross_entropy(sm(x), sm(fixed(b64))), a64),
        (lambda x: js_divergence(jax.nn.softmax(x), jax.nn.softmax(b)),
         lambda x: _mp_js(sm(x), sm(fixed(b64))), a64),
        (lambda y: js_divergence(jax.nn.softmax(b), jax.nn.softmax(y)),
         lambda y: _mp_js(sm(fixed(b64)), sm(y)), a64),
        (lambda x: entropy_from_logits(x), lambda x: _mp_entropy(sm(x)), a64),
        (lambda x: kl_divergence_from_logits(x, b), lambda x: _mp_kl(sm(x), sm(fixed(b64))),
         a64),
        (lambda y: kl_divergence_from_logits(b, y), lambda y: _mp_kl(sm(fixed(b64)), sm(y)),
         a64),
        (lambda y: cross_entropy_from_logits(b, y),
         lambda y: _mp_cross_entropy(sm(fixed(b64)), sm(y)), a64),
        (lambda x: js_divergence_from_logits(x, b), lambda x: _mp_js(sm(x), sm(fixed(b64))),
         a64),
    ]
    for index, (function, reference, point64) in enumerate(cases):
        gradient = jax.jit(jax.grad(function))(point)
        assert np.all(np.isfinite(np.asarray(gradient))), index
        expected = _mp_finite_difference_gradient(reference, point64)
        assert_close(gradient, expected, dtype, err_msg=f"case {index}")


def test_cross_entropy_with_minus_inf_logit_on_a_zero_probability_class(dtype):
    """A class with no probability under p may have logit -inf under q: all finite."""
    lp, lp64 = rounded([0.0, 1.0, -np.inf, 0.5, -0.5, 0.2], dtype)
    lq, lq64 = rounded([0.5, 0.0, -np.inf, -1.0, 0.3, 0.0], dtype)
    p64, q64 = special.softmax(lp64), special.softmax(lq64)
    log_q = special.log_softmax(lq64)
    h_pq = -np.sum(p64[p64 > 0] * log_q[p64 > 0])
    value = cross_entropy_from_logits(lp, lq)
    assert_close(value, _ref_cross_entropy(p64, q64), dtype)
    grad_p, grad_q = jax.grad(cross_entropy_from_logits, argnums=(0, 1))(lp, lq)
    # d/dq_logits = softmax(q) - p; d/dp_logits = -p (log q - sum p log q)
    with np.errstate(invalid="ignore"):
        expected_p = np.where(p64 > 0, -p64 * (log_q + h_pq), 0.0)
    assert_close(grad_q, q64 - p64, dtype)
    assert_close(grad_p, expected_p, dtype)
    # the other divergences and the entropy too
    for function, reference in [
        (kl_divergence_from_logits, _ref_kl(p64, q64)),
        (js_divergence_from_logits, _ref_js(p64, q64)),
    ]:
        assert_close(function(lp, lq), reference, dtype)
        for gradient in jax.grad(function, argnums=(0, 1))(lp, lq):
            gradient = np.asarray(gradient)
            assert np.all(np.isfinite(gradient)) and gradient[2] == 0.0
    assert_close(entropy_from_logits(lp), _ref_entropy(p64), dtype)
    gradient = np.asarray(jax.grad(entropy_from_logits)(lp))
    assert np.all(np.isfinite(gradient)) and gradient[2] == 0.0
    # and with probabilities: p = 0 = q on that class
    p, q = jnp.asarray(p64, dtype), jnp.asarray(q64, dtype)
    for function in (cross_entropy, kl_divergence, js_divergence):
        for gradient in jax.grad(function, argnums=(0, 1))(p, q):
            assert np.all(np.isfinite(np.asarray(gradient)))


_FUNCTIONS_OF_TWO = [cross_entropy, kl_divergence, js_divergence]
_LOGIT_FUNCTIONS_OF_TWO = [cross_entropy_from_logits, kl_divergence_from_logits,
                           js_divergence_from_logits]


def test_entirely_masked_rows_give_zero_and_zero_gradient(dtype):
    p, _ = rounded(_P, dtype)
    q, _ = rounded(_Q, dtype)
    lp, _ = rounded(_LOGITS_P, dtype)
    lq, _ = rounded(_LOGITS_Q, dtype)
    none = jnp.zeros((5, 6), bool)
    all_minus_inf = jnp.full((5, 6), -jnp.inf, dtype)
    calls = [
        (lambda x: entropy(x, where=none), (p,)),
        (lambda x: entropy_from_logits(x, where=none), (lp,)),
        (entropy_from_logits, (all_minus_inf,)),
    ]
    for function in _FUNCTIONS_OF_TWO:
        calls.append((lambda x, y, f=function: f(x, y, where=none), (p, q)))
    for function in _LOGIT_FUNCTIONS_OF_TWO:
        calls.append((lambda x, y, f=function: f(x, y, where=none), (lp, lq)))
        calls.append((function, (all_minus_inf, all_minus_inf)))
    for index, (function, args) in enumerate(calls):
        value = np.asarray(function(*args))
        assert np.array_equal(value, np.zeros(5)), (index, value)
        # compiled: one program per function rather than the gradient op by op
        gradients = jax.jit(jax.grad(lambda *a, f=function: jnp.sum(f(*a)),
                                     argnums=tuple(range(len(args)))))(*args)
        for gradient in gradients:
            assert np.array_equal(np.asarray(gradient), np.zeros((5, 6))), (index, gradient)


def test_masked_padding_never_reaches_the_gradient(dtype):
    """NaN or negative padding in excluded entries: finite value, zero gradient there."""
    mask = np.array([True, True, True, False, False, False])
    p, _ = rounded([0.2, 0.3, 0.5, np.nan, -1.0, 0.0], dtype)
    q, _ = rounded([0.4, 0.4, 0.2, -1.0, np.nan, 0.0], dtype)
    m = jnp.asarray(mask)
    for function in (lambda x, y: entropy(x, where=m) + 0.0 * jnp.sum(jnp.where(m, y, 0.0)),
                     *(lambda x, y, f=f: f(x, y, where=m) for f in _FUNCTIONS_OF_TWO),
                     *(lambda x, y, f=f: f(x, y, where=m) for f in _LOGIT_FUNCTIONS_OF_TWO)):
        assert np.isfinite(float(function(p, q)))
        for gradient in jax.jit(jax.grad(function, argnums=(0, 1)))(p, q):
            gradient = np.asarray(gradient)
            assert np.all(np.isfinite(gradient)) and np.all(gradient[~mask] == 0.0), gradient


def test_nearly_equal_distributions_give_nonnegative_divergences():
    """Distributions 1e-4 apart (relative) in float32: divergences >= 0 and accurate."""
    rng = np.random.default_rng(3)
    p64 = _normalize(rng.uniform(0.01, 1.0, size=(200, 6)))
    p64[:50, :3] = 0.0  # with zeros too
    p64 = _normalize(p64)
    q64 = _normalize(p64 * (1.0 + 1e-4 * rng.choice([-1.0, 1.0], size=p64.shape)))
    p, p32 = rounded(p64, jnp.float32)
    q, q32 = rounded(q64, jnp.float32)
    for function, reference in [(kl_divergence, _ref_kl(p32, q32)),
                                (js_divergence, _ref_js(p32, q32))]:
        value = np.asarray(function(p, q))
        assert np.all(value >= 0.0)
        assert_close(value, reference, jnp.float32)
        assert np.all(np.asarray(function(p, p)) == 0.0)
    logits_p, lp64 = rounded(rng.normal(size=(200, 6)) * 3, jnp.float32)
    logits_q, lq64 = rounded(lp64 + 1e-4 * rng.normal(size=lp64.shape), jnp.float32)
    refs = _log_softmax_references(lp64, lq64)
    for function, name in [(kl_divergence_from_logits, "kl"),
                           (js_divergence_from_logits, "js")]:
        value = np.asarray(function(logits_p, logits_q))
        assert np.all(value >= 0.0)
        assert_close(value, refs[name], jnp.float32)
        same = np.asarray(function(logits_p, logits_p))
        assert np.all(same >= 0.0)
        assert_close(same, 0.0, jnp.float32)
    # nearly independent joint tables: mutual information >= 0
    px, py = _normalize(rng.uniform(0.1, 1, size=(50, 4))), _normalize(rng.uniform(0.1, 1,
                                                                                  size=(50, 5)))
    joint = px[:, :, None] * py[:, None, :] * (1 + 1e-4 * rng.normal(size=(50, 4, 5)))
    table, table64 = rounded(joint / joint.sum(axis=(1, 2), keepdims=True), jnp.float32)
    value = np.asarray(mutual_information(table))
    assert np.all(value >= 0.0)
    expected = [np.sum(special.rel_entr(t, np.outer(t.sum(1), t.sum(0)))) for t in table64]
    assert_close(value, expected, jnp.float32)


# ----------------------------------------------------------------------------------------
# Composability: plain, jit, vmap, and grad against finite differences in float64


def _simplex_rows(n, k, seed):
    return _normalize(np.random.default_rng(seed).uniform(0.05, 1.0, size=(n, k)))


_PS = _simplex_rows(3, 6, 1)
_QS = _simplex_rows(3, 6, 2)
_LPS = np.random.default_rng(3).normal(size=(3, 6))
_LQS = np.random.default_rng(4).normal(size=(3, 6))
_MASK = jnp.asarray([True, True, False, True, True, False])
_BATCH_PQ = [(jnp.asarray(a), jnp.asarray(b)) for a, b in zip(_PS, _QS, strict=True)]
_BATCH_L = [(jnp.asarray(a), jnp.asarray(b)) for a, b in zip(_LPS, _LQS, strict=True)]

_COMPOSABLE = {
    "self_information": (lambda p: self_information(p, base=2), [(jnp.asarray(r),)
                                                                  for r in _PS]),
    "entropy": (lambda p: entropy(p), [(jnp.asarray(r),) for r in _PS]),
    "entropy_masked": (lambda p: entropy(p, where=_MASK, base=2),
                       [(jnp.asarray(r),) for r in _PS]),
    "cross_entropy": (lambda p, q: cross_entropy(p, q), _BATCH_PQ),
    "kl_divergence": (lambda p, q: kl_divergence(p, q), _BATCH_PQ),
    "kl_divergence_masked": (lambda p, q: kl_divergence(p, q, where=_MASK), _BATCH_PQ),
    "js_divergence": (lambda p, q: js_divergence(p, q, base=2), _BATCH_PQ),
    "entropy_from_logits": (lambda a: entropy_from_logits(a), [(a,) for a, _ in _BATCH_L]),
    "cross_entropy_from_logits": (lambda a, b: cross_entropy_from_logits(a, b), _BATCH_L),
    "kl_divergence_from_logits": (lambda a, b: kl_divergence_from_logits(a, b), _BATCH_L),
    "js_divergence_from_logits": (lambda a, b: js_divergence_from_logits(a, b), _BATCH_L),
    "js_divergence_from_logits_masked": (
        lambda a, b: js_divergence_from_logits(a, b, where=_MASK), _BATCH_L),
    "mutual_information": (
        lambda t: mutual_information(t),
        [(jnp.asarray(np.random.default_rng(s).uniform(0.1, 2.0, size=(5, 4))),)
         for s in range(3)],
    ),
}


@pytest.mark.parametrize("name", list(_COMPOSABLE))
def test_composable(name):
    function, batch = _COMPOSABLE[name]
    check_composable_packed(function, batch, argnums=range(len(batch[0])))


def test_composable_label_functions():
    rng = np.random.default_rng(11)
    batch = [(jnp.asarray(rng.integers(0, 5, _N)), jnp.asarray(rng.integers(0, 4, _N)),
              jnp.asarray(rng.uniform(0.5, 2.0, _N))) for _ in range(3)]
    result = check_composable_packed(
        lambda x, y, w: contingency_table(x, y, num_x=5, num_y=4, sample_weight=w),
        batch, argnums=(2,),
    )
    assert result.shape == (5, 4)
    check_composable_packed(lambda x, y, w: information_gain(x, y, 5, 4, sample_weight=w),
                             batch, argnums=(2,))
    check_composable(lambda x, y: mutual_info_score(x, y, num_x=5, num_y=4),
                     batch[0][:2], [b[:2] for b in batch])


# The functions of the check below, defined once: the gradient check compiles each once and
# reuses it for both parametrized cases (same shapes and dtypes).
_UNDERFLOW_FUNCTIONS_OF_ONE = (entropy_from_logits, lambda x: entropy(jax.nn.softmax(x)))
_UNDERFLOW_FUNCTIONS_OF_TWO = tuple(lambda xy, f=function: f(*xy)
                                    for function in _LOGIT_FUNCTIONS_OF_TWO)


def _underflow_js(xy):
    return js_divergence(jax.nn.softmax(xy[0]), jax.nn.softmax(xy[1]))


def _underflow_cross_entropy(xy):
    return cross_entropy(jax.nn.softmax(xy[0]), jax.nn.softmax(xy[1]))


def _underflow_kl(xy):
    return kl_divergence(jax.nn.softmax(xy[0]), jax.nn.softmax(xy[1]))


@pytest.mark.x64_only  # float64 whatever the mode: see tests/conftest.py
@pytest.mark.parametrize("far", [-200.0, -800.0])
def test_gradients_at_underflowing_logits_match_finite_differences(far):
    """In float64, exp(-800) underflows too; gradients still match finite differences."""
    a = jnp.asarray([0.0, far, 0.7, far + 3.0, -0.2, 0.4])
    b = jnp.asarray([0.2, -0.4, far, 1.0, 0.3, -0.1])
    for function in _UNDERFLOW_FUNCTIONS_OF_ONE:
        check_gradient(function, (a,), (0,))
    # both arguments packed in one tuple: one gradient, checked in both at once
    for function in _UNDERFLOW_FUNCTIONS_OF_TWO:
        check_gradient(function, ((a, b),), (0,))
    check_gradient(_underflow_js, ((a, b),), (0,))
    check_gradient(_underflow_cross_entropy, ((a, b[::-1]),), (0,))
    # p underflows where q does not (q underflowing under p would make KL infinite)
    check_gradient(_underflow_kl, ((a, b[::-1]),), (0,))


# ----------------------------------------------------------------------------------------
# Bad input


def test_incompatible_shapes_raise_naming_the_arguments():
    p3, p4 = jnp.ones(3) / 3, jnp.ones(4) / 4
    for function in _FUNCTIONS_OF_TWO:
        with pytest.raises(ValueError, match=r"p shape \(3,\), q shape \(4,\)"):
            function(p3, p4)
    for function in _LOGIT_FUNCTIONS_OF_TWO:
        with pytest.raises(ValueError, match=r"p_logits shape \(2, 3\), q_logits shape \(4,\)"):
            function(jnp.zeros((2, 3)), jnp.zeros(4))
    for function in (entropy, entropy_from_logits):
        with pytest.raises(ValueError, match=r"where shape \(4,\)"):
            function(jnp.zeros((2, 3)), where=jnp.ones(4, bool))
    for function in _FUNCTIONS_OF_TWO + _LOGIT_FUNCTIONS_OF_TWO:
        with pytest.raises(ValueError, match=r"where shape \(2,\)"):
            function(p3, p3, where=jnp.ones(2, bool))
    for function in (entropy, entropy_from_logits):
        with pytest.raises(ValueError, match="at least one dimension"):
            function(jnp.asarray(0.5))
        with pytest.raises(ValueError, match="axis=2"):
            function(jnp.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match=r"joint must have shape \(\.\.\., num_x, num_y\)"):
        mutual_information(jnp.ones(4))


@pytest.mark.parametrize("base", [0, 1, -2, 1.0])
def test_bad_base_raises(base):
    p = jnp.asarray([0.5, 0.5])
    labels = jnp.asarray([0, 1, 1])
    calls = [
        lambda: self_information(p, base=base),
        lambda: entropy(p, base=base),
        lambda: entropy_from_logits(p, base=base),
        lambda: mutual_information(jnp.eye(2), base=base),
        lambda: mutual_info_score(labels, labels, base=base),
        lambda: information_gain(labels, labels, 2, base=base),
    ]
    calls += [lambda f=f: f(p, p, base=base) for f in _FUNCTIONS_OF_TWO + _LOGIT_FUNCTIONS_OF_TWO]
    for call in calls:
        with pytest.raises(ValueError, match="base must be a positive number other than 1"):
            call()


def test_empty_labels_need_their_count():
    empty = jnp.zeros(0, jnp.int32)
    with pytest.raises(ValueError, match="labels_x are empty; pass num_x to define the label"):
        contingency_table(empty, empty)
    table = contingency_table(empty, empty, num_x=2, num_y=3)
    assert table.shape == (2, 3) and float(jnp.sum(table)) == 0.0


def test_bad_labels_raise():
    ints = jnp.asarray([0, 1, 1])
    with pytest.raises(TypeError, match="labels_x must hold integer labels"):
        mutual_info_score(jnp.asarray([0.0, 1.0, 1.0]), ints)
    with pytest.raises(TypeError, match="labels_y must hold integer labels"):
        contingency_table(ints, jnp.asarray([0.0, 1.0, 1.0]))
    with pytest.raises(TypeError, match="labels must hold integer labels"):
        information_gain(jnp.asarray([0.0, 1.0, 1.0]), ints, 2)
    with pytest.raises(ValueError, match=r"labels_x and labels_y .* \(3,\) and \(2,\)"):
        mutual_info_score(ints, jnp.asarray([0, 1]))
    with pytest.raises(ValueError, match=r"labels and split .* \(3,\) and \(4,\)"):
        information_gain(ints, jnp.asarray([True, False, True, True]), 2)
    with pytest.raises(ValueError, match=r"sample_weight must have the labels' shape \(3,\)"):
        information_gain(ints, ints, 2, sample_weight=jnp.ones(4))
    with pytest.raises(ValueError, match="num_x must be a positive int"):
        mutual_info_score(ints, ints, num_x=0)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        information_gain(ints, ints, num_classes=2.0)
    with pytest.raises(ValueError, match=r"labels_x must hold labels 0\.\.K-1, got label -1"):
        contingency_table(jnp.asarray([0, -1, 1]), ints)
