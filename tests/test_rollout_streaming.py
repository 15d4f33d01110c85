"""The streaming engine: a bounded work queue, episodes written and released, resume by ID
scan, and environments stepped in worker processes (same episodes, errors recorded, no
orphan process after a kill)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from envarena import Env, Message, StepResult
from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.registration import registry
from envarena.rollout import EpisodeStore, RolloutConfig, read_episodes, run_rollout, run_rollout_sync, summarize
from envarena.rollout.store import scan_ids
from envarena.types import Episode

TIMINGS = {"started_at", "duration_s", "agent_s", "env_s"}


class CountingEnv(Env):
    """Records how many of its instances are between reset and close at once; the random
    agent's action ("0" or "1") decides the outcome, so samples of a task differ."""

    live = 0
    most = 0
    lock = threading.Lock()

    def begin_episode(self, options: Any) -> list[Message]:
        with CountingEnv.lock:
            CountingEnv.live += 1
            CountingEnv.most = max(CountingEnv.most, CountingEnv.live)
        self._counted = True
        return [Message.user("say 0 or 1")]

    def respond(self, action: Message) -> StepResult:
        won = (action.content or "").strip() == "1"
        return StepResult([Message.user("done")], progress=float(won), done=True, outcome=float(won))

    def random_action(self, rng: Any) -> str:
        return str(int(rng.integers(2)))

    def reference_solver(self) -> Any:
        return _Say("1")

    def close(self) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            with CountingEnv.lock:
                CountingEnv.live -= 1
        super().close()


class CrashingEnv(Env):
    """Raises in `step` for seeds divisible by 3; kills its own process for seed 4 (only
    ever played in a worker process)."""

    def begin_episode(self, options: Any) -> list[Message]:
        self.task = int(self.np_random.integers(1 << 30))
        return [Message.user("say ok")]

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        self.task_seed = seed
        return super().reset(seed=seed, options=options)

    def respond(self, action: Message) -> StepResult:
        if self.task_seed == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.task_seed % 3 == 0:
            raise RuntimeError("verifier crashed")
        return StepResult([Message.user("done")], progress=1.0, done=True, outcome=1.0)

    def reference_solver(self) -> Any:
        return _Say("ok")


class HangingEnv(Env):
    """Never answers the step of seed 1 (a verifier stuck in C code, a deadlock)."""

    def begin_episode(self, options: Any) -> list[Message]:
        return [Message.user("say ok")]

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        self.task_seed = seed
        return super().reset(seed=seed, options=options)

    def respond(self, action: Message) -> StepResult:
        if self.task_seed == 1:
            time.sleep(3600)
        return StepResult([Message.user("done")], progress=1.0, done=True, outcome=1.0)


class _Say:
    def __init__(self, text: str) -> None:
        self.text = text

    def act(self, observation: Any) -> str:
        return self.text


class EchoPolicy:
    """A policy that knows nothing of the environment (like a model): it answers '1'."""

    spec = "echo"

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> Any:
        return _EchoAgent()

    async def aclose(self) -> None:
        return None


class _EchoAgent:
    last_trace = None

    async def act(self, observation: list[Message], tools: Any) -> Message:
        await asyncio.sleep(0)
        return Message.assistant("1")


@pytest.fixture
def counting_env():
    registry.add("testing/counting-v0", CountingEnv)
    CountingEnv.live = CountingEnv.most = 0
    yield "testing/counting-v0"
    registry.remove("testing/counting-v0")


@pytest.fixture
def crashing_env():
    registry.add("testing/crashing-v0", CrashingEnv)
    yield "testing/crashing-v0"
    registry.remove("testing/crashing-v0")


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in TIMINGS}


# ---------------------------------------------------------------------------- the work queue
def test_no_more_episodes_exist_at_once_than_the_concurrency(counting_env, tmp_path):
    tasks_seen: list[int] = []

    def sample(_episode: Any) -> None:  # runs on the event loop: every task there is counted
        tasks_seen.append(len(asyncio.all_tasks()))

    config = RolloutConfig(env_id=counting_env, agent="random", n=60, concurrency=3, out=str(tmp_path / "r.jsonl"))
    result = run_rollout_sync(config, on_episode=sample)
    assert result.written == 60 and len(tasks_seen) == 60
    assert 2 <= CountingEnv.most <= 3, "episodes ran side by side, never more than three"
    # the main task plus three workers: no coroutine per planned episode was created up front
    assert max(tasks_seen) <= 4, max(tasks_seen)


def _live_episodes() -> int:
    gc.collect()
    return sum(isinstance(o, Episode) for o in gc.get_objects())


