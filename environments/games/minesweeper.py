"""Minesweeper boards that logic alone can clear, generated from the seed."""

from __future__ import annotations

import re
from collections import deque
from itertools import product
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.task_env import Difficulty
from envarena.types import Message

# (side, mines) per difficulty
_LEVELS = {"easy": (5, 3), "medium": (7, 8), "hard": (9, 14)}
_COLUMNS = "abcdefghijklmnopqrstuvwxyz"
# ASCII only: with Unicode case folding "ſ" and "ı" match [a-z] and then are no column.
_MOVE = re.compile(r"\b(reveal|flag|unflag)\s+([a-z])\s*(\d{1,2})\b", re.IGNORECASE | re.ASCII)
_ATTEMPTS = 2000

Cell = tuple[int, int]


def neighbours(cell: Cell, side: int) -> list[Cell]:
    r, c = cell
    return [(r + dr, c + dc) for dr, dc in product((-1, 0, 1), repeat=2)
            if (dr or dc) and 0 <= r + dr < side and 0 <= c + dc < side]


def cell_name(cell: Cell) -> str:
    return f"{_COLUMNS[cell[1]]}{cell[0] + 1}"


class Board:
    """Mine positions, the counts around every cell and what has been revealed."""

    def __init__(self, side: int, mines: set[Cell]) -> None:
        self.side, self.mines = side, mines
        self.counts = {(r, c): sum(n in mines for n in neighbours((r, c), side)) for r in range(side) for c in range(side)}
        self.revealed: set[Cell] = set()
        self.flags: set[Cell] = set()

    @property
    def safe_total(self) -> int:
        return self.side * self.side - len(self.mines)

    def reveal(self, cell: Cell) -> list[Cell]:
        """Open a safe cell; a zero opens its neighbours too (flood fill). Returns what opened."""
        opened, queue = [], deque([cell])
        while queue:
            here = queue.popleft()
            if here in self.revealed or here in self.mines:
                continue
            self.revealed.add(here)
            self.flags.discard(here)
            opened.append(here)
            if self.counts[here] == 0:
                queue.extend(n for n in neighbours(here, self.side) if n not in self.revealed)
        return opened

    def cleared(self) -> bool:
        return len(self.revealed) == self.safe_total

    def render(self, show_mines: bool = False) -> str:
        rows = ["   " + " ".join(_COLUMNS[: self.side])]
        for r in range(self.side):
            cells = []
            for c in range(self.side):
                here = (r, c)
                if show_mines and here in self.mines:
                    cells.append("*")
                elif here in self.revealed:
                    cells.append(str(self.counts[here]) if self.counts[here] else ".")
                else:
                    cells.append("F" if here in self.flags else "#")
            rows.append(f"{r + 1:>2} " + " ".join(cells))
        return "\n".join(rows)


def deduce(board: Board, known_mines: set[Cell]) -> tuple[set[Cell], set[Cell]]:
    """Cells that the revealed numbers prove safe, and cells they prove to be mines.

    Uses each number alone and every pair of numbers whose unknown neighbours nest (the
    subset rule), plus the total mine count. Nothing here reads the hidden mine positions.
    """
    constraints: list[tuple[frozenset[Cell], int]] = []
    for cell in board.revealed:
        around = neighbours(cell, board.side)
        unknown = frozenset(n for n in around if n not in board.revealed and n not in known_mines)
        if unknown:
            constraints.append((unknown, board.counts[cell] - sum(n in known_mines for n in around)))
    safe, mines = set(), set()
    for cells, count in constraints:
        if count == 0:
            safe |= cells
        elif count == len(cells):
            mines |= cells
    if not safe and not mines:
        for (small, m1), (big, m2) in product(constraints, repeat=2):
            if small < big:
                rest = big - small
                if m2 - m1 == 0:
                    safe |= rest
                elif m2 - m1 == len(rest):
                    mines |= rest
    if not safe and not mines:
        unknown = {(r, c) for r in range(board.side) for c in range(board.side)} - board.revealed - known_mines
        left = len(board.mines) - len(known_mines)
        if left == 0:
            safe |= unknown
        elif left == len(unknown):
            mines |= unknown
    return safe, mines


def fair_board(board: Board, start: Cell) -> bool:
    """The opening leaves at least half of the safe cells closed, and logic clears the rest."""
    trial = Board(board.side, board.mines)
    trial.reveal(start)
    if len(trial.revealed) > trial.safe_total // 2:
        return False
    known: set[Cell] = set()
    while not trial.cleared():
        safe, mines = deduce(trial, known)
        if not safe and not mines:
            return False
        known |= mines
        for cell in safe:
            trial.reveal(cell)
    return True


