"""``CategoricalHMM`` and ``GaussianHMM``: hmmlearn's surface over the pure Baum–Welch.

Sequences are given as hmmlearn gives them: one array ``X`` of all the observations, the
sequences one after another, and ``lengths`` (their lengths, summing to ``len(X)``;
``None`` for one sequence). The estimators pad them into a batch on the host (NumPy index
arithmetic, no program per layout) and call the pure functions of :mod:`mlmath.hmm`.
"""

from __future__ import annotations

import abc
from typing import Any, NamedTuple, cast

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from mlmath._estimator import (
    Estimator,
    InvalidParameterError,
    check_bool,
    check_choice,
    check_enough_samples,
    check_features,
    check_gaussian_prior_fields,
    check_gaussian_prior_for_fit,
    check_int,
    check_n_features,
    check_positive,
    check_positive_definite,
    check_probability_rows,
    check_scalar_for_fit,
    concrete_initial_array,
    default_key,
    python_scalar,
)
from mlmath._validation import concrete_value
from mlmath.hmm._baum_welch import (
    CATEGORICAL_UPDATES,
    GAUSSIAN_UPDATES,
    CategoricalHMMParams,
    GaussianHMMParams,
    HMMFit,
    HMMPrior,
    fit_categorical_hmm,
    fit_gaussian_hmm,
    hmm_posteriors,
    hmm_viterbi,
    sample_hmm,
)
from mlmath.mixture import (
    COVARIANCE_TYPES,
    GaussianMixturePrior,
    covariance_shape,
    covariances_from_precisions_cholesky,
)

DECODERS = ("viterbi", "map")


class ConvergenceMonitor(NamedTuple):
    """hmmlearn's ``monitor_``, read-only: ``history`` (the objective of every EM step,
    a list of floats), ``iter`` (the number of steps) and ``converged``."""

    history: list[float]
    iter: int
    converged: bool


class _Layout(NamedTuple):
    rows: np.ndarray  # (S, T): the row of X at each padded position (0 in the padding)
    lengths: np.ndarray  # (S,)
    positions: np.ndarray  # (n,): the padded position of each row of X


def _layout(lengths: Any, n: int, owner: str) -> _Layout | None:
    """hmmlearn's ``lengths`` as a padded layout, checked; ``None`` for one sequence."""
    if lengths is None:
        return None
    values = np.asarray(lengths)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{owner}: lengths must be a non-empty 1-D sequence of sequence "
                         f"lengths, got shape {values.shape}")
    if not (np.issubdtype(values.dtype, np.integer)
            or (np.issubdtype(values.dtype, np.floating) and np.all(values == np.round(values)))):
        raise ValueError(f"{owner}: lengths must be integers, got {values.tolist()}")
    values = values.astype(np.int64)
    if np.any(values < 1):
        raise ValueError(f"{owner}: every sequence length must be >= 1, got "
                         f"{values.tolist()}")
    if int(values.sum()) != n:
        raise ValueError(f"{owner}: lengths sum to {int(values.sum())}, but X has {n} rows; "
                         "the sequences must cover X exactly")
    S, T = values.size, int(values.max())
    starts = np.concatenate([[0], np.cumsum(values)[:-1]])
    steps = np.arange(T)
    counted = steps[None, :] < values[:, None]
    index = np.where(counted, starts[:, None] + steps[None, :], 0).astype(np.int32)
    positions = (np.arange(S)[:, None] * T + steps[None, :])[counted].astype(np.int32)
    return _Layout(index, values.astype(np.int32), positions)


@jax.jit
def _gather_rows(X: Array, index: Array) -> Array:
    return X[index]


@jax.jit
def _ungather(padded: Array, positions: Array) -> Array:
    S, T = padded.shape[:2]
    return padded.reshape((S * T,) + padded.shape[2:])[positions]


@jax.jit
def _total(values: Array) -> Array:
    return jnp.sum(values)


@jax.jit
def _most_probable_state(posteriors: Array) -> Array:
    return jnp.argmax(posteriors, axis=-1).astype(jnp.int32)


