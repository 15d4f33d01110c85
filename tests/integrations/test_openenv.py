"""`envarena env-serve` (OpenEnv protocol, on openenv-core's server) and `RemoteEnv`.

Real server processes on free loopback ports; OpenEnv's own client where the protocol is
the point, envarena's CLI and rollout engine where "remote equals local" is.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

if os.environ.get("CI") == "true":  # CI installs the test extra: a missing openenv-core is a failure there
    import openenv.core  # noqa: F401
else:
    pytest.importorskip("openenv.core", reason="openenv-core is not installed (pip install 'envarena[openenv]')")

import envarena  # noqa: E402
from envarena.agents.base import to_message  # noqa: E402
from envarena.errors import EnvArenaError, InvalidOptionError  # noqa: E402
from envarena.rollout import RolloutConfig, episodes_in, run_rollout_sync  # noqa: E402

from ..conftest import REPO, run_cli  # noqa: E402

TOOL_ENV = "tools/calculator-v0"  # multi-turn, with tool calls
IDLE_TIMEOUT = 2.0  # the short-timeout server: pings every second, each answered within one
_READY = re.compile(r"serving \S+ at (http://\S+)")
_LOGS: dict[str, list[str]] = {}
_EPISODE_FIELDS = ("turns", "final_observation", "total_reward", "outcome", "success", "reward_components", "error")


@contextmanager
def _server_processes(*commands: list[str]) -> Iterator[list[str]]:
    """Start `python -m envarena ...` servers together (each imports openenv-core, which takes a
    while) on port 0, and yield their URLs once each has printed it. Their output goes on
    being collected in `_LOGS[url]`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-m", "envarena", *c], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, env=env)
        for c in commands
    ]
    try:
        urls = []
        for proc in procs:
            seen = []
            for line in proc.stdout:  # type: ignore[union-attr]
                seen.append(line)
                if match := _READY.search(line):
                    urls.append(match.group(1))
                    break
            else:
                raise AssertionError(f"server exited before serving: {''.join(seen)}")
            # keep reading, or a server that logs would block once the pipe is full
            threading.Thread(target=seen.extend, args=(proc.stdout,), daemon=True).start()
            _LOGS[urls[-1]] = seen
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _get(url: str) -> dict:
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=10) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _sessions(url: str) -> dict:
    return _get(f"{url}/envarena/sessions")


