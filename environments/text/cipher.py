"""Caesar and Vigenere ciphers: decode a secret message built from English words."""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from envarena.environments.games.wordle import word_list
from envarena.task_env import TaskEnv
from envarena.types import Score

_LETTERS = string.ascii_lowercase


@dataclass(frozen=True)
class CipherTask:
    plaintext: str
    ciphertext: str
    key: str
    reveal_key: bool


def shift(text: str, key: str, sign: int = 1) -> str:
    """Vigenere (a one-letter key is Caesar) over letters; other characters pass through."""
    out, i = [], 0
    for ch in text:
        if ch in _LETTERS:
            k = _LETTERS.index(key[i % len(key)])
            out.append(_LETTERS[(_LETTERS.index(ch) + sign * k) % 26])
            i += 1
        else:
            out.append(ch)
    return "".join(out)


class CipherEnv(TaskEnv[CipherTask]):
    """Cipher: decode a short message of English words enciphered by letter shifting.

    Easy is a Caesar cipher with the shift given, medium a Caesar cipher with the shift
    hidden (try the 26, look for words), hard a Vigenere cipher with its key given. Rewards:
    `progress` (potential: share of words decoded right, in place, in the best answer),
    `format` and `outcome` (1 for the exact message).
    """

    def generate(self, rng: np.random.Generator) -> CipherTask:
        words = word_list()
        plaintext = " ".join(words[int(i)] for i in rng.integers(len(words), size=4))
        if self.difficulty == "hard":
            key = "".join(_LETTERS[int(i)] for i in rng.integers(1, 26, size=3))
        else:
            key = _LETTERS[int(rng.integers(1, 26))]
        return CipherTask(plaintext, shift(plaintext, key), key, self.difficulty != "medium")

    def prompt(self, task: CipherTask) -> str:
        if self.difficulty == "hard":
            how = f"It was encrypted with the Vigenere cipher and the key '{task.key}'."
        elif task.reveal_key:
            how = f"Each letter was shifted forward by {_LETTERS.index(task.key)} places in the alphabet (Caesar cipher)."
        else:
            how = "Each letter was shifted forward by the same unknown amount (Caesar cipher)."
        return f"Decode this message: {task.ciphertext}\n{how} {self.answer_instructions}"

    def check(self, task: CipherTask, answer: str) -> Score:
        guess = " ".join(answer.lower().split())
        if guess == task.plaintext:
            return Score(value=1.0, components={"partial": 1.0})
        # Progress counts whole words decoded in their place: per-character credit paid for
        # spaces copied from the ciphertext and for filling every letter with 'e'.
        words, guessed = task.plaintext.split(), guess.split()
        right = sum(a == b for a, b in zip(words, guessed)) / len(words)
        return Score(value=0.0, components={"partial": 0.8 * right}, feedback=f"{right:.0%} of the words are right.")

    def solution(self, task: CipherTask) -> str:
        return shift(task.ciphertext, task.key, -1)

    def random_action(self, rng: np.random.Generator) -> str:
        return f"<answer>{shift(self.task.ciphertext, _LETTERS[int(rng.integers(26))], -1)}</answer>"
