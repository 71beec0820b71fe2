r"""Exact inference in hidden Markov models, in log space (see :mod:`mlmath.hmm`)."""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from mlmath._jit import jit
from mlmath._validation import as_floats


class ForwardBackward(NamedTuple):
    """The posterior of a hidden Markov model given one sequence (:func:`forward_backward`).

    Attributes:
        log_likelihood: :math:`\\log p(x_{0:L-1})`, a scalar.
        posteriors: :math:`p(z_t = k \\mid x)`, shape ``(T, K)``; each counted row sums to 1.
        expected_transitions: :math:`\\sum_t p(z_t = i, z_{t+1} = j \\mid x)`, shape
            ``(K, K)``; it sums to ``max(L - 1, 0)``, the number of counted transitions.
    """

    log_likelihood: Array
    posteriors: Array
    expected_transitions: Array


# ---------------------------------------------------------------------------------------
# log-space helpers that never give NaN on all -inf input (value or gradient)


def _logsumexp(x: Array, axis: int) -> Array:
    """``logsumexp`` along ``axis``: ``-inf`` with zero gradient where every entry is ``-inf``.

    Stabilized by the maximum along ``axis`` (each row's own, so no term that matters
    underflows); a row holding a NaN gives NaN. (Reductions without ``keepdims``: inside a
    scan body, XLA fuses this form into fewer, faster kernels.)
    """
    peak = lax.stop_gradient(jnp.max(x, axis=axis))
    dead = peak == -jnp.inf
    total = jnp.sum(jnp.exp(x - jnp.expand_dims(jnp.where(dead, 0.0, peak), axis)), axis=axis)
    return peak + jnp.log(jnp.where(dead, 1.0, total))


def _log_normalize(x: Array, axis: int = -1) -> tuple[Array, Array]:
    """``x - logsumexp(x)`` along ``axis`` (all ``-inf`` rows stay ``-inf``), and the lse."""
    log_normalizer = _logsumexp(x, axis)
    safe = jnp.where(log_normalizer == -jnp.inf, 0.0, log_normalizer)
    return x - jnp.expand_dims(safe, axis), log_normalizer


def _shift_by_max(x: Array, axis: int = -1) -> Array:
    """``x`` minus its maximum along ``axis``, the maximum held constant for the gradient.

    The shift keeps log-messages near 0 (no drift over long sequences); all ``-inf`` rows
    stay ``-inf``. The results of the recursions do not depend on the shifts (they are
    added back exactly), so treating them as constants gives the exact gradient.
    """
    peak = lax.stop_gradient(jnp.max(x, axis=axis))
    return x - jnp.expand_dims(jnp.where(peak == -jnp.inf, 0.0, peak), axis)


def _log_identity(num_states: int, dtype) -> Array:
    """The identity matrix in log space: 0 on the diagonal, ``-inf`` elsewhere."""
    return jnp.where(jnp.eye(num_states, dtype=bool), 0.0, -jnp.inf).astype(dtype)


def _log_matmul(left: Array, right: Array) -> Array:
    """:math:`\\log(\\exp L \\exp R)` for log-matrices, exact in log space (no underflow)."""
    return _logsumexp(left[..., :, :, None] + right[..., None, :, :], axis=-2)


def _max_matmul(left: Array, right: Array) -> Array:
    """The max-plus matrix product :math:`\\max_j (L_{ij} + R_{jk})`."""
    return jnp.max(left[..., :, :, None] + right[..., None, :, :], axis=-2)


# ---------------------------------------------------------------------------------------
# checks and padding


