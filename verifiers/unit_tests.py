"""Unit tests verified differentially: score = fraction of tests passed.

Code that a candidate program ran in can be changed by it: builtins, `exec`, `json`, the
harness's own constants, objects whose `__eq__` always says yes, the stack. So the tests
never run where the candidate ran. Three steps, three processes:

1. **Record** (trusted helper process, cached per suite): the suite's own test code runs
   against the *reference* implementation through a recording stand-in for `candidate`,
   which notes every call's arguments (plain data only).
2. **Run** (sandbox): the candidate program is loaded and its entry point called on each
   recorded argument list; each result goes back as plain data (see `plain_data`). The
   sandbox never sees the tests or the expected values.
3. **Check** (trusted helper process that never loaded the candidate): the original test
   statements run unchanged, with `candidate` replaced by a stand-in that answers each
   call with the candidate's decoded result for the same arguments. Tolerances and
   properties ("poly(x) is near 0") hold as the test author wrote them; helper names the
   tests use (`poly`, `encode_cyclic`, even the entry point by name) resolve to the
   reference program, not to anything the candidate defined.

A test statement is one statement of `check(candidate)` that asserts something about
`candidate`; the others are setup. A crash or hang during call k still credits the tests
whose calls came before. A call is answered only if the candidate was run on exactly those
arguments: a test that feeds the candidate's own output back into it (none in HumanEval or
the function bank) fails a correct candidate whose output differs from the reference's.
"""

from __future__ import annotations

import ast
import builtins
import copy
import hashlib
import json
import random
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from envarena.sandbox import ExecResult, Limits, Sandbox, default_sandbox, plain_data
from envarena.types import Score
from envarena.verifiers.isolated import IsolatedRunner, IsolatedTimeout

__all__ = ["TestSuite", "run_unit_tests"]

#: The test process seeds `random` with this before the tests, in recording and in checking
#: alike, so tests that draw random inputs (HumanEval/38, /53) draw the same ones twice.
_TEST_SEED = 20240601
_CHECK_TIMEOUT_S = 20.0
_MAX_ERROR_CHARS = 300


class TestSuite(BaseModel):
    """A reference implementation, setup code, then test statements in order.

    `reference` is trusted code that defines `entry_point` (and any helpers the tests
    use); `steps` are (statement, is_test) pairs run in one scope where `candidate` is the
    function under test.
    """

    __test__ = False  # not a pytest test class, despite the name

    reference: str
    prelude: str = ""
    steps: list[tuple[str, bool]]
    entry_point: str
    call_limit: int = Field(default=10_000, ge=1)

    @property
    def total(self) -> int:
        return sum(is_test for _, is_test in self.steps)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    @classmethod
    def from_check_function(cls, test_code: str, entry_point: str, reference: str) -> TestSuite:
        """Split HumanEval's `def check(candidate): ...` into one test per assert statement."""
        module = ast.parse(test_code)
        prelude, steps = [], []
        for node in module.body:
            if isinstance(node, ast.FunctionDef) and node.name == "check":
                for statement in node.body:
                    steps.append((ast.unparse(statement), _is_test(statement)))
            else:
                prelude.append(ast.unparse(node))
        if not any(is_test for _, is_test in steps):
            raise ValueError("the test code has no check(candidate) function with asserts")
        return cls(reference=reference, prelude="\n".join(prelude), steps=steps, entry_point=entry_point)

    @classmethod
    def from_asserts(cls, asserts: Sequence[str], entry_point: str, reference: str, prelude: str = "") -> TestSuite:
        return cls(reference=reference, prelude=prelude, steps=[(a, True) for a in asserts], entry_point=entry_point)


def _is_test(statement: ast.stmt) -> bool:
    """A statement is a test when it asserts something about `candidate`. An `assert True`
    (36 HumanEval problems have one) or an assert on the test's own helpers is setup: it
    would pass without the candidate ever running."""
    nodes = list(ast.walk(statement))
    return any(isinstance(n, ast.Assert) for n in nodes) and any(
        isinstance(n, ast.Name) and n.id == "candidate" for n in nodes
    )


class Call(BaseModel):
    """One recorded call: the test step that made it and its arguments as plain-data JSON."""

    step: int
    arguments: str


# --------------------------------------------------------------------------- trusted process
# These functions run in an IsolatedRunner helper: a separate, killable process that only
# ever receives plain data from the sandbox, never the candidate's code.


