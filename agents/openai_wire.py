"""What crosses the wire for the `openai:` backend: request messages, token traces read back
from responses, and server failures turned into one-sentence errors.

Kept apart from the agent so the agent reads as the conversation logic only. Servers differ
in what they return (vLLM adds `token_ids` and `prompt_token_ids`; `return_tokens_as_token_ids`
writes log-prob tokens as `token_id:N`; OpenAI itself returns neither), so every reader here
accepts a missing field and says so by returning None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envarena.agents.chat_format import ChatFormat
from envarena.errors import EnvArenaError
from envarena.types import Message, TokenTrace, Tool

__all__ = [
    "ServerRequestError",
    "ServerUnreachableError",
    "completion_ids",
    "error_message",
    "server_error",
    "text_tool_messages",
    "to_wire",
    "trace_from_response",
]


class ServerUnreachableError(EnvArenaError):
    """The OpenAI-compatible server could not be reached (down, wrong URL, timed out)."""


class ServerRequestError(EnvArenaError):
    """The server answered with an HTTP error the agent cannot work around."""


def to_wire(message: Message) -> dict[str, Any]:
    """A message as a chat request carries it (tool calls native, content None beside them)."""
    wire = message.openai_format()
    if message.role == "assistant" and message.tool_calls and not message.content:
        wire["content"] = None
    return wire


class _TemplateWithoutTools:
    """Stands in for a tokenizer whose chat template knows no tools: `ChatFormat.to_dicts` then
    writes the tool schemas into the system prompt and earlier tool calls back as Hermes text,
    exactly as the in-process agents render them for such a model."""

    chat_template = ""


_TEXT_TOOLS = ChatFormat(_TemplateWithoutTools())


def text_tool_messages(history: Sequence[Message], tools: Sequence[Tool]) -> list[dict[str, Any]]:
    """Chat messages for a server that refuses `tools`: schemas in the system prompt."""
    return _TEXT_TOOLS.to_dicts(history, tools)


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)


def _ids_from_tokens(tokens: Sequence[Any]) -> list[int] | None:
    """Log-prob tokens written as `token_id:N` (vLLM's `return_tokens_as_token_ids`)."""
    if not tokens or not all(str(t).startswith("token_id:") for t in tokens):
        return None
    return [int(str(t).split(":", 1)[1]) for t in tokens]


def completion_ids(choice: dict[str, Any]) -> tuple[list[int] | None, list[float] | None]:
    """Sampled token ids and their log-probs from a `/v1/completions` choice (None if absent)."""
    logprobs = choice.get("logprobs") or {}
    values = logprobs.get("token_logprobs") or None
    ids = choice.get("token_ids") or _ids_from_tokens(logprobs.get("tokens") or [])
    if values is not None and any(v is None for v in values):
        values = None
    return (list(ids) if ids is not None else None), ([float(v) for v in values] if values is not None else None)


def trace_from_response(response: Any) -> TokenTrace | None:
    """Token ids and log-probs from a chat completion, if the server sent them."""
    data = _dump(response)
    choice = data["choices"][0]
    completion = choice.get("token_ids")
    prompt = data.get("prompt_token_ids") or choice.get("prompt_token_ids")
    content = (choice.get("logprobs") or {}).get("content") or []
    logprobs = [float(item["logprob"]) for item in content] or None
    if completion is None:
        completion = _ids_from_tokens([item["token"] for item in content])
    if completion is None or prompt is None:
        return None
    return TokenTrace(prompt_ids=prompt, completion_ids=completion, logprobs=logprobs,
                      finish_reason=choice.get("finish_reason"))  # fmt: skip


def error_message(err: Any) -> str:
    """The server's own words from an HTTP error body (OpenAI `{"error": {"message"}}`,
    FastAPI `{"detail"}`), else the client's summary."""
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            text = inner.get("message") or inner.get("detail")
            if text:
                return str(text)
        if isinstance(inner, str):
            return inner
    return str(getattr(err, "message", err))


def server_error(err: Exception, base_url: str) -> EnvArenaError | None:
    """The one-sentence error for a failed request, or None if `err` is not the server's doing."""
    import openai

    if isinstance(err, openai.APITimeoutError):
        return ServerUnreachableError(f"the server at {base_url} did not answer in time (raise the 'timeout' option)")
    if isinstance(err, openai.APIConnectionError):
        cause = err.__cause__
        reason = f" ({cause})" if cause is not None and str(cause) else ""
        return ServerUnreachableError(
            f"cannot reach the OpenAI-compatible server at {base_url}{reason}; is it running and is the URL right?"
        )
    if isinstance(err, openai.APIStatusError):
        return ServerRequestError(
            f"the server at {base_url} refused the request (HTTP {err.status_code}): {error_message(err).rstrip('.')}"
        )
    return None
