"""2048: slide tiles to merge equal numbers until the target tile appears."""

from __future__ import annotations

from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.task_env import Difficulty
from envarena.types import Message

# (target tile, move budget) per difficulty
_LEVELS = {"easy": (128, 110), "medium": (256, 200), "hard": (512, 380)}
MOVES = ("up", "down", "left", "right")


def slide_row(row: list[int]) -> tuple[list[int], int]:
    """Slide one row to the left, merging equal neighbours once; returns the row and points."""
    tiles = [v for v in row if v]
    out, points, i = [], 0, 0
    while i < len(tiles):
        if i + 1 < len(tiles) and tiles[i] == tiles[i + 1]:
            out.append(tiles[i] * 2)
            points += tiles[i] * 2
            i += 2
        else:
            out.append(tiles[i])
            i += 1
    return out + [0] * (len(row) - len(out)), points


def slide(board: np.ndarray, move: str) -> np.ndarray:
    turned = {"left": board, "right": board[:, ::-1], "up": board.T, "down": board.T[:, ::-1]}[move]
    moved = np.array([slide_row(list(r))[0] for r in turned])
    return {"left": moved, "right": moved[:, ::-1], "up": moved.T, "down": moved[:, ::-1].T}[move]


def _heuristic(board: np.ndarray) -> float:
    empty = int((board == 0).sum())
    logs = np.where(board > 0, np.log2(np.maximum(board, 1)), 0)
    mono = -sum(abs(np.diff(logs, axis=a)).sum() for a in (0, 1))
    return 10 * empty + mono + 2 * logs.max() + (4 * logs.max() if board[0, 0] == board.max() else 0)


def spawn(board: np.ndarray, rng: np.random.Generator) -> None:
    """Put a 2 (90%) or a 4 on a random empty square, in place."""
    empties = list(zip(*np.where(board == 0)))
    r, c = empties[int(rng.integers(len(empties)))]
    board[r, c] = 2 if rng.random() < 0.9 else 4


def _clone(rng: np.random.Generator) -> np.random.Generator:
    copy = np.random.Generator(type(rng.bit_generator)())
    copy.bit_generator.state = rng.bit_generator.state
    return copy


class LookaheadSolver:
    """Searches two moves ahead with the exact tiles that will appear (it reads the game's
    random generator, as a reference solver may): a deterministic plan, not a gamble."""

    def __init__(self, env: Game2048Env, depth: int = 2) -> None:
        self.env, self.depth = env, depth

    def _successors(self, board: np.ndarray, rng: np.random.Generator):  # type: ignore[no-untyped-def]
        """(move, board after it and its new tile, the generator after that tile) per legal move."""
        for move in MOVES:
            after = slide(board, move)
            if (after == board).all():
                continue
            future = _clone(rng)
            if after.max() < self.env.target:
                spawn(after, future)
            yield move, after, future

    def _value(self, board: np.ndarray, rng: np.random.Generator, depth: int) -> float:
        if board.max() >= self.env.target:
            return 1e9 + depth
        if depth == 0:
            return _heuristic(board)
        values = [self._value(after, future, depth - 1) for _, after, future in self._successors(board, rng)]
        return max(values) if values else -1e12  # no move left: a lost position

    def act(self, observation: list[Message]) -> str:
        scored = [(self._value(after, future, self.depth - 1), move)
                  for move, after, future in self._successors(self.env.board, self.env.np_random)]
        return max(scored)[1] if scored else MOVES[0]


class Game2048Env(Env):
    """2048: slide the 4x4 board up, down, left or right; equal tiles merge; reach the target tile.

    After each move a 2 (90%) or 4 (10%) appears on an empty square, drawn from the seed. A
    move that changes nothing is refused. Targets: 128 (easy), 256 (medium), 512 (hard), each
    within a move budget. Rewards: `progress` (potential: log2 of the largest tile over log2
    of the target), `invalid_action`, and `outcome` (1 when the target tile appears).
    """

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.target, budget = _LEVELS[difficulty]
        super().__init__(max_turns=max_turns or budget, render_mode=render_mode)
        self.board = np.zeros((4, 4), dtype=int)

    def _spawn(self) -> None:
        spawn(self.board, self.np_random)

    def _render(self) -> str:
        return "\n".join(" ".join(f"{v:4d}" if v else "   ." for v in row) for row in self.board)

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        self.board = np.zeros((4, 4), dtype=int)
        self._spawn()
        self._spawn()
        return [
            Message.system("You are playing 2048. Reply with one move: up, down, left or right."),
            Message.user(f"Reach the {self.target} tile.\n{self._render()}"),
        ]

    def _phi(self) -> float:
        return min(1.0, float(np.log2(self.board.max()) / np.log2(self.target)))

    def initial_progress(self) -> float:
        return self._phi()

    def respond(self, action: Message) -> StepResult:
        words = [w for w in action.content.lower().replace(",", " ").split() if w in MOVES]
        if not words:
            return self.invalid("Reply with up, down, left or right.")
        after = slide(self.board, words[-1])
        if (after == self.board).all():
            return self.invalid(f"Moving {words[-1]} changes nothing.\n{self._render()}")
        self.board = after
        if self.board.max() >= self.target:
            return StepResult([Message.user(f"{self._render()}\nYou made {self.target}!")], 1.0, {}, True, 1.0)
        self._spawn()
        if all((slide(self.board, m) == self.board).all() for m in MOVES):
            return StepResult([Message.user(f"{self._render()}\nNo moves left.")], self._phi(), {}, True, 0.0)
        return StepResult([Message.user(self._render())], self._phi())

    def reference_solver(self) -> LookaheadSolver:
        return LookaheadSolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        return str(rng.choice(MOVES))
