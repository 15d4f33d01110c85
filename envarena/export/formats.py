"""Rows for each dataset format, built from episodes.

Rows are what trainers take as they are (TRL's `apply_chat_template` and `SFTTrainer` are
tested on them): messages in chat-template form with tool-call arguments as objects (templates
that render tool calls write them with `tojson`; a JSON string would be quoted twice), and a
`tools` column with the function schemas the agent was offered, which TRL passes to the
template. Every format has one fixed Arrow schema (`features(fmt)`) whatever the environment,
so exports of different environments concatenate. Messages and tool schemas use the
`datasets` `Json` type: a message holds only the keys it has (as in OpenAI's format), where
an Arrow struct would give every message every key, null-filled (`tool_calls: None` on a user
message), which templates that test `'tool_calls' in message` misread. Absent values are null
or absent, never an empty string.

`tool_calls="text"` is for models whose chat template renders no tool calls (SmolLM2's
renders only `content`, so a native call would vanish): calls are written into the content
and the tool schemas into the system prompt, exactly as envarena's agents show them to such a
model (`envarena.tools.text_tools_prompt`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from envarena.tools import text_tool_call, text_tools_prompt
from envarena.types import Episode, Message

__all__ = ["FORMATS", "TOOL_CALL_STYLES", "arrow_rows", "build_rows", "features"]

ToolCallStyle = Literal["native", "text"]
TOOL_CALL_STYLES: tuple[str, ...] = ("native", "text")


def _message(m: Message, style: ToolCallStyle) -> dict[str, Any]:
    """One message in OpenAI form with arguments as objects (a raw string only when the model's
    arguments were not a JSON object), and only the keys it has."""
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls and style == "native":
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    elif m.tool_calls:
        calls = "".join(text_tool_call(c.name, c.arguments) for c in m.tool_calls)
        out["content"] = f"{m.content}\n{calls}".strip()
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.name is not None:
        out["name"] = m.name
    return out


def _conversation(
    messages: Iterable[Message], tools: list[dict[str, Any]] | None, style: ToolCallStyle
) -> list[dict[str, Any]]:
    """Messages in chat-template form. In `text` style, given the `tools`, the system prompt
    lists them, as the agents' `ChatFormat` does for a template without tool support."""
    out = [_message(m, style) for m in messages]
    if style == "text" and tools:
        prompt = text_tools_prompt([t.get("function", t) for t in tools])
        if out and out[0]["role"] == "system":
            out[0]["content"] = f"{out[0]['content']}\n\n{prompt}"
        else:
            out.insert(0, _message(Message.system(prompt), style))
    return out


def _tools(e: Episode, style: ToolCallStyle) -> list[dict[str, Any]] | None:
    """The `tools` column: the schemas, or null when there are none (a template given an empty
    list may still write its tool preamble) or when `text` style put them in the prompt."""
    return (e.tools or None) if style == "native" else None


def _common(e: Episode) -> dict[str, Any]:
    return {
        "episode_id": e.id,
        "env_id": e.env_id,
        "env_kwargs": json.dumps(e.env_kwargs, sort_keys=True),
        "seed": e.seed,
        "reward": e.total_reward,
        "outcome": e.outcome,
        "success": e.success,
    }


def _opening(e: Episode) -> list[Message]:
    """What the evaluated agent saw first (in a game it did not open, after the first move)."""
    turns = e.player_turns()
    return turns[0].observation if turns else []


def sft_rows(episodes: list[Episode], style: ToolCallStyle = "native") -> Iterator[dict[str, Any]]:
    """One conversation per episode: the evaluated agent's (its seat's), never its opponent's."""
    for e in episodes:
        yield {
            "messages": _conversation(e.messages(e.player), e.tools, style),
            "tools": _tools(e, style),
            **_common(e),
        }


def _same_step(a: Message, b: Message) -> bool:
    """The same message up to tool-call ids (sampled agents draw fresh ids every run)."""
    if (a.role, a.content, a.name) != (b.role, b.content, b.name):
        return False
    return [(c.name, c.arguments) for c in a.tool_calls] == [(c.name, c.arguments) for c in b.tool_calls]


def _fork(better: list[Message], worse: list[Message]) -> int | None:
    """Where two conversations of one task part at the policy's choice: the index of the first
    message that differs, when both have an assistant message there after a message the policy
    answers; None when they part elsewhere (an opponent or a tool answered differently to the
    same action, or one conversation is the start of the other)."""
    n = 0
    while n < min(len(better), len(worse)) and _same_step(better[n], worse[n]):
        n += 1
    if n == 0 or n >= min(len(better), len(worse)):
        return None
    if better[n].role != "assistant" or worse[n].role != "assistant" or better[n - 1].role not in ("user", "tool"):
        return None
    return n


