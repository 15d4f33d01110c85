"""Chess and xiangqi rules: published perft counts, hand-built positions, python-chess agreement."""

from __future__ import annotations

import chess
import numpy as np
import pytest

import envarena
from envarena.environments.games.chess_game import parse_move
from envarena.environments.games.xiangqi_rules import BLACK, RED, START_FEN, Position, parse_square


def test_xiangqi_perft_matches_the_published_counts():
    position = Position.from_fen(START_FEN)
    assert [position.perft(depth) for depth in (1, 2, 3)] == [44, 1920, 79666]
    assert position.fen() == START_FEN, "make/unmake must restore the position exactly"


@pytest.mark.parametrize("fen", [
    START_FEN,
    "4k4/9/9/9/9/9/9/9/9/3K5 w",
    "r1bakab1r/9/1cn4c1/p1p1p1p1p/9/9/P1P1P1P1P/1C2C1N2/9/RNBAKAB1R w",
])
def test_xiangqi_fen_round_trips(fen):
    assert Position.from_fen(fen).fen() == fen


@pytest.mark.parametrize("bad, message", [
    ("rnbakabnr/9/1c5c1 w", "10 rows"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNQ w", "unknown piece letter 'Q'"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABN w", "9 files"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR x", "side to move"),
])
def test_xiangqi_fen_errors_say_what_is_wrong(bad, message):
    with pytest.raises(ValueError, match=message):
        Position.from_fen(bad)


def _moves_from(position: Position, square: str) -> set[str]:
    src = parse_square(square[0], square[1])
    return {m.iccs()[2:] for m in position.legal_moves() if m.src == src}


def test_horse_is_blocked_by_its_leg():
    # red horse on b0 with a piece on b1 (its leg toward b2/a2/c2): only the sideways jumps remain
    position = Position.from_fen("3k5/9/9/9/9/9/9/9/1P7/1N2K4 w")
    assert _moves_from(position, "b0") == {"d1"}
    assert _moves_from(Position.from_fen("3k5/9/9/9/9/9/9/9/9/1N2K4 w"), "b0") == {"a2", "c2", "d1"}


def test_elephant_needs_a_clear_eye_and_stays_home():
    assert _moves_from(Position.from_fen("3k5/9/9/9/9/9/9/9/9/2B1K4 w"), "c0") == {"a2", "e2"}
    assert _moves_from(Position.from_fen("3k5/9/9/9/9/9/9/9/3P5/2B1K4 w"), "c0") == {"a2"}  # eye d1 blocked
    # an elephant on the river bank cannot cross
    assert _moves_from(Position.from_fen("3k5/9/9/9/9/2B6/9/9/9/4K4 w"), "c4") == {"a2", "e2"}


def test_cannon_captures_only_over_exactly_one_screen():
    position = Position.from_fen("4k4/9/9/9/9/C1p1r4/9/9/9/3K5 w")
    moves = _moves_from(position, "a4")
    assert "e4" in moves and "c4" not in moves and "b4" in moves and "d4" not in moves
    assert {"a9", "a0"} <= moves  # slides freely along the open file


def test_general_and_advisor_stay_in_the_palace():
    position = Position.from_fen("3k5/9/9/9/9/9/9/9/9/3AK4 w")
    assert _moves_from(position, "e0") == {"e1", "f0"}
    assert _moves_from(position, "d0") == {"e1"}


def test_soldier_moves_sideways_only_across_the_river():
    assert _moves_from(Position.from_fen("3k5/9/9/9/9/9/4P4/9/9/4K4 w"), "e3") == {"e4"}
    assert _moves_from(Position.from_fen("3k5/9/9/9/4P4/9/9/9/9/4K4 w"), "e5") == {"e6", "d5", "f5"}


def test_flying_general_rule():
    # the horse is the only piece between the generals: every horse move would expose them
    position = Position.from_fen("4k4/9/9/9/9/9/9/9/4N4/4K4 w")
    assert any(m.src == parse_square("e", "1") for m in position.pseudo_moves())
    assert _moves_from(position, "e1") == set()
    assert "facing the other general" in position.parse_move("e1d3")
    facing = Position.from_fen("4k4/9/9/9/9/9/9/9/9/3K5 w")
    assert "e0" not in _moves_from(facing, "d0")
    assert facing.parse_move("d0e0").startswith("Illegal move d0e0: it would leave your general")


def test_checkmate_and_stalemate_both_lose():
    env = envarena.make("games/xiangqi-v0")
    # a chariot holds rank 8; the other checks on rank 9: the general has nowhere to go
    env.reset(seed=0, options={"fen": "4k4/R8/9/9/9/9/9/9/1R7/3K5 w"})
    env.step("b1b9")
    assert env.terminations[RED] and env.outcomes == {RED: 1.0, BLACK: 0.0}
    assert "checkmate" in env.observe(BLACK)[-1].content

    stalemate = envarena.make("games/xiangqi-v0")
    # after i4e4 the black general is not in check but every square it could go to is covered
    stalemate.reset(seed=0, options={"fen": "3k5/R8/9/9/9/8R/9/9/9/5K3 w"})
    stalemate.step("i4e4")
    position = stalemate.position
    assert not position.in_check(BLACK) and not position.has_legal_move()
    assert stalemate.outcomes == {RED: 1.0, BLACK: 0.0} and "stalemate" in stalemate.observe(BLACK)[-1].content


def test_xiangqi_illegal_moves_are_explained_and_penalised():
    env = envarena.make("games/xiangqi-v0", opponent="random")
    env.reset(seed=0)
    env.game.position = Position.from_fen(START_FEN)
    for text, expected in [("a0a5", "a chariot cannot move"), ("b7b0", "is not yours"), ("e5e6", "no piece"),
                           ("hello", "ICCS")]:
        obs, reward, *_ , info = env.step(text)
        assert expected in obs[-1].content, obs[-1].content
        assert info["reward_components"]["legal_move"] < 0


def test_xiangqi_openings_are_legal_and_seeded():
    fens = set()
    for seed in range(12):
        env = envarena.make("games/xiangqi-v0")
        env.reset(seed=seed)
        fens.add(env.position.fen())
    assert len(fens) > 3


def test_chess_agrees_with_python_chess_on_every_move_of_100_random_games():
    rng = np.random.default_rng(0)
    env = envarena.make("games/chess-v0", max_turns=100)  # random games wander for hundreds of plies
    checked = 0
    for game in range(100):
        env.reset(seed=game)
        reference = env.board.copy()
        while not env.terminations[env.agent_selection] and not env.truncations[env.agent_selection]:
            legal = list(reference.legal_moves)
            for move in legal:  # every legal move is accepted, written either way
                assert parse_move(reference, reference.san(move)) == move
                assert parse_move(reference, move.uci()) == move
            candidates = list(reference.pseudo_legal_moves)
            candidates += [chess.Move(int(a), int(b)) for a, b in rng.integers(64, size=(8, 2)) if a != b]
            for move in candidates:  # every candidate python-chess calls illegal is refused
                if not reference.is_legal(move):
                    assert isinstance(parse_move(reference, move.uci()), str), move
            chosen = legal[int(rng.integers(len(legal)))]
            env.step(reference.san(chosen) if game % 2 else chosen.uci())
            reference.push(chosen)
            assert env.board.fen() == reference.fen()
            checked += len(legal)
    assert checked > 100_000, checked


def test_chess_explains_illegal_moves():
    env = envarena.make("games/chess-v0", opponent="random")
    env.reset(seed=0)
    env.game.board = chess.Board()
    obs, _, _, _, info = env.step("Ke2")
    assert "Ke2 is not legal here" in obs[-1].content and info["reward_components"]["legal_move"] < 0
    obs, *_ = env.step("I resign")
    assert "could not find a move" in obs[-1].content
    obs, _, _, _, info = env.step("I will play e2e4")
    assert "legal_move" not in info["reward_components"]
