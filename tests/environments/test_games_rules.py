"""Game rules checked against hand-worked cases."""

import pytest

import envarena
from envarena.environments.games.mastermind import score_guess
from envarena.environments.games.tictactoe import best_moves, minimax, parse_cell, winner
from envarena.environments.games.wordle import feedback, word_list


@pytest.mark.parametrize(
    "secret, guess, marks",
    [
        ("crane", "crane", "GGGGG"),
        ("crane", "slate", "XXGXG"),
        ("abbey", "babes", "YYGGX"),   # two b's in both words
        ("apple", "paper", "YYGYX"),   # a second p is yellow, not more
        ("robot", "otter", "YYXXY"),   # only one t in robot: second t is grey
        ("speed", "eerie", "YYXXX"),   # speed has two e's: eerie's third e is grey
    ],
)
def test_wordle_feedback_handles_repeated_letters(secret, guess, marks):
    assert feedback(secret, guess) == marks


def test_wordle_word_list_is_clean():
    words = word_list()
    assert len(words) > 700 and len(set(words)) == len(words)
    assert all(len(w) == 5 and w.isalpha() and w.islower() for w in words)


def test_wordle_rejects_non_words_and_enforces_hard_mode():
    env = envarena.make("games/wordle-v0", difficulty="hard")
    env.reset(seed=2)
    obs, _, _, _, info = env.step("<answer>xyzzy</answer>")
    assert "not in the word list" in obs[0].content and info["reward_components"]["invalid_action"] < 0
    secret = env.secret
    first = next(w for w in word_list() if w[0] == secret[0] and w != secret)
    env.step(f"<answer>{first}</answer>")
    violating = next(w for w in word_list() if w[0] != secret[0])
    obs, *_ = env.step(f"<answer>{violating}</answer>")
    assert "hard mode" in obs[0].content


@pytest.mark.parametrize(
    "code, guess, pegs",
    [((1, 2, 3, 4), (1, 2, 3, 4), (4, 0)), ((1, 2, 3, 4), (4, 3, 2, 1), (0, 4)),
     ((1, 1, 2, 2), (1, 2, 1, 2), (2, 2)), ((1, 1, 1, 2), (1, 2, 2, 2), (2, 0)), ((5, 6, 5, 6), (1, 2, 3, 4), (0, 0))],
)
def test_mastermind_pegs(code, guess, pegs):
    assert score_guess(code, guess) == pegs


def test_mastermind_accepts_compact_guesses_and_rejects_bad_ones():
    env = envarena.make("games/mastermind-v0")
    env.reset(seed=0)
    obs, *_ = env.step("<answer>1234</answer>")
    assert "black" in obs[0].content
    obs, _, _, _, info = env.step("<answer>1 2 9 9</answer>")
    assert "numbers from 1 to 6" in obs[0].content and info["reward_components"]["invalid_action"] < 0


def test_tictactoe_rules():
    assert parse_cell("I play b2") == 4 and parse_cell("A1") == 0 and parse_cell("9") == 8 and parse_cell("no") is None
    assert winner(tuple("xxx......")) == "x" and winner(tuple("o...o...o")) == "o" and winner(tuple(".........")) is None
    assert minimax(tuple("........."), "x") == 0  # perfect play draws
    # x to move can win at once on c1
    assert best_moves(tuple("xx.oo...."), "x") == [2]


def test_tictactoe_illegal_move_is_explained_and_retried():
    env = envarena.make("games/tictactoe-v0")
    env.reset(seed=0)
    env.step("b2")
    assert env.agent_selection == "o"
    env.step("b2")
    assert env.agent_selection == "o"  # same player again
    assert "already taken" in env.observe("o")[-1].content
    assert env.infos["o"]["reward_components"]["legal_move"] < 0
