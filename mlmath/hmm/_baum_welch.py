r"""Baum–Welch: EM for hidden Markov models with categorical or Gaussian emissions.

The E step is :func:`mlmath.hmm.forward_backward` on every sequence (one ``vmap`` over a
padded batch); the M step re-estimates the start and transition probabilities from the
expected counts (MAP under optional Dirichlet priors) and the emissions from the
posteriors: category frequencies for :class:`CategoricalHMMParams`, and for
:class:`GaussianHMMParams` the Gaussian M step of :func:`mlmath.mixture.m_step` (centred
scatter, Cholesky factors of precisions, ``reg_covar`` on every variance, an optional
Normal–Inverse-Wishart prior), the posteriors playing the part of the responsibilities.
Each step never decreases the objective, the total log-likelihood plus the log prior.

Sequences: a single sequence is ``X (T,)`` (category codes) or ``X (T, d)``
(observations) with ``lengths=None``; a batch is padded to ``X (S, T, ...)`` with
``lengths (S,)`` (the first ``lengths[s]`` steps of row ``s`` count; whatever the padding
holds reaches nothing).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from mlmath._jit import jit
from mlmath._validation import as_float, float_dtype_of
from mlmath.hmm._inference import forward_backward, viterbi
from mlmath.mixture import (
    GaussianMixtureParams,
    GaussianMixturePrior,
    covariance_shape,
    gaussian_log_density,
    kmeans,
    log_prior,
    m_step,
    precisions_cholesky_from_covariances,
    sample_gaussian_components,
)

CATEGORICAL_UPDATES = "ste"
GAUSSIAN_UPDATES = "stmc"


class CategoricalHMMParams(NamedTuple):
    """A hidden Markov model with categorical emissions: ``initial (K,)`` start
    probabilities, ``transition (K, K)`` (row ``i``: the distribution of the next state
    after ``i``) and ``emission (K, M)`` (row ``k``: the distribution of the symbol emitted
    in state ``k``). Every row is a probability vector."""

    initial: Array
    transition: Array
    emission: Array


class GaussianHMMParams(NamedTuple):
    """A hidden Markov model with Gaussian emissions: ``initial (K,)``, ``transition
    (K, K)``, ``means (K, d)`` and ``precisions_cholesky``, the Cholesky factors of the
    states' precisions shaped by the covariance type as in :mod:`mlmath.mixture`
    (``(K, d, d)`` full, ``(d, d)`` tied, ``(K, d)`` diag, ``(K,)`` spherical)."""

    initial: Array
    transition: Array
    means: Array
    precisions_cholesky: Array


class HMMPrior(NamedTuple):
    r"""Priors for MAP Baum–Welch; each part is optional (``None``: flat).

    * ``initial``: the concentration :math:`\alpha \ge 1` (scalar or ``(K,)``) of a
      Dirichlet on the start probabilities: :math:`\pi_k \propto n_k + \alpha_k - 1`.
    * ``transition``: the concentration (scalar, ``(K,)`` for every row or ``(K, K)``) of
      a Dirichlet on each row of the transition matrix.
    * ``emission``: for categorical emissions, the concentration (scalar, ``(M,)`` or
      ``(K, M)``) of a Dirichlet on each state's emission row; for Gaussian emissions, a
      :class:`mlmath.mixture.GaussianMixturePrior` whose Normal–Inverse-Wishart part is
      read on each state's mean and covariance (its ``weight_concentration`` is not used).

    A concentration below 1 (a density unbounded at the boundary: no mode) gives NaN. An
    entry that is exactly 0 stays 0 under every prior (a forbidden transition stays
    forbidden, as in hmmlearn); the prior is read on the other entries.
    """

    initial: ArrayLike | None = None
    transition: ArrayLike | None = None
    emission: ArrayLike | GaussianMixturePrior | None = None


class HMMFit(NamedTuple):
    """The result of :func:`fit_categorical_hmm` and :func:`fit_gaussian_hmm`: ``params``
    (after the last M step), ``log_likelihood`` (the objective, total log-likelihood plus
    log prior, of the parameters the last step started from), ``n_iter``, ``converged``
    and ``history (n_iter,)``, the objective of every step taken (NaN after the last)."""

    params: CategoricalHMMParams | GaussianHMMParams
    log_likelihood: Array
    n_iter: Array
    converged: Array
    history: Array


# ---------------------------------------------------------------------------------------
# checks and layout (trace time)


def _check_update(update: str | None, allowed: str, owner: str) -> str:
    if update is None:
        return allowed
    if not isinstance(update, str) or any(letter not in allowed for letter in update):
        raise ValueError(f"{owner}: update must be a string of the letters {allowed!r} (the "
                         f"parameters re-estimated), got {update!r}")
    return update


def _batched(values: ArrayLike, lengths: ArrayLike | None, event_ndim: int,
             owner: str) -> tuple[Array, Array]:
    """``values`` as a padded batch ``(S, T, ...)`` and the lengths ``(S,)`` (clipped to
    ``[0, T]``)."""
    X = jnp.asarray(values)
    if lengths is None:
        if X.ndim != 1 + event_ndim:
            shape = "(T,)" if event_ndim == 0 else "(T, d)"
            raise ValueError(f"{owner}: X must have shape {shape} for one sequence (or a "
                             f"padded batch with lengths), got {X.shape}")
        return X[None], jnp.full((1,), X.shape[0], jnp.int32)
    lengths = jnp.asarray(lengths)
    if not jnp.issubdtype(lengths.dtype, jnp.integer) or lengths.ndim != 1:
        raise ValueError(f"{owner}: lengths must be a 1-D integer array, got shape "
                         f"{lengths.shape} and dtype {lengths.dtype}")
    if X.ndim != 2 + event_ndim or X.shape[0] != lengths.shape[0]:
        shape = "(S, T)" if event_ndim == 0 else "(S, T, d)"
        raise ValueError(f"{owner}: with lengths of shape {lengths.shape}, X must be a padded "
                         f"batch of shape {shape} with S = {lengths.shape[0]}, got {X.shape}")
    if X.shape[1] == 0:
        raise ValueError(f"{owner}: X must have at least one step, got {X.shape}")
    return X, jnp.clip(lengths, 0, X.shape[1]).astype(jnp.int32)


def _codes(X: ArrayLike, owner: str) -> Array:
    X = jnp.asarray(X)
    if not jnp.issubdtype(X.dtype, jnp.integer):
        raise ValueError(f"{owner}: X must hold integer category codes, got dtype {X.dtype}")
    return X


def _check_chain(params, owner: str) -> tuple[Array, Array, int]:
    initial = jnp.asarray(params.initial)
    transition = jnp.asarray(params.transition)
    K = initial.shape[0] if initial.ndim == 1 else -1
    if initial.ndim != 1 or transition.shape != (K, K):
        raise ValueError(f"{owner}: params.initial must be (K,) and params.transition (K, K), "
                         f"got {initial.shape} and {transition.shape}")
    return initial, transition, K


def _check_categorical(params: CategoricalHMMParams, owner: str):
    initial, transition, K = _check_chain(params, owner)
    emission = jnp.asarray(params.emission)
    if emission.ndim != 2 or emission.shape[0] != K:
        raise ValueError(f"{owner}: params.emission must be (K, M) with K = {K}, got "
                         f"{emission.shape}")
    dtype = jnp.result_type(initial, transition, emission, jnp.float32)
    return CategoricalHMMParams(*(jnp.asarray(p, dtype) for p in (initial, transition,
                                                                   emission)))


def _check_gaussian(params: GaussianHMMParams, covariance_type: str, owner: str, d=None):
    covariance_shape(covariance_type, 1, 1, owner)  # the type, before any shape
    initial, transition, K = _check_chain(params, owner)
    means = jnp.asarray(params.means)
    precisions = jnp.asarray(params.precisions_cholesky)
    if means.ndim != 2 or means.shape[0] != K or (d is not None and means.shape[1] != d):
        raise ValueError(f"{owner}: params.means must be (K, d) with K = {K}"
                         f"{'' if d is None else f' and d = {d}'}, got {means.shape}")
    d = means.shape[1]
    expected = covariance_shape(covariance_type, K, d, owner)
    if precisions.shape != expected:
        raise ValueError(f"{owner}: params.precisions_cholesky must have shape {expected} for "
                         f"covariance_type={covariance_type!r}, got {precisions.shape}")
    dtype = jnp.result_type(initial, transition, means, precisions, jnp.float32)
    return GaussianHMMParams(*(jnp.asarray(p, dtype) for p in (initial, transition, means,
                                                                precisions)))


def _check_prior(prior: HMMPrior | None, gaussian: bool, owner: str) -> None:
    if prior is None:
        return
    if not isinstance(prior, HMMPrior):
        raise TypeError(f"{owner}: prior must be an HMMPrior or None, got {prior!r}")
    emission = prior.emission
    if gaussian and emission is not None and not isinstance(emission, GaussianMixturePrior):
        raise TypeError(f"{owner}: a Gaussian HMM's prior.emission must be a "
                        f"GaussianMixturePrior or None, got {emission!r}")
    if not gaussian and isinstance(emission, GaussianMixturePrior):
        raise TypeError(f"{owner}: a categorical HMM's prior.emission is a Dirichlet "
                        "concentration (an array), not a GaussianMixturePrior")


def _simplex_violation(p: Array) -> Array:
    """True where ``p``'s last axis is not a probability vector (to rounding)."""
    tolerance = max(math.sqrt(float(jnp.finfo(p.dtype).eps)), 1e-5)
    return (jnp.any(p < 0) | jnp.any(jnp.abs(jnp.sum(p, axis=-1) - 1.0) > tolerance)
            | jnp.any(jnp.isnan(p)))


