"""Sokoban: push every box onto a goal. Levels are made by playing backwards from the solution."""

from __future__ import annotations

from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.task_env import Difficulty
from envarena.types import Message

# (room side, boxes, reverse moves) per difficulty
_LEVELS = {"easy": (6, 1, 12), "medium": (7, 2, 30), "hard": (8, 3, 60)}
MOVES = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
_OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}


class ReplaySolver:
    """Plays the generator's reversed pulls as pushes: a solution that exists by construction."""

    def __init__(self, env: SokobanEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        return self.env.solution[self.env.moves_made]


class SokobanEnv(Env):
    """Sokoban: walk the warehouse and push every box ($) onto a goal (.); boxes cannot be pulled.

    Levels are generated backwards: start solved, then the keeper pulls boxes around at
    random; replaying those moves in reverse solves the level, so every level is provably
    solvable. Easy has 1 box in a 6x6 room, medium 2 in 7x7, hard 3 in 8x8. Moves are up,
    down, left, right. Rewards: `progress` (potential: share of boxes on goals),
    `invalid_action` (walking into a wall or an unpushable box) and `outcome`.
    """

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.side, self.box_count, self.shuffle = _LEVELS[difficulty]
        super().__init__(max_turns=max_turns or 3 * self.shuffle, render_mode=render_mode)
        self.walls: set[tuple[int, int]] = set()
        self.goals: set[tuple[int, int]] = set()
        self.boxes: set[tuple[int, int]] = set()
        self.player = (1, 1)
        self.solution: list[str] = []
        self.moves_made = 0

    def _render(self) -> str:
        rows = []
        for r in range(self.side):
            row = ""
            for c in range(self.side):
                cell = (r, c)
                if cell in self.walls:
                    row += "#"
                elif cell == self.player:
                    row += "+" if cell in self.goals else "@"
                elif cell in self.boxes:
                    row += "*" if cell in self.goals else "$"
                else:
                    row += "." if cell in self.goals else " "
            rows.append(row)
        return "\n".join(rows)

    def _generate(self) -> None:
        rng, side = self.np_random, self.side
        while True:
            walls = {(r, c) for r in range(side) for c in range(side) if r in (0, side - 1) or c in (0, side - 1)}
            inner = [(r, c) for r in range(1, side - 1) for c in range(1, side - 1)]
            for i in rng.choice(len(inner), size=int(rng.integers(0, side // 2)), replace=False):
                walls.add(inner[int(i)])
            free = [cell for cell in inner if cell not in walls]
            picks = rng.choice(len(free), size=self.box_count + 1, replace=False)
            goals = {free[int(i)] for i in picks[:-1]}
            boxes, player = set(goals), free[int(picks[-1])]
            pulls: list[str] = []
            for _ in range(self.shuffle):
                name = str(rng.choice(list(MOVES)))
                dr, dc = MOVES[name]
                ahead = (player[0] + dr, player[1] + dc)
                behind = (player[0] - dr, player[1] - dc)
                if ahead in walls or ahead in boxes:
                    continue
                if behind in boxes and rng.random() < 0.7:  # pull the box behind us
                    boxes.remove(behind)
                    boxes.add(player)
                    pulls.append(f"pull:{name}")
                else:
                    pulls.append(f"walk:{name}")
                player = ahead
            if boxes != goals:  # at least one box off its goal: a real puzzle
                break
        self.walls, self.goals, self.boxes, self.player = walls, goals, boxes, player
        # Reversed: a walk back is a walk the other way; a pull becomes a push the other way.
        self.solution = [_OPPOSITE[step.split(":")[1]] for step in reversed(pulls)]

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        self._generate()
        self.moves_made = 0
        legend = "# wall, @ you, $ box, . goal, * box on goal, + you on a goal"
        return [
            Message.system("You are playing Sokoban. Reply with one move: up, down, left or right."),
            Message.user(f"Push every box onto a goal ({legend}).\n{self._render()}"),
        ]

    def initial_progress(self) -> float:
        return len(self.boxes & self.goals) / self.box_count

    def respond(self, action: Message) -> StepResult:
        words = [w for w in action.content.lower().replace(",", " ").split() if w in MOVES]
        if not words:
            return self.invalid("Reply with up, down, left or right.")
        name = words[-1]
        dr, dc = MOVES[name]
        ahead = (self.player[0] + dr, self.player[1] + dc)
        if ahead in self.walls:
            return self.invalid(f"A wall blocks the way {name}.\n{self._render()}")
        if ahead in self.boxes:
            beyond = (ahead[0] + dr, ahead[1] + dc)
            if beyond in self.walls or beyond in self.boxes:
                return self.invalid(f"That box cannot be pushed {name}.\n{self._render()}")
            self.boxes.remove(ahead)
            self.boxes.add(beyond)
        self.player = ahead
        self.moves_made += 1
        placed = len(self.boxes & self.goals)
        solved = placed == self.box_count
        text = "All boxes are on goals. Solved!" if solved else self._render()
        return StepResult([Message.user(text)], placed / self.box_count, {}, solved, 1.0 if solved else None)

    def reference_solver(self) -> ReplaySolver:
        return ReplaySolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        return str(rng.choice(list(MOVES)))
