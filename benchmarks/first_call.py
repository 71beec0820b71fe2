"""First-call latency: what a user waits for in a fresh Python process, and the second time.

Every measurement runs in a fresh interpreter (``sys.executable -c ...``), so nothing is
compiled yet: the first call pays tracing and XLA compilation, the second call (same
shapes) should pay neither. Measured, each statement timed with ``time.perf_counter``
and stopped after ``block_until_ready`` on its result:

* the README's "A quick tour", end to end: the ``python`` blocks of that section, read out
  of README.md at run time (so they cannot drift), statement by statement, run twice;
* single calls with first-call targets: ``optim.mle`` (the same ``loglik`` object twice),
  ``Poisson(3.0).entropy()``, ``info.entropy(p, base=2)``, ``LogisticRegression().fit``
  on iris, then ``predict_proba`` on 3 rows and on a new batch of 5;
* ``fit``, ``predict`` and ``predict_proba`` (where it exists) of every estimator class in
  ``mlmath.__all__`` (discovered, not listed) on iris: classifiers predict the species,
  regressors the petal width from the other three columns.

Each group of statements gets a process of its own (a group's first call would otherwise
reuse programs an earlier group compiled), and every group is run in ``repeats`` fresh
processes, interleaved; the table gives the min and median over them. Compilations are
counted with ``jax.monitoring`` (XLA backend compiles, and persistent-cache hits). Then the
cache pair: with ``mlmath.enable_compilation_cache`` on an empty temporary directory, one
process fills the cache and a second reads it; their first calls are shown beside the
uncached ones.

There is no reference library, so this is not a ``Case``: ``run`` returns a
``FirstCallReport`` that ``python -m benchmarks`` prints as a table of its own.
"""

from __future__ import annotations

import ast
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

NAME = "first_call"
ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_MARKER = "FIRST_CALL_RESULT "

# first-call targets (seconds): half of what was measured before the jit work (issue 7)
FIRST_CALL_TARGETS = {
    "mle": 0.5 * 2.4,
    "Poisson(3.0).entropy()": 0.5 * 2.1,
    "info.entropy(p, base=2)": 0.5 * 0.27,
    "LogisticRegression().fit(iris)": 0.5 * 1.6,
    "predict_proba new batch": 0.5 * 0.35,
}
SECOND_CALL_SECONDS = 0.010  # and no compilation


# ---------------------------------------------------------------------------------------
# what to run


@dataclass(frozen=True)
class Statement:
    label: str
    source: str
    target: str | None = None  # key into FIRST_CALL_TARGETS


@dataclass(frozen=True)
class Group:
    """Statements run in one fresh process after an untimed ``setup``.

    ``mode="pairs"``: each statement is run twice in a row (first call, second call).
    ``mode="script"``: the statements are run once in order, then all of them again (a
    notebook cell run twice); each block of a script has a namespace of its own.
    """

    name: str
    setup: str
    blocks: tuple[tuple[Statement, ...], ...]
    mode: str = "pairs"

    def as_json(self) -> dict:
        return {"name": self.name, "setup": self.setup, "mode": self.mode,
                "blocks": [[asdict(s) for s in block] for block in self.blocks]}


def tour_blocks(readme: Path = README) -> list[str]:
    """The ``python`` code blocks of the README's "A quick tour" section."""
    text = readme.read_text()
    section = re.search(r"^## A quick tour\n(.*?)(?=^## )", text, re.S | re.M)
    if section is None:
        raise ValueError(f"{readme} has no '## A quick tour' section")
    blocks = re.findall(r"```python\n(.*?)```", section.group(1), re.S)
    if not blocks:
        raise ValueError(f"the quick tour of {readme} has no python block")
    return blocks


def split_statements(block: str, prefix: str) -> tuple[Statement, ...]:
    """One ``Statement`` per top-level statement of ``block``, labelled by its first line."""
    statements = []
    for node in ast.parse(block).body:
        source = ast.get_source_segment(block, node)
        first_line = source.splitlines()[0].split("  #")[0].rstrip()
        if len(first_line) > 48:
            first_line = first_line[:45] + "..."
        statements.append(Statement(f"{prefix}{first_line}", source))
    return tuple(statements)


