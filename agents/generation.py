"""The one generation interface: prompt ids in; completion ids and log-probs out.

Agents and the trainer talk to a `GenerationEngine`, never to transformers or vLLM
directly, so the same rollout and training code runs on either. An engine turns batches of
token-id prompts into `Generation`s (`generate_batch`), takes new weights after an
optimiser step (`load_weights`), and may give its memory back between phases (`sleep` /
`wake`) where the backend can.

`BatchingEngine` holds what every engine shares: concurrent episodes each await
`generate`, and a batching loop gathers the requests that arrive within a few milliseconds
(or, in lockstep, one from every live episode, in a fixed order) and runs them as one
`generate_batch` call in a worker thread, one batch at a time. `EngineAgent` is one
episode's conversation kept as exact token ids (token-in, token-out) over any engine.

Tokens are also reported as they are sampled: a request may carry an `on_token` callback
(the server streams with it), and `tokens_generated` counts every sampled token (the rollout
progress line reads it), so minutes of generation are never invisible. An engine that can
report each decoding step sets `streams = True` and takes an `on_token(row, token_id)`
keyword in `generate_batch`; for the others the tokens are reported when the batch ends.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from envarena.agents.chat_format import ChatFormat, parse_tool_calls
from envarena.types import Message, TokenTrace, Tool

__all__ = [
    "BatchingEngine", "EngineAgent", "EnginePolicy", "Generation", "GenerationEngine", "SamplingParams",
    "TokenSink", "stop_token_ids", "turn_seed",
]

#: Called with each token id of one request as it is sampled, in order, from the thread that
#: generates (so a caller on an event loop hands it over with `call_soon_threadsafe`).
TokenSink = Callable[[int], None]


def stop_token_ids(tokenizer: Any, generation_eos: int | Sequence[int] | None) -> set[int]:
    """The ids that end a reply, the same rule for every engine: the tokenizer's eos plus the
    model's generation-config eos ids (chat models often stop on a turn-end token)."""
    ids = {tokenizer.eos_token_id}
    if isinstance(generation_eos, int):
        ids.add(generation_eos)
    elif generation_eos:
        ids.update(generation_eos)
    return {i for i in ids if i is not None}


def turn_seed(episode_seed: int, turn: int) -> int:
    """The sampling seed of one turn of one episode, the same for every backend, so an engine
    with per-request seeds (vLLM, an OpenAI-compatible server) repeats a rollout exactly."""
    return (episode_seed * 1_000_003 + turn) % (2**31)


class SamplingParams(BaseModel):
    temperature: float = Field(default=1.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=256, ge=1)
    stop: tuple[str, ...] = ()
    # The completion must be JSON valid under this schema (a JSON string), then a stop token:
    # how a server honours a required tool call. Engines with `constrains = False` refuse it.
    json_schema: str | None = None

    def key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one batch."""
        return (self.temperature, self.top_p, self.max_new_tokens, self.stop, self.json_schema)


@dataclass
class Generation:
    completion_ids: list[int]
    logprobs: list[float]  # log p of each sampled token under the sampling distribution (after temperature)
    finish_reason: str  # "stop" (end of turn or a stop string) or "length"


@runtime_checkable
class GenerationEngine(Protocol):
    """What agents and the trainer need from a generation backend."""

    tokenizer: Any
    format: ChatFormat
    lockstep: bool
    tokens_generated: int  # every token sampled so far, counted as it is sampled

    def generate_batch(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, seeds: Sequence[int] | None = None
    ) -> list[Generation]:
        """Complete every prompt; `seeds` (one per prompt) make sampling repeatable where the
        backend supports per-request seeds."""
        ...

    async def generate(self, prompt_ids: list[int], params: SamplingParams, order: int = 0,
                       seed: int | None = None, on_token: TokenSink | None = None) -> Generation: ...

    def load_weights(self, weights: Iterable[tuple[str, Any]]) -> None:
        """Take the trainer's updated weights (names as in the Hugging Face checkpoint)."""
        ...

    def sleep(self) -> None:
        """Give accelerator memory back until `wake` (a no-op where the backend cannot)."""
        ...

    def wake(self) -> None: ...

    def decode_reply(self, completion_ids: Sequence[int]) -> str: ...

    def expect(self, episodes: int) -> None: ...

    def register(self) -> None: ...

    def unregister(self) -> None: ...

    async def aclose(self) -> None: ...


