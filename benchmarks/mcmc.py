"""MCMC benchmarks against BlackJAX: HMC and NUTS steps on the same target, same settings.

Both sides run ``num_steps`` transitions of ``num_chains`` chains (``jax.vmap`` over the
chains, ``lax.scan`` over the steps, one compiled program) from the same start, with the
same step size, diagonal inverse mass matrix and (for HMC) number of leapfrog steps, on a
100-dimensional correlated Gaussian. The random streams differ, so the outputs are checked
statistically: the mean acceptance rates agree within 0.05. HMC takes the same number of
leapfrog steps on both sides. NUTS does not: mlmath stops a trajectory by Stan's rule
(the full momentum sum, and Stan's extra checks across merged subtrees), BlackJAX by
NumPyro's (the sum less half of the two end momenta), which stops earlier; on the small
case mlmath takes about 20.8 steps a transition against BlackJAX's 16.8, and with
NumPyro's rule swapped in it took 16.7 at the same acceptance rate (0.905 against 0.903),
so the two are otherwise one algorithm. The check asks for between 0.85 and 1.6 times
BlackJAX's steps, and the notes give the factor that turns the speed-up into one per
gradient evaluation.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from benchmarks._harness import Case
from mlmath import mcmc

try:  # the bench extra; without it these cases are skipped
    import blackjax
except ImportError:  # pragma: no cover - depends on the environment
    blackjax = None

# dimension, chains, transitions
_SIZES = {"tiny": (10, 2, 50), "small": (100, 4, 400), "medium": (100, 128, 400),
          "large": (100, 1024, 400)}


def _target(rng, d):
    factor = rng.standard_normal((d, d)) / np.sqrt(d)
    covariance = factor @ factor.T + np.diag(np.logspace(-1, 0, d))
    precision = jnp.asarray(np.linalg.inv(covariance), jnp.float32)

    def logdensity(x):
        return -0.5 * x @ (precision @ x)

    return logdensity, covariance


def _run(step, init, num_steps):
    """``num_steps`` vmapped transitions of a (init, step) pair, in one scan."""
    def run(key, positions):
        states = jax.vmap(init)(positions)

        def body(states, step_key):
            keys = jax.random.split(step_key, positions.shape[0])
            states, info = jax.vmap(step)(keys, states)
            return states, (info.acceptance_rate, info.num_integration_steps)

        states, (acceptance, steps) = lax.scan(body, states, jax.random.split(key, num_steps))
        return states.position, jnp.mean(acceptance), jnp.mean(steps.astype(jnp.float32))

    return run


def _agree(kind, steps_ratio=(1.0, 1.0)):
    def check(actual, desired):
        acceptance, reference_acceptance = float(actual[1]), float(desired[1])
        steps, reference_steps = float(actual[2]), float(desired[2])
        if abs(acceptance - reference_acceptance) > 0.05:
            raise AssertionError(f"{kind}: mean acceptance {acceptance:.3f} against "
                                 f"BlackJAX's {reference_acceptance:.3f}")
        low, high = steps_ratio
        if not low <= steps / reference_steps <= high:
            raise AssertionError(f"{kind}: {steps:.1f} leapfrog steps per transition against "
                                 f"BlackJAX's {reference_steps:.1f}")
        return (f"acceptance {acceptance:.3f} vs {reference_acceptance:.3f}; leapfrog steps "
                f"per transition {steps:.1f} vs {reference_steps:.1f} (time per gradient: "
                f"the speed-up times {steps / reference_steps:.2f})")
    return check


def _blocked(run):
    jitted = jax.jit(run)

    def call(*args):
        return jax.block_until_ready(jitted(*args))

    return call


def _setup(size: str, rng: np.random.Generator):
    d, chains, num_steps = _SIZES[size]
    logdensity, covariance = _target(rng, d)
    inverse_mass = jnp.asarray(np.diag(covariance), jnp.float32)
    start = jnp.asarray(rng.standard_normal((chains, d)) * np.sqrt(np.diag(covariance)),
                        jnp.float32)
    label = f"d={d} chains={chains} steps={num_steps}"
    return logdensity, inverse_mass, (jax.random.key(0), start), num_steps, label


_STEP_SIZE = 0.25


def hmc_cases(size: str, rng: np.random.Generator) -> list[Case]:
    if blackjax is None:
        return []
    logdensity, inverse_mass, args, num_steps, label = _setup(size, rng)
    ours = mcmc.hmc(logdensity, _STEP_SIZE, inverse_mass, 10)
    theirs = blackjax.hmc(logdensity, _STEP_SIZE, inverse_mass, 10)
    return [Case("hmc_sample", label, _run(ours.step, ours.init, num_steps), args,
                 "blackjax.hmc", _blocked(_run(theirs.step, theirs.init, num_steps)), args,
                 check=_agree("hmc"), notes="10 leapfrog steps a transition")]


def nuts_cases(size: str, rng: np.random.Generator) -> list[Case]:
    if blackjax is None:
        return []
    logdensity, inverse_mass, args, num_steps, label = _setup(size, rng)
    ours = mcmc.nuts(logdensity, _STEP_SIZE, inverse_mass)
    theirs = blackjax.nuts(logdensity, _STEP_SIZE, inverse_mass)
    return [Case("nuts_sample", label, _run(ours.step, ours.init, num_steps), args,
                 "blackjax.nuts", _blocked(_run(theirs.step, theirs.init, num_steps)), args,
                 check=_agree("nuts", steps_ratio=(0.85, 1.6)))]
