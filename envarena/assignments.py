"""`key=value` arguments, as `-e`/`-a` options on the command line and `--set` overrides in
`train` take them: one splitting rule and one error sentence for both."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from envarena.errors import InvalidOptionError

__all__ = ["json_or_text", "parse_assignments", "split_assignment"]


def split_assignment(text: str, *, what: str = "option") -> tuple[str, str]:
    """`(key, raw value)` of one `key=value`; the value may itself contain `=`."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise InvalidOptionError(f"{what} '{text}' is not of the form key=value")
    return key, raw


def json_or_text(raw: str) -> Any:
    """A value read as JSON when it parses (numbers, true, lists), else the text itself, so
    `-e word=crane` needs no quotes."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_assignments(pairs: Iterable[str], *, what: str = "option",
                      parse_value: Callable[[str], Any] = json_or_text) -> dict[str, Any]:
    """The pairs as a dict, later keys winning."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, raw = split_assignment(pair, what=what)
        parsed[key] = parse_value(raw)
    return parsed
