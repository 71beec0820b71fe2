"""mlmath.metrics against scikit-learn and closed forms, in every dtype; jit, vmap, grad."""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import UndefinedMetricWarning

from mlmath import metrics
from tests.composability import check_composable, check_gradient
from tests.conftest import assert_close

DEFAULT_FLOAT = jnp.result_type(float)

SCORES = {
    "precision": (metrics.precision, skm.precision_score),
    "recall": (metrics.recall, skm.recall_score),
    "f1": (metrics.f1, skm.f1_score),
}
MULTICLASS_AVERAGES = ["micro", "macro", "weighted", None]


def _sklearn_score(name, y_true, y_pred, average, num_classes, sample_weight=None,
                   pos_label=1):
    """scikit-learn's score with zero_division=0; per-class scores over labels 0..K-1."""
    labels = np.arange(num_classes) if average is None else None
    return SCORES[name][1](
        np.asarray(y_true), np.asarray(y_pred), average=average, labels=labels,
        pos_label=pos_label, zero_division=0,
        sample_weight=None if sample_weight is None else np.asarray(sample_weight, np.float64),
    )


def _random_labels(seed, n=40, num_classes=4):
    """Labels with about half the predictions right; some seeds never predict the last class."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, n)
    high = num_classes - 1 if seed % 2 else num_classes
    y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, high, n))
    weights = rng.uniform(0.0, 2.0, n) * (rng.random(n) > 0.1)  # about a tenth are 0
    return y_true, y_pred, weights


# hand-made edge cases: (y_true, y_pred, sample_weight)
EDGE_CASES = {
    "class_never_predicted": ([0, 1, 2, 2, 1, 0], [0, 1, 1, 1, 0, 0], None),
    "class_absent_from_y_true": ([0, 0, 1, 1], [0, 2, 1, 1], None),
    "all_correct": ([0, 1, 2, 3, 1], [0, 1, 2, 3, 1], None),
    "all_wrong": ([0, 1, 2, 0], [1, 2, 0, 2], None),
    "single_class_present": ([2, 2, 2], [2, 2, 2], None),
    "classes_absent_from_both": ([0, 3, 3, 0, 3], [3, 3, 0, 0, 3], None),
    "class_with_zero_weight_only": ([0, 1, 2, 2], [0, 1, 1, 2], [1.0, 2.0, 0.0, 0.0]),
    "weighted_never_predicted": ([0, 1, 2, 2, 1, 0], [0, 1, 1, 1, 0, 0],
                                 [0.5, 1.0, 2.0, 1.5, 0.25, 3.0]),
}


def check_composable_and_differentiable(function, args, batch, grad_argnums):
    """``check_composable`` (plain, jit, vmap), then the gradient check on the jitted function.

    Once jit is known to agree with the plain call, differentiating the jitted function
    checks the same gradient at a fraction of the cost of differentiating op by op.
    """
    check_composable(function, args, batch)
    check_gradient(jax.jit(function), args, grad_argnums)


# ---------------------------------------------------------------------------------------------
# counting metrics against scikit-learn


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("average", MULTICLASS_AVERAGES, ids=str)
@pytest.mark.parametrize("name", sorted(SCORES))
def test_multiclass_scores_match_sklearn_on_random_labels(name, average, weighted, dtype):
    for seed in range(4):
        y_true, y_pred, weights = _random_labels(seed)
        weights = weights if weighted else None
        num_classes = int(max(y_true.max(), y_pred.max())) + 1
        actual = SCORES[name][0](
            jnp.asarray(y_true), jnp.asarray(y_pred), average=average,
            sample_weight=None if weights is None else jnp.asarray(weights, dtype),
        )
        expected = _sklearn_score(name, y_true, y_pred, average, num_classes, weights)
        result_dtype = dtype if weighted else DEFAULT_FLOAT
        assert actual.dtype == result_dtype
        assert actual.shape == np.shape(expected)
        assert_close(actual, expected, result_dtype, err_msg=f"seed {seed}")


@partial(jax.jit, static_argnames="num_classes")
def _all_scores(y_true, y_pred, weights, num_classes):
    """Every score under every multiclass average, compiled once per shape."""
    return {
        (name, str(average)): function(y_true, y_pred, average=average,
                                       num_classes=num_classes, sample_weight=weights)
        for name, (function, _) in SCORES.items()
        for average in MULTICLASS_AVERAGES
    }


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_multiclass_scores_match_sklearn_on_edge_cases(case, dtype):
    y_true, y_pred, weights = EDGE_CASES[case]
    num_classes = max(max(y_true), max(y_pred)) + 1
    sample_weight = None if weights is None else jnp.asarray(weights, dtype)
    result_dtype = DEFAULT_FLOAT if weights is None else dtype
    scores = _all_scores(jnp.array(y_true), jnp.array(y_pred), sample_weight, num_classes)
    for (name, average), actual in scores.items():
        average = None if average == "None" else average
        expected = _sklearn_score(name, y_true, y_pred, average, num_classes, weights)
        assert np.all(np.isfinite(np.asarray(actual))), f"{name} {average}"
        assert actual.dtype == result_dtype
        assert_close(actual, expected, result_dtype, err_msg=f"{name} {average}")


def test_zero_division_gives_zero_not_nan():
    # class 2 is never predicted (precision 0/0) and class 3 is absent from y_true (recall 0/0)
    y_true, y_pred = jnp.array([0, 1, 2, 2]), jnp.array([0, 1, 3, 1])
    per_class = {
        name: np.asarray(function(y_true, y_pred, average=None))
        for name, (function, _) in SCORES.items()
    }
    assert per_class["precision"].tolist() == [1.0, 0.5, 0.0, 0.0]
    assert per_class["recall"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert_close(per_class["f1"], [1.0, 2 / 3, 0.0, 0.0], DEFAULT_FLOAT)


def test_larger_num_classes_leaves_averages_unchanged_and_pads_per_class_with_zeros(dtype):
    y_true, y_pred, weights = _random_labels(3, num_classes=3)
    sample_weight = jnp.asarray(weights, dtype)
    for name, (function, _) in SCORES.items():
        for average in MULTICLASS_AVERAGES:
            actual = function(jnp.asarray(y_true), jnp.asarray(y_pred), average=average,
                              num_classes=6, sample_weight=sample_weight)
            # classes 3, 4, 5 occur nowhere: scikit-learn leaves them out of the averages
            expected = _sklearn_score(name, y_true, y_pred, average, 6, weights)
            assert_close(actual, expected, dtype, err_msg=f"{name} {average}")


@pytest.mark.parametrize("pos_label", [0, 1])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_binary_scores_match_sklearn(pos_label, weighted, dtype):
    result_dtype = dtype if weighted else DEFAULT_FLOAT
    for seed in range(4):
        y_true, y_pred, weights = _random_labels(seed, n=30, num_classes=2)
        weights = weights if weighted else None
        for name, (function, _) in SCORES.items():
            actual = function(
                jnp.asarray(y_true), jnp.asarray(y_pred), pos_label=pos_label,
                sample_weight=None if weights is None else jnp.asarray(weights, dtype),
            )
            expected = _sklearn_score(name, y_true, y_pred, "binary", 2, weights, pos_label)
            assert_close(actual, expected, result_dtype, err_msg=f"{name} seed {seed}")


BINARY_EDGE_CASES = {
    "all_negative": ([0, 0, 0, 0], [0, 0, 0, 0]),
    "all_positive": ([1, 1, 1], [1, 1, 1]),
    "never_predicts_positive": ([0, 1, 1, 0], [0, 0, 0, 0]),
    "all_wrong": ([0, 1, 1, 0], [1, 0, 0, 1]),
    "no_true_positive_class": ([0, 0, 0], [1, 0, 1]),
}


@pytest.mark.parametrize("pos_label", [0, 1])
@pytest.mark.parametrize("case", sorted(BINARY_EDGE_CASES))
def test_binary_edge_cases_match_sklearn(case, pos_label):
    y_true, y_pred = BINARY_EDGE_CASES[case]
    for name, (function, _) in SCORES.items():
        actual = function(jnp.array(y_true), jnp.array(y_pred), pos_label=pos_label)
        expected = _sklearn_score(name, y_true, y_pred, "binary", 2, pos_label=pos_label)
        assert np.isfinite(float(actual))
        assert_close(actual, expected, DEFAULT_FLOAT, err_msg=name)


def test_binary_closed_form():
    # TP = 2, FP = 1, FN = 3 for class 1; for class 0: TP = 1, FP = 3, FN = 1
    y_true = jnp.array([1, 1, 1, 1, 1, 0, 0])
    y_pred = jnp.array([1, 1, 0, 0, 0, 1, 0])
    assert_close(metrics.precision(y_true, y_pred), 2 / 3, DEFAULT_FLOAT)
    assert_close(metrics.recall(y_true, y_pred), 2 / 5, DEFAULT_FLOAT)
    assert_close(metrics.f1(y_true, y_pred), 4 / 8, DEFAULT_FLOAT)
    assert_close(metrics.precision(y_true, y_pred, pos_label=0), 1 / 4, DEFAULT_FLOAT)
    assert_close(metrics.recall(y_true, y_pred, pos_label=0), 1 / 2, DEFAULT_FLOAT)
    assert_close(metrics.f1(y_true, y_pred, pos_label=0), 2 / 6, DEFAULT_FLOAT)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_accuracy_matches_sklearn(weighted, dtype):
    cases = [_random_labels(seed) for seed in range(4)]
    cases += [(np.array(t), np.array(p), w) for t, p, w in EDGE_CASES.values()]
    result_dtype = dtype if weighted else DEFAULT_FLOAT
    for y_true, y_pred, weights in cases:
        if weighted and weights is None:
            weights = np.linspace(0.5, 2.0, len(y_true))
        weights = weights if weighted else None
        actual = metrics.accuracy(
            jnp.asarray(y_true), jnp.asarray(y_pred),
            sample_weight=None if weights is None else jnp.asarray(weights, dtype),
        )
        expected = skm.accuracy_score(y_true, y_pred, sample_weight=weights)
        assert actual.dtype == result_dtype
        assert_close(actual, expected, result_dtype)


def test_accuracy_of_boolean_labels():
    y_true, y_pred = np.array([True, False, True, True]), np.array([True, True, False, True])
    assert_close(metrics.accuracy(y_true, y_pred), 0.5, DEFAULT_FLOAT)
    assert_close(metrics.precision(y_true, y_pred), 2 / 3, DEFAULT_FLOAT)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_confusion_matrix_matches_sklearn(weighted, dtype):
    for seed in range(4):
        y_true, y_pred, weights = _random_labels(seed)
        weights = weights if weighted else None
        sample_weight = None if weights is None else jnp.asarray(weights, dtype)
        actual = metrics.confusion_matrix(jnp.asarray(y_true), jnp.asarray(y_pred),
                                          sample_weight=sample_weight)
        expected = skm.confusion_matrix(y_true, y_pred, sample_weight=weights)
        assert actual.shape == expected.shape
        assert_close(actual, expected, dtype if weighted else DEFAULT_FLOAT)
        # a larger num_classes adds empty rows and columns
        actual = metrics.confusion_matrix(jnp.asarray(y_true), jnp.asarray(y_pred), 6,
                                          sample_weight)
        expected = skm.confusion_matrix(y_true, y_pred, labels=np.arange(6),
                                        sample_weight=weights)
        assert_close(actual, expected, dtype if weighted else DEFAULT_FLOAT)


def test_confusion_matrix_orientation():
    # rows are true classes, columns predicted: one sample of class 0 predicted as 1
    assert np.asarray(metrics.confusion_matrix(jnp.array([0]), jnp.array([1]))).tolist() == [
        [0.0, 1.0], [0.0, 0.0]
    ]


@given(
    arrays(np.int32, 10, elements=st.integers(0, 3)),
    arrays(np.int32, 10, elements=st.integers(0, 3)),
    arrays(np.float64, 10, elements=st.sampled_from([0.0, 0.5, 1.0, 3.0])),
)
def test_scores_match_sklearn_for_any_labels(y_true, y_pred, weights):
    weights[0] += 1.0  # scikit-learn refuses weights that are all 0
    # one compiled function for every example: labels 0..3, ten samples
    scores = _all_scores(y_true, y_pred, jnp.asarray(weights, DEFAULT_FLOAT), num_classes=4)
    for (name, average), actual in scores.items():
        average = None if average == "None" else average
        expected = _sklearn_score(name, y_true, y_pred, average, 4, weights)
        assert_close(actual, expected, DEFAULT_FLOAT, err_msg=f"{name} {average}")


# ---------------------------------------------------------------------------------------------
# jit and vmap for the counting metrics


def _label_batch(num_classes=4, n=12):
    batch = []
    for seed in range(3):
        y_true, y_pred, weights = _random_labels(seed + 10, n=n, num_classes=num_classes)
        batch.append((jnp.asarray(y_true), jnp.asarray(y_pred), jnp.asarray(weights,
                                                                             DEFAULT_FLOAT)))
    return batch


@pytest.mark.parametrize("num_classes", [2, 4])
def test_counting_metrics_compose_with_jit_and_vmap(num_classes):
    batch = _label_batch(num_classes)
    averages = MULTICLASS_AVERAGES + (["binary"] if num_classes == 2 else [])

    def all_scores(y_true, y_pred, weights):
        return [
            function(y_true, y_pred, average=average, num_classes=num_classes,
                     sample_weight=weights)
            for function in (metrics.precision, metrics.recall, metrics.f1)
            for average in averages
        ]

    check_composable(all_scores, batch[0], batch)


def test_accuracy_and_confusion_matrix_compose_with_jit_and_vmap():
    batch = _label_batch()
    check_composable(
        lambda t, p, w: (metrics.accuracy(t, p, sample_weight=w),
                         metrics.confusion_matrix(t, p, 4, sample_weight=w)),
        batch[0], batch,
    )


def test_jit_with_static_arguments_matches_sklearn():
    y_true, y_pred, _ = _random_labels(5)
    jitted = jax.jit(metrics.f1, static_argnames=("average", "num_classes"))
    actual = jitted(jnp.asarray(y_true), jnp.asarray(y_pred), average="macro", num_classes=4)
    assert_close(actual, skm.f1_score(y_true, y_pred, average="macro"), DEFAULT_FLOAT)
    y_true, y_pred, _ = _random_labels(5, num_classes=2)
    # binary needs no num_classes: the classes are 0 and 1
    actual = jax.jit(metrics.recall, static_argnames="pos_label")(
        jnp.asarray(y_true), jnp.asarray(y_pred), pos_label=0
    )
    assert_close(actual, skm.recall_score(y_true, y_pred, pos_label=0), DEFAULT_FLOAT)


def test_traced_labels_need_num_classes():
    y = jnp.array([0, 1, 2])
    for function in (metrics.precision, metrics.recall, metrics.f1):
        with pytest.raises(ValueError, match="num_classes must be given"):
            jax.jit(lambda t, p, f=function: f(t, p, average="macro"))(y, y)
    with pytest.raises(ValueError, match="num_classes must be given"):
        jax.vmap(metrics.confusion_matrix)(y[None], y[None])


# ---------------------------------------------------------------------------------------------
# log loss


def _probabilities(seed, n=30, num_classes=4):
    """Labels and probability rows bounded away from 0 and 1 (float64, rows sum to one)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, num_classes))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return rng.integers(0, num_classes, n), probs, logits, rng.uniform(0.0, 2.0, n)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_log_loss_matches_sklearn(weighted, dtype):
    for seed in range(3):
        y_true, probs, _, weights = _probabilities(seed)
        weights = weights if weighted else None
        actual = metrics.log_loss(
            jnp.asarray(y_true), jnp.asarray(probs, dtype),
            sample_weight=None if weights is None else jnp.asarray(weights, dtype),
        )
        expected = skm.log_loss(y_true, probs, labels=np.arange(4), sample_weight=weights)
        assert actual.dtype == dtype
        assert_close(actual, expected, dtype)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_binary_log_loss_matches_sklearn(weighted, dtype):
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 2, 30)
    probability_of_one = rng.uniform(0.02, 0.98, 30)
    weights = rng.uniform(0.0, 2.0, 30) if weighted else None
    sample_weight = None if weights is None else jnp.asarray(weights, dtype)
    expected = skm.log_loss(y_true, probability_of_one, labels=[0, 1], sample_weight=weights)
    actual = metrics.log_loss(jnp.asarray(y_true), jnp.asarray(probability_of_one, dtype),
                              sample_weight=sample_weight)
    assert_close(actual, expected, dtype)
    two_columns = np.stack([1 - probability_of_one, probability_of_one], axis=1)
    actual = metrics.log_loss(jnp.asarray(y_true), jnp.asarray(two_columns, dtype),
                              sample_weight=sample_weight)
    assert_close(actual, expected, dtype)


