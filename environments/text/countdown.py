"""Countdown: reach a target number with + - * / using each given number at most once."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from envarena.task_env import TaskEnv
from envarena.types import Score
from envarena.verifiers import ExpressionError, evaluate, numbers_used

# (how many numbers, largest number) per difficulty
_LEVELS = {"easy": (3, 20), "medium": (4, 50), "hard": (6, 100)}


@dataclass(frozen=True)
class CountdownTask:
    numbers: tuple[int, ...]
    target: int
    solution: str


def _combine(rng: np.random.Generator, numbers: list[int]) -> tuple[str, Fraction]:
    """Fold all numbers into one random expression whose value is a positive integer."""
    terms = [(str(n), Fraction(n)) for n in numbers]
    while len(terms) > 1:
        i, j = (int(k) for k in rng.choice(len(terms), size=2, replace=False))
        (a_text, a), (b_text, b) = terms[i], terms[j]
        options = [("+", a + b), ("*", a * b)]
        if a > b:
            options.append(("-", a - b))
        if b != 0 and a % b == 0 and b != 1:
            options.append(("/", a / b))
        op, value = options[int(rng.integers(len(options)))]
        merged = (f"({a_text} {op} {b_text})", value)
        terms = [t for k, t in enumerate(terms) if k not in (i, j)] + [merged]
    text, value = terms[0]
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text, value


def check_countdown(numbers: tuple[int, ...], target: int, expression: str) -> Score:
    """Score an expression: must only use the given numbers (each once) and hit the target."""
    try:
        used = numbers_used(expression)
        value = evaluate(expression)
    except ExpressionError as err:
        return Score(value=0.0, feedback=f"Invalid expression: {err}.")
    available = Counter(Fraction(n) for n in numbers)
    for number, count in used.items():
        if count > available.get(number, 0):
            have = available.get(number, 0)
            return Score(
                value=0.0,
                feedback=f"You used {number} {count} time(s) but only {have} is available.",
            )
    if value == target:
        return Score(value=1.0, components={"partial": 1.0})
    closeness = max(0.0, 1.0 - float(abs(value - target)) / target)
    return Score(
        value=0.0,
        components={"partial": 0.5 * closeness},
        feedback=f"Your expression equals {float(value):g}, not {target}.",
    )


class CountdownEnv(TaskEnv[CountdownTask]):
    """Countdown numbers game: combine the given numbers with + - * / to reach the target.

    Each number may be used at most once. Difficulty sets how many numbers there are (3, 4
    or 6) and how large they get; every task is generated from a known solution, so it is
    solvable, and the target is never a given number nor the sum or product of them all.
    Rewards: `progress` (potential: closeness of the best valid expression), `format` and
    `outcome`.
    """

    def generate(self, rng: np.random.Generator) -> CountdownTask:
        count, largest = _LEVELS[self.difficulty]
        while True:
            numbers = [int(n) for n in rng.integers(1, largest + 1, size=count)]
            text, value = _combine(rng, numbers)
            trivial = {sum(numbers), math.prod(numbers)}  # "every number at once" is no search
            if value.denominator == 1 and 10 <= value <= 1000 and value not in numbers and value not in trivial:
                return CountdownTask(tuple(numbers), int(value), text)

    def prompt(self, task: CountdownTask) -> str:
        listed = ", ".join(str(n) for n in task.numbers)
        return (
            f"Using the numbers {listed}, write an arithmetic expression that equals {task.target}. "
            "You may use + - * / and parentheses, and each number at most once. "
            f"{self.answer_instructions}"
        )

    def check(self, task: CountdownTask, answer: str) -> Score:
        return check_countdown(task.numbers, task.target, answer)

    def solution(self, task: CountdownTask) -> str:
        return task.solution

    def random_action(self, rng: np.random.Generator) -> str:
        picked = rng.permutation(self.task.numbers)[: int(rng.integers(2, len(self.task.numbers) + 1))]
        ops = rng.choice(["+", "-", "*"], size=len(picked) - 1)
        expression = str(picked[0]) + "".join(f" {o} {n}" for o, n in zip(ops, picked[1:]))
        return f"<answer>{expression}</answer>"
