"""The single-agent environment base class.

Subclasses write the task (`begin_episode`) and the reply to a text action (`respond`), both
abstract so a class that forgets one fails when it is registered (or built), not at its first
step; and a reference solver. The base class owns everything that must behave the same in every environment:
seeding, tool-call dispatch with clear errors, potential-based progress, named reward
components, turn limits, the final outcome and rendering.
"""

from __future__ import annotations

import abc
import inspect
import json
import logging
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import gymnasium
import numpy as np

from envarena.rewards import INVALID_ACTION_PENALTY, TOOL_ERROR_PENALTY, Potential, weighted_sum
from envarena.spaces import ChatActionSpace, ChatObservationSpace, Observation
from envarena.tools import (
    MAX_ACTION_CHARS,
    MAX_TOOL_ARGUMENT_CHARS,
    MAX_TOOL_CALLS_PER_TURN,
    MAX_TOOL_SECONDS_PER_TURN,
    Tool,
    ToolArgumentError,
    ToolConnection,
    ToolSource,
    cap_text,
    clean_text,
)
from envarena.types import Message, ToolCall, jsonable

__all__ = ["Env", "Solver", "StepResult", "capped_message", "coerce_action", "readable_action", "render_messages"]

logger = logging.getLogger(__name__)
_NAME_CHARS = 256


@dataclass
class StepResult:
    """What an environment makes of one text action.

    `progress` is the new verified potential phi in [0, 1] (None: unchanged); the base class
    pays `phi' - phi`. `components` are extra named, bounded terms (format, legal_move...).
    `outcome` is the final verifiable score, required when `done` is True.
    """

    messages: list[Message]
    progress: float | None = None
    components: dict[str, float] = field(default_factory=dict)
    done: bool = False
    outcome: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Solver(Protocol):
    """A reference policy that lives with its environment and may read its hidden state."""

    def act(self, observation: list[Message]) -> Message | str: ...


def coerce_action(action: Message | str) -> Message:
    """Accept a plain string as an assistant message; reject anything else clearly."""
    if isinstance(action, str):
        return Message.assistant(action)
    if isinstance(action, Message):
        if action.role != "assistant":
            raise ValueError(f"an action must be an assistant message, got role '{action.role}'")
        return action
    raise TypeError(f"an action must be a Message or a str, got {type(action).__name__}")


def readable_action(message: Message) -> Message:
    """The action as an environment reads it: the last `MAX_ACTION_CHARS` characters of its
    text (answers and moves come last), with lone surrogates replaced, so that no parser or
    verifier ever sees megabytes or text that cannot be encoded. Tool calls are checked
    one by one when they run."""
    content = clean_text(message.content[-MAX_ACTION_CHARS:])
    if content == message.content:
        return message
    return message.model_copy(update={"content": content})


def capped_message(message: Message) -> Message:
    """A message as it is handed to an agent: text capped at `MAX_MESSAGE_CHARS`, names and
    ids (which may echo a crafted tool call) capped too. The one place every environment's
    output is bounded."""
    update: dict[str, Any] = {"content": cap_text(message.content)}
    if message.name is not None:
        update["name"] = cap_text(message.name, _NAME_CHARS)
    if message.tool_call_id is not None:
        update["tool_call_id"] = cap_text(message.tool_call_id, _NAME_CHARS)
    return message.model_copy(update=update, deep=True)


