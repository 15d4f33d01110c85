"""Repository bug fixing: a generated Python package with bugs across files, file tools and `run_tests`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import regex

from envarena.env import Env, StepResult
from envarena.environments.code.repo_fix_project import (
    MODULE_OF,
    TEMPLATES,
    InjectedBug,
    Project,
    draw_project,
    inject,
    visible_test_file,
)
from envarena.sandbox import Limits
from envarena.task_env import Difficulty
from envarena.tools import tool
from envarena.types import Message, ToolCall
from envarena.verifiers.project_calls import RUN_TIMED_OUT, CallResult, ProjectCall, run_project_calls, same_value


@dataclass(frozen=True)
class _Level:
    modules: int
    bugs: int
    max_turns: int


_LEVELS = {"easy": _Level(3, 1, 20), "medium": _Level(4, 2, 30), "hard": _Level(5, 3, 40)}
_POOL = 14  # drawn calls per function, split into visible and hidden tests
_VISIBLE_PER_FUNCTION = 2
_HIDDEN_PER_BUG = 6
_MIN_HIDDEN_PER_BUG = 3
#: Hidden tests that pass before any fix, per hidden test that fails: they guard what already
#: works, and keep the unchanged project's score at most 1/5.
_GUARDS_PER_FAILING = 0.25
_RUN_LIMITS = Limits(wall_seconds=3, cpu_seconds=3, memory_mb=256)
_JUDGE_LIMITS = Limits(wall_seconds=4, cpu_seconds=4, memory_mb=256)
# What the file tools accept: bounded, so no action can fill the disk or the sandbox job.
MAX_FILE_CHARS = 20_000
MAX_FILES = 40
MAX_PROJECT_CHARS = 200_000
_MAX_PATH = 120
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_MAX_MATCHES = 40
_MAX_LINE_SHOWN = 200
_SEARCH_SECONDS = 1.0  # for the whole search, not per line
_FAILURES_SHOWN = 12


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest class

    name: str
    file: str
    call: ProjectCall
    expected: Any


@dataclass(frozen=True)
class RepoTask:
    project: Project
    files: dict[str, str]  # the project as the agent gets it: bugged package, visible tests, README
    bugs: tuple[InjectedBug, ...]
    visible: tuple[TestCase, ...]
    hidden: tuple[TestCase, ...]
    start_visible: float  # fraction of visible tests the bugged project passes
    start_hidden: float


# ----------------------------------------------------------------------------- generation

_RESULTS_KEPT = 256
_results_cache: OrderedDict[str, list[CallResult]] = OrderedDict()
_results_lock = threading.Lock()
#: Runs of our own project tried before its results are taken as they are: a run cut off by the
#: job's wall limit (a loaded machine) would otherwise count calls it never made as failing.
_TRUSTED_ATTEMPTS = 3


def _trusted_results(files: dict[str, str], calls: list[ProjectCall]) -> list[CallResult]:
    """Results of a project we generated (reference or with our bugs): our own code, run in
    the sandbox like any other so that one loader defines what a call returns. Cached, so a
    seed replayed costs no sandbox run."""
    key = hashlib.sha256(json.dumps([files, [repr(c) for c in calls]], sort_keys=True).encode()).hexdigest()
    with _results_lock:
        if key in _results_cache:
            _results_cache.move_to_end(key)
            return _results_cache[key]
    for _ in range(_TRUSTED_ATTEMPTS):
        results = run_project_calls(files, calls, limits=_JUDGE_LIMITS)
        if not any(r.error == RUN_TIMED_OUT for r in results):
            break
    else:  # a machine too loaded to finish the run: use what came back, remember nothing
        return results
    with _results_lock:
        _results_cache[key] = results
        while len(_results_cache) > _RESULTS_KEPT:
            _results_cache.popitem(last=False)
    return results


def _passes(expected: CallResult, got: CallResult) -> bool:
    return got.ok and same_value(expected.value, got.value)


def _draw_bugs(rng: np.random.Generator, project: Project, count: int) -> list[InjectedBug] | None:
    """`count` bugs, each in a different module; None if the project has too few buggable modules."""
    by_module: dict[str, list[tuple[str, int]]] = {}
    for key in project.functions:
        for index in range(len(TEMPLATES[key].bugs)):
            by_module.setdefault(MODULE_OF[key].key, []).append((key, index))
    if len(by_module) < count:
        return None
    modules = sorted(by_module)
    picked = [modules[int(i)] for i in rng.choice(len(modules), size=count, replace=False)]
    bugs = []
    for module in picked:
        key, index = by_module[module][int(rng.integers(len(by_module[module])))]
        bugs.append(inject(project, key, TEMPLATES[key].bugs[index]))
    return bugs


def build_task(rng: np.random.Generator, difficulty: str) -> RepoTask:
    """Draw projects and bugs until every bug shows: it fails at least one visible test and
    several hidden ones (on inputs the visible tests do not use)."""
    level = _LEVELS[difficulty]
    while True:
        project = draw_project(rng, level.modules)
        bugs = _draw_bugs(rng, project, level.bugs)
        if bugs is None:
            continue
        pools = {key: project.pool(rng, key, _POOL) for key in project.functions}
        calls = [c for pool in pools.values() for c in pool]
        owner = [key for key, pool in pools.items() for _ in pool]
        reference = _trusted_results(project.sources(), calls)
        if not all(r.ok for r in reference):
            raise RuntimeError(f"the reference project fails a call: {next(r for r in reference if not r.ok).error}")
        bugged_files = project.sources({b.key: b.buggy for b in bugs})
        together = _trusted_results(bugged_files, calls)
        failing = {i for i in range(len(calls)) if not _passes(reference[i], together[i])}
        shows: list[list[int]] = []
        for bug in bugs:
            alone = _trusted_results(project.sources({bug.key: bug.buggy}), calls)
            shows.append([i for i in range(len(calls)) if i in failing and not _passes(reference[i], alone[i])])
        if any(len(s) < 1 + _MIN_HIDDEN_PER_BUG for s in shows):
            continue
        task = _select_tests(rng, project, bugs, calls, owner, reference, failing, shows, bugged_files)
        if task is not None:
            return task


def _select_tests(rng: np.random.Generator, project: Project, bugs: list[InjectedBug], calls: list[ProjectCall],
                  owner: list[str], reference: list[CallResult], failing: set[int], shows: list[list[int]],
                  bugged_files: dict[str, str]) -> RepoTask | None:
    visible: set[int] = set()
    for bug, indices in zip(bugs, shows, strict=True):
        own = [i for i in indices if owner[i] == bug.key]
        visible.add(int(rng.choice(own or indices)))
    for key in project.functions:
        mine = [i for i in range(len(calls)) if owner[i] == key]
        for i in rng.permutation(mine):
            if sum(owner[v] == key for v in visible) >= _VISIBLE_PER_FUNCTION:
                break
            visible.add(int(i))
    hidden: list[int] = []
    for indices in shows:
        fresh = [i for i in indices if i not in visible and i not in hidden]
        if len(fresh) < _MIN_HIDDEN_PER_BUG:
            return None
        hidden += [int(i) for i in rng.permutation(fresh)[:_HIDDEN_PER_BUG]]
    guards = [i for i in range(len(calls)) if i not in failing and i not in visible]
    wanted = max(1, int(len(hidden) * _GUARDS_PER_FAILING))
    spread = sorted(rng.permutation(guards).tolist(), key=lambda i: sum(owner[h] == owner[i] for h in hidden))
    chosen_guards = []
    for i in spread:  # one guard per function first, the least tested ones first
        if len(chosen_guards) >= wanted:
            break
        if all(owner[g] != owner[i] for g in chosen_guards):
            chosen_guards.append(int(i))
    hidden += chosen_guards

    def case(i: int, number: int) -> TestCase:
        module = MODULE_OF[owner[i]].key
        return TestCase(f"test_{calls[i].function}_{number}", f"tests/test_{project.module_names[module]}.py",
                        calls[i], reference[i].value)

    counters: dict[str, int] = {}
    visible_cases = []
    for i in sorted(visible):
        counters[owner[i]] = counters.get(owner[i], 0) + 1
        visible_cases.append(case(i, counters[owner[i]]))
    hidden_cases = tuple(case(i, n) for n, i in enumerate(hidden, 1))
    files = dict(bugged_files)
    for module in project.modules:
        cases = [(c.name, c.call, c.expected) for c in visible_cases if MODULE_OF[_key(project, c)].key == module]
        if cases:
            files[f"tests/test_{project.module_names[module]}.py"] = visible_test_file(project, module, cases)
    files["README.md"] = _readme(project)
    return RepoTask(
        project=project, files=files, bugs=tuple(bugs), visible=tuple(visible_cases), hidden=hidden_cases,
        start_visible=sum(i not in failing for i in visible) / len(visible),
        start_hidden=sum(i not in failing for i in hidden) / len(hidden),
    )


def _key(project: Project, case: TestCase) -> str:
    return next(k for k, f in project.functions.items() if f.name == case.call.function)


def _readme(project: Project) -> str:
    modules = "\n".join(f"- `{project.path(m)}`" for m in project.modules)
    return (f"# {project.package}\n\nA small shop toolkit: plain functions, prices in whole cents.\n\n{modules}\n\n"
            "Tests live in `tests/` (pytest style); every docstring states what its function must do.\n")


def _fraction(cases: tuple[TestCase, ...], results: list[CallResult]) -> float:
    return sum(_passes(CallResult(True, c.expected), r) for c, r in zip(cases, results, strict=True)) / len(cases)


# ----------------------------------------------------------------------------- the solver


class RepoFixSolver:
    """Runs the tests, swaps each injected bug's function back for the original with
    `replace_in_file`, runs the tests again and says it is done. It reads the injected bugs
    from the environment (a reference solver may read hidden state)."""

    def __init__(self, env: RepoFixEnv) -> None:
        self.env = env
        self.stage = 0

    def act(self, observation: list[Message]) -> Message:
        self.stage += 1
        task = self.env.task
        assert task is not None
        if self.stage in (1, 3):
            run = ToolCall(id=f"call_tests_{self.stage}", name="run_tests", arguments={})
            return Message.assistant(tool_calls=[run])
        if self.stage == 2:
            calls = [ToolCall(id=f"call_fix_{n}", name="replace_in_file",
                              arguments={"path": bug.path, "old": bug.buggy, "new": bug.fixed})
                     for n, bug in enumerate(task.bugs)]
            return Message.assistant(tool_calls=calls)
        fixed = ", ".join(f"{b.kind} in {b.path}" for b in task.bugs)
        return Message.assistant(f"Done: fixed {fixed}.")


# ----------------------------------------------------------------------------- the environment


#: Limits on a regular expression given to `search`: compiling is not covered by the matching
#: time limit, and the regex engine expands counted repeats, so `(((a{1000}){1000}){1000})`
#: (26 characters) would take minutes and gigabytes to compile.
_MAX_PATTERN_CHARS = 200
_MAX_REPEAT_COUNT = 20
_COUNTED_REPEAT = re.compile(r"(?<!\\)\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}")


def _check_pattern_size(pattern: str) -> None:
    """Refuse a pattern whose compiled form could blow up: too long, more than one counted
    repeat, or a count above `_MAX_REPEAT_COUNT`."""
    if len(pattern) > _MAX_PATTERN_CHARS:
        raise ValueError(f"the regular expression is {len(pattern)} characters long; the limit is {_MAX_PATTERN_CHARS}")
    counts = _COUNTED_REPEAT.findall(pattern)
    bounds = [int(n) for pair in counts for n in pair if n]
    if len(counts) > 1 or any(n > _MAX_REPEAT_COUNT for n in bounds):
        raise ValueError(f"use at most one counted repeat {{n,m}} with n and m up to {_MAX_REPEAT_COUNT}")


class RepoFixEnv(Env):
    """Repository bug fixing: a generated Python package (3-5 modules of functions that call
    each other across files) with injected bugs, a visible test suite and file tools.

    Bugs are the slips of real changes (a swapped operator, an off-by-one, a wrong constant,
    swapped arguments, a wrong comparison, a missing case); easy has 1, medium 2 and hard 3,
    each in a different file, and every one fails at least one visible test. The agent lists,
    reads and searches files, edits by exact replacement, creates files and runs the visible
    tests; a reply without tool calls ends the episode. The project only ever runs in the
    sandbox, which returns plain data; tests are compared outside it against the reference
    project's results, so editing the tests, printing "PASSED" or returning objects that
    equal everything earns nothing. The outcome is the fraction of hidden tests passing
    (other inputs, mostly where the bugs show: an unchanged project scores at most 0.2).
    Rewards: `progress` (potential, settled at the hidden result when the episode ends: the fraction of visible tests passing, measured by each
    `run_tests` and at the end), `tool_error` and `outcome`.
    """

    default_max_turns = _LEVELS["medium"].max_turns

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None,
                 render_mode: str | None = None) -> None:
        if difficulty not in _LEVELS:
            raise ValueError(f"difficulty must be one of {', '.join(_LEVELS)}")
        self.difficulty = difficulty
        super().__init__(max_turns=max_turns or _LEVELS[difficulty].max_turns, render_mode=render_mode)
        self.task: RepoTask | None = None
        self.root: Path | None = None
        self.measured = 0.0
        self._cleanup: weakref.finalize | None = None

    # ------------------------------------------------------------------ episode
    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        self.task = build_task(self.np_random, self.difficulty)
        self._remove_files()
        self.root = Path(tempfile.mkdtemp(prefix="envarena-repo-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), True)
        for path, text in self.task.files.items():
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.measured = self.task.start_visible
        package = self.task.project.package
        files = "\n".join(f"- {p}" for p in sorted(self.task.files))
        return [
            Message.system(
                "You are a software engineer fixing bugs in a Python project. Use the tools: list_files, "
                "read_file, search, replace_in_file (exact text replacement), create_file and run_tests. "
                "When you are done, reply with a short summary and no tool call: that ends the episode."
            ),
            Message.user(
                f"Some tests of the `{package}` package fail: functions do not do what their docstrings say. "
                f"Find and fix the bugs in the package; they may be in several files.\n\nFiles:\n{files}\n\n"
                "run_tests runs the tests in tests/ (its original version: editing the test files changes nothing). "
                "Hidden tests with other inputs then judge your fix, so make the code right, not just the listed "
                "cases. Reply without a tool call when you are done."
            ),
        ]

    def initial_progress(self) -> float:
        return self.measured

    def settled_progress(self) -> float:
        """The hidden result on the visible tests' scale: the share of the hidden tests the bugs
        broke that are fixed now, put where the visible potential started. Unchanged code settles
        back at the start, a full fix at 1, so hard-coding the visible answers earns nothing."""
        start_visible, start_hidden = self._task.start_visible, self._task.start_hidden
        fixed = (self.outcome - start_hidden) / (1.0 - start_hidden)
        return min(1.0, max(0.0, start_visible + (1.0 - start_visible) * fixed))

    def respond(self, action: Message) -> StepResult:
        visible, hidden = self._judge()
        text = (f"Episode over. {round(visible * len(self._task.visible))} of {len(self._task.visible)} visible "
                f"tests pass; hidden tests: {round(hidden * len(self._task.hidden))} of {len(self._task.hidden)} pass.")
        return StepResult([Message.user(text)], progress=visible, done=True, outcome=hidden)

    def progress_after_tools(self) -> float | None:
        return self.measured

    def truncation_outcome(self) -> float:
        """Out of turns, the project is judged as it stands (the edits are the work)."""
        return self._judge()[1]

    def reference_solver(self) -> RepoFixSolver:  # type: ignore[override]
        return RepoFixSolver(self)

    def random_action(self, rng: np.random.Generator) -> Message | str:
        if self.task is None or rng.random() < 0.1:
            return "I think it is fixed."
        paths = sorted(self.task.files)
        path = paths[int(rng.integers(len(paths)))]
        lines = self.task.files[path].splitlines() or [""]
        choice = int(rng.integers(6))
        name, arguments = [
            ("list_files", {}),
            ("read_file", {"path": path}),
            ("search", {"pattern": lines[int(rng.integers(len(lines)))].strip()[:20] or "def"}),
            ("run_tests", {}),
            ("replace_in_file", {"path": path, "old": lines[int(rng.integers(len(lines)))],
                                 "new": lines[int(rng.integers(len(lines)))]}),
            ("create_file", {"path": f"notes_{int(rng.integers(100))}.txt", "content": "todo"}),
        ][choice]
        return Message.assistant(tool_calls=[ToolCall(id=f"call_{self.turn}", name=name, arguments=arguments)])

    def close(self) -> None:
        self._remove_files()
        super().close()

    # ------------------------------------------------------------------ tools
    @tool
    def list_files(self) -> str:
        """List the project's files with their sizes in lines."""
        return "\n".join(f"{p} ({len(t.splitlines())} lines)" for p, t in self._project_files().items()) or "(no files)"

    @tool
    def read_file(self, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        """Show a file, or the lines start_line..end_line of it (1-based, inclusive).

        Args:
            path: The file's path relative to the project root, e.g. "shopkit/pricing.py".
            start_line: First line to show (default: 1).
            end_line: Last line to show (default: the end of the file).
        """
        lines = self._read(path).splitlines()
        first, last = start_line or 1, end_line or len(lines)
        if first < 1 or last < first:
            raise ValueError("start_line must be at least 1 and end_line at least start_line")
        shown = "\n".join(lines[first - 1 : last])
        if (first, last) == (1, len(lines)):
            return f"{path} ({len(lines)} lines):\n{shown}"
        return f"{path}, lines {first}-{min(last, len(lines))} of {len(lines)}:\n{shown}"

    @tool
    def search(self, pattern: str, regex_search: bool = False) -> str:
        """Find lines of the project containing `pattern` (at most 40 shown).

        Args:
            pattern: Text to look for, or a regular expression when regex_search is true.
            regex_search: Treat the pattern as a Python regular expression.
        """
        if not pattern:
            raise ValueError("the pattern is empty")
        if regex_search:
            _check_pattern_size(pattern)
        try:
            compiled = regex.compile(pattern if regex_search else regex.escape(pattern))
        except (regex.error, OverflowError, RecursionError, MemoryError) as err:
            raise ValueError(f"not a valid regular expression: {err}") from None
        matches: list[str] = []
        total = 0
        deadline = time.monotonic() + _SEARCH_SECONDS
        for path, text in self._project_files().items():
            for number, line in enumerate(text.splitlines(), 1):
                try:  # a pattern that backtracks without end is stopped, not waited for
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    found = compiled.search(line, timeout=left) is not None
                except TimeoutError:
                    raise ValueError("the regular expression took too long; simplify it") from None
                if found:
                    total += 1
                    if len(matches) < _MAX_MATCHES:
                        matches.append(f"{path}:{number}: {line[:_MAX_LINE_SHOWN]}")
        if not matches:
            return f"No line matches {pattern!r}."
        more = f"\n({total - len(matches)} more matches not shown)" if total > len(matches) else ""
        return "\n".join(matches) + more

    @tool
    def replace_in_file(self, path: str, old: str, new: str) -> str:
        """Replace the exact text `old` (which must occur exactly once in the file) by `new`.

        Args:
            path: The file's path relative to the project root.
            old: The exact text to replace, including indentation; add surrounding lines to make it unique.
            new: The text to put in its place.
        """
        text = self._read(path)
        if not old:
            raise ValueError("`old` is empty; give the exact text to replace")
        count = text.count(old)
        if count == 0:
            raise ValueError(f"`old` does not occur in {path}; read the file and copy the text exactly")
        if count > 1:
            raise ValueError(f"`old` occurs {count} times in {path}; include more surrounding text so it is unique")
        self._write(path, text.replace(old, new, 1))
        return f"Replaced 1 occurrence in {path}."

    @tool
    def create_file(self, path: str, content: str) -> str:
        """Create a new file (to change an existing one, use replace_in_file).

        Args:
            path: The new file's path relative to the project root; folders are created as needed.
            content: The file's text.
        """
        target = self._resolve(path)
        if target.exists() or target.is_symlink():
            raise ValueError(f"{path} already exists; edit it with replace_in_file")
        if len(self._project_files()) >= MAX_FILES:
            raise ValueError(f"the project has {MAX_FILES} files already; no more can be created")
        self._write(path, content)
        return f"Created {path} ({len(content.splitlines())} lines)."

    @tool
    def run_tests(self) -> str:
        """Run the project's tests (the original tests/ suite) and report which pass and fail."""
        task = self._task
        results = run_project_calls(self._project_files(), [c.call for c in task.visible], limits=_RUN_LIMITS)
        self.measured = _fraction(task.visible, results)
        failures = [f"FAILED {c.file}::{c.name}: {c.call.describe()} "
                    + (f"returned {_short(r.value)}, expected {_short(c.expected)}" if r.ok else r.error)
                    for c, r in zip(task.visible, results, strict=True) if not _passes(CallResult(True, c.expected), r)]
        passed = len(task.visible) - len(failures)
        lines = [f"{passed} of {len(task.visible)} tests pass."] + failures[:_FAILURES_SHOWN]
        if len(failures) > _FAILURES_SHOWN:
            lines.append(f"({len(failures) - _FAILURES_SHOWN} more failures not shown)")
        return "\n".join(lines)

    # ------------------------------------------------------------------ trusted side
    @property
    def _task(self) -> RepoTask:
        if self.task is None:
            raise RuntimeError("call reset() first")
        return self.task

    def _judge(self) -> tuple[float, float]:
        """(visible, hidden) fractions passing, from one sandbox run that the agent never sees."""
        task = self._task
        cases = task.visible + task.hidden
        results = run_project_calls(self._project_files(), [c.call for c in cases], limits=_JUDGE_LIMITS)
        count = len(task.visible)
        return _fraction(task.visible, results[:count]), _fraction(task.hidden, results[count:])

    def _resolve(self, path: str) -> Path:
        """`path` inside the project: relative, plain names, no `..`, nothing through a symlink."""
        if self.root is None:
            raise RuntimeError("call reset() first")
        path = path.strip()
        parts = path.split("/")
        if not path or len(path) > _MAX_PATH or path.startswith("/") or len(parts) > 4:
            raise ValueError(f"{path[:_MAX_PATH]!r} is not a project path; use a relative path like 'pkg/module.py'")
        if any(p == ".." for p in parts) or not all(_PART.fullmatch(p) for p in parts):
            raise ValueError(f"{path!r} is not allowed: use plain names inside the project (no '..', no hidden files)")
        target = self.root
        for part in parts:
            target = target / part
            if target.is_symlink():
                raise ValueError(f"{path!r} goes through a symbolic link, which is not allowed")
        if not target.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"{path!r} is outside the project")
        return target

    def _read(self, path: str) -> str:
        target = self._resolve(path)
        if not target.is_file():
            raise ValueError(f"there is no file {path}; list_files shows the project's files")
        if target.stat().st_size > 4 * MAX_FILE_CHARS:
            raise ValueError(f"{path} is too large to read")
        return target.read_text(encoding="utf-8", errors="replace")

    def _write(self, path: str, text: str) -> None:
        if len(text) > MAX_FILE_CHARS:
            raise ValueError(f"a file may have at most {MAX_FILE_CHARS} characters; this would have {len(text)}")
        target = self._resolve(path)
        others = sum(len(t) for p, t in self._project_files().items() if p != path)
        if others + len(text) > MAX_PROJECT_CHARS:
            raise ValueError(f"the project may hold at most {MAX_PROJECT_CHARS} characters in all")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", errors="replace")

    def _project_files(self) -> dict[str, str]:
        """Every regular file of the project (symbolic links skipped), by relative path."""
        if self.root is None:
            raise RuntimeError("call reset() first")
        found: dict[str, str] = {}
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(folder, d)))
            for name in sorted(names):
                full = os.path.join(folder, name)
                if os.path.islink(full) or not os.path.isfile(full) or len(found) >= MAX_FILES:
                    continue
                with open(full, encoding="utf-8", errors="replace") as handle:
                    found[os.path.relpath(full, self.root)] = handle.read(MAX_FILE_CHARS + 1)
        return found

    def _remove_files(self) -> None:
        if self._cleanup is not None:
            self._cleanup()  # removes the folder, once
            self._cleanup = None
        self.root = None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
