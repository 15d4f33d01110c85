"""`envarena serve MODEL`: an OpenAI-compatible server over the `hf` backend.

Small deployments and tests then use the same client paths as `vllm serve`: chat
completions with tools, log-probs and (vLLM-style) returned token ids, optional streaming;
and completions from prompt token ids (token-in, token-out: the `openai:` agent renders the
chat itself and sends ids, so turn t+1 extends turn t exactly). Requests from concurrent
clients are batched by the engine.
"""


import json
import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from envarena.agents.chat_format import parse_tool_calls
from envarena.agents.hf import HFEngine, SamplingParams
from envarena.types import Message, Tool, ToolCall

__all__ = ["build_app"]


class _ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    n: int = 1
    stream: bool = False
    logprobs: bool = False
    return_token_ids: bool = False
    return_tokens_as_token_ids: bool = False


class _CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = ""
    prompt: list[int] | str
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=16, ge=1, le=8192)
    stop: str | list[str] | None = None
    n: int = 1
    seed: int | None = None  # kept for vLLM compatibility; the hf engine samples from torch's global generator
    logprobs: int | None = Field(default=None, ge=0)
    return_token_ids: bool = False
    return_tokens_as_token_ids: bool = False
    skip_special_tokens: bool = True


def _message(raw: dict[str, Any]) -> Message:
    calls = [
        ToolCall.parse(c.get("id", f"call_{i}"), c["function"]["name"], c["function"].get("arguments") or "{}")
        for i, c in enumerate(raw.get("tool_calls") or [])
    ]
    content = raw.get("content") or ""
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return Message(role=raw["role"], content=content, tool_calls=calls, tool_call_id=raw.get("tool_call_id"), name=raw.get("name"))


def _tool(schema: dict[str, Any]) -> Tool:
    fn = schema.get("function", schema)
    return Tool(name=fn["name"], description=fn.get("description", ""), parameters=fn.get("parameters") or {})


def build_app(engine: "HFEngine", served_name: str) -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    app = FastAPI(title="envarena serve")

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse(status_code=status, content={"error": {"message": message, "type": "invalid_request_error"}})

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": served_name, "object": "model", "owned_by": "envarena"}]}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/completions")
    async def complete(request: Request) -> Any:
        try:
            body = _CompletionRequest.model_validate(await request.json())
        except (ValidationError, json.JSONDecodeError) as err:
            return error(400, f"bad request: {err}")
        if body.n != 1:
            return error(400, "only n=1 is supported")
        prompt_ids = body.prompt if isinstance(body.prompt, list) else engine.tokenizer.encode(body.prompt)
        if not prompt_ids or any(not 0 <= t < len(engine.tokenizer) for t in prompt_ids):
            return error(400, "the prompt must be non-empty token ids of this model's vocabulary")
        stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
        params = SamplingParams(temperature=body.temperature, top_p=body.top_p, max_new_tokens=body.max_tokens,
                                stop=stop)
        try:
            generation = await engine.generate(list(prompt_ids), params, seed=body.seed)
        except Exception as err:  # a clear OpenAI-style error, not a bare 500
            return error(500, f"generation failed: {type(err).__name__}: {err}")
        completion = generation.completion_ids
        text = (engine.tokenizer.decode(completion, skip_special_tokens=True) if body.skip_special_tokens
                else engine.decode_reply(completion))
        choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": generation.finish_reason, "logprobs": None}
        if body.logprobs is not None:
            tokens = [f"token_id:{t}" if body.return_tokens_as_token_ids else engine.tokenizer.decode([t])
                      for t in completion]
            choice["logprobs"] = {"tokens": tokens, "token_logprobs": generation.logprobs,
                                  "top_logprobs": None, "text_offset": None}
        if body.return_token_ids:
            choice["token_ids"] = completion
            choice["prompt_token_ids"] = list(prompt_ids)
        return {
            "id": f"cmpl-{uuid.uuid4().hex}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": served_name,
            "choices": [choice],
            "usage": {"prompt_tokens": len(prompt_ids), "completion_tokens": len(completion),
                      "total_tokens": len(prompt_ids) + len(completion)},
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        try:
            body = _ChatRequest.model_validate(await request.json())
        except (ValidationError, json.JSONDecodeError) as err:
            return error(400, f"bad request: {err}")
        if body.n != 1:
            return error(400, "only n=1 is supported")
        try:
            messages = [_message(m) for m in body.messages]
            tools = [_tool(t) for t in body.tools or []]
        except (KeyError, ValidationError, TypeError) as err:
            return error(400, f"bad messages or tools: {err}")
        stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
        params = SamplingParams(
            temperature=body.temperature,
            top_p=body.top_p,
            max_new_tokens=body.max_completion_tokens or body.max_tokens or 256,
            stop=stop,
        )
        prompt_ids = engine.format.first_prompt(messages, tools)
        generation = await engine.generate(prompt_ids, params)
        text = engine.tokenizer.decode(generation.completion_ids, skip_special_tokens=True)
        for s in stop:
            text = text.split(s, 1)[0]
        parsed = parse_tool_calls(text) if tools else Message.assistant(text)
        finish = "tool_calls" if parsed.tool_calls else generation.finish_reason
        message: dict[str, Any] = {"role": "assistant", "content": parsed.content or (None if parsed.tool_calls else "")}
        if parsed.tool_calls:
            message["tool_calls"] = [c.openai_format() for c in parsed.tool_calls]
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
        if body.logprobs:
            choice["logprobs"] = {
                "content": [
                    {
                        "token": f"token_id:{t}" if body.return_tokens_as_token_ids else engine.tokenizer.decode([t]),
                        "logprob": lp,
                        "bytes": None,
                        "top_logprobs": [],
                    }
                    for t, lp in zip(generation.completion_ids, generation.logprobs)
                ]
            }
        if body.return_token_ids:
            choice["token_ids"] = generation.completion_ids
        response: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": served_name,
            "choices": [choice],
            "usage": {
                "prompt_tokens": len(prompt_ids),
                "completion_tokens": len(generation.completion_ids),
                "total_tokens": len(prompt_ids) + len(generation.completion_ids),
            },
        }
        if body.return_token_ids:
            response["prompt_token_ids"] = prompt_ids
        if not body.stream:
            return response
        return StreamingResponse(_stream(response), media_type="text/event-stream")

    return app


def _stream(response: dict[str, Any]) -> Any:
    """The finished answer as chat.completion.chunk events (one delta, then the finish)."""
    choice = response["choices"][0]
    base = {k: response[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    delta = {"role": "assistant", **{k: v for k, v in choice["message"].items() if k != "role" and v is not None}}
    for i, call in enumerate(delta.get("tool_calls", [])):
        call["index"] = i
    first = base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None, "logprobs": choice["logprobs"]}]}
    last = base | {"choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}], "usage": response["usage"]}
    yield f"data: {json.dumps(first)}\n\n"
    yield f"data: {json.dumps(last)}\n\n"
    yield "data: [DONE]\n\n"


def serve(model: str, *, host: str = "127.0.0.1", port: int = 8000, device: str = "auto", dtype: str = "auto") -> None:
    import uvicorn

    engine = HFEngine(model, device=device, dtype=dtype)
    uvicorn.run(build_app(engine, model), host=host, port=port, log_level="warning")
