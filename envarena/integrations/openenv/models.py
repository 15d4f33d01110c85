"""The typed action, observation and state an envarena environment speaks in the OpenEnv protocol.

They subclass openenv-core's `Action`, `Observation` and `State`, so OpenEnv's server validates
what arrives, publishes the JSON schemas at `/schema`, and any OpenEnv client can read them.
Messages, tool calls and tools keep envarena's own wire format (OpenAI chat format), the one
stored trajectories and exported datasets use, so nothing is translated twice.
"""

from __future__ import annotations

from typing import Any, Literal

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field, field_validator

from envarena.types import Message, ToolCall

__all__ = ["EnvArenaAction", "EnvArenaObservation", "EnvArenaState"]


class EnvArenaAction(Action):
    """One assistant message: text, tool calls, or both.

    Tool calls may come in envarena's form (`{"id", "name", "arguments": {...}}`) or in OpenAI's
    (`{"id", "type": "function", "function": {"name", "arguments": "<json>"}}`), since that is
    what chat-completion servers and trainers hand over.
    """

    role: Literal["assistant"] = "assistant"
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)

    @field_validator("content", mode="before")
    @classmethod
    def _no_content_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("tool_calls", mode="before")
    @classmethod
    def _accept_openai_calls(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        calls = []
        for index, call in enumerate(value):
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                function = call["function"]
                call = ToolCall.parse(
                    str(call.get("id") or f"call_{index}"), str(function.get("name", "")), function.get("arguments", "")
                )
            calls.append(call)
        return calls

    def to_message(self) -> Message:
        return Message.assistant(self.content, self.tool_calls)

    @classmethod
    def from_message(cls, message: Message) -> EnvArenaAction:
        return cls(content=message.content, tool_calls=message.tool_calls)


class EnvArenaObservation(Observation):
    """What the environment answers to a reset or a step.

    `messages` are the new messages only (the first observation holds the system and user
    prompt); `reward` is the step reward and `reward_components` its named parts; `outcome`
    and `success` arrive with the last step; `done` is `terminated or truncated`. `info` is
    the rest of the environment's step info. `reference_action` is set only by a server
    started with `--expose-solver`: the reference solver's next action, for checking a
    deployment with the `scripted` agent (it gives the answer away).
    """

    messages: list[Message] = Field(default_factory=list)
    tools: list[dict[str, Any]] = Field(default_factory=list, description="OpenAI-format tool schemas")
    reward_components: dict[str, float] = Field(default_factory=dict)
    outcome: float | None = None
    success: bool | None = None
    terminated: bool = False
    truncated: bool = False
    info: dict[str, Any] = Field(default_factory=dict)
    reference_action: Message | None = None


class EnvArenaState(State):
    """A session's episode so far (`step_count` counts turns)."""

    env_id: str = ""
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    max_turns: int = 0
    done: bool = False
    outcome: float | None = None
    transcript: list[Message] = Field(default_factory=list)
