"""Re-running a rollout plays failed episodes again: the error record is replaced, never duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import envarena
from envarena import Env, Message, StepResult
from envarena.registration import registry
from envarena.rollout import EpisodeStore, RolloutConfig, read_episodes, run_rollout_sync


class OutageEnv(Env):
    """Its verifier is down (raises) for odd seeds while `OutageEnv.down` is set."""

    down = True

    def __init__(self, *, difficulty: str = "medium", max_turns: int | None = None, render_mode: str | None = None):
        super().__init__(max_turns=max_turns, render_mode=render_mode)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self.task_seed = seed or 0
        return super().reset(seed=seed, options=options)

    def begin_episode(self, options: Any) -> list[Message]:
        return [Message.user("say ok")]

    def respond(self, action: Message) -> StepResult:
        if OutageEnv.down and self.task_seed % 2:
            raise ConnectionError("verifier service unreachable")
        return StepResult([Message.user("done")], progress=1.0, done=True, outcome=1.0)

    def reference_solver(self):
        class Say:
            def act(self, observation):
                return "ok"

        return Say()


@pytest.fixture
def outage_env():
    registry.add("testing/outage-v0", OutageEnv)
    OutageEnv.down = True
    yield "testing/outage-v0"
    registry.remove("testing/outage-v0")


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_failed_episodes_are_played_again_and_replaced(outage_env, tmp_path):
    out = tmp_path / "r.jsonl"
    config = RolloutConfig(env_id=outage_env, agent="scripted", n=10, out=str(out))
    first = run_rollout_sync(config, keep_episodes=True)
    assert sorted(e.seed for e in first.episodes if e.error) == [1, 3, 5, 7, 9]
    good_lines = [line for line in out.read_text().splitlines() if json.loads(line)["error"] is None]

    OutageEnv.down = False  # the service is back
    kept = run_rollout_sync(config.model_copy(update={"retry_failed": False}))
    assert kept.written == 0 and sum(1 for r in _records(out) if r["error"]) == 5, "the old behaviour, on request"

    again = run_rollout_sync(config)
    assert again.written == again.retried == 5 and again.skipped == 5
    records = _records(out)
    assert len(records) == 10 and len({r["id"] for r in records}) == 10
    assert all(r["error"] is None and r["outcome"] == 1.0 for r in records)
    assert out.read_text().splitlines()[:5] == good_lines, "finished episodes are kept as they were"
    assert run_rollout_sync(config).written == 0


def test_the_lock_moves_with_the_rewritten_file(outage_env, tmp_path):
    out = tmp_path / "r.jsonl"
    run_rollout_sync(RolloutConfig(env_id=outage_env, agent="scripted", n=4, out=str(out)))
    failed = {e.id for e in read_episodes(out) if e.error}
    assert len(failed) == 2
    out.chmod(0o640)
    with EpisodeStore(out) as store:
        assert store.forget_failed(store.failed_ids) == failed
        assert not any(e.error for e in read_episodes(out))
        with pytest.raises(envarena.EnvArenaError, match="another rollout"):
            with EpisodeStore(out):
                pass
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"], "no temporary file is left behind"
    assert out.stat().st_mode & 0o777 == 0o640, "the rewritten file keeps its permissions"


def test_a_symlinked_rollout_file_stays_a_link_when_failures_are_replayed(outage_env, tmp_path):
    real = tmp_path / "store" / "r.jsonl"
    real.parent.mkdir()
    link = tmp_path / "r.jsonl"
    link.symlink_to(real)
    config = RolloutConfig(env_id=outage_env, agent="scripted", n=4, out=str(link))
    run_rollout_sync(config)
    OutageEnv.down = False
    assert run_rollout_sync(config).retried == 2
    assert link.is_symlink() and link.resolve() == real  # the link was not replaced by a copy
    assert len(_records(real)) == 4 and not any(r["error"] for r in _records(real))
    assert sorted(p.name for p in real.parent.iterdir()) == ["r.jsonl"]


def test_cli_retries_timed_out_episodes_and_survives_a_kill_mid_retry(tmp_path):
    out = tmp_path / "r.jsonl"
    command = [sys.executable, "-m", "envarena", "rollout", "games/wordle-v0", "--agent", "scripted", "-n", "40",
               "--concurrency", "1", "--out", str(out)]
    timed_out = subprocess.run([*command, "--timeout", "1e-9"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert timed_out.returncode != 0 and "all 40 episodes failed" in timed_out.stderr
    assert all("TimeoutError" in r["error"] for r in _records(out)) and len(_records(out)) == 40

    kept = subprocess.run([*command, "--keep-failed"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "wrote 0 episodes" in kept.stdout and len(_records(out)) == 40

    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lines = out.read_bytes().splitlines()
        if sum(b'"error":null' in line for line in lines) >= 3:
            break
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    replayed_at_kill = sum(r["error"] is None for r in _records(out))
    assert 3 <= replayed_at_kill < 40, "the kill must land mid-retry"

    finished = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"({replayed_at_kill} already there)" in finished.stdout  # the killed run had already dropped the errors
    records = _records(out)
    assert len(records) == 40 and len({r["id"] for r in records}) == 40
    assert sorted(r["seed"] for r in records) == list(range(40))
    assert all(r["error"] is None and r["outcome"] == 1.0 for r in records)


def test_a_store_removes_only_its_own_stale_rewrites(tmp_path):
    """`a.jsonl` must not delete the live rewrite of `a.jsonl.x`, whose name its glob matches."""
    from envarena.rollout.store import EpisodeStore

    own = tmp_path / ".a.jsonl.k3x_9q2z.rewrite"
    other = tmp_path / ".a.jsonl.x.k3x_9q2z.rewrite"
    own.write_text("")
    other.write_text("")
    with EpisodeStore(str(tmp_path / "a.jsonl")):
        pass
    assert not own.exists() and other.exists()


def test_eval_keep_failed_leaves_failures_standing(outage_env, tmp_path):
    """`eval --keep-failed`: a re-run must not turn an agent's failures into fresh tries."""
    from click.testing import CliRunner

    from envarena.cli import main

    args = ["eval", outage_env, "--agent", "scripted", "-n", "4", "--out-dir", str(tmp_path)]
    assert CliRunner().invoke(main, args).exit_code == 1  # two of four episodes errored
    (out,) = tmp_path.glob("*.jsonl")
    OutageEnv.down = False
    CliRunner().invoke(main, [*args, "--keep-failed"])
    assert sum(1 for r in _records(out) if r["error"]) == 2, "kept as they were"
    assert CliRunner().invoke(main, args).exit_code == 0
    assert len(_records(out)) == 4 and not any(r["error"] for r in _records(out)), "played again without the flag"
