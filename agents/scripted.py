"""The `scripted` agent: plays the environment's own reference solver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envarena.agents.base import to_message
from envarena.types import Message, Tool


class ScriptedAgent:
    def __init__(self, solver: Any) -> None:
        self.solver = solver
        self.last_trace = None

    async def act(self, observation: list[Message], tools: Sequence[Tool]) -> Message:
        return to_message(self.solver.act(observation))


class ScriptedPolicy:
    """Looks the solver up on the environment it is given; it knows no environment itself."""

    spec = "scripted"

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> ScriptedAgent:
        solver = env.reference_solver(player) if player is not None else env.reference_solver()
        return ScriptedAgent(solver)

    async def aclose(self) -> None:
        return None
