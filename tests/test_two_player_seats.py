"""A two-player game where the evaluated agent does not move first (`-e seat=o`).

The episode's totals and the exported datasets must be the agent's own, not those of the
player who happened to open the game.
"""

from __future__ import annotations

import json

import pytest

from envarena.export import export
from envarena.rollout import RolloutConfig, run_rollout_sync
from envarena.rollout.store import read_episodes


@pytest.fixture(scope="module")
def second_seat(tmp_path_factory):
    """The reference solver as O (second to move) against a random X."""
    out = tmp_path_factory.mktemp("seat") / "o.jsonl"
    config = RolloutConfig(env_id="games/tictactoe-v0", env_kwargs={"seat": "o"}, agent="scripted", opponent="random",
                           n=4, out=str(out))
    run_rollout_sync(config)
    return out


def test_the_episode_records_the_agents_seat_and_its_own_rewards(second_seat):
    episodes = list(read_episodes(second_seat))
    assert len(episodes) == 4 and all(e.error is None for e in episodes)
    for e in episodes:
        assert e.seat == "o" and e.turns[0].agent == "x", "X opens, the agent plays O"
        own = [t for t in e.turns if t.agent == "o"]
        assert e.total_reward == pytest.approx(sum(t.reward for t in own))
        assert e.total_reward == pytest.approx(e.rewards_by_player["o"])
        summed: dict[str, float] = {}
        for t in own:
            for name, value in t.reward_components.items():
                summed[name] = summed.get(name, 0.0) + value
        assert e.reward_components == pytest.approx(summed)
        # the reference solver never loses to a random player: its outcome component is its win or draw
        assert e.outcome >= 0.5 and e.reward_components["outcome"] == pytest.approx(e.outcome)


def test_exports_hold_the_agents_conversation(second_seat, tmp_path):
    episodes = {e.id: e for e in read_episodes(second_seat)}
    export([second_seat], tmp_path / "sft", fmt="sft")
    rows = [json.loads(line) for line in (tmp_path / "sft" / "data.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:
        episode = episodes[row["episode_id"]]
        assert "as O" in row["messages"][0]["content"]
        sent = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        assert sent == [t.action.content for t in episode.turns if t.agent == "o"]
        assert row["reward"] == pytest.approx(episode.rewards_by_player["o"])
    export([second_seat], tmp_path / "rl", fmt="rl")
    prompts = [json.loads(line)["prompt"] for line in (tmp_path / "rl" / "data.jsonl").read_text().splitlines()]
    assert prompts and all("as O" in p[0]["content"] for p in prompts)
    export([second_seat], tmp_path / "raw", fmt="raw")
    raw = [json.loads(line) for line in (tmp_path / "raw" / "data.jsonl").read_text().splitlines()]
    assert {r["seat"] for r in raw} == {"o"}


def test_an_unknown_seat_is_refused_before_anything_runs(tmp_path):
    import envarena

    out = tmp_path / "r.jsonl"
    with pytest.raises(envarena.InvalidOptionError, match="no seat 'z'"):
        run_rollout_sync(RolloutConfig(env_id="games/tictactoe-v0", env_kwargs={"seat": "z"}, agent="scripted",
                                       opponent="random", out=str(out)))
    assert not out.exists()