class _Recorder:
    """Stands in for `candidate` while the tests run against the reference."""

    def __init__(self, function: Any, limit: int) -> None:
        self.function, self.limit = function, limit
        self.step = 0
        self.calls: list[tuple[int, str]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(self.calls) >= self.limit:
            raise RuntimeError(f"the tests call the function more than {self.limit} times")
        self.calls.append((self.step, plain_data.dumps((args, kwargs))))
        return self.function(*copy.deepcopy(args), **copy.deepcopy(kwargs))


class CandidateFailed(BaseException):
    """The candidate gave no usable result for a call, so the test statement fails.

    A BaseException, so a test's own `except Exception:` (written to expect an error from
    the function) cannot swallow a crash, a hang or an unreadable result.
    """


#: Exceptions a test may expect from the function, re-raised by name on the trusted side.
#: Not StopIteration (it silently ends a `map` or `filter` in the test), AssertionError
#: (it is the test's own verdict), RuntimeError or anything that steers control flow.
_EXPECTABLE_ERRORS = frozenset({
    "ArithmeticError", "AttributeError", "FloatingPointError", "IndexError", "KeyError", "LookupError",
    "NotImplementedError", "OverflowError", "TypeError", "UnicodeError", "ValueError", "ZeroDivisionError",
})  # fmt: skip


def _raised(error: Any) -> BaseException:
    """The exception a test sees for a call where the candidate raised: the same builtin
    exception type when a test may expect it (a ValueError), anything else a CandidateFailed."""
    if type(error) is list and len(error) == 2 and all(type(part) is str for part in error):
        name, message = error
        if name in _EXPECTABLE_ERRORS:
            return getattr(builtins, name)(message)
        return CandidateFailed(f"{name}: {message}")
    return CandidateFailed("the program raised an exception")


class _Replay:
    """Stands in for `candidate` while the tests check the candidate's recorded results."""

    def __init__(self, calls: list[tuple[int, str]], results: dict[int, tuple[bool, Any]]) -> None:
        self.calls, self.results = calls, results
        self.step = 0
        self.used: set[int] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = plain_data.dumps((args, kwargs))
        index = next(
            (i for i, (step, arguments) in enumerate(self.calls)
             if step == self.step and arguments == key and i not in self.used),
            None,
        )  # fmt: skip
        if index is None:
            raise CandidateFailed("the function was not run on these arguments")
        self.used.add(index)
        if index not in self.results:
            raise CandidateFailed("the program stopped before this call returned")
        ok, value = self.results[index]
        if not ok:
            raise _raised(value)
        try:
            return plain_data.decode(value)
        except plain_data.PlainDataError as err:
            raise CandidateFailed(f"the returned value could not be read: {err}") from None


def _run_steps(suite_data: dict[str, Any], candidate: Any) -> list[tuple[bool, str]]:
    """Run the test statements in one scope with `candidate` bound; a verdict per statement."""
    suite = TestSuite.model_validate(suite_data)
    scope: dict[str, Any] = {"__name__": "envarena_tests"}
    exec(compile(suite.reference, "reference.py", "exec"), scope)
    exec(compile(suite.prelude, "tests.py", "exec"), scope)
    random.seed(_TEST_SEED)
    verdicts = []
    for index, (source, _) in enumerate(suite.steps):
        candidate.step = index
        scope["candidate"] = candidate
        try:
            exec(compile(source, f"<test {index}>", "exec"), scope)
            verdicts.append((True, ""))
        except BaseException as error:  # noqa: BLE001 - a test statement may raise anything
            verdicts.append((False, f"{type(error).__name__}: {str(error)[:_MAX_ERROR_CHARS]}".rstrip(": ")))
    return verdicts


def _record(suite_data: dict[str, Any]) -> list[tuple[int, str]]:
    suite = TestSuite.model_validate(suite_data)
    scope: dict[str, Any] = {}
    exec(compile(suite.reference, "reference.py", "exec"), scope)
    if not callable(scope.get(suite.entry_point)):
        raise ValueError(f"the reference does not define {suite.entry_point}()")
    recorder = _Recorder(scope[suite.entry_point], suite.call_limit)
    verdicts = _run_steps(suite_data, recorder)
    failing = [(i, error) for i, (ok, error) in enumerate(verdicts) if not ok]
    if failing:
        index, error = failing[0]
        raise ValueError(f"the reference fails test {index} ({suite.steps[index][0][:80]}): {error}")
    return recorder.calls


def _check(
    suite_data: dict[str, Any], calls: list[tuple[int, str]], results: dict[int, tuple[bool, Any]]
) -> list[tuple[bool, str]]:
    return _run_steps(suite_data, _Replay(calls, results))


# --------------------------------------------------------------------------- sandbox side

_HARNESS = """
def __envarena_main(entry_point, calls, nonce):
    import json, os, sys, types
    from envarena_plain_data import decode, encode

    def report(index, ok, payload):
        line = json.dumps(dict(i=index, ok=ok, v=payload), separators=(",", ":"))
        os.write(1, ("\\n" + nonce + line + "\\n").encode("utf-8", "replace"))

    module = types.ModuleType("solution")
    module.__file__ = "solution.py"
    sys.modules["solution"] = module
    with open("solution.py", encoding="utf-8") as source:
        exec(compile(source.read(), "solution.py", "exec"), module.__dict__)
    function = module.__dict__.get(entry_point)
    if not callable(function):
        os.write(2, f"NameError: the program defines no function named {{entry_point}}()\\n".encode())
        raise SystemExit(1)
    for index, arguments in enumerate(calls):
        try:
            args, kwargs = decode(json.loads(arguments))
            payload = encode(function(*args, **kwargs))
            ok = True
        except BaseException as error:
            payload, ok = [type(error).__name__, str(error)[:300]], False
        report(index, ok, payload)

__envarena_main({entry_point!r}, {calls!r}, {nonce!r})
"""


def _harness(entry_point: str, calls: list[tuple[int, str]], nonce: str) -> str:
    """The sandboxed program: load the candidate, call it on each recorded argument list,
    report each result as plain data (the codec is preinstalled in every sandbox worker)."""
    return _HARNESS.format(entry_point=entry_point, calls=[arguments for _, arguments in calls], nonce=nonce)


def read_call_reports(result: ExecResult, nonce: str, count: int) -> dict[int, tuple[bool, Any]]:
    """The first report per call from the sandbox's stdout, as (ok, encoded value or error).

    A report is a line that starts with the run's secret nonce and holds `{"i": call index,
    "ok": bool, "v": payload}`; anything else (what the candidate printed, a torn line, a
    second report for the same call) is ignored. Shared by every differential verifier."""
    results: dict[int, tuple[bool, Any]] = {}
    for line in result.stdout.splitlines():
        if not line.startswith(nonce):
            continue
        try:
            report = json.loads(line[len(nonce) :])
        except (ValueError, RecursionError):
            continue
        if type(report) is not dict or type(report.get("i")) is not int or type(report.get("ok")) is not bool:
            continue
        index = report["i"]
        if 0 <= index < count and index not in results:
            payload = report.get("v")
            results[index] = (report["ok"], payload)
    return results


# --------------------------------------------------------------------------- public API

_recorder = IsolatedRunner()
_checker = IsolatedRunner()
_RECORDINGS_KEPT = 4096  # suites are small; generated ones (a new suite per seed) must not grow without end
_recordings: OrderedDict[str, list[tuple[int, str]]] = OrderedDict()
_recordings_lock = threading.Lock()


def _recording(suite: TestSuite) -> list[tuple[int, str]]:
    """The calls the tests make, from the reference (cached: a suite is recorded once)."""
    key = suite.fingerprint
    with _recordings_lock:
        cached = _recordings.get(key)
        if cached is not None:
            _recordings.move_to_end(key)
            return cached
    try:
        calls = _recorder.call(_record, suite.model_dump(), timeout=_CHECK_TIMEOUT_S)
    except (IsolatedTimeout, RuntimeError) as err:
        raise ValueError(f"the test suite could not be recorded: {err}") from None
    with _recordings_lock:
        _recordings[key] = calls
        while len(_recordings) > _RECORDINGS_KEPT:
            _recordings.popitem(last=False)
    return calls


def run_unit_tests(
    program: str, suite: TestSuite, *, sandbox: Sandbox | None = None, limits: Limits | None = None
) -> Score:
    """Run `suite` against `program`; never raises for what the program does.

    Raises ValueError only when the suite itself is broken (its reference fails it).
    """
    calls = _recording(suite)
    program = program.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be written
    nonce = f"@@envarena-{secrets.token_hex(8)}@@"
    result = (sandbox or default_sandbox()).run(
        code=_harness(suite.entry_point, calls, nonce),
        files={"solution.py": program},
        limits=limits or Limits(wall_seconds=10, cpu_seconds=10),
    )
    results = read_call_reports(result, nonce, len(calls))
    try:
        verdicts = _checker.call(_check, suite.model_dump(), calls, results, timeout=_CHECK_TIMEOUT_S)
    except (IsolatedTimeout, RuntimeError) as err:
        return Score(value=0.0, components={"tests_passed": 0.0, "partial": 0.0},
                     feedback=f"The tests could not be checked ({err}).")  # fmt: skip
    tests = [i for i, (_, is_test) in enumerate(suite.steps) if is_test]
    passed = sum(1 for i in tests if verdicts[i][0])
    fraction = passed / len(tests)
    components = {"tests_passed": fraction, "partial": fraction}
    if passed == len(tests):
        return Score(value=1.0, components=components)
    return Score(value=fraction, components=components, feedback=_first_failure(suite, verdicts, results, result))


def _first_failure(
    suite: TestSuite, verdicts: list[tuple[bool, str]], results: dict[int, tuple[bool, Any]], result: ExecResult
) -> str:
    for (source, _), (ok, error) in zip(suite.steps, verdicts, strict=True):
        if ok:
            continue
        if "the program stopped before this call returned" in error:
            if result.timed_out:
                return f"Timed out while running:\n{source}"
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            return f"The program failed before this test could run:\n{source}\n{tail}".rstrip()
        return f"Failed:\n{source}\n{error}".rstrip()
    return "Some tests failed."