# ---------------------------------------------------------------------------------------
# emissions


def _categorical_log_emissions(emission: Array, X: Array) -> Array:
    M = emission.shape[1]
    in_range = (X >= 0) & (X < M)
    values = jnp.log(emission).T[jnp.clip(X, 0, M - 1)]
    return jnp.where(in_range[..., None], values, jnp.nan)


def _gaussian_log_emissions(params: GaussianHMMParams, X: Array, covariance_type: str) -> Array:
    K, d = params.means.shape
    flat = gaussian_log_density(X.reshape(-1, d), params.means, params.precisions_cholesky,
                                covariance_type=covariance_type)
    return flat.reshape(X.shape[:-1] + (K,))


def _emissions(params, X, covariance_type):
    if isinstance(params, CategoricalHMMParams):
        return _categorical_log_emissions(params.emission, X)
    return _gaussian_log_emissions(params, X, covariance_type)


def _prepare(params, X, covariance_type, owner):
    """Checked params and ``X`` (codes or floats of the params' dtype)."""
    if isinstance(params, CategoricalHMMParams):
        return _check_categorical(params, owner), _codes(X, owner), 0
    if not isinstance(params, GaussianHMMParams):
        raise TypeError(f"{owner}: params must be CategoricalHMMParams or GaussianHMMParams, "
                        f"got {type(params).__name__}")
    values = as_float(X, "X")
    d = values.shape[-1] if values.ndim else None
    params = _check_gaussian(params, covariance_type, owner, d)
    return params, values.astype(params.means.dtype), 1


