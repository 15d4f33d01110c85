"""Dense rewards that cannot be farmed.

The progress reward is potential-based: each step pays `phi(s') - phi(s)` where `phi` is the
verified progress in [0, 1]. The sum over an episode telescopes to `phi(end) - phi(start)`,
so repeating or undoing steps earns nothing. Penalties (format, illegal move, tool errors)
are not potential-based; they are small and fixed per step, and each is named so a trainer
or an analyst can see, weight or drop it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# Default per-event penalties. They are deliberately small next to the outcome (1.0) so a
# policy cannot trade correctness for format, yet large enough to be visible in the curves.
INVALID_ACTION_PENALTY = -0.1
TOOL_ERROR_PENALTY = -0.05
FORMAT_PENALTY = -0.05


class Potential:
    """Tracks `phi` for one episode and pays out its changes."""

    def __init__(self, initial: float = 0.0) -> None:
        self.value = self._checked(initial)

    @staticmethod
    def _checked(phi: float) -> float:
        if math.isnan(phi) or not -1e-9 <= phi <= 1.0 + 1e-9:
            raise ValueError(f"potential {phi} is outside [0, 1]")
        return min(1.0, max(0.0, phi))

    def update(self, phi: float) -> float:
        """Move to the new potential and return the shaped reward `phi' - phi`."""
        phi = self._checked(phi)
        delta = phi - self.value
        self.value = phi
        return delta


def weighted_sum(components: Mapping[str, float], weights: Mapping[str, float] | None = None) -> float:
    """The step reward: components times their weights (missing weight = 1)."""
    weights = weights or {}
    return float(sum(value * weights.get(name, 1.0) for name, value in components.items()))


def add_components(total: dict[str, float], step: Mapping[str, float]) -> None:
    """Accumulate one step's components into an episode total, in place."""
    for name, value in step.items():
        total[name] = total.get(name, 0.0) + float(value)


#: Keeps a group of equal rewards at advantage 0 instead of dividing by zero.
ADVANTAGE_EPS = 1e-6


def episode_advantages(rewards: Sequence[float], method: str) -> list[float]:
    """Advantages of one group of episodes played on the same task.

    GRPO normalises the group's rewards by their std, Dr. GRPO only centres them (no bias
    towards low-variance groups), RLOO subtracts the mean of the *other* episodes. Here, below
    both the trainer and the viewer, so what the viewer shows is what the trainer computes.
    """
    values = [float(r) for r in rewards]
    if method not in ("grpo", "dr_grpo", "rloo"):
        raise ValueError(f"unknown advantage method '{method}'")
    n = len(values)
    if n == 0:
        return []
    mean = math.fsum(values) / n
    if method == "dr_grpo":
        return [r - mean for r in values]
    if method == "rloo":
        total = math.fsum(values)
        return [0.0] * n if n < 2 else [r - (total - r) / (n - 1) for r in values]
    std = math.sqrt(math.fsum((r - mean) ** 2 for r in values) / n)
    return [(r - mean) / (std + ADVANTAGE_EPS) for r in values]

