"""Tic-tac-toe for two players, or one player against a built-in opponent."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np

from envarena.env import Solver
from envarena.multiagent import MoveResult, MultiAgentEnv, Opponent
from envarena.task_env import Difficulty
from envarena.types import Message

PLAYERS = ("x", "o")
_LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
_COLUMNS = "abc"

Board = tuple[str, ...]  # nine cells: "x", "o" or "."


def winner(board: Board) -> str | None:
    for a, b, c in _LINES:
        if board[a] != "." and board[a] == board[b] == board[c]:
            return board[a]
    return None


def legal_moves(board: Board) -> list[int]:
    return [i for i, cell in enumerate(board) if cell == "."]


def other(player: str) -> str:
    return "o" if player == "x" else "x"


@cache
def minimax(board: Board, to_move: str) -> int:
    """Game value for `to_move` with perfect play: >0 win (sooner is larger), 0 draw, <0 loss."""
    won = winner(board)
    if won is not None:
        return -(10 - board.count("."))  # the previous mover won
    moves = legal_moves(board)
    if not moves:
        return 0
    return max(-minimax(_place(board, m, to_move), other(to_move)) for m in moves)


def _place(board: Board, cell: int, player: str) -> Board:
    return board[:cell] + (player,) + board[cell + 1 :]


def best_moves(board: Board, player: str) -> list[int]:
    scored = [(-minimax(_place(board, m, player), other(player)), m) for m in legal_moves(board)]
    top = max(s for s, _ in scored)
    return [m for s, m in scored if s == top]


def cell_name(cell: int) -> str:
    return f"{_COLUMNS[cell % 3]}{cell // 3 + 1}"


def parse_cell(text: str) -> int | None:
    """Read a move like 'b2', 'B2' or '5' (cells numbered 1-9 row by row); None if absent."""
    found = re.findall(r"\b([abcABC])\s*([123])\b|\b([1-9])\b", text)
    if not found:
        return None
    column, row, number = found[-1]
    if number:
        return int(number) - 1
    return (int(row) - 1) * 3 + _COLUMNS.index(column.lower())


def render_board(board: Board) -> str:
    rows = ["   a b c"]
    for r in range(3):
        rows.append(f"{r + 1}  " + " ".join(board[r * 3 : r * 3 + 3]).upper())
    return "\n".join(rows)


class MinimaxSolver:
    """Perfect play; among equally good moves it takes the first, winning as soon as it can."""

    def __init__(self, env: TicTacToeEnv, player: str) -> None:
        self.env, self.player = env, player

    def act(self, observation: list[Message]) -> str:
        return cell_name(best_moves(self.env.board, self.player)[0])


class TicTacToeEnv(MultiAgentEnv):
    """Tic-tac-toe: two players, X and O, take turns; three in a row wins.

    Moves are cells like b2 (columns a-c, rows 1-3) or numbers 1-9. Played single-agent the
    other seat is a built-in opponent chosen by difficulty: random (easy), minimax that
    errs half the time (medium) or perfect minimax (hard). Rewards: `legal_move` penalty,
    `progress` (potential: the position's game-theoretic value for the player, in [0, 1])
    and `outcome` (1 win, 0.5 draw, 0 loss).
    """

    possible_agents = list(PLAYERS)
    opponent_by_difficulty = {"easy": "random", "medium": "noisy", "hard": "minimax"}
    default_max_turns = 30

    def __init__(
        self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None
    ) -> None:
        self.difficulty = difficulty
        self.metadata = {**MultiAgentEnv.metadata, "name": "tictactoe_v0"}
        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.board: Board = tuple("." * 9)

    def begin_game(self, options: dict[str, Any] | None) -> tuple[dict[str, list[Message]], str]:
        self.board = tuple("." * 9)
        opening = {
            p: [
                Message.system(
                    f"You are playing tic-tac-toe as {p.upper()}. Reply with one cell such as b2 "
                    "(columns a-c, rows 1-3)."
                )
            ]
            for p in PLAYERS
        }
        opening["x"].append(Message.user(f"{render_board(self.board)}\nYou move first."))
        return opening, "x"

    def initial_progress(self, player: str) -> float:
        return 0.5  # perfect play from the empty board is a draw

    def _value(self, player: str, to_move: str) -> float:
        value = minimax(self.board, to_move)
        if to_move != player:
            value = -value
        return 0.5 if value == 0 else (1.0 if value > 0 else 0.0)

    def apply_move(self, player: str, action: Message) -> MoveResult:
        cell = parse_cell(action.content)
        if cell is None:
            return self.illegal(player, "I could not read a cell. Reply with a cell such as b2.")
        if self.board[cell] != ".":
            return self.illegal(player, f"{cell_name(cell)} is already taken. Choose an empty cell.")
        self.board = _place(self.board, cell, player)
        opponent = other(player)
        board_text = render_board(self.board)
        won = winner(self.board)
        if won or not legal_moves(self.board):
            outcomes = {won: 1.0, other(won): 0.0} if won else {"x": 0.5, "o": 0.5}
            verdict = f"{won.upper()} wins." if won else "Draw."
            return self.game_over(f"{player.upper()} played {cell_name(cell)}.\n{board_text}\nGame over: {verdict}", outcomes)
        prompt = Message.user(f"{player.upper()} played {cell_name(cell)}.\n{board_text}\nYour move.")
        return MoveResult(
            messages={opponent: [prompt]},
            progress={p: self._value(p, opponent) for p in PLAYERS},
            next_player=opponent,
        )

    def reference_solver(self, player: str) -> Solver:
        return MinimaxSolver(self, player)

    def random_action(self, player: str, rng: np.random.Generator) -> str:
        moves = legal_moves(self.board)
        return cell_name(moves[int(rng.integers(len(moves)))])

    def builtin_opponents(self) -> dict[str, Opponent]:
        def perfect(env: MultiAgentEnv, seat: str, rng: np.random.Generator) -> str:
            options = best_moves(self.board, seat)
            return cell_name(options[int(rng.integers(len(options)))])

        def noisy(env: MultiAgentEnv, seat: str, rng: np.random.Generator) -> str:
            return perfect(env, seat, rng) if rng.random() < 0.5 else self.random_action(seat, rng)

        return {**super().builtin_opponents(), "minimax": perfect, "noisy": noisy}