def tour_group(readme: Path = README) -> Group:
    blocks = tour_blocks(readme)
    return Group("tour", "", tuple(split_statements(b, f"tour {i + 1}: ")
                                   for i, b in enumerate(blocks)), mode="script")


_IRIS = "from sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True)\n"

MLE = Group("mle", (
    "import jax.numpy as jnp\n"
    "from mlmath import optim\n"
    "from mlmath.distributions import Normal\n"
    "x = jnp.array([1.0, 2.0, 4.0, 5.0])\n"
    "loglik = lambda p, x: jnp.sum(Normal(p['loc'], p['scale']).log_prob(x))\n"
), ((Statement("optim.mle(loglik, ..., constraints=...)",
               'optim.mle(loglik, {"loc": 0.0, "scale": 1.0}, x, '
               'constraints={"loc": None, "scale": optim.positive})', "mle"),),))

POISSON = Group("poisson_entropy", "from mlmath.distributions import Poisson\n", (
    (Statement("Poisson(3.0).entropy()", "Poisson(3.0).entropy()",
               "Poisson(3.0).entropy()"),),))

INFO_ENTROPY = Group("info_entropy", (
    "import jax.numpy as jnp\nfrom mlmath import info\np = jnp.array([0.5, 0.5])\n"
), ((Statement("info.entropy(p, base=2)", "info.entropy(p, base=2)",
               "info.entropy(p, base=2)"),),))

LOGISTIC_IRIS = Group("logistic_iris", _IRIS + "from mlmath import LogisticRegression\n", ((
    Statement("model = LogisticRegression().fit(X, y)",
              "model = LogisticRegression().fit(X, y)", "LogisticRegression().fit(iris)"),
    Statement("model.predict_proba(X[:3])", "model.predict_proba(X[:3])"),
    Statement("model.predict_proba(X[:5])  (new batch)", "model.predict_proba(X[:5])",
              "predict_proba new batch"),
),))


def estimator_names() -> list[str]:
    """The estimator classes exported at the top of ``mlmath``, in ``__all__`` order."""
    import mlmath
    from mlmath._estimator import Estimator

    return [name for name in mlmath.__all__ if isinstance(getattr(mlmath, name), type)
            and issubclass(getattr(mlmath, name), Estimator)]


def estimator_group(name: str) -> Group:
    """``fit``, ``predict`` and ``predict_proba`` (where present) of ``mlmath.<name>`` on iris.

    A class with ``predict_proba`` (or a ``classes`` field) is a classifier of the species;
    any other whose ``fit`` takes ``y`` is a regressor of the petal width on the other three
    columns; one whose ``fit`` takes no ``y`` is fitted to the four columns alone.
    """
    import inspect

    import mlmath

    cls = getattr(mlmath, name)
    fit_parameters = list(inspect.signature(cls.fit).parameters)[1:]
    supervised = len(fit_parameters) >= 2
    classifier = hasattr(cls, "predict_proba") or "classes" in getattr(
        cls, "__dataclass_fields__", {})
    if supervised and not classifier:
        data, fit = "Xr, yr = X[:, :3], X[:, 3]\n", "fit(Xr, yr)"
        predict_on = "Xr"
    else:
        data, fit = "", "fit(X, y)" if supervised else "fit(X)"
        predict_on = "X"
    statements = [Statement(f"model = {name}().{fit}", f"model = {name}().{fit}")]
    for method in ("predict", "predict_proba"):
        if hasattr(cls, method):
            statements.append(Statement(f"model.{method}({predict_on})",
                                        f"model.{method}({predict_on})"))
    return Group(f"estimator {name}", _IRIS + data + f"from mlmath import {name}\n",
                 (tuple(statements),))


