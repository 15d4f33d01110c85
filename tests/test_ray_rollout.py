"""Rollouts on a real local Ray cluster: same episodes as a local run, and no episode lost or
written twice when a worker process is killed mid-run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from envarena import EnvArenaError, InvalidOptionError
from envarena.rollout import RolloutConfig, run_rollout_sync

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'envarena[ray]')")
psutil = pytest.importorskip("psutil", reason="psutil (a Ray dependency) is needed to find worker processes")

from envarena.rollout import ray_rollout  # noqa: E402
from envarena.rollout.ray_rollout import RayWorkerPool, run_rollout_ray, run_rollout_ray_sync  # noqa: E402

from .conftest import local_ray, ray_rollout_worker_pids  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_local_ray():
    """One local cluster for the module."""
    with local_ray():
        yield


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _comparable(record: dict) -> tuple:
    """An episode without its timings: what it played and what it earned."""
    turns = [(t["agent"], t["action"]["content"], t["reward"], t["reward_components"]) for t in record["turns"]]
    return (record["seed"], record["sample"], record["outcome"], record["success"], record["total_reward"],
            record["reward_components"], record["error"], turns)


@pytest.mark.parametrize(("env_id", "agent", "samples"), [("code/humaneval-v0", "scripted", 1), ("games/wordle-v0", "random", 2)])
def test_a_rollout_over_ray_equals_the_local_one_episode_for_episode(tmp_path, env_id, agent, samples):
    common = {"env_id": env_id, "agent": agent, "n": 4, "samples": samples, "concurrency": 2}
    run_rollout_sync(RolloutConfig(**common, out=str(tmp_path / "local.jsonl")))
    result = run_rollout_ray_sync(RolloutConfig(**common, out=str(tmp_path / "ray.jsonl")), workers=2)
    assert result.written == 4 * samples and result.skipped == 0
    local = {r["id"]: _comparable(r) for r in _records(tmp_path / "local.jsonl")}
    remote = {r["id"]: _comparable(r) for r in _records(tmp_path / "ray.jsonl")}
    assert len(remote) == len(_records(tmp_path / "ray.jsonl")) == 4 * samples
    assert remote == local
    if agent == "random":  # the seeded random agent played, so the episodes really were compared turn by turn
        assert any(len(turns) > 1 for *_, turns in remote.values())


def test_a_ray_rollout_resumes_the_file_of_a_local_one(tmp_path):
    out = str(tmp_path / "r.jsonl")
    run_rollout_sync(RolloutConfig(env_id="code/humaneval-v0", n=3, out=out))
    result = run_rollout_ray_sync(RolloutConfig(env_id="code/humaneval-v0", n=6, out=out), workers=1)
    assert (result.written, result.skipped) == (3, 3)
    assert sorted(r["seed"] for r in _records(tmp_path / "r.jsonl")) == list(range(6))


def test_killing_a_worker_mid_run_loses_and_duplicates_nothing(tmp_path):
    killed: list[int] = []

    def kill_a_worker(_episode) -> None:
        if not killed:  # after the first episode, while both workers have episodes in flight
            pids = ray_rollout_worker_pids()
            assert len(pids) == 2, pids
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    config = RolloutConfig(env_id="code/humaneval-v0", n=16, concurrency=2, out=str(tmp_path / "ray.jsonl"))
    result = run_rollout_ray_sync(config, workers=2, on_episode=kill_a_worker)
    assert killed, "no worker was killed, so the test proved nothing"
    records = _records(tmp_path / "ray.jsonl")
    assert result.written == len(records) == 16
    assert sorted(r["seed"] for r in records) == list(range(16))  # every episode, each once
    assert len({r["id"] for r in records}) == 16
    assert all(r["outcome"] == 1.0 and not r["error"] for r in records)
    assert killed[0] not in ray_rollout_worker_pids()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_cluster_address_nobody_answers_is_a_clear_error(cli, tmp_path):
    result = cli("rollout", "code/humaneval-v0", "-n", "2", "--out", "r.jsonl", "--ray", f"127.0.0.1:{_free_port()}",
                 cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "no Ray cluster answers at" in result.stderr and "Traceback" not in result.stderr
    result = cli("rollout", "code/humaneval-v0", "-n", "2", "--out", "r.jsonl", "--ray-gpus-per-worker", "1", cwd=tmp_path)
    assert result.returncode == 2 and "--ray-gpus-per-worker needs --ray" in result.stderr, result.stderr
    assert not (tmp_path / "r.jsonl").exists()


@pytest.fixture(scope="module")
def served_smollm2(smollm2):
    """`envarena serve` on loopback, as a user would start it beside the cluster."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "envarena", "serve", "smollm2-135m", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300  # torch + the model load slowly on a busy 2-core machine
        while True:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "envarena serve did not listen within 300 s"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    break
            except OSError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=60)


