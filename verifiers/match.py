"""Exact and numeric answer matching, the simplest verifiers and the most used.

Numbers are read by a small tokenizer rather than `float()`: it must understand what models
write (Unicode minus, thousands separators, scientific notation, fractions, currency signs)
and it must never raise or run long on what a policy can write instead (numbers past float
range, thousands of digits, lone surrogates, megabytes of text). A number too long to be a
plausible answer is read as "not a number", which is never a match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

from envarena.types import Score

__all__ = ["exact_match", "find_numbers", "numeric_match", "parse_number", "trivial_numbers"]

#: Longest number (digits in mantissa, or decimal exponent) read as a value.
MAX_DIGITS = 1000
#: Longest answer `numeric_match` reads; a single number never needs more.
MAX_ANSWER_CHARS = 10_000
# A number: sign, integer part (with well-formed thousands groups, or plain digits), fraction
# part, exponent, and an optional "/denominator". ASCII digits only, after NFKC.
_NUMBER = re.compile(
    r"(?<![\w.])([-+]?)((?:[0-9]{1,3}(?:,[0-9]{3}(?![0-9]))+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)"
    r"(?:[eE]([-+]?[0-9]+))?(?:/([0-9]+))?"
)
_MINUS_SIGNS = dict.fromkeys(map(ord, "\u2212\u2012\u2013\u2014\u2796\ufe63\uff0d"), "-")
_CURRENCY = re.compile(r"\\?[$€£¥]")


@dataclass(frozen=True)
class _Unreadable:
    """A number-shaped token that is no plausible answer (too many digits, or n/0)."""

    text: str


def _unicode(text: str) -> str:
    """NFKC (fullwidth letters and digits) with lone surrogates replaced, so nothing can raise."""
    return unicodedata.normalize("NFKC", text.encode("utf-8", "replace").decode("utf-8"))


def _clean(text: str) -> str:
    """For numbers: also one kind of minus sign and no currency signs."""
    return _CURRENCY.sub("", _unicode(text).translate(_MINUS_SIGNS))


def _to_fraction(match: re.Match[str]) -> Fraction | _Unreadable:
    sign, mantissa, exponent, denominator = match.groups()
    mantissa = mantissa.replace(",", "")
    digits = len(mantissa) - ("." in mantissa)
    # Lengths are checked before int(): converting a long digit string is what takes time.
    if digits > MAX_DIGITS or (exponent and len(exponent.lstrip("+-").lstrip("0")) > 4):
        return _Unreadable(match.group(0))
    power = int(exponent) if exponent else 0
    if abs(power) > MAX_DIGITS or (denominator and len(denominator) > MAX_DIGITS):
        return _Unreadable(match.group(0))
    value = Fraction(mantissa) * Fraction(10) ** power
    if denominator is not None:
        if int(denominator) == 0:
            return _Unreadable(match.group(0))
        value /= int(denominator)
    return -value if sign == "-" else value


def find_numbers(text: str, *, limit: int = 100) -> list[Fraction | _Unreadable]:
    """The first `limit` numbers in `text`, in order; implausible ones as `_Unreadable` markers."""
    found = []
    for match in _NUMBER.finditer(_clean(text)):
        if len(found) == limit:
            break
        found.append(_to_fraction(match))
    return found


def trivial_numbers(prompt: str) -> set[Fraction]:
    """Numbers an answer can state without solving anything: 0 and every number in the prompt.

    Generators of numeric tasks draw again when the answer is one of these, so neither "0"
    nor echoing a number of the question ever scores.
    """
    return {Fraction(0)} | {n for n in find_numbers(prompt, limit=10_000) if isinstance(n, Fraction)}


def _normalize(text: str) -> str:
    return " ".join(_unicode(text).strip().lower().split()).rstrip(".")


def exact_match(expected: str, answer: str, *, case_sensitive: bool = False) -> Score:
    """1.0 when the answers agree after trimming whitespace (and case, by default)."""
    if case_sensitive:
        same = _unicode(expected).strip() == _unicode(answer).strip()
    else:
        same = _normalize(expected) == _normalize(answer)
    return Score(value=1.0 if same else 0.0, feedback="" if same else "That is not the expected answer.")


def parse_number(text: str) -> Fraction | None:
    """Read one number from an answer such as '42', '-3.5', '1,024', '= 7/2', '1.5e3' or '$12'.

    The last number in the text wins, because models tend to state the result last. A number
    with more than `MAX_DIGITS` digits (or a zero denominator) is not read (None).
    """
    last = None
    for last in _NUMBER.finditer(_clean(text)):
        pass
    value = _to_fraction(last) if last is not None else None
    return None if isinstance(value, _Unreadable) else value


def _stated_number(answer: str) -> Fraction | _Unreadable | str:
    """The one number an answer states, or a reason (str) why it states none or several.

    Only what follows the last '=' counts ("3 * 4 = 12" states 12). Several different
    numbers there are a hedge ("12 or 13", "12-13") or a list, and state no answer.
    """
    if len(answer) > MAX_ANSWER_CHARS:
        return f"Your answer is longer than {MAX_ANSWER_CHARS} characters; state one number."
    values: dict[str, Fraction | _Unreadable] = {}
    for match in _NUMBER.finditer(_clean(answer.rsplit("=", 1)[-1])):
        if match.group(0) not in values:
            values[match.group(0)] = _to_fraction(match)
            if len(set(values.values())) > 1:
                return "Your answer contains several different numbers; state exactly one."
    if not values:
        return "I could not find a number in your answer."
    return next(iter(values.values()))


def numeric_match(expected: Fraction | float, answer: str, *, rel_tol: float = 0.0) -> Score:
    """1.0 when the answer states one number equal to `expected` (within `rel_tol`).

    `components["partial"]` is a closeness in [0, 0.5] a task may use as progress credit; a
    hedge or a list of numbers states no answer and gets none.
    """
    value = _stated_number(answer)
    if isinstance(value, str):
        return Score(value=0.0, feedback=value)
    if isinstance(value, _Unreadable):
        return Score(value=0.0, feedback=f"{value.text[:40]!r} is not a number I can read as an answer.")
    target = Fraction(expected)
    error = abs(value - target)
    if error == 0 or (rel_tol and error <= Fraction(rel_tol) * abs(target)):
        return Score(value=1.0, components={"partial": 1.0})
    ratio = error / (abs(target) + 1)
    closeness = 0.0 if ratio >= 1 else float(1 - ratio)
    direction = "too high" if value > target else "too low"
    return Score(
        value=0.0,
        components={"partial": 0.5 * closeness},
        feedback=f"{_show(value)} is not correct; it is {direction}.",
    )


def _show(value: Fraction) -> str:
    """A short rendering that cannot overflow: huge values are described, not converted."""
    if abs(value) >= 10**15:
        return f"Your number (about 10^{len(str(abs(int(value)))) - 1})"
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):g}"