@jit(static_argnames=("covariance_type",))
def log_emissions(params: CategoricalHMMParams | GaussianHMMParams, X: ArrayLike, *,
                  covariance_type: str = "diag") -> Array:
    r"""The emission log-probabilities :math:`\log p(x_t \mid z_t = k)`, shape
    ``X.shape[:-1] + (K,)`` for Gaussian emissions (``X (..., d)``) and ``X.shape + (K,)``
    for categorical ones (integer codes; a code outside ``[0, M)`` gives NaN). The Gaussian
    densities are :func:`mlmath.mixture.gaussian_log_density` (matrix-product shaped, over
    blocks of rows); ``covariance_type`` is used for Gaussian params only.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.hmm import CategoricalHMMParams, log_emissions
        >>> params = CategoricalHMMParams(jnp.array([0.5, 0.5]), jnp.full((2, 2), 0.5),
        ...                               jnp.array([[0.9, 0.1], [0.2, 0.8]]))
        >>> probabilities = jnp.exp(log_emissions(params, jnp.array([0, 1])))
        >>> [[round(float(p), 3) for p in row] for row in probabilities]
        [[0.9, 0.2], [0.1, 0.8]]
    """
    params, X, _ = _prepare(params, X, covariance_type, "log_emissions")
    return _emissions(params, X, covariance_type)


# ---------------------------------------------------------------------------------------
# the E step


class _Statistics(NamedTuple):
    log_likelihood: Array  # total over the sequences
    posteriors: Array  # (S, T, K), 0 on padding
    initial_counts: Array  # (K,)
    transition_counts: Array  # (K, K)
    mask: Array  # (S, T)


def _per_sequence(inference, params, emissions: Array, lengths: Array, parallel: bool):
    """``inference`` (:func:`forward_backward` or :func:`viterbi`) of the chain of
    ``params`` on every sequence of the padded batch, in one ``vmap``."""
    log_initial = jnp.log(params.initial)
    log_transition = jnp.log(params.transition)

    def one(sequence_emissions, length):
        return inference(log_initial, log_transition, sequence_emissions, length=length,
                         parallel=parallel)

    return jax.vmap(one)(emissions, lengths)


def _padding_mask(lengths: Array, num_steps: int) -> Array:
    return jnp.arange(num_steps)[None, :] < lengths[:, None]


def _invalid_params(params) -> Array:
    invalid = _simplex_violation(params.initial) | _simplex_violation(params.transition)
    if isinstance(params, CategoricalHMMParams):
        invalid = invalid | _simplex_violation(params.emission)
    return invalid


