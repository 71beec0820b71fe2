r"""Markov chain Monte Carlo: kernels as pure functions, warm-up, many chains, diagnostics.

MCMC builds a Markov chain whose stationary distribution is the target (a posterior known
up to its normalizing constant through ``logdensity_fn(position) -> scalar``), runs it,
and averages over its draws.

Kernels (:class:`Kernel`, an equinox Module: ``init(position) -> State`` and
``step(key, state) -> (State, Info)``; positions are any pytree of float arrays; the
parameters are traced leaves, so one compiled step serves every step size and a kernel
``vmap``\ s over chains):

* :func:`rwmh`: random-walk Metropolis (:func:`rwmh_step`);
* :func:`mala`: the Metropolis-adjusted Langevin algorithm (:func:`mala_step`);
* :func:`hmc`: Hamiltonian Monte Carlo with a diagonal or dense mass matrix
  (:func:`hmc_step`, :func:`leapfrog`);
* :func:`nuts`: the No-U-Turn sampler, multinomial, as in Stan (:func:`nuts_step`);
* :func:`gibbs`: a user-supplied sweep through the full conditionals.

:func:`sample` runs many chains in one ``jax.vmap`` (split over the devices when there are
several) with Stan's windowed adaptation (:func:`window_schedule`) or ChEES-HMC
(``adaptation="chees"``: one step size and one Halton-jittered trajectory length shared by
every chain, the accelerator-friendly choice for many chains) and returns
:class:`Samples`. :func:`rhat`, :func:`ess`,
:func:`mcse` and :func:`summary` are the diagnostics of Vehtari et al. (2021), in JAX, equal
to ArviZ's.

Bad input fails early and loudly: a kernel built from concrete parameters checks them (a
step size that is not positive, an inverse mass matrix that is not positive definite →
``ValueError``); :func:`sample` evaluates the log density at every initial position before
anything runs (NaN, ``-inf``, a non-scalar → ``ValueError``). Inside the chain a proposal
whose log density is NaN is rejected and counted as divergent, never accepted; a step
given invalid traced parameters returns a NaN state.
"""

from mlmath.mcmc._diagnostics import Summary, ess, mcse, rhat, summary
from mlmath.mcmc._kernels import (
    Info,
    Kernel,
    State,
    gibbs,
    hmc,
    hmc_step,
    leapfrog,
    mala,
    mala_step,
    rwmh,
    rwmh_step,
)
from mlmath.mcmc._nuts import nuts, nuts_step
from mlmath.mcmc._sampling import Samples, sample, window_schedule

__all__ = [
    "Info",
    "Kernel",
    "Samples",
    "State",
    "Summary",
    "ess",
    "gibbs",
    "hmc",
    "hmc_step",
    "leapfrog",
    "mala",
    "mala_step",
    "mcse",
    "nuts",
    "nuts_step",
    "rhat",
    "rwmh",
    "rwmh_step",
    "sample",
    "summary",
    "window_schedule",
]
