"""Exact and numeric answer matching, the simplest verifiers and the most used."""

from __future__ import annotations

import re
from fractions import Fraction

from envarena.types import Score

__all__ = ["exact_match", "numeric_match", "parse_number"]

_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*)?(?:\.\d+)?(?:/\d+)?")


def _normalize(text: str) -> str:
    return " ".join(text.strip().lower().split()).rstrip(".")


def exact_match(expected: str, answer: str, *, case_sensitive: bool = False) -> Score:
    """1.0 when the answers agree after trimming whitespace (and case, by default)."""
    same = (expected.strip() == answer.strip()) if case_sensitive else (_normalize(expected) == _normalize(answer))
    return Score(value=1.0 if same else 0.0, feedback="" if same else "That is not the expected answer.")


def parse_number(text: str) -> Fraction | None:
    """Read one number from an answer such as '42', '-3.5', '1,024', '= 7/2' or '$12'.

    The last number in the text wins, because models tend to state the result last.
    """
    candidates = [m.group(0) for m in _NUMBER.finditer(text.replace("$", "")) if re.search(r"\d", m.group(0))]
    if not candidates:
        return None
    raw = candidates[-1].replace(",", "")
    try:
        return Fraction(raw)
    except (ValueError, ZeroDivisionError):
        return None


def numeric_match(expected: Fraction | int | float, answer: str, *, rel_tol: float = 0.0) -> Score:
    """1.0 when the answer's number equals `expected` (within `rel_tol`), with a hint otherwise.

    `components["partial"]` is a closeness in [0, 0.5] a task may use as progress credit.
    """
    value = parse_number(answer)
    if value is None:
        return Score(value=0.0, feedback="I could not find a number in your answer.")
    target = Fraction(expected)
    if value == target or (rel_tol and abs(value - target) <= rel_tol * abs(target)):
        return Score(value=1.0, components={"partial": 1.0})
    closeness = max(0.0, 1.0 - float(abs(value - target)) / (abs(float(target)) + 1.0))
    direction = "too high" if value > target else "too low"
    return Score(
        value=0.0,
        components={"partial": 0.5 * closeness},
        feedback=f"{_show(value)} is not correct; it is {direction}.",
    )


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