def _prepare(function: str, length, **named):
    """The named inputs as float arrays of one dtype, shapes checked, and the padding.

    ``named`` holds ``log_emissions`` and any of ``log_initial``, ``log_transition``,
    ``log_filtered``; they are returned in that order. Then ``valid``, the ``(T,)`` mask of
    counted steps (``None`` when ``length`` is ``None``: every step counts), and the number
    of counted steps ``L`` (clipped to ``[0, T]``; ``T`` when ``length`` is ``None``). The
    emission rows after ``L`` are replaced by 0 before anything reads them, so whatever
    they held (NaN included) reaches no value and no gradient.
    """
    names = list(named)
    arrays = dict(zip(names, as_floats(names, list(named.values())), strict=True))
    emissions_shape = arrays["log_emissions"].shape
    if len(emissions_shape) != 2:
        raise ValueError(f"{function}: log_emissions must have shape (T, K), got shape "
                         f"{emissions_shape}; vmap the function for a batch of sequences")
    num_steps, num_states = emissions_shape
    if num_steps == 0 or num_states == 0:
        raise ValueError(f"{function}: log_emissions must have at least one step and one "
                         f"state, got shape {emissions_shape}")
    expected = {"log_initial": ("(K,)", (num_states,)),
                "log_transition": ("(K, K)", (num_states, num_states)),
                "log_filtered": ("(T, K)", (num_steps, num_states))}
    for name in names:
        if name in expected and arrays[name].shape != expected[name][1]:
            symbolic, shape = expected[name]
            raise ValueError(
                f"{function}: {name} must have shape {symbolic} = {shape} to match "
                f"log_emissions of shape (T, K) = {emissions_shape}, got shape "
                f"{arrays[name].shape}")
    valid = None
    num_counted: Array | int = num_steps
    if length is not None:
        length = jnp.asarray(length)
        if not (jnp.issubdtype(length.dtype, jnp.integer) or length.dtype == jnp.bool_):
            raise TypeError(f"{function}: length must be an integer, got dtype {length.dtype}")
        if length.ndim != 0:
            raise ValueError(f"{function}: length must be a scalar (one sequence; vmap for a "
                             f"batch), got shape {length.shape}")
        num_counted = jnp.clip(length.astype(jnp.int32), 0, num_steps)
        valid = jnp.arange(num_steps) < num_counted
        arrays["log_emissions"] = jnp.where(valid[:, None], arrays["log_emissions"], 0.0)
    order = ("log_initial", "log_transition", "log_emissions", "log_filtered")
    return (*[arrays[name] for name in order if name in arrays], valid, num_counted)


def _repeat_last_counted(rows: Array, valid: Array | None, num_counted) -> Array:
    """``rows`` with every row after the last counted one (row 0 if none) replaced by it."""
    if valid is None:
        return rows
    last = jnp.maximum(num_counted, 1) - 1
    kept = jnp.arange(rows.shape[0]) <= last
    return jnp.where(kept[:, None], rows, rows[last])


def _invalid(log_initial: Array, log_transition: Array, value: Array) -> Array:
    """Whether the result must be NaN: a NaN in the parameters, or in the computed value."""
    return jnp.isnan(value) | jnp.any(jnp.isnan(log_initial)) | jnp.any(jnp.isnan(log_transition))


def _poison(invalid: Array, *arrays: Array) -> tuple[Array, ...]:
    return tuple(jnp.where(invalid, jnp.nan, array).astype(array.dtype) for array in arrays)


# ---------------------------------------------------------------------------------------
# forward pass: rows whose normalization is the filter, and the log-likelihood


def _forward_sequential(log_initial, log_transition, log_emissions, num_counted):
    r"""``(rows, log_likelihood)``: ``rows[t]`` is :math:`\log p(z_t, x_{0:t})` up to a
    constant per row.

    The scan carries the predicted message :math:`\rho_t = \log p(z_t \mid x_{0:t-1})` up
    to a constant: ``joint = rho + E_t``, shifted by its maximum ``c_t``, then
    :math:`\rho_{t+1, j} = \mathrm{logsumexp}_i(\mathrm{joint}_i - c_t + A_{ij})`, and
    :math:`\log Z = \sum_{t < L-1} c_t + \mathrm{logsumexp}(\mathrm{joint}_{L-1})`. The
    scan runs on through the padding (emissions 0, so every value stays finite); its rows
    there are replaced afterwards. The loop body is a handful of kernels (one output, no
    scalar carry, no select; the shifts are recomputed from the rows): XLA's CPU runtime
    runs a loop body of up to about eight kernels inline and a larger one through its thread
    pool, several times slower per step.
    """
    def step(predicted, emission):
        joint = predicted + emission
        return _logsumexp(_shift_by_max(joint)[:, None] + log_transition, axis=0), joint

    _, rows = lax.scan(step, log_initial, log_emissions)
    num_steps = log_emissions.shape[0]
    last = num_steps - 1 if num_counted is None else jnp.maximum(num_counted, 1) - 1
    shifts = lax.stop_gradient(jnp.max(rows, axis=-1))
    shifts = jnp.where(jnp.arange(num_steps) < last, shifts, 0.0)
    return rows, jnp.sum(shifts) + _logsumexp(rows[last], axis=-1)


