"""Calls into a multi-module Python project, run in the sandbox and judged outside it.

`verifiers.unit_tests` checks one program with one entry point; a repository-style task has
a package of modules whose functions call each other, and its tests are calls of those
functions with known arguments. The differential split is the same: the trusted side holds
every call's arguments and the expected results (taken from the reference project, which is
trusted code, run the same way); the sandbox imports the candidate package, makes each call
and reports each result as plain data (`plain_data`, exact builtin types only); the results
are decoded and compared here, in a process that never loaded the candidate. So nothing the
candidate does (patching builtins, an `__eq__` that always says yes, printing "PASSED",
rewriting the test files) can change a verdict; only returning the right values can.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envarena.sandbox import ExecResult, Limits, Sandbox, default_sandbox, plain_data
from envarena.verifiers.unit_tests import read_call_reports

__all__ = ["RUN_TIMED_OUT", "CallResult", "ProjectCall", "run_project_calls", "same_value"]

#: One call may use this much CPU before it counts as hung (a profiling timer inside the
#: sandbox), so an infinite loop in one function costs a fraction of the job's limits, not all.
CALL_SECONDS = 0.25
#: The error of a call the job never reached because the whole run hit its wall limit.
RUN_TIMED_OUT = "the run timed out before this call"
_ERROR_CHARS = 200


@dataclass(frozen=True)
class ProjectCall:
    """`module.function(*args)`; `args` are plain data."""

    module: str
    function: str
    args: tuple[Any, ...]

    def describe(self) -> str:
        return f"{self.function}({', '.join(repr(a) for a in self.args)})"


@dataclass(frozen=True)
class CallResult:
    """What a call did, decoded on the trusted side: a value, or an error's description."""

    ok: bool
    value: Any = None
    error: str = ""


_HARNESS = """
def __envarena_main(calls, nonce, per_call):
    import importlib, json, os, signal, sys
    from envarena_plain_data import decode, encode

    out = os.dup(1)  # reports go here; whatever the project prints goes nowhere
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)

    class CallTimedOut(BaseException):
        pass

    def alarm(signum, frame):
        raise CallTimedOut("the call used more than " + str(per_call) + " s of CPU")

    # CPU time, not wall time: a loaded machine slows every call down, but does not make a
    # correct one use more CPU; a call that sleeps instead is stopped by the job's wall limit
    signal.signal(signal.SIGPROF, alarm)
    broken = {{}}  # module or function -> the error every later call of it gets at once
    for index, (module_name, function_name, arguments) in enumerate(calls):
        key = module_name + ":" + function_name
        try:
            if module_name in broken or key in broken:
                raise broken.get(module_name) or broken[key]
            signal.setitimer(signal.ITIMER_PROF, per_call)
            try:
                try:
                    module = importlib.import_module(module_name)
                except BaseException as error:
                    broken[module_name] = error
                    raise
                args = decode(json.loads(arguments))
                try:
                    payload, ok = encode(getattr(module, function_name)(*args)), True
                except CallTimedOut as error:
                    broken[key] = error
                    raise
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except BaseException as error:
            payload, ok = [type(error).__name__, str(error)[:{error_chars}]], False
        line = json.dumps(dict(i=index, ok=ok, v=payload), separators=(",", ":"))
        os.write(out, ("\\n" + nonce + line + "\\n").encode("utf-8", "replace"))

__envarena_main({calls!r}, {nonce!r}, {per_call!r})
"""


def _harness(calls: Sequence[ProjectCall], nonce: str) -> str:
    """The sandboxed program: import each call's module from the project's files, call the
    function on the decoded arguments, report each result (the codec is preinstalled in
    every sandbox worker). A module that fails to import, or a function that hangs once,
    fails its later calls at once."""
    encoded = [(c.module, c.function, plain_data.dumps(tuple(c.args))) for c in calls]
    return _HARNESS.format(calls=encoded, nonce=nonce, per_call=CALL_SECONDS, error_chars=_ERROR_CHARS)


def _read_reports(result: ExecResult, nonce: str, count: int) -> list[CallResult]:
    """The first report per call, decoded; a call without one failed (crash, hang, limit)."""
    found = {i: _decoded(ok, payload) for i, (ok, payload) in read_call_reports(result, nonce, count).items()}
    missing = RUN_TIMED_OUT if result.timed_out else "the project stopped before this call"
    return [found.get(i, CallResult(False, error=missing)) for i in range(count)]


def _decoded(ok: bool, payload: Any) -> CallResult:
    if not ok:
        if type(payload) is list and len(payload) == 2 and all(type(p) is str for p in payload):
            return CallResult(False, error=f"raised {payload[0][:60]}: {payload[1][:_ERROR_CHARS]}".rstrip(": "))
        return CallResult(False, error="raised an exception")
    try:
        return CallResult(True, value=plain_data.decode(payload))
    except plain_data.PlainDataError as err:
        return CallResult(False, error=f"returned a value that is not plain data ({err})")


def run_project_calls(
    files: Mapping[str, str],
    calls: Sequence[ProjectCall],
    *,
    sandbox: Sandbox | None = None,
    limits: Limits | None = None,
) -> list[CallResult]:
    """Make `calls` against the project in `files` (relative path -> text) in the sandbox, one
    job for all of them; never raises for what the project does."""
    if not calls:
        return []
    nonce = f"@@envarena-{secrets.token_hex(8)}@@"
    result = (sandbox or default_sandbox()).run(
        code=_harness(calls, nonce),
        files={path: text.encode("utf-8", "replace").decode("utf-8") for path, text in files.items()},
        limits=limits or Limits(wall_seconds=4, cpu_seconds=4, memory_mb=256),
    )
    return _read_reports(result, nonce, len(calls))


def same_value(expected: Any, got: Any) -> bool:
    """Plain-data equality: the same container types and keys, numbers equal (floats within a
    relative 1e-9; an int and a float of the same value agree; a bool is not a number)."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-9)
    if type(expected) is not type(got):
        return False
    if isinstance(expected, list | tuple):
        return len(expected) == len(got) and all(same_value(e, g) for e, g in zip(expected, got, strict=True))
    if isinstance(expected, dict):
        return expected.keys() == got.keys() and all(same_value(v, got[k]) for k, v in expected.items())
    return bool(expected == got)