def test_log_loss_zero_probabilities(dtype):
    # zero on the true class: the model called what happened impossible
    probs = jnp.array([[0.0, 1.0], [0.5, 0.5]], dtype)
    assert float(metrics.log_loss(jnp.array([0, 1]), probs)) == math.inf
    assert float(metrics.log_loss(jnp.array([1, 0]), jnp.array([0.0, 0.5], dtype))) == math.inf
    assert float(metrics.log_loss(jnp.array([0, 0]), jnp.array([1.0, 0.5], dtype))) == math.inf
    # zeros elsewhere cost nothing: 0 log 0 = 0, no clipping of valid inputs
    probs = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], dtype)
    assert_close(metrics.log_loss(jnp.array([0, 2]), probs), math.log(2) / 2, dtype)
    assert float(metrics.log_loss(jnp.array([1, 0]), jnp.array([1.0, 0.0], dtype))) == 0.0
    # a sample of weight 0 is excluded even when its loss would be inf
    actual = metrics.log_loss(jnp.array([0, 1]), jnp.array([[0.0, 1.0], [0.75, 0.25]], dtype),
                              sample_weight=jnp.array([0.0, 2.0], dtype))
    assert_close(actual, math.log(4), dtype)
    gradient = jax.grad(
        lambda p: metrics.log_loss(jnp.array([0, 1]), p,
                                   sample_weight=jnp.array([0.0, 2.0], dtype))
    )(jnp.array([[0.0, 1.0], [0.75, 0.25]], dtype))
    assert_close(gradient, [[0.0, 0.0], [0.0, -1 / 0.25]], dtype)
    # binary: p = 1 on a true 1 costs 0, and its gradient -1/p stays finite
    probability_of_one = jnp.array([1.0, 0.25], dtype)
    loss, gradient = jax.value_and_grad(
        lambda p: metrics.log_loss(jnp.array([1, 0]), p)
    )(probability_of_one)
    assert_close(loss, -math.log(0.75) / 2, dtype)
    assert_close(gradient, [-1 / 2, 1 / (2 * 0.75)], dtype)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_log_loss_from_logits_matches_sklearn(weighted, dtype):
    y_true, probs, logits, weights = _probabilities(11)
    weights = weights if weighted else None
    sample_weight = None if weights is None else jnp.asarray(weights, dtype)
    expected = skm.log_loss(y_true, probs, labels=np.arange(4), sample_weight=weights)
    actual = metrics.log_loss_from_logits(jnp.asarray(y_true), jnp.asarray(logits, dtype),
                                          sample_weight=sample_weight)
    assert_close(actual, expected, dtype)
    # binary: (n,) logits of class 1
    binary_logits = logits[:, 0]
    binary_labels = y_true % 2
    expected = skm.log_loss(binary_labels, 1 / (1 + np.exp(-binary_logits)), labels=[0, 1],
                            sample_weight=weights)
    actual = metrics.log_loss_from_logits(jnp.asarray(binary_labels),
                                          jnp.asarray(binary_logits, dtype),
                                          sample_weight=sample_weight)
    assert_close(actual, expected, dtype)