def _normalized_element(matrix: Array) -> tuple[Array, Array]:
    """A log-matrix as ``(matrix - scale, scale)``, ``scale`` its maximum (-inf if all -inf)."""
    peak = jnp.max(matrix, axis=(-2, -1))
    safe = jnp.where(peak == -jnp.inf, 0.0, peak)
    return matrix - safe[..., None, None], peak


def _combine(product):
    """The associative operation on ``(normalized log-matrix, log scale)`` elements."""
    def combine(first, second):
        matrix, scale = _normalized_element(product(first[0], second[0]))
        return matrix, first[1] + second[1] + scale
    return combine


def _transitions_into(log_transition: Array, num_steps: int, num_counted) -> Array:
    """``(T, K, K)`` (parallel paths only): the transition into each step.

    The log identity into step 0 and into padded steps, so the chain stays put there.
    """
    identity = _log_identity(log_transition.shape[0], log_transition.dtype)
    steps = jnp.arange(num_steps)
    moves = (steps > 0) & (steps < (num_steps if num_counted is None else num_counted))
    return jnp.where(moves[:, None, None], log_transition, identity)


def _step_matrices(log_initial, log_transition, log_emissions, num_counted):
    r"""``(matrices, transitions)``, both ``(T, K, K)``: :math:`M_t = A_{t-1 \to t} + E_t`
    (``E_t`` added to every row) and :math:`M_0` with every row :math:`\pi + E_0`.

    Every row of the prefix product :math:`M_0 \cdots M_t` (in log space) is the forward
    message :math:`\log p(z_t, x_{0:t})`.
    """
    num_steps, num_states = log_emissions.shape
    transitions = _transitions_into(log_transition, num_steps, num_counted)
    matrices = transitions + log_emissions[:, None, :]
    first = jnp.broadcast_to(log_initial + log_emissions[0], (num_states, num_states))
    return matrices.at[0].set(first), transitions


def _reversed_matrices(matrices: Array) -> Array:
    r"""The backward problem as a forward one: :math:`R_0 = \mathbf{0}` (log of all ones),
    :math:`R_s = M_{T-s}^\top`.

    Then :math:`R_0 \cdots R_s = (M_{T-s} \cdots M_{T-1} \mathbf{1})^\top`: every row is the
    backward message :math:`u_{T-1-s}`.
    """
    ones = jnp.zeros((1, *matrices.shape[1:]), matrices.dtype)
    return jnp.concatenate([ones, jnp.swapaxes(matrices[1:][::-1], -1, -2)])


def _prefix_rows(matrices: Array, product=_log_matmul) -> tuple[Array, Array]:
    """``(rows, scales)``: the first row of every prefix product along axis ``-3``, and its
    log scale; one associative scan for any leading (batch) axes."""
    axis = matrices.ndim - 3
    prefixes, scales = lax.associative_scan(_combine(product), _normalized_element(matrices),
                                            axis=axis)
    return prefixes[..., 0, :], scales


def _forward_parallel(log_initial, log_transition, log_emissions, num_counted):
    matrices, _ = _step_matrices(log_initial, log_transition, log_emissions, num_counted)
    rows, scales = _prefix_rows(matrices)
    return rows, scales[-1] + _logsumexp(rows[-1], axis=-1)


def _forward_backward_parallel(log_initial, log_transition, log_emissions, num_counted):
    """Forward rows, log-likelihood and backward messages by one associative scan (batched
    over the two directions)."""
    matrices, _ = _step_matrices(log_initial, log_transition, log_emissions, num_counted)
    rows, scales = _prefix_rows(jnp.stack([matrices, _reversed_matrices(matrices)]))
    return rows[0], scales[0, -1] + _logsumexp(rows[0, -1], axis=-1), rows[1, ::-1]


def _forward(log_initial, log_transition, log_emissions, num_counted, parallel: bool):
    if parallel:
        return _forward_parallel(log_initial, log_transition, log_emissions, num_counted)
    return _forward_sequential(log_initial, log_transition, log_emissions, num_counted)


# ---------------------------------------------------------------------------------------
# backward pass: messages u_t = log p(x_{t+1:} | z_t) up to a constant per step


