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
reuse optax where optax has the loss, and guard the edges where optax gives NaN: logits
of ``-inf`` for classes with no target mass, rows whose logits are all ``-inf`` (fully
masked), and infinite logits in the binary loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
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


def _live_mask(logits, axis: int, where, function: str):
    """Entries that take part in the softmax: selected by ``where`` in a row with a finite logit."""
    if where is None:
        selected = jnp.ones(logits.shape, bool)
    else:
        where = jnp.asarray(where, bool)
        if broadcast_shapes_or_raise(function, where=where.shape,
                                     logits=logits.shape) != logits.shape:
            raise ValueError(
                f"{function}: where must broadcast to the shape of logits {logits.shape}, "
                f"got where shape {where.shape}"
            )
        selected = jnp.broadcast_to(where, logits.shape)
    alive = jnp.any(selected & (logits > -jnp.inf), axis=axis, keepdims=True)
    return selected & alive


@jit(static_argnames="axis")
def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike, axis: int = -1,
                          where: ArrayLike | None = None) -> Array:
    r"""Negative log-likelihood of ``Categorical(logits)`` at integer ``labels``.

    .. math:: \ell = -\log\mathrm{softmax}(z)_y = \mathrm{logsumexp}(z) - z_y

    Finite for logits of any finite size (±1e4 in float32 included) with the exact gradient
    ``softmax(z) - onehot(y)``. A label whose logit is ``-inf`` costs ``inf``; entries
    excluded by ``where`` leave the softmax; a row with no entry left (fully masked, or all
    logits ``-inf``) costs 0 with zero gradient. Wraps
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
    live = _live_mask(logits, axis, where, "softmax_cross_entropy")
    # optax returns logsumexp(z) - z_y, a difference of two numbers of the size of the logits:
    # for logits of 1e4 in float32 (spacing 1e-3) it loses the digits of a loss of order one.
    # Shifting by the row maximum first (a constant for the gradient) keeps both small.
    row_max = jnp.max(jnp.where(live, logits, -jnp.inf), axis=axis, keepdims=True)
    shift = jax.lax.stop_gradient(jnp.where(jnp.isfinite(row_max), row_max, 0.0))
    return optax.losses.softmax_cross_entropy_with_integer_labels(
        logits - shift, labels, axis=axis, where=live
    )


@jit(static_argnames="axis")
def softmax_cross_entropy_with_probs(logits: ArrayLike, target_probs: ArrayLike, axis: int = -1,
                                     where: ArrayLike | None = None) -> Array:
    r"""Cross-entropy between target probabilities and ``Categorical(logits)``.

    .. math:: \ell = -\sum_k t_k \log\mathrm{softmax}(z)_k = H(t, q)

    the expected negative log-likelihood when the label is drawn from ``t``. Classes with
    ``t_k = 0`` contribute 0 even when their logit is ``-inf`` (value and gradient stay
    finite, unlike :func:`optax.losses.softmax_cross_entropy`); fully masked rows cost 0.
    Wraps :func:`optax.losses.safe_softmax_cross_entropy`.

    Args:
        logits: ``(..., K)``.
        target_probs: ``(..., K)`` non-negative, summing to one along ``axis``.
        axis, where: as in :func:`softmax_cross_entropy`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.losses import softmax_cross_entropy_with_probs
        >>> z = jnp.array([0.0, -jnp.inf])
        >>> float(softmax_cross_entropy_with_probs(z, jnp.array([1.0, 0.0]))) == 0.0
        True
    """
    logits, target_probs = as_floats(("logits", "target_probs"), (logits, target_probs))
    shape = broadcast_shapes_or_raise(
        "softmax_cross_entropy_with_probs", logits=logits.shape, target_probs=target_probs.shape
    )
    logits = jnp.broadcast_to(logits, shape)
    target_probs = jnp.broadcast_to(target_probs, shape)
    axis = normalize_axis(axis, max(logits.ndim, 1), "axis")
    live = _live_mask(logits, axis, where, "softmax_cross_entropy_with_probs")
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
    the exact finite loss and gradient ``sigmoid(z) - y``; infinite logits give 0 when they
    agree with the label and ``inf`` when they do not (never NaN). Wraps
    :func:`optax.losses.sigmoid_binary_cross_entropy`.

    Example:
        >>> from mlmath.losses import sigmoid_binary_cross_entropy
        >>> float(sigmoid_binary_cross_entropy(0.0, 1.0))  # log 2
        0.6931471...
    """
    logits, labels = as_floats(("logits", "labels"), (logits, labels))
    shape = broadcast_shapes_or_raise("sigmoid_binary_cross_entropy", logits=logits.shape,
                                      labels=labels.shape)
    logits, labels = jnp.broadcast_to(logits, shape), jnp.broadcast_to(labels, shape)
    finite = jnp.isfinite(logits)
    value = optax.losses.sigmoid_binary_cross_entropy(jnp.where(finite, logits, 0.0), labels)
    # z = +inf: -(1 - y) log 0 -> inf unless y == 1; z = -inf: -y log 0 -> inf unless y == 0
    at_infinity = jnp.where(
        logits > 0, jnp.where(labels == 1, 0.0, jnp.inf), jnp.where(labels == 0, 0.0, jnp.inf)
    )
    return jnp.where(finite, value, at_infinity)


