"""mlmath: the mathematics of machine learning as a fast, composable JAX library.

Pure functions of arrays and pytrees (distributions, information theory, losses, ...) that
compose with ``jax.grad``, ``jax.vmap``, ``jax.jit`` and sharding. See the README for the
map of the package.
"""

from mlmath import (
    bayes,
    decomposition,
    distributions,
    hmm,
    info,
    linear,
    losses,
    markov,
    mcmc,
    metrics,
    mixture,
    montecarlo,
    optim,
    vi,
)
from mlmath._compilation_cache import enable_compilation_cache
from mlmath._estimator import NotFittedError
from mlmath.decomposition import PCA, SpectralClustering, TruncatedSVD
from mlmath.hmm import CategoricalHMM, GaussianHMM
from mlmath.linear import GaussianNB, Lasso, LinearRegression, LogisticRegression, Ridge
from mlmath.mixture import GaussianMixture, KMeans

__version__ = "0.1.0"

__all__ = [
    "PCA",
    "CategoricalHMM",
    "GaussianHMM",
    "GaussianMixture",
    "GaussianNB",
    "KMeans",
    "Lasso",
    "LinearRegression",
    "LogisticRegression",
    "NotFittedError",
    "Ridge",
    "SpectralClustering",
    "TruncatedSVD",
    "bayes",
    "decomposition",
    "distributions",
    "enable_compilation_cache",
    "hmm",
    "info",
    "linear",
    "losses",
    "markov",
    "mcmc",
    "metrics",
    "mixture",
    "montecarlo",
    "optim",
    "vi",
]
