r"""Markov chains on finite state spaces: simulation, structure, stationarity, mixing.

A chain on the states :math:`\{0, \dots, K-1\}` is given by its transition matrix
``transition (K, K)``, :math:`P_{ij} = p(x_{t+1} = j \mid x_t = i)` (row ``i`` is the state
moved from; every row is a probability vector). The functions here are pure and jitted at
their definition; they compose with ``jax.vmap`` (many chains, many matrices) and run on
every backend (no ``eig``, which JAX has on the CPU only):

* :func:`simulate`: a path of the chain from an initial distribution (``vmap`` over keys
  for many chains);
* :func:`n_step`: :math:`P^n` by repeated squaring, ``n`` traced;
* :func:`chain_structure`: the communicating classes, which are closed (recurrent), and
  the period of each; :func:`is_irreducible` and :func:`is_aperiodic` read it;
* :func:`stationary_distribution`: the solution of :math:`\pi P = \pi`,
  :math:`\sum_i \pi_i = 1`, by the Grassmann–Taksar–Heyman elimination (no subtraction, so
  every digit is kept even for nearly decomposable chains), with the chain's structure
  reported beside it: a chain with several closed classes has no unique stationary
  distribution and gets NaN (never an average of several); a periodic chain has a unique
  one that :math:`\mu P^t` does not converge to, and says so;
* :func:`spectral_gap`: :math:`1 - \lambda_\star`, where :math:`\lambda_\star` is the
  largest modulus of an eigenvalue other than the eigenvalue 1 (the second largest
  eigenvalue modulus), and :func:`mixing_time_bounds`: the integer range it and the
  time reversal give to the total-variation mixing time;
* :func:`pagerank`: the stationary distribution of the damped random walk on a graph,
  computed as NetworkX does (dangling nodes jump to the personalization vector);
* :func:`ngram_model`: the N-gram language model, a Markov chain of order ``n - 1`` over
  tokens, fitted by counts with add-``k`` smoothing (:class:`NGramModel`: ``log_prob`` of a
  sequence, ``sample``).

Invalid input gives NaN, never a plausible number: a transition matrix with a negative,
infinite or NaN entry, or a row whose sum is further than :math:`\sqrt{\epsilon}` from 1
(the dtype's machine epsilon; :math:`3.5 \times 10^{-4}` in float32) makes every floating
output NaN, every boolean output ``False`` and a simulated path ``-1``. Shapes and static
arguments are checked while tracing, with a ``ValueError`` that names the argument.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from mlmath import _special
from mlmath._jit import jit
from mlmath._validation import as_float, as_floats

__all__ = [
    "ChainStructure",
    "MixingTimeBounds",
    "NGramModel",
    "PageRank",
    "Stationary",
    "chain_structure",
    "is_aperiodic",
    "is_irreducible",
    "mixing_time_bounds",
    "n_step",
    "ngram_model",
    "pagerank",
    "simulate",
    "spectral_gap",
    "stationary_distribution",
]


class ChainStructure(NamedTuple):
    """The communicating classes of a chain (:func:`chain_structure`).

    Attributes:
        classes: ``(K,)`` integers: the class of each state, named by its smallest state.
            States ``i`` and ``j`` communicate (each is reachable from the other) exactly
            when ``classes[i] == classes[j]``.
        recurrent: ``(K,)`` booleans: the state's class is closed (nothing outside it is
            reachable from it), so the state is recurrent; otherwise transient.
        period: ``(K,)`` integers: the period of the state's class, the greatest common
            divisor of the lengths of the paths from a state back to itself; 0 for a state
            that cannot return (a transient singleton with no self-loop).
        num_closed_classes: the number of closed classes (at least 1 for a valid chain); the
            stationary distribution is unique exactly when it is 1.
    """

    classes: Array
    recurrent: Array
    period: Array
    num_closed_classes: Array


class Stationary(NamedTuple):
    """The stationary distribution of a chain and what the chain's structure says of it.

    Attributes:
        distribution: ``(K,)``: the unique :math:`\\pi` with :math:`\\pi P = \\pi` and
            :math:`\\sum \\pi = 1` (0 on transient states); NaN when it is not unique
            (several closed classes) or the matrix is invalid.
        unique: there is exactly one closed class, so exactly one stationary distribution.
        irreducible: every state communicates with every other (then :math:`\\pi > 0`).
        aperiodic: every closed class has period 1, so :math:`\\mu P^t` converges for every
            initial distribution :math:`\\mu` (to :math:`\\pi` when it is unique). A periodic
            chain's :math:`\\pi` is a time average, not a limit.
    """

    distribution: Array
    unique: Array
    irreducible: Array
    aperiodic: Array


class MixingTimeBounds(NamedTuple):
    """Bounds on :math:`t_{\\mathrm{mix}}(\\varepsilon)` (:func:`mixing_time_bounds`).

    Attributes:
        lower: an integer-valued float (``inf`` when the chain never mixes).
        upper: an integer-valued float (``inf`` when the bound says nothing: a reducible or
            periodic chain, or a time reversal with no spectral gap).
    """

    lower: Array
    upper: Array


class PageRank(NamedTuple):
    """PageRank scores (:func:`pagerank`).

    Attributes:
        scores: ``(N,)`` non-negative, summing to 1.
        n_iter: the number of power-iteration steps taken.
        converged: the :math:`\\ell_1` change of the last step was below ``N * tol``.
    """

    scores: Array
    n_iter: Array
    converged: Array


# ---------------------------------------------------------------------------------------
# checks


def _square(function: str, name: str, matrix: ArrayLike) -> Array:
    matrix = as_float(matrix, name)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"{function}: {name} must be a non-empty square matrix of shape "
                         f"(K, K), got shape {matrix.shape}; vmap the function for a batch")
    return matrix


def _transition(function: str, transition: ArrayLike) -> tuple[Array, Array]:
    """The matrix as a float array, and whether it is a valid transition matrix."""
    P = _square(function, "transition", transition)
    tolerance = math.sqrt(float(jnp.finfo(P.dtype).eps))
    valid = (jnp.all((P >= 0) & (P < jnp.inf))
             & jnp.all(jnp.abs(jnp.sum(P, axis=1) - 1) <= tolerance))
    return P, valid


def _static_int(function: str, name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{function}: {name} must be an int >= {minimum}, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------
# simulation and powers


@jit(static_argnames=("num_steps",))
def simulate(key: Array, transition: ArrayLike, initial: ArrayLike, num_steps: int) -> Array:
    r"""A path :math:`x_0, \dots, x_{T-1}` of the chain: :math:`x_0 \sim` ``initial``, then
    :math:`x_{t+1} \sim P_{x_t, \cdot}`.

    Args:
        key: a JAX random key; the same key gives the same path.
        transition: ``(K, K)`` transition matrix.
        initial: ``(K,)`` distribution of :math:`x_0` (a one-hot vector starts from a state).
        num_steps: ``T`` (static), the length of the path, at least 1.

    Returns:
        ``(T,)`` int32 states; every entry ``-1`` when ``transition`` or ``initial`` is not
        a valid distribution. Many chains: ``jax.vmap`` over keys (and initial vectors).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath.markov import simulate
        >>> P = jnp.array([[0.0, 1.0], [1.0, 0.0]])
        >>> simulate(jax.random.key(0), P, jnp.array([1.0, 0.0]), 5).tolist()
        [0, 1, 0, 1, 0]
    """
    P, valid = _transition("simulate", transition)
    (initial,) = as_floats(["initial"], [initial])
    if initial.shape != (P.shape[0],):
        raise ValueError(f"simulate: initial must have shape (K,) = ({P.shape[0]},) to match "
                         f"transition, got shape {initial.shape}")
    _static_int("simulate", "num_steps", num_steps, 1)
    tolerance = math.sqrt(float(jnp.finfo(initial.dtype).eps))
    valid &= jnp.all((initial >= 0) & (initial < jnp.inf)) & (
        jnp.abs(jnp.sum(initial) - 1) <= tolerance)
    log_P = _special.safe_log(P.astype(jnp.result_type(P, initial)))
    start_key, steps_key = jax.random.split(key)
    start = jax.random.categorical(start_key, _special.safe_log(initial))

    def step(state, step_key):
        following = jax.random.categorical(step_key, log_P[state])
        return following, following

    _, rest = lax.scan(step, start, jax.random.split(steps_key, num_steps - 1))
    path = jnp.concatenate([start[None], rest]).astype(jnp.int32)
    return jnp.where(valid, path, -1)


@jit
def n_step(transition: ArrayLike, n: ArrayLike) -> Array:
    r""":math:`P^n`, the ``n``-step transition matrix: :math:`(P^n)_{ij} = p(x_{t+n} = j
    \mid x_t = i)`, by repeated squaring (about :math:`2\log_2 n` products).

    ``n`` is a traced non-negative integer (one program for every ``n``); :math:`P^0 = I`.
    A negative ``n`` or an invalid ``transition`` gives NaN.
    """
    P, valid = _transition("n_step", transition)
    n = jnp.asarray(n)
    if not jnp.issubdtype(n.dtype, jnp.integer) or n.ndim != 0:
        raise ValueError(f"n_step: n must be an integer scalar, got dtype {n.dtype} and shape "
                         f"{n.shape}")

    def body(state):
        result, power, m = state
        result = jnp.where(m % 2 == 1, result @ power, result)
        return result, power @ power, m // 2

    result, _, _ = lax.while_loop(lambda s: s[2] > 0, body,
                                  (jnp.eye(P.shape[0], dtype=P.dtype), P, jnp.maximum(n, 0)))
    return jnp.where(valid & (n >= 0), result, jnp.nan)


# ---------------------------------------------------------------------------------------
# structure


def _gcd_reduce(x: Array) -> Array:
    """The greatest common divisor along the last axis (gcd(0, a) = a; all zero gives 0)."""
    while x.shape[-1] > 1:
        if x.shape[-1] % 2:
            x = jnp.concatenate([x, jnp.zeros_like(x[..., :1])], axis=-1)
        x = jnp.gcd(x[..., 0::2], x[..., 1::2])
    return x[..., 0]


def _structure(P: Array, valid: Array) -> ChainStructure:
    K = P.shape[0]
    edges = P > 0
    # reachability in any number of steps (0 included), by squaring the boolean matrix
    reach0 = (edges | jnp.eye(K, dtype=bool)).astype(P.dtype)
    squarings = max(1, math.ceil(math.log2(K))) if K > 1 else 0
    reach = lax.fori_loop(0, squarings, lambda _, R: ((R @ R) > 0).astype(R.dtype), reach0) > 0
    same = reach & reach.T
    classes = jnp.argmax(same, axis=1).astype(jnp.int32)  # the first state of each class
    recurrent = jnp.all(~reach | reach.T, axis=1)
    representative = classes == jnp.arange(K)
    num_closed = jnp.sum(representative & recurrent).astype(jnp.int32)

    # breadth-first distances from each class's first state, along edges inside the class;
    # the period is the gcd of d_i + 1 - d_j over those edges i -> j
    inside = edges & same
    far = jnp.asarray(K, jnp.int32)
    start = jnp.where(representative, 0, far).astype(jnp.int32)

    def relax(state):
        distance, _ = state
        through = jnp.min(jnp.where(inside, distance[:, None] + 1, far), axis=0)
        updated = jnp.minimum(distance, through)
        return updated, jnp.any(updated != distance)

    distance, _ = lax.while_loop(lambda s: s[1], relax, (start, jnp.asarray(True)))
    offsets = jnp.where(inside, jnp.abs(distance[:, None] + 1 - distance[None, :]), 0)
    per_state = _gcd_reduce(offsets)
    period = _gcd_reduce(jnp.where(same, per_state[None, :], 0)).astype(jnp.int32)
    return ChainStructure(jnp.where(valid, classes, -1), recurrent & valid,
                          jnp.where(valid, period, -1), jnp.where(valid, num_closed, 0))


@jit
def chain_structure(transition: ArrayLike) -> ChainStructure:
    """The communicating classes of the chain, which are closed, and their periods.

    Reads only which entries of ``transition`` are positive (:math:`O(K^3 \\log K)` work).
    An invalid matrix gives classes and periods of ``-1``, ``recurrent`` all ``False`` and
    ``num_closed_classes = 0``.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.markov import chain_structure
        >>> P = jnp.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
        >>> s = chain_structure(P)  # 0 leaks into the closed class {1, 2} of period 2
        >>> s.classes.tolist(), s.recurrent.tolist(), s.period.tolist()
        ([0, 1, 1], [False, True, True], [1, 2, 2])
    """
    return _structure(*_transition("chain_structure", transition))


@jit
def is_irreducible(transition: ArrayLike) -> Array:
    """Whether every state can reach every other (one communicating class)."""
    structure = _structure(*_transition("is_irreducible", transition))
    return jnp.all(structure.classes == 0)


@jit
def is_aperiodic(transition: ArrayLike) -> Array:
    """Whether every closed class has period 1: then :math:`P^t` converges as
    :math:`t \\to \\infty` (for an irreducible chain: the chain is aperiodic)."""
    P, valid = _transition("is_aperiodic", transition)
    structure = _structure(P, valid)
    return valid & jnp.all(~structure.recurrent | (structure.period == 1))


# ---------------------------------------------------------------------------------------
# stationary distribution


def _gth(P: Array, active: Array) -> Array:
    """The stationary distribution of the chain ``P`` restricted to the ``active`` states, a
    closed communicating class whose first state is state 0, by GTH elimination.

    Grassmann, Taksar and Heyman (1985): eliminating the states from the last, the rates
    out of each are sums of non-negative numbers, never differences, so the result keeps
    full relative accuracy. Inactive states (zero rows and columns) are skipped and get 0.
    """
    K = P.shape[0]
    A = jnp.where(active[:, None] & active[None, :], P, 0.0)
    index = jnp.arange(K)

    def eliminate(step, A):
        k = K - 1 - step
        before = index < k
        out = jnp.sum(jnp.where(before, A[k], 0.0))
        scale = jnp.where(out > 0, 1.0 / jnp.where(out > 0, out, 1.0), 0.0)
        column = jnp.where(before, A[:, k] * scale, A[:, k])
        A = A.at[:, k].set(column)
        update = jnp.where(before[:, None] & before[None, :],
                           column[:, None] * A[k][None, :], 0.0)
        return A + update

    A = lax.fori_loop(0, K - 1, eliminate, A)

    def substitute(k, x):
        return x.at[k].set(jnp.sum(jnp.where(index < k, x * A[:, k], 0.0)))

    x = lax.fori_loop(1, K, substitute, jnp.zeros(K, P.dtype).at[0].set(1.0))
    return x / jnp.sum(x)


def _stationary(P: Array, valid: Array) -> Stationary:
    structure = _structure(P, valid)
    unique = structure.num_closed_classes == 1
    # the closed class first, then the transient states (which get probability 0)
    order = jnp.argsort(~structure.recurrent, stable=True)
    permuted = P[order][:, order]
    pi_permuted = _gth(permuted, structure.recurrent[order])
    pi = jnp.zeros_like(pi_permuted).at[order].set(pi_permuted)
    irreducible = valid & jnp.all(structure.classes == 0)
    aperiodic = valid & jnp.all(~structure.recurrent | (structure.period == 1))
    return Stationary(jnp.where(valid & unique, pi, jnp.nan), valid & unique, irreducible,
                      aperiodic)


@jit
def stationary_distribution(transition: ArrayLike) -> Stationary:
    r"""The stationary distribution :math:`\pi P = \pi`, :math:`\sum_i \pi_i = 1`, with the
    chain's irreducibility and aperiodicity reported beside it.

    Solved exactly (up to rounding) by Grassmann–Taksar–Heyman elimination on the closed
    class, in :math:`O(K^3)`; transient states get 0. A chain with several closed classes
    has a family of stationary distributions, not one: ``distribution`` is NaN and
    ``unique`` is ``False``. A periodic chain keeps its unique :math:`\pi` and reports
    ``aperiodic=False``: :math:`\mu P^t` oscillates instead of converging to it.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.markov import stationary_distribution
        >>> P = jnp.array([[0.9, 0.1], [0.5, 0.5]])
        >>> result = stationary_distribution(P)
        >>> [round(p, 4) for p in result.distribution.tolist()], bool(result.aperiodic)
        ([0.8333, 0.1667], True)
    """
    return _stationary(*_transition("stationary_distribution", transition))


# ---------------------------------------------------------------------------------------
# spectral gap and mixing


_SQUARINGS = 40


def _second_eigenvalue_modulus(P: Array, stationary: Stationary) -> Array:
    r"""The largest modulus of an eigenvalue of ``P`` other than the eigenvalue 1 of the
    stationary distribution: the spectral radius of :math:`M = P - \mathbf{1}\pi^\top`.

    :math:`M` has the eigenvalue 0 on :math:`\mathbf 1` and keeps every other eigenvalue of
    :math:`P` with its eigenvectors (Hotelling's deflation with the exact left and right
    eigenvectors, so a diagonalizable ``P`` gives a diagonalizable ``M``). Its spectral
    radius is Gelfand's limit :math:`\lim_k \lVert M^{2^k}\rVert^{1/2^k}`, taken by
    squaring a normalized matrix ``_SQUARINGS`` times and adding up the logarithms of the
    norms with weights :math:`2^{-k}` (the tail of the series estimated from the last
    norm): matrix products only, so it runs on every backend.
    A chain that is periodic or has several closed classes has an eigenvalue of modulus 1
    besides the eigenvalue 1 (a root of unity, or 1 repeated); its structure says so
    exactly, so the result is then exactly 1.
    """
    K = P.shape[0]
    M = P - jnp.where(stationary.unique, stationary.distribution, 0.0)[None, :]

    def body(k, state):
        N, log_radius = state
        norm = jnp.sqrt(jnp.sum(N * N))
        alive = norm > 0
        log_radius = log_radius + jnp.where(alive, jnp.log(jnp.where(alive, norm, 1.0)),
                                            -jnp.inf) * 0.5 ** k
        N = jnp.where(alive, N / jnp.where(alive, norm, 1.0), 0.0)
        return N @ N, log_radius

    N, log_radius = lax.fori_loop(0, _SQUARINGS, body, (M, jnp.zeros((), P.dtype)))
    # the tail of the series: the norms converge (to |v'u| of the dominant projection
    # u v'), so the terms after the last add up to its log times sum_{k >= 40} 2^-k
    tail = jnp.sqrt(jnp.sum(N * N))
    log_radius = log_radius + jnp.where(tail > 0, jnp.log(jnp.where(tail > 0, tail, 1.0)),
                                        0.0) * 0.5 ** (_SQUARINGS - 1)
    radius = jnp.minimum(jnp.exp(log_radius), 1.0) if K > 1 else jnp.zeros((), P.dtype)
    return jnp.where(stationary.unique & stationary.aperiodic, radius, 1.0)


@jit
def spectral_gap(transition: ArrayLike) -> Array:
    r"""The absolute spectral gap :math:`1 - \lambda_\star`, where :math:`\lambda_\star` is
    the largest modulus of an eigenvalue of :math:`P` other than 1 (the eigenvalue of the
    constant vector).

    The distance to stationarity decays like :math:`\lambda_\star^t` (for every chain,
    :math:`\lambda_\star^t \le 2\, d(t)`, and for reversible chains
    :math:`d(t) \le \lambda_\star^t / \min_i \pi_i`), so :math:`1/\text{gap}` is the
    relaxation time. The gap is 0 for a periodic chain (an eigenvalue :math:`-1` or another
    root of unity) and for a chain with several closed classes (the eigenvalue 1 repeated);
    it is 1 for a chain whose rows are all equal (independent draws). Computed from matrix
    products only (:math:`40\,K^3` multiply-adds), so it runs on GPUs and TPUs, where JAX
    has no ``eig``; agrees with ``numpy.linalg.eigvals`` to the dtype's rounding.
    """
    P, valid = _transition("spectral_gap", transition)
    slem = _second_eigenvalue_modulus(P, _stationary(P, valid))
    return jnp.where(valid, 1.0 - slem, jnp.nan)


@jit
def mixing_time_bounds(transition: ArrayLike, epsilon: ArrayLike = 0.25) -> MixingTimeBounds:
    r"""Integer bounds on the mixing time :math:`t_{\mathrm{mix}}(\varepsilon) =
    \min\{t : \max_x \lVert P^t(x, \cdot) - \pi\rVert_{TV} \le \varepsilon\}`.

    * ``lower`` :math:`= \lceil \log(1/2\varepsilon) / \log(1/\lambda_\star) \rceil`, from
      :math:`\lambda_\star^t \le 2 d(t)`, which holds for every chain
      (:math:`\lambda_\star` as in :func:`spectral_gap`);
    * ``upper``: the least :math:`t` with :math:`\beta^t \le 4\varepsilon^2 \pi_{\min}`,
      where :math:`\beta` is the second largest eigenvalue of the multiplicative
      reversiblization :math:`P\tilde P` (:math:`\tilde P` the time reversal): Fill's
      (1991) bound :math:`4\, d_x(t)^2 \le \beta^t / \pi(x)`, which holds for irreducible
      chains, reversible or not. For a reversible chain :math:`\beta = \lambda_\star^2`.

    A chain that never mixes (periodic, or several closed classes) gets
    ``lower = upper = inf``; a reducible chain with one closed class mixes but has
    :math:`\pi_{\min} = 0`, so ``upper`` is ``inf``. ``epsilon`` outside ``(0, 1)`` or an
    invalid matrix gives NaN.
    """
    P, valid = _transition("mixing_time_bounds", transition)
    epsilon = jnp.asarray(epsilon, P.dtype)
    stationary = _stationary(P, valid)
    pi = stationary.distribution
    slem = _second_eigenvalue_modulus(P, stationary)
    lower = jnp.ceil(jnp.maximum(jnp.log(1 / (2 * epsilon)), 0.0) / -jnp.log(slem))
    lower = jnp.where(jnp.log(1 / (2 * epsilon)) <= 0, 0.0, lower)
    # beta: the squared second singular value of D^(1/2) P D^(-1/2)
    positive = stationary.irreducible
    root = jnp.sqrt(jnp.where(positive, pi, 1.0))
    S = root[:, None] * P / root[None, :]
    singular = jnp.linalg.svd(S, compute_uv=False)
    beta = jnp.minimum(singular[1] ** 2, 1.0) if P.shape[0] > 1 else jnp.zeros((), P.dtype)
    needed = jnp.log(1 / (4 * epsilon ** 2 * jnp.min(jnp.where(positive, pi, 1.0))))
    upper = jnp.where(needed <= 0, 0.0,
                      jnp.where(beta == 0, 1.0, jnp.ceil(needed / -jnp.log(beta))))
    upper = jnp.where(positive & stationary.aperiodic, upper, jnp.inf)
    ok = valid & (epsilon > 0) & (epsilon < 1)
    return MixingTimeBounds(jnp.where(ok, lower, jnp.nan), jnp.where(ok, upper, jnp.nan))


# ---------------------------------------------------------------------------------------
# PageRank


@jit
def pagerank(adjacency: ArrayLike, damping: ArrayLike = 0.85, *,
             personalization: ArrayLike | None = None, tol: ArrayLike = 1e-6,
             max_iter: ArrayLike = 100) -> PageRank:
    r"""PageRank: the stationary distribution of a random surfer on a weighted directed
    graph who follows an out-edge (chosen in proportion to its weight) with probability
    ``damping`` and otherwise jumps to a node drawn from ``personalization``.

    ``adjacency[i, j]`` is the weight of the edge ``i -> j`` (0: no edge; the diagonal
    holds self-loops). A dangling node (no out-edge) jumps to ``personalization``
    (uniform by default), as in ``networkx.pagerank``, whose iteration this is: from the
    uniform vector, :math:`x \leftarrow \alpha(xW + (x \cdot d)\,p) + (1 - \alpha)p`
    until the :math:`\ell_1` change is below ``N * tol`` or ``max_iter`` steps
    (``converged`` says which). Negative, infinite or NaN weights, a personalization that is
    not a non-negative vector with a positive sum, or ``damping`` outside ``[0, 1]`` give
    NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.markov import pagerank
        >>> A = jnp.array([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
        >>> [round(s, 3) for s in pagerank(A).scores.tolist()]
        [0.388, 0.215, 0.397]
    """
    A = _square("pagerank", "adjacency", adjacency)
    N = A.shape[0]
    if personalization is None:
        p = jnp.full((N,), 1.0 / N, A.dtype)
        p_valid = jnp.asarray(True)
    else:
        p = as_float(personalization, "personalization", A.dtype)
        if p.shape != (N,):
            raise ValueError(f"pagerank: personalization must have shape (N,) = ({N},), got "
                             f"shape {p.shape}")
        p_valid = jnp.all((p >= 0) & (p < jnp.inf)) & (jnp.sum(p) > 0)
        p = p / jnp.sum(p)
    damping = jnp.asarray(damping, A.dtype)
    tol = jnp.asarray(tol, A.dtype)
    out = jnp.sum(A, axis=1)
    dangling = out == 0
    W = A / jnp.where(dangling, 1.0, out)[:, None]

    def continuing(state):
        _, _, i, done = state
        return (i < max_iter) & ~done

    def step(state):
        x, _, i, _ = state
        following = damping * (x @ W + jnp.sum(jnp.where(dangling, x, 0.0)) * p) + (
            1 - damping) * p
        return following, x, i + 1, jnp.sum(jnp.abs(following - x)) < N * tol

    x0 = jnp.full((N,), 1.0 / N, A.dtype)
    x, _, n_iter, converged = lax.while_loop(
        continuing, step, (x0, x0, jnp.zeros((), jnp.int32), jnp.asarray(False)))
    valid = (jnp.all((A >= 0) & (A < jnp.inf)) & p_valid & (damping >= 0) & (damping <= 1)
             & ~jnp.isnan(tol))
    return PageRank(jnp.where(valid, x, jnp.nan), n_iter, converged & valid)


# ---------------------------------------------------------------------------------------
# N-gram models


class NGramModel(eqx.Module):
    r"""An N-gram language model: the next token depends on the ``n - 1`` before it only.

    ``log_probs`` has shape ``(V,) * n``: ``log_probs[w_1, ..., w_{n-1}, w]`` is
    :math:`\log p(w \mid w_1 \dots w_{n-1})`; each row over the last axis sums to 1 in
    probability, or is NaN where the maximum-likelihood estimate is undefined (a context
    never seen, without smoothing). Made by :func:`ngram_model`.
    """

    log_probs: Array
    order: int = eqx.field(static=True)

    @property
    def vocab_size(self) -> int:
        return self.log_probs.shape[-1]

    @jit
    def log_prob(self, tokens: ArrayLike) -> Array:
        r"""The log-probability of ``tokens[..., n-1:]`` given the first ``n - 1`` tokens
        of each sequence: :math:`\sum_{t \ge n-1} \log p(w_t \mid w_{t-n+1} \dots w_{t-1})`.

        ``-inf`` for an n-gram of probability 0 (unseen, without smoothing); NaN for a
        token outside ``0..V-1`` or a context the model has no estimate for. The
        perplexity is ``exp(-log_prob / (T - n + 1))``.
        """
        tokens = jnp.asarray(tokens)
        windows, in_range = _windows("NGramModel.log_prob", tokens, self.order,
                                     self.vocab_size)
        picked = self.log_probs[tuple(jnp.moveaxis(windows, -1, 0))]
        return jnp.where(in_range, jnp.sum(picked, axis=-1), jnp.nan)

    @jit(static_argnames=("num_tokens",))
    def sample(self, key: Array, context: ArrayLike, num_tokens: int) -> Array:
        """``num_tokens`` tokens drawn one at a time after ``context``, the ``n - 1``
        tokens that start the text (shape ``(n - 1,)``; empty for a unigram model).

        Returns ``(num_tokens,)`` int32; ``-1`` from the first token whose context has no
        estimate (or after a ``context`` token out of range).
        """
        _static_int("NGramModel.sample", "num_tokens", num_tokens, 1)
        context = jnp.asarray(context, jnp.int32)
        if context.shape != (self.order - 1,):
            raise ValueError(f"NGramModel.sample: context must have shape (n - 1,) = "
                             f"({self.order - 1},), got shape {context.shape}")
        V = self.vocab_size
        ok = jnp.all((context >= 0) & (context < V))

        def step(state, step_key):
            window, ok = state
            logits = self.log_probs[tuple(window)]
            ok &= ~jnp.any(jnp.isnan(logits))
            token = jax.random.categorical(step_key, jnp.where(ok, logits, 0.0)).astype(
                jnp.int32)
            token = jnp.where(ok, token, -1)
            if self.order > 1:
                window = jnp.concatenate([window[1:], jnp.maximum(token, 0)[None]])
            return (window, ok), token

        start = jnp.clip(context, 0, V - 1)
        _, tokens = lax.scan(step, (start, ok), jax.random.split(key, num_tokens))
        return tokens


def _windows(function: str, tokens: Array, n: int, V: int) -> tuple[Array, Array]:
    """The n-token windows of ``tokens (..., T)``, shape ``(..., T - n + 1, n)``, clipped
    into range, and whether every token of each sequence was in ``0..V-1``."""
    if not (jnp.issubdtype(tokens.dtype, jnp.integer)):
        raise ValueError(f"{function}: tokens must be integers, got dtype {tokens.dtype}")
    if tokens.ndim < 1 or tokens.shape[-1] < n:
        raise ValueError(f"{function}: tokens must have shape (..., T) with T >= n = {n}, "
                         f"got shape {tokens.shape}")
    in_range = jnp.all((tokens >= 0) & (tokens < V), axis=-1)
    clipped = jnp.clip(tokens, 0, V - 1).astype(jnp.int32)
    T = tokens.shape[-1]
    windows = jnp.stack([clipped[..., i:T - n + 1 + i] for i in range(n)], axis=-1)
    return windows, in_range


@jit(static_argnames=("n", "vocab_size"))
def ngram_model(tokens: ArrayLike, n: int, vocab_size: int,
                smoothing: ArrayLike = 0.0) -> NGramModel:
    r"""Fit an N-gram model by counting: :math:`p(w \mid c) = (N(c, w) + k) / (N(c) + kV)`.

    Args:
        tokens: integer tokens in ``0..V-1``, shape ``(..., T)``: one sequence, or several
            of one length (the n-grams are counted within each, never across two).
        n: the order (static, at least 1): 1 is the unigram model, 2 the bigram model
            (a Markov chain on tokens), and so on.
        vocab_size: ``V`` (static).
        smoothing: ``k >= 0``, added to every count (add-one / Laplace smoothing is 1).
            With ``k = 0`` this is the maximum-likelihood estimate; a context never seen
            then has no estimate (its row is NaN) and an unseen n-gram after a seen context
            has probability 0.

    The table has :math:`V^n` entries. A token out of range or a negative or NaN
    ``smoothing`` makes the whole table NaN.

    Example:
        >>> import jax.numpy as jnp
        >>> from mlmath.markov import ngram_model
        >>> model = ngram_model(jnp.array([0, 1, 0, 1, 1]), n=2, vocab_size=2)
        >>> jnp.exp(model.log_probs).round(3).tolist()  # p(next | previous)
        [[0.0, 1.0], [0.5, 0.5]]
    """
    _static_int("ngram_model", "n", n, 1)
    _static_int("ngram_model", "vocab_size", vocab_size, 1)
    tokens = jnp.asarray(tokens)
    windows, in_range = _windows("ngram_model", tokens, n, vocab_size)
    k = as_float(smoothing, "smoothing")
    if k.ndim != 0:
        raise ValueError(f"ngram_model: smoothing must be a scalar, got shape {k.shape}")
    dtype = k.dtype
    flat = jnp.ravel_multi_index(tuple(windows.reshape(-1, n).T), (vocab_size,) * n,
                                 mode="clip")
    counts = jnp.zeros(vocab_size ** n, dtype).at[flat].add(1.0).reshape((vocab_size,) * n)
    smoothed = counts + k
    totals = jnp.sum(smoothed, axis=-1, keepdims=True)
    log_probs = _special.safe_log(smoothed) - jnp.log(jnp.where(totals > 0, totals, jnp.nan))
    valid = jnp.all(in_range) & (k >= 0)
    return NGramModel(jnp.where(valid, log_probs, jnp.nan), n)
