"""Knights and knaves: knights always tell the truth, knaves always lie. Who is who?"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

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


_ROLE_WORDS = {"knight": 1, "knights": 1, "truth-teller": 1, "truth-tellers": 1, "truthteller": 1, "truthtellers": 1,
               "knave": 0, "knaves": 0, "liar": 0, "liars": 0}
_NEGATION = r"\bnot\b|n't\b|\bisnt\b"
MAX_ANSWER_CHARS = 2_000


class AmbiguousAnswer(ValueError):
    """The answer gives one islander both roles, or a role to nobody (a hedge)."""


def parse_roles(answer: str, names: tuple[str, ...]) -> dict[str, int]:
    """Read who is a knight (1) and who is a knave (0) from the phrasings people use.

    Names and role words are read in order, everything else is skipped. When the first of
    them is a name, each name takes the next role ("Eve: knave, Dee: knight", "Eve is a
    knave and Dee is a knight", "Eve - knave; Dee - knight", "Eve=knave", "Eve and Dee are
    knaves"); when it is a role, each name takes the role before it ("Knights: Dee. Knaves:
    Eve"). A "not" just before a role flips it. Raises `AmbiguousAnswer` when someone gets
    both roles or a role word belongs to no name ("Eve: knight or knave", listing every
    combination), so a hedge never counts as an answer.
    """
    text = unicodedata.normalize("NFKC", answer.encode("utf-8", "replace").decode("utf-8")).lower()
    if len(text) > MAX_ANSWER_CHARS:
        raise AmbiguousAnswer(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    by_name = {n.lower(): n for n in names}
    words = sorted([*by_name, *_ROLE_WORDS], key=len, reverse=True)
    token = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b|(" + _NEGATION + ")")
    found: dict[str, int] = {}

    def assign(group: list[str], role: int) -> None:
        if not group:
            raise AmbiguousAnswer("a role is given to nobody")
        for name in group:
            if found.setdefault(name, role) != role:
                raise AmbiguousAnswer(f"{name} is given both roles")

    tokens = [(m.group(1), m.group(2) is not None) for m in token.finditer(text)]
    names_first = next((word in by_name for word, negation in tokens if not negation), True)
    group: list[str] = []  # names waiting for their role (names first) or under the current role (role first)
    role: int | None = None
    negated = False
    for word, negation in tokens:
        if negation:
            negated = True
        elif word in by_name:
            group.append(by_name[word])
        else:
            new_role = _ROLE_WORDS[word] ^ negated
            negated = False
            if names_first:
                assign(group, new_role)
            elif role is not None:
                assign(group, role)
            group, role = [], new_role
    if not names_first and role is not None:
        assign(group, role)
    return found


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
        try:
            given = parse_roles(answer, task.names)
        except AmbiguousAnswer as err:
            return Score(value=0.0, feedback=f"Your answer is ambiguous: {err}. Give each islander exactly one role.")
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
