"""The 24 game: make 24 from four numbers with + - * /, using each number exactly once."""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction
from functools import cache

import numpy as np

from envarena.registration import register
from envarena.task_env import TaskEnv
from envarena.types import Score
from envarena.verifiers import ExpressionError, evaluate, numbers_used

TARGET = 24
_RANGE = {"easy": 9, "medium": 13, "hard": 13}


@cache
def solve(numbers: tuple[int, ...]) -> str | None:
    """An expression making 24 from all the numbers, or None (exhaustive search)."""
    def search(items: tuple[tuple[Fraction, str], ...]) -> str | None:
        if len(items) == 1:
            return items[0][1] if items[0][0] == TARGET else None
        for i, j in itertools.permutations(range(len(items)), 2):
            (a, sa), (b, sb) = items[i], items[j]
            rest = tuple(x for k, x in enumerate(items) if k not in (i, j))
            options = [(a + b, f"({sa} + {sb})"), (a - b, f"({sa} - {sb})"), (a * b, f"({sa} * {sb})")]
            if b != 0:
                options.append((a / b, f"({sa} / {sb})"))
            for value, text in options:
                found = search(rest + ((value, text),))
                if found:
                    return found
        return None

    return search(tuple((Fraction(n), str(n)) for n in numbers))


def needs_fractions(expression: str) -> bool:
    """Whether an intermediate result of the expression is not an integer (hard puzzles)."""
    import ast

    def walk(node: ast.expr) -> bool:
        if isinstance(node, ast.BinOp):
            return walk(node.left) or walk(node.right) or evaluate(ast.unparse(node)).denominator != 1
        return False

    return walk(ast.parse(expression, mode="eval").body)


@register("games/game24-v0", tags=("game", "math", "single-player"))
class Game24Env(TaskEnv[tuple[int, ...]]):
    """The 24 game: combine four numbers with + - * / and parentheses to make exactly 24.

    Every number is used exactly once. Easy draws numbers 1-9, medium 1-13, hard 1-13 where
    every solution needs a fraction along the way (like 8 / (3 - 8 / 3)). Every puzzle is
    checked solvable by exhaustive search. Rewards: `progress` (potential: closeness of the
    best valid expression to 24), `format` and `outcome`.
    """

    def generate(self, rng: np.random.Generator) -> tuple[int, ...]:
        while True:
            numbers = tuple(sorted(int(n) for n in rng.integers(1, _RANGE[self.difficulty] + 1, size=4)))
            solution = solve(numbers)
            if solution is None:
                continue
            if self.difficulty == "hard" and not needs_fractions(solution):
                continue
            return numbers

    def prompt(self, task: tuple[int, ...]) -> str:
        listed = ", ".join(map(str, task))
        return (f"Use the numbers {listed}, each exactly once, with + - * / and parentheses to make {TARGET}. "
                f"{self.answer_instructions}")

    def check(self, task: tuple[int, ...], answer: str) -> Score:
        try:
            used, value = numbers_used(answer), evaluate(answer)
        except ExpressionError as err:
            return Score(value=0.0, feedback=f"Invalid expression: {err}.")
        if used != Counter(Fraction(n) for n in task):
            return Score(value=0.0, feedback=f"Use exactly the numbers {', '.join(map(str, task))}, each once.")
        if value == TARGET:
            return Score(value=1.0)
        return Score(value=0.0, components={"partial": 0.5 * max(0.0, 1 - abs(float(value) - TARGET) / TARGET)},
                     feedback=f"That makes {float(value):g}, not {TARGET}.")

    def solution(self, task: tuple[int, ...]) -> str:
        found = solve(task)
        assert found is not None
        return found

    def random_action(self, rng: np.random.Generator) -> str:
        a, b, c, d = rng.permutation(self.task)
        ops = rng.choice(["+", "-", "*"], size=3)
        return f"<answer>{a} {ops[0]} {b} {ops[1]} {c} {ops[2]} {d}</answer>"