def _backward_sequential(log_transition, log_emissions, num_counted):
    r"""``(T, K)`` backward messages, each shifted so that ``max(E_{t+1} + u_{t+1}) = 0``.

    Reverse scan: :math:`u_{L-1} = 0`,
    :math:`u_{t-1, i} = \mathrm{logsumexp}_j(A_{ij} + v_j - \max v)` with
    :math:`v = E_t + u_t`. With padding, the rows are first rolled so that the last counted
    step is the last row (the scan starts there from 0, and runs on through the padding,
    rolled to the front, whose results are dropped), and rolled back: no select in the
    loop, which would make its body too large to run inline (see
    :func:`_forward_sequential`). Rows after the last counted step are 0.
    """
    num_steps, num_states = log_emissions.shape

    def step(message, emission):
        shifted = _shift_by_max(emission + message)
        return _logsumexp(log_transition + shifted[None, :], axis=1), message

    start = jnp.zeros(num_states, log_emissions.dtype)
    if num_counted is None:
        return lax.scan(step, start, log_emissions, reverse=True)[1]
    last = jnp.maximum(num_counted, 1) - 1
    offset = num_steps - 1 - last
    rolled = jnp.roll(log_emissions, offset, axis=0)
    messages = jnp.roll(lax.scan(step, start, rolled, reverse=True)[1], -offset, axis=0)
    return jnp.where((jnp.arange(num_steps) <= last)[:, None], messages, 0.0)


def _backward_parallel(log_transition, log_emissions, num_counted):
    r"""The backward messages as suffix products :math:`M_{t+1} \cdots M_{T-1} \mathbf{1}`."""
    num_states = log_emissions.shape[1]
    initial = jnp.zeros(num_states, log_emissions.dtype)  # unused: M_0 is dropped
    matrices, _ = _step_matrices(initial, log_transition, log_emissions, num_counted)
    rows, _ = _prefix_rows(_reversed_matrices(matrices))
    return rows[::-1]


def _backward(log_transition, log_emissions, num_counted, parallel: bool):
    if parallel:
        return _backward_parallel(log_transition, log_emissions, num_counted)
    return _backward_sequential(log_transition, log_emissions, num_counted)


def _expected_transitions(log_filtered, log_transition, log_emissions, messages,
                          log_normalizers, num_counted, parallel: bool):
    r""":math:`\sum_{1 \le t < L} \xi_{t-1}`, every term formed in log space.

    :math:`\log \xi_{t-1, ij} = \hat\alpha_{t-1, i} + A_{ij} + v_{t, j} - N_{t-1}` with
    :math:`v_t = E_t + u_t` and :math:`N_{t-1}` the log-sum over ``(i, j)``, so each term is
    a probability: it never overflows, and no term that matters underflows. The sequential
    messages give :math:`N_{t-1} = \max v_t + \mathrm{lse}(\hat\alpha_{t-1} + u_{t-1})`
    (``log_normalizers`` holds the lse); ``None`` (the parallel messages, shifted by other
    constants) computes it here. Sequentially the terms are summed by a scan with a
    ``(K, K)`` carry (no ``(T, K, K)`` array, as fast on a CPU as one large reduction); in
    parallel by one reduction over ``t`` (a loop of ``T`` steps is slow on an accelerator).
    """
    following = log_emissions[1:] + messages[1:]
    previous = log_filtered[:-1]
    if log_normalizers is None:
        inner = _logsumexp(log_transition[None] + following[:, None, :], axis=-1)
        log_normalizers = _logsumexp(previous + inner, axis=-1)
    else:
        log_normalizers = lax.stop_gradient(jnp.max(following, axis=-1)) + log_normalizers[:-1]
    counted = log_normalizers > -jnp.inf
    if num_counted is not None:
        counted = counted & (jnp.arange(1, log_emissions.shape[0]) < num_counted)
    offset = jnp.where(counted, log_normalizers, 0.0)
    # uncounted steps (padding, impossible sequences) get -inf: their terms are exactly 0
    weights = jnp.where(counted[:, None], following - offset[:, None], -jnp.inf)
    if parallel:
        terms = previous[:, :, None] + log_transition[None] + weights[:, None, :]
        return jnp.sum(jnp.exp(terms), axis=0)

    def step(total, rows):
        row, weight = rows
        return total + jnp.exp(row[:, None] + log_transition + weight[None, :]), None

    return lax.scan(step, jnp.zeros_like(log_transition), (previous, weights))[0]


