"""The `hf:` backend: a transformers model on CPU or CUDA, batched across episodes.

Concurrent episodes each await `HFEngine.generate`; a batching loop gathers the requests
that arrive within a few milliseconds and runs them as one left-padded `model.generate`
call in a worker thread. On one machine that batching is where rollout throughput comes
from. Each answer carries its exact token ids and per-token log-probabilities.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from envarena.agents.chat_format import ChatFormat, parse_tool_calls
from envarena.agents.models import resolve_model
from envarena.types import Message, TokenTrace, Tool

__all__ = ["Generation", "HFAgent", "HFEngine", "HFPolicy", "SamplingParams"]


class SamplingParams(BaseModel):
    temperature: float = Field(default=1.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=256, ge=1)
    stop: tuple[str, ...] = ()

    def key(self) -> tuple[Any, ...]:
        return (self.temperature, self.top_p, self.max_new_tokens, self.stop)


@dataclass
class Generation:
    completion_ids: list[int]
    logprobs: list[float]
    finish_reason: str  # "stop" (end of turn or a stop string) or "length"


@dataclass
class _Request:
    prompt_ids: list[int]
    params: SamplingParams
    future: asyncio.Future[Generation]
    order: int = 0  # the requesting episode's agent seed (lockstep batches are sorted by it)


def _pick_device(device: str) -> str:
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _pick_dtype(dtype: str, device: str) -> Any:
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, dtype)


class _LogprobRecorder:
    """Records log p(sampled token) at each step without keeping [batch, steps, vocab].

    Custom logits processors run before the sampling warpers, so `scores` here are the
    model's logits; log p = logit/T - logsumexp(logits/T) is the policy the tokens came
    from. The token chosen at step t is only known at step t+1 (it ends `input_ids`), so
    each step keeps that step's logits (a reference, no copy) and one logsumexp per row.
    """

    def __init__(self, temperature: float) -> None:
        self.temperature = temperature if temperature > 0 else 1.0
        self.scores = None
        self.normalizer = None
        self.chosen: list[Any] = []

    def _take(self, tokens: Any) -> None:
        picked = self.scores.gather(1, tokens[:, None]).squeeze(1).float() / self.temperature
        self.chosen.append(picked - self.normalizer)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if self.scores is not None:
            self._take(input_ids[:, -1])
        self.scores = scores
        self.normalizer = torch.logsumexp(scores.float() / self.temperature, dim=-1)
        return scores

    def finish(self, last_tokens: Any) -> Any:
        import torch

        if self.scores is not None:
            self._take(last_tokens)
        return torch.stack(self.chosen, dim=1) if self.chosen else None


class HFEngine:
    """A loaded model plus a request batcher; shared by every episode of a policy."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        max_batch_size: int = 16,
        batch_window_ms: float = 10.0,
        loaded: tuple[Any, Any] | None = None,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_name = model
        if loaded is not None:  # a model someone else owns (the trainer's policy)
            self.model, self.tokenizer = loaded
            self.device = str(next(self.model.parameters()).device)
        else:
            path = resolve_model(model)
            self.device = _pick_device(device)
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=_pick_dtype(dtype, self.device)).to(self.device)
        self.model.eval()
        self.format = ChatFormat(self.tokenizer)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        self.stop_ids = self._stop_ids()
        self.max_batch_size = max_batch_size
        self.batch_window_s = batch_window_ms / 1000
        self._queue: asyncio.Queue[_Request] | None = None
        self._queue_loop: asyncio.AbstractEventLoop | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()  # one generate at a time (trainer and server share engines)
        self.batch_sizes: list[int] = []
        # Lockstep: each batch waits for every live agent and is ordered by spawn index, so
        # its composition never depends on timing; with seeded torch, rollouts repeat exactly.
        self.lockstep = False
        self.lockstep_timeout_s = 30.0
        self._live = 0
        self._expected = 0
        self._wake: asyncio.Event | None = None

    def _stop_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id}
        generation_eos = getattr(self.model.generation_config, "eos_token_id", None)
        if isinstance(generation_eos, int):
            ids.add(generation_eos)
        elif generation_eos:
            ids.update(generation_eos)
        return {i for i in ids if i is not None}

    # ------------------------------------------------------------------ synchronous core
    def generate_batch(self, prompts: Sequence[Sequence[int]], params: SamplingParams) -> list[Generation]:
        """One left-padded `model.generate` over several prompts."""
        import torch
        from transformers import LogitsProcessorList

        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            input_ids[row, width - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
            attention[row, width - len(prompt) :] = 1
        recorder = _LogprobRecorder(params.temperature)
        sample = params.temperature > 0
        with self._lock, torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                do_sample=sample,
                temperature=params.temperature if sample else None,
                top_p=params.top_p if sample else None,
                top_k=None,
                max_new_tokens=params.max_new_tokens,
                pad_token_id=self.pad_id,
                eos_token_id=sorted(self.stop_ids),
                logits_processor=LogitsProcessorList([recorder]),
                return_dict_in_generate=True,
            )
        new_tokens = out.sequences[:, width:].cpu()
        logprobs = recorder.finish(out.sequences[:, -1])
        logprobs = logprobs.cpu() if logprobs is not None else None
        return [self._cut(new_tokens[row].tolist(), logprobs[row].tolist() if logprobs is not None else [], params) for row in range(len(prompts))]

    def _cut(self, tokens: list[int], logprobs: list[float], params: SamplingParams) -> Generation:
        """A row's own completion: up to and including its first stop token (the rest is
        padding added after it finished), or up to a stop string."""
        end, reason = len(tokens), "length"
        for i, token in enumerate(tokens):
            if token in self.stop_ids:
                end, reason = i + 1, "stop"
                break
        if params.stop:
            text = ""
            for i in range(end):
                text = self.tokenizer.decode(tokens[: i + 1], skip_special_tokens=False)
                if any(s in text for s in params.stop):
                    end, reason = i + 1, "stop"
                    break
        return Generation(tokens[:end], logprobs[:end], reason)

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

    async def generate(self, prompt_ids: list[int], params: SamplingParams, order: int = 0) -> Generation:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop_task is None or self._loop_task.done() or self._queue_loop is not loop:
            self._queue = asyncio.Queue()
            self._queue_loop = loop
            self._wake = asyncio.Event()
            self._loop_task = loop.create_task(self._batch_loop(self._queue))
        request = _Request(list(prompt_ids), params, loop.create_future(), order)
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
                    results = await asyncio.to_thread(self.generate_batch, [r.prompt_ids for r in live], live[0].params)
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