class LogicSolver:
    """Plays only what the numbers prove: reveals a proven-safe cell each turn."""

    def __init__(self, env: MinesweeperEnv) -> None:
        self.env = env
        self.known_mines: set[Cell] = set()

    def act(self, observation: list[Message]) -> str:
        board = self.env.board
        for _ in range(board.side * board.side):
            safe, mines = deduce(board, self.known_mines)
            self.known_mines |= mines
            if safe:
                return f"reveal {cell_name(min(safe))}"
            if not mines:
                break
        raise RuntimeError("the board needs a guess; generation should have excluded it")


class MinesweeperEnv(Env):
    """Minesweeper: open every safe cell of a square board without touching a mine.

    A number tells how many of the eight surrounding cells hide mines. The board opens with a
    safe area already revealed, and every board is generated so that logic alone (no guessing)
    clears it. Moves: `reveal c4`, `flag c4`, `unflag c4` (column letter, row number). Easy is
    5x5 with 3 mines, medium 7x7 with 8, hard 9x9 with 14. Rewards: `progress` (potential:
    share of safe cells revealed), `invalid_action` (unreadable move, revealing an open or
    flagged cell) and `outcome` (1 when the board is cleared, 0 on a mine).
    """

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.side, self.mine_count = _LEVELS[difficulty]
        super().__init__(max_turns=max_turns or self.side * self.side * 2, render_mode=render_mode)
        self.board = Board(self.side, set())

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        side = self.side
        for _ in range(_ATTEMPTS):
            start = (int(self.np_random.integers(side)), int(self.np_random.integers(side)))
            keep_clear = {start, *neighbours(start, side)}
            free = [(r, c) for r in range(side) for c in range(side) if (r, c) not in keep_clear]
            picks = self.np_random.choice(len(free), size=self.mine_count, replace=False)
            board = Board(side, {free[i] for i in picks})
            if fair_board(board, start):
                break
        else:  # pragma: no cover - measured: a few dozen attempts at most
            raise RuntimeError("could not generate a board that logic can clear")
        self.board = board
        board.reveal(start)
        return [
            Message.system(
                "You are playing Minesweeper. A number is how many of the 8 neighbouring cells hide mines; "
                "'.' is an open cell with no mines around, '#' is closed, 'F' is your flag. "
                "Reply with one move: 'reveal <cell>', 'flag <cell>' or 'unflag <cell>', e.g. 'reveal b3'."
            ),
            Message.user(f"{self.mine_count} mines are hidden. Open every safe cell.\n{board.render()}"),
        ]

    def _parse(self, text: str) -> tuple[str, Cell] | str:
        found = _MOVE.findall(text)
        if not found:
            return "Reply with 'reveal <cell>', 'flag <cell>' or 'unflag <cell>', for example 'reveal b3'."
        verb, column, row = found[-1]
        cell = (int(row) - 1, _COLUMNS.index(column.lower()))
        if not (0 <= cell[0] < self.side and 0 <= cell[1] < self.side):
            return f"{column}{row} is off the board; columns are a-{_COLUMNS[self.side - 1]}, rows 1-{self.side}."
        return verb.lower(), cell

    def respond(self, action: Message) -> StepResult:
        parsed = self._parse(action.content)
        if isinstance(parsed, str):
            return self.invalid(parsed)
        verb, cell = parsed
        board, name = self.board, cell_name(cell)
        if cell in board.revealed:
            return self.invalid(f"{name} is already open.\n{board.render()}")
        if verb == "flag":
            board.flags.add(cell)
            return StepResult([Message.user(f"Flagged {name}.\n{board.render()}")])
        if verb == "unflag":
            if cell not in board.flags:
                return self.invalid(f"{name} has no flag.")
            board.flags.discard(cell)
            return StepResult([Message.user(f"Removed the flag on {name}.\n{board.render()}")])
        if cell in board.flags:
            return self.invalid(f"{name} is flagged; unflag it first if you want to reveal it.")
        if cell in board.mines:
            return StepResult([Message.user(f"Boom: {name} was a mine.\n{board.render(show_mines=True)}")], None, {}, True, 0.0)
        board.reveal(cell)
        if board.cleared():
            return StepResult([Message.user(f"Cleared! Every safe cell is open.\n{board.render()}")], 1.0, {}, True, 1.0)
        return StepResult([Message.user(board.render())], self._phi())

    def _phi(self) -> float:
        return len(self.board.revealed) / self.board.safe_total

    def initial_progress(self) -> float:
        return self._phi()

    def reference_solver(self) -> LogicSolver:
        return LogicSolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        closed = [(r, c) for r in range(self.side) for c in range(self.side) if (r, c) not in self.board.revealed]
        return f"reveal {cell_name(closed[int(rng.integers(len(closed)))])}"
