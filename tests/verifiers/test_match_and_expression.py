from fractions import Fraction

import pytest

from envarena.environments.text.countdown import check_countdown
from envarena.verifiers import ExpressionError, evaluate, exact_match, numeric_match, parse_number


@pytest.mark.parametrize(
    "text, value",
    [("42", 42), ("The answer is -3.5.", Fraction(-7, 2)), ("1,024", 1024), ("= 7/2", Fraction(7, 2)),
     ("$12", 12), ("first 3 then 4", 4)],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_numeric_match_gives_direction_and_partial_credit():
    assert numeric_match(10, "10").value == 1.0
    low = numeric_match(10, "8")
    assert low.value == 0.0 and "too low" in low.feedback and 0 < low.components["partial"] < 0.5
    assert numeric_match(10, "no idea").feedback.startswith("I could not find a number")
    assert exact_match("Paris", " paris. ").value == 1.0 and exact_match("Paris", "Lyon").value == 0.0


@pytest.mark.parametrize(
    "text",
    ["__import__('os').system('true')", "2 ** 1000000", "[1] * 10", "abs(-1)", "1 if 1 else 2", "x + 1", "", "1 +"],
)
def test_expression_evaluator_refuses_anything_but_arithmetic(text):
    with pytest.raises(ExpressionError):
        evaluate(text)


def test_expression_evaluator_is_exact():
    assert evaluate("1/3 * 3") == 1
    assert evaluate("(25 - 5) × 4") == 80
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate("1 / (2 - 2)")


def test_countdown_checker():
    assert check_countdown((3, 7, 25), 46, "25 + 3 * 7").value == 1.0
    reused = check_countdown((3, 7, 25), 46, "25 + 7 + 7 + 7")
    assert reused.value == 0.0 and "only 1 is available" in reused.feedback
    assert check_countdown((3, 7, 25), 46, "25 + 8").value == 0.0  # 8 is not given
    assert "Invalid expression" in check_countdown((3, 7, 25), 46, "import os").feedback
