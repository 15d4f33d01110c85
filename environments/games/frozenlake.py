"""Frozen Lake: walk from the start to the goal on a grid without falling through a hole."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.task_env import Difficulty
from envarena.types import Message

# (side, hole probability, turn budget) per difficulty
_LEVELS = {"easy": (4, 0.2, 10), "medium": (6, 0.25, 16), "hard": (8, 0.3, 22)}
MOVES = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def distances(grid: list[str], goal: tuple[int, int]) -> dict[tuple[int, int], int]:
    """Steps to the goal from every safe cell (BFS over cells that are not holes)."""
    side = len(grid)
    found = {goal: 0}
    queue = deque([goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES.values():
            nr, nc = r + dr, c + dc
            if 0 <= nr < side and 0 <= nc < side and grid[nr][nc] != "H" and (nr, nc) not in found:
                found[(nr, nc)] = found[(r, c)] + 1
                queue.append((nr, nc))
    return found


class LakeSolver:
    """Walks down the BFS distance field: the shortest safe path."""

    def __init__(self, env: FrozenLakeEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        r, c = self.env.position
        best = min(
            (name for name, (dr, dc) in MOVES.items() if (r + dr, c + dc) in self.env.dist),
            key=lambda name: self.env.dist[(r + MOVES[name][0], c + MOVES[name][1])],
        )
        return best


class FrozenLakeEnv(Env):
    """Frozen Lake: reach the goal G from the start S on an icy grid; stepping on a hole H ends it.

    Moves are up, down, left or right; walking into the edge is refused. Every lake is
    generated with a safe path that fits the turn budget. Easy is 4x4, medium 6x6, hard 8x8 with
    more holes and tighter budgets. Rewards: `progress` (potential: 1 - safe distance to the
    goal / the lake's largest safe distance),
    `invalid_action`, and `outcome` (1 at the goal, 0 in a hole).
    """

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.side, self.hole_rate, budget = _LEVELS[difficulty]
        super().__init__(max_turns=max_turns or budget, render_mode=render_mode)
        self.grid: list[str] = []
        self.position = (0, 0)
        self.dist: dict[tuple[int, int], int] = {}

    def _render_grid(self) -> str:
        rows = []
        for r, row in enumerate(self.grid):
            rows.append("".join("P" if (r, c) == self.position else cell for c, cell in enumerate(row)))
        return "\n".join(rows)

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        side = self.side
        goal = (side - 1, side - 1)
        while True:
            cells = np.where(self.np_random.random((side, side)) < self.hole_rate, "H", "F")
            cells[0, 0], cells[goal] = "S", "G"
            self.grid = ["".join(row) for row in cells]
            self.dist = distances(self.grid, goal)
            if (0, 0) in self.dist and self.dist[(0, 0)] <= self.max_turns:
                break
        self.position = (0, 0)
        self.farthest = max(self.dist.values())
        return [
            Message.system("You are crossing a frozen lake. Reply with one move: up, down, left or right."),
            Message.user(f"P is you, G the goal, H a hole, F safe ice.\n{self._render_grid()}"),
        ]

    def respond(self, action: Message) -> StepResult:
        words = [w for w in action.content.lower().replace(",", " ").split() if w in MOVES]
        if not words:
            return self.invalid("Reply with up, down, left or right.")
        dr, dc = MOVES[words[-1]]
        r, c = self.position[0] + dr, self.position[1] + dc
        if not (0 <= r < self.side and 0 <= c < self.side):
            return self.invalid(f"You cannot move {words[-1]} from the edge.\n{self._render_grid()}")
        self.position = (r, c)
        cell = self.grid[r][c]
        if cell == "H":
            return StepResult([Message.user("You fell through a hole.")], None, {}, True, 0.0)
        progress = self._phi()
        if cell == "G":
            return StepResult([Message.user("You reached the goal!")], 1.0, {}, True, 1.0)
        return StepResult([Message.user(self._render_grid())], progress)

    def _phi(self) -> float:
        """Potential: 1 - (safe distance to the goal) / (largest safe distance on this lake)."""
        return 1.0 - self.dist[self.position] / self.farthest

    def initial_progress(self) -> float:
        return self._phi()

    def reference_solver(self) -> LakeSolver:
        return LakeSolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        return str(rng.choice(list(MOVES)))
