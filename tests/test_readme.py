"""The README stays true: its set-up commands are the ones CI runs, and its code runs."""

import pathlib
import re

import pytest

pytestmark = pytest.mark.default_mode_only  # see tests/conftest.py

ROOT = pathlib.Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_exactly_two_setup_commands():
    # nothing but the title comes before the commands
    assert README.startswith("# mlmath\n\n```bash\n")
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    commands = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert "[bench]" in commands[0] and commands[0].endswith("python -m benchmarks")
    assert "[test]" in commands[1] and commands[1].endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in script  # the command is read from the README, not copied


def test_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
