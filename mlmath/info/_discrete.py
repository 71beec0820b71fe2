"""Information measures of discrete distributions given as probability vectors or logits."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike
from jaxtyping import Float

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import (
    as_float,
    as_floats,
    broadcast_shapes_or_raise,
    in_base,
    log_base,
    normalize_axis,
)

# Shapes for static checkers and readers (not checked at run time): the distributions lie along
# the last axis (``axis=-1``, the default) and the result has the leading (batch) shape.
_LastAxisK = Float[ArrayLike, "*batch K"]
_Batch = Float[Array, "*batch"]


def _prepare(function: str, names, arrays, axis: int, where, fill):
    """Float arrays of one dtype broadcast together (and with ``where``), and ``axis``.

    Raises a ValueError naming every argument when the shapes do not broadcast, or when
    there is no axis to reduce. ``axis`` is normalized against the broadcast shape, so a
    mask with more dimensions than the inputs selects the axis of the result. Entries that
    ``where`` excludes are replaced by ``fill`` (0 for probabilities, ``-inf`` for logits)
    before anything is computed from them, so whatever they held (NaN or negative padding)
    reaches neither the value nor the gradient.
    """
    arrays = as_floats(names, arrays)
    shapes = {name: array.shape for name, array in zip(names, arrays, strict=True)}
    if where is not None:
        where = jnp.asarray(where)
        shapes["where"] = where.shape
    shape = broadcast_shapes_or_raise(function, **shapes)
    if not shape:
        raise ValueError(f"{function}: expected at least one dimension, got a scalar")
    axis = normalize_axis(axis, len(shape))
    arrays = [jnp.broadcast_to(array, shape) for array in arrays]
    if where is not None:
        arrays = [jnp.where(where, array, jnp.asarray(fill, array.dtype)) for array in arrays]
    return arrays, axis


def _masked_log_softmax(logits, axis: int):
    """``log_softmax`` that is ``-inf`` (not NaN) on ``-inf`` entries and all ``-inf`` rows.

    ``+inf`` logits are taken at their limit (:func:`mlmath._special.limit_logits`); a row
    with a NaN gives NaN throughout, in value and gradient.
    """
    logits, nan_row = _special.limit_logits(logits, axis)
    row_max = jnp.max(logits, axis=axis, keepdims=True)
    live = (row_max > -jnp.inf) | nan_row
    safe_logits = jnp.where(live, logits, 0.0)
    safe_max = jax.lax.stop_gradient(jnp.where(live, row_max, 0.0))
    shifted = safe_logits - safe_max
    log_normalizer = jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))
    return jnp.where(live, shifted - log_normalizer, -jnp.inf)


def _nan_where_nan(terms, *log_probs):
    """``terms`` with NaN wherever a log-probability is NaN, so NaN input never gives a number.

    The helpers of :mod:`mlmath._special` read a NaN log-probability as a zero probability;
    this puts the NaN back, in the value and (through the log-probability) in the gradient.
    """
    for log_p in reversed(log_probs):
        terms = jnp.where(jnp.isnan(log_p), log_p, terms)
    return terms


def _log_softmax_pair(function: str, p_logits, q_logits, axis: int, where):
    (p_logits, q_logits), axis = _prepare(
        function, ("p_logits", "q_logits"), (p_logits, q_logits), axis, where, -jnp.inf
    )
    return _masked_log_softmax(p_logits, axis), _masked_log_softmax(q_logits, axis), axis


@jit(static_argnames="base")
def self_information(p: ArrayLike, base: float | None = None) -> Array:
    r"""Surprise of an event of probability ``p``: :math:`I = -\log p`, elementwise.

    ``p == 0`` gives ``inf`` (an impossible event is infinitely surprising).

    Args:
        p: probabilities, any shape.
        base: logarithm base; ``None`` for nats, ``2`` for bits.

    Example:
        >>> from mlmath.info import self_information
        >>> float(self_information(0.25, base=2))
        2.0
    """
    log_base(base)
    p = as_float(p, "p")
    return in_base(-_special.safe_log(p), base)


@jit(static_argnames=("axis", "base"))
def entropy(p: _LastAxisK, axis: int = -1, base: float | None = None,
            where: ArrayLike | None = None) -> _Batch:
    r"""Shannon entropy :math:`H(P) = -\sum_x p(x)\log p(x)` along ``axis``.

    ``0 log 0 = 0``. The gradient is finite where an entry is 0: by convention that term's
    partial derivative is 0 (see :mod:`mlmath.info`), which is also the limit through a
    softmax.

    Args:
        p: probability vectors, shape ``(..., K)`` (``axis`` selects the ``K``).
        axis: the axis that indexes outcomes.
        base: ``None`` for nats, ``2`` for bits.
        where: optional boolean mask that broadcasts with ``p``; excluded entries contribute
            0, and whatever they hold (NaN padding included) never reaches the gradient.

    Returns:
        The entropy, with ``axis`` removed.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import entropy
        >>> float(entropy(jnp.array([0.5, 0.5]), base=2)), float(entropy(jnp.array([1.0, 0.0])))
        (1.0, 0.0)
    """
    log_base(base)
    (p,), axis = _prepare("entropy", ("p",), (p,), axis, where, 0.0)
    return in_base(0.0 - jnp.sum(_special.xlogx(p), axis=axis), base)


@jit(static_argnames=("axis", "base"))
def cross_entropy(p: _LastAxisK, q: _LastAxisK, axis: int = -1, base: float | None = None,
                  where: ArrayLike | None = None) -> _Batch:
    r"""Cross-entropy :math:`H(P, Q) = -\sum_x p(x)\log q(x)` along ``axis``.

    The expected surprise of outcomes drawn from ``P`` under the model ``Q``;
    :math:`H(P,Q) = H(P) + D_{KL}(P\|Q)`. Terms with ``p == 0`` are 0 whatever ``q`` is;
    ``q == 0 < p`` gives ``inf``.

    Args:
        p: target probabilities, shape ``(..., K)``.
        q: model probabilities, broadcastable with ``p``.
        axis, base, where: as in :func:`entropy`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import cross_entropy
        >>> float(cross_entropy(jnp.array([1.0, 0.0]), jnp.array([0.25, 0.75]), base=2))
        2.0
    """
    log_base(base)
    (p, q), axis = _prepare("cross_entropy", ("p", "q"), (p, q), axis, where, 0.0)
    return in_base(-jnp.sum(_special.xlogy(p, q), axis=axis), base)


@jit(static_argnames=("axis", "base"))
def kl_divergence(p: _LastAxisK, q: _LastAxisK, axis: int = -1, base: float | None = None,
                  where: ArrayLike | None = None) -> _Batch:
    r"""Kullback–Leibler divergence :math:`D_{KL}(P\|Q) = \sum_x p(x)\log\frac{p(x)}{q(x)}`.

    Computed term by term as :math:`p\log(p/q) - p + q` (scipy's ``kl_div``), which sums
    to the same value for normalized ``p`` and ``q`` but is non-negative in every term, so
    nearly equal distributions never give a negative divergence in float32. Terms with
    ``p == 0`` contribute ``q`` (which sums with the rest to the usual value); ``q == 0 < p``
    gives ``inf`` as :func:`scipy.special.rel_entr` does. For inputs off the simplex the
    result is the generalized (I-)divergence, and gradients are those of that expression:
    :math:`\partial/\partial p = \log(p/q)`, :math:`\partial/\partial q = 1 - p/q`; on the
    simplex they differ from the gradients of :math:`\sum p\log(p/q)` only by a constant
    vector, which the simplex's tangent space (and any softmax) ignores.

    Args:
        p, q: probability vectors, broadcastable, shape ``(..., K)``.
        axis, base, where: as in :func:`entropy`.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import kl_divergence
        >>> float(kl_divergence(jnp.array([0.5, 0.5]), jnp.array([0.25, 0.75]), base=2))
        0.2075187...
    """
    log_base(base)
    (p, q), axis = _prepare("kl_divergence", ("p", "q"), (p, q), axis, where, 0.0)
    return in_base(jnp.sum(_special.kl_terms(p, q), axis=axis), base)


@jit(static_argnames=("axis", "base"))
def js_divergence(p: _LastAxisK, q: _LastAxisK, axis: int = -1, base: float | None = None,
                  where: ArrayLike | None = None) -> _Batch:
    r"""Jensen–Shannon divergence :math:`\tfrac12 D(P\|M) + \tfrac12 D(Q\|M)`.

    Here :math:`M = (P + Q)/2` is the mixture. Symmetric, finite for any pair, and at most
    :math:`\log 2` (1 bit).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import js_divergence
        >>> float(js_divergence(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), base=2))
        1.0
    """
    log_base(base)
    (p, q), axis = _prepare("js_divergence", ("p", "q"), (p, q), axis, where, 0.0)
    m = 0.5 * (p + q)
    terms = 0.5 * (_special.kl_terms(p, m) + _special.kl_terms(q, m))
    return in_base(jnp.sum(terms, axis=axis), base)


@jit(static_argnames=("axis", "base"))
def entropy_from_logits(logits: _LastAxisK, axis: int = -1, base: float | None = None,
                        where: ArrayLike | None = None) -> _Batch:
    r"""Entropy of :math:`\mathrm{softmax}(\ell)` without forming the probabilities first.

    :math:`H = -\sum_k p_k \log p_k` with :math:`\log p = \ell - \mathrm{logsumexp}(\ell)`,
    so tiny probabilities keep their exact logarithm instead of underflowing. Logits of
    ``-inf`` are zero-probability classes; masked entries (``where`` false) are excluded
    from the softmax; a row with nothing left gives 0. Logits of ``+inf`` are the limit
    (``[inf, 0]`` is a point mass: 0, with zero gradient) and a NaN logit gives NaN, as for
    every ``*_from_logits`` function (see :mod:`mlmath.info`).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import entropy_from_logits
        >>> float(entropy_from_logits(jnp.array([0.0, 0.0, -jnp.inf]), base=2))
        1.0
    """
    log_base(base)
    (logits,), axis = _prepare("entropy_from_logits", ("logits",), (logits,), axis, where,
                               -jnp.inf)
    log_p = _masked_log_softmax(logits, axis)
    terms = _nan_where_nan(_special.xlogx_exp(log_p), log_p)
    return in_base(0.0 - jnp.sum(terms, axis=axis), base)


@jit(static_argnames=("axis", "base"))
def cross_entropy_from_logits(p_logits: _LastAxisK, q_logits: _LastAxisK, axis: int = -1,
                              base: float | None = None, where: ArrayLike | None = None) -> _Batch:
    r"""Cross-entropy :math:`H(P,Q)` with both distributions given by logits.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import cross_entropy_from_logits
        >>> float(cross_entropy_from_logits(jnp.array([0.0, -jnp.inf]), jnp.array([0.0, 0.0])))
        0.6931471...
    """
    log_base(base)
    log_p, log_q, axis = _log_softmax_pair(
        "cross_entropy_from_logits", p_logits, q_logits, axis, where
    )
    p = jnp.exp(log_p)
    nonzero = p != 0
    # q == 0 < p: the term is -inf, a constant (its gradient would be -inf * 0 = NaN)
    possible = log_q > -jnp.inf
    terms = jnp.where(nonzero, jnp.where(possible, p * jnp.where(possible & nonzero, log_q, 0.0),
                                         -jnp.inf), 0.0)
    terms = _nan_where_nan(terms, log_p, log_q)
    return in_base(-jnp.sum(terms, axis=axis), base)


@jit(static_argnames=("axis", "base"))
def kl_divergence_from_logits(p_logits: _LastAxisK, q_logits: _LastAxisK, axis: int = -1,
                              base: float | None = None, where: ArrayLike | None = None) -> _Batch:
    r"""KL divergence :math:`D_{KL}(P\|Q)` with both distributions given by logits.

    Uses the same non-negative per-term form as :func:`kl_divergence`, with log-probabilities
    taken straight from the logits: accurate where probabilities underflow, and never
    negative for nearly equal logits.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import kl_divergence_from_logits
        >>> float(kl_divergence_from_logits(jnp.array([1.0, 2.0]), jnp.array([1.0, 2.0])))
        0.0
    """
    log_base(base)
    log_p, log_q, axis = _log_softmax_pair(
        "kl_divergence_from_logits", p_logits, q_logits, axis, where
    )
    terms = _nan_where_nan(_special.kl_terms(None, None, log_p, log_q), log_p, log_q)
    return in_base(jnp.sum(terms, axis=axis), base)


@jit(static_argnames=("axis", "base"))
def js_divergence_from_logits(p_logits: _LastAxisK, q_logits: _LastAxisK, axis: int = -1,
                              base: float | None = None, where: ArrayLike | None = None) -> _Batch:
    r"""Jensen–Shannon divergence with both distributions given by logits.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.info import js_divergence_from_logits
        >>> float(js_divergence_from_logits(jnp.array([0.0, -jnp.inf]),
        ...                                 jnp.array([-jnp.inf, 0.0]), base=2))
        1.0
    """
    log_base(base)
    log_p, log_q, axis = _log_softmax_pair(
        "js_divergence_from_logits", p_logits, q_logits, axis, where
    )
    # log of the mixture; where both are -inf, logaddexp's gradient is NaN, so keep it out
    both_zero = (log_p == -jnp.inf) & (log_q == -jnp.inf)
    log_m = jnp.where(
        both_zero,
        -jnp.inf,
        jnp.logaddexp(jnp.where(both_zero, 0.0, log_p), jnp.where(both_zero, 0.0, log_q))
        - jnp.log(2.0).astype(log_p.dtype),
    )
    terms = 0.5 * (
        _special.kl_terms(None, None, log_p, log_m) + _special.kl_terms(None, None, log_q, log_m)
    )
    terms = _nan_where_nan(terms, log_p, log_q)
    return in_base(jnp.sum(terms, axis=axis), base)
