"""Information theory: surprise, entropy, cross-entropy, divergences, mutual information.

Functions of probability vectors work along ``axis`` (the last by default), take
``base=None`` (nats) or ``base=2`` (bits), and an optional boolean ``where`` mask whose
excluded entries contribute nothing. The ``*_from_logits`` variants take unnormalized log
probabilities and never form probabilities that could underflow.

Conventions at zero probabilities
---------------------------------
* ``0 log 0 = 0``; ``0 log(0/q) = 0``; ``p log(p/0) = inf`` for ``p > 0`` (as
  :func:`scipy.special.rel_entr`).
* Gradients stay finite where a probability is exactly 0: the partial derivative of a
  term with respect to a ``p`` that is 0 is taken to be 0 (the convention of TensorFlow's
  ``xlogy``). The entry is outside the support, so it contributes nothing and its gradient
  does not move it; this is also the limit of the true gradient through a softmax, which
  multiplies the partial derivative by that probability. (The other argument keeps its
  ordinary derivative: a ``kl_divergence`` term with ``p == 0`` equals ``q``, so its
  derivative with respect to ``q`` is 1.)
* Divergences are summed from terms that are each non-negative
  (``p log(p/q) - p + q``), so nearly equal distributions never give a negative
  divergence in float32.

Infinite and NaN logits
-----------------------
* A logit of ``-inf`` is a class of probability 0. A row holding ``+inf`` is the limit of
  the softmax as those logits grow together: they share the probability equally and every
  other class gets none (``[inf, 0]`` is the point mass on class 0, so
  ``kl_divergence_from_logits([inf, 0], [0, 0])`` is ``log 2``). The value is the limit's,
  and so is the gradient: that of the formula at the limiting probabilities, finite.
  Where a value is infinite (``q`` misses part of ``p``'s support) the infinite terms
  contribute no gradient, so the gradient stays finite there too.
* A NaN logit makes its row NaN, in the value and in the gradient with respect to that
  argument: NaN input never gives a number. Entries excluded by ``where`` take no part.

:func:`kl` gives closed forms between distribution objects from
:mod:`mlmath.distributions`; :func:`register_kl` adds pairs; :func:`kl_monte_carlo`
estimates any pair by sampling.
"""

from mlmath.info._discrete import (
    cross_entropy,
    cross_entropy_from_logits,
    entropy,
    entropy_from_logits,
    js_divergence,
    js_divergence_from_logits,
    kl_divergence,
    kl_divergence_from_logits,
    self_information,
)
from mlmath.info._kl import kl, kl_monte_carlo, register_kl
from mlmath.info._labels import (
    contingency_table,
    information_gain,
    mutual_info_score,
    mutual_information,
)

__all__ = [
    "contingency_table",
    "cross_entropy",
    "cross_entropy_from_logits",
    "entropy",
    "entropy_from_logits",
    "information_gain",
    "js_divergence",
    "js_divergence_from_logits",
    "kl",
    "kl_divergence",
    "kl_divergence_from_logits",
    "kl_monte_carlo",
    "mutual_info_score",
    "mutual_information",
    "register_kl",
    "self_information",
]