def _plain_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """Tool arguments checked for size and made encodable, or a `ToolArgumentError`."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, dict):
            return {clean_text(str(k)): clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    try:
        size = len(json.dumps(arguments, default=str))
        cleaned = clean(arguments)
    except (RecursionError, ValueError, TypeError):
        raise ToolArgumentError("the arguments are not plain JSON (nested too deeply?)") from None
    if size > MAX_TOOL_ARGUMENT_CHARS:
        raise ToolArgumentError(f"the arguments are {size} characters long; the limit is {MAX_TOOL_ARGUMENT_CHARS}")
    return cleaned


def render_messages(messages: list[Message]) -> str:
    """A plain-text transcript, used by `render()` and by the terminal player."""
    lines = []
    for m in messages:
        head = m.role if m.name is None else f"{m.role} ({m.name})"
        body = m.content
        for call in m.tool_calls:
            body += f"\n-> {call.name}({call.arguments})"
        lines.append(f"[{head}] {body}".rstrip())
    return "\n".join(lines)


def _finite(name: str, value: float) -> float:
    """A reward component as a float; a NaN or infinity (an environment bug) counts as 0."""
    value = float(value)
    if math.isfinite(value):
        return value
    logger.error("reward component '%s' is %s; counted as 0", name, value)
    return 0.0


class Env(gymnasium.Env[Observation, Message], metaclass=abc.ABCMeta):
    """A multi-turn chat environment with verifiable outcome and dense, named rewards."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"]}
    #: Turn budget when the user does not pass `max_turns`.
    default_max_turns: ClassVar[int] = 10
    #: Weights of reward components in the step reward; a missing name weighs 1.
    reward_weights: ClassVar[dict[str, float]] = {}
    #: Outcome at or above which an episode counts as a success.
    success_threshold: ClassVar[float] = 1.0
    #: Loose bounds of the episode return, for `envarena info` and trainers.
    reward_range: ClassVar[tuple[float, float]] = (-1.0, 2.0)
    #: Resets or steps burn CPU in Python (tenths of a second): rollouts then step this
    #: environment in worker processes by default, so it never holds the driver's GIL.
    cpu_heavy: ClassVar[bool] = False

    def __init__(self, *, max_turns: int | None = None, render_mode: str | None = None) -> None:
        if max_turns is not None and max_turns < 1:
            raise ValueError("max_turns must be at least 1")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.max_turns = max_turns or self.default_max_turns
        self.render_mode = render_mode
        self._tool_connections: list[ToolConnection] = []
        self._tools = self._collect_tools()
        self.observation_space = ChatObservationSpace()
        self.action_space = ChatActionSpace(t.name for t in self._tools)
        self.transcript: list[Message] = []
        self.turn = 0
        self.outcome = 0.0
        self.done = False
        self._potential = Potential()

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        """Generate the task from `self.np_random` and return the opening messages."""

    @abc.abstractmethod
    def respond(self, action: Message) -> StepResult:
        """Answer an assistant message that carries no tool calls (those go to the `@tool`
        methods); the one place an environment judges what the agent said."""

    def progress_after_tools(self) -> float | None:
        """New potential after tool calls (e.g. credit for retrieving a needed document)."""
        return None

    def truncation_outcome(self) -> float:
        """Outcome when the turn budget runs out before the task is finished."""
        return 0.0

    def settled_progress(self) -> float | None:
        """The potential an ended episode settles at (`self.outcome` is set), or None to leave
        it where the last step put it. For environments whose running measure is a proxy a
        policy could inflate without doing the task (visible tests it could hard-code, a
        product it opened but never bought): return the verified result on the proxy's scale,
        so the proxy's gains are taken back unless the outcome confirms them."""
        return None

    def initial_progress(self) -> float:
        """The potential at the start of an episode (above 0 when the task starts half done)."""
        return 0.0

    def reference_solver(self) -> Solver:
        """A solver that reaches outcome 1.0: the proof that the task is solvable."""
        raise NotImplementedError(f"{type(self).__name__} has no reference solver")

    def random_action(self, rng: np.random.Generator) -> Message | str:
        """A random action for the `random` agent; override to make it legal-but-random."""
        self.action_space.seed(int(rng.integers(1 << 31)))
        return self.action_space.sample()

    # ------------------------------------------------------------------ gymnasium API
    @property
    def tools(self) -> list[Tool]:
        """The tools the agent may call in this environment."""
        return list(self._tools)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        super().reset(seed=seed)
        self.turn = 0
        self.outcome = 0.0
        self.done = False
        messages = self.begin_episode(options)
        self._potential = Potential(self.initial_progress())
        self.transcript = list(messages)
        return Observation(m.model_copy(deep=True) for m in messages), {
            "turn": 0,
            "max_turns": self.max_turns,
            "tools": [t.name for t in self._tools],
        }

    def step(self, action: Message | str) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        if self.done:
            raise RuntimeError("the episode is over; call reset() first")
        message = coerce_action(action)
        self.turn += 1
        self.transcript.append(message)
        readable = readable_action(message)
        try:
            if readable.tool_calls:
                result = self._dispatch_tools(readable.tool_calls)
            else:
                result = self.respond(readable)
        except Exception as err:  # a verifier must never raise into the rollout
            result = self._crashed(err)
        return self._finish_step(result)

    def _crashed(self, err: Exception) -> StepResult:
        """The environment itself failed. Its state may be broken, so the episode ends; and
        the failure is not the agent's, so no penalty: the error is reported in
        `info["error"]` (the rollout records it as the episode's error) and the outcome is 0."""
        logger.error("%s failed on an action", type(self).__name__, exc_info=True)
        error = f"{type(err).__name__}: {err}"[:500]
        text = "The environment failed while processing this action, so the episode ends (not scored against you)."
        return StepResult([Message.user(text)], done=True, outcome=0.0, info={"error": error})

    def _finish_step(self, result: StepResult) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        components = {name: _finite(name, v) for name, v in result.components.items()}
        if result.progress is not None:
            components["progress"] = components.get("progress", 0.0) + self._potential.update(result.progress)
        terminated = bool(result.done)
        truncated = not terminated and self.turn >= self.max_turns
        info: dict[str, Any] = {"turn": self.turn, **jsonable(result.info)}
        if terminated or truncated:
            if terminated and result.outcome is None:
                raise RuntimeError(f"{type(self).__name__} ended an episode without an outcome")
            self.outcome = float(result.outcome if terminated else self._judged_truncation(info))
            settled = self.settled_progress()
            if settled is not None:
                components["progress"] = components.get("progress", 0.0) + self._potential.update(settled)
            components["outcome"] = self.outcome
            info["outcome"] = self.outcome
            info["success"] = self.outcome >= self.success_threshold
            self.done = True
        reward = weighted_sum(components, self.reward_weights)
        info["reward_components"] = dict(components)
        messages = [capped_message(m) for m in result.messages]
        self.transcript.extend(messages)
        return Observation(m.model_copy(deep=True) for m in messages), reward, terminated, truncated, info

    def _judged_truncation(self, info: dict[str, Any]) -> float:
        """`truncation_outcome()`, which may judge (run tests, query state); a failure there is
        the environment's, so it scores 0 with the error in `info`, as in `_crashed`."""
        try:
            return float(self.truncation_outcome())
        except Exception as err:
            logger.error("%s failed to judge a truncated episode", type(self).__name__, exc_info=True)
            info["error"] = f"{type(err).__name__}: {err}"[:500]
            return 0.0

    def _dispatch_tools(self, calls: list[ToolCall]) -> StepResult:
        """Run each call; every failure becomes a tool message and a `tool_error` penalty.

        Only the first `MAX_TOOL_CALLS_PER_TURN` calls run, and none starts after the message's
        calls have used `MAX_TOOL_SECONDS_PER_TURN`; the others are answered "not run" and cost
        one `tool_error` between them, so both the step's time and its reward stay bounded.
        """
        by_name = {t.name: t for t in self._tools}
        replies: list[Message] = []
        errors = skipped = 0
        start = time.monotonic()
        for index, call in enumerate(calls):
            if index >= MAX_TOOL_CALLS_PER_TURN:
                content, skipped = f"Error: not run; at most {MAX_TOOL_CALLS_PER_TURN} calls run per message.", 1
            elif time.monotonic() - start >= MAX_TOOL_SECONDS_PER_TURN:
                content, skipped = f"Error: not run; this message's calls used {MAX_TOOL_SECONDS_PER_TURN:g} s.", 1
            else:
                content, ok = self._run_tool(by_name, call)
                errors += not ok
            replies.append(Message.tool_result(call, content))
        errors += skipped
        components = {"tool_error": TOOL_ERROR_PENALTY * errors} if errors else {}
        return StepResult(messages=replies, progress=self.progress_after_tools(), components=components)

    def _run_tool(self, by_name: dict[str, Tool], call: ToolCall) -> tuple[str, bool]:
        target = by_name.get(call.name)
        if target is None:
            available = ", ".join(sorted(by_name)) or "none"
            return f"Error: unknown tool {clean_text(call.name[:100])!r}. Available tools: {available}.", False
        if isinstance(call.arguments, str):
            return (
                f"Error: the arguments for '{call.name}' are not a valid JSON object: "
                f"{clean_text(call.arguments[:200])!r}.",
                False,
            )
        try:
            return str(target(**_plain_arguments(call.arguments))), True
        except ToolArgumentError as err:
            return f"Error: {err}.", False
        except (ValueError, ArithmeticError, LookupError) as err:
            return f"Error: '{call.name}' failed: {err}", False
        except Exception as err:  # a tool bug must not end the rollout: log it, report a failed call
            logger.error("tool '%s' of %s raised", call.name, type(self).__name__, exc_info=True)
            return f"Error: '{call.name}' failed ({type(err).__name__}).", False

    def invalid(self, reason: str, *, penalty: float = INVALID_ACTION_PENALTY, name: str = "invalid_action") -> StepResult:
        """Tell the agent what was wrong with its action, with a named penalty."""
        return StepResult(messages=[Message.user(reason)], components={name: penalty})

    def render(self) -> str | None:  # type: ignore[override]
        if self.render_mode != "ansi":
            return None
        return render_messages(self.transcript)

    def close(self) -> None:
        """Release the connections of `ToolSource` tools; environments with more resources
        override it and call `super().close()`."""
        connections = getattr(self, "_tool_connections", [])  # a subclass may close before __init__ ends
        while connections:
            connections.pop().close()

    # ------------------------------------------------------------------ helpers
    def _collect_tools(self) -> list[Tool]:
        tools: dict[str, Tool] = {}
        for klass in reversed(type(self).__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, Tool):
                    tools[value.name] = getattr(self, attr)
                elif isinstance(value, ToolSource):
                    connection = value.connect()
                    self._tool_connections.append(connection)
                    # Released by close(); and, should the environment be dropped unclosed,
                    # when it is collected or at exit, so no server process outlives it.
                    weakref.finalize(self, connection.close)
                    tools.update((t.name, t) for t in connection.tools)
        return list(tools.values())

    @classmethod
    def describe(cls) -> str:
        """One paragraph for `envarena info`: the class docstring's first paragraph."""
        doc = inspect.getdoc(cls) or ""
        return " ".join(doc.split("\n\n")[0].split())
