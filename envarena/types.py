"""The wire format shared by environments, agents, rollouts, the trainer and export.

Everything is a pydantic model in OpenAI chat format so that one JSON line per episode can
be written, read back, resumed, trained on and exported without conversion losses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from envarena.tools import Tool, tool
from envarena.version import __version__

__all__ = [
    "Agent",
    "Episode",
    "Message",
    "Score",
    "TokenTrace",
    "Tool",
    "ToolCall",
    "Turn",
    "jsonable",
    "tool",
]

Role = Literal["system", "user", "assistant", "tool"]


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and models into plain JSON values.

    Environment `info` dicts often carry numpy values; converting them at the boundary keeps
    every stored episode loadable by any JSON reader.
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


class ToolCall(BaseModel):
    """One function call requested by the assistant.

    `arguments` is a dict when the model produced valid JSON; otherwise the raw string is kept
    so the environment can tell the agent exactly what failed to parse.
    """

    id: str
    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)

    @classmethod
    def parse(cls, id: str, name: str, raw_arguments: str | dict[str, Any]) -> ToolCall:
        """Build a call from raw model output, keeping the text when it is not a JSON object."""
        if isinstance(raw_arguments, dict):
            return cls(id=id, name=name, arguments=raw_arguments)
        try:
            parsed = json.loads(raw_arguments) if raw_arguments.strip() else {}
        except json.JSONDecodeError:
            return cls(id=id, name=name, arguments=raw_arguments)
        return cls(id=id, name=name, arguments=parsed if isinstance(parsed, dict) else raw_arguments)

    def openai_format(self) -> dict[str, Any]:
        """OpenAI wire form: arguments travel as a JSON string."""
        args = self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": args}}


class Message(BaseModel):
    """A chat message in OpenAI format: the unit of observations, actions and datasets."""

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: Sequence[ToolCall] = ()) -> Message:
        return cls(role="assistant", content=content, tool_calls=list(tool_calls))

    @classmethod
    def tool_result(cls, call: ToolCall, content: str) -> Message:
        return cls(role="tool", content=content, tool_call_id=call.id, name=call.name)

    def openai_format(self) -> dict[str, Any]:
        """The dict an OpenAI-compatible server or a chat template takes (no empty keys)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.openai_format() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        return out


class TokenTrace(BaseModel):
    """The exact tokens of one assistant turn, so training never re-tokenizes text."""

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float] | None = None
    finish_reason: str | None = None


class Score(BaseModel):
    """A verifier's verdict: a value in [0, 1], its named parts and a reason for the agent."""

    value: float
    components: dict[str, float] = Field(default_factory=dict)
    feedback: str = ""

    @field_validator("value")
    @classmethod
    def _in_unit_interval(cls, v: float) -> float:
        if not 0.0 <= v <= 1.0 or math.isnan(v):
            raise ValueError(f"score {v} is outside [0, 1]")
        return v


class Turn(BaseModel):
    """One agent action and what the environment made of it."""

    agent: str = "agent"
    observation: list[Message]
    action: Message
    reward: float = 0.0
    reward_components: dict[str, float] = Field(default_factory=dict)
    terminated: bool = False
    truncated: bool = False
    info: dict[str, Any] = Field(default_factory=dict)
    trace: TokenTrace | None = None

    @field_validator("info", mode="before")
    @classmethod
    def _plain_info(cls, v: Any) -> Any:
        return jsonable(v) if isinstance(v, dict) else v


class Episode(BaseModel):
    """A whole episode: stored one JSON line each, the unit of resume, eval and export."""

    model_config = ConfigDict(extra="ignore")

    id: str
    env_id: str
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    seed: int
    sample: int = 0
    agent: str
    opponent: str | None = None
    seat: str | None = None  # the player `agent` played in a multi-agent game (None: single-agent)
    # The tools the agent was offered, as OpenAI function schemas (`Tool.openai_schema()`), so a
    # dataset can show a model the same tools without rebuilding the environment (whose tools
    # may come from a server). None: not recorded (files written before they were).
    tools: list[dict[str, Any]] | None = None
    turns: list[Turn] = Field(default_factory=list)
    final_observation: list[Message] = Field(default_factory=list)
    total_reward: float = 0.0
    rewards_by_player: dict[str, float] = Field(default_factory=dict)
    outcome: float = 0.0
    success: bool = False
    reward_components: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    started_at: float = 0.0
    duration_s: float = 0.0
    agent_s: float = 0.0
    env_s: float = 0.0
    version: str = __version__

    @property
    def task_key(self) -> tuple[str, str, int]:
        """What identifies the task an episode played: environment, its options (canonical
        JSON) and seed. Episodes with the same key form a group (pass@k, GRPO, preferences)."""
        return (self.env_id, json.dumps(self.env_kwargs, sort_keys=True, default=str), self.seed)

    @property
    def num_turns(self) -> int:
        return len(self.turns)

    @property
    def completion_tokens(self) -> int:
        return sum(len(t.trace.completion_ids) for t in self.turns if t.trace is not None)

    @property
    def player(self) -> str | None:
        """The player whose rewards and conversation the episode is about: the evaluated agent's
        seat. Files written before seats were recorded fall back to the first mover."""
        return self.seat or (self.turns[0].agent if self.turns else None)

    def player_turns(self) -> list[Turn]:
        """The evaluated agent's own turns."""
        return [t for t in self.turns if t.agent == self.player]

    def messages(self, player: str | None = None) -> list[Message]:
        """The conversation as one agent saw and produced it, in order.

        The closing observation (e.g. "Correct!") is left out: nothing answers it.
        """
        out: list[Message] = []
        for turn in self.turns:
            if player is not None and turn.agent != player:
                continue
            out.extend(turn.observation)
            out.append(turn.action)
        return out


@runtime_checkable
class Agent(Protocol):
    """Anything that answers a list of new messages with one assistant message.

    An agent object plays one episode (it may keep that episode's history); `Policy`
    objects in `envarena.agents` spawn one per episode. After `act`, an agent that can
    report its tokens exposes them as `last_trace`.
    """

    async def act(self, observation: list[Message], tools: Sequence[Tool]) -> Message: ...
