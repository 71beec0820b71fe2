"""Every example in mlmath's docstrings runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import mlmath

# The examples print what the default (float32) mode prints; under x64 they would run the
# same code again at another precision, which the rest of the x64 run already covers.
pytestmark = pytest.mark.default_mode_only  # see tests/conftest.py

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(mlmath.__path__, prefix="mlmath.")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    for test in finder.find(module, module_name):
        if test.examples:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_every_public_function_has_a_docstring():
    missing = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attribute in getattr(module, "__all__", []):
            obj = getattr(module, attribute)
            if callable(obj) and not (obj.__doc__ or "").strip():
                missing.append(f"{name}.{attribute}")
    assert not missing, f"public objects without a docstring: {missing}"