# ---------------------------------------------------------------------------------------
# Viterbi


def _first_argmax(candidates: Array, best: Array) -> Array:
    """The lowest ``i`` with ``candidates[i, j] == best[j]`` (``K - 1`` where none: NaN).

    A min-reduction of indices: inside a scan body much faster than ``jnp.argmax`` (a
    variadic reduction).
    """
    num_states = candidates.shape[0]
    index = lax.broadcasted_iota(jnp.int32, candidates.shape, 0)
    first = jnp.min(jnp.where(candidates == best[None, :], index, num_states), axis=0)
    return jnp.minimum(first, num_states - 1)


def _viterbi_sequential(log_initial, log_transition, log_emissions):
    r"""``(rows, pointers)``: ``rows[t]`` is :math:`\delta_t` up to a constant, and
    ``pointers[t]`` maps a state at ``t + 1`` to its best predecessor at ``t`` (``T - 1``).

    The scan carries the predicted best scores :math:`\max_i(\delta_{t-1,i} + A_{ij})` up
    to a constant, like the forward filter, and runs on through the padding (fixed
    afterwards). Its one output packs each row with its back-pointers (as floats, exact):
    one output and no select keep the loop body small enough to run inline (see
    :func:`_forward_sequential`).
    """
    num_states = log_emissions.shape[1]

    def step(predicted, emission):
        joint = predicted + emission
        candidates = _shift_by_max(joint)[:, None] + log_transition
        best = jnp.max(candidates, axis=0)
        pointers = _first_argmax(candidates, best).astype(joint.dtype)
        return best, jnp.concatenate([joint, pointers])

    _, packed = lax.scan(step, log_initial, log_emissions)
    return packed[:, :num_states], packed[:-1, num_states:].astype(jnp.int32)


def _viterbi_parallel(log_initial, log_transition, log_emissions, num_counted):
    """``(rows, pointers)`` by a max-plus prefix scan, then vectorized argmaxes."""
    matrices, transitions = _step_matrices(log_initial, log_transition, log_emissions,
                                           num_counted)
    rows, _ = _prefix_rows(matrices, _max_matmul)  # delta_t up to a constant per step
    candidates = rows[:-1, :, None] + transitions[1:]
    return rows, jnp.argmax(candidates, axis=1).astype(jnp.int32)


def _backtrack_sequential(pointers: Array, last: Array) -> Array:
    """``path[t] = pointers[t][path[t + 1]]`` from ``path[T - 1] = last``: a reverse scan."""
    def step(state, row):
        previous = row[state]
        return previous, previous

    _, path = lax.scan(step, last, pointers, reverse=True)
    return jnp.concatenate([path, last[None]])


def _backtrack_parallel(pointers: Array, last: Array) -> Array:
    """The same path by suffix compositions of the back-pointer maps (associative)."""
    if pointers.shape[0] == 0:
        return last[None]

    states = jnp.arange(pointers.shape[-1], dtype=pointers.dtype)

    def compose(later, earlier):  # in reverse, associative_scan calls fn(later, earlier)
        # (earlier o later)[k] = earlier[later[k]], as a select and a sum: a gather here
        # takes XLA many times longer to compile
        chosen = later[..., :, None] == states
        return jnp.sum(jnp.where(chosen, earlier[..., None, :], 0), axis=-1, dtype=earlier.dtype)

    maps = lax.associative_scan(compose, pointers, reverse=True)
    return jnp.concatenate([maps[:, last], last[None]])


# ---------------------------------------------------------------------------------------
# public functions


