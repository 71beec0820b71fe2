"""The architecture, checked: layers only import downward, and no private name is shared.

* ``lint-imports`` (import-linter) checks the layers contract in ``pyproject.toml``:
  estimators above pure functions above the shared numerics.
* Every helper has one home: no module imports a private name (``_x``), or from a private
  module, of *another* mlmath package. What is shared is public in its home. (Top-level
  private modules such as ``mlmath._validation`` and ``mlmath._special`` hold the shared
  trace-time checks and numerics; their public names may be imported anywhere.)
"""

from __future__ import annotations

import ast
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.default_mode_only  # see tests/conftest.py

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mlmath"


def _lint_imports(config: pathlib.Path) -> subprocess.CompletedProcess:
    executable = shutil.which("lint-imports") or str(pathlib.Path(sys.executable).parent
                                                     / "lint-imports")
    return subprocess.run([executable, "--config", str(config), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_layers_contract_is_kept():
    result = _lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_layers_contract_can_break(tmp_path):
    """The same contract with two layers swapped must be reported broken."""
    text = (ROOT / "pyproject.toml").read_text()
    top = '"mlmath.linear : mlmath.mixture",'
    swapped = text.replace(f'{top}\n    "mlmath._estimator",', f'"mlmath._estimator",\n    {top}')
    assert swapped != text
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped)
    result = _lint_imports(config)
    assert result.returncode != 0 and "BROKEN" in result.stdout, result.stdout


def _private_imports(path: pathlib.Path) -> list[str]:
    relative = path.relative_to(PACKAGE)
    home = relative.parts[0] if len(relative.parts) > 1 else relative.stem
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.ImportFrom) and not node.level
                and (node.module or "").startswith("mlmath.")):
            continue
        parts = node.module.split(".")
        if parts[1] in (home, "_" + home):
            continue  # inside its own package
        names = [alias.name for alias in node.names]
        top_level_private_module = parts[1].startswith("_") and len(parts) == 2
        if any(name.startswith("_") for name in names) or (
                any(part.startswith("_") for part in parts[2:])) or (
                parts[1].startswith("_") and not top_level_private_module):
            found.append(f"{relative}: from {node.module} import {', '.join(names)}")
    return found


def test_no_private_name_crosses_a_package():
    offenders = [line for path in sorted(PACKAGE.rglob("*.py")) for line in
                 _private_imports(path)]
    assert not offenders, "private names imported across packages:\n" + "\n".join(offenders)


@pytest.mark.parametrize("source, expected", [
    ("from mlmath.distributions._fit import fit_normal\n", 1),
    ("from mlmath.metrics import _weights\n", 1),
    ("from mlmath.distributions import fit_normal\n", 0),
    ("from mlmath._validation import as_float\n", 0),
])
def test_the_private_import_check_can_fail(tmp_path, source, expected, monkeypatch):
    module = PACKAGE / "linear" / "_probe_for_the_layering_test.py"
    monkeypatch.setattr(pathlib.Path, "read_text",
                        lambda self, *a, **k: source if self == module else
                        pathlib.Path.read_bytes(self).decode())
    assert len(_private_imports(module)) == expected
    assert all(re.search(r"from mlmath\.", line) for line in _private_imports(module))
