"""Unit tests run in the sandbox: score = fraction of tests passed.

A HumanEval-style `check(candidate)` is split into its statements; each statement holding an
`assert` is one test, the others are setup. All run in one sandboxed process against the
candidate program, reporting after each test, so a hang or crash in test k still credits
tests 1..k-1. Reports carry a random nonce the program cannot know in advance, so printing
fake results does not pass.
"""

from __future__ import annotations

import ast
import json
import secrets
from collections.abc import Sequence

from pydantic import BaseModel

from envarena.sandbox import Limits, Sandbox, default_sandbox
from envarena.types import Score

__all__ = ["TestSuite", "run_unit_tests"]

_HARNESS = """
{program}

# ---- envarena test harness ----
{prelude}

def __envarena_run(__candidate):
    import json as __json
    __scope = dict(globals())
    __scope["candidate"] = __candidate
    for __index, (__source, __is_test) in enumerate(__json.loads({steps!r})):
        try:
            exec(compile(__source, "<test " + str(__index) + ">", "exec"), __scope)
            __report = {{"i": __index, "ok": True}}
        except BaseException as __error:
            __report = {{"i": __index, "ok": False, "error": type(__error).__name__ + ": " + str(__error)[:300]}}
        print({nonce!r} + __json.dumps(__report), flush=True)

__envarena_run({entry_point})
"""


class TestSuite(BaseModel):
    """Setup code, then statements in order; `is_test` marks the ones that count."""

    __test__ = False  # not a pytest test class, despite the name

    prelude: str = ""
    steps: list[tuple[str, bool]]
    entry_point: str

    @property
    def total(self) -> int:
        return sum(is_test for _, is_test in self.steps)

    @classmethod
    def from_check_function(cls, test_code: str, entry_point: str) -> TestSuite:
        """Split HumanEval's `def check(candidate): ...` into one test per assert statement."""
        module = ast.parse(test_code)
        prelude, steps = [], []
        for node in module.body:
            if isinstance(node, ast.FunctionDef) and node.name == "check":
                for statement in node.body:
                    has_assert = any(isinstance(n, ast.Assert) for n in ast.walk(statement))
                    steps.append((ast.unparse(statement), has_assert))
            else:
                prelude.append(ast.unparse(node))
        if not any(is_test for _, is_test in steps):
            raise ValueError("the test code has no check(candidate) function with asserts")
        return cls(prelude="\n".join(prelude), steps=steps, entry_point=entry_point)

    @classmethod
    def from_asserts(cls, asserts: Sequence[str], entry_point: str, prelude: str = "") -> TestSuite:
        return cls(prelude=prelude, steps=[(a, True) for a in asserts], entry_point=entry_point)


def run_unit_tests(
    program: str, suite: TestSuite, *, sandbox: Sandbox | None = None, limits: Limits | None = None
) -> Score:
    """Run `suite` against `program` in the sandbox; never raises for what the program does."""
    nonce = f"@@envarena-{secrets.token_hex(8)}@@"
    harness = _HARNESS.format(
        program=program, prelude=suite.prelude, steps=json.dumps(suite.steps), nonce=nonce, entry_point=suite.entry_point
    )
    result = (sandbox or default_sandbox()).run(code=harness, limits=limits or Limits(wall_seconds=10, cpu_seconds=10))
    reports: dict[int, dict] = {}
    for line in result.stdout.splitlines():
        if line.startswith(nonce):
            try:
                report = json.loads(line[len(nonce) :])
                reports[int(report["i"])] = report
            except (ValueError, KeyError):
                continue
    tests = [i for i, (_, is_test) in enumerate(suite.steps) if is_test]
    passed = sum(1 for i in tests if reports.get(i, {}).get("ok"))
    fraction = passed / len(tests)
    components = {"tests_passed": fraction, "partial": fraction}
    if passed == len(tests):
        return Score(value=1.0, components=components)
    return Score(value=fraction, components=components, feedback=_first_failure(suite, reports, result))


def _first_failure(suite: TestSuite, reports: dict[int, dict], result) -> str:  # type: ignore[no-untyped-def]
    for i, (source, _) in enumerate(suite.steps):
        report = reports.get(i)
        if report is None:
            if result.timed_out:
                return f"Timed out while running:\n{source}"
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            return f"The program failed before this test could run:\n{source}\n{tail}".rstrip()
        if not report["ok"]:
            return f"Failed:\n{source}\n{report.get('error', '')}".rstrip()
    return "Some tests failed."