def groups(size: str) -> list[Group]:
    """The process groups for ``size``: everything, or (tiny) two cheap calls in one process."""
    if size == "tiny":
        return [Group("tiny", POISSON.setup + INFO_ENTROPY.setup,
                      (POISSON.blocks[0] + INFO_ENTROPY.blocks[0],))]
    return [tour_group(), MLE, POISSON, INFO_ENTROPY, LOGISTIC_IRIS,
            *(estimator_group(name) for name in estimator_names())]


# ---------------------------------------------------------------------------------------
# the child process

_CHILD = "from benchmarks.first_call import _child_main; _child_main()"


def _child_main() -> None:  # runs in the fresh process; reads its plan from argv[1]
    plan = json.loads(sys.argv[1])
    started = time.perf_counter()
    import jax
    from jax import monitoring

    import_jax = time.perf_counter() - started
    counts = {"compiles": 0, "cache_hits": 0}

    def on_duration(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            counts["compiles"] += 1

    def on_event(event, **kwargs):
        if event == "/jax/compilation_cache/cache_hits":
            counts["cache_hits"] += 1

    monitoring.register_event_duration_secs_listener(on_duration)
    monitoring.register_event_listener(on_event)
    if plan["cache_dir"]:
        from mlmath._compilation_cache import enable_compilation_cache

        enable_compilation_cache(plan["cache_dir"])

    def block(value):
        for leaf in jax.tree_util.tree_leaves(value):
            if isinstance(leaf, jax.Array):
                leaf.block_until_ready()

    def timed(statement, namespace):
        """Run one statement; seconds, compiles and cache hits, its result blocked on."""
        node = ast.parse(statement).body[0]
        before = dict(counts)
        begin = time.perf_counter()
        if isinstance(node, ast.Expr):
            block(eval(compile(statement, "<first_call>", "eval"), namespace))
        else:
            exec(compile(statement, "<first_call>", "exec"), namespace)
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for name in (n.id for t in targets for n in ast.walk(t)
                             if isinstance(n, ast.Name)):
                    block(namespace[name])
        seconds = time.perf_counter() - begin
        return {"seconds": seconds, "compiles": counts["compiles"] - before["compiles"],
                "cache_hits": counts["cache_hits"] - before["cache_hits"]}

    group = plan["group"]
    namespaces = [{"__name__": "__first_call__"} for _ in group["blocks"]]
    setup_begin = time.perf_counter()
    for namespace in namespaces:
        exec(compile(group["setup"], "<setup>", "exec"), namespace)
    setup = time.perf_counter() - setup_begin
    if plan["settle_threads"]:
        from benchmarks._harness import settle_thread_pools

        settle_thread_pools()
    records = []
    if group["mode"] == "pairs":
        for block_, namespace in zip(group["blocks"], namespaces, strict=True):
            for statement in block_:
                first = timed(statement["source"], namespace)
                second = timed(statement["source"], namespace)
                records.append({**statement, "first": first, "second": second})
    else:
        runs = []
        for _ in range(2):
            runs.append([timed(statement["source"], namespace)
                         for block_, namespace in zip(group["blocks"], namespaces, strict=True)
                         for statement in block_])
        statements = [s for block_ in group["blocks"] for s in block_]
        records = [{**s, "first": first, "second": second}
                   for s, first, second in zip(statements, *runs, strict=True)]
    print(_MARKER + json.dumps({"import_jax": import_jax, "setup": setup,
                                "records": records}), flush=True)


# seconds a child process may take before it is treated as hung (it normally takes a few)
_CHILD_TIMEOUT = 600


def _run_child(group: Group, cache_dir: str | None, settle_threads: bool) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    plan = {"group": group.as_json(), "cache_dir": cache_dir, "settle_threads": settle_threads}
    completed = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(plan)], cwd=ROOT,
                               env=env, capture_output=True, text=True, check=False,
                               timeout=_CHILD_TIMEOUT)
    lines = [line for line in completed.stdout.splitlines() if line.startswith(_MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"first_call: the process for {group.name!r} failed "
                           f"(exit {completed.returncode}):\n{completed.stderr[-4000:]}")
    return json.loads(lines[-1][len(_MARKER):])


# ---------------------------------------------------------------------------------------
# the parent: aggregate and report


@dataclass
class FirstCallRow:
    group: str
    statement: str
    target: str | None
    first_seconds: list[float] = field(default_factory=list)
    second_seconds: list[float] = field(default_factory=list)
    first_compiles: list[int] = field(default_factory=list)
    second_compiles: list[int] = field(default_factory=list)
    # with the persistent cache, in one process that fills an empty cache and one that reads it
    cache_fill_seconds: float | None = None
    cache_read_seconds: float | None = None
    cache_read_compiles: int | None = None
    cache_read_hits: int | None = None

    @property
    def first_target_seconds(self) -> float | None:
        return FIRST_CALL_TARGETS.get(self.target) if self.target else None

    @property
    def met(self) -> bool:
        """Median first call within its target (if any); every second call compile-free
        and under ``SECOND_CALL_SECONDS`` at the median."""
        ok = (max(self.second_compiles) == 0
              and statistics.median(self.second_seconds) < SECOND_CALL_SECONDS)
        if self.first_target_seconds is not None:
            ok = ok and statistics.median(self.first_seconds) <= self.first_target_seconds
        return ok

    def as_dict(self) -> dict:
        record = asdict(self)
        record.update(
            first_min=min(self.first_seconds), first_median=statistics.median(self.first_seconds),
            second_min=min(self.second_seconds),
            second_median=statistics.median(self.second_seconds),
            first_target_seconds=self.first_target_seconds, met=self.met)
        return record


@dataclass
class FirstCallReport:
    size: str
    processes: int
    rows: list[FirstCallRow]
    import_jax_seconds: list[float]
    cache: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"size": self.size, "processes": self.processes, "cache": self.cache,
                "import_jax_seconds": self.import_jax_seconds,
                "first_call_targets": FIRST_CALL_TARGETS,
                "second_call_target": {"seconds": SECOND_CALL_SECONDS, "compiles": 0},
                "rows": [row.as_dict() for row in self.rows], "notes": self.notes}