@jit(static_argnames=("parallel",))
def forward_filter(log_initial: ArrayLike, log_transition: ArrayLike, log_emissions: ArrayLike,
                   *, length: ArrayLike | None = None,
                   parallel: bool = False) -> tuple[Array, Array]:
    r"""Log-likelihood and filtered state log-probabilities of a hidden Markov model.

    The forward recursion in normalized log space: :math:`\tilde\alpha_0 = \pi + E_0`,
    :math:`\tilde\alpha_{t,j} = E_{t,j} + \mathrm{logsumexp}_i(\hat\alpha_{t-1,i} + A_{ij})`,
    :math:`c_t = \mathrm{logsumexp}_j \tilde\alpha_{t,j}`,
    :math:`\hat\alpha_t = \tilde\alpha_t - c_t = \log p(z_t \mid x_{0:t})`, and
    :math:`\log p(x_{0:L-1}) = \sum_t c_t`.

    Args:
        log_initial: :math:`\log p(z_0 = k)`, shape ``(K,)``.
        log_transition: :math:`\log p(z_{t+1} = j \mid z_t = i)`, shape ``(K, K)``.
        log_emissions: :math:`\log p(x_t \mid z_t = k)`, shape ``(T, K)``.
        length: optional integer scalar ``L``: only the first ``L`` steps count; the padded
            rows of ``log_filtered`` repeat its last counted row (see :mod:`mlmath.hmm`).
        parallel: ``True`` for the O(log T)-depth associative scan (accelerators).

    Returns:
        ``(log_likelihood, log_filtered)``: a scalar, and
        :math:`\log p(z_t = k \mid x_{0:t})` of shape ``(T, K)``.

    Example:
        >>> import jax.numpy as jnp
        >>> import numpy as np
        >>> from mlmath.hmm import forward_filter
        >>> log_initial = jnp.log(jnp.array([0.5, 0.5]))
        >>> log_transition = jnp.log(jnp.array([[0.9, 0.1], [0.2, 0.8]]))
        >>> log_emissions = jnp.log(jnp.array([[0.7, 0.1], [0.7, 0.1], [0.1, 0.6]]))
        >>> log_likelihood, log_filtered = forward_filter(log_initial, log_transition,
        ...                                               log_emissions)
        >>> print(round(float(log_likelihood), 4), np.exp(log_filtered[1]).round(3))
        -3.2735 [0.968 0.032]
    """
    initial, transition, emissions, valid, num_counted = _prepare(
        "forward_filter", length, log_initial=log_initial, log_transition=log_transition,
        log_emissions=log_emissions)
    counted = None if valid is None else num_counted
    rows, log_likelihood = _forward(initial, transition, emissions, counted, parallel)
    log_filtered, _ = _log_normalize(rows)
    log_filtered = _repeat_last_counted(log_filtered, valid, num_counted)
    invalid = _invalid(initial, transition, log_likelihood)
    log_likelihood, log_filtered = _poison(invalid, log_likelihood, log_filtered)
    return log_likelihood, log_filtered


@jit(static_argnames=("parallel",))
def backward_smoother(log_transition: ArrayLike, log_emissions: ArrayLike,
                      log_filtered: ArrayLike, *, length: ArrayLike | None = None,
                      parallel: bool = False) -> Array:
    r"""Smoothed state log-probabilities :math:`\log p(z_t \mid x_{0:L-1})` from the filter.

    The backward recursion, shifted at every step: :math:`u_{L-1} = 0`,
    :math:`u_{t,i} = \mathrm{logsumexp}_j(A_{ij} + E_{t+1,j} + u_{t+1,j}) - \mathrm{const}_t`,
    so that :math:`u_t = \log p(x_{t+1:L-1} \mid z_t)` up to a constant, and
    :math:`\log p(z_t \mid x) = \hat\alpha_t + u_t - \mathrm{logsumexp}(\hat\alpha_t + u_t)`
    with :math:`\hat\alpha_t` the filtered log-probabilities. This is the two-filter form:
    it reads the emissions instead of dividing by predicted probabilities, which may be 0.

    Args:
        log_transition: :math:`\log p(z_{t+1} = j \mid z_t = i)`, shape ``(K, K)``.
        log_emissions: :math:`\log p(x_t \mid z_t = k)`, shape ``(T, K)``.
        log_filtered: :math:`\log p(z_t = k \mid x_{0:t})` from :func:`forward_filter`
            (with the same ``length``), shape ``(T, K)``.
        length: optional integer scalar ``L``: only the first ``L`` steps count; the padded
            rows (of the result, and read from ``log_filtered``) repeat the last counted row.
        parallel: ``True`` for the O(log T)-depth associative scan.

    Returns:
        :math:`\log p(z_t = k \mid x_{0:L-1})`, shape ``(T, K)``.

    Example:
        >>> import jax.numpy as jnp
        >>> import numpy as np
        >>> from mlmath.hmm import backward_smoother, forward_filter
        >>> log_initial = jnp.log(jnp.array([0.5, 0.5]))
        >>> log_transition = jnp.log(jnp.array([[0.9, 0.1], [0.2, 0.8]]))
        >>> log_emissions = jnp.log(jnp.array([[0.7, 0.1], [0.7, 0.1], [0.1, 0.6]]))
        >>> _, log_filtered = forward_filter(log_initial, log_transition, log_emissions)
        >>> log_smoothed = backward_smoother(log_transition, log_emissions, log_filtered)
        >>> print(np.exp(log_smoothed[1]).round(3))
        [0.901 0.099]
    """
    transition, emissions, filtered, valid, num_counted = _prepare(
        "backward_smoother", length, log_transition=log_transition,
        log_emissions=log_emissions, log_filtered=log_filtered)
    counted = None if valid is None else num_counted
    filtered = _repeat_last_counted(filtered, valid, num_counted)
    messages = _backward(transition, emissions, counted, parallel)
    log_smoothed, log_normalizers = _log_normalize(filtered + messages)
    log_smoothed = _repeat_last_counted(log_smoothed, valid, num_counted)
    invalid = jnp.any(jnp.isnan(log_normalizers)) | jnp.any(jnp.isnan(transition))
    (log_smoothed,) = _poison(invalid, log_smoothed)
    return log_smoothed


