r"""Convergence diagnostics of MCMC draws, in JAX (see :mod:`mlmath.mcmc`).

Rank-normalized split :math:`\hat R` and bulk / tail effective sample sizes as defined by
Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-normalization, folding, and
localization: an improved :math:`\hat R` for assessing convergence of MCMC", with the
choices ArviZ makes (Blom's rank offsets, split chains of ``N // 2`` draws that drop the
middle draw of an odd ``N``, Geyer's initial monotone sequence), so the numbers equal
ArviZ's on the same draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array
from jax.scipy.special import ndtri
from jax.typing import ArrayLike

from mlmath._jit import jit
from mlmath._validation import as_float


def _draws(function: str, draws: ArrayLike) -> Array:
    draws = as_float(draws, "draws")
    if draws.ndim < 2 or draws.shape[1] < 4:
        raise ValueError(f"{function}: draws must have shape (chain, draw, ...) with at least "
                         f"4 draws per chain, got shape {draws.shape}")
    return draws


def _per_variable(fn: Callable, draws: Array) -> Array:
    """``fn`` of each ``(chain, draw)`` slice of ``draws (chain, draw, *shape)``."""
    shape = draws.shape[2:]
    flat = draws.reshape(draws.shape[:2] + (-1,))
    return jax.vmap(fn, in_axes=2)(flat).reshape(shape)


def _split(x: Array) -> Array:
    """Each chain as two half chains: ``(C, N) -> (2C, N // 2)``."""
    half = x.shape[1] // 2
    return jnp.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _z_scale(x: Array) -> Array:
    """The normal scores of the pooled average ranks, :math:`\\Phi^{-1}((r - 3/8)/(S + 1/4))`."""
    flat = x.ravel()
    ordered = jnp.sort(flat)
    below = jnp.searchsorted(ordered, flat, side="left")
    up_to = jnp.searchsorted(ordered, flat, side="right")
    # the average rank of a tied group, in the draws' precision
    rank = (below.astype(x.dtype) + 1 + up_to.astype(x.dtype)) / 2
    return ndtri((rank - 0.375) / (flat.size + 0.25)).reshape(x.shape)


def _rhat_basic(x: Array) -> Array:
    n = x.shape[1]
    between = n * jnp.var(jnp.mean(x, axis=1), ddof=1)
    within = jnp.mean(jnp.var(x, axis=1, ddof=1))
    return jnp.sqrt((between / within + n - 1) / n)


def _autocovariance(x: Array) -> Array:
    """The biased (divisor ``N``) autocovariance of each chain at every lag, by FFT."""
    n = x.shape[1]
    centred = x - jnp.mean(x, axis=1, keepdims=True)
    size = 2 ** math.ceil(math.log2(2 * n))
    transform = jnp.fft.rfft(centred, n=size, axis=1)
    return jnp.fft.irfft(transform * jnp.conj(transform), n=size, axis=1)[:, :n] / n


def _ess_basic(x: Array) -> Array:
    """The effective sample size of ``(chain, draw)`` draws by Geyer's initial monotone
    sequence estimator on the pooled autocorrelations."""
    chains, n = x.shape
    acov = jnp.mean(_autocovariance(x), axis=0)
    mean_var = acov[0] * n / (n - 1)
    var_plus = mean_var * (n - 1) / n
    if chains > 1:
        var_plus = var_plus + jnp.var(jnp.mean(x, axis=1), ddof=1)
    rho = 1 - (mean_var - acov) / var_plus
    rho = rho.at[0].set(1.0)
    # pairs P_k = rho_2k + rho_2k+1, for the k the sequence may reach (2k + 1 < n - 2)
    num_pairs = max((n - 2 + 1) // 2, 1)
    even = rho[0:2 * num_pairs:2]
    odd = jnp.concatenate([rho[1:2 * num_pairs:2], jnp.zeros(num_pairs, rho.dtype)])[
        :num_pairs]
    pairs = even + odd
    k = jnp.arange(num_pairs)
    # Geyer's initial positive sequence: stop at the first k >= 1 with P_k <= 0 (or at the
    # last pair the chain length allows); the pairs before it are summed
    stop_candidates = (k >= 1) & (pairs <= 0)
    last = num_pairs - 1
    stop = jnp.where(pairs[0] <= 0, 0, jnp.where(jnp.any(stop_candidates),
                                                 jnp.argmax(stop_candidates), last))
    kept = k < stop
    # Geyer's initial monotone sequence: each kept pair at most the one before it
    monotone = jax.lax.cummin(jnp.where(kept, pairs, jnp.inf))
    # the even autocorrelation at the stop is added once when positive (or kept anyway
    # when its pair was accepted, i.e. when the chain length ended the sequence)
    accepted = (stop == last) & (pairs[stop] > 0) | (pairs[stop] == 0)
    extra = jnp.where((even[stop] > 0) | accepted, even[stop], 0.0)
    tau = -1 + 2 * jnp.sum(jnp.where(kept, monotone, 0.0)) + extra
    total = chains * n
    tau = jnp.maximum(tau, 1 / math.log10(total))
    ess = total / tau
    constant = (jnp.max(x) - jnp.min(x)) < jnp.finfo(jnp.float64).resolution
    ess = jnp.where(constant, total, ess)
    return jnp.where(jnp.any(jnp.isnan(rho)) & ~constant, jnp.nan, ess)


def _quantile_indicator(x: Array, probability: float) -> Array:
    return (x <= jnp.quantile(x, probability)).astype(x.dtype)


@jit
def rhat(draws: ArrayLike) -> Array:
    r"""Rank-normalized split :math:`\hat R`: the larger of the bulk :math:`\hat R` (of the
    normal scores of the ranks of the split chains) and the tail :math:`\hat R` (the same
    of the draws folded about their median).

    Args:
        draws: shape ``(chain, draw, ...)``, at least 4 draws per chain.

    Returns:
        One :math:`\hat R` per variable, shape ``draws.shape[2:]``. Values above 1.01 say
        the chains have not mixed (Vehtari et al. 2021). Equal to ``arviz.rhat``. NaN for
        draws holding a NaN, or a variable constant within every chain.

    Example:
        >>> import jax
        >>> from mlmath.mcmc import rhat
        >>> draws = jax.random.normal(jax.random.key(0), (4, 1000))
        >>> bool(rhat(draws) < 1.01)
        True
    """
    draws = _draws("rhat", draws)

    def one(x):
        split = _split(x)
        bulk = _rhat_basic(_z_scale(split))
        tail = _rhat_basic(_z_scale(jnp.abs(split - jnp.median(split))))
        value = jnp.maximum(bulk, tail)
        return jnp.where(jnp.any(jnp.isnan(x)), jnp.nan, value)

    return _per_variable(one, draws)


@jit(static_argnames=("kind",))
def ess(draws: ArrayLike, kind: str = "bulk") -> Array:
    r"""The effective sample size of each variable.

    Args:
        draws: shape ``(chain, draw, ...)``, at least 4 draws per chain.
        kind: ``"bulk"`` (of the rank-normalized split chains: the precision of the
            centre of the distribution), ``"tail"`` (the smaller of the effective sample
            sizes of the indicators of the 5% and 95% quantiles: the precision of the
            tails), or ``"mean"`` (of the split chains as they are: the one that gives the
            Monte Carlo standard error of the mean, see :func:`mcse`).

    Returns:
        Shape ``draws.shape[2:]``; equal to ``arviz.ess(..., method=kind)``. A chain of
        independent draws has an ESS near the number of draws; an antithetic one can
        exceed it.
    """
    draws = _draws("ess", draws)
    if kind == "bulk":
        def one(x):
            return _ess_basic(_z_scale(_split(x)))
    elif kind == "tail":
        def one(x):
            low = _ess_basic(_split(_quantile_indicator(x, 0.05)))
            high = _ess_basic(_split(_quantile_indicator(x, 0.95)))
            return jnp.minimum(low, high)
    elif kind == "mean":
        def one(x):
            return _ess_basic(_split(x))
    else:
        raise ValueError(f"ess: kind must be 'bulk', 'tail' or 'mean', got {kind!r}")

    return _per_variable(lambda x: jnp.where(jnp.any(jnp.isnan(x)), jnp.nan, one(x)), draws)


@jit
def mcse(draws: ArrayLike) -> Array:
    r"""The Monte Carlo standard error of the mean of each variable:
    :math:`\mathrm{sd} / \sqrt{\mathrm{ESS}_{\mathrm{mean}}}` (``arviz.mcse``)."""
    draws = _draws("mcse", draws)

    def one(x):
        return jnp.std(x, ddof=1) / jnp.sqrt(_ess_basic(_split(x)))

    return _per_variable(one, draws)


def summary(samples: Any, *, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> Summary:
    """A table of each variable's mean, sd, quantiles, MCSE, bulk and tail ESS and
    :math:`\\hat R`, for a pytree of draws with leading ``(chain, draw)`` axes (the
    ``draws`` of :func:`sample`, or any such arrays). Prints like ArviZ's summary;
    :meth:`Summary.to_inference_data` converts the draws for ArviZ when it is installed."""
    leaves = jax.tree_util.tree_leaves_with_path(samples)
    if not leaves:
        raise ValueError("summary: samples holds no arrays")
    rows = []
    for path, leaf in leaves:
        leaf = _draws("summary", leaf)
        name = jax.tree_util.keystr(path) or "x"
        name = name.strip("[]'\".")
        stats = _statistics(leaf, tuple(float(q) for q in quantiles))
        flat = {key: jnp.ravel(value) for key, value in stats.items()}
        shape = leaf.shape[2:]
        for i, index in enumerate(_indices(shape)):
            label = name + (f"[{', '.join(map(str, index))}]" if shape else "")
            rows.append((label, {key: float(value[i]) for key, value in flat.items()}))
    return Summary(rows, tuple(quantiles), samples)


def _indices(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    import itertools

    return list(itertools.product(*(range(n) for n in shape)))


@jit(static_argnames=("quantiles",))
def _statistics(draws: Array, quantiles: tuple[float, ...]) -> dict[str, Array]:
    pooled = draws.reshape((-1,) + draws.shape[2:])
    stats = {"mean": jnp.mean(pooled, axis=0), "sd": jnp.std(pooled, axis=0, ddof=1)}
    for q in quantiles:
        stats[f"{100 * q:g}%"] = jnp.quantile(pooled, q, axis=0)
    stats["mcse_mean"] = mcse(draws)
    stats["ess_bulk"] = ess(draws, "bulk")
    stats["ess_tail"] = ess(draws, "tail")
    stats["r_hat"] = rhat(draws)
    return stats


class Summary:
    """The rows of :func:`summary`: ``(name, {statistic: value})``; prints as a table."""

    def __init__(self, rows: list[tuple[str, dict[str, float]]], quantiles: tuple[float, ...],
                 samples: Any) -> None:
        self.rows = rows
        self.quantiles = quantiles
        self._samples = samples

    def __getitem__(self, name: str) -> dict[str, float]:
        for label, values in self.rows:
            if label == name:
                return values
        raise KeyError(name)

    def __repr__(self) -> str:
        if not self.rows:
            return "Summary()"
        columns = list(self.rows[0][1])
        width = max(len(label) for label, _ in self.rows)
        header = " " * width + "".join(f"{c:>10}" for c in columns)
        lines = [header]
        for label, values in self.rows:
            cells = []
            for c in columns:
                v = values[c]
                cells.append(f"{v:>10.0f}" if c.startswith("ess") else f"{v:>10.3f}")
            lines.append(f"{label:<{width}}" + "".join(cells))
        return "\n".join(lines)

    def to_inference_data(self) -> Any:
        """The draws as an ``arviz.InferenceData`` (ArviZ must be installed)."""
        try:
            import arviz
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("Summary.to_inference_data needs ArviZ: pip install arviz") \
                from error
        leaves = jax.tree_util.tree_leaves_with_path(self._samples)
        posterior = {}
        for path, leaf in leaves:
            name = (jax.tree_util.keystr(path) or "x").strip("[]'\".")
            posterior[name] = jax.device_get(leaf)
        return arviz.from_dict(posterior=posterior)
