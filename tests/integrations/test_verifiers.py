"""`envarena.integrations.verifiers`: PrimeIntellect verifiers' own `evaluate` and `rollout`
play envarena environments against `envarena serve` (SmolLM2-135M) on loopback.

The repository root is on `sys.path` here (pytest puts it there), so `import verifiers` would
find envarena's own folder: these tests also prove the integration gets PyPI's package.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.machinery
import importlib.metadata
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import envarena
from envarena.errors import InvalidOptionError, UnknownEnvironmentError
from envarena.integrations.verifiers import import_verifiers, load_environment
from envarena.types import Episode

from ..conftest import REPO

try:
    importlib.metadata.version("verifiers")  # installed? (asked without importing: the name is the trap)
except importlib.metadata.PackageNotFoundError:
    if os.environ.get("CI") == "true":  # CI installs the test extra: there it is a failure, not a skip
        raise
    pytest.skip("PyPI verifiers is not installed (pip install 'envarena[verifiers]')", allow_module_level=True)
vf = import_verifiers()  # installed but not importable past envarena's folder: a failure

TOOLS_ENV = "tools/calculator-v0"  # tools offered, several turns (truncated at max_turns)
SAMPLING = {"max_tokens": 12, "temperature": 1.0}


@pytest.fixture(scope="module")
def served(smollm2, tmp_path_factory):
    """`envarena serve smollm2-135m` (pulled by the fixture) on a free loopback port: (model, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as sink:  # a file, not a pipe: a full pipe would stall the server's request log
        process = subprocess.Popen([sys.executable, "-m", "envarena", "serve", "smollm2-135m", "--port", str(port)],
                                   stdout=sink, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    try:
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "envarena serve did not start"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        yield "smollm2-135m", f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _client(base_url: str):
    from openai import AsyncOpenAI

    return AsyncOpenAI(base_url=base_url, api_key="unused")


def _replay(data: dict) -> tuple[float, list[float]]:
    """The recorded actions, played again by envarena alone: (return, per-step rewards)."""
    episode = Episode.model_validate(data)
    env = envarena.make(episode.env_id, **episode.env_kwargs)
    env.reset(seed=episode.seed)
    rewards = [env.step(turn.action)[1] for turn in episode.turns]
    env.close()
    return sum(rewards), rewards


def test_the_real_verifiers_package_is_used():
    import verifiers

    # The trap is live in this process: a plain path search finds envarena's folder first...
    shadow = importlib.machinery.PathFinder.find_spec("verifiers", sys.path)
    assert shadow is not None and Path(shadow.origin).resolve() == REPO / "verifiers" / "__init__.py"
    # ...and yet the module in use is PyPI's, and so is the openai-agents package it imports as `agents`.
    assert verifiers is vf and REPO not in Path(vf.__file__).resolve().parents, vf.__file__
    assert REPO not in Path(sys.modules["agents"].__file__).resolve().parents, sys.modules["agents"].__file__


def test_a_folder_already_imported_in_its_place_is_named(tmp_path):
    code = ("import verifiers\n"
            "from envarena.integrations.verifiers import import_verifiers\n"
            "import_verifiers()\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "`verifiers` is already imported from envarena's folder" in result.stderr


def test_evaluate_against_envarena_serve_scores_with_envarena(served):
    model, base_url = served
    env = load_environment(TOOLS_ENV, num_examples=2, seed=5, max_turns=2)
    assert isinstance(env, vf.MultiTurnEnv)
    rows = env.get_dataset().to_list()
    assert [json.loads(r["info"]) for r in rows] == [
        {"env_id": TOOLS_ENV, "env_kwargs": {"max_turns": 2}, "seed": s} for s in (5, 6)
    ]
    opening, _ = envarena.make(TOOLS_ENV, max_turns=2).reset(seed=5)
    assert rows[0]["prompt"] == [{"role": m.role, "content": m.content} for m in opening]
    assert [t["function"]["name"] for t in env.oai_tools] == ["calculate"]

    results = asyncio.run(env.evaluate(_client(base_url), model=model, sampling_args=SAMPLING, num_examples=2,
                                       state_columns=["envarena_episode"]))
    outputs = results["outputs"]
    assert len(outputs) == 2
    for output in outputs:
        assert output.get("error") is None, output.get("error")
        episode = output["envarena_episode"]
        assert episode["env_id"] == TOOLS_ENV and episode["seed"] in (5, 6)
        assert len(episode["turns"]) == 2 and episode["turns"][-1]["truncated"]  # envarena ended it
        total, _ = _replay(episode)
        assert output["reward"] == pytest.approx(episode["total_reward"]) == pytest.approx(total)
        assert output["metrics"]["outcome"] == episode["outcome"]
        assert output["metrics"]["component_format"] == pytest.approx(episode["reward_components"].get("format", 0.0))
        # verifiers' completion is the conversation envarena played, its closing message included
        said = [m["content"] for m in output["completion"] if m["role"] == "assistant"]
        assert said == [t["action"]["content"] for t in episode["turns"]]
        assert output["completion"][-1]["content"] == episode["final_observation"][-1]["content"]


def test_rollout_records_envarena_step_rewards_per_turn(served):
    model, base_url = served
    env = load_environment("games/wordle-v0", num_examples=1, seed=3, max_turns=2)
    [row] = env.get_dataset().to_list()
    state = asyncio.run(env.rollout(row, _client(base_url), model, dict(env.sampling_args, **SAMPLING)))
    assert state.get("error") is None, state["error"]
    episode = state["envarena_episode"]
    _, replayed = _replay(episode)
    assert [step["reward"] for step in state["trajectory"]] == pytest.approx(replayed)
    assert [t["reward"] for t in episode["turns"]] == pytest.approx(replayed)
    assert state["stop_condition"] == "has_final_env_response"  # the episode's end ended the rollout


def test_readme_example_evaluates_against_envarena_serve(served, monkeypatch, tmp_path):
    """The README's example, pointed at this test's server (its block names port 8001)."""
    model, base_url = served
    monkeypatch.chdir(tmp_path)
    readme = (REPO / "README.md").read_text()
    section = readme.split("<!-- example: verifiers-eval -->", 1)[1]
    assert "envarena serve smollm2-135m --port 8001 &" in section.split("```python", 1)[0]
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    assert block.count("http://127.0.0.1:8001/v1") == 1 and f'model="{model}"' in block
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block.replace("http://127.0.0.1:8001/v1", base_url), "README.md", "exec"), {"__name__": "readme"})
    lines = printed.getvalue().splitlines()
    assert len(lines) == 2 and all(re.fullmatch(r"-?[\d.e-]+ [\d.]+ \[.*\]", line) for line in lines), lines


def test_bad_requests_fail_with_one_clear_sentence():
    with pytest.raises(UnknownEnvironmentError):
        load_environment("games/no-such-game-v0")
    with pytest.raises(InvalidOptionError):
        load_environment(TOOLS_ENV, difficulty="impossible")
    with pytest.raises(InvalidOptionError, match="num_examples must be at least 1"):
        load_environment(TOOLS_ENV, num_examples=0)