def preference_rows(episodes: list[Episode], style: ToolCallStyle = "native") -> Iterator[dict[str, Any]]:
    """The best episode of a task against a worse one, at the action where they part.

    `prompt` is everything the two conversations share (the opening and any identical turns);
    `chosen` and `rejected` are the policy's one differing message, so a preference trainer
    learns from the policy's own tokens only, never from an environment's or an opponent's
    reply. The worst episode whose conversation parts from the best one at a policy action is
    used; a task whose episodes only part through the environment gives no row.
    """
    groups: dict[tuple[str, str, int], list[Episode]] = defaultdict(list)
    for e in episodes:
        if e.player_turns():
            groups[e.task_key].append(e)
    for (env_id, kwargs, seed), group in sorted(groups.items()):
        ranked = sorted(group, key=lambda e: (e.total_reward, e.id))
        best = ranked[-1]
        chosen = best.messages(best.player)
        for worst in ranked[:-1]:
            if worst.total_reward >= best.total_reward:
                break
            rejected = worst.messages(worst.player)
            fork = _fork(chosen, rejected)
            if fork is None:
                continue
            yield {
                "prompt": _conversation(chosen[:fork], best.tools, style),
                "chosen": _conversation(chosen[fork : fork + 1], None, style),
                "rejected": _conversation(rejected[fork : fork + 1], None, style),
                "tools": _tools(best, style),
                "env_id": env_id,
                "env_kwargs": kwargs,
                "seed": seed,
                "chosen_reward": best.total_reward,
                "rejected_reward": worst.total_reward,
            }
            break


def rl_rows(episodes: list[Episode], style: ToolCallStyle = "native") -> Iterator[dict[str, Any]]:
    """One prompt per task with what is needed to rebuild and verify it: env ID, options, seed."""
    seen: set[tuple[str, str, int]] = set()
    for e in episodes:
        key = e.task_key
        if key in seen or not e.player_turns():
            continue
        seen.add(key)
        yield {
            "prompt": _conversation(_opening(e), e.tools, style),
            "tools": _tools(e, style),
            "env_id": e.env_id,
            "env_kwargs": key[1],
            "seed": e.seed,
        }


def raw_rows(episodes: list[Episode], style: ToolCallStyle = "native") -> Iterator[dict[str, Any]]:
    """Everything, as stored; nested parts (turns, options, tools) as JSON text so that the
    schema does not depend on the environment. Absent values stay null."""
    for e in episodes:
        record = e.model_dump(mode="json")
        yield {
            key: json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
            for key, value in record.items()
        }


FORMATS = {"sft": sft_rows, "preference": preference_rows, "rl": rl_rows, "raw": raw_rows}


def build_rows(episodes: list[Episode], fmt: str, *, tool_calls: str = "native") -> list[dict[str, Any]]:
    if tool_calls not in TOOL_CALL_STYLES:
        raise ValueError(f"tool_calls must be one of {TOOL_CALL_STYLES}, got {tool_calls!r}")
    return list(FORMATS[fmt](episodes, tool_calls))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- Arrow schema
def features(fmt: str) -> Any:
    """The `datasets.Features` of a format: the same for every environment. Pass it to
    `datasets.load_dataset("json", ..., features=...)` to read a JSONL export with its types."""
    from datasets import Features, Json, List, Value

    text, integer, real, flag = Value("string"), Value("int64"), Value("float64"), Value("bool")
    conversation = List(Json())
    task = {"env_id": text, "env_kwargs": text, "seed": integer}
    if fmt == "sft":
        columns = {
            "messages": conversation,
            "tools": List(Json()),
            "episode_id": text,
            **task,
            "reward": real,
            "outcome": real,
            "success": flag,
        }
    elif fmt == "preference":
        columns = {
            "prompt": conversation,
            "chosen": conversation,
            "rejected": conversation,
            "tools": List(Json()),
            **task,
            "chosen_reward": real,
            "rejected_reward": real,
        }
    elif fmt == "rl":
        columns = {"prompt": conversation, "tools": List(Json()), **task}
    elif fmt == "raw":
        kinds = {int: integer, float: real, bool: flag}
        columns = {name: kinds.get(field.annotation, text) for name, field in Episode.model_fields.items()}
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return Features(columns)


def arrow_rows(rows: list[dict[str, Any]], fmt: str) -> list[dict[str, Any]]:
    """Rows ready for `datasets.Dataset.from_list(..., features=features(fmt))`: each `Json`
    value is handed over as its JSON text (given a Python string, `Json` would parse one that
    happens to be valid JSON, such as "[1, 2]", instead of keeping it a string)."""
    schema = features(fmt)
    return [{name: _encode(row.get(name), feature) for name, feature in schema.items()} for row in rows]


def _encode(value: Any, feature: Any) -> Any:
    from datasets import Json, List

    if value is None:
        return None
    if isinstance(feature, Json):
        return json.dumps(value)
    if isinstance(feature, List):
        return [_encode(v, feature.feature) for v in value]
    if isinstance(feature, dict):
        return {k: _encode(value.get(k), f) for k, f in feature.items()}
    return value