def _statistics(params, emissions: Array, lengths: Array, parallel: bool) -> _Statistics:
    result = _per_sequence(forward_backward, params, emissions, lengths, parallel)
    mask = _padding_mask(lengths, emissions.shape[1])
    posteriors = jnp.where(mask[..., None], result.posteriors, 0.0)
    log_likelihood = jnp.where(_invalid_params(params), jnp.nan,
                               jnp.sum(result.log_likelihood))
    return _Statistics(log_likelihood, posteriors, jnp.sum(posteriors[:, 0], axis=0),
                       jnp.sum(result.expected_transitions, axis=0), mask)


# ---------------------------------------------------------------------------------------
# the M step


def _concentration(value, shape, dtype) -> Array | None:
    if value is None:
        return None
    return jnp.broadcast_to(jnp.asarray(value, dtype), shape)


def _dirichlet_mode(counts: Array, concentration: Array | None, previous: Array) -> Array:
    """Rows proportional to ``counts + alpha - 1`` on the support of ``previous``: an
    entry that is exactly 0 stays 0 (a forbidden transition stays forbidden, as in
    hmmlearn: EM never moves mass there, and the prior is read on the remaining entries).
    A row with no evidence (its sum 0: a state never left, a state without posterior mass)
    keeps its previous value, which is then as good as any (the objective does not depend
    on it)."""
    numerator = counts if concentration is None else counts + concentration - 1.0
    numerator = jnp.where(previous > 0, numerator, 0.0)
    total = jnp.sum(numerator, axis=-1, keepdims=True)
    has_evidence = total > jnp.finfo(counts.dtype).tiny
    rows = jnp.where(has_evidence, numerator / jnp.where(has_evidence, total, 1.0), previous)
    if concentration is None:
        return rows
    invalid = jnp.any(~(concentration >= 1.0))
    return jnp.where(invalid, jnp.nan, rows)


def _dirichlet_log_density(p: Array, concentration: Array | None) -> Array:
    """``sum (alpha - 1) log p`` over the support of ``p`` (see :func:`_dirichlet_mode`)."""
    if concentration is None:
        return jnp.zeros((), p.dtype)
    safe = jnp.where(p > 0, p, 1.0)
    return jnp.sum(jnp.where(p > 0, (concentration - 1.0) * jnp.log(safe), 0.0))


def _emission_prior(prior: HMMPrior | None) -> GaussianMixturePrior | None:
    if prior is None or prior.emission is None:
        return None
    return prior.emission._replace(weight_concentration=None)  # type: ignore[union-attr]


def _part(prior: HMMPrior | None, name: str):
    return None if prior is None else getattr(prior, name)


def _chain_log_prior(params, prior: HMMPrior | None) -> Array:
    K = params.initial.shape[0]
    dtype = params.initial.dtype
    return (_dirichlet_log_density(params.initial,
                                   _concentration(_part(prior, "initial"), (K,), dtype))
            + _dirichlet_log_density(params.transition,
                                     _concentration(_part(prior, "transition"), (K, K), dtype)))


def _objective_log_prior(params, prior: HMMPrior | None, covariance_type: str) -> Array:
    total = _chain_log_prior(params, prior)
    if isinstance(params, CategoricalHMMParams):
        concentration = _concentration(_part(prior, "emission"), params.emission.shape,
                                       params.emission.dtype)
        return total + _dirichlet_log_density(params.emission, concentration)
    emission_prior = _emission_prior(prior)
    if emission_prior is None:
        return total
    K = params.initial.shape[0]
    mixture = GaussianMixtureParams(jnp.full((K,), 1.0 / K, params.means.dtype), params.means,
                                    params.precisions_cholesky)
    return total + log_prior(mixture, emission_prior, covariance_type=covariance_type)


def _m_step(params, X, stats: _Statistics, covariance_type, reg_covar, prior, update):
    K = params.initial.shape[0]
    dtype = params.initial.dtype
    new = params
    if "s" in update:
        new = new._replace(initial=_dirichlet_mode(
            stats.initial_counts, _concentration(_part(prior, "initial"), (K,), dtype),
            params.initial))
    if "t" in update:
        new = new._replace(transition=_dirichlet_mode(
            stats.transition_counts, _concentration(_part(prior, "transition"), (K, K), dtype),
            params.transition))
    flat_posteriors = stats.posteriors.reshape(-1, K)
    if isinstance(params, CategoricalHMMParams):
        if "e" in update:
            M = params.emission.shape[1]
            codes = jnp.clip(X.reshape(-1), 0, M - 1)
            counts = jax.ops.segment_sum(flat_posteriors, codes, num_segments=M).T
            concentration = _concentration(_part(prior, "emission"), (K, M), dtype)
            new = new._replace(emission=_dirichlet_mode(counts, concentration, params.emission))
        return new
    if "m" not in update and "c" not in update:
        return new
    d = params.means.shape[1]
    weights = stats.mask.reshape(-1).astype(dtype)
    flat_X = jnp.where(weights[:, None] > 0, X.reshape(-1, d), 0.0)
    fitted = m_step(flat_X, flat_posteriors, covariance_type=covariance_type,
                    reg_covar=reg_covar, prior=_emission_prior(prior), sample_weight=weights)
    # a state without posterior mass keeps its emission (the objective does not depend on it)
    occupied = jnp.sum(flat_posteriors, axis=0) > jnp.finfo(dtype).tiny
    if "m" in update:
        new = new._replace(means=jnp.where(occupied[:, None], fitted.means, params.means))
    if "c" in update:
        precisions = fitted.precisions_cholesky
        if covariance_type != "tied":
            keep = occupied.reshape((K,) + (1,) * (precisions.ndim - 1))
            precisions = jnp.where(keep, precisions, params.precisions_cholesky)
        new = new._replace(precisions_cholesky=precisions)
    return new


