"""Multi-step arithmetic with retries: evaluate a generated expression exactly."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from envarena.task_env import TaskEnv
from envarena.types import Score
from envarena.verifiers import evaluate, numeric_match
from envarena.verifiers.match import trivial_numbers

# (number of operators, largest operand) per difficulty
_LEVELS = {"easy": (2, 20), "medium": (4, 50), "hard": (6, 100)}


@dataclass(frozen=True)
class ArithmeticTask:
    expression: str
    value: int


def random_expression(rng: np.random.Generator, operators: int, largest: int) -> tuple[str, int]:
    """A random integer expression with `operators` operators and an integer value.

    Division is only used where it is exact, so every task has one integer answer. The value
    is never 0 nor a number written in the expression, so no trivial answer scores.
    """
    while True:
        terms: list[tuple[str, Fraction]] = [
            (str(v), Fraction(v)) for v in rng.integers(1, largest + 1, size=operators + 1)
        ]
        while len(terms) > 1:
            i = int(rng.integers(len(terms) - 1))
            (ltext, lval), (rtext, rval) = terms[i], terms[i + 1]
            op = str(rng.choice(["+", "-", "*", "/"], p=[0.35, 0.3, 0.25, 0.1]))
            if op == "/" and (rval == 0 or lval % rval != 0):
                op = "+"
            text = f"({ltext} {op} {rtext})" if len(terms) > 2 else f"{ltext} {op} {rtext}"
            terms[i : i + 2] = [(text, evaluate(text))]
        expression, value = terms[0]
        if value.denominator == 1 and abs(value) < 10**6 and value not in trivial_numbers(expression):
            return expression, int(value)


class ArithmeticEnv(TaskEnv[ArithmeticTask]):
    """Evaluate a multi-step integer expression such as (12 + 7) * 3 - 8.

    Difficulty sets the number of operators (2, 4 or 6) and the size of the operands. A wrong
    answer is told whether it is too high or too low and may be retried (3 attempts by
    default). Rewards: `progress` (potential: closeness of the best answer, 1 when exact),
    `format` (missing <answer> tags) and `outcome` (1 if solved).
    """

    def generate(self, rng: np.random.Generator) -> ArithmeticTask:
        operators, largest = _LEVELS[self.difficulty]
        expression, value = random_expression(rng, operators, largest)
        return ArithmeticTask(expression, value)

    def prompt(self, task: ArithmeticTask) -> str:
        return f"Compute the value of {task.expression}. {self.answer_instructions}"

    def check(self, task: ArithmeticTask, answer: str) -> Score:
        return numeric_match(task.value, answer)

    def solution(self, task: ArithmeticTask) -> str:
        return str(task.value)

    def random_action(self, rng: np.random.Generator) -> str:
        guess = self.task.value + int(rng.integers(-20, 21))
        return f"<answer>{guess}</answer>"
