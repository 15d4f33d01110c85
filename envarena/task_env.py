"""`TaskEnv`: the common "seed -> task -> prompt -> check -> feedback -> retry" pattern.

A question-answer environment only says how to generate a task, how to phrase it, how to
check an answer and what the right answer is; attempts, feedback, answer extraction, the
format penalty and the progress potential are handled here once.
"""

from __future__ import annotations

import abc
import re
from typing import Any, ClassVar, Generic, Literal, TypeVar

import numpy as np

from envarena.env import Env, StepResult
from envarena.rewards import FORMAT_PENALTY
from envarena.types import Message, Score

__all__ = ["MAX_ANSWER_CHARS", "TOOL_CREDIT", "Difficulty", "TaskEnv", "extract_answer"]

Difficulty = Literal["easy", "medium", "hard"]
TaskT = TypeVar("TaskT")

_OPEN_TAG = re.compile(r"<answer>", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"</answer>", re.IGNORECASE)
#: Longest answer a verifier is asked to check (code included); a longer one is a wrong attempt.
MAX_ANSWER_CHARS = 16 * 1024
#: Most progress tool calls can earn before an answer is checked.
TOOL_CREDIT = 0.5


def extract_answer(text: str) -> tuple[str, bool]:
    """Return the answer inside the last `<answer>` tag, and whether the tag was there.

    The answer starts after the last opening tag that some closing tag follows and ends at
    the first closing tag after it. Found with plain scans, in time linear in the text: a
    lazy `<answer>(.*?)</answer>` search is quadratic on `"<answer>" * 25000` and holds the GIL.

    Without tags the whole reply is taken as the answer (small models often forget the
    tags), but the caller charges a format penalty for it.
    """
    first_open = _OPEN_TAG.search(text)
    if first_open is not None:
        closes = list(_CLOSE_TAG.finditer(text, first_open.end()))
        if closes:
            opens = list(_OPEN_TAG.finditer(text, 0, closes[-1].start()))
            start = opens[-1].end()
            end = next(m.start() for m in closes if m.start() >= start)
            return text[start:end].strip(), True
    return text.strip(), False


class _AnswerSolver:
    def __init__(self, env: TaskEnv[Any]) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        return f"<answer>{self.env.solution(self.env.task)}</answer>"


class TaskEnv(Env, Generic[TaskT]):
    """Ask a generated question, check answers, give feedback and allow retries."""

    default_max_attempts: ClassVar[int] = 3
    #: Extra turns beyond the attempts, for tool calls.
    tool_turns: ClassVar[int] = 0
    answer_instructions: ClassVar[str] = "Put your final answer inside <answer></answer> tags."

    def __init__(
        self,
        *,
        difficulty: Difficulty = "medium",
        max_attempts: int | None = None,
        max_turns: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.difficulty = difficulty
        self.max_attempts = max_attempts or self.default_max_attempts
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        super().__init__(max_turns=max_turns or self.max_attempts + self.tool_turns, render_mode=render_mode)
        self.task: TaskT
        self.attempts = 0
        self.best_score = 0.0

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def generate(self, rng: np.random.Generator) -> TaskT:
        """Build one task from the seeded generator at `self.difficulty`. Pure: everything the
        episode needs goes into the task (per-episode state is set up in `begin_task`), so a
        task can be generated, inspected or filtered without disturbing a running episode."""

    @abc.abstractmethod
    def prompt(self, task: TaskT) -> str:
        """The user message that states the task."""

    @abc.abstractmethod
    def check(self, task: TaskT, answer: str) -> Score:
        """Score an extracted answer; `components["partial"]` may give progress credit."""

    @abc.abstractmethod
    def solution(self, task: TaskT) -> str:
        """The answer text the reference solver submits."""

    def begin_task(self, task: TaskT) -> None:
        """Set up the per-episode state a task needs (a database, tool logs) once it is drawn;
        `self.task` is already the new task."""

    def system_prompt(self) -> str:
        return f"You are solving a task. {self.answer_instructions}"

    def before_answer(self, action: Message) -> StepResult | None:
        """A chance to refuse an answer (e.g. a required tool was not used yet)."""
        return None

    # ------------------------------------------------------------------ Env hooks
    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        self.task = self.generate(self.np_random)
        self.attempts = 0
        self.best_score = 0.0
        self.begin_task(self.task)
        return [Message.system(self.system_prompt()), Message.user(self.prompt(self.task))]

    def respond(self, action: Message) -> StepResult:
        refusal = self.before_answer(action)
        if refusal is not None:
            return refusal
        answer, tagged = extract_answer(action.content)
        components = {} if tagged else {"format": FORMAT_PENALTY}
        self.attempts += 1
        if len(answer) > MAX_ANSWER_CHARS:
            score = Score(value=0.0, feedback=f"The answer is {len(answer)} characters long; answers are at most "
                                              f"{MAX_ANSWER_CHARS}.")
        else:
            score = self.check(self.task, answer)
        self.best_score = max(self.best_score, score.value)
        solved = score.value >= self.success_threshold
        partial = 1.0 if solved else min(score.components.get("partial", score.value), 0.99)
        progress = max(self._potential.value, partial)
        info = {"attempt": self.attempts, "score": score.value}
        if solved or self.attempts >= self.max_attempts:
            text = "Correct." if solved else f"{score.feedback or 'Incorrect.'} No attempts left."
            return StepResult(
                [Message.user(text)], progress, components, done=True, outcome=self.best_score, info=info
            )
        left = self.max_attempts - self.attempts
        text = f"{score.feedback or 'That is not correct.'} Try again ({left} attempt{'s' * (left != 1)} left)."
        return StepResult([Message.user(text)], progress, components, info=info)

    def truncation_outcome(self) -> float:
        return self.best_score

    # ------------------------------------------------------------------ tool credit
    def tool_progress(self, share: float) -> float:
        """The potential after a tool turn that did `share` (0..1) of the work toward the answer
        (the answer computed, the needed documents read). Tool work alone earns at most
        `TOOL_CREDIT`: only a checked answer completes the task. Never lowers the potential."""
        return max(self._potential.value, TOOL_CREDIT * min(max(share, 0.0), 1.0))

    def with_tool_credit(self, score: Score) -> Score:
        """`score` with the tool credit earned so far as its partial progress, so a wrong
        answer keeps (and cannot raise) what the tool turns earned."""
        partial = min(TOOL_CREDIT, self._potential.value)
        return score.model_copy(update={"components": {**score.components, "partial": partial}})

    def reference_solver(self) -> _AnswerSolver:
        return _AnswerSolver(self)
