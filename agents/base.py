"""What the rollout engine needs from an agent backend.

A `Policy` is the long-lived thing (a loaded model, a client, a solver lookup); it spawns
one `Agent` per episode, which may keep that episode's history. The environment object is
handed over at spawn time so that the `scripted` agent can ask it for its own solver
without this package importing any environment.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from envarena.types import Agent

__all__ = ["Policy", "to_message"]


@runtime_checkable
class Policy(Protocol):
    spec: str

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> Agent:
        """A fresh agent for one episode of `env` (as `player`, in multi-agent games).

        `seed` is unique and reproducible per (task, sample, player). When the episode ends,
        for any reason, the rollout calls the agent's optional `close()`.
        """
        ...

    async def aclose(self) -> None:
        """Release models, clients or servers."""
        ...


def to_message(reply: Any) -> Any:
    """Solvers may answer with plain text; agents always answer with a Message."""
    from envarena.types import Message

    return Message.assistant(reply) if isinstance(reply, str) else reply
