"""Counting XLA compilations, to test that a repeated call compiles nothing.

JAX reports every backend compilation as a monitoring event; a listener registered once
counts them. The event also fires when a program is loaded from the persistent compilation
cache (which the test session uses, tests/conftest.py; tests/test_compilation_cache.py
checks that every hit fires it), so a call that needed a program again counts whether it
was compiled or loaded. ``with compilations() as counted: ...`` then ``counted()`` is the number of
programs compiled inside the block (by any thread of this process).
"""

from __future__ import annotations

import contextlib
import threading

import jax

_EVENT = "/jax/core/compile/backend_compile_duration"
_lock = threading.Lock()
_count = [0]


def _listener(event: str, duration: float, **kwargs) -> None:
    if event == _EVENT:
        with _lock:
            _count[0] += 1


jax.monitoring.register_event_duration_secs_listener(_listener)


def total() -> int:
    """Compilations so far in this process."""
    return _count[0]


@contextlib.contextmanager
def compilations():
    """Yield a function that returns the compilations since the block was entered."""
    start = total()
    yield lambda: total() - start