def _step(params, X, lengths, covariance_type, reg_covar, prior, update, parallel):
    stats = _statistics(params, _emissions(params, X, covariance_type), lengths, parallel)
    objective = stats.log_likelihood + _objective_log_prior(params, prior, covariance_type)
    return _m_step(params, X, stats, covariance_type, reg_covar, prior, update), objective


def _allowed(params) -> str:
    return CATEGORICAL_UPDATES if isinstance(params, CategoricalHMMParams) else GAUSSIAN_UPDATES


@jit(static_argnames=("covariance_type", "update", "parallel"))
def baum_welch_step(params: CategoricalHMMParams | GaussianHMMParams, X: ArrayLike, *,
                    lengths: ArrayLike | None = None, covariance_type: str = "diag",
                    reg_covar: ArrayLike = 0.0, prior: HMMPrior | None = None,
                    update: str | None = None, parallel: bool = False):
    r"""One Baum–Welch (EM) step: ``(new_params, objective)``.

    The objective is the total log-likelihood of the sequences under ``params`` plus the
    log prior (0 without one); the new parameters' objective is never below it (for
    Gaussian emissions, up to ``reg_covar``'s perturbation). The E step is
    :func:`forward_backward` on each sequence. The M step: start probabilities from the
    posteriors of the first steps, each transition row from the expected transition counts
    (MAP under the Dirichlet priors of ``prior``), categorical emissions from the expected
    symbol counts, Gaussian emissions by :func:`mlmath.mixture.m_step` with the posteriors
    as responsibilities (``covariance_type``, ``reg_covar`` added to every variance, the
    Normal–Inverse-Wishart ``prior.emission``). A row or a state without evidence keeps its
    value. ``update`` names the parameters re-estimated (letters of ``"ste"`` for
    categorical, ``"stmc"`` for Gaussian: start, transitions, emissions / means,
    covariances; default all). A parameter that is not a probability vector, a category
    code out of range or a NaN makes the objective NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.hmm import CategoricalHMMParams, baum_welch_step
        >>> params = CategoricalHMMParams(jnp.array([0.5, 0.5]),
        ...                               jnp.array([[0.9, 0.1], [0.1, 0.9]]),
        ...                               jnp.array([[0.8, 0.2], [0.3, 0.7]]))
        >>> X = jnp.array([0, 0, 0, 1, 1, 1, 0, 0])
        >>> new, objective = baum_welch_step(params, X)
        >>> bool(baum_welch_step(new, X)[1] >= objective), round(float(objective), 3)
        (True, -5.741)
    """
    owner = "baum_welch_step"
    params, X, event_ndim = _prepare(params, X, covariance_type, owner)
    _check_prior(prior, isinstance(params, GaussianHMMParams), owner)
    update = _check_update(update, _allowed(params), owner)
    X, lengths = _batched(X, lengths, event_ndim, owner)
    return _step(params, X, lengths, covariance_type, reg_covar, prior, update, parallel)


# ---------------------------------------------------------------------------------------
# the EM loop


def _all_finite(tree) -> Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _em(params, X, lengths, n_iter, tol, covariance_type, reg_covar, prior, update,
        parallel) -> HMMFit:
    dtype = params.initial.dtype

    def continuing(state):
        _, _, i, converged, stopped, _ = state
        return (i < n_iter) & ~converged & ~stopped

    def step(state):
        params, previous, i, _, _, history = state
        new, objective = _step(params, X, lengths, covariance_type, reg_covar, prior, update,
                               parallel)
        finite = jnp.isfinite(objective) & _all_finite(new)
        converged = finite & (jnp.abs(objective - previous) < tol)
        params = jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new, params)
        return params, objective, i + 1, converged, ~finite, history.at[i].set(objective)

    state = (params, jnp.asarray(-jnp.inf, dtype), jnp.zeros((), jnp.int32),
             jnp.zeros((), bool), jnp.zeros((), bool), jnp.full(n_iter, jnp.nan, dtype))
    params, objective, n_done, converged, _, history = jax.lax.while_loop(
        continuing, step, state)
    return HMMFit(params, objective, n_done, converged, history)


