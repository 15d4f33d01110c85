"""Safe evaluation of arithmetic expressions written by a model.

Models answer with expressions ("(25 - 5) * 4"); evaluating them with `eval` would run
arbitrary code, so they are parsed with `ast` and only numbers, + - * / and parentheses are
allowed. Exact `Fraction` arithmetic keeps "1/3 * 3 == 1" true, as a grader expects.

Everything a policy can write instead must end in `ExpressionError`, never in another
exception or a long computation: the text is limited to a short whitelist of characters
(no lone surrogates, NUL bytes or Python-only literals), literals are read from their
source text (so `1e309` is a huge number rather than `inf`, and `0.1` is exactly 1/10),
and literal size, results and nesting depth are bounded.
"""

from __future__ import annotations

import ast
import operator
import re
from collections import Counter
from fractions import Fraction

__all__ = ["ExpressionError", "evaluate", "numbers_used"]

_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_MAX_LENGTH = 500
_MAX_MAGNITUDE = Fraction(10) ** 30
_MAX_DEPTH = 200
_ALLOWED_TEXT = re.compile(r"[0-9.eE+\-*/() \t\n]*")
_LITERAL = re.compile(r"([0-9]*\.?[0-9]*)(?:[eE]([-+]?[0-9]+))?")
_SYMBOLS = str.maketrans({"×": "*", "÷": "/", "−": "-", "–": "-"})


class ExpressionError(ValueError):
    """The text is not a plain arithmetic expression we are willing to evaluate."""


def _parse(text: str) -> tuple[ast.expr, str]:
    cleaned = text.strip().translate(_SYMBOLS)
    if not cleaned:
        raise ExpressionError("the expression is empty")
    if len(cleaned) > _MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {_MAX_LENGTH} characters")
    if not _ALLOWED_TEXT.fullmatch(cleaned):
        raise ExpressionError("use only numbers, + - * / and parentheses")
    try:
        return ast.parse(cleaned, mode="eval").body, cleaned
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(f"'{cleaned}' is not a valid arithmetic expression") from None


def _literal(node: ast.Constant, source: str) -> Fraction:
    """The exact value of a number literal, read from its text; huge literals are refused."""
    if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
        raise ExpressionError(f"'{node.value!r}' is not a number")
    text = ast.get_source_segment(source, node) or ""
    match = _LITERAL.fullmatch(text)
    if match is None or not match.group(1).strip("."):
        raise ExpressionError(f"'{text}' is not a plain decimal number")
    mantissa, exponent = match.groups()
    # Check sizes on the text: building 10**exponent for a long exponent is the slow part.
    if len(mantissa) > 40 or (exponent is not None and (len(exponent) > 4 or abs(int(exponent)) > 40)):
        raise ExpressionError(f"the number '{text[:20]}' is too large")
    value = Fraction(text)
    if abs(value) > _MAX_MAGNITUDE:
        raise ExpressionError(f"the number '{text[:20]}' is too large")
    return value


def _eval(node: ast.expr, source: str, depth: int = 0) -> Fraction:
    if depth > _MAX_DEPTH:
        raise ExpressionError("the expression is nested too deeply")
    if isinstance(node, ast.Constant):
        return _literal(node, source)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand, source, depth + 1)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _eval(node.left, source, depth + 1), _eval(node.right, source, depth + 1)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ExpressionError("division by zero")
        result = _OPERATORS[type(node.op)](left, right)
        if abs(result) > _MAX_MAGNITUDE:
            raise ExpressionError("the result is too large")
        return result
    raise ExpressionError(f"'{ast.unparse(node)[:60]}' is not allowed; use numbers, + - * / and parentheses")


def evaluate(text: str) -> Fraction:
    """Evaluate `text` exactly, or raise `ExpressionError` saying what is wrong."""
    return _eval(*_parse(text))


def numbers_used(text: str) -> Counter[Fraction]:
    """How many times each literal number appears (for "use each number once" games)."""
    tree, source = _parse(text)
    return Counter(_literal(n, source) for n in ast.walk(tree) if isinstance(n, ast.Constant))
