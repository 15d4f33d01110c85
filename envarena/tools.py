"""Tools an agent may call: a typed Python function plus the JSON schema a model sees.

The schema is derived from the function signature and its Google-style docstring so it can
never drift from the code, and arguments are validated by pydantic before the call so an
environment's tool body only ever sees well-typed values.
"""

from __future__ import annotations

import abc
import functools
import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, create_model

#: Longest text an environment sends back in one message (a tool result, feedback that quotes
#: the agent). One cap for every environment, enforced where `Env` and `MultiAgentEnv` hand
#: messages out, so no tool can flood the agent's context or the environment's memory.
MAX_MESSAGE_CHARS = 16 * 1024
#: Longest action text an environment reads. Answers and moves come last, so the tail is kept:
#: a long chain of thought before the answer still works, and no parser sees megabytes.
MAX_ACTION_CHARS = 32 * 1024
#: Longest JSON arguments of one tool call; longer calls fail without running the tool.
MAX_TOOL_ARGUMENT_CHARS = 64 * 1024
#: Tool calls run per message; the rest are answered "not run", so one message cannot buy
#: hundreds of sandbox runs or queries.
MAX_TOOL_CALLS_PER_TURN = 10
#: Once the calls of one message have run this long, the rest are answered "not run": ten
#: calls that each use a sandbox's whole time limit would otherwise stall a step for minutes.
MAX_TOOL_SECONDS_PER_TURN = 10.0

_SURROGATE = re.compile("[\ud800-\udfff]")


class ToolArgumentError(ValueError):
    """The arguments a model sent do not fit the tool's schema."""


def clean_text(text: str) -> str:
    """Text that any encoder accepts: lone surrogates (never produced by a tokenizer, but
    possible in a crafted action that a message quotes) become U+FFFD."""
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def cap_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` cut to at most `limit` characters, saying how much was left out."""
    text = clean_text(text)
    if len(text) <= limit:
        return text
    kept = max(0, limit - 64)
    return text[:kept] + f"\n[... {len(text) - kept} more characters not shown]"[: limit - kept]


def text_tools_prompt(functions: list[dict[str, Any]]) -> str:
    """How a model whose chat template knows no tools learns about them (Hermes format), given
    the `function` part of each tool's OpenAI schema. Agents put it in the system prompt; dataset
    export writes it there too, so a dataset shows such a model exactly what it saw."""
    schemas = "\n".join(json.dumps(f) for f in functions)
    return (
        "You can call these tools:\n"
        f"<tools>\n{schemas}\n</tools>\n"
        'To call a tool, reply with <tool_call>{"name": "TOOL", "arguments": {...}}</tool_call>. '
        "Tool results come back in the next message."
    )


def text_tool_call(name: str, arguments: dict[str, Any] | str) -> str:
    """One tool call written out as text, the way `text_tools_prompt` asks a model to write it."""
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def _docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into its summary and the per-argument text of its Args section."""
    if not doc:
        return "", {}
    doc = inspect.cleandoc(doc)
    summary_lines: list[str] = []
    args: dict[str, str] = {}
    section = "summary"
    current: str | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        if re.fullmatch(r"(Args|Arguments|Parameters):", stripped):
            section = "args"
            continue
        if re.fullmatch(r"[A-Z][a-z]+:", stripped):  # Returns:, Raises:, ...
            section = "other"
            continue
        if section == "summary":
            summary_lines.append(stripped)
        elif section == "args" and stripped:
            match = re.match(r"(\w+)(?:\s*\([^)]*\))?:\s*(.*)", stripped)
            if match and not line.startswith(" " * 8):
                current = match.group(1)
                args[current] = match.group(2)
            elif current:
                args[current] = f"{args[current]} {stripped}".strip()
    summary = " ".join(" ".join(summary_lines).split())
    return summary, args


class Tool(BaseModel):
    """A callable the agent may invoke by name, with its JSON-schema description.

    Used as a decorator on a method (`@tool`), a `Tool` binds to the instance it is read
    from, so environment tools can act on that environment's state.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    fn: Callable[..., Any] | None = Field(default=None, exclude=True, repr=False)
    _arguments_model: type[BaseModel] | None = PrivateAttr(default=None)
    _is_method: bool = PrivateAttr(default=False)

    def __get__(self, instance: Any, owner: type | None = None) -> Tool:
        """Bind a method tool to the object it is read from, like a function would."""
        if instance is None or not self._is_method or self.fn is None:
            return self
        bound = self.model_copy(update={"fn": functools.partial(self.fn, instance)})
        bound._arguments_model = self._arguments_model
        bound._is_method = False
        return bound

    def openai_schema(self) -> dict[str, Any]:
        """The `{"type": "function", ...}` dict chat templates and OpenAI servers take."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def validate_arguments(self, arguments: Any) -> dict[str, Any]:
        """Check arguments against the schema and return them typed, or say what is wrong."""
        if not isinstance(arguments, dict):
            raise ToolArgumentError(
                f"arguments to '{self.name}' must be a JSON object, got {type(arguments).__name__}"
            )
        if self._arguments_model is None:
            return dict(arguments)
        try:
            parsed = self._arguments_model.model_validate(arguments)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in err.errors()
            )
            raise ToolArgumentError(f"invalid arguments to '{self.name}': {problems}") from None
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}

    def __call__(self, **arguments: Any) -> Any:
        """Validate then call; tools are invoked with keyword arguments only."""
        if self.fn is None:
            raise RuntimeError(f"tool '{self.name}' has no implementation")
        return self.fn(**self.validate_arguments(arguments))


def _build_tool(fn: Callable[..., Any], name: str | None, description: str | None) -> Tool:
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    is_method = bool(params) and params[0].name in ("self", "cls")
    if is_method:
        params = params[1:]
    summary, arg_docs = _docstring_parts(fn.__doc__)
    hints = _resolved_hints(fn)
    fields: dict[str, Any] = {}
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {fn.__name__}: *args/**kwargs cannot be described to a model")
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, Field(default, description=arg_docs.get(param.name)))
    model = create_model(  # type: ignore[call-overload]
        f"{fn.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    schema.setdefault("properties", {})
    schema.setdefault("required", [])
    built = Tool(name=name or fn.__name__, description=description or summary, parameters=schema, fn=fn)
    built._arguments_model = model
    built._is_method = is_method
    return built


def _resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """Type hints with string annotations resolved (modules use `from __future__ import annotations`)."""
    try:
        import typing

        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        return dict(getattr(fn, "__annotations__", {}))


def tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> Any:
    """Turn a typed function (or method) into a `Tool`; usable bare or with arguments."""
    if fn is not None:
        return _build_tool(fn, name, description)
    return lambda f: _build_tool(f, name, description)


class ToolConnection(abc.ABC):
    """Tools one environment instance obtained from a `ToolSource`, and what they hold open."""

    @property
    @abc.abstractmethod
    def tools(self) -> list[Tool]:
        """The tools, each calling through this connection."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection (a server process, a socket); safe to call twice."""


class ToolSource(abc.ABC):
    """Tools an environment learns when it is built rather than from its own methods (an MCP
    server's, say). Declared as a class attribute of an `Env`, like a `@tool` method; each
    environment instance connects once, so tools that keep state never share it between
    episodes, and the environment's `close()` releases the connection.

    An explicit base class rather than a protocol: the environment looks at every class
    attribute, and duck typing would take any object with a `connect` method (a module) for one.
    """

    @abc.abstractmethod
    def connect(self) -> ToolConnection:
        """Open a connection for one environment instance and list its tools."""