@jit
def gaussian_nll(mean: ArrayLike, variance: ArrayLike, y: ArrayLike) -> Array:
    r"""Negative log-likelihood of ``Normal(mean, sqrt(variance))`` at ``y``.

    .. math:: \ell = \tfrac12\Big[\log 2\pi + \log\sigma^2 + \frac{(y-\mu)^2}{\sigma^2}\Big]

    The loss of heteroscedastic regression when a model predicts both a mean and a
    variance. The variance is used as given (no clamping): it must be positive.

    Example:
        >>> from mlmath.losses import gaussian_nll
        >>> float(gaussian_nll(0.0, 1.0, 0.0))  # log(2 pi) / 2
        0.9189385...
    """
    mean, variance, y = as_floats(("mean", "variance", "y"), (mean, variance, y))
    broadcast_shapes_or_raise("gaussian_nll", mean=mean.shape, variance=variance.shape,
                              y=y.shape)
    return -Normal(mean, jnp.sqrt(variance)).log_prob(y)


@jit
def laplace_nll(loc: ArrayLike, scale: ArrayLike, y: ArrayLike) -> Array:
    r"""Negative log-likelihood of ``Laplace(loc, scale)`` at ``y``.

    .. math:: \ell = \frac{|y-\mu|}{b} + \log 2b

    With a fixed scale this is the absolute error, so least absolute deviations (median
    regression) is maximum likelihood under Laplace noise.

    Example:
        >>> from mlmath.losses import laplace_nll
        >>> float(laplace_nll(0.0, 0.5, 1.0))  # 2 + log 1
        2.0
    """
    loc, scale, y = as_floats(("loc", "scale", "y"), (loc, scale, y))
    broadcast_shapes_or_raise("laplace_nll", loc=loc.shape, scale=scale.shape, y=y.shape)
    return -Laplace(loc, scale).log_prob(y)


@jit
def poisson_nll(log_rate: ArrayLike, counts: ArrayLike) -> Array:
    r"""Negative log-likelihood of ``Poisson(exp(log_rate))`` at ``counts``.

    .. math:: \ell = e^{\eta} - y\,\eta + \log y!

    The full likelihood (the ``log y!`` term included, so it equals
    ``-Poisson(exp(log_rate)).log_prob(counts)``), evaluated in Loader's form: accurate for
    large counts in float32, and finite for a log-rate so negative that the rate underflows.
    The gradient with respect to ``log_rate`` is ``exp(log_rate) - counts``.

    Example:
        >>> from mlmath.losses import poisson_nll
        >>> float(poisson_nll(0.0, 0))  # rate 1, count 0
        1.0
    """
    log_rate, counts = as_floats(("log_rate", "counts"), (log_rate, counts))
    broadcast_shapes_or_raise("poisson_nll", log_rate=log_rate.shape, counts=counts.shape)
    return -_special.log_poisson_kernel(counts, jnp.exp(log_rate), log_rate)


@jit
def squared_error(predictions: ArrayLike, targets: ArrayLike) -> Array:
    r"""Squared error :math:`(y - \hat y)^2`.

    The Gaussian log-likelihood with unit variance, rescaled:
    :math:`(y-\hat y)^2 = 2\,[-\log\mathcal N(y;\hat y, 1)] - \log 2\pi`, so least squares
    is maximum likelihood under Gaussian noise. Wraps :func:`optax.losses.squared_error`.

    Example:
        >>> from mlmath.losses import squared_error
        >>> float(squared_error(1.0, 3.0))
        4.0
    """
    predictions, targets = as_floats(("predictions", "targets"), (predictions, targets))
    shape = broadcast_shapes_or_raise("squared_error", predictions=predictions.shape,
                                      targets=targets.shape)
    # optax insists on equal shapes; broadcasting first honours the documented contract
    return optax.losses.squared_error(jnp.broadcast_to(predictions, shape),
                                      jnp.broadcast_to(targets, shape))


@jit
def huber(predictions: ArrayLike, targets: ArrayLike, delta: float = 1.0) -> Array:
    r"""Huber loss: quadratic for residuals below ``delta``, linear above.

    .. math:: \rho_\delta(r) = \begin{cases}\tfrac12 r^2 & |r|\le\delta\\
              \delta|r| - \tfrac12\delta^2 & |r|>\delta\end{cases}

    The negative log-likelihood, up to a constant, of the density proportional to
    :math:`e^{-\rho_\delta(r)}` (Huber, 1964): a Gaussian core (``Normal(0, 1)``) with
    Laplace tails (scale ``1/delta``), which is why it is robust to outliers. Wraps
    :func:`optax.losses.huber_loss`.

    Example:
        >>> from mlmath.losses import huber
        >>> float(huber(0.0, 0.5)), float(huber(0.0, 3.0))
        (0.125, 2.5)
    """
    predictions, targets = as_floats(("predictions", "targets"), (predictions, targets))
    broadcast_shapes_or_raise("huber", predictions=predictions.shape, targets=targets.shape)
    return optax.losses.huber_loss(predictions, targets, delta=delta)


@jit
def hinge(scores: ArrayLike, labels: ArrayLike) -> Array:
    r"""Hinge loss :math:`\max(0, 1 - y s)` of a linear classifier's score ``s``.

    ``labels`` may be ``{0, 1}`` or ``{-1, +1}``: positive labels are the positive class,
    the rest negative. The hinge is not the negative log of a normalized likelihood: it is
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
    broadcast_shapes_or_raise("hinge", scores=scores.shape, labels=labels.shape)
    signs = jnp.where(labels > 0, 1.0, -1.0).astype(scores.dtype)
    return optax.losses.hinge_loss(scores, signs)


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
