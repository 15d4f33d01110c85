"""The `openai:` backend: any OpenAI-compatible chat server (vllm serve, SGLang, envarena serve).

Timeouts and bounded retries with backoff come from the official client. When the server
returns token ids (vLLM's `return_token_ids`, or logprob tokens written as `token_id:N`
with `return_tokens_as_token_ids`), each turn carries an exact `TokenTrace`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from envarena.types import Message, TokenTrace, Tool, ToolCall

__all__ = ["OpenAIAgent", "OpenAIPolicy", "trace_from_response"]


def _to_wire(message: Message) -> dict[str, Any]:
    wire = message.openai_format()
    if message.role == "assistant" and message.tool_calls and not message.content:
        wire["content"] = None
    return wire


def trace_from_response(response: Any) -> TokenTrace | None:
    """Token ids and log-probs from a chat completion, if the server sent them."""
    data = response.model_dump() if hasattr(response, "model_dump") else dict(response)
    choice = data["choices"][0]
    extra = choice.get("model_extra") or {}
    completion_ids = choice.get("token_ids") or extra.get("token_ids")
    prompt_ids = data.get("prompt_token_ids") or (data.get("model_extra") or {}).get("prompt_token_ids")
    logprobs = None
    content = (choice.get("logprobs") or {}).get("content") or []
    if content:
        logprobs = [float(item["logprob"]) for item in content]
        if completion_ids is None and all(str(item["token"]).startswith("token_id:") for item in content):
            completion_ids = [int(str(item["token"]).split(":", 1)[1]) for item in content]
    if completion_ids is None or prompt_ids is None:
        return None
    return TokenTrace(prompt_ids=prompt_ids, completion_ids=completion_ids, logprobs=logprobs,
                      finish_reason=choice.get("finish_reason"))


class OpenAIAgent:
    def __init__(self, policy: OpenAIPolicy) -> None:
        self.policy = policy
        self.history: list[dict[str, Any]] = []
        self.last_trace: TokenTrace | None = None

    async def act(self, observation: list[Message], tools: Sequence[Tool]) -> Message:
        self.history.extend(_to_wire(m) for m in observation)
        request: dict[str, Any] = {
            "model": self.policy.model,
            "messages": self.history,
            "temperature": self.policy.temperature,
            "top_p": self.policy.top_p,
            "max_tokens": self.policy.max_new_tokens,
            "logprobs": True,
            "extra_body": {"return_token_ids": True, "return_tokens_as_token_ids": True},
        }
        if tools:
            request["tools"] = [t.openai_schema() for t in tools]
        response = await self.policy.client.chat.completions.create(**request)
        choice = response.choices[0]
        calls = [
            ToolCall.parse(c.id, c.function.name, c.function.arguments or "{}") for c in (choice.message.tool_calls or [])
        ]
        message = Message.assistant(choice.message.content or "", tool_calls=calls)
        self.history.append(_to_wire(message))
        self.last_trace = trace_from_response(response)
        return message


class OpenAIPolicy:
    """`openai:<model>@<base_url>`; the key comes from OPENAI_API_KEY (any string for local servers)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_new_tokens: int = 256,
        timeout: float = 120.0,
        max_retries: int = 3,
        api_key: str | None = None,
    ) -> None:
        from openai import AsyncOpenAI

        self.spec = f"openai:{model}" + (f"@{base_url}" if base_url else "")
        self.model, self.temperature, self.top_p, self.max_new_tokens = model, temperature, top_p, max_new_tokens
        self.client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
            timeout=timeout,
            max_retries=max_retries,
        )

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> OpenAIAgent:
        return OpenAIAgent(self)

    async def aclose(self) -> None:
        await self.client.close()


