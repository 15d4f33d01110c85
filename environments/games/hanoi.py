"""Tower of Hanoi: move the stack to the last peg, one disk at a time, never big on small."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.task_env import Difficulty
from envarena.types import Message

_DISKS = {"easy": 3, "medium": 4, "hard": 5}
PEGS = "ABC"
# One separator between the pegs; whitespace is not both optional and required around it, so a
# long run of spaces costs linear time, not quadratic.
_MOVE = re.compile(r"\b([ABCabc])(?:\s*(?:->|to|,)\s*|\s+)([ABCabc])\b")


def plan(position: dict[int, str], disks: int, target: str = "C") -> list[tuple[str, str]]:
    """Shortest moves gathering disks 1..`disks` on `target` from any legal position.

    The largest disk that is off target must move there directly, so everything smaller goes
    to the third peg first; recursion does the rest.
    """
    position = dict(position)

    def gather(k: int, goal: str) -> list[tuple[str, str]]:
        if k == 0:
            return []
        if position[k] == goal:
            return gather(k - 1, goal)
        other = next(p for p in PEGS if p not in (position[k], goal))
        moves = gather(k - 1, other)
        moves.append((position[k], goal))
        position[k] = goal
        return moves + gather(k - 1, goal)

    return gather(disks, target)


class HanoiSolver:
    """Re-plans the shortest solution from the current position each turn."""

    def __init__(self, env: HanoiEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        position = {disk: peg for peg in PEGS for disk in self.env.pegs[peg]}
        source, target = plan(position, self.env.disks)[0]
        return f"move {source} {target}"


class HanoiEnv(Env):
    """Tower of Hanoi: gather every disk on peg C; a disk never sits on a smaller one.

    Each seed starts from a different legal position (disks spread over the pegs). Moves are
    written like `move A C`. Easy has 3 disks, medium 4, hard 5 (up to 31 moves); the turn
    budget allows the shortest solution plus slack. Rewards: `progress` (potential:
    share of disks already stacked correctly at the bottom of C), `invalid_action` for an
    illegal or unreadable move, and `outcome` (1 when the tower stands on C).
    """

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty, self.disks = difficulty, _DISKS[difficulty]
        super().__init__(max_turns=max_turns or 2 * (2**self.disks - 1) + 4, render_mode=render_mode)
        self.pegs: dict[str, list[int]] = {}
        self.moves_made = 0

    def _state(self) -> str:
        return "; ".join(f"{p}: {' '.join(map(str, self.pegs[p])) or '-'}" for p in PEGS)

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        # A seeded legal position: each disk on a random peg (stacked by size), not yet solved.
        while True:
            where = {disk: PEGS[int(self.np_random.integers(3))] for disk in range(self.disks, 0, -1)}
            if any(peg != "C" for peg in where.values()):
                break
        self.pegs = {p: [d for d in range(self.disks, 0, -1) if where[d] == p] for p in PEGS}
        self.moves_made = 0
        return [
            Message.system("You are solving the Tower of Hanoi. Reply with one move like: move A C"),
            Message.user(f"Disks are numbered by size (bottom first). {self._state()}. Move all disks to C."),
        ]

    def _progress(self) -> float:
        stacked = 0
        for want, have in zip(range(self.disks, 0, -1), self.pegs["C"]):
            if want != have:
                break
            stacked += 1
        return stacked / self.disks

    def respond(self, action: Message) -> StepResult:
        found = _MOVE.findall(action.content)
        if not found:
            return self.invalid("Write a move like: move A C")
        source, target = (x.upper() for x in found[-1])
        if source == target or not self.pegs[source]:
            return self.invalid(f"Cannot move from {source} to {target}. {self._state()}.")
        disk = self.pegs[source][-1]
        if self.pegs[target] and self.pegs[target][-1] < disk:
            return self.invalid(f"Disk {disk} cannot go on the smaller disk {self.pegs[target][-1]}. {self._state()}.")
        self.pegs[target].append(self.pegs[source].pop())
        self.moves_made += 1
        done = len(self.pegs["C"]) == self.disks
        text = f"Moved disk {disk} from {source} to {target}. {self._state()}." + (" Solved!" if done else "")
        return StepResult([Message.user(text)], self._progress(), {}, done, 1.0 if done else None, {"moves": self.moves_made})

    def truncation_outcome(self) -> float:
        return 0.0

    def reference_solver(self) -> HanoiSolver:
        return HanoiSolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        source, target = rng.choice(list(PEGS), size=2, replace=False)
        return f"move {source} {target}"