def _check_fit_arguments(owner: str, **counts: int) -> None:
    for name, value in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{owner}: {name} must be an int >= 1, got {value!r}")


def _initial_value(value, shape, dtype, name, owner, default):
    if value is None:
        return default
    value = as_float(value, name, dtype)
    if value.shape != shape:
        raise ValueError(f"{owner}: {name} must have shape {shape}, got {value.shape}")
    return value


def _uniform_chain(K, dtype, initial_init, transition_init, owner):
    initial = _initial_value(initial_init, (K,), dtype, "initial_init", owner,
                             jnp.full((K,), 1.0 / K, dtype))
    transition = _initial_value(transition_init, (K, K), dtype, "transition_init", owner,
                                jnp.full((K, K), 1.0 / K, dtype))
    return initial, transition


@jit(static_argnames=("n_states", "n_categories", "n_iter", "update", "parallel"))
def fit_categorical_hmm(
        key: Array, X: ArrayLike, n_states: int, n_categories: int, *,
        lengths: ArrayLike | None = None, n_iter: int = 10, tol: ArrayLike = 1e-2,
        prior: HMMPrior | None = None, initial_init: ArrayLike | None = None,
        transition_init: ArrayLike | None = None, emission_init: ArrayLike | None = None,
        update: str | None = None, parallel: bool = False) -> HMMFit:
    r"""Fit a categorical HMM by Baum–Welch, in one compiled ``lax.while_loop``.

    ``X`` holds integer codes in ``[0, n_categories)``: ``(T,)``, or a padded batch
    ``(S, T)`` with ``lengths (S,)``. Unless given, the start and transition probabilities
    start uniform and each state's emission row at random (uniform draws from ``key``,
    normalized), as hmmlearn does; the parameters have the floating dtype of the initial
    values given (the default float when none is). EM runs until the objective (total
    log-likelihood plus log prior) changes by less than ``tol`` (absolute, hmmlearn's rule)
    or ``n_iter`` steps are taken; ``converged`` is false then, and when the objective is not finite
    (impossible data, NaN), in which case the last finite parameters are kept.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.hmm import fit_categorical_hmm
        >>> X = jnp.array([0, 0, 0, 0, 1, 1, 1, 1] * 4)
        >>> fit = fit_categorical_hmm(jax.random.key(0), X, 2, 2, n_iter=100, tol=1e-6)
        >>> staying = sorted(round(float(p), 2) for p in fit.params.transition.diagonal())
        >>> bool(fit.converged), staying
        (True, [0.75, 0.8])
    """
    owner = "fit_categorical_hmm"
    _check_fit_arguments(owner, n_states=n_states, n_categories=n_categories, n_iter=n_iter)
    _check_prior(prior, False, owner)
    update = _check_update(update, CATEGORICAL_UPDATES, owner)
    X, lengths = _batched(_codes(X, owner), lengths, 0, owner)
    given = [jnp.asarray(value) for value in (initial_init, transition_init, emission_init)
             if value is not None]
    dtype = float_dtype_of(*given)
    K, M = n_states, n_categories
    initial, transition = _uniform_chain(K, dtype, initial_init, transition_init, owner)
    draws = jax.random.uniform(key, (K, M), dtype)
    emission = _initial_value(emission_init, (K, M), dtype, "emission_init", owner,
                              draws / jnp.sum(draws, axis=1, keepdims=True))
    params = CategoricalHMMParams(initial, transition, emission)
    return _em(params, X, lengths, n_iter, tol, "diag", 0.0, prior, update, parallel)


def _data_covariance(X: Array, weights: Array) -> Array:
    """The (ddof 1) covariance of the counted rows, from exact differences."""
    total = jnp.sum(weights)
    centre = jnp.sum(weights[:, None] * X, axis=0) / total
    differences = (X - centre) * (weights[:, None] > 0)
    return (weights[:, None] * differences).T @ differences / jnp.maximum(total - 1.0, 1.0)


def _shared_covariances(covariance: Array, K: int, covariance_type: str) -> Array:
    if covariance_type == "full":
        return jnp.broadcast_to(covariance, (K,) + covariance.shape)
    if covariance_type == "tied":
        return covariance
    diagonal = jnp.diagonal(covariance)
    if covariance_type == "diag":
        return jnp.broadcast_to(diagonal, (K,) + diagonal.shape)
    return jnp.full((K,), jnp.mean(diagonal), covariance.dtype)


