"""Every registered environment, catalog or plugin, gets these checks for free."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test

import envarena
from envarena import InvalidOptionError, UnknownEnvironmentError
from envarena.rollout import RolloutConfig, run_rollout_sync, summarize
from tests.catalog_ids import registry_ids, without_reference

ENV_IDS = registry_ids()  # reasoning-gym's environments are sampled (tests/catalog_ids.py)
SINGLE = [i for i in ENV_IDS if not envarena.spec(i).multi_agent]
MULTI = [i for i in ENV_IDS if envarena.spec(i).multi_agent]
#: Environments with a reference solver: all but the reasoning-gym tasks listed in NO_REFERENCE
#: (each one is checked to lack it, with the reason, in tests/environments/test_reasoning_gym.py).
SOLVABLE = [i for i in SINGLE if without_reference(i) is None]
#: Games with a reference solver: all but TextArena's (tests/environments/test_textarena.py).
SOLVABLE_MULTI = [i for i in MULTI if without_reference(i) is None]
DIFFICULTIES = ("easy", "medium", "hard")


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")
    return ctx


def test_catalog_has_the_foundation_environments():
    for env_id in ["text/arithmetic-v0", "text/countdown-v0", "tools/calculator-v0", "games/wordle-v0",
                   "games/mastermind-v0", "games/tictactoe-v0"]:
        assert env_id in envarena.registry


@pytest.mark.parametrize("env_id", SINGLE)
@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_check_env_passes(env_id, difficulty):
    ctx = _quiet()
    try:
        check_env(envarena.make(env_id, difficulty=difficulty))
    finally:
        ctx.__exit__(None, None, None)


@pytest.mark.parametrize("env_id", MULTI)
def test_pettingzoo_api_test_passes(env_id):
    ctx = _quiet()
    try:
        api_test(envarena.make(env_id), num_cycles=300)
        check_env(envarena.make(env_id, opponent="random"))  # the single-agent view is a gymnasium env too
    finally:
        ctx.__exit__(None, None, None)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spec_is_complete(env_id):
    spec = envarena.spec(env_id)
    assert spec.description and spec.max_turns >= 1
    assert spec.category == env_id.split("/")[0]
    assert "difficulty" in spec.kwargs, "every catalog environment has difficulty levels"
    assert spec.reward_range[0] < spec.reward_range[1]


def _fingerprint(env_id: str, seed: int) -> list[str]:
    """The opening plus the reply to a fixed probe move: hidden tasks (a Wordle secret)
    show in the reply even when the prompt is the same for every seed."""
    env = envarena.make(env_id)
    obs, _ = env.reset(seed=seed)
    probe = env.random_action(np.random.default_rng(0))
    reply, *_ = env.step(probe)
    return [m.content for m in [*obs, *reply]]


@pytest.mark.parametrize("env_id", SINGLE)
def test_seed_determinism(env_id):
    assert _fingerprint(env_id, 5) == _fingerprint(env_id, 5)
    assert len({tuple(_fingerprint(env_id, s)) for s in range(10)}) > 1


@pytest.mark.parametrize("env_id", SOLVABLE)
@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_reference_solver_reaches_outcome_one(env_id, difficulty, tmp_path):
    config = RolloutConfig(env_id=env_id, env_kwargs={"difficulty": difficulty}, agent="scripted", n=15,
                           seed=1000, out=str(tmp_path / "r.jsonl"))
    result = run_rollout_sync(config, keep_episodes=True)
    assert [e.error for e in result.episodes if e.error] == []
    assert all(e.outcome == 1.0 and e.success for e in result.episodes), [
        (e.seed, e.outcome) for e in result.episodes if e.outcome != 1.0]


@pytest.mark.parametrize("env_id", SINGLE)
def test_random_agent_stays_well_below_the_solver(env_id, tmp_path):
    config = RolloutConfig(env_id=env_id, agent="random", n=30, out=str(tmp_path / "r.jsonl"))
    summary = summarize(run_rollout_sync(config, keep_episodes=True).episodes)[0]
    assert summary.errors == 0
    assert summary.mean_outcome < 0.3


@pytest.mark.parametrize("env_id", SOLVABLE_MULTI)
def test_two_player_solver_beats_random_at_least_95_percent(env_id, tmp_path):
    config = RolloutConfig(env_id=env_id, agent="scripted", opponent="random", n=100, out=str(tmp_path / "r.jsonl"))
    episodes = run_rollout_sync(config, keep_episodes=True).episodes
    assert all(e.error is None for e in episodes)
    wins = sum(e.outcome == 1.0 for e in episodes)
    assert wins >= 95, f"{wins}/100 wins"
    assert all(len(e.rewards_by_player) == 2 for e in episodes)


@pytest.mark.parametrize("env_id", SOLVABLE_MULTI)
def test_random_two_player_wins_far_less_against_the_solver(env_id, tmp_path):
    config = RolloutConfig(env_id=env_id, agent="random", opponent="scripted", n=50, out=str(tmp_path / "r.jsonl"))
    episodes = run_rollout_sync(config, keep_episodes=True).episodes
    assert sum(e.outcome == 1.0 for e in episodes) <= 5


def test_unknown_id_and_bad_options_are_one_clear_sentence():
    with pytest.raises(UnknownEnvironmentError, match="unknown environment 'nope/x-v0'"):
        envarena.make("nope/x-v0")
    with pytest.raises(UnknownEnvironmentError, match="did you mean 'games/wordle-v0'"):
        envarena.make("games/wordel-v0")
    with pytest.raises(InvalidOptionError, match="not a valid environment ID"):
        envarena.make("Wordle")
    with pytest.raises(InvalidOptionError, match="has no option 'colour'"):
        envarena.make("games/wordle-v0", colour="red")
    with pytest.raises(InvalidOptionError, match="difficulty"):
        envarena.make("games/wordle-v0", difficulty="impossible")
    with pytest.raises(InvalidOptionError, match="unknown opponent"):
        envarena.make("games/tictactoe-v0", opponent="grandmaster")


def test_registering_a_taken_id_with_another_class_fails():
    from envarena.registration import registry

    class Other(envarena.Env):
        def begin_episode(self, options):
            return []

        def respond(self, action):
            raise NotImplementedError

    with pytest.raises(ValueError, match="already registered"):
        registry.add("games/wordle-v0", Other)
    with pytest.raises(TypeError):
        registry.add("custom/thing-v0", dict)


def test_random_action_is_reproducible_per_seed():
    env = envarena.make("games/wordle-v0")
    env.reset(seed=0)
    a = env.random_action(np.random.default_rng(3))
    b = env.random_action(np.random.default_rng(3))
    assert a == b
