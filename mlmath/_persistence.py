"""Saving and loading fitted estimators without pickle (private; used by every estimator).

A saved file is, byte for byte::

    mlmath-estimator 1\\n           the magic line and the format version
    {...}\\n                        the header: one line of JSON
    <64 hex digits>\\n              SHA-256 of the header line and the payload
    <payload>                      the array leaves, by equinox.tree_serialise_leaves

The header holds ``estimator`` (the class name), ``mlmath_version``, ``hyper_parameters``
(the fields not ending in ``_``: static ones and Python numbers as JSON values, array
ones as ``{"array": nested lists, "dtype": name}``),
``static`` (the fitted static fields, i.e. ``classes_``: ints, floats, strings or bools),
``leaves`` (field, shape and dtype of every array leaf, in the order of the payload) and
``payload_bytes``. Loading parses the JSON, checks the magic line, the version, the
estimator type, the checksum and the length, builds the estimator from its
hyper-parameters (so they are validated as at construction), a template of the recorded
shapes and dtypes, and reads the leaves into it with ``equinox.tree_deserialise_leaves``
(NumPy's ``.npy`` format without pickle). Nothing in the file is executed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

MAGIC = b"mlmath-estimator 1\n"
_LABEL_TYPES = (bool, int, float, str)


def _version() -> str:
    # read at call time: the package imports this module while it is being imported
    return importlib.import_module("mlmath").__version__


def _is_static(field: dataclasses.Field) -> bool:
    return bool(field.metadata.get("static", False))


def _json_value(owner: str, name: str, value):
    """A static field's value as JSON (tuples become lists), or a clear error."""
    if value is None or isinstance(value, _LABEL_TYPES):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        items = [_json_value(owner, name, item) for item in value]
        return items
    raise ValueError(
        f"{owner}.save: {name}={value!r} cannot be written to the JSON header (only None, "
        "bools, ints, floats, strings and tuples of them can)"
    )


def _from_json(value):
    """A static field's JSON value back: lists become tuples (static fields are hashable)."""
    if isinstance(value, list):
        return tuple(_from_json(item) for item in value)
    return value


def _array_leaves(estimator):
    """``[(field name, array)]`` of the estimator's array fields, in field order."""
    leaves = []
    for field in dataclasses.fields(estimator):
        value = getattr(estimator, field.name)
        if not _is_static(field) and value is not None and eqx.is_array(value):
            leaves.append((field.name, value))
    return leaves


def save_estimator(estimator, path) -> None:
    """Write a fitted ``estimator`` to ``path`` (see the module docstring for the format)."""
    owner = type(estimator).__name__
    estimator._check_fitted()
    hyper_parameters, static = {}, {}
    for field in dataclasses.fields(estimator):
        value = getattr(estimator, field.name)
        if field.name.endswith("_"):
            if _is_static(field):
                static[field.name] = _json_value(owner, field.name, value)
            elif value is not None and not eqx.is_array(value):
                raise ValueError(f"{owner}.save: fitted field {field.name} is not an array")
        elif _is_static(field) or not eqx.is_array(value):
            # static ones, and Python numbers (C=1.0): exactly, as JSON
            hyper_parameters[field.name] = _json_value(owner, field.name, value)
        else:  # an array hyper-parameter (C, alpha, ... of a vmapped fit): its value
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise ValueError(f"{owner}.save: {field.name} is not a real array")
            hyper_parameters[field.name] = {"array": array.tolist(), "dtype": array.dtype.name}
    # every array leaf as a JAX array, so the file does not depend on how each was held
    leaves = _array_leaves(estimator)
    model = dataclasses.replace(estimator, **{name: jnp.asarray(value) for name, value in leaves})
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, model)
    payload = buffer.getvalue()
    header = {
        "estimator": owner,
        "mlmath_version": _version(),
        "hyper_parameters": hyper_parameters,
        "static": static,
        "leaves": [{"field": name, "shape": list(np.shape(value)),
                    "dtype": np.dtype(value.dtype).name} for name, value in leaves],
        "payload_bytes": len(payload),
    }
    header_line = json.dumps(header, sort_keys=True, allow_nan=False).encode() + b"\n"
    digest = hashlib.sha256(header_line + payload).hexdigest().encode() + b"\n"
    with open(os.fspath(path), "wb") as file:
        file.write(MAGIC + header_line + digest + payload)


