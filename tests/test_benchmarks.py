"""The benchmark suite runs end to end (at a tiny size) and its answers match the references.

No timing is asserted: each case's ``check`` compares mlmath's output with the reference's
before anything is timed, so this test fails if a benchmarked computation is wrong.
"""

import ast
import json

import pytest

from benchmarks import cases, first_call
from benchmarks.__main__ import main
from benchmarks._harness import Case

pytestmark = pytest.mark.default_mode_only  # see tests/conftest.py


def test_every_case_runs_and_matches_its_reference(tmp_path, capsys):
    path = tmp_path / "results.json"
    # the thread pools of the test process are left alone: resizing OpenBLAS's pool in a
    # process that goes on to run other tests is not something to do behind their back
    assert main(["--size", "tiny", "--repeats", "1", "--json", str(path),
                 "--threads", "as-found"]) == 0
    table = capsys.readouterr().out
    selected = cases.build("tiny")
    expected = {case.name for case in selected if isinstance(case, Case)}
    for name in expected:
        assert name in table
    payload = json.loads(path.read_text())
    assert {r["name"] for r in payload["results"]} == expected
    for record in payload["results"]:
        # an estimator timed as called reports its first call less a steady one: >= 0
        assert record["compile_seconds"] >= 0
        assert record["mlmath_seconds"] > 0 and record["reference_seconds"] > 0

    # first_call has no reference: its own table, and its own entry in the JSON
    assert any(isinstance(case, first_call.FirstCallCase) for case in selected)
    assert "first_call:" in table
    report = payload["first_call"]
    assert report["processes"] == 1 and report["rows"]
    for row in report["rows"]:
        assert row["first_median"] > 0 and row["second_median"] > 0
        assert min(row["first_compiles"]) >= 0 and min(row["second_compiles"]) >= 0


def test_first_call_reads_the_readme_tour():
    tour = first_call.tour_group()
    blocks = first_call.tour_blocks()
    assert len(tour.blocks) == len(blocks) >= 1
    for block, statements in zip(blocks, tour.blocks, strict=True):
        # the statements timed are the block's code, all of it, in order
        timed = "\n".join(statement.source for statement in statements)
        assert ast.dump(ast.parse(timed)) == ast.dump(ast.parse(block))


def test_first_call_finds_every_exported_estimator():
    import mlmath

    names = first_call.estimator_names()
    assert "LogisticRegression" in names and "Ridge" in names
    assert all(isinstance(getattr(mlmath, name), type) for name in names)
    groups = {group.name for group in first_call.groups("small")}
    assert {f"estimator {name}" for name in names} <= groups
    assert {"tour", "mle", "poisson_entropy", "info_entropy", "logistic_iris"} <= groups


def test_a_wrong_answer_is_caught():
    check = cases._close(1e-4)
    with pytest.raises(AssertionError, match="differs from the reference"):
        check([1.0, 2.0], [1.0, 2.1])


def test_unknown_names_and_sizes_are_rejected():
    with pytest.raises(ValueError, match="unknown benchmark"):
        cases.build("tiny", ["no_such_case"])
    with pytest.raises(ValueError, match="size must be one of"):
        cases.build("huge")
