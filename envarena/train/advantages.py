"""Advantages for groups of episodes played on the same task.

Episode level: GRPO normalises each group's rewards by their std, Dr. GRPO only centres
them (no std: no bias towards low-variance groups), RLOO subtracts the mean of the *other*
episodes. Turn level: discounted returns of the dense per-turn rewards, normalised over
all turns of the group. Each sampled token gets `A_episode + w * A_turn` of its turn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from envarena.rewards import ADVANTAGE_EPS as _EPS
from envarena.rewards import episode_advantages

__all__ = ["discounted_returns", "episode_advantages", "turn_advantages"]


def discounted_returns(rewards: Sequence[float], gamma: float) -> list[float]:
    out, running = [], 0.0
    for reward in reversed(rewards):
        running = reward + gamma * running
        out.append(running)
    return out[::-1]


def turn_advantages(group_turn_rewards: Sequence[Sequence[float]], gamma: float, method: str) -> list[list[float]]:
    """Per-turn advantages for each episode of a group (lists of per-turn rewards)."""
    returns = [discounted_returns(rewards, gamma) for rewards in group_turn_rewards]
    flat = np.asarray([g for episode in returns for g in episode], dtype=np.float64)
    if flat.size == 0:
        return [[] for _ in returns]
    mean = flat.mean()
    scale = 1.0 if method == "dr_grpo" else flat.std() + _EPS
    return [[(g - mean) / scale for g in episode] for episode in returns]