def test_an_openai_policy_served_by_envarena_serve_plays_over_ray_with_traces(served_smollm2, tmp_path):
    config = RolloutConfig(env_id="text/arithmetic-v0", env_kwargs={"max_attempts": 2}, agent=f"openai:smollm2-135m@{served_smollm2}",
                           n=2, concurrency=2, out=str(tmp_path / "r.jsonl"))
    options = {"timeout": 300, "max_new_tokens": 12, "temperature": 0.7}
    result = run_rollout_ray_sync(config, workers=1, agent_options=options, keep_episodes=True)
    episodes = result.episodes
    assert len(episodes) == 2 and all(e.error is None for e in episodes), [e.error for e in episodes]
    for episode in episodes:
        for turn in episode.turns:
            assert turn.trace is not None and len(turn.trace.logprobs) == len(turn.trace.completion_ids) > 0
        for before, after in zip(episode.turns, episode.turns[1:]):  # token-in, token-out across turns
            prefix = before.trace.prompt_ids + before.trace.completion_ids
            assert after.trace.prompt_ids[: len(prefix)] == prefix
    assert len(_records(tmp_path / "r.jsonl")) == 2


def test_the_cli_plays_rollout_and_eval_on_ray(cli, tmp_path):
    """`--ray` without an address joins the running local cluster (the module's) or starts one."""
    result = cli("rollout", "code/humaneval-v0", "-n", "3", "--out", "r.jsonl", "--ray", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(r["seed"] for r in _records(tmp_path / "r.jsonl")) == [0, 1, 2]
    result = cli("eval", "text/arithmetic-v0", "--agent", "scripted", "-n", "2", "--out-dir", "ev", "--ray", "--ray-workers", "1",
                 cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert "text/arithmetic-v0" in json.dumps(report)
    assert len(_records(tmp_path / "ev" / "text_arithmetic-v0.scripted.jsonl")) == 2


def test_an_hf_policy_loads_on_each_worker_and_plays_with_traces(smollm2, tmp_path):
    """A per-worker model (here on the worker's CPU; on a GPU cluster with --ray-gpus-per-worker)."""
    config = RolloutConfig(env_id="text/arithmetic-v0", env_kwargs={"max_attempts": 2}, agent="hf:smollm2-135m",
                           n=2, concurrency=2, out=str(tmp_path / "r.jsonl"))
    result = run_rollout_ray_sync(config, workers=1, agent_options={"max_new_tokens": 8}, keep_episodes=True)
    assert [e.error for e in result.episodes] == [None, None]
    for episode in result.episodes:
        assert episode.agent == "hf:smollm2-135m"
        assert all(t.trace is not None and len(t.trace.logprobs) == len(t.trace.completion_ids) > 0 for t in episode.turns)


def test_asking_for_gpus_the_cluster_does_not_have_is_a_clear_error_not_a_hang(tmp_path):
    config = RolloutConfig(env_id="text/copy-v0", n=2, out=str(tmp_path / "r.jsonl"))
    with pytest.raises(InvalidOptionError, match="the Ray cluster has 0 GPUs, and 2 workers with 0.5 GPU each need 1"):
        run_rollout_ray_sync(config, workers=2, gpus_per_worker=0.5)
    assert not (tmp_path / "r.jsonl").exists() or not (tmp_path / "r.jsonl").read_text()


def test_a_server_the_workers_cannot_reach_is_one_sentence_before_any_episode():
    async def probe() -> None:
        pool = await RayWorkerPool.start("scripted", workers=1)
        try:
            await pool.reach(f"http://127.0.0.1:{_free_port()}/v1/models")
        finally:
            pool.close()

    with pytest.raises(EnvArenaError, match="a Ray worker cannot reach http://127.0.0.1:.*Connection refused"):
        asyncio.run(probe())


def test_a_replacement_the_cluster_cannot_place_is_given_up_and_the_others_finish(tmp_path, monkeypatch):
    """A worker dies and another job takes its CPU: the replacement waits for a CPU that never
    comes, so after the placement timeout its episodes go to the worker that is left."""
    monkeypatch.setattr(ray_rollout, "PLACEMENT_TIMEOUT_S", 3.0)
    blocker = ray.remote(num_cpus=1)(_CpuHolder)
    held: list = []
    config = RolloutConfig(env_id="code/humaneval-v0", n=12, concurrency=2, out=str(tmp_path / "r.jsonl"))

    async def play() -> tuple[list[int], bool]:
        pool = await RayWorkerPool.start("scripted", workers=2, concurrency=2)
        victim = ray.get(pool.actors[0].ping.remote())  # this pool's own worker, not a leftover of another test

        def kill_a_worker_then_take_its_cpu(_episode) -> None:
            if not held:
                held.append(blocker.remote())  # waits for a free CPU, ahead of any replacement
                os.kill(victim, signal.SIGKILL)

        try:
            await run_rollout_ray(config, pool=pool, on_episode=kill_a_worker_then_take_its_cpu)
            # The other job holds a CPU while the pool still holds its other worker: so the
            # replacement never had one, and giving it up was not a slow start misread.
            blocker_placed = bool(held) and bool(ray.wait([held[0].ready.remote()], timeout=30)[0])
            return pool.live_slots, blocker_placed
        finally:
            pool.close()

    try:
        live, blocker_placed = asyncio.run(play())
    finally:
        for actor in held:
            ray.kill(actor)
    assert held, "no worker was killed, so the test proved nothing"
    assert blocker_placed and len(live) == 1
    records = _records(tmp_path / "r.jsonl")
    assert len(records) == 12 and sorted(r["seed"] for r in records) == list(range(12))


class _CpuHolder:
    def ready(self) -> bool:
        return True
