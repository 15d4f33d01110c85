"""Mastermind: deduce a hidden code of coloured pegs from black/white peg feedback."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.rewards import FORMAT_PENALTY
from envarena.task_env import Difficulty, extract_answer
from envarena.types import Message

# (pegs, colours, guesses allowed) per difficulty
_LEVELS = {"easy": (3, 4, 8), "medium": (4, 6, 10), "hard": (5, 8, 12)}
_MINIMAX_LIMIT = 250  # candidate count below which the solver looks one guess ahead


def score_guess(code: tuple[int, ...], guess: tuple[int, ...]) -> tuple[int, int]:
    """(black, white): right colour in the right place, right colour in the wrong place."""
    black = sum(c == g for c, g in zip(code, guess))
    common = sum((Counter(code) & Counter(guess)).values())
    return black, common - black


class MastermindSolver:
    """Keeps every code consistent with the feedback and guesses one of them, picking the
    guess whose worst-case feedback leaves the fewest candidates when that is affordable."""

    def __init__(self, env: MastermindEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        env = self.env
        candidates = [
            code
            for code in itertools.product(range(1, env.colours + 1), repeat=env.pegs)
            if all(score_guess(code, g) == s for g, s in env.history)
        ]
        if not env.history:
            half = env.pegs // 2
            guess = tuple([1] * half + [2] * (env.pegs - half))
        elif len(candidates) <= _MINIMAX_LIMIT:
            guess = min(candidates, key=lambda g: max(Counter(score_guess(c, g) for c in candidates).values()))
        else:
            guess = candidates[0]
        return "<answer>" + " ".join(map(str, guess)) + "</answer>"


class MastermindEnv(Env):
    """Mastermind: find a hidden code of coloured pegs (colours are numbers 1..k).

    After each guess you learn how many pegs are the right colour in the right place
    (black) and how many are the right colour in the wrong place (white). Easy: 3 pegs, 4
    colours, 8 guesses; medium: 4 pegs, 6 colours, 10 guesses; hard: 5 pegs, 8 colours, 12
    guesses. Rewards: `progress` (potential: best share of black pegs, 1 when solved),
    `invalid_action`, `format` and `outcome`.
    """

    def __init__(
        self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None
    ) -> None:
        self.difficulty = difficulty
        self.pegs, self.colours, self.max_guesses = _LEVELS[difficulty]
        super().__init__(max_turns=max_turns or self.max_guesses + 4, render_mode=render_mode)
        self.code: tuple[int, ...] = ()
        self.history: list[tuple[tuple[int, ...], tuple[int, int]]] = []

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        self.code = tuple(int(c) for c in self.np_random.integers(1, self.colours + 1, size=self.pegs))
        self.history = []
        example = " ".join(str((i % self.colours) + 1) for i in range(self.pegs))
        return [
            Message.system("You are playing Mastermind. Put each guess inside <answer></answer> tags."),
            Message.user(
                f"I chose a secret code of {self.pegs} pegs, each a colour from 1 to {self.colours} "
                f"(colours may repeat). You have {self.max_guesses} guesses. After each guess I tell you "
                "how many pegs are the right colour in the right place (black) and how many are the "
                f"right colour in the wrong place (white). Guess like this: <answer>{example}</answer>"
            ),
        ]

    def respond(self, action: Message) -> StepResult:
        answer, tagged = extract_answer(action.content)
        components = {} if tagged else {"format": FORMAT_PENALTY}
        digits = re.findall(r"\d+", answer)
        if not self._is_code(digits):
            if len(digits) == 1 and len(digits[0]) == self.pegs:  # "1234" written without spaces
                digits = list(digits[0])
            if not self._is_code(digits):
                refusal = self.invalid(
                    f"A guess is {self.pegs} numbers from 1 to {self.colours}, e.g. "
                    f"{' '.join(['1'] * self.pegs)}. Guess again."
                )
                refusal.components.update(components)
                return refusal
        guess = tuple(int(d) for d in digits)
        black, white = score_guess(self.code, guess)
        self.history.append((guess, (black, white)))
        solved = black == self.pegs
        best = max(b for _, (b, _) in self.history)
        progress = 1.0 if solved else 0.8 * best / self.pegs
        left = self.max_guesses - len(self.history)
        shown = " ".join(map(str, guess))
        info = {"black": black, "white": white, "guesses": len(self.history)}
        if solved:
            return StepResult([Message.user(f"{shown}: {black} black. Solved!")], progress, components, True, 1.0, info)
        text = f"{shown}: {black} black, {white} white."
        if left == 0:
            secret = " ".join(map(str, self.code))
            return StepResult(
                [Message.user(f"{text} Out of guesses; the code was {secret}.")], progress, components, True, 0.0, info
            )
        return StepResult([Message.user(f"{text} {left} guesses left.")], progress, components, info=info)

    def _is_code(self, digits: list[str]) -> bool:
        """`pegs` colours in range; long digit runs are no colour (int() refuses 5,000 digits)."""
        return len(digits) == self.pegs and all(len(d) <= 2 and 1 <= int(d) <= self.colours for d in digits)

    def reference_solver(self) -> MastermindSolver:
        return MastermindSolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        return "<answer>" + " ".join(str(int(c)) for c in rng.integers(1, self.colours + 1, size=self.pegs)) + "</answer>"