def _split(data: bytes, owner: str, path) -> tuple[dict, bytes]:
    """The header and payload of a file's bytes, checked (magic, checksum, length)."""
    if not data.startswith(MAGIC):
        raise ValueError(
            f"{owner}.load: {path} is not an mlmath estimator file (it does not start with "
            f"{MAGIC.strip().decode()!r}); only files written by save can be loaded"
        )
    rest = data[len(MAGIC):]
    header_end = rest.find(b"\n")
    digest_end = rest.find(b"\n", header_end + 1)
    if header_end < 0 or digest_end < 0:
        raise ValueError(f"{owner}.load: {path} is truncated (its header is incomplete)")
    header_line = rest[:header_end + 1]
    digest = rest[header_end + 1:digest_end]
    payload = rest[digest_end + 1:]
    try:
        header = json.loads(header_line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{owner}.load: {path} is corrupted (its header is not valid JSON)"
                         ) from None
    if not isinstance(header, dict):
        raise ValueError(f"{owner}.load: {path} is corrupted (its header is not a JSON object)")
    expected = header.get("payload_bytes")
    if isinstance(expected, int) and len(payload) < expected:
        raise ValueError(
            f"{owner}.load: {path} is truncated: {len(payload)} bytes of array data, "
            f"the header says {expected}"
        )
    if hashlib.sha256(header_line + payload).hexdigest().encode() != digest:
        raise ValueError(
            f"{owner}.load: {path} is corrupted: its checksum does not match its contents"
        )
    return header, payload


def load_estimator(cls, path):
    """The estimator of class ``cls`` saved at ``path``, fitted as saved; ``ValueError`` for
    a file of another type or mlmath version, or a truncated or corrupted one."""
    owner = cls.__name__
    with open(os.fspath(path), "rb") as file:
        data = file.read()
    header, payload = _split(data, owner, path)
    kind = header.get("estimator")
    if kind != owner:
        raise ValueError(f"{owner}.load: {path} holds a {kind}, not a {owner}; "
                         f"use {kind}.load")
    version = header.get("mlmath_version")
    if version != _version():
        raise ValueError(
            f"{owner}.load: {path} was saved by mlmath {version}, this is mlmath "
            f"{_version()}; fit the model again with this version (files are not converted)"
        )
    fields = {field.name: field for field in dataclasses.fields(cls)}
    try:
        hyper_parameters = header["hyper_parameters"]
        static = header["static"]
        leaves = header["leaves"]
        arguments = {}
        for name, value in hyper_parameters.items():
            if name not in fields or name.endswith("_"):
                raise KeyError(name)
            if isinstance(value, dict):  # an array hyper-parameter
                value = jnp.asarray(np.asarray(value["array"], dtype=np.dtype(value["dtype"])))
            else:
                value = _from_json(value)
            arguments[name] = value
        for name, value in static.items():
            if name not in fields or not name.endswith("_"):
                raise KeyError(name)
            arguments[name] = _from_json(value)
        shapes = {}
        for leaf in leaves:
            name = leaf["field"]
            if name not in fields:
                raise KeyError(name)
            shapes[name] = (tuple(int(size) for size in leaf["shape"]), np.dtype(leaf["dtype"]))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{owner}.load: {path} has an invalid header ({error!r})") from None
    unfitted = cls(**{name: value for name, value in arguments.items()
                      if not name.endswith("_")})
    template = dataclasses.replace(
        unfitted,
        **{name: value for name, value in arguments.items() if name.endswith("_")},
        **{name: jnp.zeros(shape, dtype) for name, (shape, dtype) in shapes.items()},
    )
    try:
        loaded = eqx.tree_deserialise_leaves(io.BytesIO(payload), template)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{owner}.load: {path} is corrupted ({error})") from None
    for name, (shape, dtype) in shapes.items():
        value = getattr(loaded, name)
        expected_dtype = jax.dtypes.canonicalize_dtype(dtype)
        if value.shape != shape or value.dtype != expected_dtype:
            raise ValueError(
                f"{owner}.load: {path} is corrupted: {name} has shape {value.shape} and dtype "
                f"{value.dtype}, the header says {shape} and {dtype}"
            )
    if not loaded.is_fitted:
        raise ValueError(f"{owner}.load: {path} does not hold a fitted {owner}")
    return loaded