def test_log_loss_from_huge_logits_is_exact(dtype):
    logits = jnp.array([[1e4, 0.0], [0.0, 1e4], [-1e4, 1e4]], dtype)
    # row losses: logsumexp - z_y = 1e4, 0, 0 (the log1p(exp(-1e4)) terms underflow to 0)
    assert_close(metrics.log_loss_from_logits(jnp.array([1, 1, 1]), logits), 1e4 / 3, dtype)
    assert_close(metrics.log_loss_from_logits(jnp.array([1, 0]), jnp.array([1e4, 1e4], dtype)),
                 1e4 / 2, dtype)
    gradient = jax.jit(jax.grad(
        lambda z: metrics.log_loss_from_logits(jnp.array([1, 1, 1]), z)
    ))(logits)
    # (softmax - onehot) / n
    assert_close(gradient, np.array([[1.0, -1.0], [0.0, 0.0], [0.0, 0.0]]) / 3, dtype)


def test_log_loss_composes_with_jit_vmap_grad():
    batch = []
    for seed in range(3):
        y_true, probs, logits, weights = _probabilities(seed + 20, n=8, num_classes=3)
        batch.append((jnp.asarray(y_true), jnp.asarray(probs, DEFAULT_FLOAT),
                      jnp.asarray(logits, DEFAULT_FLOAT), jnp.asarray(weights, DEFAULT_FLOAT)))
    check_composable_and_differentiable(
        lambda t, p, z, w: (metrics.log_loss(t, p, sample_weight=w),
                            metrics.log_loss_from_logits(t, z, sample_weight=w),
                            metrics.log_loss(t % 2, p[:, 0])),
        batch[0], batch, grad_argnums=(1, 2),
    )


