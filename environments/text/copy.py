"""Copy: repeat a short symbol sequence exactly. The simplest task an RL pipeline must learn."""

from __future__ import annotations

import numpy as np

from envarena.task_env import TaskEnv
from envarena.types import Score

# (length, alphabet) per difficulty
_LEVELS = {"easy": (1, "0123"), "medium": (3, "0123456789"), "hard": (6, "abcdefghijklmnopqrstuvwxyz0123456789")}


class CopyEnv(TaskEnv[str]):
    """Copy: reply with exactly the sequence shown (one of 0-3, three digits, or six letters/digits).

    A pipeline check: a policy that cannot learn this cannot learn anything, and a tiny model
    trained from scratch learns it in minutes. The reply itself is the answer (no tags
    needed). Rewards: `progress` (potential: 0.2 x the share of the reply's first characters
    drawn from the right alphabet, plus 0.8 x the share of positions right, both shares of
    the longer of reply and sequence) and `outcome`
    (1 for an exact copy).
    """

    default_max_attempts = 1
    answer_instructions = "Reply with the sequence only."

    def generate(self, rng: np.random.Generator) -> str:
        length, alphabet = _LEVELS[self.difficulty]
        return "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=length))

    def system_prompt(self) -> str:
        return "Copy exactly."

    def prompt(self, task: str) -> str:
        return f"Repeat: {task}"

    def check(self, task: str, answer: str) -> Score:
        reply = answer.strip().removeprefix("<answer>").removesuffix("</answer>").strip()
        if reply == task:
            return Score(value=1.0, components={"partial": 1.0})
        alphabet = _LEVELS[self.difficulty][1]
        # Shares of the longer of the two: extra characters count against the reply, so the
        # sequence followed by alternatives ("3 or 2") is worth less than the sequence alone.
        length = max(len(task), len(reply))
        shaped = 0.2 * sum(c in alphabet for c in reply[: len(task)]) / length
        right = sum(a == b for a, b in zip(task, reply)) / length
        return Score(value=0.0, components={"partial": shaped + 0.8 * right}, feedback=f"Expected {task!r}.")

    def solution(self, task: str) -> str:
        return task

    def respond(self, action):  # type: ignore[no-untyped-def]
        result = super().respond(action)
        result.components.pop("format", None)  # the bare reply is the expected format here
        return result

    def random_action(self, rng: np.random.Generator) -> str:
        length, alphabet = _LEVELS[self.difficulty]
        return "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=length))
