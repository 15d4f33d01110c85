"""code/repo-fix-v0: the generated project, the file tools, and the attempts to earn reward without fixing."""

from __future__ import annotations

import os
import time
import warnings
from string import Template

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envarena
from envarena import Message, ToolCall
from envarena.environments.code.repo_fix import MAX_FILE_CHARS, RepoFixEnv
from envarena.environments.code.repo_fix_project import Project, draw_project, inject

DIFFICULTIES = ("easy", "medium", "hard")


def make(difficulty: str = "easy", seed: int = 0) -> RepoFixEnv:
    env = envarena.make("code/repo-fix-v0", difficulty=difficulty)
    env.reset(seed=seed)
    return env


def call(env: RepoFixEnv, name: str, **arguments) -> tuple[str, dict]:
    """One tool call as one step; the tool's reply and the step's reward components."""
    obs, _, _, _, info = env.step(Message.assistant(tool_calls=[ToolCall(id="c", name=name, arguments=arguments)]))
    return obs[0].content, info["reward_components"]


def finish(env: RepoFixEnv) -> dict:
    *_, terminated, _, info = env.step("Done.")
    assert terminated
    return info


def bugged_path(env: RepoFixEnv) -> str:
    return env.task.bugs[0].path


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_reference_solver_fixes_every_bug(difficulty):
    for seed in (3, 11):
        env = make(difficulty, seed)
        assert len(env.task.bugs) == {"easy": 1, "medium": 2, "hard": 3}[difficulty]
        assert len({b.path for b in env.task.bugs}) == len(env.task.bugs), "bugs sit in different files"
        solver, obs, total = env.reference_solver(), [], 0.0
        for _ in range(env.max_turns):
            obs, reward, terminated, truncated, info = env.step(solver.act(obs))
            total += reward
            if terminated or truncated:
                break
        assert info["outcome"] == 1.0 and info["success"], (difficulty, seed)
        # potential-based: the visible tests' progress from the start, plus the outcome
        assert total == pytest.approx(1.0 - env.task.start_visible + 1.0)
        env.close()


def test_same_seed_same_project_and_other_seeds_differ():
    a, b, c = make("medium", 5), make("medium", 5), make("medium", 6)
    assert a.task.files == b.task.files and a.task.hidden == b.task.hidden
    assert a.task.files != c.task.files
    assert a.root != b.root  # each episode has its own folder


def test_every_bug_site_is_unique_and_the_bugged_code_compiles():
    from envarena.environments.code.repo_fix_project import TEMPLATES

    for seed in range(40):
        project = draw_project(np.random.default_rng(seed), 5)
        for key in project.functions:
            for bug in TEMPLATES[key].bugs:
                injected = inject(project, key, bug)  # raises when the site is not exactly once in the function
                assert injected.buggy != injected.fixed
                files = project.sources({key: injected.buggy})
                compile(files[injected.path], injected.path, "exec")


def test_every_template_renders():
    from envarena.environments.code.repo_fix_project import TEMPLATES

    rng = np.random.default_rng(1)
    names = {key: key for key in TEMPLATES}
    for template in TEMPLATES.values():
        source = Template(template.source).substitute({**names, **template.draw(rng)})
        compile(source, template.key, "exec")
        assert template.bugs, f"{template.key} has no bug site"


def test_answering_at_once_scores_well_below_one():
    outcomes = []
    for difficulty in DIFFICULTIES:
        env = make(difficulty, 2)
        info = finish(env)
        outcomes.append(info["outcome"])
        assert info["outcome"] == pytest.approx(env.task.start_hidden) and info["outcome"] <= 0.2
        assert info["reward_components"].get("progress", 0.0) == 0.0  # nothing changed, nothing paid
    assert max(outcomes) <= 0.2


