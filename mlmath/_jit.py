"""Compile once: the two decorators every public function of mlmath is defined with.

* :func:`jit` is ``jax.jit`` with the static arguments named, called in one canonical
  form (every parameter given, its default filled in where omitted: ``f(x)`` and
  ``f(x, tol=1e-3)`` share a program). Arrays, NumPy arrays and Python numbers are traced
  (a Python float is a weakly typed scalar, so ``f(0.5)`` and ``f(0.7)`` share one
  program); the named static arguments (``axis``, ``base``,
  ``num_classes``, a sample shape …) are part of the cache key. An eager call is one fused
  program per shape and dtype, not one dispatch per primitive, and a repeated call with
  the same shapes, dtypes and static values never compiles. It also works on the methods of
  an equinox Module (a distribution, an estimator): the module is a pytree, so its array
  fields are traced and its static fields are part of the key.
* :func:`jit_callables` is for functions that take functions (an objective, a
  log-likelihood, an optax optimizer): every leaf of the arguments that is not an array or
  a number (a callable, ``None``, a string) is static and hashed by identity, so calling
  again with *the same* callable object reuses the compiled program; a new ``lambda`` each
  call compiles each call.

Static values given as lists are turned into tuples first, so ``sample_shape=[3]`` works
like ``(3,)``. Errors on shapes and static arguments are raised while tracing, before
anything is compiled, so a rejected call leaves no program behind.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


def _names(static_argnames: str | Iterable[str]) -> tuple[str, ...]:
    return (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)


def _hashable(value):
    """A static value as a hashable Python value: lists become tuples, NumPy scalars numbers."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _static_positions(function: Callable, names: tuple[str, ...]) -> dict[str, int]:
    parameters = list(inspect.signature(function).parameters.values())
    positional = [p.name for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    missing = [name for name in names if name not in {p.name for p in parameters}]
    if missing:
        raise TypeError(f"{function.__qualname__} has no parameters named {missing}")
    return {name: positional.index(name) for name in names if name in positional}


def _normalize_static(args, kwargs, names, positions):
    if any(isinstance(kwargs.get(name), list | np.generic) for name in names):
        kwargs = {k: _hashable(v) if k in names else v for k, v in kwargs.items()}
    if any(i < len(args) and isinstance(args[i], list | np.generic) for i in positions.values()):
        args = list(args)
        for i in positions.values():
            if i < len(args):
                args[i] = _hashable(args[i])
    return args, kwargs


@overload
def jit(function: F, *, static_argnames: str | Iterable[str] = ()) -> F: ...
@overload
def jit(function: None = None, *,
        static_argnames: str | Iterable[str] = ()) -> Callable[[F], F]: ...
def jit(function: F | None = None, *, static_argnames: str | Iterable[str] = ()) -> Any:
    """``jax.jit`` at a public function's definition, with its static arguments named.

    Usable bare (``@jit``) or with names (``@jit(static_argnames=("axis", "base"))``), on
    functions and on equinox Module methods. The wrapper keeps the function's name,
    signature and docstring, and exposes the compiled function as ``__wrapped_jit__``.
    """
    if function is None:
        return functools.partial(jit, static_argnames=static_argnames)
    names = _names(static_argnames)
    positions = _static_positions(function, names)
    compiled = jax.jit(function, static_argnames=names)
    signature = inspect.signature(function)
    variadic = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                   for p in signature.parameters.values())

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        args, kwargs = _normalize_static(args, kwargs, names, positions)
        if variadic:
            return compiled(*args, **kwargs)
        # one canonical call (every parameter given, defaults filled in), so that
        # ``f(x)`` and ``f(x, tol=1e-3)`` share one program: jax.jit keys its cache on the
        # names of the keyword arguments given
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return compiled(*bound.args, **bound.kwargs)

    wrapper.__wrapped_jit__ = compiled  # type: ignore[attr-defined]
    return wrapper


def _is_number(leaf) -> bool:
    return isinstance(leaf, float | int | complex | np.number) and not isinstance(leaf, bool)


def _numbers_to_arrays(tree):
    """Python numbers in ``tree`` as (weakly typed) arrays, so that they are traced."""
    return jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf) if _is_number(leaf) else leaf,
                                  tree)


@overload
def jit_callables(function: F, *, static_argnames: str | Iterable[str] = ()) -> F: ...
@overload
def jit_callables(function: None = None, *,
                  static_argnames: str | Iterable[str] = ()) -> Callable[[F], F]: ...
def jit_callables(function: F | None = None, *,
                  static_argnames: str | Iterable[str] = ()) -> Any:
    """``equinox.filter_jit`` for functions that take callables, with numbers traced.

    Arrays and Python numbers in the arguments are traced; the arguments named in
    ``static_argnames`` (iteration limits, sizes) are static whatever they hold; every
    other leaf (a callable, an optax optimizer's functions, ``None``, a string) is static
    and hashed by identity. The same callable object therefore reuses its program; a new
    ``lambda`` per call compiles per call.
    """
    if function is None:
        return functools.partial(jit_callables, static_argnames=static_argnames)
    names = _names(static_argnames)
    signature = inspect.signature(function)
    _static_positions(function, names)
    compiled = eqx.filter_jit(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if name in names:
                bound.arguments[name] = _hashable(value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                bound.arguments[name] = {k: _numbers_to_arrays(v) for k, v in value.items()}
            else:
                bound.arguments[name] = _numbers_to_arrays(value)
        return compiled(*bound.args, **bound.kwargs)

    wrapper.__wrapped_jit__ = compiled  # type: ignore[attr-defined]
    return wrapper
