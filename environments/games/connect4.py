"""Connect Four for two players, or one player against a built-in opponent."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from envarena.env import Solver
from envarena.multiagent import MoveResult, MultiAgentEnv, Opponent
from envarena.task_env import Difficulty
from envarena.types import Message

ROWS, COLS = 6, 7
PLAYERS = ("red", "yellow")
_MARK = {"red": "X", "yellow": "O"}
_WINDOWS = [
    [(r + i * dr, c + i * dc) for i in range(4)]
    for r in range(ROWS)
    for c in range(COLS)
    for dr, dc in ((0, 1), (1, 0), (1, 1), (-1, 1))
    if 0 <= r + 3 * dr < ROWS and 0 <= c + 3 * dc < COLS
]


def drop(board: np.ndarray, col: int, mark: str) -> np.ndarray | None:
    empty = np.where(board[:, col] == ".")[0]
    if len(empty) == 0:
        return None
    out = board.copy()
    out[empty.max(), col] = mark
    return out


def winner(board: np.ndarray) -> str | None:
    for window in _WINDOWS:
        cells = {board[r, c] for r, c in window}
        if len(cells) == 1 and "." not in cells:
            return next(iter(cells))
    return None


def legal(board: np.ndarray) -> list[int]:
    return [c for c in range(COLS) if board[0, c] == "."]


def _score(board: np.ndarray, mark: str) -> int:
    other = "O" if mark == "X" else "X"
    total = 0
    for window in _WINDOWS:
        cells = [board[r, c] for r, c in window]
        mine, theirs = cells.count(mark), cells.count(other)
        if theirs == 0:
            total += (0, 1, 4, 16, 1000)[mine]
        if mine == 0:
            total -= (0, 1, 4, 16, 1000)[theirs]
    return total + 3 * sum(1 for r in range(ROWS) if board[r, COLS // 2] == mark)


def minimax(board: np.ndarray, mark: str, depth: int, alpha: float = -1e9, beta: float = 1e9) -> tuple[float, int | None]:
    """Alpha-beta search from `mark`'s side; prefers quicker wins."""
    other = "O" if mark == "X" else "X"
    moves = sorted(legal(board), key=lambda c: abs(c - COLS // 2))
    if depth == 0 or not moves:
        return _score(board, mark), None
    best, best_move = -1e9, moves[0]
    for col in moves:
        child = drop(board, col, mark)
        assert child is not None
        if winner(child) == mark:
            return 1e6 + depth, col
        value = -minimax(child, other, depth - 1, -beta, -alpha)[0]
        if value > best:
            best, best_move = value, col
        alpha = max(alpha, value)
        if alpha >= beta:
            break
    return best, best_move


def _greedy_move(board: np.ndarray, mark: str) -> int:
    """One ply: win now if possible, else block the other side's immediate win, else the best
    heuristic move. Without the block, dropping every disc in one column beats it."""
    other = "O" if mark == "X" else "X"
    for who in (mark, other):
        for col in legal(board):
            child = drop(board, col, who)
            if child is not None and winner(child) == who:
                return col
    move = minimax(board, mark, 1)[1]
    assert move is not None
    return move


def render(board: np.ndarray) -> str:
    return "\n".join(" ".join(row) for row in board) + "\n" + " ".join(str(c + 1) for c in range(COLS))


class SearchSolver:
    def __init__(self, env: ConnectFourEnv, player: str, depth: int = 2) -> None:
        self.env, self.mark, self.depth = env, _MARK[player], depth

    def act(self, observation: list[Message]) -> str:
        return str(minimax(self.env.board, self.mark, self.depth)[1] + 1)


class ConnectFourEnv(MultiAgentEnv):
    """Connect Four: drop discs into a 7-column, 6-row grid; four in a row (any direction) wins.

    Moves are column numbers 1-7. Played single-agent, the other seat is a built-in
    opponent chosen by difficulty: random (easy), one-ply greedy that takes or blocks an
    immediate win (medium) or depth-4 alpha-beta search (hard). Rewards: `legal_move`
    penalty, `progress` (potential: the position's heuristic evaluation for the player
    squashed to [0, 1]) and `outcome` (1 win, 0.5 draw, 0 loss).
    """

    possible_agents = list(PLAYERS)
    opponent_by_difficulty = {"easy": "random", "medium": "greedy", "hard": "minimax"}
    default_max_turns = 60

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.metadata = {**MultiAgentEnv.metadata, "name": "connect4_v0"}
        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.board = np.full((ROWS, COLS), ".")

    def begin_game(self, options: dict[str, Any] | None) -> tuple[dict[str, list[Message]], str]:
        self.board = np.full((ROWS, COLS), ".")
        opening = {p: [Message.system(f"You play Connect Four as {_MARK[p]}. Reply with a column number 1-7.")] for p in PLAYERS}
        opening["red"].append(Message.user(f"{render(self.board)}\nYou move first."))
        return opening, "red"

    def initial_progress(self, player: str) -> float:
        return 0.5

    def _phi(self, player: str) -> float:
        return float(0.5 + 0.5 * np.tanh(_score(self.board, _MARK[player]) / 50.0))

    def apply_move(self, player: str, action: Message) -> MoveResult:
        found = re.findall(r"\b([1-7])\b", action.content)
        if not found:
            return self.illegal(player, "Reply with a column number from 1 to 7.")
        col = int(found[-1]) - 1
        after = drop(self.board, col, _MARK[player])
        if after is None:
            return self.illegal(player, f"Column {col + 1} is full. Choose another.")
        self.board = after
        opponent = PLAYERS[1 - PLAYERS.index(player)]
        won = winner(self.board)
        if won or not legal(self.board):
            outcomes = {player: 1.0, opponent: 0.0} if won else {p: 0.5 for p in PLAYERS}
            text = f"{_MARK[player]} played {col + 1}.\n{render(self.board)}\nGame over: " + (f"{_MARK[player]} wins." if won else "draw.")
            return self.game_over(text, outcomes)
        prompt = Message.user(f"{_MARK[player]} played {col + 1}.\n{render(self.board)}\nYour move.")
        return MoveResult({opponent: [prompt]}, {p: self._phi(p) for p in PLAYERS}, next_player=opponent)

    def reference_solver(self, player: str) -> Solver:
        return SearchSolver(self, player)

    def random_action(self, player: str, rng: np.random.Generator) -> str:
        moves = legal(self.board)
        return str(moves[int(rng.integers(len(moves)))] + 1)

    def builtin_opponents(self) -> dict[str, Opponent]:
        def greedy(env: MultiAgentEnv, seat: str, rng: np.random.Generator) -> str:
            return str(_greedy_move(self.board, _MARK[seat]) + 1)

        def search(env: MultiAgentEnv, seat: str, rng: np.random.Generator) -> str:
            return str(minimax(self.board, _MARK[seat], 4)[1] + 1)

        return {**super().builtin_opponents(), "greedy": greedy, "minimax": search}
