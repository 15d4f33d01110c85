"""Debugging: a function with an injected bug and a failing test; fix it until the tests pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envarena.environments.code.extract import code_step
from envarena.environments.code.function_bank import BANK, FunctionSpec, test_cases
from envarena.env import StepResult
from envarena.sandbox import Limits
from envarena.task_env import TaskEnv
from envarena.types import Message, Score
from envarena.verifiers import TestSuite, run_unit_tests

_BUGS = {"easy": 1, "medium": 1, "hard": 2}
_TESTS = 8
_GENERATION_LIMITS = Limits(wall_seconds=2, cpu_seconds=2, memory_mb=256)


@dataclass(frozen=True)
class DebugTask:
    spec: FunctionSpec
    buggy: str
    failing: str
    suite: TestSuite


class DebuggingEnv(TaskEnv[DebugTask]):
    """Debugging: a short Python function has an injected bug; the agent returns the fixed function.

    The task shows the specification, the buggy code and one failing test (easy names the
    failing input and expected output; hard injects two bugs). Hidden tests come from the
    reference implementation on seeded inputs and run in the sandbox. Rewards: `progress`
    (potential: best fraction of hidden tests passed), `format` and `outcome` (1 when all pass).
    """

    answer_instructions = "Reply with the complete fixed function in a ```python code block."

    def generate(self, rng: np.random.Generator) -> DebugTask:
        while True:
            spec = BANK[int(rng.integers(len(BANK)))]
            chosen = rng.choice(len(spec.bugs), size=_BUGS[self.difficulty], replace=False)
            buggy = spec.source
            for i in chosen:
                old, new = spec.bugs[int(i)]
                buggy = buggy.replace(old, new, 1)
            suite = TestSuite.from_asserts(test_cases(spec, rng, _TESTS), spec.name, spec.source)
            # Buggy code can hang or eat memory: it only ever runs in the sandbox.
            verdict = run_unit_tests(buggy, suite, limits=_GENERATION_LIMITS)
            if verdict.value < 1.0:  # the bug shows on these inputs; its first failing test is shown
                return DebugTask(spec, buggy, verdict.feedback.splitlines()[1], suite)

    def prompt(self, task: DebugTask) -> str:
        detail = task.failing if self.difficulty == "easy" else "One of the tests fails."
        return (f"This function should: {task.spec.doc}\n\n```python\n{task.buggy}```\n\n{detail}\n"
                f"Fix the bug. {self.answer_instructions}")

    def check(self, task: DebugTask, answer: str) -> Score:
        """Success means every hidden test passes; the passing fraction is progress only."""
        score = run_unit_tests(answer, task.suite)
        return score if score.value == 1.0 else score.model_copy(update={"value": 0.0})

    def respond(self, action: Message) -> StepResult:
        return code_step(super().respond, action)

    def solution(self, task: DebugTask) -> str:
        return f"```python\n{task.spec.source}```"

    def random_action(self, rng: np.random.Generator) -> str:
        return f"```python\n{self.task.buggy}```"
