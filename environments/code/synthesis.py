"""Function synthesis: implement a function from its specification; hidden tests grade it."""

from __future__ import annotations

import numpy as np

from envarena.environments.code.debugging import DebuggingEnv, DebugTask
from envarena.environments.code.function_bank import BANK, test_cases
from envarena.verifiers import TestSuite

_SHOWN = {"easy": 3, "medium": 1, "hard": 0}


class SynthesisEnv(DebuggingEnv):
    """Function synthesis: write a Python function from its signature and specification.

    Hidden tests are generated from a reference implementation on seeded inputs and run in
    the sandbox; easy shows three example tests, medium one, hard none. Rewards: `progress`
    (potential: best fraction of hidden tests passed), `format` and `outcome` (1 when all pass).
    """

    answer_instructions = "Reply with the complete function in a ```python code block."

    def generate(self, rng: np.random.Generator) -> DebugTask:
        spec = BANK[int(rng.integers(len(BANK)))]
        asserts = test_cases(spec, rng, 10)
        shown = asserts[: _SHOWN[self.difficulty]]
        return DebugTask(spec, "", "\n".join(shown), TestSuite.from_asserts(asserts, spec.name, spec.source))

    def prompt(self, task: DebugTask) -> str:
        examples = f"\nExamples (candidate is your function):\n{task.failing}\n" if task.failing else ""
        return (f"Write this function:\n\n```python\n{task.spec.signature}\n    \"\"\"{task.spec.doc}\"\"\"\n```\n"
                f"{examples}{self.answer_instructions}")

    def random_action(self, rng: np.random.Generator) -> str:
        others = [spec for spec in BANK if spec.name != self.task.spec.name]
        other = others[int(rng.integers(len(others)))]
        return f"```python\n{other.source.replace(other.name, self.task.spec.name, 1)}```"
