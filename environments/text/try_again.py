"""Try again: a wrong answer only hears "Try again."; answering right sooner is worth more."""

from __future__ import annotations

import numpy as np

from envarena.environments.text.arithmetic import ArithmeticTask, random_expression
from envarena.env import StepResult
from envarena.task_env import TaskEnv, extract_answer
from envarena.rewards import FORMAT_PENALTY
from envarena.types import Message, Score
from envarena.verifiers import numeric_match

_LEVELS = {"easy": (2, 20), "medium": (3, 50), "hard": (5, 100)}
_DECAY = 0.25  # outcome lost per extra attempt


class TryAgainEnv(TaskEnv[ArithmeticTask]):
    """Try again: compute an expression; a wrong answer gets only "Try again." and nothing more.

    Tests whether an agent can self-correct without hints. The outcome prefers fewer turns:
    1.0 on the first attempt, 0.25 less per extra attempt (4 attempts). Difficulty sets the
    expression size. Rewards: `format` and `outcome` (no progress shaping: a retry message
    carries no verified progress).
    """

    default_max_attempts = 4

    def generate(self, rng: np.random.Generator) -> ArithmeticTask:
        operators, largest = _LEVELS[self.difficulty]
        expression, value = random_expression(rng, operators, largest)
        return ArithmeticTask(expression, value)

    def prompt(self, task: ArithmeticTask) -> str:
        return f"What is {task.expression}? {self.answer_instructions}"

    def check(self, task: ArithmeticTask, answer: str) -> Score:
        return Score(value=numeric_match(task.value, answer).value)  # one number stated; a hedge is wrong

    def respond(self, action: Message) -> StepResult:
        answer, tagged = extract_answer(action.content)
        components = {} if tagged else {"format": FORMAT_PENALTY}
        self.attempts += 1
        if self.check(self.task, answer).value == 1.0:
            outcome = max(0.0, 1.0 - _DECAY * (self.attempts - 1))
            self.best_score = outcome
            return StepResult([Message.user("Correct.")], None, components, True, outcome, {"attempt": self.attempts})
        if self.attempts >= self.max_attempts:
            return StepResult([Message.user("Try again. No attempts left.")], None, components, True, 0.0)
        return StepResult([Message.user("Try again.")], None, components, info={"attempt": self.attempts})

    def solution(self, task: ArithmeticTask) -> str:
        return str(task.value)

    def random_action(self, rng: np.random.Generator) -> str:
        return f"<answer>{self.task.value + int(rng.integers(1, 20))}</answer>"
