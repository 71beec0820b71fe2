"""Discrete distributions: Bernoulli, Categorical, Poisson."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import as_float
from mlmath.distributions import _fit, _sampling
from mlmath.distributions._base import (
    Distribution,
    check_constraints,
    concrete_parameters,
    raise_if_invalid,
    sample_dims,
    satisfies,
)


def _logits_or_probs(owner: str, logits, probs):
    """Which of ``logits`` / ``probs`` was given; exactly one must be."""
    if (logits is None) == (probs is None):
        given = "both" if logits is not None else "neither"
        raise ValueError(f"{owner}: give exactly one of logits= or probs=, got {given}")
    return ("logits", logits) if logits is not None else ("probs", probs)


def _integer_valued(x):
    """Whether each element of ``x`` is an integer (always true for integer dtypes)."""
    if jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_:
        return jnp.ones(x.shape, dtype=bool)
    return jnp.floor(x) == x


def _safe_log1p_neg(p):
    """``log(1 - p)`` with ``-inf`` (and a zero gradient) at ``p == 1``."""
    below_one = p < 1
    return jnp.where(below_one, jnp.log1p(-jnp.where(below_one, p, 0.0)), -jnp.inf)


def _logits_of_probability(p):
    """``log(p / (1 - p))``, exact at 0 and 1 (``-inf``, ``+inf``); NaN outside ``[0, 1]``."""
    logits = _special.safe_log(p) - _safe_log1p_neg(p)
    return jnp.where(satisfies(p, "probability"), logits, jnp.nan)


class Bernoulli(Distribution):
    r"""Bernoulli distribution on :math:`\{0, 1\}`, held by its log-odds.

    .. math:: \log p(x) = x \log\sigma(\ell) + (1 - x)\log\sigma(-\ell),\qquad
              \sigma(\ell) = P(x = 1)

    Construct from ``logits=`` (log-odds :math:`\ell`) or ``probs=`` :math:`P(x=1)`;
    exactly one. ``probs`` of 0 or 1 are exact (logits of :math:`\mp\infty`). ``log_prob``
    is ``-inf`` for values other than 0 and 1; samples are integers.

    Invalid parameters (``probs`` outside ``[0, 1]``, NaN logits) raise a ``ValueError``
    when concrete and ``validate_args`` is true; otherwise (and always when traced) every
    method gives NaN for them, and ``sample`` gives ``-1`` (an integer outside the support).

    Example:
        >>> from mlmath.distributions import Bernoulli
        >>> d = Bernoulli(probs=0.25)
        >>> round(float(d.log_prob(1)), 6), round(float(Bernoulli(logits=0.0).entropy()), 6)
        (-1.386294, 0.693147)
    """

    logits: Array

    def __init__(self, logits: ArrayLike | None = None, probs: ArrayLike | None = None, *,
                 validate_args: bool = True) -> None:
        kind, value = _logits_or_probs("Bernoulli", logits, probs)
        value = as_float(value, kind)
        check_constraints("Bernoulli", validate_args,
                          **{kind: (value, "probability" if kind == "probs" else "not_nan")})
        if kind == "probs":
            value = _logits_of_probability(value)
        self.logits = value

    @classmethod
    def fit(cls, x: ArrayLike, weights: ArrayLike | None = None) -> Bernoulli:
        """Weighted maximum-likelihood fit to samples ``x`` along axis 0.

        The estimate is the weighted fraction of ones. ``weights`` (shape ``(n,)`` or broadcasting
        to ``x``) need not sum to one; trailing axes of ``x`` become the batch shape. See
        :func:`mlmath.distributions.fit_bernoulli`.
        """
        return cls(probs=_fit.fit_bernoulli(x, weights), validate_args=False)

    @property
    def probs(self) -> Array:
        """:math:`P(x = 1)`."""
        return jax.nn.sigmoid(self.logits)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.logits.shape)

    @property
    def dtype(self) -> jnp.dtype:
        return self.logits.dtype

    def _parameters_valid(self) -> Array:
        return satisfies(self.logits, "not_nan")

    def _log_probs_pair(self):
        """``(log P(x=0), log P(x=1))``, stable for logits of any size."""
        return jax.nn.log_sigmoid(-self.logits), jax.nn.log_sigmoid(self.logits)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x)
        log_zero, log_one = self._log_probs_pair()
        value = jnp.where(x == 1, log_one, jnp.where(x == 0, log_zero, -jnp.inf))
        return self._finish_log_prob(value, x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        return self._checked(jax.random.bernoulli(key, self.probs, shape).astype(jnp.int32))

    @jit
    def entropy(self) -> Array:
        log_zero, log_one = self._log_probs_pair()
        return self._checked(-(_special.xlogx_exp(log_zero) + _special.xlogx_exp(log_one)))

    @jit
    def mean(self) -> Array:
        return self._checked(self.probs)

    @jit
    def variance(self) -> Array:
        return self._checked(jax.nn.sigmoid(self.logits) * jax.nn.sigmoid(-self.logits))


class Categorical(Distribution):
    r"""Categorical distribution on :math:`\{0, \dots, K-1\}`.

    .. math:: \log p(k) = \ell_k - \log\sum_j e^{\ell_j}

    Construct from ``logits=`` (unnormalized log-probabilities, shape ``(*batch, K)``) or
    ``probs=`` (non-negative, normalized along the last axis here); exactly one. Zero
    probabilities become logits of ``-inf`` and are handled exactly. ``log_prob`` is
    ``-inf`` for values outside ``0..K-1``; samples are integers. ``mean`` and ``variance``
    are those of the integer label.

    Invalid parameters (a negative, infinite or NaN probability, probabilities that sum to
    0; NaN or ``+inf`` logits, or all logits ``-inf``) raise a ``ValueError`` when concrete
    and ``validate_args`` is true; otherwise (and always when traced) every method gives NaN
    for that row, and ``sample`` gives ``-1``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.distributions import Categorical
        >>> d = Categorical(probs=jnp.array([0.5, 0.25, 0.25]))
        >>> round(float(d.log_prob(1)), 6), round(float(d.entropy()), 6)  # log 1/4; 1.5 log 2
        (-1.386294, 1.039721)
    """

    logits: Array

    def __init__(self, logits: ArrayLike | None = None, probs: ArrayLike | None = None, *,
                 validate_args: bool = True) -> None:
        kind, value = _logits_or_probs("Categorical", logits, probs)
        value = as_float(value, kind)
        if value.ndim < 1:
            raise ValueError(f"Categorical: {kind} must have shape (..., K), got {value.shape}")
        concrete = concrete_parameters(validate_args, value)
        if concrete is not None:
            (array,) = concrete
            with np.errstate(invalid="ignore"):
                if kind == "probs":
                    raise_if_invalid("Categorical", kind, array, satisfies(array, "nonnegative"),
                                     ">= 0 and finite")
                    raise_if_invalid("Categorical", "the sum of probs", array.sum(-1),
                                     array.sum(-1) > 0, "> 0")
                else:
                    raise_if_invalid("Categorical", kind, array,
                                     (array == array) & (array < np.inf), "a number below +inf")
                    raise_if_invalid("Categorical", "the largest logit", array.max(-1),
                                     array.max(-1) > -np.inf, "> -inf (some category possible)")
        if kind == "probs":
            row_valid = jnp.all(satisfies(value, "nonnegative"), axis=-1) & (
                jnp.sum(value, axis=-1) > 0)
            value = jnp.where(row_valid[..., None], _special.safe_log(value), jnp.nan)
        self.logits = value

    @classmethod
    def fit(cls, x: ArrayLike, num_categories: int,
            weights: ArrayLike | None = None) -> Categorical:
        """Weighted maximum-likelihood fit to integer labels ``x`` (axis 0): label frequencies.

        ``num_categories`` (static) fixes ``K``; ``weights`` need not sum to one. See
        :func:`mlmath.distributions.fit_categorical`.
        """
        return cls(probs=_fit.fit_categorical(x, num_categories, weights), validate_args=False)

    @property
    def log_probs(self) -> Array:
        """Normalized log-probabilities, shape ``(*batch, K)``."""
        return jax.nn.log_softmax(self.logits, axis=-1)

    @property
    def probs(self) -> Array:
        """Probabilities, shape ``(*batch, K)``."""
        return jax.nn.softmax(self.logits, axis=-1)

    @property
    def num_categories(self) -> int:
        return self.logits.shape[-1]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.logits.shape[:-1])

    @property
    def dtype(self) -> jnp.dtype:
        return self.logits.dtype

    def _parameters_valid(self) -> Array:
        logits = self.logits
        return jnp.all((logits == logits) & (logits < jnp.inf), axis=-1) & jnp.any(
            logits > -jnp.inf, axis=-1)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, shape = self._value(x)
        k = self.num_categories
        valid = _integer_valued(x) & (x >= 0) & (x < k)
        index = jnp.where(valid, x, 0).astype(jnp.int32)
        log_probs = jnp.broadcast_to(self.log_probs, shape + (k,))
        index = jnp.broadcast_to(index, shape)
        picked = jnp.take_along_axis(log_probs, index[..., None], axis=-1)[..., 0]
        return self._finish_log_prob(jnp.where(jnp.broadcast_to(valid, shape), picked, -jnp.inf),
                                     x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        draws = jax.random.categorical(key, self.logits, axis=-1, shape=shape)
        return self._checked(draws.astype(jnp.int32))

    @jit
    def entropy(self) -> Array:
        return self._checked(-jnp.sum(_special.xlogx_exp(self.log_probs), axis=-1))

    def _labels(self):
        return jnp.arange(self.num_categories, dtype=self.dtype)

    @jit
    def mean(self) -> Array:
        return self._checked(jnp.sum(self.probs * self._labels(), axis=-1))

    @jit
    def variance(self) -> Array:
        centred = self._labels() - self.mean()[..., None]
        return self._checked(jnp.sum(self.probs * centred * centred, axis=-1))


class Poisson(Distribution):
    r"""Poisson distribution on the non-negative integers.

    .. math:: \log p(k) = k\log\lambda - \lambda - \log k!

    Evaluated through Loader's saddle-point form (``-bd0(k, lambda) - log(2 pi k)/2 -
    stirling_correction(k)``), accurate in float32 for counts and rates in the millions,
    where the naive difference of ``k log lambda`` and ``log k!`` loses every digit. The
    entropy has no closed form: it is summed exactly for ``rate < 50`` and taken from its
    asymptotic series (ten terms, derived in ``tools/poisson_entropy_series.py``) above.

    Samples are counts held in the rate's floating dtype, so that every rate the dtype can
    represent gives draws of the right law: Knuth's method below rate 10, Hörmann's
    transformed rejection (PTRS, with the acceptance test on the saddle-point log-pmf)
    above; ``jax.random.poisson`` overflows ``int32`` from rate ``2**31`` and overstates the
    variance in float32 from rates of about 1e6. A rate that is negative, infinite or NaN
    raises a ``ValueError`` when concrete and ``validate_args`` is true; otherwise (and
    always when traced) every method, ``sample`` included, gives NaN for it.

    Example:
        >>> from mlmath.distributions import Poisson
        >>> round(float(Poisson(3.0).log_prob(2)), 6), float(Poisson(3.0).variance())
        (-1.495923, 3.0)
    """

    rate: Array

    def __init__(self, rate: ArrayLike, *, validate_args: bool = True) -> None:
        self.rate = as_float(rate, "rate")
        check_constraints("Poisson", validate_args, rate=(self.rate, "nonnegative"))

    @classmethod
    def fit(cls, x: ArrayLike, weights: ArrayLike | None = None) -> Poisson:
        """Weighted maximum-likelihood fit to samples ``x`` along axis 0.

        The estimate is the weighted mean count. ``weights`` (shape ``(n,)`` or broadcasting to
        ``x``) need not sum to one; trailing axes of ``x`` become the batch shape. See
        :func:`mlmath.distributions.fit_poisson`.
        """
        return cls(_fit.fit_poisson(x, weights), validate_args=False)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.rate.shape)

    @property
    def dtype(self) -> jnp.dtype:
        return self.rate.dtype

    def _parameters_valid(self) -> Array:
        return satisfies(self.rate, "nonnegative")

    def _safe_rate(self) -> Array:
        return jnp.where(self._parameters_valid(), self.rate, 1.0)

    @jit
    def log_prob(self, x: ArrayLike) -> Array:
        x, _ = self._value(x)
        valid = _integer_valued(x) & (x >= 0) & (x < jnp.inf)
        counts = jnp.where(valid, x, 0).astype(self.dtype)
        rate = self._safe_rate()
        # rate 0 is a point mass at 0: -inf elsewhere (bd0's far branch, a constant there)
        value = _special.log_poisson_kernel(counts, rate)
        return self._finish_log_prob(jnp.where(valid, value, -jnp.inf), x)

    @jit(static_argnames="sample_shape")
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> Array:
        shape = sample_dims(self, sample_shape)
        return self._checked(_sampling.poisson(key, self.rate, shape, self.dtype))

    @jit
    def entropy(self) -> Array:
        return self._checked(_special.poisson_entropy(self._safe_rate()))

    @jit
    def mean(self) -> Array:
        return self._checked(self.rate)

    @jit
    def variance(self) -> Array:
        return self._checked(self.rate)