def _wait_for(predicate, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


def _idle(url: str) -> bool:
    state = _sessions(url)
    return state["active_sessions"] == 0 and state["open_environments"] == 0


def _readme_example() -> tuple[list[str], list[str], str]:
    """The README's OpenEnv example: its server command (on port 0), its other commands, its Python."""
    readme = (REPO / "README.md").read_text()
    marker = "<!-- example: openenv-serve -->"
    match = re.search(re.escape(marker) + r"\s*```bash\n(.*?)```\s*```python\n(.*?)```", readme, re.DOTALL)
    assert match, f"no bash + python example after {marker!r}"
    lines = [line.strip() for line in match.group(1).strip().splitlines()]
    serve = shlex.split(lines[0].removesuffix("&"))
    assert serve[:2] == ["envarena", "env-serve"] and "--port" in serve
    serve[serve.index("--port") + 1] = "0"
    return serve[1:], lines[1:], match.group(2)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """Started together: one server for the tool environment (solver exposed, 64 sessions at
    most), one for wordle with a short idle timeout, and the README example's."""
    with _server_processes(
        ["env-serve", TOOL_ENV, "--port", "0", "--expose-solver", "--max-sessions", "64"],
        ["env-serve", "games/wordle-v0", "-e", "difficulty=easy", "--port", "0", "--idle-timeout", str(IDLE_TIMEOUT)],
        _readme_example()[0],
    ) as (tool_url, wordle_url, readme_url):
        yield {"tool": tool_url, "wordle": wordle_url, "readme": readme_url}


def test_openenv_client_drives_a_served_environment_to_outcome_one(servers):
    """OpenEnv's generic client (no envarena code on the wire) plays the reference solver's
    actions, computed from a local copy of the same task, with tool calls in OpenAI's form."""
    from openenv.core import GenericEnvClient

    url = servers["tool"]
    health, schema = _get(f"{url}/health"), _get(f"{url}/schema")
    assert health["status"] == "healthy"
    assert {"content", "tool_calls"} <= set(schema["action"]["properties"])
    assert {"messages", "tools", "reward", "reward_components", "outcome", "done"} <= set(schema["observation"]["properties"])

    local = envarena.make(TOOL_ENV)
    observation, _ = local.reset(seed=7)
    solver = local.reference_solver()
    used_tools = False
    with GenericEnvClient(base_url=url).sync() as client:
        result = client.reset(seed=7)
        assert result.observation["messages"] == [m.model_dump(mode="json") for m in observation]
        assert [t["function"]["name"] for t in result.observation["tools"]] == [t.name for t in local.tools]
        while not result.done:
            action = to_message(solver.act(list(observation)))
            used_tools |= bool(action.tool_calls)
            result = client.step({"content": action.content,
                                  "tool_calls": [c.openai_format() for c in action.tool_calls]})
            observation, reward, terminated, truncated, info = local.step(action)
            assert result.observation["messages"] == [m.model_dump(mode="json") for m in observation]
            assert result.reward == reward
            assert result.observation["reward_components"] == info["reward_components"]
            assert result.done == (terminated or truncated)
        state = client.state()
    assert used_tools, "the solver should have called a tool"
    assert result.observation["outcome"] == 1.0 and result.observation["success"] is True
    assert state["step_count"] == local.turn and state["done"] is True and state["outcome"] == 1.0


def test_a_remote_rollout_equals_the_local_one_episode_for_episode(servers, tmp_path):
    remote_out, local_out = tmp_path / "remote.jsonl", tmp_path / "local.jsonl"
    result = run_cli("rollout", f"remote:{servers['tool']}", "--agent", "scripted", "-n", "50", "--seed", "100",
                     "--out", str(remote_out), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    run_rollout_sync(RolloutConfig(env_id=TOOL_ENV, agent="scripted", n=50, seed=100, out=str(local_out)))
    remote = {e.seed: e for e in episodes_in(str(remote_out))}
    local = {e.seed: e for e in episodes_in(str(local_out))}
    assert sorted(remote) == sorted(local) == list(range(100, 150))
    for seed, episode in local.items():
        for field in _EPISODE_FIELDS:
            assert getattr(remote[seed], field) == getattr(episode, field), (seed, field)
    assert all(e.outcome == 1.0 for e in remote.values())
    assert any(t.action.tool_calls for e in remote.values() for t in e.turns)


def test_training_runs_against_a_remote_environment(servers, tmp_path):
    from envarena.train import Trainer, load_config

    config = load_config(None, ["model=tiny", f"env_id=remote:{servers['tool']}", "steps=1", "tasks_per_step=2",
                                "group_size=2", "max_new_tokens=4", "eval_every=0", "checkpoint_every=1"])
    (metrics,) = Trainer(config, tmp_path / "run", log=lambda line: None).run()
    assert metrics["episodes"] == 4 and metrics["errors"] == 0


def test_64_concurrent_sessions_and_the_65th_waits_for_a_place(servers):
    url = servers["tool"]
    _wait_for(lambda: _idle(url), 15, "earlier sessions to close")
    envs = [envarena.RemoteEnv(url) for _ in range(64)]
    extra = envarena.RemoteEnv(url, connect_timeout=1.0)
    waiting = envarena.RemoteEnv(url, connect_timeout=60.0)
    try:
        with ThreadPoolExecutor(16) as pool:
            observations = list(pool.map(lambda pair: pair[1].reset(seed=pair[0])[0], enumerate(envs)))
        assert _sessions(url) == {"active_sessions": 64, "max_sessions": 64, "open_environments": 64}
        with pytest.raises(EnvArenaError, match="is full"):
            extra.reset(seed=0)

        def play(index: int) -> float:
            env, observation = envs[index], observations[index]
            solver = env.reference_solver()
            while True:
                observation, _, terminated, truncated, info = env.step(solver.act(observation))
                if terminated or truncated:
                    return info["outcome"]

        with ThreadPoolExecutor(64) as pool:  # every session steps at once
            assert list(pool.map(play, range(64))) == [1.0] * 64

        with ThreadPoolExecutor(1) as pool:  # a client willing to wait gets the next free place
            reset = pool.submit(waiting.reset, seed=64)
            time.sleep(1.0)
            assert not reset.done()
            envs[0].close()
            observation, _ = reset.result(timeout=30)
        assert observation[0].role == "system"
    finally:
        for env in [*envs, extra, waiting]:
            env.close()
    _wait_for(lambda: _idle(url), 15, "all sessions to close")


def test_remote_env_is_an_env_that_gymnasium_accepts(servers):
    from gymnasium.utils.env_checker import check_env

    env = envarena.make(f"remote:{servers['tool']}")
    try:
        assert isinstance(env, envarena.Env) and [t.name for t in env.tools] == ["calculate"]
        check_env(env, skip_render_check=True)
    finally:
        env.close()
    spec = envarena.spec(f"remote:{servers['tool']}")
    assert spec.name == "calculator" and not spec.multi_agent and spec.source.startswith("remote http://127.0.0.1:")


def test_sessions_that_end_normally_log_no_errors(servers):
    """Ordinary disconnects, by OpenEnv's own client and by `RemoteEnv`, leave the server's
    log clean (openenv-core 0.3.0 alone logs a traceback for each: huggingface/OpenEnv#1159)."""
    from openenv.core import GenericEnvClient

    url = servers["wordle"]
    before = len(_LOGS[url])
    for seed in range(3):
        with GenericEnvClient(base_url=url).sync() as client:
            client.reset(seed=seed)
        env = envarena.RemoteEnv(url)
        env.reset(seed=seed)
        env.close()
    _wait_for(lambda: _idle(url), 15, "the sessions to close")
    time.sleep(0.5)  # let the server finish writing whatever it would log
    assert "Traceback" not in "".join(_LOGS[url][before:])


def test_stateless_http_routes_build_nothing_and_point_to_the_session(servers):
    """OpenEnv's HTTP /reset and /step would build an environment per request on the event loop,
    outside the session bound; they answer 409 instead, and no environment is opened."""
    url = servers["tool"]
    _wait_for(lambda: _idle(url), 15, "earlier sessions to close")
    for path, payload in (("/reset", {"seed": 3}), ("/step", {"action": {"content": "<answer>1</answer>"}})):
        status, body = _post(f"{url}{path}", payload)
        assert status == 409 and "WebSocket session at /ws" in body["detail"]
    with urllib.request.urlopen(f"{url}/metadata", timeout=30) as response:
        assert json.load(response)["name"] == TOOL_ENV
    assert _sessions(url)["open_environments"] == 0


def test_a_client_cannot_choose_its_own_task_through_reset_options(servers):
    """Reset options can set the task (xiangqi reads a position from them); a client that picked
    a position it has already won would collect a verified reward. They are refused."""
    from websockets.sync.client import connect

    with connect(servers["tool"].replace("http://", "ws://") + "/ws") as ws:
        ws.send(json.dumps({"type": "reset", "data": {"seed": 1, "options": {"expression": "1"}}}))
        reply = json.loads(ws.recv())
    assert reply["type"] == "error" and "fixed where the environment is served" in json.dumps(reply)


def test_client_mistakes_are_one_sentence(servers):
    with pytest.raises(InvalidOptionError, match="set where it is served"):
        envarena.make(f"remote:{servers['tool']}", difficulty="hard")
    with pytest.raises(EnvArenaError, match="cannot reach an environment server"):
        envarena.make("remote:http://127.0.0.1:9")
    env = envarena.RemoteEnv(servers["wordle"])  # served without --expose-solver
    try:
        observation, _ = env.reset(seed=1)
        with pytest.raises(RuntimeError, match="--expose-solver"):
            env.reference_solver().act(observation)
    finally:
        env.close()
    result = run_cli("env-serve", "games/nope-v0", "--port", "0")
    assert result.returncode == 2 and result.stderr.startswith("error: unknown environment") and "Traceback" not in result.stderr


_HELD_CLIENT = """
import json, sys, time
from websockets.sync.client import connect
ws = connect(sys.argv[1].replace("http://", "ws://") + "/ws")
ws.send(json.dumps({"type": "reset", "data": {"seed": 1}}))
assert json.loads(ws.recv())["type"] == "observation"
print("ready", flush=True)
time.sleep(600)
"""


@contextmanager
def _client_holding_a_session(url: str) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen([sys.executable, "-c", _HELD_CLIENT, url], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("how", ["killed", "frozen"])
def test_a_dead_clients_session_and_environment_are_reaped(servers, how):
    """Killed: its socket closes. Frozen (SIGSTOP: a hung process or a vanished machine, the
    socket stays open): it stops answering pings, and the server closes it after the idle timeout."""
    url = servers["wordle"]
    _wait_for(lambda: _idle(url), 15, "earlier sessions to close")
    with _client_holding_a_session(url) as client:
        assert _sessions(url)["active_sessions"] == 1 and _sessions(url)["open_environments"] == 1
        os.kill(client.pid, signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        _wait_for(lambda: _idle(url), 5 * IDLE_TIMEOUT, "the session to be reaped")


def test_an_agent_may_think_longer_than_the_idle_timeout(servers):
    """Keep-alive is the connection's business: a session whose agent takes three idle
    timeouts over one move is still there, and the move is played."""
    url = servers["wordle"]
    env = envarena.RemoteEnv(url)
    try:
        env.reset(seed=2)
        time.sleep(3 * IDLE_TIMEOUT)  # the agent "thinks"
        assert _sessions(url)["active_sessions"] == 1
        _, _, _, _, info = env.step("<answer>crane</answer>")
        assert info["turn"] == 1
    finally:
        env.close()


def test_the_readme_example_runs(servers, tmp_path, monkeypatch):
    _, commands, python = _readme_example()
    url = servers["readme"]
    for line in commands:
        args = shlex.split(line.replace("http://127.0.0.1:8000", url))
        assert args[0] == "envarena"
        result = run_cli(*args[1:], cwd=tmp_path, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.chdir(tmp_path)
    exec(compile(python.replace("http://127.0.0.1:8000", url), "README.md", "exec"), {"__name__": "readme_openenv"})
    episodes = episodes_in(str(tmp_path / "runs" / "remote.jsonl"))
    assert len(episodes) == 8 and all(e.outcome == 1.0 for e in episodes)