# ---------------------------------------------------------------------------------------------
# regression


def _regression_data(seed, shape):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=shape) * 3.0 + 1.0
    y_pred = y_true + rng.normal(size=shape)
    return y_true, y_pred, rng.uniform(0.0, 2.0, shape[0])


REGRESSION = {
    "mean_squared_error": (metrics.mean_squared_error, skm.mean_squared_error),
    "r2_score": (metrics.r2_score, skm.r2_score),
}


@pytest.mark.parametrize("multioutput", ["uniform_average", "raw_values"])
@pytest.mark.parametrize("shape", [(25,), (25, 3)], ids=["1d", "2d"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_metrics_match_sklearn(name, weighted, shape, multioutput, dtype):
    function, reference = REGRESSION[name]
    for seed in range(3):
        y_true, y_pred, weights = _regression_data(seed, shape)
        weights = weights if weighted else None
        actual = function(
            jnp.asarray(y_true, dtype), jnp.asarray(y_pred, dtype), multioutput=multioutput,
            sample_weight=None if weights is None else jnp.asarray(weights, dtype),
        )
        expected = reference(y_true, y_pred, sample_weight=weights, multioutput=multioutput)
        assert actual.dtype == dtype
        assert actual.shape == np.shape(expected)
        assert_close(actual, expected, dtype)


def test_r2_of_constant_targets(dtype):
    constant = np.full(5, 2.0)
    nearby = constant + np.array([0.0, 0.5, 0.0, -0.25, 0.0])
    cases = [(constant, constant, 1.0), (constant, nearby, 0.0)]
    for y_true, y_pred, closed_form in cases:
        actual = metrics.r2_score(jnp.asarray(y_true, dtype), jnp.asarray(y_pred, dtype))
        assert float(actual) == closed_form
        assert closed_form == skm.r2_score(y_true, y_pred)
    # one constant column among others, weighted; dyadic weights keep scikit-learn's weighted
    # mean of the constant column exact (otherwise it finds SS_tot ~ 1e-31 and returns -1e32)
    y_true, y_pred, _ = _regression_data(4, (12, 3))
    weights = np.tile([0.5, 1.0, 2.0, 0.25], 3)
    y_true[:, 1] = -3.0
    y_pred[:, 2] = y_true[:, 2]
    for multioutput in ("raw_values", "uniform_average"):
        actual = metrics.r2_score(jnp.asarray(y_true, dtype), jnp.asarray(y_pred, dtype),
                                  sample_weight=jnp.asarray(weights, dtype),
                                  multioutput=multioutput)
        expected = skm.r2_score(y_true, y_pred, sample_weight=weights, multioutput=multioutput)
        assert_close(actual, expected, dtype)


def test_r2_of_constant_targets_whose_mean_rounds(dtype):
    # the float mean of three 0.1s is not 0.1; the score is still the documented 0.0 and 1.0
    y_true = jnp.full(3, 0.1, dtype)
    assert float(metrics.r2_score(y_true, jnp.array([0.1, 0.1, 0.2], dtype))) == 0.0
    assert float(metrics.r2_score(y_true, y_true)) == 1.0
    weights = jnp.array([0.3, 0.7, 1.1], dtype)
    assert float(metrics.r2_score(y_true, y_true + 0.5, sample_weight=weights)) == 0.0


def test_r2_closed_form_and_single_sample(dtype):
    y_true = jnp.array([1.0, 2.0, 3.0, 4.0], dtype)
    # SS_res = 1 + 1 = 2, SS_tot = 5
    assert_close(metrics.r2_score(y_true, jnp.array([2.0, 2.0, 3.0, 3.0], dtype)), 0.6, dtype)
    assert_close(metrics.r2_score(y_true, jnp.full(4, 2.5, dtype)), 0.0, dtype)
    assert np.isnan(float(metrics.r2_score(jnp.array([1.0], dtype), jnp.array([2.0], dtype))))
    with pytest.warns(UndefinedMetricWarning, match="less than two samples"):
        assert np.isnan(skm.r2_score([1.0], [2.0]))
    assert_close(metrics.mean_squared_error(y_true, y_true + 3.0), 9.0, dtype)


def test_regression_metrics_compose_with_jit_vmap_grad():
    batch = []
    for seed in range(3):
        y_true, y_pred, weights = _regression_data(seed + 30, (10, 2))
        batch.append(tuple(jnp.asarray(a, DEFAULT_FLOAT) for a in (y_true, y_pred, weights)))
    check_composable_and_differentiable(
        lambda t, p, w: (metrics.mean_squared_error(t, p, sample_weight=w),
                         metrics.r2_score(t, p, sample_weight=w, multioutput="raw_values"),
                         metrics.mean_squared_error(t[:, 0], p[:, 0]),
                         metrics.r2_score(t[:, 0], p[:, 0])),
        batch[0], batch, grad_argnums=(0, 1),
    )


# ---------------------------------------------------------------------------------------------
# bad input


LABELS = jnp.array([0, 1, 1, 0])


@pytest.mark.parametrize("function", [metrics.precision, metrics.recall, metrics.f1,
                                      metrics.accuracy, metrics.confusion_matrix],
                         ids=lambda f: f.__name__)
def test_label_shapes_are_checked(function):
    with pytest.raises(ValueError, match=r"same length.*\(4,\) and \(3,\)"):
        function(LABELS, LABELS[:3])
    with pytest.raises(ValueError, match=r"y_true must have shape \(n,\), got shape \(2, 2\)"):
        function(LABELS.reshape(2, 2), LABELS.reshape(2, 2))
    with pytest.raises(ValueError, match=r"y_pred must have shape \(n,\), got shape \(\)"):
        function(LABELS, jnp.array(1))
    with pytest.raises(ValueError, match="empty"):
        function(LABELS[:0], LABELS[:0])
    with pytest.raises(TypeError, match="y_true must hold integer class labels"):
        function(LABELS.astype(float), LABELS)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\).*got \(3,\)"):
        function(LABELS, LABELS, sample_weight=jnp.ones(3))


@pytest.mark.parametrize("function", [metrics.precision, metrics.recall, metrics.f1],
                         ids=lambda f: f.__name__)
def test_average_and_labels_are_checked(function):
    with pytest.raises(ValueError, match=r"average must be .* got 'samples'"):
        function(LABELS, LABELS, average="samples")
    three_classes = jnp.array([0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"average='binary'.*include 2.*more than two classes"):
        function(three_classes, LABELS)
    with pytest.raises(ValueError, match=r"average='binary'.*include 2"):
        function(LABELS, three_classes)
    with pytest.raises(ValueError, match=r"pos_label must be 0 or 1.*got 2"):
        function(LABELS, LABELS, pos_label=2)
    with pytest.raises(ValueError, match="num_classes must be 2 or omitted, got 3"):
        function(LABELS, LABELS, num_classes=3)
    with pytest.raises(ValueError,
                       match=r"y_pred contains label 2, outside the valid range 0\.\.1"):
        function(LABELS, three_classes, average="macro", num_classes=2)
    with pytest.raises(ValueError, match=r"y_true must hold labels 0\.\.K-1, got label -1"):
        function(jnp.array([-1, 0, 1, 0]), LABELS, average="micro")
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        function(LABELS, LABELS, average="micro", num_classes=0)


def test_log_loss_input_is_checked():
    probs = jnp.full((4, 2), 0.5)
    for function in (metrics.log_loss, metrics.log_loss_from_logits):
        name = "probs" if function is metrics.log_loss else "logits"
        with pytest.raises(ValueError, match=rf"{name} must have shape \(n, K\).*n = .* = 3"):
            function(LABELS[:3], probs)
        with pytest.raises(ValueError, match=rf"got {name} shape \(4, 2, 1\)"):
            function(LABELS, probs[..., None])
        with pytest.raises(ValueError,
                           match=r"y_true contains label 2, outside the valid range 0\.\.1"):
            function(jnp.array([0, 1, 2, 0]), probs)
        with pytest.raises(ValueError,
                           match=r"y_true contains label 2, outside the valid range 0\.\.1"):
            function(jnp.array([0, 1, 2, 0]), probs[:, 0])
        with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
            function(LABELS, probs, sample_weight=jnp.ones((4, 1)))
        with pytest.raises(TypeError, match="integer class labels"):
            function(jnp.zeros(4), probs)


@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_input_is_checked(name):
    function = REGRESSION[name][0]
    y = jnp.ones((5, 2))
    with pytest.raises(ValueError, match=r"y_pred must have the shape of y_true \(5, 2\), got "
                                         r"\(4, 2\)"):
        function(y, y[:4])
    with pytest.raises(ValueError, match=r"y_true must have shape \(n,\) or \(n, num_outputs\)"):
        function(y[..., None], y[..., None])
    with pytest.raises(ValueError, match=r"multioutput must be .* got 'variance_weighted'"):
        function(y, y, multioutput="variance_weighted")
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(5,\).*got \(5, 2\)"):
        function(y, y, sample_weight=y)
