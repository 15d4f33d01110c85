"""HumanEval through the sandboxed verifier, and the other code/tool environments' rules."""

from __future__ import annotations

import shutil

import pytest

import envarena
from envarena import Message, ToolCall
from envarena.environments.code.humaneval import assemble, problems
from envarena.sandbox import Sandbox
from envarena.verifiers import run_unit_tests

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


@needs_bwrap
def test_all_164_canonical_solutions_pass_and_all_pass_bodies_fail():
    catalog = problems()
    assert len(catalog) == 164 and catalog[0].task_id == "HumanEval/0" and catalog[163].task_id == "HumanEval/163"
    with Sandbox("bwrap", pool_size=2) as box:
        canonical = [run_unit_tests(assemble(p, p.canonical_solution), p.suite, sandbox=box).value for p in catalog]
        stubbed = [run_unit_tests(assemble(p, "    pass\n"), p.suite, sandbox=box).value for p in catalog]
    assert canonical == [1.0] * 164
    assert max(stubbed) < 1.0


def test_seed_is_the_problem_number_and_whole_functions_are_accepted():
    env = envarena.make("code/humaneval-v0")
    env.reset(seed=2)
    assert env.task.task_id == "HumanEval/2"
    env.reset(seed=166)
    assert env.task.task_id == "HumanEval/2"
    whole = "def truncate_number(number: float) -> float:\n    return number % 1.0\n"
    _, reward, terminated, _, info = env.step(f"```python\n{whole}```")
    assert terminated and info["outcome"] == 1.0 and "format" not in info["reward_components"]


def test_humaneval_feedback_names_the_failing_test_except_on_hard():
    env = envarena.make("code/humaneval-v0")
    env.reset(seed=2)
    obs, _, terminated, _, info = env.step("```python\ndef truncate_number(number):\n    return 0.5\n```")
    assert not terminated and "Failed:" in obs[0].content and "assert" in obs[0].content
    assert 0 <= info["reward_components"].get("progress", 0.0) < 1
    hard = envarena.make("code/humaneval-v0", difficulty="hard")
    hard.reset(seed=2)
    obs, *_ = hard.step("```python\ndef truncate_number(number):\n    return 0.5\n```")
    assert "tests passed" in obs[0].content and "assert" not in obs[0].content


def test_python_tool_runs_in_the_sandbox():
    env = envarena.make("code/python-tool-v0")
    env.reset(seed=0)
    call = ToolCall(id="c", name="python", arguments={"code": "import os\nprint(os.path.exists('/root'), 6 * 7)"})
    obs, *_ = env.step(Message.assistant(tool_calls=[call]))
    assert "False 42" in obs[0].content or "True 42" in obs[0].content  # True only on the process backend
    loop = ToolCall(id="d", name="python", arguments={"code": "while True: pass"})
    obs, *_ = env.step(Message.assistant(tool_calls=[loop]))
    assert obs[0].content.startswith("timed out")


def test_sql_tool_is_read_only_and_answers_are_graded_by_result_set():
    env = envarena.make("tools/sql-v0", difficulty="easy")
    env.reset(seed=4)
    drop = ToolCall(id="c", name="query", arguments={"sql": "DROP TABLE orders"})
    obs, _, _, _, info = env.step(Message.assistant(tool_calls=[drop]))
    assert "read-only" in obs[0].content and info["reward_components"]["tool_error"] < 0
    count = ToolCall(id="d", name="query", arguments={"sql": "SELECT COUNT(*) FROM orders"})
    obs, *_ = env.step(Message.assistant(tool_calls=[count]))
    assert obs[0].content.splitlines()[1] == "30"
    _, _, terminated, _, info = env.step(f"<answer>\n{env.task.gold_sql};\n</answer>")
    assert terminated and info["outcome"] == 1.0


def test_same_seed_builds_the_same_database():
    a, b = envarena.make("tools/sql-v0"), envarena.make("tools/sql-v0")
    a.reset(seed=9)
    b.reset(seed=9)
    dump = lambda env: list(env.db.iterdump())  # noqa: E731
    assert dump(a) == dump(b) and a.task == b.task