@dataclass(frozen=True)
class FirstCallCase:
    """The ``first_call`` benchmark as ``benchmarks.cases.build`` returns it."""

    name: str
    size: str
    groups: tuple[Group, ...]
    processes: int
    cache_groups: tuple[Group, ...]  # run again with the persistent cache, fill then read


def cases(size: str, rng=None) -> list[FirstCallCase]:
    """The ``first_call`` entry of ``benchmarks.cases.ALL``: one fresh process a group at
    sizes tiny and small (``--processes 3`` for min and median), 3 at medium and large, and
    the cache pair for the tour and the iris fit (not at tiny)."""
    selected = tuple(groups(size))
    cache_groups = () if size == "tiny" else tuple(
        g for g in selected if g.name in ("tour", LOGISTIC_IRIS.name))
    return [FirstCallCase(NAME, size, selected, 3 if size in ("medium", "large") else 1,
                          cache_groups)]


def run(case: FirstCallCase, processes: int | None = None, settle_threads: bool = True,
        progress=None) -> FirstCallReport:
    """Run every group of ``case`` in ``processes`` fresh processes each (interleaved),
    then the cache pairs."""
    processes = processes or case.processes
    rows: dict[tuple[str, str], FirstCallRow] = {}
    import_jax = []
    for repeat in range(processes):
        for group in case.groups:
            result = _run_child(group, None, settle_threads)
            import_jax.append(result["import_jax"])
            for record in result["records"]:
                row = rows.setdefault((group.name, record["label"]), FirstCallRow(
                    group.name, record["label"], record["target"]))
                row.first_seconds.append(record["first"]["seconds"])
                row.second_seconds.append(record["second"]["seconds"])
                row.first_compiles.append(record["first"]["compiles"])
                row.second_compiles.append(record["second"]["compiles"])
            if progress:
                progress(f"first_call: {group.name} ({repeat + 1}/{processes})")
    for group in case.cache_groups:
        with tempfile.TemporaryDirectory(prefix="mlmath-jax-cache-") as directory:
            fill = _run_child(group, directory, settle_threads)
            read = _run_child(group, directory, settle_threads)
        for filled, record in zip(fill["records"], read["records"], strict=True):
            row = rows[(group.name, record["label"])]
            row.cache_fill_seconds = filled["first"]["seconds"]
            row.cache_read_seconds = record["first"]["seconds"]
            row.cache_read_compiles = record["first"]["compiles"]
            row.cache_read_hits = record["first"]["cache_hits"]
        if progress:
            progress(f"first_call: {group.name} with the compilation cache (fill, read)")
    notes = [
        "every group runs in fresh processes; first = first call in the process (tracing "
        "and compilation included), second = the same statement again, same shapes",
        f"target: first call (median) at most the figure shown; every second call 0 "
        f"compiles and under {1e3 * SECOND_CALL_SECONDS:.0f} ms (median)",
        "tour: the README's quick tour run as a script, then run again in the same process "
        "(its lambdas are new objects the second time)",
    ]
    if case.cache_groups:
        notes.append("cache fill / cache read: first call with enable_compilation_cache on an "
                     "empty directory, then in a second process reading it; 'compiles' counts "
                     "XLA backend compiles, cache hits included")
    return FirstCallReport(case.size, processes, list(rows.values()), import_jax,
                           bool(case.cache_groups), notes)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{1e3 * seconds:.1f}" if seconds < 10.0 else f"{1e3 * seconds:.0f}"


