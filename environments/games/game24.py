"""The 24 game: make 24 from four numbers with + - * /, using each number exactly once."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction
from functools import cache

import numpy as np

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


@cache
def reachable(numbers: tuple[int, ...], integers_only: bool = False) -> frozenset[float]:
    """Every value some expression over all the numbers (each once) can take.

    Built by splitting the numbers into two groups every possible way and combining what
    each group reaches, so every expression tree is covered. With `integers_only`, values are
    Python ints and a division is only taken where it is exact, so exactly the expressions
    whose every intermediate result is an integer count. Otherwise values are floats (fast;
    with operands up to 13 no wrong value comes within 1e-9 of 24, and `solve` confirms a
    puzzle exactly before it is used).
    """
    if len(numbers) == 1:
        return frozenset({numbers[0]})
    found: set[float] = set()
    first, rest = numbers[0], numbers[1:]
    for mask in range(1 << len(rest)):  # every split, the first number always on the left
        left = (first,) + tuple(n for k, n in enumerate(rest) if mask >> k & 1)
        right = tuple(n for k, n in enumerate(rest) if not mask >> k & 1)
        if not right:
            continue
        for a in reachable(left, integers_only):
            for b in reachable(right, integers_only):
                found.update((a + b, a - b, b - a, a * b))
                if integers_only:
                    found.update(x // y for x, y in ((a, b), (b, a)) if y != 0 and x % y == 0)
                else:
                    found.update(x / y for x, y in ((a, b), (b, a)) if y != 0)
    return frozenset(found)


def solvable(numbers: tuple[int, ...]) -> bool:
    return any(abs(v - TARGET) < 1e-9 for v in reachable(tuple(sorted(numbers))))


def needs_fractions(numbers: tuple[int, ...]) -> bool:
    """Whether the puzzle is solvable and every solution has a non-integer intermediate result."""
    key = tuple(sorted(numbers))
    return solvable(key) and TARGET not in reachable(key, True)


def trivially_solved(numbers: tuple[int, ...]) -> bool:
    """The sum or the product of all the numbers is 24: "every number at once" solves it."""
    return sum(numbers) == TARGET or math.prod(numbers) == TARGET


class Game24Env(TaskEnv[tuple[int, ...]]):
    """The 24 game: combine four numbers with + - * / and parentheses to make exactly 24.

    Every number is used exactly once. Easy draws numbers 1-9, medium 1-13, hard 1-13 where
    every solution needs a fraction along the way (like 8 / (3 - 8 / 3)): an exhaustive search
    restricted to integer intermediate results finds none. Every puzzle is checked solvable by
    exhaustive search, and none is solved by the sum or the product of all its numbers.
    Rewards: `progress` (potential: closeness of the best valid expression to 24), `format`
    and `outcome`.
    """

    def generate(self, rng: np.random.Generator) -> tuple[int, ...]:
        while True:
            numbers = tuple(sorted(int(n) for n in rng.integers(1, _RANGE[self.difficulty] + 1, size=4)))
            if not solvable(numbers) or trivially_solved(numbers):
                continue
            if self.difficulty == "hard" and not needs_fractions(numbers):
                continue
            if solve(numbers) is not None:  # exact confirmation of the float search
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