def test_finished_episodes_are_released_unless_asked_for(counting_env, tmp_path):
    config = RolloutConfig(env_id=counting_env, agent="random", n=30, samples=2, concurrency=4,
                           out=str(tmp_path / "r.jsonl"))
    before = _live_episodes()
    result = run_rollout_sync(config)
    assert result.written == 60 and _live_episodes() == before, "no episode outlives its write"
    assert result.kept_episodes is None
    with pytest.raises(EnvArenaError, match="keep_episodes=True"):
        result.episodes  # noqa: B018 (asking is the test)
    # the streamed summary is the one computed from the whole file, pass@k included
    rows = summarize(read_episodes(config.out), ks=(1, 2))
    streamed = result.summary[0].model_dump()
    from_file = rows[0].model_dump()
    assert 0 < from_file["pass_at"][1] < from_file["pass_at"][2] < 1, "the random agent mixes wins and losses"
    for key in ("episodes", "tasks", "errors", "mean_reward", "success_rate", "pass_at", "mean_turns"):
        assert streamed[key] == pytest.approx(from_file[key]), key

    kept = run_rollout_sync(config.model_copy(update={"out": str(tmp_path / "k.jsonl")}), keep_episodes=True)
    assert _live_episodes() == before + 60
    assert len(kept.episodes) == 60 and {(e.seed, e.sample) for e in kept.episodes} == {
        (s, k) for s in range(30) for k in range(2)}


def test_a_failing_callback_stops_the_run_with_its_error(counting_env, tmp_path):
    def boom(episode: Any) -> None:
        raise ValueError("callback failed")

    config = RolloutConfig(env_id=counting_env, agent="random", n=20, concurrency=1, out=str(tmp_path / "r.jsonl"))
    with pytest.raises(ValueError, match="callback failed"):
        run_rollout_sync(config, on_episode=boom)
    assert len(_records(tmp_path / "r.jsonl")) == 1, "the episode was written before the callback ran"


# ---------------------------------------------------------------------------- resume by ID
def test_resume_scans_ids_through_a_torn_tail_failures_and_foreign_formatting(crashing_env, tmp_path):
    out = tmp_path / "r.jsonl"
    config = RolloutConfig(env_id=crashing_env, agent="scripted", n=4, out=str(out))  # seeds 0..3: 0 and 3 fail
    first = run_rollout_sync(config)
    assert first.written == 4 and first.errors == 2 and first.first_error == "RuntimeError: verifier crashed"
    records = _records(out)
    # a record written by another tool (spaced JSON) that failed, one whose *turn* mentions an
    # error but which succeeded, and a torn last line from a killed run
    ok = next(r for r in records if not r["error"])
    spaced = dict(ok, id="spaced", error="ServerDown: later")
    nested = json.loads(json.dumps(ok)) | {"id": "nested"}
    nested["turns"][0]["info"]["error"] = "not the episode's"
    with out.open("a") as f:
        f.write(json.dumps(spaced) + "\n" + json.dumps(nested, separators=(",", ":")) + "\n" + '{"id":"torn","er')
    assert dict(scan_ids(out)) == {**{r["id"]: bool(r["error"]) for r in records}, "spaced": True, "nested": False}
    with EpisodeStore(out) as store:
        assert store.failed_ids == {r["id"] for r in records if r["error"]} | {"spaced"}
        assert len(store.done_ids) == 6
    assert out.read_text().endswith("}\n"), "the torn line was cut off"

    again = run_rollout_sync(config)  # the two failures are played again and replaced
    assert again.written == 2 and again.skipped == 2 and again.retried == 2
    ids = [r["id"] for r in _records(out)]
    assert len(ids) == len(set(ids)) == 6


def test_resume_reads_ids_without_building_episodes(tmp_path):
    out = tmp_path / "r.jsonl"
    # records that are no valid Episode (no env_id, seed, agent) still resume: only IDs are read
    out.write_text('{"id":"a","error":null}\n{"id":"b","error":"Timeout"}\n')
    with EpisodeStore(out) as store:
        assert store.done_ids == {"a", "b"} and store.failed_ids == {"b"}
    out.write_text('{"id":"a"}\n["not", "a", "record"]\n')
    with pytest.raises(EnvArenaError, match=r"r.jsonl:2 is not an episode record"), EpisodeStore(out):
        pass


# ---------------------------------------------------------------------------- worker processes
def test_worker_processes_play_the_same_episodes_as_threads(tmp_path):
    common = {"env_id": "games/sudoku-v0", "env_kwargs": {"difficulty": "easy"}, "agent": "scripted", "n": 4,
              "concurrency": 4}
    threads = run_rollout_sync(RolloutConfig(**common, env_processes=0, out=str(tmp_path / "t.jsonl")))
    processes = run_rollout_sync(RolloutConfig(**common, out=str(tmp_path / "p.jsonl")))  # sudoku is cpu_heavy
    assert threads.written == processes.written == 4 and processes.errors == 0
    by_id = {r["id"]: _comparable(r) for r in _records(tmp_path / "t.jsonl")}
    assert {r["id"]: _comparable(r) for r in _records(tmp_path / "p.jsonl")} == by_id
    assert all(r["outcome"] == 1.0 for r in by_id.values())


