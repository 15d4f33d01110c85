"""Numeric and algorithmic questions answered with a sandboxed `python` tool."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from envarena.sandbox import Limits, default_sandbox
from envarena.task_env import TaskEnv
from envarena.tools import tool
from envarena.types import Message, Score, ToolCall
from envarena.verifiers import numeric_match
from envarena.verifiers.match import parse_number, trivial_numbers

_TOOL_LIMITS = Limits(wall_seconds=5, cpu_seconds=5, memory_mb=256)
_MAX_TOOL_OUTPUT = 2000
_MAX_RUNS = 12  # python runs per episode: each is a sandbox process, and each printed number a guess
_RESULT_LINES = 3  # a run whose output is longer than this is not a computed answer but a listing
_SCALE = {"easy": 1, "medium": 10, "hard": 100}


@dataclass(frozen=True)
class PythonTask:
    question: str
    program: str  # a reference program that prints the answer
    answer: int


def _primes_below(n: int) -> int:
    sieve = bytearray([1]) * n
    sieve[:2] = b"\x00\x00"
    for i in range(2, math.isqrt(n - 1) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return sum(i for i in range(n) if sieve[i])


def _fibonacci_mod(n: int, m: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % m
    return a


def _collatz_steps(n: int) -> int:
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def _divisible_count(n: int, a: int, b: int, c: int) -> int:
    return sum(1 for k in range(1, n + 1) if (k % a == 0 or k % b == 0) and k % c != 0)


def _digit_sum_factorial(n: int) -> int:
    return sum(int(d) for d in str(math.factorial(n)))


def _make_tasks(scale: int) -> list[Callable[[np.random.Generator], PythonTask]]:
    def primes(rng: np.random.Generator) -> PythonTask:
        n = int(rng.integers(500, 2000)) * scale
        program = (
            f"n = {n}\nsieve = [True] * n\nsieve[0:2] = [False, False]\n"
            "for i in range(2, int(n ** 0.5) + 1):\n    if sieve[i]:\n        sieve[i*i::i] = [False] * len(sieve[i*i::i])\n"
            "print(sum(i for i in range(n) if sieve[i]))"
        )
        return PythonTask(f"What is the sum of all prime numbers below {n}?", program, _primes_below(n))

    def fibonacci(rng: np.random.Generator) -> PythonTask:
        n, m = int(rng.integers(100, 1000)) * scale, int(rng.integers(1000, 100000))
        program = f"a, b = 0, 1\nfor _ in range({n}):\n    a, b = b, (a + b) % {m}\nprint(a)"
        return PythonTask(f"What is F({n}) mod {m}, where F(0) = 0, F(1) = 1 are the Fibonacci numbers?", program,
                          _fibonacci_mod(n, m))

    def collatz(rng: np.random.Generator) -> PythonTask:
        n = int(rng.integers(1000, 100000)) * scale + 7
        program = f"n, steps = {n}, 0\nwhile n != 1:\n    n = n // 2 if n % 2 == 0 else 3 * n + 1\n    steps += 1\nprint(steps)"
        return PythonTask(f"How many steps does the Collatz sequence starting at {n} take to reach 1?", program,
                          _collatz_steps(n))

    def divisible(rng: np.random.Generator) -> PythonTask:
        n = int(rng.integers(1000, 5000)) * scale
        a, b, c = (int(x) for x in rng.choice(np.arange(2, 20), size=3, replace=False))
        program = f"print(sum(1 for k in range(1, {n} + 1) if (k % {a} == 0 or k % {b} == 0) and k % {c} != 0))"
        return PythonTask(
            f"How many integers from 1 to {n} are divisible by {a} or by {b}, but not by {c}?", program,
            _divisible_count(n, a, b, c),
        )

    def factorial_digits(rng: np.random.Generator) -> PythonTask:
        n = int(rng.integers(20, 100)) * min(scale, 10)  # 1000! is within str()'s 4300-digit limit
        program = f"import math\nprint(sum(int(d) for d in str(math.factorial({n}))))"
        return PythonTask(f"What is the sum of the decimal digits of {n}! ?", program, _digit_sum_factorial(n))

    return [primes, fibonacci, collatz, divisible, factorial_digits]


def _computed(code: str, stdout: str) -> object:
    """The number a run computed: the last number of a short output, or None.

    Only a short output counts, so printing every integer below 100,000 (or any long list of
    candidates) is not "the tool found the answer"; nor does a number the code wrote as a
    literal (`print(137)` is a guess, not a computation). With a bounded number of runs, what
    is left is no better than answering directly.
    """
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines or len(lines) > _RESULT_LINES or len(stdout) > 200:
        return None
    value = parse_number(lines[-1])
    if value is None or re.search(rf"(?<![0-9.]){re.escape(str(value))}(?![0-9])", code):
        return None
    return value


class _PythonSolver:
    """Runs the reference program with the tool, then reports what it printed."""

    def __init__(self, env: PythonToolEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> Message:
        outputs = [m.content for m in observation if m.role == "tool"]
        if outputs:
            printed = outputs[-1].split("stdout:\n", 1)[-1].split("\n", 1)[0]
            return Message.assistant(f"<answer>{printed.strip()}</answer>")
        call = ToolCall(id="call_0", name="python", arguments={"code": self.env.task.program})
        return Message.assistant(tool_calls=[call])


class PythonToolEnv(TaskEnv[PythonTask]):
    """Algorithmic number questions (primes, Fibonacci, Collatz, counting) with a `python` tool.

    The tool runs code in the sandbox and returns what it printed. Difficulty scales the
    numbers (x1, x10, x100) until mental arithmetic is hopeless; no answer is 0 or a number of
    the question. Rewards: `progress` (potential: 0.5 once a tool run's short output ends
    with the right answer, 1 when it is answered; at most 12 runs per episode), `tool_error`,
    `format` and `outcome`.
    """

    default_max_attempts = 2
    tool_turns = 6

    #: Every stdout the python tool produced this episode, and (code, stdout) per run (set at reset).
    tool_outputs: list[str]
    tool_runs: list[tuple[str, str]]

    @tool
    def python(self, code: str) -> str:
        """Run Python code in a sandbox (no network, no files kept) and return its output.

        Args:
            code: A complete Python program; print what you want to see.
        """
        if len(self.tool_outputs) >= _MAX_RUNS:
            raise ValueError(f"the python tool was already run {_MAX_RUNS} times in this episode")
        result = default_sandbox().run(code=code, limits=_TOOL_LIMITS)
        self.tool_outputs.append(result.stdout[:_MAX_TOOL_OUTPUT])
        self.tool_runs.append((code, result.stdout[:_MAX_TOOL_OUTPUT]))
        status = "timed out" if result.timed_out else f"exit code {result.exit_code}"
        text = f"{status}\nstdout:\n{result.stdout}"
        if result.stderr:
            text += f"\nstderr:\n{result.stderr}"
        return text[:_MAX_TOOL_OUTPUT]

    def begin_task(self, task: PythonTask) -> None:
        self.tool_outputs = []
        self.tool_runs = []

    def generate(self, rng: np.random.Generator) -> PythonTask:
        makers = _make_tasks(_SCALE[self.difficulty])
        while True:
            task = makers[int(rng.integers(len(makers)))](rng)
            if task.answer not in trivial_numbers(task.question):  # e.g. F(n) mod m == 0
                return task

    def system_prompt(self) -> str:
        return "You can run Python with the `python` tool. " + self.answer_instructions

    def prompt(self, task: PythonTask) -> str:
        return f"{task.question} {self.answer_instructions}"

    def progress_after_tools(self) -> float | None:
        if any(_computed(code, out) == self.task.answer for code, out in self.tool_runs):
            return self.tool_progress(1.0)
        return None

    def check(self, task: PythonTask, answer: str) -> Score:
        return self.with_tool_credit(numeric_match(task.answer, answer))

    def solution(self, task: PythonTask) -> str:
        return str(task.answer)

    def reference_solver(self) -> _PythonSolver:  # type: ignore[override]
        return _PythonSolver(self)

    def random_action(self, rng: np.random.Generator) -> Message:
        if rng.random() < 0.5:
            call = ToolCall(id=f"call_{self.turn}", name="python", arguments={"code": f"print({int(rng.integers(1000))})"})
            return Message.assistant(tool_calls=[call])
        return Message.assistant(f"<answer>{int(rng.integers(1, 10**6))}</answer>")
