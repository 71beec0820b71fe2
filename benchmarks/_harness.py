"""Timing harness: compile time separated from steady state, references timed in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True)
class Case:
    """One benchmark: an mlmath computation and the reference it is measured against.

    ``mlmath`` is a JAX function of ``args`` (jitted by the harness); ``reference`` is a
    plain callable of ``reference_args`` (NumPy, SciPy, scikit-learn, or another JAX
    library). ``check`` compares the two outputs so a fast wrong answer cannot pass as a
    result; it may return a sentence (say, how close each side came to the optimum) that is
    printed with the results. ``x64`` runs the case with float64 enabled (its ``args`` are
    then NumPy arrays, moved to the device inside that mode). ``jit=False`` times
    ``mlmath`` as called (an estimator's ``fit``, input checks and label encoding
    included): its compile time is then the first call's time less a steady call's. The
    mlmath side's arguments are moved to JAX's device before timing (a JAX program holds
    its data there); the reference's stay NumPy arrays.
    """

    name: str
    size: str
    mlmath: Callable
    args: Sequence
    reference_name: str
    reference: Callable
    reference_args: Sequence
    check: Callable[[object, object], str | None] | None = None
    notes: str = ""
    x64: bool = False
    jit: bool = True


@dataclass
class Result:
    name: str
    size: str
    reference_name: str
    compile_seconds: float
    mlmath_seconds: float
    reference_seconds: float
    notes: str = ""
    mlmath_all: list[float] = field(default_factory=list)
    reference_all: list[float] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        return self.reference_seconds / self.mlmath_seconds

    def as_dict(self) -> dict:
        record = asdict(self)
        record["speedup"] = self.speedup
        return record


def settle_thread_pools() -> str:
    """Give every BLAS library but NumPy's one thread; returns what was done, for the header.

    SciPy wheels ship an OpenBLAS of their own beside NumPy's; JAX calls SciPy's for LAPACK
    and scikit-learn's L-BFGS-B for its vector operations. On a machine with few cores the
    idle threads of one library spin against the work of the others (with two threads each
    on 2 cores, scikit-learn's lbfgs fit of ``digits`` takes 1.5 s instead of 0.08 s). One
    thread for those libraries removes the contention for both sides; NumPy's BLAS, which
    does scikit-learn's large matrix products, keeps its threads. Needs ``threadpoolctl``
    (a scikit-learn dependency) and runs after the libraries are loaded.
    """
    try:
        import threadpoolctl
    except ImportError:
        return "thread pools as found (threadpoolctl is not installed)"
    numpy_dir = np.__file__.rsplit("/", 2)[0]
    limited = []
    for controller in threadpoolctl.ThreadpoolController().lib_controllers:
        if controller.user_api == "blas" and not controller.filepath.startswith(
                f"{numpy_dir}/numpy"):
            controller.set_num_threads(1)
            limited.append(controller.filepath.rsplit("/", 1)[-1])
    return f"one thread for {', '.join(limited)}" if limited else "thread pools as found"


def _block(tree):
    return jax.tree_util.tree_map(
        lambda leaf: leaf.block_until_ready() if isinstance(leaf, jax.Array) else leaf, tree
    )


def _median_seconds(function: Callable, repeats: int, min_seconds: float) -> list[float]:
    """Run ``function`` at least ``repeats`` times and for at least ``min_seconds``."""
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < repeats or time.perf_counter() - started < min_seconds:
        begin = time.perf_counter()
        _block(function())
        samples.append(time.perf_counter() - begin)
        if len(samples) >= 1000:
            break
    return samples


def run_case(case: Case, repeats: int = 5, min_seconds: float = 0.2) -> Result:
    """Time ``case``: compile once, then the steady state of both sides."""
    with jax.enable_x64(case.x64):
        # JAX's inputs start on its device, as in a program that loads its data once;
        # the reference's start as NumPy arrays, its native form
        args = jax.tree_util.tree_map(jnp.asarray, case.args)
        if case.jit:
            jitted = jax.jit(case.mlmath)
            begin = time.perf_counter()
            compiled = jitted.lower(*args).compile()
            compile_seconds = time.perf_counter() - begin
            output = _block(compiled(*args))  # warm-up: first execution allocates buffers
        else:
            compiled = case.mlmath
            begin = time.perf_counter()
            output = _block(compiled(*args))
            first = time.perf_counter() - begin
            begin = time.perf_counter()
            _block(compiled(*args))
            compile_seconds = max(first - (time.perf_counter() - begin), 0.0)
        reference_output = case.reference(*case.reference_args)
        notes = case.notes
        if case.check is not None:
            verdict = case.check(output, reference_output)
            if verdict:
                notes = f"{notes}; {verdict}" if notes else verdict

        mlmath_samples = _median_seconds(lambda: compiled(*args), repeats, min_seconds)
        reference_samples = _median_seconds(
            lambda: case.reference(*case.reference_args), repeats, min_seconds
        )
    return Result(
        name=case.name,
        size=case.size,
        reference_name=case.reference_name,
        compile_seconds=compile_seconds,
        mlmath_seconds=statistics.median(mlmath_samples),
        reference_seconds=statistics.median(reference_samples),
        notes=notes,
        mlmath_all=mlmath_samples,
        reference_all=reference_samples,
    )


def format_table(results: Sequence[Result]) -> str:
    """A plain-text table, one row a case."""
    header = ("benchmark", "size", "reference", "compile s", "mlmath ms", "reference ms",
              "speed-up")
    rows = [
        (
            r.name,
            r.size,
            r.reference_name,
            f"{r.compile_seconds:.3f}",
            f"{1e3 * r.mlmath_seconds:.3f}",
            f"{1e3 * r.reference_seconds:.3f}",
            f"{r.speedup:.2f}x",
        )
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
