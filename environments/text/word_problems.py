"""Word problems from templates, with answers computed from the generated numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from envarena.task_env import TaskEnv
from envarena.types import Score
from envarena.verifiers import numeric_match
from envarena.verifiers.match import trivial_numbers

_NAMES = ["Maya", "Omar", "Lena", "Ravi", "Zoe", "Tariq", "Ines", "Kofi"]
_ITEMS = ["apples", "pencils", "stickers", "marbles", "books", "cookies"]


@dataclass(frozen=True)
class WordProblem:
    text: str
    answer: int
    steps: int


def _templates(scale: int) -> list[Callable[[np.random.Generator], WordProblem]]:
    def shopping(rng: np.random.Generator) -> WordProblem:
        name, item = str(rng.choice(_NAMES)), str(rng.choice(_ITEMS))
        packs, per, price = (int(x) for x in rng.integers(2, 6 * scale + 3, size=3))
        return WordProblem(f"{name} buys {packs} packs of {item} with {per} in each pack. Each pack costs ${price}. "
                           f"How many dollars does {name} spend?", packs * price, 1)

    def sharing(rng: np.random.Generator) -> WordProblem:
        name, item = str(rng.choice(_NAMES)), str(rng.choice(_ITEMS))
        friends = int(rng.integers(2, 6))
        each = int(rng.integers(3, 10 * scale))
        left = int(rng.integers(0, friends))
        total = friends * each + left
        return WordProblem(f"{name} has {total} {item} and shares them equally among {friends} friends, giving each as "
                           f"many as possible. How many {item} are left over?", left, 1)

    def rate(rng: np.random.Generator) -> WordProblem:
        name = str(rng.choice(_NAMES))
        speed, hours, extra = int(rng.integers(20, 30 * scale + 21)), int(rng.integers(2, 6)), int(rng.integers(5, 40))
        return WordProblem(f"{name} drives at {speed} km per hour for {hours} hours, then walks {extra} km. "
                           "How many km is that in total?", speed * hours + extra, 2)

    def savings(rng: np.random.Generator) -> WordProblem:
        name = str(rng.choice(_NAMES))
        start, weekly, weeks, spend = (int(rng.integers(10, 50 * scale)), int(rng.integers(5, 20 * scale)),
                                       int(rng.integers(3, 12)), int(rng.integers(5, 30)))
        return WordProblem(f"{name} has ${start}, saves ${weekly} every week for {weeks} weeks, and then spends "
                           f"${spend} on a gift. How many dollars are left?", start + weekly * weeks - spend, 3)

    def ages(rng: np.random.Generator) -> WordProblem:
        a, b = (str(x) for x in rng.choice(_NAMES, size=2, replace=False))
        age, diff, years = int(rng.integers(5, 15 * scale)), int(rng.integers(2, 10)), int(rng.integers(2, 20))
        return WordProblem(f"{a} is {age} years old. {b} is {diff} years older than {a}. How old will {b} be in "
                           f"{years} years?", age + diff + years, 2)

    return [shopping, sharing, rate, savings, ages]


class WordProblemsEnv(TaskEnv[WordProblem]):
    """Grade-school word problems (shopping, sharing, travel, savings, ages) generated from templates.

    Numbers are drawn from the seed and the answer is computed, never looked up; a problem
    whose answer is 0 or a number of its text is drawn again. Difficulty scales the numbers
    (x1, x3, x10). Rewards: `progress` (potential: closeness of the best answer, 1 when
    exact), `format` and `outcome`.
    """

    def generate(self, rng: np.random.Generator) -> WordProblem:
        scale = {"easy": 1, "medium": 3, "hard": 10}[self.difficulty]
        makers = _templates(scale)
        while True:
            task = makers[int(rng.integers(len(makers)))](rng)
            if task.answer not in trivial_numbers(task.text):
                return task

    def prompt(self, task: WordProblem) -> str:
        return f"{task.text} {self.answer_instructions}"

    def check(self, task: WordProblem, answer: str) -> Score:
        return numeric_match(task.answer, answer)

    def solution(self, task: WordProblem) -> str:
        return str(task.answer)

    def random_action(self, rng: np.random.Generator) -> str:
        return f"<answer>{self.task.answer + int(rng.integers(1, 30)) * int(rng.choice([-1, 1]))}</answer>"
