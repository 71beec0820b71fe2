"""The benchmark suite runs end to end (at a tiny size) and its answers match the references.

No timing is asserted: each case's ``check`` compares mlmath's output with the reference's
before anything is timed, so this test fails if a benchmarked computation is wrong.
"""

import json

import pytest

from benchmarks import cases
from benchmarks.__main__ import main


def test_every_case_runs_and_matches_its_reference(tmp_path, capsys):
    path = tmp_path / "results.json"
    # the thread pools of the test process are left alone: resizing OpenBLAS's pool in a
    # process that goes on to run other tests is not something to do behind their back
    assert main(["--size", "tiny", "--repeats", "1", "--json", str(path),
                 "--threads", "as-found"]) == 0
    table = capsys.readouterr().out
    expected = {case.name for case in cases.build("tiny")}
    for name in expected:
        assert name in table
    payload = json.loads(path.read_text())
    assert {r["name"] for r in payload["results"]} == expected
    for record in payload["results"]:
        # an estimator timed as called reports its first call less a steady one: >= 0
        assert record["compile_seconds"] >= 0
        assert record["mlmath_seconds"] > 0 and record["reference_seconds"] > 0


def test_a_wrong_answer_is_caught():
    check = cases._close(1e-4)
    with pytest.raises(AssertionError, match="differs from the reference"):
        check([1.0, 2.0], [1.0, 2.1])


def test_unknown_names_and_sizes_are_rejected():
    with pytest.raises(ValueError, match="unknown benchmark"):
        cases.build("tiny", ["no_such_case"])
    with pytest.raises(ValueError, match="size must be one of"):
        cases.build("huge")
