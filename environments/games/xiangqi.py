"""Xiangqi (Chinese chess) for two players, or one player against a built-in opponent."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from envarena.env import Solver
from envarena.environments.games.xiangqi_rules import BLACK, RED, START_FEN, Move, Position, opponent, on_own_half
from envarena.multiagent import MoveResult, MultiAgentEnv, Opponent
from envarena.task_env import Difficulty
from envarena.types import Message

PLAYERS = (RED, BLACK)
_VALUES = {"r": 9.0, "c": 4.5, "n": 4.0, "b": 2.0, "a": 2.0, "p": 1.0, "k": 0.0}
# Common openings in ICCS; the seed picks one.
OPENINGS = (
    "",
    "h2e2 h9g7",            # central cannon against a screen horse
    "h2e2 h7e7",            # same-direction cannons
    "b2e2 b9c7 b0c2 h9g7",  # central cannon, both horses out
    "c3c4 c6c5",            # soldier openings
    "g3g4 h9g7",
    "c0e2 h9g7",            # elephant opening
    "b0c2 b9c7",            # horse opening
    "h2e2 b9c7 h0g2 h9g7",
    "h2f2 h9g7",            # cannon to the side of the palace
)
REPETITION_DRAW = 3
QUIET_PLY_DRAW = 120


def piece_value(piece: str, row: int) -> float:
    if piece == ".":
        return 0.0
    value = _VALUES[piece.lower()]
    if piece.lower() == "p" and not on_own_half(RED if piece.isupper() else BLACK, row):
        value = 2.0  # a soldier across the river also moves sideways
    return value


def material(position: Position, side: str) -> float:
    return sum(piece_value(p, r) for r, row in enumerate(position.cells) for p in row
               if p != "." and (p.isupper() == (side == RED)))


def general_freedom(position: Position, side: str) -> int:
    """Palace squares next to `side`'s general it could step to without being attacked."""
    where = position.general(side)
    if where is None:
        return 0
    r, c = where
    free = 0
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        square = (r + dr, c + dc)
        if not (0 <= square[0] < 10 and 3 <= square[1] <= 5) or not (square[0] >= 7 if side == RED else square[0] <= 2):
            continue
        occupant = position.cells[square[0]][square[1]]
        if (occupant == "." or (occupant.isupper() != (side == RED))) and not position.is_attacked(square, opponent(side)):
            free += 1
    return free


def evaluate_move(position: Position, move: Move, seen: Counter[str]) -> float:
    """One-ply score: a checking move that leaves the opponent without a legal move wins; then
    material won, the moved piece's safety, pressure on the enemy general (with few enemy pieces
    left: fewer enemy moves, since stalemate also loses in xiangqi) and avoiding repeated
    positions. Looking for stalemate after every quiet move would cost a full move generation
    per candidate, so only checks are tested for mate."""
    me = position.turn
    gained = piece_value(position.cells[move.dst[0]][move.dst[1]], move.dst[0])
    mover = position.cells[move.src[0]][move.src[1]]
    captured = position.make(move)
    try:
        enemy = opponent(me)
        if position.in_check(enemy) and not position.has_legal_move():
            return 1e6
        score = 10.0 * gained
        if position.is_attacked(move.dst, enemy):
            lost = piece_value(mover, move.dst[0])
            score -= 10.0 * (lost if not position.is_attacked(move.dst, me) else max(0.0, lost - 2.0))
        if sum(p != "." for row in position.cells for p in row if p.isupper() == (enemy == RED)) <= 6:
            score -= 1.0 * len(position.legal_moves())  # few pieces left: squeeze every move away
        else:
            score -= 2.0 * general_freedom(position, enemy)
        if position.in_check(enemy):
            score += 3.0
        if mover.lower() in "rnpc":  # march toward the enemy general
            general = position.general(enemy)
            if general is not None:
                before = abs(general[0] - move.src[0]) + abs(general[1] - move.src[1])
                after = abs(general[0] - move.dst[0]) + abs(general[1] - move.dst[1])
                score += 0.3 * (before - after)
        if seen[position.fen()]:
            score -= 50.0
        return score
    finally:
        position.unmake(move, captured)


