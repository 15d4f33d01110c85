"""Chat templates, tools, tool-call parsing and token-in/token-out prompts.

Token-in, token-out: a multi-turn prompt is never re-tokenized from text. Turn t+1's prompt
is turn t's exact prompt ids, plus the ids the model sampled, plus whatever the template
adds after an assistant message (e.g. "\\n" after <|im_end|>), plus the template rendering
of the new messages. Only that last part is tokenized, and only when the template renders
conversations prefix-stably; otherwise we warn and fall back to a full re-render.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Sequence
from typing import Any

from envarena.tools import text_tool_call, text_tools_prompt
from envarena.types import Message, Tool, ToolCall

__all__ = ["ChatFormat", "parse_tool_calls", "tools_system_prompt"]

_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_SENTINEL = "\u2063envarena-sentinel\u2063"


def tools_system_prompt(tools: Sequence[Tool]) -> str:
    """How a model whose template knows no tools learns about them (Hermes format)."""
    return text_tools_prompt([t.openai_schema()["function"] for t in tools])


def parse_tool_calls(text: str) -> Message:
    """Turn model text into an assistant message: Hermes `<tool_call>` blocks, or a reply that
    is nothing but a JSON object with "name" and "arguments", become tool calls."""
    blocks = _HERMES.findall(text)
    candidates = blocks
    if not blocks:
        stripped = text.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            candidates = [stripped]
    calls = []
    for raw in candidates:
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            if blocks:  # a tool call that does not parse: keep it so the env can say why
                calls.append(ToolCall(id=call_id, name="", arguments=raw))
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            arguments = data.get("arguments", data.get("parameters", {}))
            if isinstance(arguments, str):
                calls.append(ToolCall.parse(call_id, data["name"], arguments))
            else:
                calls.append(ToolCall(id=call_id, name=data["name"], arguments=arguments if isinstance(arguments, dict) else json.dumps(arguments)))
    if not calls:
        return Message.assistant(text)
    content = _HERMES.sub("", text).strip() if blocks else ""
    return Message.assistant(content, tool_calls=calls)


class ChatFormat:
    """A tokenizer's chat template, with tools and incremental (prefix) rendering."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        template = tokenizer.chat_template or ""
        self.native_tools = "tools" in template
        self._prefix_stable: bool | None = None

    # ------------------------------------------------------------------ rendering
    def to_dicts(self, messages: Sequence[Message], tools: Sequence[Tool]) -> list[dict[str, Any]]:
        """OpenAI dicts the template takes; tool schemas go into the system prompt if the
        template cannot render them itself."""
        dicts = []
        for m in messages:
            d: dict[str, Any] = {"role": m.role, "content": m.content}
            if m.tool_calls and self.native_tools:
                d["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in m.tool_calls
                ]
            elif m.tool_calls:  # the model wrote them as text; render them back the same way
                calls = "".join(text_tool_call(c.name, c.arguments) for c in m.tool_calls)
                d["content"] = f"{m.content}\n{calls}".strip()
            if m.tool_call_id:
                d["tool_call_id"] = m.tool_call_id
            if m.name and m.role == "tool":
                d["name"] = m.name
            dicts.append(d)
        if tools and not self.native_tools:
            extra = tools_system_prompt(tools)
            if dicts and dicts[0]["role"] == "system":
                dicts[0] = {**dicts[0], "content": f"{dicts[0]['content']}\n\n{extra}"}
            else:
                dicts.insert(0, {"role": "system", "content": extra})
        return dicts

    def render(self, dicts: list[dict[str, Any]], tools: Sequence[Tool], *, generation_prompt: bool) -> str:
        kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": generation_prompt}
        if tools and self.native_tools:
            kwargs["tools"] = [t.openai_schema() for t in tools]
        return self.tokenizer.apply_chat_template(dicts, **kwargs)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # ------------------------------------------------------------------ token-in, token-out
    def first_prompt(self, messages: Sequence[Message], tools: Sequence[Tool]) -> list[int]:
        return self.encode(self.render(self.to_dicts(messages, tools), tools, generation_prompt=True))

    def assistant_closing(self, history: Sequence[Message], tools: Sequence[Tool]) -> str:
        """What the template writes after an assistant message's content (e.g. <|im_end|>\\n)."""
        probe = [*self.to_dicts(history, tools), {"role": "assistant", "content": _SENTINEL}]
        rendered = self.render(probe, tools, generation_prompt=False)
        return rendered.split(_SENTINEL, 1)[1] if _SENTINEL in rendered else ""

    def next_prompt(
        self,
        prompt_ids: list[int],
        completion_ids: list[int],
        history: Sequence[Message],
        new_messages: Sequence[Message],
        tools: Sequence[Tool],
    ) -> list[int]:
        """The next turn's prompt from exact ids: previous prompt + sampled ids + the
        template's closing of that assistant turn + the rendering of the new messages.

        `history` is the conversation up to and including the last assistant message.
        """
        before = self.render(self.to_dicts(history, tools), tools, generation_prompt=False)
        after = self.render(self.to_dicts([*history, *new_messages], tools), tools, generation_prompt=True)
        if not after.startswith(before):
            self._warn_unstable()
            return self.encode(after)
        closing = self.assistant_closing(history[:-1], tools)
        sampled = self.tokenizer.decode(completion_ids, skip_special_tokens=False)
        bridge = closing
        # The model usually sampled the start of the closing itself (its end-of-turn token).
        for cut in range(len(closing), 0, -1):
            if sampled.endswith(closing[:cut]):
                bridge = closing[cut:]
                break
        return [*prompt_ids, *completion_ids, *self.encode(bridge), *self.encode(after[len(before) :])]

    def _warn_unstable(self) -> None:
        if self._prefix_stable is None:
            self._prefix_stable = False
            warnings.warn(
                "this chat template does not render conversations prefix-stably; prompts are "
                "re-tokenized from text each turn (token traces stay exact per turn)",
                RuntimeWarning,
                stacklevel=3,
            )
