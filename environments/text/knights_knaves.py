"""Knights and knaves: knights always tell the truth, knaves always lie. Who is who?"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from envarena.registration import register
from envarena.task_env import TaskEnv
from envarena.types import Score

_NAMES = ["Ada", "Ben", "Cal", "Dee", "Eve", "Fin"]
_PEOPLE = {"easy": 2, "medium": 3, "hard": 4}


@dataclass(frozen=True)
class Statement:
    speaker: int
    kind: str  # "is", "same", "different", "count"
    a: int = 0
    b: int = 0
    value: int = 0  # for "is": 1 knight, 0 knave; for "count": how many knights

    def holds(self, roles: tuple[int, ...]) -> bool:
        if self.kind == "is":
            return roles[self.a] == self.value
        if self.kind == "same":
            return roles[self.a] == roles[self.b]
        if self.kind == "different":
            return roles[self.a] != roles[self.b]
        return sum(roles) == self.value

    def text(self, names: list[str]) -> str:
        if self.kind == "is":
            who = "I am" if self.a == self.speaker else f"{names[self.a]} is"
            return f'{names[self.speaker]} says: "{who} a {"knight" if self.value else "knave"}."'
        if self.kind == "same":
            return f'{names[self.speaker]} says: "{names[self.a]} and {names[self.b]} are the same kind."'
        if self.kind == "different":
            return f'{names[self.speaker]} says: "{names[self.a]} and {names[self.b]} are different kinds."'
        return f'{names[self.speaker]} says: "Exactly {self.value} of us are knights."'


@dataclass(frozen=True)
class Puzzle:
    names: tuple[str, ...]
    statements: tuple[Statement, ...]
    roles: tuple[int, ...]


def consistent(roles: tuple[int, ...], statements: tuple[Statement, ...]) -> bool:
    """Knights' statements are true and knaves' statements are false."""
    return all(s.holds(roles) == bool(roles[s.speaker]) for s in statements)


def solutions(n: int, statements: tuple[Statement, ...]) -> list[tuple[int, ...]]:
    return [roles for roles in itertools.product((0, 1), repeat=n) if consistent(roles, statements)]


def _random_statement(rng: np.random.Generator, n: int, speaker: int) -> Statement:
    kind = str(rng.choice(["is", "same", "different", "count"] if n > 2 else ["is", "same", "different"]))
    a, b = (int(x) for x in rng.choice(n, size=2, replace=False))
    return Statement(speaker, kind, a, b, int(rng.integers(0, 2 if kind == "is" else n + 1)))


def parse_roles(answer: str, names: tuple[str, ...]) -> dict[str, int]:
    found = {}
    for name in names:
        match = re.search(rf"\b{name}\b\W*(?:is\s+(?:a\s+)?)?(knight|knave)", answer, re.IGNORECASE)
        if match:
            found[name] = int(match.group(1).lower() == "knight")
    return found


@register("text/knights-knaves-v0", tags=("logic", "reasoning", "retry"))
class KnightsKnavesEnv(TaskEnv[Puzzle]):
    """Knights and knaves: from what each islander says, tell the knights (truthful) from the knaves (lying).

    Every generated puzzle has exactly one solution (checked by trying every assignment).
    Easy has 2 islanders, medium 3, hard 4. Answer like `Ada: knight, Ben: knave`. Rewards:
    `progress` (potential: share of islanders classified correctly in the best answer),
    `format` and `outcome`.
    """

    answer_instructions = "Put your answer inside <answer></answer> tags, e.g. <answer>Ada: knight, Ben: knave</answer>."

    def generate(self, rng: np.random.Generator) -> Puzzle:
        n = _PEOPLE[self.difficulty]
        names = tuple(str(x) for x in rng.choice(_NAMES, size=n, replace=False))
        while True:
            statements = tuple(_random_statement(rng, n, speaker) for speaker in range(n))
            found = solutions(n, statements)
            if len(found) == 1:
                return Puzzle(names, statements, found[0])

    def prompt(self, task: Puzzle) -> str:
        lines = "\n".join(s.text(list(task.names)) for s in task.statements)
        return (f"On an island, knights always tell the truth and knaves always lie. You meet "
                f"{', '.join(task.names)}.\n{lines}\nWho is a knight and who is a knave? {self.answer_instructions}")

    def check(self, task: Puzzle, answer: str) -> Score:
        given = parse_roles(answer, task.names)
        right = sum(given.get(name) == role for name, role in zip(task.names, task.roles))
        if right == len(task.names):
            return Score(value=1.0, components={"partial": 1.0})
        missing = [n for n in task.names if n not in given]
        hint = f"Say what {', '.join(missing)} is." if missing else "That assignment contradicts the statements."
        return Score(value=0.0, components={"partial": 0.8 * right / len(task.names)}, feedback=hint)

    def solution(self, task: Puzzle) -> str:
        return ", ".join(f"{n}: {'knight' if r else 'knave'}" for n, r in zip(task.names, task.roles))

    def random_action(self, rng: np.random.Generator) -> str:
        return "<answer>" + ", ".join(f"{n}: {rng.choice(['knight', 'knave'])}" for n in self.task.names) + "</answer>"