def _check_concentration(name: str, value: Any, owner: str) -> None:
    concrete = concrete_value(value)
    if concrete is not None and not (np.all(np.isfinite(concrete)) and np.all(concrete >= 1)):
        raise InvalidParameterError(
            f"{owner}: {name} must be >= 1 (a Dirichlet concentration with a mode; 1 is no "
            f"prior), got {value!r}")


def _check_concentration_shape(name: str, value: Any, shapes: tuple, owner: str) -> None:
    shape = tuple(np.shape(value))
    if shape not in shapes:
        raise ValueError(f"{owner}: {name} must have one of the shapes {list(shapes)}, got "
                         f"{shape}")


class _HMM(Estimator):
    """What the two estimators share: the chain's fields, the sequence layout, decoding,
    scoring and sampling."""

    n_components: int = eqx.field(static=True, default=1, converter=python_scalar)
    startprob_prior: Array | float = 1.0
    transmat_prior: Array | float = 1.0
    n_iter: int = eqx.field(static=True, default=10, converter=python_scalar)
    tol: Array | float = 1e-2
    algorithm: str = eqx.field(static=True, default="viterbi")
    parallel: bool = eqx.field(static=True, default=False)
    startprob_init: Array | None = None
    transmat_init: Array | None = None
    startprob_: Array | None = None
    transmat_: Array | None = None
    converged_: Array | None = None
    n_iter_: Array | None = None
    history_: Array | None = None

    def __check_init__(self):
        owner = type(self).__name__
        check_int("n_components", self.n_components, 1, owner)
        check_int("n_iter", self.n_iter, 1, owner)
        check_positive("tol", self.tol, allow_zero=True, owner=owner)
        check_choice("algorithm", self.algorithm, DECODERS, owner)
        check_bool("parallel", self.parallel, owner)
        _check_concentration("startprob_prior", self.startprob_prior, owner)
        _check_concentration("transmat_prior", self.transmat_prior, owner)

    @abc.abstractmethod
    def _model(self) -> CategoricalHMMParams | GaussianHMMParams:
        """The fitted parameters as the pure functions take them."""

    @abc.abstractmethod
    def _observations(self, X: Any, fitted: bool) -> Array:
        """``X`` checked and converted (against the fitted shapes when ``fitted``)."""

    @property
    def _covariance_kind(self) -> str:
        return "diag"

    def _check_chain_inits(self, owner: str) -> None:
        K = self.n_components
        _check_concentration_shape("startprob_prior", self.startprob_prior, ((), (K,)), owner)
        _check_concentration_shape("transmat_prior", self.transmat_prior, ((), (K,), (K, K)),
                                   owner)
        for name, shape in (("startprob_init", (K,)), ("transmat_init", (K, K))):
            value = concrete_initial_array(getattr(self, name), name, owner, shape)
            if value is not None:
                check_probability_rows(value, name, owner)

    def _fit_checks(self, X: Array, padded_lengths: Any, owner: str) -> None:
        n = X.shape[0] if padded_lengths is None else int(np.asarray(padded_lengths).sum())
        check_enough_samples(n, self.n_components, "n_components", "state", owner)
        check_scalar_for_fit("tol", self.tol, owner)
        self._check_chain_inits(owner)

    def _sequences(self, X: Any, lengths: Any, fitted: bool) -> tuple[Array, Any, Any]:
        """``(X, lengths, positions)`` for the pure functions: ``X`` itself and ``None``
        for one sequence, else the padded batch, its lengths and the positions of the rows
        of ``X`` in it."""
        X = self._observations(X, fitted)
        layout = _layout(lengths, X.shape[0], type(self).__name__)
        if layout is None:
            return X, None, None
        return (_gather_rows(X, jnp.asarray(layout.rows)), jnp.asarray(layout.lengths),
                jnp.asarray(layout.positions))

    def _fitted_chain(self, fit: HMMFit, **emission: Any) -> Any:
        return self._fitted(startprob_=fit.params.initial, transmat_=fit.params.transition,
                            converged_=fit.converged, n_iter_=fit.n_iter,
                            history_=fit.history, **emission)

    @property
    def monitor_(self) -> ConvergenceMonitor:
        """hmmlearn's convergence monitor, read from ``history_``, ``n_iter_`` and
        ``converged_``."""
        self._check_fitted()
        n_iter = int(cast(Array, self.n_iter_))
        history = np.asarray(self.history_)[:n_iter].tolist()
        return ConvergenceMonitor(history, n_iter, bool(self.converged_))

    def _posteriors(self, X: Any, lengths: Any) -> tuple[Array, Array]:
        self._check_fitted()
        X, padded_lengths, positions = self._sequences(X, lengths, True)
        log_likelihood, posteriors = hmm_posteriors(
            self._model(), X, lengths=padded_lengths, covariance_type=self._covariance_kind,
            parallel=self.parallel)
        if positions is not None:
            posteriors = _ungather(posteriors, positions)
        return log_likelihood, posteriors

    def score(self, X: ArrayLike, lengths: ArrayLike | None = None) -> Array:
        """The log-likelihood of the sequences (their sum), as hmmlearn's ``score``."""
        return _total(self._posteriors(X, lengths)[0])

    def score_samples(self, X: ArrayLike,
                      lengths: ArrayLike | None = None) -> tuple[Array, Array]:
        """``(log_likelihood, posteriors (n, K))``, as hmmlearn's ``score_samples``."""
        log_likelihood, posteriors = self._posteriors(X, lengths)
        return _total(log_likelihood), posteriors

    def predict_proba(self, X: ArrayLike, lengths: ArrayLike | None = None) -> Array:
        """The posterior probability of each state at each row, ``(n, K)``."""
        return self._posteriors(X, lengths)[1]

    def decode(self, X: ArrayLike, lengths: ArrayLike | None = None,
               algorithm: str | None = None) -> tuple[Array, Array]:
        """``(log_probability, states (n,))``: with ``"viterbi"`` the most probable state
        path of each sequence and the joint log-probability of the paths and the data;
        with ``"map"`` the most probable state at each row and the log-likelihood (as
        hmmlearn). ``algorithm`` defaults to the estimator's."""
        algorithm = self.algorithm if algorithm is None else algorithm
        check_choice("algorithm", algorithm, DECODERS, type(self).__name__)
        if algorithm == "map":
            log_likelihood, posteriors = self.score_samples(X, lengths)
            return log_likelihood, _most_probable_state(posteriors)
        self._check_fitted()
        X, padded_lengths, positions = self._sequences(X, lengths, True)
        path, log_probability = hmm_viterbi(
            self._model(), X, lengths=padded_lengths, covariance_type=self._covariance_kind,
            parallel=self.parallel)
        if positions is not None:
            path = _ungather(path, positions)
        return _total(log_probability), path

    def predict(self, X: ArrayLike, lengths: ArrayLike | None = None) -> Array:
        """The decoded state of each row, ``(n,)`` (``algorithm``: Viterbi by default)."""
        return self.decode(X, lengths)[1]

    def sample(self, key: Array, n_samples: int = 1) -> tuple[Array, Array]:
        """One sequence of ``n_samples`` steps: ``(X, states)``."""
        check_int("n_samples", n_samples, 1, type(self).__name__)
        self._check_fitted()
        return sample_hmm(key, self._model(), int(n_samples),
                          covariance_type=self._covariance_kind)


