"""Wordle: find a hidden five-letter word from colour-coded feedback."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.rewards import FORMAT_PENALTY
from envarena.task_env import Difficulty, extract_answer
from envarena.types import Message

WORD_LENGTH = 5
# (answer pool: every n-th word, guesses allowed, hard mode) per difficulty
_LEVELS: dict[str, tuple[int, int, bool]] = {
    "easy": (2, 8, False),
    "medium": (1, 6, False),
    "hard": (1, 6, True),
}
_LEGEND = "G = right letter in the right spot, Y = in the word but elsewhere, X = not in the word"


def _read_words(name: str) -> tuple[str, ...]:
    """A shipped list: one word a line; lines starting with '#' (source, licence) are skipped."""
    text = resources.files("envarena.environments.games").joinpath(f"data/{name}").read_text()
    lines = (line.strip() for line in text.splitlines() if not line.lstrip().startswith("#"))
    return tuple(w for w in lines if len(w) == WORD_LENGTH and w.isalpha())


@cache
def word_list() -> tuple[str, ...]:
    """The answer pool: common words a player is expected to know."""
    return _read_words("wordle_words.txt")


@cache
def allowed_guesses() -> frozenset[str]:
    """Every word accepted as a guess, as in the real game a far longer list than the answers:
    the answers plus the five-letter words of the SCOWL English dictionary (see the header of
    data/wordle_guesses.txt for its source and licence)."""
    return frozenset(word_list()) | frozenset(_read_words("wordle_guesses.txt"))


def feedback(secret: str, guess: str) -> str:
    """Wordle colours, handling repeated letters the way the real game does."""
    marks = ["X"] * WORD_LENGTH
    unmatched = Counter(s for s, g in zip(secret, guess) if s != g)
    for i, (s, g) in enumerate(zip(secret, guess)):
        if s == g:
            marks[i] = "G"
        elif unmatched[g] > 0:
            marks[i] = "Y"
            unmatched[g] -= 1
    return "".join(marks)


def consistent(word: str, history: list[tuple[str, str]]) -> bool:
    """Could `word` be the secret given every (guess, marks) seen so far?"""
    return all(feedback(word, guess) == marks for guess, marks in history)


class WordleSolver:
    """Plays only words consistent with the feedback, choosing the one that splits the
    remaining candidates into the most feedback groups; it never reads the secret."""

    def __init__(self, env: WordleEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        candidates = [w for w in self.env.pool if consistent(w, self.env.history)]
        if not self.env.history:
            guess = "slate" if "slate" in candidates else candidates[0]
        elif len(candidates) <= 2:
            guess = candidates[0]
        else:
            guess = max(candidates, key=lambda g: (len({feedback(s, g) for s in candidates}), g))
        return f"<answer>{guess}</answer>"


class WordleEnv(Env):
    """Wordle: guess a hidden five-letter English word; each guess is marked letter by letter.

    G marks a right letter in the right spot, Y a letter that is in the word elsewhere, X a
    letter that is not in the word. Easy draws from half the word list with 8 guesses, medium
    from all of it with 6, hard adds hard mode (every guess must fit the hints so far). Any
    English five-letter word (about 5,000) is a valid guess; answers are common words.
    Rewards: `progress` (potential: share of positions already found, 1 when solved),
    `invalid_action` (not a word / breaks hard mode), `format` and `outcome` (1 if solved).
    """

    def __init__(
        self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None
    ) -> None:
        stride, self.max_guesses, self.hard_mode = _LEVELS[difficulty]
        self.difficulty = difficulty
        self.pool = word_list()[::stride]
        self.valid_guesses = allowed_guesses()
        super().__init__(max_turns=max_turns or self.max_guesses + 4, render_mode=render_mode)
        self.secret = ""
        self.history: list[tuple[str, str]] = []

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        self.secret = self.pool[int(self.np_random.integers(len(self.pool)))]
        self.history = []
        rules = (
            f"Guess the hidden {WORD_LENGTH}-letter English word in at most {self.max_guesses} guesses. "
            f"After each guess you get one mark per letter: {_LEGEND}."
        )
        if self.hard_mode:
            rules += " Hard mode: every guess must use all hints revealed so far."
        return [
            Message.system("You are playing Wordle. Put each guess inside <answer></answer> tags."),
            Message.user(f"{rules} Make your first guess."),
        ]

    def _parse_guess(self, text: str) -> tuple[str, bool]:
        answer, tagged = extract_answer(text)
        words = re.findall(r"[a-zA-Z]+", answer)
        guess = words[-1].lower() if words else ""
        return guess, tagged

    def respond(self, action: Message) -> StepResult:
        guess, tagged = self._parse_guess(action.content)
        format_component = {} if tagged else {"format": FORMAT_PENALTY}
        if len(guess) != WORD_LENGTH:
            return self._refuse(f"'{guess}' is not a {WORD_LENGTH}-letter word. Guess again.", format_component)
        if guess not in self.valid_guesses:
            return self._refuse(f"'{guess}' is not in the word list. Guess again.", format_component)
        if self.hard_mode and not consistent(guess, [(g, m) for g, m in self.history if "G" in m or "Y" in m]):
            return self._refuse(f"'{guess}' ignores a revealed hint (hard mode). Guess again.", format_component)
        marks = feedback(self.secret, guess)
        self.history.append((guess, marks))
        solved = guess == self.secret
        found = {i for _, m in self.history for i, c in enumerate(m) if c == "G"}
        progress = 1.0 if solved else 0.8 * len(found) / WORD_LENGTH
        left = self.max_guesses - len(self.history)
        info = {"guess": guess, "marks": marks, "guesses": len(self.history)}
        if solved:
            return StepResult([Message.user(f"{guess} -> {marks}. Solved!")], progress, format_component, True, 1.0, info)
        if left == 0:
            text = f"{guess} -> {marks}. Out of guesses; the word was '{self.secret}'."
            return StepResult([Message.user(text)], progress, format_component, True, 0.0, info)
        text = f"{guess} -> {marks}. {left} guess{'es' * (left != 1)} left."
        return StepResult([Message.user(text)], progress, format_component, info=info)

    def _refuse(self, reason: str, components: dict[str, float]) -> StepResult:
        refusal = self.invalid(reason)
        refusal.components.update(components)
        return refusal

    def reference_solver(self) -> WordleSolver:
        return WordleSolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        return f"<answer>{self.pool[int(rng.integers(len(self.pool)))]}</answer>"
