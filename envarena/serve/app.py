"""The OpenAI-compatible HTTP API over one generation engine (the `hf` backend).

Chat completions (tools, `tool_choice`, log-probs, vLLM-style `return_token_ids`) and
completions (text or token-id prompts, one or several, as vLLM takes them), each either in
one response or streamed as server-sent events token by token while the engine generates
(concurrent requests still share its batches). A model name other than the served one is
refused with 404 `model_not_found`, as OpenAI does; what cannot be honoured is refused with
400, never silently ignored. Each request ends in one log line.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from envarena.agents.chat_format import parse_tool_calls
from envarena.agents.generation import Generation, SamplingParams
from envarena.agents.json_constraint import check_schema
from envarena.request_limits import MAX_TEMPERATURE, MAX_TOKENS
from envarena.serve.text_stream import TextStream
from envarena.serve.tool_choice import OPEN, ToolChoiceError, ToolPlan, forced_call, plan_tools
from envarena.types import Message, Tool, ToolCall

__all__ = ["build_app"]


class ApiError(Exception):
    """An OpenAI-style error response."""

    def __init__(self, status: int, message: str, *, kind: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown OpenAI / vLLM fields are accepted and unused

    model: str = ""
    temperature: float = Field(default=1.0, ge=0.0, le=MAX_TEMPERATURE)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    n: int = 1
    seed: int | None = None  # kept for vLLM compatibility; the hf engine samples from torch's global generator
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    return_token_ids: bool = False
    return_tokens_as_token_ids: bool = False

    def stops(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())

    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


class _ChatRequest(_Sampling):
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    logprobs: bool = False


class _CompletionRequest(_Sampling):
    prompt: str | list[int] | list[str] | list[list[int]]
    max_tokens: int = Field(default=16, ge=1, le=MAX_TOKENS)
    logprobs: int | None = Field(default=None, ge=0)
    echo: bool = False
    skip_special_tokens: bool = True


@dataclass
class _RequestLog:
    """What the one log line of a request says."""

    method: str
    path: str
    client: str
    started: float = field(default_factory=time.perf_counter)
    status: int | str = 0
    prompt_tokens: int | None = None
    completion_tokens: int = 0
    stream: bool = False

    def line(self) -> str:
        text = f'{self.client} "{self.method} {self.path}" {self.status} {time.perf_counter() - self.started:.2f}s'
        if self.prompt_tokens is not None:
            text += f" prompt {self.prompt_tokens} + completion {self.completion_tokens} tokens"
        return text + (" (stream)" if self.stream else "")


#: The log status of a stream whose client went away before it ended (nginx's code for it).
_DISCONNECTED = "499 (client disconnected)"


def _drop(tasks: list[asyncio.Future[Any]]) -> None:
    """Cancel generations nobody will read: a request still queued for a batch is dropped
    there; one already in a batch runs to its end (the engines cannot stop one row early)."""
    for task in tasks:
        if not task.done():
            task.cancel()


def _message(raw: dict[str, Any]) -> Message:
    calls = [
        ToolCall.parse(c.get("id", f"call_{i}"), c["function"]["name"], c["function"].get("arguments") or "{}")
        for i, c in enumerate(raw.get("tool_calls") or [])
    ]
    content = raw.get("content") or ""
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return Message(role=raw["role"], content=content, tool_calls=calls, tool_call_id=raw.get("tool_call_id"),
                   name=raw.get("name"))


def _tool(schema: dict[str, Any]) -> Tool:
    fn = schema.get("function", schema)
    return Tool(name=fn["name"], description=fn.get("description", ""), parameters=fn.get("parameters") or {})


def _sse(data: dict[str, Any] | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def _cut(text: str, stops: tuple[str, ...]) -> str:
    for s in stops:
        text = text.split(s, 1)[0]
    return text


def build_app(engine: Any, served_name: str, *, log: Callable[[str], None] | None = None) -> FastAPI:
    """The FastAPI app serving `engine` under the model name `served_name`; `log` receives one
    line per request (nothing is logged without it)."""
    app = FastAPI(title="envarena serve")
    tokenizer = engine.tokenizer
    emit = log or (lambda line: None)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(status_code=err.status, content=err.body())

    @app.middleware("http")
    async def log_requests(request: Request, call_next: Any) -> Any:
        client = f"{request.client.host}:{request.client.port}" if request.client else "-"
        record = request.state.record = _RequestLog(request.method, request.url.path, client)
        try:
            response = await call_next(request)
        except Exception:
            record.status = 500
            emit(record.line())
            raise
        record.status = response.status_code
        if not record.stream:  # a stream logs when its last event is sent
            emit(record.line())
        return response

    async def parse(request: Request, kind: type[BaseModel]) -> Any:
        try:
            body = kind.model_validate(await request.json())
        except (ValidationError, json.JSONDecodeError) as err:
            raise ApiError(400, f"bad request: {err}") from None
        if body.model and body.model != served_name:
            raise ApiError(404, f"The model '{body.model}' does not exist; this server serves '{served_name}'.",
                           code="model_not_found", param="model")  # fmt: skip
        if body.n != 1:
            raise ApiError(400, "only n=1 is supported", param="n")
        return body

    async def generate(prompt_ids: list[int], params: SamplingParams, seed: int | None,
                       on_token: Callable[[int], None] | None = None) -> Generation:  # fmt: skip
        try:
            return await engine.generate(prompt_ids, params, seed=seed, on_token=on_token)
        except Exception as err:  # a clear OpenAI-style error, not a bare 500
            raise ApiError(500, f"generation failed: {type(err).__name__}: {err}", kind="server_error") from None

    def token_feed(
        prompts: list[list[int]], params: SamplingParams, seed: int | None
    ) -> tuple[asyncio.Queue[Any], list[asyncio.Future[Generation]]]:
        """Start one generation per prompt; their tokens arrive on one queue as (index, token),
        and (index, None) once that generation is over."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        tasks = []
        for i, prompt in enumerate(prompts):
            sink = lambda token, i=i: loop.call_soon_threadsafe(queue.put_nowait, (i, token))  # noqa: E731
            task = asyncio.ensure_future(generate(prompt, params, seed, sink))
            task.add_done_callback(lambda _, i=i: queue.put_nowait((i, None)))
            tasks.append(task)
        return queue, tasks

    def base(kind: str, prefix: str) -> dict[str, Any]:
        return {"id": f"{prefix}-{uuid.uuid4().hex}", "object": kind, "created": int(time.time()), "model": served_name}

    def usage(prompt: int, completion: int) -> dict[str, int]:
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def error_event(err: BaseException) -> str:
        if not isinstance(err, ApiError):
            err = ApiError(500, f"{type(err).__name__}: {err}", kind="server_error")
        return _sse(err.body())

    # ------------------------------------------------------------------ endpoints
    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": served_name, "object": "model", "owned_by": "envarena"}]}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/completions")
    async def complete(request: Request) -> Any:
        body: _CompletionRequest = await parse(request, _CompletionRequest)
        record: _RequestLog = request.state.record
        if body.echo:
            raise ApiError(400, "echo is not supported", param="echo")
        if body.stream and body.logprobs is not None:
            raise ApiError(400, "logprobs are not available with stream: true; ask without streaming", param="logprobs")
        raw = body.prompt
        if isinstance(raw, str) or (raw and isinstance(raw[0], int)):
            raw = [raw]  # type: ignore[list-item]
        prompts = [tokenizer.encode(p) if isinstance(p, str) else list(p) for p in raw]  # type: ignore[union-attr]
        # the model's own table: it may be larger than the tokenizer's, and ids it sampled come back
        vocabulary = getattr(engine, "vocab_size", None) or len(tokenizer)
        if not prompts or any(not p or any(not 0 <= t < vocabulary for t in p) for p in prompts):
            raise ApiError(400, "the prompt must be non-empty text or token ids of this model's vocabulary",
                           param="prompt")
        params = SamplingParams(temperature=body.temperature, top_p=body.top_p, max_new_tokens=body.max_tokens,
                                stop=body.stops())  # fmt: skip
        record.prompt_tokens = sum(len(p) for p in prompts)
        if body.stream:
            record.stream = True
            return StreamingResponse(stream_completions(body, prompts, params, record), media_type="text/event-stream")
        generations = await asyncio.gather(*(generate(p, params, body.seed) for p in prompts))
        record.completion_tokens = sum(len(g.completion_ids) for g in generations)
        choices = []
        for i, (prompt, generation) in enumerate(zip(prompts, generations)):
            completion = generation.completion_ids
            text = (tokenizer.decode(completion, skip_special_tokens=True) if body.skip_special_tokens
                    else engine.decode_reply(completion))  # fmt: skip
            choice: dict[str, Any] = {"index": i, "text": text, "finish_reason": generation.finish_reason,
                                      "logprobs": None}
            if body.logprobs is not None:
                tokens = [f"token_id:{t}" if body.return_tokens_as_token_ids else tokenizer.decode([t])
                          for t in completion]
                choice["logprobs"] = {"tokens": tokens, "token_logprobs": generation.logprobs,
                                      "top_logprobs": None, "text_offset": None}  # fmt: skip
            if body.return_token_ids:
                choice["token_ids"] = completion
                choice["prompt_token_ids"] = prompt
            choices.append(choice)
        return {**base("text_completion", "cmpl"), "choices": choices,
                "usage": usage(record.prompt_tokens, record.completion_tokens)}  # fmt: skip

    async def stream_completions(body: _CompletionRequest, prompts: list[list[int]], params: SamplingParams,
                                 record: _RequestLog) -> AsyncIterator[str]:  # fmt: skip
        head = base("text_completion", "cmpl")
        streams = [TextStream(tokenizer, stop_ids=engine.stop_ids(), stops=params.stop,
                              skip_special_tokens=body.skip_special_tokens) for _ in prompts]  # fmt: skip
        pending: list[list[int]] = [[] for _ in prompts]  # ids not yet sent with a chunk

        def chunk(i: int, text: str, finish: str | None = None) -> str:
            choice: dict[str, Any] = {"index": i, "text": text, "logprobs": None, "finish_reason": finish}
            if body.return_token_ids:
                choice["token_ids"], pending[i] = pending[i], []
            return _sse({**head, "choices": [choice]})

        queue, tasks = token_feed(prompts, params, body.seed)
        record.status = 200
        try:
            open_ = len(prompts)
            while open_:
                i, token = await queue.get()
                if token is not None:
                    pending[i].append(token)
                    record.completion_tokens += 1
                    if delta := streams[i].push(token):
                        yield chunk(i, delta)
                    continue
                open_ -= 1
                try:
                    generation = tasks[i].result()
                except Exception as err:
                    record.status = "500 (in stream)"
                    yield error_event(err)
                    break
                ids = generation.completion_ids
                final = (tokenizer.decode(ids, skip_special_tokens=True) if body.skip_special_tokens
                         else engine.decode_reply(ids))  # fmt: skip
                yield chunk(i, streams[i].finish(_cut(final, params.stop)), generation.finish_reason)
            else:
                if body.include_usage():
                    totals = usage(record.prompt_tokens or 0, record.completion_tokens)
                    yield _sse({**head, "choices": [], "usage": totals})
            yield _sse("[DONE]")
        except (asyncio.CancelledError, GeneratorExit):
            record.status = _DISCONNECTED
            raise
        finally:
            _drop(tasks)
            emit(record.line())

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body: _ChatRequest = await parse(request, _ChatRequest)
        record: _RequestLog = request.state.record
        if body.stream and body.logprobs:
            raise ApiError(400, "logprobs are not available with stream: true; ask without streaming", param="logprobs")
        try:
            messages = [_message(m) for m in body.messages]
            tools = [_tool(t) for t in body.tools or []]
        except (KeyError, ValidationError, TypeError, AttributeError) as err:
            raise ApiError(400, f"bad messages or tools: {err}", param="messages") from None
        try:
            plan = plan_tools(tools, body.tool_choice)
        except ToolChoiceError as err:
            raise ApiError(400, str(err), param="tool_choice") from None
        if plan.schema is not None:
            try:
                check_schema(plan.schema)
            except ValueError as err:
                raise ApiError(400, f"the parameters of the required tool cannot be enforced: {err}",
                               param="tools") from None
        params = SamplingParams(temperature=body.temperature, top_p=body.top_p, json_schema=plan.schema,
                                max_new_tokens=body.max_completion_tokens or body.max_tokens or 256, stop=body.stops())
        prompt_ids = engine.format.first_prompt(messages, plan.tools)
        if plan.prefill:  # the answer begins with the opening of the required call
            prompt_ids = [*prompt_ids, *engine.format.encode(plan.prefill)]
        record.prompt_tokens = len(prompt_ids)
        if body.stream and not plan.prefill:
            record.stream = True
            events = stream_chat(body, plan, prompt_ids, params, record)
            return StreamingResponse(events, media_type="text/event-stream")
        generation = await generate(prompt_ids, params, body.seed)
        record.completion_tokens = len(generation.completion_ids)
        text = _cut(tokenizer.decode(generation.completion_ids, skip_special_tokens=True), params.stop)
        reply, finish = answer(plan, text, generation)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content or (None if reply.tool_calls else "")}
        if reply.tool_calls:
            message["tool_calls"] = [c.openai_format() for c in reply.tool_calls]
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
        if body.logprobs:
            choice["logprobs"] = {"content": [
                {"token": f"token_id:{t}" if body.return_tokens_as_token_ids else tokenizer.decode([t]), "logprob": lp,
                 "bytes": None, "top_logprobs": []}
                for t, lp in zip(generation.completion_ids, generation.logprobs)
            ]}  # fmt: skip
        if body.return_token_ids:
            choice["token_ids"] = generation.completion_ids
        response: dict[str, Any] = {**base("chat.completion", "chatcmpl"), "choices": [choice],
                                    "usage": usage(len(prompt_ids), len(generation.completion_ids))}  # fmt: skip
        if body.return_token_ids:
            response["prompt_token_ids"] = prompt_ids
        if not body.stream:
            return response
        record.stream = True  # a forced call: generated whole (it is checked first), sent as events
        return StreamingResponse(replay_chat(body, response, record), media_type="text/event-stream")

    def answer(plan: ToolPlan, text: str, generation: Generation) -> tuple[Message, str]:
        """The assistant message in the model's text, and the finish reason."""
        if plan.prefill:
            call = forced_call(plan.prefill + text, plan.allowed)
            wanted = " or ".join(sorted(plan.allowed))
            if call is None and generation.finish_reason == "length":
                raise ApiError(400, f"max_tokens={len(generation.completion_ids)} ended the required call of {wanted} "
                               "before it was complete; raise max_tokens", param="max_tokens")  # fmt: skip
            if call is None:
                raise ApiError(500, f"tool_choice required a call of {wanted}, and the model wrote no valid one: "
                               f"{text[:200]!r}", kind="server_error", code="invalid_tool_call")  # fmt: skip
            return Message.assistant("", tool_calls=[call]), "tool_calls"
        reply = parse_tool_calls(text) if plan.parse else Message.assistant(text)
        return reply, "tool_calls" if reply.tool_calls else generation.finish_reason

    def tool_call_deltas(calls: list[ToolCall]) -> list[dict[str, Any]]:
        return [{"index": i, **c.openai_format()} for i, c in enumerate(calls)]

    async def stream_chat(body: _ChatRequest, plan: ToolPlan, prompt_ids: list[int], params: SamplingParams,
                          record: _RequestLog) -> AsyncIterator[str]:  # fmt: skip
        head = base("chat.completion.chunk", "chatcmpl")
        pending: list[int] = []

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            nonlocal pending
            choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            if body.return_token_ids:
                choice["token_ids"], pending = pending, []
            return _sse({**head, "choices": [choice]})

        text = TextStream(tokenizer, stop_ids=engine.stop_ids(), stops=params.stop, holds=(OPEN,) if plan.parse else (),
                          hold_json=plan.parse)  # fmt: skip
        queue, (task,) = token_feed([prompt_ids], params, body.seed)
        record.status = 200
        try:
            first = {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                                          "finish_reason": None}]}  # fmt: skip
            if body.return_token_ids:
                first["prompt_token_ids"] = prompt_ids
            yield _sse(first)
            while (item := await queue.get())[1] is not None:
                pending.append(item[1])
                record.completion_tokens += 1
                if delta := text.push(item[1]):
                    yield chunk({"content": delta})
            try:
                generation = task.result()
            except Exception as err:
                record.status = "500 (in stream)"
                yield error_event(err)
                return
            final = _cut(tokenizer.decode(generation.completion_ids, skip_special_tokens=True), params.stop)
            reply, finish = answer(plan, final, generation)
            if reply.tool_calls:
                yield chunk({"tool_calls": tool_call_deltas(reply.tool_calls)})
            elif rest := text.finish(final):
                yield chunk({"content": rest})
            yield chunk({}, finish)
            if body.include_usage():
                yield _sse({**head, "choices": [], "usage": usage(len(prompt_ids), len(generation.completion_ids))})
            yield _sse("[DONE]")
        except (asyncio.CancelledError, GeneratorExit):
            record.status = _DISCONNECTED
            raise
        finally:
            _drop([task])
            emit(record.line())

    async def replay_chat(body: _ChatRequest, response: dict[str, Any], record: _RequestLog) -> AsyncIterator[str]:
        """A finished answer as chat.completion.chunk events (the role, the calls, the finish)."""
        head = {k: response[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
        choice = response["choices"][0]
        calls = [{"index": i, **c} for i, c in enumerate(choice["message"].get("tool_calls", []))]
        try:
            steps = [({"role": "assistant", "content": ""}, None), ({"tool_calls": calls}, None),
                     ({}, choice["finish_reason"])]  # fmt: skip
            for delta, finish in steps:
                event = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                yield _sse({**head, "choices": [event]})
            if body.include_usage():
                yield _sse({**head, "choices": [], "usage": response["usage"]})
            yield _sse("[DONE]")
        finally:
            emit(record.line())

    return app
