"""OpenAI's `tool_choice` on a model that calls tools by writing `<tool_call>` blocks.

- `auto` (the default): the tools are in the prompt and the answer is parsed for calls;
- `none`: the tools are left out of the prompt and the answer is plain text;
- `required` / `{"type": "function", "function": {"name": ...}}`: the answer is begun for
  the model with the opening of a call (`<tool_call>`), and what it writes next is sampled
  under the JSON schema of a call of the allowed function(s) with valid arguments (as vLLM
  does with guided decoding), then it must stop. The result is still checked: a call cut
  short by max_tokens is an error, never passed off as the call that was required.

Anything else is refused (HTTP 400) rather than ignored.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from envarena.types import Tool, ToolCall

__all__ = ["ToolChoiceError", "ToolPlan", "forced_call", "plan_tools"]

OPEN = "<tool_call>"


class ToolChoiceError(ValueError):
    """A `tool_choice` this server cannot honour (the client's mistake: HTTP 400)."""


@dataclass
class ToolPlan:
    tools: list[Tool]  # rendered into the prompt
    parse: bool  # look for tool calls in the answer
    prefill: str = ""  # the beginning of the answer, written for the model
    allowed: set[str] = field(default_factory=set)  # functions a forced call may name
    schema: str | None = None  # JSON schema the rest of a forced answer is sampled under


def plan_tools(tools: list[Tool], choice: Any) -> ToolPlan:
    names = [t.name for t in tools]
    if choice is None or choice == "auto":
        return ToolPlan(tools, parse=bool(tools))
    if choice == "none":
        return ToolPlan([], parse=False)
    if choice == "required":
        if not tools:
            raise ToolChoiceError("tool_choice 'required' needs at least one tool in 'tools'")
        return _forced(tools, tools)
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        if not isinstance(name, str) or not name:
            raise ToolChoiceError("tool_choice {'type': 'function'} needs function.name")
        if name not in names:
            listed = ", ".join(names) or "none were given"
            raise ToolChoiceError(f"tool_choice names the function '{name}', which is not in 'tools' ({listed})")
        return _forced(tools, [t for t in tools if t.name == name])
    raise ToolChoiceError(
        "tool_choice must be 'auto', 'none', 'required' or {'type': 'function', 'function': {'name': NAME}}, "
        f"not {json.dumps(choice)}"
    )


def _call_schema(tool: Tool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": tool.parameters or {"type": "object"}},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def _forced(tools: list[Tool], allowed: list[Tool]) -> ToolPlan:
    calls = [_call_schema(t) for t in allowed]
    schema = calls[0] if len(calls) == 1 else {"anyOf": calls}
    return ToolPlan(tools, parse=True, prefill=f"{OPEN}\n", allowed={t.name for t in allowed},
                    schema=json.dumps(schema, sort_keys=True))


def forced_call(text: str, allowed: set[str]) -> ToolCall | None:
    """The call in a forced answer (prefill + what the model wrote), or None if it is not a
    call of an allowed function with object arguments. The first JSON object after the
    opening is the call; a missing closing tag (the model stopped at the end of the object)
    does not matter."""
    start = text.find(OPEN)
    body = (text[start + len(OPEN) :] if start >= 0 else text).lstrip()
    try:
        data, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("name") not in allowed:
        return None
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=data["name"], arguments=arguments)
