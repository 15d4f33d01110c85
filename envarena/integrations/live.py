"""An envarena episode driven one action at a time by another project's loop.

TRL and verifiers own their rollout loops; envarena owns the environment and its rewards.
`LiveEpisode` is the seam between the two: the trainer's loop hands it actions, and it keeps
the same record envarena's own rollout engine keeps (an `Episode` with its turns, per-turn
rewards and named components, outcome and success), so a reward a trainer sees can be traced
back to, and replayed in, envarena.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Mapping
from typing import Any

from envarena.env import Env
from envarena.registration import registry
from envarena.rewards import add_components
from envarena.types import Episode, Message, ToolCall, Turn

__all__ = ["LiveEpisode", "make_single_agent", "message_from_openai", "opening_prompts"]


def make_single_agent(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> Env:
    """The environment one trainer rollout plays (see `Registry.make_single_agent`)."""
    return registry.make_single_agent(env_id, **dict(env_kwargs or {}))


def opening_prompts(env_id: str, env_kwargs: Mapping[str, Any], seeds: range) -> list[list[dict[str, str]]]:
    """The opening messages of each seed's task, as `{"role", "content"}` dicts: the prompt
    column a trainer's dataset needs. One environment is reset once per seed."""
    env = make_single_agent(env_id, env_kwargs)
    try:
        prompts = []
        for seed in seeds:
            observation, _ = env.reset(seed=seed)
            prompts.append([{"role": m.role, "content": m.content} for m in observation])
        return prompts
    finally:
        env.close()


def message_from_openai(raw: Mapping[str, Any]) -> Message:
    """An OpenAI-format chat message (arguments as a JSON string, as the wire has them)."""
    calls = []
    for i, call in enumerate(raw.get("tool_calls") or []):
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        calls.append(ToolCall.parse(call.get("id") or f"call_{i}", function.get("name", ""), arguments))
    content = raw.get("content") or ""
    if isinstance(content, list):  # content parts: the text ones
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return Message(role=raw["role"], content=content, tool_calls=calls,
                   tool_call_id=raw.get("tool_call_id"), name=raw.get("name"))


class LiveEpisode:
    """One environment, reset per task and stepped by someone else's loop, recording an
    `Episode` exactly as `envarena rollout` would (same totals, same components)."""

    def __init__(self, env_id: str, env_kwargs: Mapping[str, Any] | None = None, *, agent: str) -> None:
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.agent = agent
        self.env = make_single_agent(env_id, self.env_kwargs)
        # Outside loops (TRL makes one environment per rollout slot) drop these without a
        # close(): release the environment's sandbox, database or tool server when this
        # object is collected, or at exit, whichever comes first.
        self._finalizer = weakref.finalize(self, self.env.close)
        self.episode: Episode | None = None
        self._observation: list[Message] = []

    @property
    def observation(self) -> list[Message]:
        """The newest messages from the environment (the opening ones after `reset`)."""
        return list(self._observation)

    @property
    def done(self) -> bool:
        """Whether the episode has ended (terminated or truncated)."""
        return bool(self.episode is not None and self.episode.turns and
                    (self.episode.turns[-1].terminated or self.episode.turns[-1].truncated))

    def reset(self, seed: int | None) -> list[Message]:
        """Start the task of `seed`; returns its opening messages."""
        observation, _ = self.env.reset(seed=seed)
        self._observation = list(observation)
        self.episode = Episode(
            id=f"{self.agent}-{uuid.uuid4().hex[:16]}",
            env_id=self.env_id,
            env_kwargs=json.loads(json.dumps(self.env_kwargs, default=str)),
            seed=seed if seed is not None else -1,
            agent=self.agent,
            tools=[t.openai_schema() for t in self.env.tools],
        )
        return list(self._observation)

    def step(self, action: Message) -> tuple[list[Message], float]:
        """Play one action; returns the environment's new messages and the step reward."""
        if self.episode is None:
            raise RuntimeError("reset() first")
        if self.done:
            raise RuntimeError("the episode is over")
        observation, reward, terminated, truncated, info = self.env.step(action)
        components = info.pop("reward_components", {})
        self.episode.turns.append(Turn(
            observation=self._observation, action=action, reward=reward, reward_components=components,
            terminated=terminated, truncated=truncated, info=info,
        ))
        add_components(self.episode.reward_components, components)
        self.episode.total_reward += reward
        self._observation = list(observation)
        if terminated or truncated:
            self.episode.outcome = float(info.get("outcome", 0.0))
            self.episode.success = bool(info.get("success", False))
            self.episode.final_observation = list(observation)
            if info.get("error"):
                self.episode.error = str(info["error"])
        return list(observation), float(reward)

    def close(self) -> None:
        self._finalizer()