@jit(static_argnames=("n_states", "covariance_type", "n_iter", "update", "parallel"))
def fit_gaussian_hmm(
        key: Array, X: ArrayLike, n_states: int, *, covariance_type: str = "diag",
        lengths: ArrayLike | None = None, n_iter: int = 10, tol: ArrayLike = 1e-2,
        reg_covar: ArrayLike = 1e-3, prior: HMMPrior | None = None,
        initial_init: ArrayLike | None = None, transition_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None, covariances_init: ArrayLike | None = None,
        update: str | None = None, parallel: bool = False) -> HMMFit:
    r"""Fit a Gaussian HMM by Baum–Welch, in one compiled ``lax.while_loop``.

    ``X`` is ``(T, d)``, or a padded batch ``(S, T, d)`` with ``lengths (S,)``. Unless
    given, the start and transition probabilities start uniform, the means at the centres
    of k-means (k-means++ seeded from ``key``) and every state's covariance at the data's
    covariance plus ``reg_covar`` (shaped by ``covariance_type``; ``covariances_init`` has
    the shape of the covariances: ``(K, d, d)``, ``(d, d)``, ``(K, d)`` or ``(K,)``), as
    hmmlearn does. Each M step adds ``reg_covar`` to every variance, which holds a state
    that collapses onto a point. Stopping and ``converged`` as in
    :func:`fit_categorical_hmm`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.hmm import fit_gaussian_hmm
        >>> X = jnp.concatenate([jnp.zeros(20), jnp.full(20, 5.0)] * 2)[:, None]
        >>> X = X + 0.1 * jax.random.normal(jax.random.key(1), X.shape)
        >>> fit = fit_gaussian_hmm(jax.random.key(0), X, 2, n_iter=50)
        >>> bool(fit.converged), jnp.sort(fit.params.means[:, 0]).round(1).tolist()
        (True, [0.0, 5.0])
    """
    owner = "fit_gaussian_hmm"
    _check_fit_arguments(owner, n_states=n_states, n_iter=n_iter)
    covariance_shape(covariance_type, 1, 1, owner)
    _check_prior(prior, True, owner)
    update = _check_update(update, GAUSSIAN_UPDATES, owner)
    X, lengths = _batched(as_float(X, "X"), lengths, 1, owner)
    dtype = X.dtype
    K, d = n_states, X.shape[-1]
    initial, transition = _uniform_chain(K, dtype, initial_init, transition_init, owner)
    flat = X.reshape(-1, d)
    weights = (jnp.arange(X.shape[1])[None, :] < lengths[:, None]).reshape(-1).astype(dtype)
    flat = jnp.where(weights[:, None] > 0, flat, 0.0)
    means = _initial_value(means_init, (K, d), dtype, "means_init", owner, None)
    if means is None:
        means = kmeans(key, flat, K, sample_weight=weights).centers
    shape = covariance_shape(covariance_type, K, d, owner)
    covariances = _initial_value(covariances_init, shape, dtype, "covariances_init", owner, None)
    if covariances is None:
        covariance = _data_covariance(flat, weights) + reg_covar * jnp.eye(d, dtype=dtype)
        covariances = _shared_covariances(covariance, K, covariance_type)
    precisions = precisions_cholesky_from_covariances(covariances,
                                                      covariance_type=covariance_type)
    params = GaussianHMMParams(initial, transition, means, precisions)
    return _em(params, X, lengths, n_iter, tol, covariance_type, reg_covar, prior, update,
               parallel)


# ---------------------------------------------------------------------------------------
# decoding and sampling


def _decoding_inputs(params, X, lengths, covariance_type, owner):
    """Checked params, the padded batch's emissions and lengths, and whether ``X`` was
    one sequence."""
    params, X, event_ndim = _prepare(params, X, covariance_type, owner)
    single = lengths is None
    X, lengths = _batched(X, lengths, event_ndim, owner)
    return params, _emissions(params, X, covariance_type), lengths, single