def test_run_tests_reports_failures_and_pays_progress_as_potential():
    env = make("easy", 4)
    text, components = call(env, "run_tests")
    total = len(env.task.visible)
    assert text.startswith(f"{round(env.task.start_visible * total)} of {total} tests pass.")
    assert "FAILED tests/test_" in text and "expected" in text
    assert components.get("progress", 0.0) == 0.0
    bug = env.task.bugs[0]
    call(env, "replace_in_file", path=bug.path, old=bug.buggy, new=bug.fixed)
    text, components = call(env, "run_tests")
    assert text == f"{total} of {total} tests pass."
    assert components["progress"] == pytest.approx(1.0 - env.task.start_visible)
    _, components = call(env, "run_tests")  # repeating a measurement pays nothing
    assert components.get("progress", 0.0) == 0.0


def test_editing_or_deleting_the_visible_tests_changes_nothing():
    env = make("easy", 7)
    before, _ = call(env, "run_tests")
    for path in [p for p in env.task.files if p.startswith("tests/")]:
        text = env._read(path)
        call(env, "replace_in_file", path=path, old=text, new="def test_ok():\n    assert True\n")
    after, components = call(env, "run_tests")
    assert after.splitlines()[0] == before.splitlines()[0]
    assert components.get("progress", 0.0) == 0.0
    assert finish(env)["outcome"] == pytest.approx(env.task.start_hidden)


def test_hard_coding_the_visible_answers_fails_the_hidden_tests():
    env = make("medium", 8)
    by_module: dict[str, list] = {}
    for case in env.task.visible:
        by_module.setdefault(case.call.module, []).append(case)
    for module, cases in by_module.items():
        path = module.replace(".", "/") + ".py"
        table = "\n".join(f"_KNOWN_{c.call.function}[{repr(c.call.args)!r}] = {c.expected!r}" for c in cases)
        wrappers = "".join(
            f"\n_KNOWN_{f} = {{}}\n_real_{f} = {f}\n\n\ndef {f}(*args):\n"
            f"    return _KNOWN_{f}.get(repr(args)) if repr(args) in _KNOWN_{f} else _real_{f}(*args)\n"
            for f in sorted({c.call.function for c in cases}))
        text = env._read(path)
        call(env, "replace_in_file", path=path, old=text, new=text + wrappers + table + "\n")
    text, components = call(env, "run_tests")
    assert text.startswith(f"{len(env.task.visible)} of {len(env.task.visible)} tests pass.")  # the table works...
    assert components["progress"] > 0
    info = finish(env)
    assert info["outcome"] <= 0.25  # ...and earns nothing where the inputs are new
    # the visible tests' progress is taken back at the end: no net progress for a table of answers
    assert components["progress"] + info["reward_components"]["progress"] <= 0.05


def test_monkeypatching_forged_reports_and_printing_passed_earn_nothing():
    env = make("easy", 9)
    package = env.task.project.package
    patch = (
        "import builtins, json, sys\n"
        "_dumps = json.dumps\n"
        "def _forged(obj, *a, **k):\n"
        "    if isinstance(obj, dict) and 'i' in obj:\n"
        "        obj = dict(obj, ok=True, v=['str', 'PASSED'])\n"
        "    return _dumps(obj, *a, **k)\n"
        "json.dumps = _forged\n"
        "builtins.sorted = lambda *a, **k: []\n"
        "print('PASSED ' * 1000)\n"
        "sys.stdout.write('test_x PASSED\\n' * 100)\n"
    )
    init = env._read(f"{package}/__init__.py")
    call(env, "replace_in_file", path=f"{package}/__init__.py", old=init, new=init + patch)
    for name in ("sitecustomize.py", "conftest.py", "usercustomize.py"):
        _, components = call(env, "create_file", path=name, content=patch)
        assert "tool_error" not in components
    text, components = call(env, "run_tests")
    assert text.startswith(f"0 of {len(env.task.visible)} tests pass.")  # every forged report is read as "PASSED"
    assert components["progress"] == pytest.approx(-env.task.start_visible)
    assert finish(env)["outcome"] == 0.0