@jit(static_argnames=("parallel",))
def forward_backward(log_initial: ArrayLike, log_transition: ArrayLike,
                     log_emissions: ArrayLike, *, length: ArrayLike | None = None,
                     parallel: bool = False) -> ForwardBackward:
    r"""Log-likelihood, state posteriors and expected transition counts of an HMM.

    :func:`forward_filter` then :func:`backward_smoother`, and the pairwise posteriors
    :math:`\xi_{t,ij} = p(z_t = i, z_{t+1} = j \mid x)
    = \exp(\hat\alpha_{t,i} + A_{ij} + E_{t+1,j} + u_{t+1,j} - N_t)` summed over ``t``
    without forming a ``(T, K, K)`` array, :math:`N_t` (their log-sum over ``(i, j)``) being
    known from the smoother's normalizers. Each term is formed in log space: the factorized
    form :math:`P \odot (\hat\alpha^\top W)` with :math:`W_{tj} = e^{E_{t+1,j} + u_{t+1,j} - N_t}`
    (a matrix product of probabilities) overflows where a future observation makes a state
    far more likely than the past predicted it, as zeros in the transition matrix easily
    do; this form cannot.

    Args:
        log_initial: :math:`\log p(z_0 = k)`, shape ``(K,)``.
        log_transition: :math:`\log p(z_{t+1} = j \mid z_t = i)`, shape ``(K, K)``.
        log_emissions: :math:`\log p(x_t \mid z_t = k)`, shape ``(T, K)``.
        length: optional integer scalar ``L``: only the first ``L`` steps count.
        parallel: ``True`` for the O(log T)-depth associative scans.

    Returns:
        :class:`ForwardBackward`: ``log_likelihood`` (a scalar), ``posteriors``
        :math:`p(z_t = k \mid x)` of shape ``(T, K)`` and ``expected_transitions``
        :math:`\sum_{t < L-1} \xi_t` of shape ``(K, K)`` (the statistics of an EM update of
        the transition matrix: normalize its rows).

    Example:
        >>> import jax.numpy as jnp
        >>> import numpy as np
        >>> from mlmath.hmm import forward_backward
        >>> log_initial = jnp.log(jnp.array([0.5, 0.5]))
        >>> log_transition = jnp.log(jnp.array([[0.9, 0.1], [0.2, 0.8]]))
        >>> log_emissions = jnp.log(jnp.array([[0.7, 0.1], [0.7, 0.1], [0.1, 0.6]]))
        >>> result = forward_backward(log_initial, log_transition, log_emissions)
        >>> print(np.asarray(result.posteriors[2]).round(3))
        [0.545 0.455]
        >>> print(np.asarray(result.expected_transitions).round(3))
        [[1.414 0.407]
         [0.032 0.148]]
    """
    initial, transition, emissions, valid, num_counted = _prepare(
        "forward_backward", length, log_initial=log_initial, log_transition=log_transition,
        log_emissions=log_emissions)
    counted = None if valid is None else num_counted
    if parallel:
        rows, log_likelihood, messages = _forward_backward_parallel(
            initial, transition, emissions, counted)
    else:
        rows, log_likelihood = _forward_sequential(initial, transition,
                                                   emissions, counted)
        messages = _backward_sequential(transition, emissions, counted)
    log_filtered, _ = _log_normalize(rows)
    log_smoothed, log_normalizers = _log_normalize(log_filtered + messages)
    log_smoothed = _repeat_last_counted(log_smoothed, valid, num_counted)
    expected = _expected_transitions(log_filtered, transition, emissions, messages,
                                     None if parallel else log_normalizers, counted, parallel)
    invalid = _invalid(initial, transition, log_likelihood)
    log_likelihood, posteriors, expected = _poison(invalid, log_likelihood,
                                                   jnp.exp(log_smoothed), expected)
    return ForwardBackward(log_likelihood, posteriors, expected)


