"""Sudoku with a unique solution, generated from the seed."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.task_env import Difficulty
from envarena.types import Message

# (box size, cells removed) per difficulty: 4x4 or 9x9 grids
_LEVELS = {"easy": (2, 8), "medium": (3, 40), "hard": (3, 52)}
# Separators are a comma (or "=" before the digit) or whitespace, never optional whitespace on
# both sides of optional whitespace, which backtracks quadratically on long runs of spaces.
_MOVE = re.compile(r"\b(\d)(?:\s*,\s*|\s+)(\d)(?:\s*[,=]\s*|\s+)(\d)\b", re.ASCII)


def candidates(grid: np.ndarray, r: int, c: int, box: int) -> list[int]:
    n = box * box
    used = set(grid[r, :]) | set(grid[:, c]) | set(grid[r - r % box : r - r % box + box, c - c % box : c - c % box + box].ravel())
    return [v for v in range(1, n + 1) if v not in used]


def count_solutions(grid: np.ndarray, box: int, limit: int = 2) -> int:
    """Backtracking count, stopping at `limit` (2 is enough to test uniqueness)."""
    empties = list(zip(*np.where(grid == 0)))
    if not empties:
        return 1
    r, c = min(empties, key=lambda rc: len(candidates(grid, rc[0], rc[1], box)))
    total = 0
    for value in candidates(grid, r, c, box):
        grid[r, c] = value
        total += count_solutions(grid, box, limit - total)
        grid[r, c] = 0
        if total >= limit:
            break
    return total


def full_grid(rng: np.random.Generator, box: int) -> np.ndarray:
    n = box * box
    grid = np.zeros((n, n), dtype=int)

    def fill(i: int) -> bool:
        if i == n * n:
            return True
        r, c = divmod(i, n)
        for value in rng.permutation(candidates(grid, r, c, box)):
            grid[r, c] = value
            if fill(i + 1):
                return True
        grid[r, c] = 0
        return False

    fill(0)
    return grid


class FillSolver:
    """Writes the solution, a row's worth of cells per turn."""

    def __init__(self, env: SudokuEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        env = self.env
        empty = list(zip(*np.where(env.grid == 0)))[: env.n]
        return "; ".join(f"{r + 1} {c + 1} {env.solution[r, c]}" for r, c in empty)


class SudokuEnv(Env):
    """Sudoku: fill the grid so every row, column and box holds each digit once.

    Every puzzle has exactly one solution (checked by a solution counter). Easy is 4x4, medium
    9x9 with 40 blanks, hard 9x9 with 52. A turn places one or more digits: `row col digit`,
    separated by `;` (rows and columns count from 1). A digit that breaks a rule is refused;
    one that fits the rules but not the solution is accepted (you may undo with digit 0).
    Rewards: `progress` (potential: share of blanks holding the solution's digit),
    `invalid_action`, and `outcome` (1 when solved).
    """

    # Making a unique 9x9 puzzle runs the solution counter in Python: 0.3-0.4 s of GIL time
    # per hard reset, measured (medium 0.09 s); rollouts step it in worker processes.
    cpu_heavy = True

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.box, self.blanks = _LEVELS[difficulty]
        self.n = self.box * self.box
        super().__init__(max_turns=max_turns or 2 * self.n + 6, render_mode=render_mode)
        self.grid = np.zeros((self.n, self.n), dtype=int)
        self.solution = self.grid.copy()
        self.given = self.grid.astype(bool)

    def _render(self) -> str:
        return "\n".join(" ".join(str(v) if v else "." for v in row) for row in self.grid)

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        rng = self.np_random
        self.solution = full_grid(rng, self.box)
        grid = self.solution.copy()
        removed = 0
        for index in rng.permutation(self.n * self.n):
            if removed == self.blanks:
                break
            r, c = divmod(int(index), self.n)
            keep, grid[r, c] = grid[r, c], 0
            if count_solutions(grid.copy(), self.box) == 1:
                removed += 1
            else:
                grid[r, c] = keep
        self.grid, self.given = grid, grid != 0
        return [
            Message.system(f"You are solving a {self.n}x{self.n} Sudoku. Reply with moves like: 1 3 4; 2 1 2"),
            Message.user(f"Fill the dots with digits 1-{self.n} ('row col digit', rows and columns from 1).\n{self._render()}"),
        ]

    def _progress(self) -> float:
        blanks = ~self.given
        return float((self.grid[blanks] == self.solution[blanks]).sum() / blanks.sum())

    def respond(self, action: Message) -> StepResult:
        moves = _MOVE.findall(action.content)
        if not moves:
            return self.invalid("Write moves like: 1 3 4 (row, column, digit), separated by ';'.")
        if len(moves) > self.n * self.n:  # one try per cell at most; more is spraying digits
            return self.invalid(f"At most {self.n * self.n} moves per turn; you wrote {len(moves)}.")
        problems = []
        for raw_r, raw_c, raw_v in moves:
            r, c, v = int(raw_r) - 1, int(raw_c) - 1, int(raw_v)
            if not (0 <= r < self.n and 0 <= c < self.n) or v > self.n:
                problems.append(f"{raw_r} {raw_c} {raw_v} is off the grid")
            elif self.given[r, c]:
                problems.append(f"cell {raw_r} {raw_c} is given")
            elif v and v not in candidates(np.where(np.arange(self.n * self.n).reshape(self.n, self.n) == r * self.n + c, 0, self.grid), r, c, self.box):
                problems.append(f"{v} at {raw_r} {raw_c} breaks a rule")
            else:
                self.grid[r, c] = v
        solved = bool((self.grid == self.solution).all())
        text = ("Solved!" if solved else self._render()) + (f"\nRefused: {'; '.join(problems)}." if problems else "")
        components = {"invalid_action": -0.1} if problems else {}
        return StepResult([Message.user(text)], self._progress(), components, solved, 1.0 if solved else None)

    def reference_solver(self) -> FillSolver:
        return FillSolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        empty = list(zip(*np.where(self.grid == 0))) or [(0, 0)]
        r, c = empty[int(rng.integers(len(empty)))]
        return f"{r + 1} {c + 1} {int(rng.integers(1, self.n + 1))}"