class HFAgent:
    """One episode's conversation, kept as exact token ids (token-in, token-out)."""

    def __init__(self, engine: HFEngine, params: SamplingParams, order: int = 0) -> None:
        self.engine, self.params, self.order = engine, params, order
        engine.register()
        self.history: list[Message] = []
        self.prompt_ids: list[int] | None = None
        self.completion_ids: list[int] = []
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
        generation = await self.engine.generate(prompt, self.params, self.order)
        text = self.engine.tokenizer.decode(generation.completion_ids, skip_special_tokens=True)
        message = parse_tool_calls(text)
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


class HFPolicy:
    """`hf:<model>`: options temperature, top_p, max_new_tokens, device, dtype, max_batch_size."""

    def __init__(
        self,
        model: str,
        *,
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_new_tokens: int = 256,
        device: str = "auto",
        dtype: str = "auto",
        max_batch_size: int = 16,
        engine: HFEngine | None = None,
    ) -> None:
        self.spec = f"hf:{model}"
        self.params = SamplingParams(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens)
        self.engine = engine or HFEngine(model, device=device, dtype=dtype, max_batch_size=max_batch_size)

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> HFAgent:
        return HFAgent(self.engine, self.params, order=seed)

    async def aclose(self) -> None:
        await self.engine.aclose()
