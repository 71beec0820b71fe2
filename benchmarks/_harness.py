"""Timing harness: compile time separated from steady state, references timed in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import jax


@dataclass(frozen=True)
class Case:
    """One benchmark: an mlmath computation and the reference it is measured against.

    ``mlmath`` is a JAX function of ``args`` (jitted by the harness); ``reference`` is a
    plain callable of ``reference_args`` (NumPy, SciPy, scikit-learn, or another JAX
    library). ``check`` compares the two outputs so a fast wrong answer cannot pass as a
    result.
    """

    name: str
    size: str
    mlmath: Callable
    args: Sequence
    reference_name: str
    reference: Callable
    reference_args: Sequence
    check: Callable[[object, object], None] | None = None
    notes: str = ""


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
    jitted = jax.jit(case.mlmath)
    begin = time.perf_counter()
    compiled = jitted.lower(*case.args).compile()
    compile_seconds = time.perf_counter() - begin

    output = _block(compiled(*case.args))  # warm-up: first execution allocates buffers
    reference_output = case.reference(*case.reference_args)
    if case.check is not None:
        case.check(output, reference_output)

    mlmath_samples = _median_seconds(lambda: compiled(*case.args), repeats, min_seconds)
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
        notes=case.notes,
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