def test_errors_and_a_dead_worker_become_the_episodes_errors(crashing_env, tmp_path):
    config = RolloutConfig(env_id=crashing_env, agent="scripted", n=7, concurrency=2, env_processes=2,
                           out=str(tmp_path / "r.jsonl"))
    result = run_rollout_sync(config, keep_episodes=True)
    errors = {e.seed: e.error for e in result.episodes}
    assert errors[0] == errors[3] == errors[6] == "RuntimeError: verifier crashed"
    assert errors[4].startswith("EnvProcessDied: the environment process") and "died" in errors[4]
    assert errors[1] is errors[2] is errors[5] is None, "the replaced worker played on"


def test_a_model_agent_steps_a_proxy_environment_in_a_worker(crashing_env, counting_env, tmp_path):
    common = {"agent": "echo", "n": 4, "concurrency": 4}
    threads = run_rollout_sync(RolloutConfig(env_id=counting_env, **common, env_processes=0,
                                             out=str(tmp_path / "t.jsonl")), policy=EchoPolicy())
    processes = run_rollout_sync(RolloutConfig(env_id=counting_env, **common, env_processes=1,
                                               out=str(tmp_path / "p.jsonl")), policy=EchoPolicy())
    assert threads.written == processes.written == 4
    assert ({r["id"]: _comparable(r) for r in _records(tmp_path / "p.jsonl")}
            == {r["id"]: _comparable(r) for r in _records(tmp_path / "t.jsonl")})
    crashed = run_rollout_sync(RolloutConfig(env_id=crashing_env, **common, env_processes=1, out=str(tmp_path / "c.jsonl")),
                               policy=EchoPolicy(), keep_episodes=True)
    assert {e.seed: e.error for e in crashed.episodes} == {
        0: "RuntimeError: verifier crashed", 1: None, 2: None, 3: "RuntimeError: verifier crashed"}


def test_a_proxy_environment_stuck_in_a_step_is_killed_and_the_run_goes_on(tmp_path):
    """A model agent's environment in a worker that never answers: the episode times out, its
    process is killed and replaced, and the episodes after it are played (not queued forever
    behind the stuck call in the same process)."""
    registry.add("testing/hanging-v0", HangingEnv)
    try:
        config = RolloutConfig(env_id="testing/hanging-v0", agent="echo", n=3, concurrency=1, env_processes=1,
                               episode_timeout=1.0, out=str(tmp_path / "h.jsonl"))
        start = time.monotonic()
        result = run_rollout_sync(config, policy=EchoPolicy(), keep_episodes=True)
        assert time.monotonic() - start < 60
        errors = {e.seed: e.error for e in result.episodes}
        assert errors[0] is None and errors[2] is None, errors
        assert errors[1].startswith("TimeoutError"), errors
    finally:
        registry.remove("testing/hanging-v0")


def test_a_game_against_a_model_opponent_refuses_worker_processes(tmp_path):
    config = RolloutConfig(env_id="games/tictactoe-v0", agent="echo", opponent="random", n=1, env_processes=2,
                           out=str(tmp_path / "r.jsonl"))
    with pytest.raises(InvalidOptionError, match="--env-processes"):
        asyncio.run(run_rollout(config, policy=EchoPolicy()))


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process trees from /proc (Linux only)")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_killing_the_run_leaves_no_worker_process(tmp_path, how):
    command = [sys.executable, "-m", "envarena", "rollout", "games/sudoku-v0", "-e", "difficulty=hard", "-n", "500",
               "--env-processes", "2", "--out", str(tmp_path / "r.jsonl")]
    run = subprocess.Popen(command, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2 or not (tmp_path / "r.jsonl").exists() or not (tmp_path / "r.jsonl").stat().st_size:
            assert run.poll() is None and time.monotonic() < deadline, "the rollout did not get going"
            workers |= {p for p in _children(run.pid) if b"multiprocessing" in _cmdline(p)}
            time.sleep(0.1)
        workers |= _children(run.pid)  # mid-run now: every helper process must go too
        assert all(_alive(p) for p in workers)
        os.killpg(run.pid, how) if how == signal.SIGINT else run.send_signal(how)  # Ctrl-C reaches the group
        code = run.wait(timeout=30)
        assert code == (130 if how == signal.SIGINT else -signal.SIGKILL), run.stderr.read().decode()[-2000:]
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in workers), "a worker outlived the run"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