def format_report(report: FirstCallReport) -> str:
    header = ["group", "statement", "first ms (min / med)", "compiles 1st",
              "second ms (min / med)", "compiles 2nd", "target", "met"]
    if report.cache:
        header += ["cache fill ms", "cache read ms", "read: compiles / hits"]
    rows = []
    totals: dict[str, list] = {}
    for row in report.rows:
        target = row.first_target_seconds
        cells = [
            row.group, row.statement,
            f"{_ms(min(row.first_seconds))} / {_ms(statistics.median(row.first_seconds))}",
            str(int(statistics.median(row.first_compiles))),
            f"{_ms(min(row.second_seconds))} / {_ms(statistics.median(row.second_seconds))}",
            str(max(row.second_compiles)),
            (f"1st <= {_ms(target)}" if target is not None else "2nd: 0, <10"),
            "yes" if row.met else "no",
        ]
        if report.cache:
            cells += [_ms(row.cache_fill_seconds), _ms(row.cache_read_seconds),
                      "" if row.cache_read_compiles is None
                      else f"{row.cache_read_compiles} / {row.cache_read_hits}"]
        rows.append(cells)
        if row.group == "tour":
            totals.setdefault("tour", []).append(row)
    for name, members in totals.items():  # the tour end to end: per-process sums
        firsts = [sum(values) for values in zip(*(m.first_seconds for m in members),
                                                strict=True)]
        seconds = [sum(values) for values in zip(*(m.second_seconds for m in members),
                                                 strict=True)]
        cells = [name, "(all statements)",
                 f"{_ms(min(firsts))} / {_ms(statistics.median(firsts))}",
                 str(sum(int(statistics.median(m.first_compiles)) for m in members)),
                 f"{_ms(min(seconds))} / {_ms(statistics.median(seconds))}",
                 str(sum(max(m.second_compiles) for m in members)), "", ""]
        if report.cache:
            fill = [m.cache_fill_seconds for m in members]
            read = [m.cache_read_seconds for m in members]
            cells += [_ms(sum(fill)) if None not in fill else "",
                      _ms(sum(read)) if None not in read else "",
                      f"{sum(m.cache_read_compiles or 0 for m in members)} / "
                      f"{sum(m.cache_read_hits or 0 for m in members)}"]
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    met = sum(row.met for row in report.rows)
    imports = report.import_jax_seconds
    lines.append("")
    lines.append(f"first_call: {report.processes} fresh process(es) a group; targets met "
                 f"{met}/{len(report.rows)}; `import jax` took {_ms(min(imports))} / "
                 f"{_ms(statistics.median(imports))} ms (min / median), before any timing")
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)