class GreedySolver:
    """Mate in one when available, else the best one-ply score: enough to beat a random player
    nearly always; no deeper search."""

    def __init__(self, env: XiangqiEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        position = self.env.position
        moves = position.legal_moves()
        return max(moves, key=lambda m: (evaluate_move(position, m, self.env.seen), m.iccs())).iccs()


class XiangqiEnv(MultiAgentEnv):
    """Xiangqi (Chinese chess) with a complete rules engine: horse legs, elephant eyes, cannon
    screens, palace and river limits, the flying-general rule; checkmate and stalemate both lose.

    Moves are ICCS coordinates (files a-i, ranks 0-9 from red's side), e.g. h2e2. Red moves
    first. The seed picks one of ten common openings; a position repeated three times or 120
    plies without a capture is a draw (a simplification of the tournament rules on perpetual
    check and chasing). Played single-agent, the other seat is a built-in opponent chosen by
    difficulty: random (easy), capture-greedy (medium) or the reference player (hard); easy
    prompts list the legal moves. Rewards: `legal_move` (penalty for an illegal move),
    `progress` (potential: material balance squashed into [0, 1]) and `outcome` (1 win, 0.5
    draw or unfinished, 0 loss).
    """

    possible_agents = list(PLAYERS)
    opponent_by_difficulty = {"easy": "random", "medium": "greedy", "hard": "scripted"}
    default_max_turns = 300

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.metadata = {**MultiAgentEnv.metadata, "name": "xiangqi_v0"}
        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.position = Position.from_fen(START_FEN)
        self.seen: Counter[str] = Counter()
        self.quiet_plies = 0

    def _position_text(self, player: str) -> str:
        lines = [self.position.render(), f"FEN: {self.position.fen()}"]
        if self.position.in_check(player):
            lines.append("Your general is in check.")
        if self.difficulty == "easy":
            lines.append("Legal moves: " + " ".join(m.iccs() for m in self.position.legal_moves()))
        lines.append(f"Your move ({player}).")
        return "\n".join(lines)

    def begin_game(self, options: dict[str, Any] | None) -> tuple[dict[str, list[Message]], str]:
        fen = (options or {}).get("fen", START_FEN)
        self.position = Position.from_fen(fen)
        opening = OPENINGS[int(self.np_random.integers(len(OPENINGS)))] if fen == START_FEN else ""
        for text in opening.split():
            move = self.position.parse_move(text)
            assert isinstance(move, Move), f"opening move {text}: {move}"
            self.position.make(move)
        self.seen = Counter([self.position.fen()])
        self.quiet_plies = 0
        first = self.position.turn
        rules = ("You are playing xiangqi (Chinese chess) as {p}. Uppercase letters are red, lowercase black: "
                 "K general, A advisor, B elephant, N horse, R chariot, C cannon, P soldier. "
                 "Reply with one legal move in ICCS coordinates, e.g. h2e2 (files a-i, ranks 0-9 from red's side).")
        messages = {p: [Message.system(rules.format(p=p))] for p in PLAYERS}
        played = f"The game opens with: {opening}.\n" if opening else ""
        messages[first].append(Message.user(played + self._position_text(first)))
        if played:
            messages[opponent(first)].append(Message.user(played.strip()))
        return messages, first

    def initial_progress(self, player: str) -> float:
        return self._phi(player)

    def _phi(self, player: str) -> float:
        lead = material(self.position, player) - material(self.position, opponent(player))
        return float(0.5 + 0.5 * np.tanh(lead / 15.0))

    def apply_move(self, player: str, action: Message) -> MoveResult:
        move = self.position.parse_move(action.content)
        if isinstance(move, str):
            return self.illegal(player, move + " Reply with a legal move such as h2e2.")
        captured = self.position.make(move)
        self.quiet_plies = 0 if captured != "." else self.quiet_plies + 1
        fen = self.position.fen()
        self.seen[fen] += 1
        other = opponent(player)
        said = f"{player.capitalize()} played {move.iccs()}."
        verdict = None
        if not self.position.has_legal_move():
            kind = "checkmate" if self.position.in_check(other) else "stalemate"
            outcomes, verdict = {player: 1.0, other: 0.0}, f"{player} wins by {kind}"
        elif self.seen[fen] >= REPETITION_DRAW or self.quiet_plies >= QUIET_PLY_DRAW:
            reason = "threefold repetition" if self.seen[fen] >= REPETITION_DRAW else f"{QUIET_PLY_DRAW} plies without a capture"
            outcomes, verdict = {p: 0.5 for p in PLAYERS}, f"draw by {reason}"
        if verdict is not None:
            return self.game_over(f"{said}\n{self.position.render()}\nGame over: {verdict}.", outcomes)
        prompt = Message.user(f"{said}\n{self._position_text(other)}")
        return MoveResult({other: [prompt]}, {p: self._phi(p) for p in PLAYERS}, next_player=other)

    def truncation_outcomes(self) -> dict[str, float]:
        return {p: 0.5 for p in PLAYERS}

    def reference_solver(self, player: str) -> Solver:
        return GreedySolver(self)

    def random_action(self, player: str, rng: np.random.Generator) -> str:
        moves = sorted(m.iccs() for m in self.position.legal_moves())
        return moves[int(rng.integers(len(moves)))]

    def builtin_opponents(self) -> dict[str, Opponent]:
        def greedy(env: MultiAgentEnv, seat: str, rng: np.random.Generator) -> str:
            position = self.position
            moves = position.legal_moves()
            gains = [piece_value(position.cells[m.dst[0]][m.dst[1]], m.dst[0]) for m in moves]
            choices = [m for m, g in zip(moves, gains) if g == max(gains)]
            return choices[int(rng.integers(len(choices)))].iccs()

        return {**super().builtin_opponents(), "greedy": greedy}