@dataclass
class _Request:
    prompt_ids: list[int]
    params: SamplingParams
    future: asyncio.Future[Generation]
    order: int = 0  # the requesting episode's agent seed (lockstep batches are sorted by it)
    seed: int | None = None
    on_token: TokenSink | None = None


class BatchingEngine:
    """Request batching shared by every engine; subclasses implement `generate_batch`."""

    tokenizer: Any
    format: ChatFormat
    streams = False  # True: generate_batch reports each decoding step through `on_token`
    constrains = False  # True: generate_batch honours `SamplingParams.json_schema`

    def __init__(self, *, max_batch_size: int = 16, batch_window_ms: float = 10.0) -> None:
        self.max_batch_size = max_batch_size
        self.batch_window_s = batch_window_ms / 1000
        self._queue: asyncio.Queue[_Request] | None = None
        self._queue_loop: asyncio.AbstractEventLoop | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._generate_lock = threading.Lock()  # one batch at a time (trainer and server share engines)
        self.batch_sizes: list[int] = []
        self._tokens_done = 0  # tokens of finished batches (exact: their completions' lengths)
        self._tokens_live = 0  # tokens sampled so far by the batch in flight
        # Lockstep: each batch waits for every live agent and is ordered by spawn index, so
        # its composition never depends on timing; with seeded sampling, rollouts repeat exactly.
        self.lockstep = False
        self.lockstep_timeout_s = 30.0
        self._live = 0
        self._expected = 0
        self._wake: asyncio.Event | None = None

    # ------------------------------------------------------------------ subclass hooks
    def generate_batch(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, seeds: Sequence[int] | None = None
    ) -> list[Generation]:
        raise NotImplementedError

    def load_weights(self, weights: Iterable[tuple[str, Any]]) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot load new weights")

    def sleep(self) -> None:
        return None

    def wake(self) -> None:
        return None

    def stop_ids(self) -> set[int]:
        """Token ids that end a reply (never part of its text)."""
        return {self.tokenizer.eos_token_id} - {None}

    def decode_reply(self, completion_ids: Sequence[int]) -> str:
        """The reply's text. Special tokens stay (tool-call markers can be special tokens);
        only the stop token that ended the turn is dropped."""
        ids = list(completion_ids)
        stops = self.stop_ids()
        while ids and ids[-1] in stops:
            ids.pop()
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    @property
    def tokens_generated(self) -> int:
        """Every token sampled so far, including those of the batch being generated."""
        return self._tokens_done + self._tokens_live

    # ------------------------------------------------------------------ async batching
    def expect(self, episodes: int) -> None:
        """Lockstep: the next round starts this many episodes; batch only once all have."""
        self._expected = episodes

    def register(self) -> None:
        """An agent starts an episode."""
        self._live += 1
        self._expected = max(0, self._expected - 1)

    def unregister(self) -> None:
        """An agent's episode is over: lockstep batches stop waiting for it."""
        self._live = max(0, self._live - 1)
        if self._wake is not None:
            self._wake.set()

    async def generate(
        self, prompt_ids: list[int], params: SamplingParams, order: int = 0, seed: int | None = None,
        on_token: TokenSink | None = None,
    ) -> Generation:
        if params.json_schema is not None and not self.constrains:
            raise NotImplementedError(f"{type(self).__name__} cannot constrain a completion to a JSON schema")
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop_task is None or self._loop_task.done() or self._queue_loop is not loop:
            self._queue = asyncio.Queue()
            self._queue_loop = loop
            self._wake = asyncio.Event()
            self._loop_task = loop.create_task(self._batch_loop(self._queue))
        request = _Request(list(prompt_ids), params, loop.create_future(), order, seed, on_token)
        await self._queue.put(request)
        assert self._wake is not None
        self._wake.set()
        return await request.future

    async def _gather_window(self, queue: asyncio.Queue[_Request]) -> list[_Request]:
        """Whatever arrives within the batching window (up to max_batch_size)."""
        batch = [await queue.get()]
        deadline = time.perf_counter() + self.batch_window_s
        while len(batch) < self.max_batch_size:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
            except (asyncio.TimeoutError, TimeoutError):
                break
        return batch

    async def _gather_lockstep(self, queue: asyncio.Queue[_Request]) -> list[_Request]:
        """One request from every live agent, ordered by episode (agent seed).

        If the full set does not arrive within `lockstep_timeout_s` (an episode failed before
        its agent started, or two agents of one engine take turns in a game), whatever is
        queued goes ahead: never a deadlock, at worst a run that is not bit-for-bit repeatable.
        """
        assert self._wake is not None
        while queue.empty() or queue.qsize() < self._live or self._expected > 0:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.lockstep_timeout_s)
            except (asyncio.TimeoutError, TimeoutError):
                if not queue.empty():
                    self._expected = 0
                    break
        batch = [queue.get_nowait() for _ in range(queue.qsize())]
        return sorted(batch, key=lambda r: r.order)

    def _run_batch(self, requests: list[_Request]) -> list[Generation]:
        seeds = [r.seed for r in requests]
        sinks = [r.on_token for r in requests]

        def on_token(row: int, token: int) -> None:
            self._tokens_live += 1
            sink = sinks[row]
            if sink is not None:
                sink(token)

        with self._generate_lock:
            args = ([r.prompt_ids for r in requests], requests[0].params,
                    seeds if all(s is not None for s in seeds) else None)  # fmt: skip
            try:
                if self.streams:
                    results = self.generate_batch(*args, on_token=on_token)  # type: ignore[call-arg, arg-type]
                else:
                    results = self.generate_batch(*args)  # type: ignore[arg-type]
                    for row, result in enumerate(results):  # reported at the end, in order
                        for token in result.completion_ids:
                            on_token(row, token)
            finally:
                self._tokens_live = 0
            self._tokens_done += sum(len(r.completion_ids) for r in results)
        return results

    async def _batch_loop(self, queue: asyncio.Queue[_Request]) -> None:
        while True:
            batch = await (self._gather_lockstep(queue) if self.lockstep else self._gather_window(queue))
            groups: dict[tuple[Any, ...], list[_Request]] = {}
            for request in batch:
                groups.setdefault(request.params.key(), []).append(request)
            for requests in groups.values():
                live = [r for r in requests if not r.future.cancelled()]
                if not live:
                    continue
                self.batch_sizes.append(len(live))
                try:
                    results = await asyncio.to_thread(self._run_batch, live)
                except Exception as err:  # every waiting episode gets the error, the loop lives on
                    for r in live:
                        if not r.future.done():
                            r.future.set_exception(err)
                    continue
                for r, result in zip(live, results):
                    if not r.future.done():
                        r.future.set_result(result)

    async def aclose(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            self._loop_task = None


class EngineAgent:
    """One episode's conversation, kept as exact token ids (token-in, token-out).

    Each turn's sampling seed derives from the episode's seed and the turn number, so an
    engine with per-request seeds (vLLM) repeats a rollout exactly.
    """

    def __init__(self, engine: GenerationEngine, params: SamplingParams, order: int = 0) -> None:
        self.engine, self.params, self.order = engine, params, order
        engine.register()
        self.history: list[Message] = []
        self.prompt_ids: list[int] | None = None
        self.completion_ids: list[int] = []
        self.turn = 0
        self.last_trace: TokenTrace | None = None

    def next_prompt(self, observation: Sequence[Message], tools: Sequence[Tool]) -> list[int]:
        fmt = self.engine.format
        if self.prompt_ids is None:
            prompt = fmt.first_prompt(observation, tools)
        else:
            prompt = fmt.next_prompt(self.prompt_ids, self.completion_ids, self.history, observation, tools)
        self.history.extend(observation)
        return prompt

    async def act(self, observation: list[Message], tools: Sequence[Tool]) -> Message:
        prompt = self.next_prompt(observation, tools)
        generation = await self.engine.generate(prompt, self.params, self.order, turn_seed(self.order, self.turn))
        self.turn += 1
        message = parse_tool_calls(self.engine.decode_reply(generation.completion_ids))
        self.history.append(message)
        self.prompt_ids, self.completion_ids = prompt, generation.completion_ids
        self.last_trace = TokenTrace(
            prompt_ids=prompt,
            completion_ids=generation.completion_ids,
            logprobs=generation.logprobs,
            finish_reason=generation.finish_reason,
        )
        return message

    def close(self) -> None:
        """Called by the rollout engine when the episode ends."""
        self.engine.unregister()


class EnginePolicy:
    """A policy over any generation engine: one `EngineAgent` per episode. `hf:` and `vllm:`
    build their engine and are this; the trainer wraps the engine it owns (`owns_engine=False`:
    the end of a rollout must not close it)."""

    def __init__(self, spec: str, engine: GenerationEngine, params: SamplingParams, *, owns_engine: bool = True) -> None:
        self.spec, self.engine, self.params, self.owns_engine = spec, engine, params, owns_engine

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> EngineAgent:
        return EngineAgent(self.engine, self.params, order=seed)

    async def aclose(self) -> None:
        if self.owns_engine:
            await self.engine.aclose()
