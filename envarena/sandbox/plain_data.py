"""Plain data across the trust boundary: exact builtin values to JSON and back.

A candidate program's results leave the sandbox as text. On the trusted side they must
become values that cannot run code: an object whose `__eq__` always says yes, an `int`
subclass, or a list subclass with a patched `__len__` would otherwise decide the test.
`encode` accepts only exact builtin types (None, bool, int, float, complex, str, bytes,
list, tuple, dict, set, frozenset) and tags each one; `decode` rebuilds exactly those types
and refuses anything else, too deep or too large.

The sandbox side runs `encode` next to the candidate, so it proves nothing there: a
candidate may print any JSON it likes. That is fine. What it prints is decoded here into
plain values, and the tests then compare those plain values in a process that never loaded
the candidate.

This module is stdlib-only and self-contained: its source is sent into the sandbox as is.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["PlainDataError", "decode", "dumps", "encode", "loads"]

MAX_DEPTH = 64
MAX_NODES = 200_000


class PlainDataError(ValueError):
    """The value (or its encoding) is not plain data within the limits."""


def encode(value: Any, _depth: int = 0) -> Any:
    """A JSON-ready tagged form of `value`; raises PlainDataError for anything not plain."""
    if _depth > MAX_DEPTH:
        raise PlainDataError(f"the value is nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None:
        return ["none"]
    if kind is bool:
        return ["bool", value]
    if kind is int:
        return ["int", str(value)]
    if kind is float:
        return ["float", value.hex()]
    if kind is complex:
        return ["complex", value.real.hex(), value.imag.hex()]
    if kind is str:
        return ["str", value]
    if kind is bytes:
        return ["bytes", value.hex()]
    if kind in (list, tuple, set, frozenset):
        items = sorted(value, key=repr) if kind in (set, frozenset) else value
        return [kind.__name__, [encode(item, _depth + 1) for item in items]]
    if kind is dict:
        return ["dict", [[encode(k, _depth + 1), encode(v, _depth + 1)] for k, v in value.items()]]
    raise PlainDataError(f"a value of type {kind.__module__}.{kind.__qualname__} is not plain data")


def decode(data: Any) -> Any:
    """Rebuild exact builtin values from `encode`'s form; raises PlainDataError otherwise."""
    budget = [MAX_NODES]
    return _decode(data, 0, budget)


def _decode(data: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise PlainDataError(f"the value has more than {MAX_NODES} parts")
    if depth > MAX_DEPTH:
        raise PlainDataError(f"the value is nested deeper than {MAX_DEPTH} levels")
    if type(data) is not list or not data or type(data[0]) is not str:
        raise PlainDataError("malformed plain data")
    tag, rest = data[0], data[1:]
    try:
        if tag == "none" and not rest:
            return None
        if len(rest) == 1:
            (payload,) = rest
            if tag == "bool" and type(payload) is bool:
                return payload
            if tag == "int" and type(payload) is str:
                return int(payload)  # Python's int/str digit limit bounds the work
            if tag == "float" and type(payload) is str:
                return float.fromhex(payload)
            if tag == "str" and type(payload) is str:
                return payload
            if tag == "bytes" and type(payload) is str:
                return bytes.fromhex(payload)
            if tag in ("list", "tuple", "set", "frozenset") and type(payload) is list:
                items = [_decode(item, depth + 1, budget) for item in payload]
                return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
            if tag == "dict" and type(payload) is list:
                pairs = []
                for pair in payload:
                    if type(pair) is not list or len(pair) != 2:
                        raise PlainDataError("malformed dict entry")
                    pairs.append((_decode(pair[0], depth + 1, budget), _decode(pair[1], depth + 1, budget)))
                return dict(pairs)
        if tag == "complex" and len(rest) == 2 and all(type(part) is str for part in rest):
            return complex(float.fromhex(rest[0]), float.fromhex(rest[1]))
    except (ValueError, TypeError, OverflowError) as err:  # bad digits, unhashable set items...
        raise PlainDataError(f"malformed plain data ({type(err).__name__})") from None
    raise PlainDataError(f"malformed plain data (tag {tag[:20]!r})")


def dumps(value: Any) -> str:
    """`encode` then JSON, on one line."""
    return json.dumps(encode(value), separators=(",", ":"))


def loads(text: str) -> Any:
    """JSON then `decode`; any failure is a PlainDataError."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise PlainDataError(f"malformed plain data ({type(err).__name__})") from None
    return decode(data)
