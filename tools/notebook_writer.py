"""The one writer of the generated notebooks: ``write(cells, name)`` turns a list of
``("markdown" | "code", source)`` pairs into ``notebooks/<name>`` (unexecuted; the test
suite executes every notebook). Used by the ``tools/make_*_notebook.py`` scripts."""

from __future__ import annotations

from pathlib import Path

import nbformat


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}}
    for kind, source in cells:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        notebook.cells.append(make(source))
    return notebook


def write(cells: list[tuple[str, str]], name: str) -> Path:
    path = Path(__file__).resolve().parent.parent / "notebooks" / name
    nbformat.write(build(cells), path)
    print(f"wrote {path}")
    return path
