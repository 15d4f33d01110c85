"""Big-number arithmetic where the agent is expected to call a calculator tool."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envarena.env import StepResult
from envarena.rewards import FORMAT_PENALTY
from envarena.task_env import TaskEnv
from envarena.tools import tool
from envarena.types import Message, Score, ToolCall
from envarena.verifiers import evaluate, numeric_match
from envarena.verifiers.match import trivial_numbers

# (digits per operand, number of products summed) per difficulty
_LEVELS = {"easy": (3, 1), "medium": (4, 2), "hard": (5, 3)}

_STORIES = [
    "A warehouse has {terms}. How many items are there in total?",
    "A farm ships {terms}. How many crates is that altogether?",
    "A printer runs {terms}. How many pages does it print in total?",
]


@dataclass(frozen=True)
class CalculatorTask:
    story: str
    expression: str
    value: int


class _CalculatorSolver:
    """Calls the calculator with the task's expression, then reports what it returned."""

    def __init__(self, env: CalculatorEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> Message:
        results = [m.content for m in observation if m.role == "tool"]
        if results:
            return Message.assistant(f"<answer>{results[-1]}</answer>")
        call = ToolCall(id="call_0", name="calculate", arguments={"expression": self.env.task.expression})
        return Message.assistant(tool_calls=[call])


class CalculatorEnv(TaskEnv[CalculatorTask]):
    """Word problems over large numbers, answered with the help of a `calculate` tool.

    The agent must call `calculate` at least once before its answer is accepted. Difficulty
    sets operand size (3 to 5 digits) and how many products are summed. Rewards: `progress`
    (potential: 0.5 once the calculator has produced the right value, 1 when it is
    answered), `tool_error` and `format` penalties, and `outcome`.
    """

    default_max_attempts = 2
    tool_turns = 4

    #: Every value the calculator returned this episode (set at reset).
    calculator_results: list[str]

    @tool
    def calculate(self, expression: str) -> str:
        """Evaluate an arithmetic expression exactly.

        Args:
            expression: Numbers combined with + - * / and parentheses, e.g. "(12 + 3) * 4".
        """
        value = evaluate(expression)
        text = str(value.numerator) if value.denominator == 1 else f"{float(value):.10g}"
        self.calculator_results.append(text)
        return text

    def begin_task(self, task: CalculatorTask) -> None:
        self.calculator_results = []

    def generate(self, rng: np.random.Generator) -> CalculatorTask:
        digits, products = _LEVELS[self.difficulty]
        low, high = 10 ** (digits - 1), 10**digits
        while True:
            pairs = [(int(rng.integers(low, high)), int(rng.integers(10, 1000))) for _ in range(products)]
            terms = " and ".join(f"{count} batches of {size} items" for size, count in pairs)
            story = _STORIES[int(rng.integers(len(_STORIES)))].format(terms=terms)
            expression = " + ".join(f"{count} * {size}" for size, count in pairs)
            value = int(evaluate(expression))
            if value not in trivial_numbers(story):  # never true here (the sum outgrows its terms); kept as the rule
                return CalculatorTask(story, expression, value)

    def prompt(self, task: CalculatorTask) -> str:
        return f"{task.story} Use the calculate tool. {self.answer_instructions}"

    def system_prompt(self) -> str:
        return "You are a careful assistant with a calculator tool. " + self.answer_instructions

    def before_answer(self, action: Message) -> StepResult | None:
        if self.calculator_results:
            return None
        return StepResult(
            [Message.user("Use the calculate tool before giving your answer.")],
            components={"format": FORMAT_PENALTY},
        )

    def progress_after_tools(self) -> float | None:
        if str(self.task.value) in self.calculator_results:
            return self.tool_progress(1.0)
        return None

    def check(self, task: CalculatorTask, answer: str) -> Score:
        return self.with_tool_credit(numeric_match(task.value, answer))

    def solution(self, task: CalculatorTask) -> str:
        return str(task.value)

    def reference_solver(self) -> _CalculatorSolver:  # type: ignore[override]
        return _CalculatorSolver(self)

    def random_action(self, rng: np.random.Generator) -> Message:
        if not self.calculator_results or rng.random() < 0.5:
            a, b = (int(x) for x in rng.integers(1, 10_000, size=2))
            call = ToolCall(id=f"call_{self.turn}", name="calculate", arguments={"expression": f"{a} * {b}"})
            return Message.assistant(tool_calls=[call])
        return Message.assistant(f"<answer>{self.calculator_results[-1]}</answer>")