def test_objects_that_equal_everything_are_not_results():
    env = make("easy", 10)
    bug = env.task.bugs[0]
    header = bug.buggy.split('"""')[0] + '"""x"""\n'
    sneaky = header + "    class Yes(int):\n        def __eq__(self, other):\n            return True\n    return Yes(0)\n"
    call(env, "replace_in_file", path=bug.path, old=bug.buggy, new=sneaky)
    text, _ = call(env, "run_tests")
    assert "not plain data" in text
    assert finish(env)["outcome"] < 0.5


def test_infinite_loops_are_cut_short():
    env = make("easy", 12)
    bug = env.task.bugs[0]
    header = bug.buggy.split('"""')[0] + '"""x"""\n'
    call(env, "replace_in_file", path=bug.path, old=bug.buggy, new=header + "    while True:\n        pass\n")
    start = time.perf_counter()
    text, _ = call(env, "run_tests")
    assert time.perf_counter() - start < 5
    assert "s of CPU" in text
    # a module that never finishes importing: every call into it fails at once after the first
    module_text = env._read(bug.path)
    call(env, "replace_in_file", path=bug.path, old=module_text, new="while True:\n    pass\n" + module_text)
    start = time.perf_counter()
    info = finish(env)
    assert time.perf_counter() - start < 6 and info["outcome"] < 0.5


def test_paths_are_confined_to_the_project():
    env = make("easy", 13)
    for path in ("../secret.py", "/etc/passwd", f"{env.task.project.package}/../../x", ".hidden", "a\\b", "", "x" * 500):
        text, components = call(env, "read_file", path=path)
        assert text.startswith("Error:") and components["tool_error"] < 0, path
    os.symlink("/etc", env.root / "etc")
    for name, arguments in (("read_file", {"path": "etc/passwd"}), ("create_file", {"path": "etc/x.py", "content": ""})):
        text, components = call(env, name, **arguments)
        assert "symbolic link" in text and components["tool_error"] < 0
    listing, _ = call(env, "list_files")
    assert "etc" not in listing.split()
    assert "passwd" not in call(env, "search", pattern="root")[0]


def test_hidden_tests_never_reach_the_agent_or_the_project_files():
    env = make("hard", 14)
    seen = [m.content for m in env.transcript]
    seen.append(call(env, "run_tests")[0])
    seen.append(call(env, "search", pattern="def")[0])
    seen += [env._read(p) for p in env._project_files()]
    text = "\n".join(seen)
    visible = {c.call.describe() for c in env.task.visible}
    for case in env.task.hidden:
        assert case.call.describe() in visible or case.call.describe() not in text


def test_sizes_are_bounded():
    env = make("easy", 15)
    text, components = call(env, "create_file", path="big.py", content="x" * (MAX_FILE_CHARS + 1))
    assert "at most" in text and components["tool_error"] < 0
    path = bugged_path(env)
    original = env._read(path)
    text, _ = call(env, "replace_in_file", path=path, old=original, new=original + "#" * MAX_FILE_CHARS)
    assert "at most" in text and env._read(path) == original


def test_bad_tool_arguments_get_clear_messages_and_a_penalty():
    env = make("easy", 16)
    path = bugged_path(env)
    cases = {
        ("replace_in_file", (("path", path), ("old", "no such text"), ("new", "x")), "does not occur"),
        ("replace_in_file", (("path", path), ("old", "def "), ("new", "def  ")), "occurs"),
        ("replace_in_file", (("path", path), ("old", ""), ("new", "x")), "empty"),
        ("read_file", (("path", "nope.py"),), "no file"),
        ("read_file", (("path", path), ("start_line", 5), ("end_line", 2)), "start_line"),
        ("search", (("pattern", "("), ("regex_search", True)), "not a valid regular expression"),
        ("search", (("pattern", ""),), "empty"),
        ("create_file", (("path", path), ("content", "x")), "already exists"),
    }
    for name, arguments, message in cases:
        text, components = call(env, name, **dict(arguments))
        assert text.startswith("Error:") and message in text, (name, text)
        assert components["tool_error"] < 0
    assert not env.done


