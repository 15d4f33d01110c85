"""TextArena's games as `arena/<name>-v0`: every one built, checked and played a little.

The registry-wide tests (tests/test_registry.py and friends) run on a fixed handful of these
(tests/catalog_ids.py); here every registered game passes pettingzoo's `api_test` (games of
several players) or gymnasium's `check_env` (single-player) and plays random moves to the end or
a few dozen moves, and a few known games pin the seeding, the reward mapping and illegal moves.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import warnings

import numpy as np
import pytest

if os.environ.get("CI") != "true":  # CI installs the extra (the `test` extra includes it)
    pytest.importorskip("textarena", reason="the arena extra (textarena) is not installed")

from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test
from textarena.envs.registration import ENV_REGISTRY

import envarena
from envarena.environments.arena.catalog import EASY, FIXED_TASK, GAMES, HARD, LEFT_OUT, game_name, textarena_games
from envarena.environments.arena.session import bracketed_moves, outcome_from_reward
from envarena.environments.arena.textarena_games import env_id
from envarena.registration import ID_PATTERN

ARENA_IDS = sorted(i for i in envarena.registry if i.startswith("arena/"))
MULTI = [i for i in ARENA_IDS if envarena.spec(i).multi_agent]
SINGLE = [i for i in ARENA_IDS if not envarena.spec(i).multi_agent]


def test_every_textarena_game_is_registered_or_left_out_with_a_reason():
    listed = textarena_games(list(ENV_REGISTRY))
    assert listed == set(GAMES) | set(LEFT_OUT), (listed ^ (set(GAMES) | set(LEFT_OUT)))
    assert not set(GAMES) & set(LEFT_OUT)
    assert all(reason.strip() for reason in LEFT_OUT.values())
    assert ARENA_IDS == sorted(env_id(g) for g in GAMES) and all(ID_PATTERN.match(i) for i in ARENA_IDS)
    assert (len(SINGLE), len(MULTI)) == (22, 50)
    assert sum(envarena.spec(i).players == ["player_0", "player_1"] for i in MULTI) == 44
    assert game_name("TowerOfHanoi") == "tower-of-hanoi" and env_id("2048") == "arena/2048-v0"


def test_the_variants_difficulty_picks_exist():
    for table in (EASY, HARD):
        for game, variant in table.items():
            assert game in GAMES and variant in ENV_REGISTRY and variant.startswith(f"{game}-v0")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="on Python 3.12+ these modules import, so nothing is left out for its syntax there")
def test_a_game_left_out_for_its_syntax_does_not_import_here():
    with pytest.raises(SyntaxError):
        __import__("textarena.envs.Chess.env")


def _play_randomly(env_id_: str, moves: int = 40) -> None:
    rng = np.random.default_rng(0)
    if envarena.spec(env_id_).multi_agent:
        env = envarena.make(env_id_)
        env.reset(seed=1)
        for _ in range(moves):
            seat = env.agent_selection
            if env.terminations[seat] or env.truncations[seat]:
                assert all(0.0 <= env.infos[a]["outcome"] <= 1.0 for a in env.agents)
                break
            env.step(env.random_action(seat, rng))
        return
    env = envarena.make(env_id_)
    env.reset(seed=1)
    for _ in range(moves):
        _, reward, terminated, truncated, info = env.step(env.random_action(rng))
        assert np.isfinite(reward)
        if terminated or truncated:
            assert 0.0 <= info["outcome"] <= 1.0
            break


@pytest.mark.parametrize("env_id_", ARENA_IDS)
def test_each_game_passes_the_api_checks_and_plays(env_id_):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if env_id_ in MULTI:
            api_test(envarena.make(env_id_), num_cycles=20)
        else:
            check_env(envarena.make(env_id_))
    _play_randomly(env_id_)


def test_same_seed_same_game_and_other_seeds_other_games():
    def fingerprint(seed: int) -> list[str]:
        env = envarena.make("arena/battleship-v0", opponent="random")  # ships placed at random
        observation, _ = env.reset(seed=seed)
        return [m.content for m in observation]

    assert fingerprint(4) == fingerprint(4)
    assert len({tuple(fingerprint(s)) for s in range(4)}) > 1


def _moves_with_noise(env_id_: str, seed: int, noise: bool) -> list[str]:
    env = envarena.make(env_id_)
    observation, _ = env.reset(seed=seed)
    rng = np.random.default_rng(5)
    seen = [m.content for m in observation]
    for _ in range(12):
        if noise:  # another user of the global `random` between steps
            random.seed(12345)
            random.random()
        observation, _, terminated, truncated, _ = env.step(env.random_action(rng))
        seen += [m.content for m in observation]
        if terminated or truncated:
            break
    return seen


def test_seeding_is_private_to_each_environment():
    """TextArena draws from `random`; envarena gives each game its own, so other users of the
    global generator, or other games in other threads, do not change a game."""
    alone = _moves_with_noise("arena/minesweeper-v0", 3, noise=False)
    assert _moves_with_noise("arena/minesweeper-v0", 3, noise=True) == alone
    results: dict[int, list[str]] = {}
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, _moves_with_noise("arena/minesweeper-v0", 3,
                                                                                             noise=True)))
               for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == alone for r in results.values())


def test_fixed_task_games_are_the_same_at_every_seed():
    for game in sorted(FIXED_TASK):
        openings = {tuple(m.content for m in envarena.make(env_id(game)).reset(seed=s)[0]) for s in (0, 1, 2)}
        assert len(openings) == 1, game


def test_rewards_map_onto_outcomes():
    assert [outcome_from_reward(r, 2) for r in (1, 0, -1)] == [1.0, 0.5, 0.0]
    assert [outcome_from_reward(r, 1) for r in (1, 0.25, -1)] == [1.0, 0.25, 0.0]
    env = envarena.make("arena/tic-tac-toe-v0")
    env.reset(seed=0)
    for cell in (0, 3, 1, 4, 2):  # player_0 takes the top row
        env.step(f"[{cell}]")
    assert env.terminations == {"player_0": True, "player_1": True}
    assert (env.infos["player_0"]["outcome"], env.infos["player_1"]["outcome"]) == (1.0, 0.0)
    assert env.infos["player_0"]["success"] and env.rewards["player_0"] == 2.0  # progress 0 -> 1, outcome 1
    env.reset(seed=0)
    for cell in (4, 0, 8, 2, 1, 7, 6, 3, 5):
        env.step(f"[{cell}]")
    assert {a: env.infos[a]["outcome"] for a in env.agents} == {"player_0": 0.5, "player_1": 0.5}


def test_a_solved_single_player_game_scores_one():
    env = envarena.make("arena/tower-of-hanoi-v0")
    env.reset(seed=0)
    total = 0.0
    for move in ("A C", "A B", "C B", "A C", "B A", "B C", "A C"):
        _, reward, terminated, _, info = env.step(f"[{move}]")
        total += reward
    assert terminated and info["outcome"] == 1.0 and info["success"]
    assert total == pytest.approx(2.0)  # the potential telescopes to 1, plus the outcome


def test_illegal_moves_take_envarenas_path():
    env = envarena.make("arena/tic-tac-toe-v0")
    env.reset(seed=0)
    env.step("[4]")
    env.step("[4]")  # player_1 plays an occupied cell
    assert env.agent_selection == "player_1"
    assert env.infos["player_1"]["reward_components"] == {"legal_move": pytest.approx(-0.1)}
    assert "Invalid move" in env.observe("player_1")[-1].content and "occupied" in env.observe("player_1")[-1].content
    for _ in range(env.illegal_move_limit - 1):
        env.step("I would rather not move.")
    assert env.terminations["player_1"] and env.infos["player_1"]["outcome"] == 0.0
    assert env.infos["player_0"]["outcome"] == 1.0

    solo = envarena.make("arena/sudoku-v0")
    solo.reset(seed=0)
    _, reward, terminated, _, info = solo.step("no move at all")
    assert not terminated and reward < 0 and "invalid_action" in info["reward_components"]


def test_a_game_against_a_built_in_opponent_and_random_moves_from_the_options_shown():
    assert bracketed_moves("[GAME] Available Moves: '[0]', '[4]' [Player 1] hi") == ["[0]", "[4]"]
    env = envarena.make("arena/tic-tac-toe-v0", opponent="random", seat="player_1")
    observation, _ = env.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        observation, _, terminated, truncated, info = env.step(env.random_action(rng))
        if terminated or truncated:
            break
    assert terminated and info["outcome"] in (0.0, 0.5, 1.0)
    with pytest.raises(NotImplementedError, match="no reference solver"):
        env.reference_solver()


def test_difficulty_picks_a_variant():
    easy = envarena.make("arena/sudoku-v0", difficulty="easy").reset(seed=0)[0]
    hard = envarena.make("arena/sudoku-v0", difficulty="hard").reset(seed=0)[0]
    assert [m.content for m in easy] != [m.content for m in hard]
    assert envarena.spec("arena/sudoku-v0").kwargs["difficulty"] == "medium"