def _static_features(value: Any) -> Any:
    return None if value is None else python_scalar(value)


class CategoricalHMM(_HMM):
    r"""A hidden Markov model with categorical emissions, fitted by Baum–Welch.

    hmmlearn's ``CategoricalHMM``: ``X`` holds integer symbols ``(n,)`` or ``(n, 1)`` in
    ``[0, n_features)`` (``n_features`` defaults to the largest symbol seen plus one),
    sequences as ``lengths``. ``fit(X, lengths, key=...)`` runs
    :func:`mlmath.hmm.fit_categorical_hmm` in one compiled loop: ``n_iter`` steps at most,
    until the log-likelihood (plus log prior) changes by less than ``tol``. The start
    probabilities and transitions start uniform and the emission rows at random unless
    given (``startprob_init``, ``transmat_init``, ``emissionprob_init``); ``params``
    names the parameters re-estimated (``"s"`` start, ``"t"`` transitions, ``"e"``
    emissions). ``startprob_prior``, ``transmat_prior`` and ``emissionprob_prior`` are
    Dirichlet concentrations (``>= 1``; 1 is no prior, as hmmlearn's defaults).

    Fitted: ``startprob_``, ``transmat_``, ``emissionprob_``, ``converged_`` (false when
    ``n_iter`` ran out or the likelihood is zero or NaN; hmmlearn calls reaching
    ``n_iter`` converged), ``n_iter_``, ``history_`` (one objective per step, NaN after
    the last) and ``monitor_``. A state no posterior mass reaches keeps its rows.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath import CategoricalHMM
        >>> X = jnp.array([0, 0, 0, 0, 1, 1, 1, 1] * 8)
        >>> hmm = CategoricalHMM(n_components=2, n_iter=100).fit(X, key=jax.random.key(0))
        >>> bool(hmm.converged_), hmm.predict(X[:8]).tolist() in ([0] * 4 + [1] * 4,
        ...                                                       [1] * 4 + [0] * 4)
        (True, True)
    """

    n_features: int | None = eqx.field(static=True, default=None, converter=_static_features)
    emissionprob_prior: Array | float = 1.0
    params: str = eqx.field(static=True, default=CATEGORICAL_UPDATES)
    emissionprob_init: Array | None = None
    emissionprob_: Array | None = None

    def __check_init__(self):
        owner = "CategoricalHMM"
        if self.n_features is not None:
            check_int("n_features", self.n_features, 1, owner)
        _check_concentration("emissionprob_prior", self.emissionprob_prior, owner)
        if not isinstance(self.params, str) or any(c not in CATEGORICAL_UPDATES
                                                    for c in self.params):
            raise InvalidParameterError(
                f"{owner}: params must be a string of the letters {CATEGORICAL_UPDATES!r}, "
                f"got {self.params!r}")

    def _observations(self, X: Any, fitted: bool) -> Array:
        owner = type(self).__name__
        values = np.asarray(X)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(f"{owner}: X must hold one symbol per row, shape (n,) or (n, 1), "
                             f"got shape {np.shape(X)}")
        if values.size == 0:
            raise ValueError(f"{owner}: X must be non-empty")
        if not np.issubdtype(values.dtype, np.integer):
            if not np.issubdtype(values.dtype, np.floating):
                raise ValueError(f"{owner}: X must hold integer symbols, got dtype "
                                 f"{values.dtype}")
            bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
            if bad.size:
                raise ValueError(f"{owner}: X must hold integer symbols; row {int(bad[0])} is "
                                 f"{values[bad[0]].item()!r}")
        limit = (cast(Array, self.emissionprob_).shape[1] if fitted else self.n_features)
        bad = np.flatnonzero((values < 0) | (values >= (np.inf if limit is None else limit)))
        if bad.size:
            expected = "non-negative" if limit is None else f"in [0, {limit})"
            raise ValueError(f"{owner}: category codes must be {expected}; row {int(bad[0])} "
                             f"is {values[bad[0]].item()!r}")
        return jnp.asarray(values.astype(np.int32))

    def _model(self) -> CategoricalHMMParams:
        self._check_fitted()
        return CategoricalHMMParams(cast(Array, self.startprob_), cast(Array, self.transmat_),
                                    cast(Array, self.emissionprob_))

    def fit(self, X: ArrayLike, lengths: ArrayLike | None = None, *,
            key: Array | None = None) -> CategoricalHMM:
        """Fit to the symbols ``X`` (sequences as ``lengths``); returns a new, fitted
        estimator. ``key`` seeds the random emission rows (default
        ``jax.random.key(0)``)."""
        owner = type(self).__name__
        X, padded_lengths, _ = self._sequences(X, lengths, False)
        self._fit_checks(X, padded_lengths, owner)
        K = self.n_components
        M = self.n_features
        if M is None:
            M = int(np.asarray(X).max()) + 1
            if self.emissionprob_init is not None:
                M = max(M, int(np.shape(self.emissionprob_init)[-1]))
        emission = concrete_initial_array(self.emissionprob_init, "emissionprob_init", owner,
                                          (K, M))
        if emission is not None:
            check_probability_rows(emission, "emissionprob_init", owner)
        _check_concentration_shape("emissionprob_prior", self.emissionprob_prior,
                                   ((), (M,), (K, M)), owner)
        prior = HMMPrior(self.startprob_prior, self.transmat_prior, self.emissionprob_prior)
        fit = fit_categorical_hmm(
            default_key(key), X, K, M, lengths=padded_lengths, n_iter=self.n_iter,
            tol=self.tol, prior=prior, initial_init=self.startprob_init,
            transition_init=self.transmat_init, emission_init=self.emissionprob_init,
            update=self.params, parallel=self.parallel)
        params = cast(CategoricalHMMParams, fit.params)
        return self._fitted_chain(fit, emissionprob_=params.emission)


