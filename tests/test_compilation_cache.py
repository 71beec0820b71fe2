"""``enable_compilation_cache`` sets JAX's configuration, and a second process reads the cache.

The cache is process-wide JAX configuration, so it is exercised in fresh subprocesses; the
in-process test restores every option it changes. No timing is asserted.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from mlmath._compilation_cache import enable_compilation_cache

pytestmark = pytest.mark.default_mode_only  # see tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
_OPTIONS = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
            "jax_persistent_cache_min_entry_size_bytes")

# a tiny jitted function, its compiles and persistent-cache hits counted by jax.monitoring
_CHILD = """
import json, sys
import jax, jax.numpy as jnp
from jax import monitoring
from mlmath._compilation_cache import enable_compilation_cache

counts = {"compiles": 0, "hits": 0}
monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: event == "/jax/core/compile/backend_compile_duration"
    and counts.__setitem__("compiles", counts["compiles"] + 1))
monitoring.register_event_listener(
    lambda event, **kw: event == "/jax/compilation_cache/cache_hits"
    and counts.__setitem__("hits", counts["hits"] + 1))
enable_compilation_cache(sys.argv[1])
jax.jit(lambda x: jnp.sin(x) * 2.0 + 1.0)(jnp.arange(3.0)).block_until_ready()
print(json.dumps(counts))
"""


def _fresh_process(directory) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run([sys.executable, "-c", _CHILD, str(directory)], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_it_sets_jax_configuration(tmp_path, monkeypatch):
    saved = {name: getattr(jax.config, name) for name in _OPTIONS}
    try:
        directory = enable_compilation_cache(tmp_path / "cache")
        assert directory == (tmp_path / "cache").resolve() and directory.is_dir()
        assert jax.config.jax_compilation_cache_dir == str(directory)
        assert jax.config.jax_persistent_cache_min_compile_time_secs == 0
        assert jax.config.jax_persistent_cache_min_entry_size_bytes == -1

        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        default = (tmp_path / "xdg" / "mlmath" / "jax").resolve()
        assert enable_compilation_cache() == default
        assert jax.config.jax_compilation_cache_dir == str(default)
    finally:
        for name, value in saved.items():
            jax.config.update(name, value)


def test_a_second_process_reads_what_the_first_wrote(tmp_path):
    first = _fresh_process(tmp_path)
    assert first["compiles"] >= 1 and first["hits"] == 0
    assert any(tmp_path.iterdir()), "the first process wrote nothing to the cache"
    second = _fresh_process(tmp_path)
    # the backend-compile event also fires around a cache hit: every one of them was a hit
    assert second["hits"] >= 1 and second["hits"] == second["compiles"]
