"""The `random` agent: a random move, legal when the environment can say what is legal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from envarena.agents.base import to_message
from envarena.types import Message, Tool


class RandomAgent:
    def __init__(self, env: Any, rng: np.random.Generator, player: str | None) -> None:
        self.env, self.rng, self.player = env, rng, player
        self.last_trace = None

    async def act(self, observation: list[Message], tools: Sequence[Tool]) -> Message:
        if self.player is None:
            return to_message(self.env.random_action(self.rng))
        return to_message(self.env.random_action(self.player, self.rng))


class RandomPolicy:
    """Seeded per episode, so a random rollout is reproducible."""

    spec = "random"

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> RandomAgent:
        return RandomAgent(env, np.random.default_rng(seed), player)

    async def aclose(self) -> None:
        return None