class GaussianHMM(_HMM):
    r"""A hidden Markov model with Gaussian emissions, fitted by Baum–Welch.

    hmmlearn's ``GaussianHMM``: ``X (n, d)``, sequences as ``lengths``, ``covariance_type``
    ``"diag"`` (the default), ``"full"``, ``"tied"`` or ``"spherical"``.
    ``fit(X, lengths, key=...)`` runs :func:`mlmath.hmm.fit_gaussian_hmm`: the means start
    at k-means centres, the covariances at the data's, the start and transition
    probabilities uniform, unless given (``startprob_init``, ``transmat_init``,
    ``means_init``, ``covars_init`` shaped by the type: ``(K, d, d)``, ``(d, d)``,
    ``(K, d)``, ``(K,)``). ``min_covar`` is added to every variance at every M step (the
    floor hmmlearn's documentation describes), which holds a state that collapses onto a
    point. ``params`` names what is re-estimated (``"s"``, ``"t"``, ``"m"`` means,
    ``"c"`` covariances). ``startprob_prior`` and ``transmat_prior`` are Dirichlet
    concentrations; ``mean_prior`` with ``mean_precision_prior`` and ``covariance_prior``
    with ``degrees_of_freedom_prior`` are the Normal–Inverse-Wishart prior of
    :class:`mlmath.mixture.GaussianMixturePrior` on each state (hmmlearn's ``means_prior``,
    ``means_weight``, ``covars_prior`` and ``covars_weight`` in a conjugate form).

    Fitted: ``startprob_``, ``transmat_``, ``means_``, ``covars_`` (full ``(K, d, d)``
    matrices for every type, as hmmlearn's), ``precisions_cholesky_``, ``converged_``,
    ``n_iter_``, ``history_`` and ``monitor_`` (as :class:`CategoricalHMM`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from mlmath import GaussianHMM
        >>> X = jnp.concatenate([jnp.zeros(20), jnp.full(20, 5.0)] * 3)[:, None]
        >>> X = X + 0.1 * jax.random.normal(jax.random.key(1), X.shape)
        >>> hmm = GaussianHMM(n_components=2, n_iter=50).fit(X, key=jax.random.key(0))
        >>> jnp.sort(hmm.means_[:, 0]).round(1).tolist(), bool(hmm.converged_)
        ([0.0, 5.0], True)
    """

    covariance_type: str = eqx.field(static=True, default="diag")
    min_covar: Array | float = 1e-3
    mean_prior: Array | None = None
    mean_precision_prior: Array | float | None = None
    covariance_prior: Array | float | None = None
    degrees_of_freedom_prior: Array | float | None = None
    params: str = eqx.field(static=True, default=GAUSSIAN_UPDATES)
    means_init: Array | None = None
    covars_init: Array | None = None
    means_: Array | None = None
    covars_: Array | None = None
    precisions_cholesky_: Array | None = None

    def __check_init__(self):
        owner = "GaussianHMM"
        check_choice("covariance_type", self.covariance_type, COVARIANCE_TYPES, owner)
        check_positive("min_covar", self.min_covar, allow_zero=True, owner=owner)
        check_gaussian_prior_fields(owner, self.mean_prior, self.mean_precision_prior,
                                    self.covariance_prior, self.degrees_of_freedom_prior)
        if not isinstance(self.params, str) or any(c not in GAUSSIAN_UPDATES
                                                    for c in self.params):
            raise InvalidParameterError(
                f"{owner}: params must be a string of the letters {GAUSSIAN_UPDATES!r}, "
                f"got {self.params!r}")

    @property
    def _covariance_kind(self) -> str:
        return self.covariance_type

    def _observations(self, X: Any, fitted: bool) -> Array:
        owner = type(self).__name__
        if fitted:
            return check_n_features(X, cast(Array, self.means_).shape[1], owner)
        return check_features(X, owner)

    def _model(self) -> GaussianHMMParams:
        self._check_fitted()
        return GaussianHMMParams(cast(Array, self.startprob_), cast(Array, self.transmat_),
                                 cast(Array, self.means_),
                                 cast(Array, self.precisions_cholesky_))

    def _prior(self, d: int, owner: str) -> HMMPrior:
        emission = None
        if self.mean_precision_prior is not None or self.covariance_prior is not None:
            check_gaussian_prior_for_fit(owner, d, self.mean_prior, self.covariance_prior,
                                         self.degrees_of_freedom_prior)
            emission = GaussianMixturePrior(None, self.mean_prior, self.mean_precision_prior,
                                            self.covariance_prior,
                                            self.degrees_of_freedom_prior)
        return HMMPrior(self.startprob_prior, self.transmat_prior, emission)

    def fit(self, X: ArrayLike, lengths: ArrayLike | None = None, *,
            key: Array | None = None) -> GaussianHMM:
        """Fit to the observations ``X (n, d)`` (sequences as ``lengths``); returns a new,
        fitted estimator. ``key`` seeds the k-means start (default ``jax.random.key(0)``)."""
        owner = type(self).__name__
        X, padded_lengths, _ = self._sequences(X, lengths, False)
        d = X.shape[-1]
        self._fit_checks(X, padded_lengths, owner)
        check_scalar_for_fit("min_covar", self.min_covar, owner)
        K = self.n_components
        concrete_initial_array(self.means_init, "means_init", owner, (K, d))
        shape = covariance_shape(self.covariance_type, K, d, owner)
        covariances = concrete_initial_array(self.covars_init, "covars_init", owner, shape)
        if covariances is not None:
            check_positive_definite(covariances, "covars_init",
                                    self.covariance_type in ("diag", "spherical"), owner)
        fit = fit_gaussian_hmm(
            default_key(key), X, K, covariance_type=self.covariance_type,
            lengths=padded_lengths, n_iter=self.n_iter, tol=self.tol,
            reg_covar=self.min_covar, prior=self._prior(d, owner),
            initial_init=self.startprob_init, transition_init=self.transmat_init,
            means_init=self.means_init, covariances_init=self.covars_init,
            update=self.params, parallel=self.parallel)
        params = cast(GaussianHMMParams, fit.params)
        return self._fitted_chain(
            fit, means_=params.means, precisions_cholesky_=params.precisions_cholesky,
            covars_=_full_covariances(params.precisions_cholesky, K, d,
                                      covariance_type=self.covariance_type))


def _full_covariances(precisions_cholesky: Array, K: int, d: int, *,
                      covariance_type: str) -> Array:
    """hmmlearn's ``covars_``: a full ``(K, d, d)`` matrix per state for every type."""
    covariances = covariances_from_precisions_cholesky(precisions_cholesky,
                                                       covariance_type=covariance_type)
    return _as_full(covariances, K, d, covariance_type)


def _as_full_impl(covariances: Array, K: int, d: int, covariance_type: str) -> Array:
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return jnp.broadcast_to(covariances, (K, d, d))
    if covariance_type == "diag":
        return jax.vmap(jnp.diag)(covariances)
    return covariances[:, None, None] * jnp.eye(d, dtype=covariances.dtype)


_as_full = jax.jit(_as_full_impl, static_argnums=(1, 2, 3))
