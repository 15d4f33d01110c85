"""The rollout engine: planning, failures recorded, resume after a real kill, multi-agent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

import envarena
from envarena import Env, Message, StepResult
from envarena.registration import registry
from envarena.rollout import EpisodeStore, RolloutConfig, episodes_in, read_episodes, run_rollout_sync



class FlakyEnv(Env):
    """Says 'ok' once; its step raises for seeds divisible by 3 (a verifier crash)."""

    def __init__(self, *, difficulty: str = "medium", max_turns: int | None = None, render_mode: str | None = None):
        super().__init__(max_turns=max_turns, render_mode=render_mode)

    def begin_episode(self, options: Any) -> list[Message]:
        self.seed_value = int(self.np_random.integers(1 << 30))
        return [Message.user("say ok")]

    def respond(self, action: Message) -> StepResult:
        if self.seed_value % 3 == 0:
            raise RuntimeError("verifier crashed")
        return StepResult([Message.user("done")], progress=1.0, done=True, outcome=1.0)

    def reference_solver(self):
        class Say:
            def act(self, observation):
                return "ok"

        return Say()


@pytest.fixture
def flaky_env():
    registry.add("testing/flaky-v0", FlakyEnv)
    yield "testing/flaky-v0"
    registry.remove("testing/flaky-v0")


def test_n_seeds_and_samples_plan_distinct_episodes(tmp_path):
    out = tmp_path / "r.jsonl"
    result = run_rollout_sync(RolloutConfig(env_id="text/countdown-v0", agent="random", n=4, seed=10, samples=3, out=str(out)),
                              keep_episodes=True)
    assert result.written == 12
    pairs = sorted((e.seed, e.sample) for e in result.episodes)
    assert pairs == [(s, k) for s in range(10, 14) for k in range(3)]
    assert len({e.id for e in result.episodes}) == 12
    # the same task for every sample of a seed
    by_seed = {}
    for e in result.episodes:
        by_seed.setdefault(e.seed, set()).add(e.turns[0].observation[1].content)
    assert all(len(prompts) == 1 for prompts in by_seed.values())
    # a second identical run writes nothing new
    again = run_rollout_sync(RolloutConfig(env_id="text/countdown-v0", agent="random", n=4, seed=10, samples=3, out=str(out)))
    assert again.written == 0 and again.skipped == 12
    assert len(episodes_in(str(out))) == 12


def test_failing_episode_is_recorded_and_the_run_goes_on(flaky_env, tmp_path):
    out = tmp_path / "r.jsonl"
    result = run_rollout_sync(RolloutConfig(env_id=flaky_env, agent="scripted", n=30, out=str(out)), keep_episodes=True)
    failed = [e for e in result.episodes if e.error]
    passed = [e for e in result.episodes if not e.error]
    assert failed and passed and len(failed) + len(passed) == 30
    assert all(e.error == "RuntimeError: verifier crashed" and e.outcome == 0.0 for e in failed)
    assert all(e.outcome == 1.0 for e in passed)
    assert len(list(read_episodes(out))) == 30


def test_episode_records_turns_rewards_and_timings(tmp_path):
    result = run_rollout_sync(RolloutConfig(env_id="tools/calculator-v0", agent="scripted", n=1, out=str(tmp_path / "r.jsonl")),
                              keep_episodes=True)
    (episode,) = result.episodes
    assert [t.action.tool_calls[0].name if t.action.tool_calls else "answer" for t in episode.turns] == ["calculate", "answer"]
    assert episode.turns[1].observation[0].role == "tool"
    assert episode.total_reward == pytest.approx(sum(t.reward for t in episode.turns))
    assert episode.reward_components == {"progress": 1.0, "outcome": 1.0}
    assert episode.final_observation[0].content == "Correct."
    assert episode.duration_s >= episode.env_s > 0 and episode.version == envarena.__version__


def test_torn_last_line_is_dropped_on_resume(tmp_path):
    out = tmp_path / "r.jsonl"
    run_rollout_sync(RolloutConfig(env_id="text/arithmetic-v0", agent="scripted", n=3, out=str(out)))
    with out.open("ab") as f:
        f.write(b'{"id": "half-written", "env_id"')
    result = run_rollout_sync(RolloutConfig(env_id="text/arithmetic-v0", agent="scripted", n=5, out=str(out)))
    assert result.written == 2
    lines = out.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["id"] for line in lines)


def test_two_runs_cannot_write_the_same_file(tmp_path):
    with EpisodeStore(tmp_path / "r.jsonl"):
        with pytest.raises(envarena.EnvArenaError, match="another rollout"):
            with EpisodeStore(tmp_path / "r.jsonl"):
                pass


def test_resume_after_kill_has_no_loss_and_no_duplicates(tmp_path):
    out = tmp_path / "r.jsonl"
    command = [sys.executable, "-m", "envarena", "rollout", "games/wordle-v0", "--agent", "scripted", "-n", "50",
               "--concurrency", "1", "--out", str(out)]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= 3:
            break
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_at_kill = out.read_bytes().count(b"\n")
    assert 3 <= done_at_kill < 50, "the kill must land mid-run"
    finished = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"({done_at_kill} already there)" in finished.stdout
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert len(ids) == 50 and len(set(ids)) == 50
    assert sorted(e.seed for e in read_episodes(out)) == list(range(50))
    assert all(e.outcome == 1.0 for e in read_episodes(out))


def test_multi_agent_rollout_records_each_player(tmp_path):
    config = RolloutConfig(env_id="games/tictactoe-v0", agent="scripted", opponent="scripted", n=3, out=str(tmp_path / "r.jsonl"))
    episodes = run_rollout_sync(config, keep_episodes=True).episodes
    for e in episodes:
        assert e.outcome == 0.5  # perfect play on both sides draws
        assert {t.agent for t in e.turns} == {"x", "o"}
        assert set(e.rewards_by_player) == {"x", "o"}
        assert e.turns[-1].reward_components.get("outcome") == 0.5


def test_single_agent_game_uses_the_builtin_opponent(tmp_path):
    config = RolloutConfig(env_id="games/tictactoe-v0", env_kwargs={"difficulty": "hard"}, agent="scripted", n=3,
                           out=str(tmp_path / "r.jsonl"))
    episodes = run_rollout_sync(config, keep_episodes=True).episodes
    assert all(e.outcome == 0.5 and {t.agent for t in e.turns} == {"agent"} for e in episodes)


def test_bad_configuration_fails_before_writing(tmp_path):
    out = tmp_path / "r.jsonl"
    with pytest.raises(envarena.UnknownEnvironmentError):
        run_rollout_sync(RolloutConfig(env_id="nope/x-v0", out=str(out)))
    with pytest.raises(envarena.InvalidOptionError, match="single-agent"):
        run_rollout_sync(RolloutConfig(env_id="games/wordle-v0", opponent="random", out=str(out)))
    with pytest.raises(envarena.InvalidOptionError, match="unknown agent spec"):
        run_rollout_sync(RolloutConfig(env_id="games/wordle-v0", agent="gpt-9", out=str(out)))
    assert not out.exists()
