"""Every notebook in notebooks/ executes top to bottom without error (so none can rot)."""

import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import default_compiler_environment

pytestmark = pytest.mark.default_mode_only  # see tests/conftest.py

ROOT = pathlib.Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path, monkeypatch):
    notebook = nbformat.read(path, as_version=4)
    # the kernel inherits the environment: run the checkout's mlmath, headless
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # the kernels compile with XLA's and JAX's default optimizations, unlike the rest of
    # the suite (tests/conftest.py): the notebooks are its end-to-end check of the
    # compiler settings users run
    for name, value in default_compiler_environment().items():
        monkeypatch.setenv(name, value)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [
        output
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", []) if output.get("output_type") == "error"
    ]
    assert not errors


def test_there_is_at_least_one_notebook():
    assert NOTEBOOKS
