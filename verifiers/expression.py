"""Safe evaluation of arithmetic expressions written by a model.

Models answer with expressions ("(25 - 5) * 4"); evaluating them with `eval` would run
arbitrary code, so they are parsed with `ast` and only numbers, + - * / and parentheses are
allowed. Exact `Fraction` arithmetic keeps "1/3 * 3 == 1" true, as a grader expects.
"""

from __future__ import annotations

import ast
import operator
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


class ExpressionError(ValueError):
    """The text is not a plain arithmetic expression we are willing to evaluate."""


def _parse(text: str) -> ast.expr:
    cleaned = text.strip().replace("×", "*").replace("÷", "/").replace("−", "-")
    if not cleaned:
        raise ExpressionError("the expression is empty")
    if len(cleaned) > _MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {_MAX_LENGTH} characters")
    try:
        return ast.parse(cleaned, mode="eval").body
    except SyntaxError:
        raise ExpressionError(f"'{cleaned}' is not a valid arithmetic expression") from None


def _eval(node: ast.expr) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ExpressionError("division by zero")
        result = _OPERATORS[type(node.op)](left, right)
        if abs(result) > _MAX_MAGNITUDE:
            raise ExpressionError("the result is too large")
        return result
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed; use numbers, + - * / and parentheses")


def evaluate(text: str) -> Fraction:
    """Evaluate `text` exactly, or raise `ExpressionError` saying what is wrong."""
    return _eval(_parse(text))


def numbers_used(text: str) -> Counter[Fraction]:
    """How many times each literal number appears (for "use each number once" games)."""
    return Counter(
        Fraction(n.value)
        for n in ast.walk(_parse(text))
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float))
    )