@jit(static_argnames=("parallel",))
def viterbi(log_initial: ArrayLike, log_transition: ArrayLike, log_emissions: ArrayLike, *,
            length: ArrayLike | None = None, parallel: bool = False) -> tuple[Array, Array]:
    r"""The most probable state path of a hidden Markov model, and its log-probability.

    Max-product in log space: :math:`\delta_0 = \pi + E_0`,
    :math:`\delta_{t,j} = E_{t,j} + \max_i(\delta_{t-1,i} + A_{ij})` (shifted by its maximum
    at every step) with back-pointers
    :math:`\psi_{t,j} = \mathrm{argmax}_i(\delta_{t-1,i} + A_{ij})`, then backtracking by a
    second, reverse scan: :math:`z_{L-1} = \mathrm{argmax}\,\delta_{L-1}`,
    :math:`z_{t-1} = \psi_{t, z_t}`. Ties go to the lowest state.

    Args:
        log_initial: :math:`\log p(z_0 = k)`, shape ``(K,)``.
        log_transition: :math:`\log p(z_{t+1} = j \mid z_t = i)`, shape ``(K, K)``.
        log_emissions: :math:`\log p(x_t \mid z_t = k)`, shape ``(T, K)``.
        length: optional integer scalar ``L``: only the first ``L`` steps count; the padded
            steps of the path repeat its last counted state.
        parallel: ``True`` for O(log T)-depth associative scans: max-plus matrix products
            for the scores, compositions of the back-pointer maps for the backtracking.

    Returns:
        ``(path, log_probability)``: ``int32`` states of shape ``(T,)``, and
        :math:`\max_z \log p(z, x_{0:L-1})`, summed along the path (so its gradient is the
        path's indicator: the derivative of the maximum).

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.hmm import viterbi
        >>> log_initial = jnp.log(jnp.array([0.5, 0.5]))
        >>> log_transition = jnp.log(jnp.array([[0.9, 0.1], [0.2, 0.8]]))
        >>> log_emissions = jnp.log(jnp.array([[0.7, 0.1], [0.7, 0.1], [0.1, 0.6]]))
        >>> path, log_probability = viterbi(log_initial, log_transition, log_emissions)
        >>> print(path, round(float(log_probability), 4))
        [0 0 0] -3.9198
    """
    initial, transition, emissions, valid, num_counted = _prepare(
        "viterbi", length, log_initial=log_initial, log_transition=log_transition,
        log_emissions=log_emissions)
    num_steps, num_states = emissions.shape
    if parallel:
        rows, pointers = _viterbi_parallel(initial, transition, emissions,
                                           None if valid is None else num_counted)
    else:
        rows, pointers = _viterbi_sequential(initial, transition, emissions)
    scores = rows[jnp.maximum(num_counted, 1) - 1]  # the last counted step's
    moves = jnp.arange(1, num_steps) < num_counted  # the transitions between counted steps
    if valid is not None:  # the path stays put through the padding
        pointers = jnp.where(moves[:, None], pointers, jnp.arange(num_states, dtype=jnp.int32))
    last = jnp.argmax(scores).astype(jnp.int32)
    path = (_backtrack_parallel if parallel else _backtrack_sequential)(pointers, last)
    # the path's own log joint probability (padded emissions are 0 and add nothing)
    steps = jnp.where(moves, transition[path[:-1], path[1:]], 0.0)
    log_probability = (initial[path[0]] + jnp.sum(steps)
                       + jnp.sum(jnp.take_along_axis(emissions, path[:, None], axis=1)))
    invalid = _invalid(initial, transition, jnp.sum(scores))
    (log_probability,) = _poison(invalid, log_probability)
    return path, log_probability