def test_a_catastrophic_regular_expression_is_stopped():
    env = make("easy", 17)
    call(env, "create_file", path="notes.txt", content="a" * 40 + "!")
    start = time.perf_counter()
    text, components = call(env, "search", pattern="(a|aa)+$", regex_search=True)
    assert time.perf_counter() - start < 3
    assert "too long" in text and components["tool_error"] < 0


def test_a_pattern_that_would_take_minutes_to_compile_is_refused_at_once():
    """Compiling is not covered by the matching time limit; the regex engine expands counted
    repeats, so 26 characters of nested repeats would hold the step for minutes and gigabytes."""
    env = make("easy", 17)
    for pattern in ("(((a{1000}){1000}){1000})", "(a{5}){5}", "x" * 201):
        start = time.perf_counter()
        text, components = call(env, "search", pattern=pattern, regex_search=True)
        assert time.perf_counter() - start < 1, pattern
        assert text.startswith("Error: 'search' failed:") and components["tool_error"] < 0, text
    text, _ = call(env, "search", pattern="def [a-z_]{2,20}\\(", regex_search=True)
    assert "def " in text, "an ordinary counted repeat still works"


def test_progress_settles_at_the_hidden_result_when_the_episode_ends():
    """The running `progress` (visible tests passing) is settled at the hidden result when the
    episode ends, so gains the hidden tests do not confirm are taken back."""
    env = make("easy", 3)
    total = 0.0
    for _ in range(3):
        _, components = call(env, "run_tests")
        total += components.get("progress", 0.0)
    *_, info = env.step("Done.")
    total += info["reward_components"].get("progress", 0.0)
    assert info["outcome"] <= env.task.start_hidden + 1e-9
    assert abs(total) < 1e-9, "checking the tests of unchanged code pays nothing once the episode ends"


def test_read_search_and_create_work():
    env = make("easy", 18)
    path = bugged_path(env)
    text, _ = call(env, "read_file", path=path, start_line=1, end_line=2)
    assert text.startswith(f"{path}, lines 1-2 of ")
    text, _ = call(env, "search", pattern=r"def \w+\(", regex_search=True)
    assert f"{path}:" in text
    text, _ = call(env, "create_file", path="scratch/notes.md", content="plan\n")
    assert text.startswith("Created") and "scratch/notes.md" in call(env, "list_files")[0]


def test_the_folder_is_removed_on_reset_and_close():
    env = make("easy", 19)
    first = env.root
    env.reset(seed=20)
    assert not first.exists() and env.root.exists()
    second = env.root
    env.close()
    assert not second.exists()


def test_running_out_of_turns_judges_the_project_as_it_stands():
    env = envarena.make("code/repo-fix-v0", difficulty="easy", max_turns=2)
    env.reset(seed=21)
    bug = env.task.bugs[0]
    call(env, "replace_in_file", path=bug.path, old=bug.buggy, new=bug.fixed)
    *_, terminated, truncated, info = env.step(Message.assistant(tool_calls=[ToolCall(id="l", name="list_files", arguments={})]))
    assert truncated and not terminated and info["outcome"] == 1.0


def test_random_agent_stays_far_below_the_solver():
    outcomes = []
    for seed in range(6):
        env = make("easy", seed)
        rng = np.random.default_rng(seed)
        for _ in range(env.max_turns):
            *_, terminated, truncated, info = env.step(env.random_action(rng))
            if terminated or truncated:
                break
        outcomes.append(info["outcome"])
    assert np.mean(outcomes) < 0.3


def test_check_env_passes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(envarena.make("code/repo-fix-v0", difficulty="easy"))


def test_project_is_a_dataclass_of_plain_parts():
    project = draw_project(np.random.default_rng(3), 3)
    assert isinstance(project, Project) and len(project.modules) == 3
    assert all(path.endswith(".py") for path in project.sources())
