"""Losses as negative log-likelihoods, penalties as negative log-priors.

Every loss here is ``-log p(target | prediction)`` for a named distribution (up to a
constant where one is stated), so minimizing its mean is maximum likelihood, and adding a
penalty is maximum a posteriori estimation:

========================================  =================================================
loss                                      negative log-likelihood of
========================================  =================================================
``softmax_cross_entropy``                 ``Categorical(logits)`` at an integer label
``softmax_cross_entropy_with_probs``      ``Categorical(logits)``, averaged over soft targets
``sigmoid_binary_cross_entropy``          ``Bernoulli(logits)``
``gaussian_nll``                          ``Normal(mean, sqrt(variance))``
``laplace_nll``                           ``Laplace(loc, scale)``
``poisson_nll``                           ``Poisson(exp(log_rate))``
``squared_error``                         ``Normal(prediction, 1)``: ``2 NLL - log 2 pi``
``huber``                                 density ``∝ exp(-huber)``: Gaussian core, Laplace tails
``hinge``                                 an unnormalized pseudo-likelihood (see its doc)
========================================  =================================================

``l2_penalty`` is the negative log-density of a standard Gaussian prior and ``l1_penalty``
of a standard Laplace prior, each up to a constant; scale them by ``lambda`` for a prior
of variance ``1/lambda`` (Gaussian) or scale ``1/lambda`` (Laplace).

Losses are elementwise (per example): reduce them with ``jnp.mean`` or ``jnp.sum``. They
reuse optax where optax has the loss, and guard the edges where optax gives NaN or a
plausible wrong number:

* **Infinite logits are limits.** A logit of ``-inf`` is a class of probability 0 (a row
  with nothing else left costs 0). A row holding ``+inf`` is the limit as those logits grow
  together: they share the probability equally (``[inf, 0]`` is the point mass on class 0),
  and the value and the gradient are the limits of the value and of the gradient
  (``softmax - target`` at the limiting probabilities): finite where the limit is, ``inf``
  for a label the limit makes impossible, never NaN. The sigmoid and Poisson losses do the
  same at ``±inf`` (see each).
* **NaN in, NaN out**: a NaN anywhere in a row (a logit, a target) makes that example NaN,
  and for the logit losses its gradient too; entries excluded by ``where`` take no part.
* **Labels outside** ``0..K-1`` (negative ones included: they never wrap round to the last
  class) give NaN, in the value and the gradient.
* **Shapes**: a prediction and its target must have the same shape, or one of them be a
  scalar; a parameter (``variance``, ``scale``, ``delta``) is a scalar or broadcasts to that
  shape without changing it (one value per trailing axis). Anything else, such as ``(n,)``
  against ``(n, 1)`` (which would broadcast into an ``(n, n)`` table), is a ``ValueError``
  at trace time naming both shapes. The one broadcast of a target is
  :func:`softmax_cross_entropy`'s labels over a stack of models' logits, and they too may
  not enlarge the result.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike
from jaxtyping import PyTree

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import as_float, as_floats, broadcast_shapes_or_raise, normalize_axis
from mlmath.distributions import Laplace, Normal

__all__ = [
    "gaussian_nll",
    "hinge",
    "huber",
    "l1_penalty",
    "l2_penalty",
    "laplace_nll",
    "poisson_nll",
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_probs",
    "squared_error",
]


def _selected(logits, where, function: str):
    """``where`` broadcast to the shape of ``logits`` (``None`` stays ``None``), or a ValueError."""
    if where is None:
        return None
    where = jnp.asarray(where, bool)
    if broadcast_shapes_or_raise(function, where=where.shape,
                                 logits=logits.shape) != logits.shape:
        raise ValueError(
            f"{function}: where must broadcast to the shape of logits {logits.shape}, "
            f"got where shape {where.shape}"
        )
    return jnp.broadcast_to(where, logits.shape)


def _live_mask(logits, axis: int, selected):
    """Entries that take part in the softmax: selected, in a row with a logit above ``-inf``.

    A NaN counts as live, so it reaches the value and the gradient.
    """
    if selected is None:
        selected = jnp.ones(logits.shape, bool)
    alive = jnp.any(selected & (logits != -jnp.inf), axis=axis, keepdims=True)
    return selected & alive


def _elementwise_shape(function: str, data: dict, parameters: tuple[str, ...] = ()):
    """The shape of an elementwise loss, or a ValueError naming the arguments.

    ``data`` maps names to arrays in signature order. The predictions and the targets (every
    name not in ``parameters``) must have equal shapes, or be scalars: an elementwise loss
    compares each prediction with its own target, and letting ``(n,)`` broadcast against
    ``(n, 1)`` would silently give an ``(n, n)`` table. A parameter (a variance, a scale) must
    broadcast to that shape without changing it: a scalar, or one value per trailing axis
    (when the predictions and targets are all scalars, the parameter gives the shape).
    """
    broadcast_shapes_or_raise(function, **{name: value.shape for name, value in data.items()})
    paired = {name: value.shape for name, value in data.items()
              if name not in parameters and value.ndim > 0}
    if len(set(paired.values())) > 1:
        described = ", ".join(f"{name} shape {shape}" for name, shape in paired.items())
        raise ValueError(
            f"{function}: {' and '.join(paired)} must have the same shape (or be scalars), got "
            f"{described}: an elementwise loss pairs each prediction with its own target, and "
            f"broadcasting would give shape {tuple(np.broadcast_shapes(*paired.values()))}"
        )
    if not paired:  # scalar predictions and targets: the shape is the parameters'
        return broadcast_shapes_or_raise(function, **{n: v.shape for n, v in data.items()})
    shape = next(iter(paired.values()))
    for name in parameters:
        parameter_shape = data[name].shape
        if tuple(np.broadcast_shapes(parameter_shape, shape)) != tuple(shape):
            others = " and ".join(n for n in data if n not in parameters)
            raise ValueError(
                f"{function}: {name} must broadcast to the shape {tuple(shape)} of {others} "
                f"without changing it (a scalar, or one value per trailing axis), got {name} "
                f"shape {parameter_shape}"
            )
    return tuple(shape)


@jit(static_argnames="axis")
def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike, axis: int = -1,
                          where: ArrayLike | None = None) -> Array:
    r"""Negative log-likelihood of ``Categorical(logits)`` at integer ``labels``.

    .. math:: \ell = -\log\mathrm{softmax}(z)_y = \mathrm{logsumexp}(z) - z_y

    Finite for logits of any finite size (±1e4 in float32 included) with the exact gradient
    ``softmax(z) - onehot(y)``. A label whose logit is ``-inf`` (or that ``where`` excludes)
    costs ``inf``; entries excluded by ``where`` leave the softmax; a row with no entry left
    (fully masked, or all logits ``-inf``) costs 0 with zero gradient. Logits of ``+inf``
    are the limit (see :mod:`mlmath.losses`): ``[inf, 0]`` at label 0 costs 0 with zero
    gradient, at label 1 ``inf`` with gradient ``[1, -1]``. A NaN logit, or a label outside
    ``0..K-1`` (``-1`` included), gives NaN in the value and the gradient. Wraps
    :func:`optax.losses.softmax_cross_entropy_with_integer_labels`.

    Args:
        logits: ``(..., K)`` unnormalized log-probabilities (``axis`` selects ``K``).
        labels: integer classes ``0..K-1``, broadcastable to the shape of ``logits`` without
            ``axis`` (so one label array can score a stack of models' logits).
        axis: the class axis.
        where: optional boolean mask broadcastable to ``logits``.

    Returns:
        Per-example loss, the shape of ``labels``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.losses import softmax_cross_entropy
        >>> float(softmax_cross_entropy(jnp.array([0.0, 0.0]), jnp.array(1)))  # log 2
        0.6931471...
    """
    logits = as_float(logits, "logits")
    labels = jnp.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(
            f"softmax_cross_entropy: labels must be integers, got dtype {labels.dtype}; "
            "use softmax_cross_entropy_with_probs for probability targets"
        )
    axis = normalize_axis(axis, max(logits.ndim, 1), "axis")
    expected = logits.shape[:axis] + logits.shape[axis + 1:]
    if broadcast_shapes_or_raise("softmax_cross_entropy", labels=labels.shape,
                                 logits_without_axis=expected) != expected:
        raise ValueError(
            f"softmax_cross_entropy: labels must broadcast to the shape of logits without axis "
            f"{axis}, {expected}, got {labels.shape} (logits shape {logits.shape})"
        )
    labels = jnp.broadcast_to(labels, expected)
    selected = _selected(logits, where, "softmax_cross_entropy")
    # a label outside 0..K-1 (negative ones included: no wrapping) is NaN, value and gradient
    valid = (labels >= 0) & (labels < logits.shape[axis])
    poison = jnp.where(valid, 0.0, jnp.nan).astype(logits.dtype)
    logits = _special.limit_logits(logits, axis, selected)[0] + jnp.expand_dims(poison, axis)
    live = _live_mask(logits, axis, selected)
    # optax returns logsumexp(z) - z_y, a difference of two numbers of the size of the logits:
    # for logits of 1e4 in float32 (spacing 1e-3) it loses the digits of a loss of order one.
    # Shifting by the row maximum first (a constant for the gradient) keeps both small.
    row_max = jnp.max(jnp.where(live, logits, -jnp.inf), axis=axis, keepdims=True)
    shift = jax.lax.stop_gradient(jnp.where(jnp.isfinite(row_max), row_max, 0.0))
    loss = optax.losses.softmax_cross_entropy_with_integer_labels(
        logits - shift, jnp.where(valid, labels, 0), axis=axis, where=live
    )
    return loss + poison


@jit(static_argnames="axis")
def softmax_cross_entropy_with_probs(logits: ArrayLike, target_probs: ArrayLike, axis: int = -1,
                                     where: ArrayLike | None = None) -> Array:
    r"""Cross-entropy between target probabilities and ``Categorical(logits)``.

    .. math:: \ell = -\sum_k t_k \log\mathrm{softmax}(z)_k = H(t, q)

    the expected negative log-likelihood when the label is drawn from ``t``. Classes with
    ``t_k = 0`` contribute 0 even when their logit is ``-inf`` (value and gradient stay
    finite, unlike :func:`optax.losses.softmax_cross_entropy`); fully masked rows cost 0.
    Logits of ``+inf`` are the limit, with the gradient ``softmax - t`` at the limiting
    probabilities; NaN logits or targets give NaN. Wraps
    :func:`optax.losses.safe_softmax_cross_entropy`.

    Args:
        logits: ``(..., K)``.
        target_probs: ``(..., K)`` non-negative, summing to one along ``axis``: the shape of
            ``logits`` (a different shape is a ValueError, even one that broadcasts).
        axis, where: as in :func:`softmax_cross_entropy`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.losses import softmax_cross_entropy_with_probs
        >>> z = jnp.array([0.0, -jnp.inf])
        >>> float(softmax_cross_entropy_with_probs(z, jnp.array([1.0, 0.0]))) == 0.0
        True
    """
    logits, target_probs = as_floats(("logits", "target_probs"), (logits, target_probs))
    _elementwise_shape("softmax_cross_entropy_with_probs",
                       {"logits": logits, "target_probs": target_probs})
    shape = broadcast_shapes_or_raise(
        "softmax_cross_entropy_with_probs", logits=logits.shape, target_probs=target_probs.shape
    )
    logits = jnp.broadcast_to(logits, shape)
    target_probs = jnp.broadcast_to(target_probs, shape)
    axis = normalize_axis(axis, max(logits.ndim, 1), "axis")
    selected = _selected(logits, where, "softmax_cross_entropy_with_probs")
    logits = _special.limit_logits(logits, axis, selected)[0]
    live = _live_mask(logits, axis, selected)
    row_alive = jnp.any(live, axis=axis, keepdims=True)
    safe_logits = jnp.where(row_alive, jnp.where(live, logits, -jnp.inf), 0.0)
    targets = jnp.where(live, target_probs, 0.0)
    value = optax.losses.safe_softmax_cross_entropy(
        jnp.moveaxis(safe_logits, axis, -1), jnp.moveaxis(targets, axis, -1)
    )
    return jnp.where(jnp.squeeze(row_alive, axis), value, 0.0)


@jit
def sigmoid_binary_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> Array:
    r"""Negative log-likelihood of ``Bernoulli(logits)`` at ``labels`` in ``[0, 1]``.

    .. math:: \ell = -y\log\sigma(z) - (1-y)\log\sigma(-z)

    Soft labels are allowed (the expected NLL under ``Bernoulli(y)``). Logits of ±1e4 give
    the exact finite loss and gradient ``sigmoid(z) - y``; infinite logits are the limit:
    0 when they agree with the label and ``inf`` when they do not, with the limit
    ``sigmoid(±inf) - y`` of the gradient (``1 - y`` at ``+inf``, ``-y`` at ``-inf``; its
    gradient with respect to the label there is 0). A NaN logit or label gives NaN, value and
    gradient. ``logits`` and ``labels`` have the same shape, or one is a scalar (a shared
    label). Wraps :func:`optax.losses.sigmoid_binary_cross_entropy`.

    Example:
        >>> from mlmath.losses import sigmoid_binary_cross_entropy
        >>> float(sigmoid_binary_cross_entropy(0.0, 1.0))  # log 2
        0.6931471...
    """
    logits, labels = as_floats(("logits", "labels"), (logits, labels))
    shape = _elementwise_shape("sigmoid_binary_cross_entropy",
                               {"logits": logits, "labels": labels})
    logits, labels = jnp.broadcast_to(logits, shape), jnp.broadcast_to(labels, shape)
    infinite = jnp.isinf(logits)  # NaN takes the ordinary path: NaN value and gradient
    value = optax.losses.sigmoid_binary_cross_entropy(jnp.where(infinite, 0.0, logits), labels)
    # z = +inf: -(1 - y) log 0 -> inf unless y == 1; z = -inf: -y log 0 -> inf unless y == 0
    at_infinity = jnp.where(
        logits > 0, jnp.where(labels == 1, 0.0, jnp.inf), jnp.where(labels == 0, 0.0, jnp.inf)
    )
    # the gradient there is the limit of sigmoid(z) - y: 1 - y at +inf, -y at -inf
    slope = jnp.where(logits > 0, 1.0 - labels, -labels)
    at_infinity = at_infinity + slope * _special.zero_with_unit_tangent(
        jnp.where(infinite, logits, 0.0))
    return jnp.where(infinite, at_infinity, value)


@jit
def gaussian_nll(mean: ArrayLike, variance: ArrayLike, y: ArrayLike) -> Array:
    r"""Negative log-likelihood of ``Normal(mean, sqrt(variance))`` at ``y``.

    .. math:: \ell = \tfrac12\Big[\log 2\pi + \log\sigma^2 + \frac{(y-\mu)^2}{\sigma^2}\Big]

    The loss of heteroscedastic regression when a model predicts both a mean and a
    variance. The variance is used as given (no clamping): it must be positive. ``mean`` and
    ``y`` have the same shape (or one is a scalar); ``variance`` is per example, a scalar, or
    one per trailing axis (a shared variance per output), broadcasting to that shape without
    changing it.

    Example:
        >>> from mlmath.losses import gaussian_nll
        >>> float(gaussian_nll(0.0, 1.0, 0.0))  # log(2 pi) / 2
        0.9189385...
    """
    mean, variance, y = as_floats(("mean", "variance", "y"), (mean, variance, y))
    _elementwise_shape("gaussian_nll", {"mean": mean, "variance": variance, "y": y},
                       parameters=("variance",))
    return -Normal(mean, jnp.sqrt(variance)).log_prob(y)


@jit
def laplace_nll(loc: ArrayLike, scale: ArrayLike, y: ArrayLike) -> Array:
    r"""Negative log-likelihood of ``Laplace(loc, scale)`` at ``y``.

    .. math:: \ell = \frac{|y-\mu|}{b} + \log 2b

    With a fixed scale this is the absolute error, so least absolute deviations (median
    regression) is maximum likelihood under Laplace noise. Shapes as in
    :func:`gaussian_nll`, with ``scale`` in the place of the variance.

    Example:
        >>> from mlmath.losses import laplace_nll
        >>> float(laplace_nll(0.0, 0.5, 1.0))  # 2 + log 1
        2.0
    """
    loc, scale, y = as_floats(("loc", "scale", "y"), (loc, scale, y))
    _elementwise_shape("laplace_nll", {"loc": loc, "scale": scale, "y": y}, parameters=("scale",))
    return -Laplace(loc, scale).log_prob(y)


@jit
def poisson_nll(log_rate: ArrayLike, counts: ArrayLike) -> Array:
    r"""Negative log-likelihood of ``Poisson(exp(log_rate))`` at ``counts``.

    .. math:: \ell = e^{\eta} - y\,\eta + \log y!

    The full likelihood (the ``log y!`` term included, so it equals
    ``-Poisson(exp(log_rate)).log_prob(counts)``), evaluated in Loader's form: accurate for
    large counts in float32, and finite for a log-rate so negative that the rate underflows.
    The gradient with respect to ``log_rate`` is ``exp(log_rate) - counts``. At the limits, a
    log-rate of ``-inf`` (rate 0) gives 0 for a count of 0 and ``inf`` otherwise, with the
    limit gradient ``-counts``; ``+inf`` gives ``inf`` with gradient 0 (the limit is
    infinite). NaN gives NaN. ``log_rate`` and ``counts`` have the same shape, or one is a
    scalar.

    Example:
        >>> from mlmath.losses import poisson_nll
        >>> float(poisson_nll(0.0, 0))  # rate 1, count 0
        1.0
    """
    log_rate, counts = as_floats(("log_rate", "counts"), (log_rate, counts))
    shape = _elementwise_shape("poisson_nll", {"log_rate": log_rate, "counts": counts})
    log_rate, counts = jnp.broadcast_to(log_rate, shape), jnp.broadcast_to(counts, shape)
    infinite = jnp.isinf(log_rate)
    safe = jnp.where(infinite, 0.0, log_rate)
    value = -_special.log_poisson_kernel(counts, jnp.exp(safe), safe)
    # rate 0 (log_rate = -inf): 0 for a count of 0, else inf, with the limit gradient -counts;
    # rate inf: inf (its gradient has no finite limit: 0)
    at_minus_inf = jnp.where(counts == 0, 0.0, jnp.inf) - counts * _special.zero_with_unit_tangent(
        jnp.where(infinite, log_rate, 0.0))
    at_infinity = jnp.where(log_rate > 0, jnp.inf, at_minus_inf)
    # a NaN count is NaN (the kernel would read it as a count of 0)
    return jnp.where(jnp.isnan(counts), counts, jnp.where(infinite, at_infinity, value))


@jit
def squared_error(predictions: ArrayLike, targets: ArrayLike) -> Array:
    r"""Squared error :math:`(y - \hat y)^2`.

    The Gaussian log-likelihood with unit variance, rescaled:
    :math:`(y-\hat y)^2 = 2\,[-\log\mathcal N(y;\hat y, 1)] - \log 2\pi`, so least squares
    is maximum likelihood under Gaussian noise. ``predictions`` and ``targets`` have the same
    shape, or one is a scalar. Wraps :func:`optax.losses.squared_error`.

    Example:
        >>> from mlmath.losses import squared_error
        >>> float(squared_error(1.0, 3.0))
        4.0
    """
    predictions, targets = as_floats(("predictions", "targets"), (predictions, targets))
    shape = _elementwise_shape("squared_error", {"predictions": predictions, "targets": targets})
    # optax insists on equal shapes; a scalar is broadcast first
    return optax.losses.squared_error(jnp.broadcast_to(predictions, shape),
                                      jnp.broadcast_to(targets, shape))


@jit
def huber(predictions: ArrayLike, targets: ArrayLike, delta: ArrayLike = 1.0) -> Array:
    r"""Huber loss: quadratic for residuals below ``delta``, linear above.

    .. math:: \rho_\delta(r) = \begin{cases}\tfrac12 r^2 & |r|\le\delta\\
              \delta|r| - \tfrac12\delta^2 & |r|>\delta\end{cases}

    The negative log-likelihood, up to a constant, of the density proportional to
    :math:`e^{-\rho_\delta(r)}` (Huber, 1964): a Gaussian core (``Normal(0, 1)``) with
    Laplace tails (scale ``1/delta``), which is why it is robust to outliers. Shapes as in
    :func:`squared_error`; ``delta`` is a scalar or broadcasts to that shape without changing
    it. Wraps :func:`optax.losses.huber_loss`.

    Example:
        >>> from mlmath.losses import huber
        >>> float(huber(0.0, 0.5)), float(huber(0.0, 3.0))
        (0.125, 2.5)
    """
    predictions, targets = as_floats(("predictions", "targets"), (predictions, targets))
    delta = as_float(delta, "delta", predictions.dtype)  # a parameter: never promotes
    _elementwise_shape("huber", {"predictions": predictions, "targets": targets, "delta": delta},
                       parameters=("delta",))
    return optax.losses.huber_loss(predictions, targets, delta=delta)


@jit
def hinge(scores: ArrayLike, labels: ArrayLike) -> Array:
    r"""Hinge loss :math:`\max(0, 1 - y s)` of a linear classifier's score ``s``.

    ``labels`` may be ``{0, 1}`` or ``{-1, +1}``: positive labels are the positive class,
    the rest negative (a NaN label gives NaN); ``scores`` and ``labels`` have the same shape,
    or one is a scalar. The hinge is not the negative log of a normalized likelihood: it is
    the margin loss of support vector machines, a convex upper bound on the 0-1 loss, and
    :math:`e^{-2\max(0, 1 - ys)}` is an unnormalized *pseudo*-likelihood that Polson & Scott
    (2011) write as a location-scale mixture of Gaussians. Wraps
    :func:`optax.losses.hinge_loss`.

    Example:
        >>> from mlmath.losses import hinge
        >>> float(hinge(0.25, 1)), float(hinge(0.25, 0))
        (0.75, 1.25)
    """
    scores, labels = as_floats(("scores", "labels"), (scores, labels))
    shape = _elementwise_shape("hinge", {"scores": scores, "labels": labels})
    # a NaN label is NaN, not the negative class
    signs = jnp.where(labels > 0, 1.0, jnp.where(jnp.isnan(labels), jnp.nan, -1.0))
    return optax.losses.hinge_loss(jnp.broadcast_to(scores, shape),
                                   jnp.broadcast_to(signs.astype(scores.dtype), shape))


def _leaves(params, function: str):
    leaves = [jnp.asarray(leaf) for leaf in jax.tree_util.tree_leaves(params)]
    for leaf in leaves:
        if not jnp.issubdtype(leaf.dtype, jnp.inexact):
            raise TypeError(f"{function}: parameters must be floating arrays, got {leaf.dtype}")
    return leaves


@jit
def l2_penalty(params: PyTree) -> Array:
    r"""Half the squared L2 norm of every leaf of a pytree: :math:`\tfrac12\lVert\theta\rVert^2`.

    The negative log-density of a standard Gaussian prior :math:`\theta\sim\mathcal N(0, I)`
    up to the constant :math:`\tfrac d2\log 2\pi`; ``lam * l2_penalty(theta)`` is the prior
    :math:`\mathcal N(0, I/\lambda)`, so ridge regression is MAP estimation.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.losses import l2_penalty
        >>> float(l2_penalty({"w": jnp.array([3.0, 4.0]), "b": jnp.array(0.0)}))
        12.5
    """
    leaves = _leaves(params, "l2_penalty")
    return jnp.asarray(0.5 * sum((jnp.sum(leaf * leaf) for leaf in leaves), 0.0))


@jit
def l1_penalty(params: PyTree) -> Array:
    r"""L1 norm of every leaf of a pytree: :math:`\lVert\theta\rVert_1`.

    The negative log-density of a standard Laplace prior (scale 1) up to the constant
    :math:`d\log 2`; ``lam * l1_penalty(theta)`` is the prior ``Laplace(0, 1/lam)``, so the
    lasso is MAP estimation and its sparsity comes from the prior's peak at zero.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.losses import l1_penalty
        >>> float(l1_penalty([jnp.array([3.0, -4.0])]))
        7.0
    """
    leaves = _leaves(params, "l1_penalty")
    return jnp.asarray(sum((jnp.sum(jnp.abs(leaf)) for leaf in leaves), 0.0))
