r"""Hidden Markov models: exact inference in log space, Baum–Welch, estimators.

Fitting (:mod:`mlmath.hmm._baum_welch`): :func:`baum_welch_step`, :func:`fit_categorical_hmm`
and :func:`fit_gaussian_hmm` (EM in one compiled loop, over one sequence or a padded batch
with ``lengths``; Dirichlet priors on the chain, a Normal–Inverse-Wishart prior on Gaussian
states), :func:`log_emissions`, :func:`hmm_posteriors`, :func:`hmm_viterbi` and
:func:`sample_hmm` on :class:`CategoricalHMMParams` or :class:`GaussianHMMParams`; and the
estimators :class:`CategoricalHMM` and :class:`GaussianHMM` with hmmlearn's surface.

Inference:

Pure functions of the log-probabilities of a model (initial, transition, emission), jitted
at their definition, that compose with ``jax.grad`` and ``jax.vmap`` (a batch of sequences
of different lengths is one ``vmap`` over padded arrays and lengths):

* :func:`forward_filter`: the log-likelihood and the filtered state log-probabilities,
* :func:`backward_smoother`: the smoothed state log-probabilities from the filtered ones,
* :func:`forward_backward`: the log-likelihood, the state posteriors and the expected
  transition counts (the E step of Baum-Welch),
* :func:`viterbi`: the most probable state path and its log-probability.

A hidden Markov model over ``K`` states is given by three arrays of log-probabilities:
``log_initial`` :math:`\pi_k = \log p(z_0 = k)`, ``log_transition``
:math:`A_{ij} = \log p(z_{t+1} = j \mid z_t = i)` (row ``i`` is the state moved from) and
``log_emissions`` :math:`E_{tk} = \log p(x_t \mid z_t = k)`, shape ``(T, K)``, computed
by the caller from any emission model (``dist.log_prob`` of each state's distribution).

The inputs are read as log-potentials and are not renormalized: the log-likelihood is
:math:`\log Z = \log \sum_{z} \exp\bigl(\pi_{z_0} + \sum_t E_{t z_t}
+ \sum_t A_{z_t z_{t+1}}\bigr)`, which for normalized rows is :math:`\log p(x_{0:T-1})`.
Its gradients are then the posterior expectations (so ``jax.grad`` of the log-likelihood is
an E step):
:math:`\partial \log Z / \partial E_{tk} = p(z_t = k \mid x)`,
:math:`\partial \log Z / \partial \pi_k = p(z_0 = k \mid x)` and
:math:`\partial \log Z / \partial A_{ij} = \sum_t p(z_t = i, z_{t+1} = j \mid x)`.

Conventions
-----------
* **Zero probabilities** (``-inf`` entries: forbidden transitions, impossible emissions)
  are exact: values are those of the model with those entries at zero, and no NaN reaches a
  value or a gradient (every log-sum-exp of an all ``-inf`` set is ``-inf`` with gradient 0).
* **Impossible sequences** (every path has probability 0) give ``log_likelihood = -inf``
  and ``log_probability = -inf``; the rows of ``log_filtered`` are ``-inf`` (probability 0
  for every state) from the first impossible step on, and every row of the smoothed
  posteriors is ``-inf`` in log space (``posteriors`` and ``expected_transitions`` are 0):
  the joint :math:`p(z_t, x)` is 0 for every state, and these functions return it instead
  of the undefined ratio 0/0. The Viterbi path is then arbitrary (in range).
* **NaN in, NaN out**: a NaN in ``log_initial``, ``log_transition`` or a counted row of
  ``log_emissions`` makes every floating output NaN (the Viterbi path is then unspecified).
  ``+inf`` entries are invalid (no log-probability is ``+inf``) and give NaN or ``inf``.
* **Padding**: ``length`` (a traced integer scalar, clipped to ``[0, T]``) counts the
  first ``length`` steps; the rows after it are padding, and whatever they hold (NaN
  included) reaches neither the values nor the gradients. The chain stops at the last
  counted step, so every padded row of ``log_filtered``, of the smoothed posteriors and of
  the Viterbi path repeats the last counted row exactly, and ``expected_transitions``
  counts the transitions between counted steps only. With ``length = 0`` nothing is
  observed: ``log_likelihood = logsumexp(log_initial)`` (0 for a normalized initial
  distribution), every row is the initial distribution and the path its most likely
  state. A batch of sequences of different lengths is one ``jax.vmap`` over padded arrays
  and their lengths.
* **Precision**: the messages are renormalized at every step (by their maximum, in log
  space), so nothing underflows or drifts over long sequences, in float32 as in float64;
  float32 input stays float32.
* **Sequential or parallel**: ``parallel=False`` runs ``lax.scan`` (O(T) depth, O(T K^2)
  work, no ``(T, K, K)`` array; the fastest on a CPU). ``parallel=True`` runs
  ``lax.associative_scan`` over ``(K, K)`` log-matrices combined by log-space matrix
  products (max-plus for Viterbi, then compositions of the back-pointer maps): O(log T)
  depth, O(T K^3) work and ``(T, K, K)`` arrays, for accelerators; its programs are larger
  and take several times longer to compile. Both give the same values to rounding (and
  the same path, barring exact ties).
"""

from mlmath.hmm._baum_welch import (
    CATEGORICAL_UPDATES,
    GAUSSIAN_UPDATES,
    CategoricalHMMParams,
    GaussianHMMParams,
    HMMFit,
    HMMPrior,
    baum_welch_step,
    fit_categorical_hmm,
    fit_gaussian_hmm,
    hmm_posteriors,
    hmm_viterbi,
    log_emissions,
    sample_hmm,
)
from mlmath.hmm._estimators import CategoricalHMM, ConvergenceMonitor, GaussianHMM
from mlmath.hmm._inference import (
    ForwardBackward,
    backward_smoother,
    forward_backward,
    forward_filter,
    viterbi,
)

__all__ = [
    "CATEGORICAL_UPDATES",
    "GAUSSIAN_UPDATES",
    "CategoricalHMM",
    "CategoricalHMMParams",
    "ConvergenceMonitor",
    "ForwardBackward",
    "GaussianHMM",
    "GaussianHMMParams",
    "HMMFit",
    "HMMPrior",
    "backward_smoother",
    "baum_welch_step",
    "fit_categorical_hmm",
    "fit_gaussian_hmm",
    "forward_backward",
    "forward_filter",
    "hmm_posteriors",
    "hmm_viterbi",
    "log_emissions",
    "sample_hmm",
    "viterbi",
]