@jit(static_argnames=("covariance_type", "parallel"))
def hmm_posteriors(params: CategoricalHMMParams | GaussianHMMParams, X: ArrayLike, *,
                   lengths: ArrayLike | None = None, covariance_type: str = "diag",
                   parallel: bool = False) -> tuple[Array, Array]:
    r"""``(log_likelihood, posteriors)``: the log-likelihood of each sequence (a scalar for
    one sequence, ``(S,)`` for a batch) and the state posteriors :math:`p(z_t = k \mid x)`
    (``(T, K)`` or ``(S, T, K)``, 0 on padding), from the emissions of ``params``. Invalid
    parameters (a row that is not a probability vector, NaN) give a NaN log-likelihood.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.hmm import CategoricalHMMParams, hmm_posteriors
        >>> params = CategoricalHMMParams(jnp.array([1.0, 0.0]), jnp.full((2, 2), 0.5),
        ...                               jnp.array([[0.9, 0.1], [0.2, 0.8]]))
        >>> log_likelihood, posteriors = hmm_posteriors(params, jnp.array([0, 1]))
        >>> posteriors[0].tolist(), round(float(jnp.exp(log_likelihood)), 3)
        ([1.0, 0.0], 0.405)
    """
    params, emissions, counted, single = _decoding_inputs(params, X, lengths,
                                                          covariance_type, "hmm_posteriors")
    result = _per_sequence(forward_backward, params, emissions, counted, parallel)
    mask = _padding_mask(counted, emissions.shape[1])
    posteriors = jnp.where(mask[..., None], result.posteriors, 0.0)
    log_likelihood = jnp.where(_invalid_params(params), jnp.nan, result.log_likelihood)
    if single:
        return log_likelihood[0], posteriors[0]
    return log_likelihood, posteriors


@jit(static_argnames=("covariance_type", "parallel"))
def hmm_viterbi(params: CategoricalHMMParams | GaussianHMMParams, X: ArrayLike, *,
                lengths: ArrayLike | None = None, covariance_type: str = "diag",
                parallel: bool = False) -> tuple[Array, Array]:
    r"""``(path, log_probability)``: the most probable state path of each sequence
    (:func:`viterbi` on the emissions of ``params``; ``(T,)`` or ``(S, T)``, the padded
    steps repeating the last counted state) and its joint log-probability with the data.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.hmm import CategoricalHMMParams, hmm_viterbi
        >>> params = CategoricalHMMParams(jnp.array([0.5, 0.5]),
        ...                               jnp.array([[0.9, 0.1], [0.1, 0.9]]),
        ...                               jnp.array([[0.9, 0.1], [0.2, 0.8]]))
        >>> hmm_viterbi(params, jnp.array([0, 0, 1, 1, 1]))[0].tolist()
        [0, 0, 1, 1, 1]
    """
    params, emissions, counted, single = _decoding_inputs(params, X, lengths,
                                                          covariance_type, "hmm_viterbi")
    path, log_probability = _per_sequence(viterbi, params, emissions, counted, parallel)
    log_probability = jnp.where(_invalid_params(params), jnp.nan, log_probability)
    if single:
        return path[0], log_probability[0]
    return path, log_probability


@jit(static_argnames=("n_samples", "covariance_type"))
def sample_hmm(key: Array, params: CategoricalHMMParams | GaussianHMMParams, n_samples: int,
               *, covariance_type: str = "diag") -> tuple[Array, Array]:
    r"""Draw one sequence of ``n_samples`` steps: ``(X, states)``, the states a Markov chain
    from ``params.initial`` and ``params.transition`` (one ``lax.scan``), each observation
    drawn from its state's emission (codes ``(n,)`` or points ``(n, d)``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.hmm import CategoricalHMMParams, sample_hmm
        >>> params = CategoricalHMMParams(jnp.array([1.0, 0.0]),
        ...                               jnp.array([[0.0, 1.0], [1.0, 0.0]]),
        ...                               jnp.array([[1.0, 0.0], [0.0, 1.0]]))
        >>> X, states = sample_hmm(jax.random.key(0), params, 4)
        >>> states.tolist(), X.tolist()
        ([0, 1, 0, 1], [0, 1, 0, 1])
    """
    if not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"sample_hmm: n_samples must be an int >= 1, got {n_samples!r}")
    if isinstance(params, CategoricalHMMParams):
        params = _check_categorical(params, "sample_hmm")
    else:
        params = _check_gaussian(params, covariance_type, "sample_hmm")
    state_key, emission_key = jax.random.split(key)
    keys = jax.random.split(state_key, n_samples)
    log_transition = jnp.log(params.transition)
    first = jax.random.categorical(keys[0], jnp.log(params.initial)).astype(jnp.int32)

    def advance(state, step_key):
        following = jax.random.categorical(step_key, log_transition[state]).astype(jnp.int32)
        return following, following

    _, rest = jax.lax.scan(advance, first, keys[1:])
    states = jnp.concatenate([first[None], rest])
    if isinstance(params, CategoricalHMMParams):
        X = jax.random.categorical(emission_key, jnp.log(params.emission)[states])
        return X.astype(jnp.int32), states
    return sample_gaussian_components(emission_key, params.means, params.precisions_cholesky,
                                      states, covariance_type=covariance_type), states
