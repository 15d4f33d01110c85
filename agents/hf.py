"""The `hf:` backend: a transformers model on CPU or CUDA, batched across episodes.

`HFEngine` is the transformers implementation of the generation interface
(`envarena.agents.generation`): concurrent episodes' requests are batched into one
left-padded `model.generate` call, and each answer carries its exact token ids and the
per-token log-probabilities of the distribution it was sampled from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from envarena.agents.chat_format import ChatFormat
from envarena.agents.generation import (
    BatchingEngine,
    EngineAgent,
    EnginePolicy,
    Generation,
    SamplingParams,
    stop_token_ids,
)
from envarena.agents.generation_config import sampling_params
from envarena.agents.models import resolve_model

__all__ = ["Generation", "HFAgent", "HFEngine", "HFPolicy", "SamplingParams"]

#: Kept for callers of the first API; every engine's agent is the same class.
HFAgent = EngineAgent


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


class _StepReporter:
    """A transformers streamer (`put` / `end`) that reports each row's sampled token the moment
    `generate` picks it, up to and including the row's stop token (after it a finished row
    only receives padding). The first `put` is the prompt and is skipped."""

    def __init__(self, rows: int, stops: set[int], on_token: Callable[[int, int], None]) -> None:
        self.stops, self.on_token = stops, on_token
        self.done = [False] * rows
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        for row, token in enumerate(value.reshape(-1).tolist()):
            if not self.done[row]:
                self.done[row] = token in self.stops
                self.on_token(row, token)

    def end(self) -> None:
        return None


class HFEngine(BatchingEngine):
    """A loaded transformers model behind the generation interface; shared by every episode of a policy."""

    streams = True  # each decoding step is reported through `on_token` (live progress, server streaming)
    constrains = True  # `SamplingParams.json_schema` is enforced while sampling (agents/json_constraint.py)
    _grammar_tokenizer: Any = None

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

        super().__init__(max_batch_size=max_batch_size, batch_window_ms=batch_window_ms)
        self.model_name = model
        self.owns_model = loaded is None
        self.path: str | None = None  # the model folder, when loaded from one
        if loaded is not None:  # a model someone else owns (the trainer's policy)
            self.model, self.tokenizer = loaded
            self.device = str(next(self.model.parameters()).device)
        else:
            path = self.path = resolve_model(model)
            self.device = _pick_device(device)
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=_pick_dtype(dtype, self.device)).to(self.device)
        self.model.eval()
        self.format = ChatFormat(self.tokenizer)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        self._stops = self._stop_ids()

    def _schema_mask(self, schema: str, rows: int) -> Any:
        from envarena.agents.json_constraint import SchemaMask, grammar_tokenizer

        if self._grammar_tokenizer is None:
            self._grammar_tokenizer = grammar_tokenizer(self.tokenizer, self._stops)
        return SchemaMask(self._grammar_tokenizer, schema, rows, self._stops)

    def _stop_ids(self) -> set[int]:
        return stop_token_ids(self.tokenizer, getattr(self.model.generation_config, "eos_token_id", None))

    @property
    def vocab_size(self) -> int:
        """Ids the model can sample: its embedding table, which may be larger than the tokenizer."""
        return max(len(self.tokenizer), self.model.get_input_embeddings().num_embeddings)

    # ------------------------------------------------------------------ synchronous core
    def stop_ids(self) -> set[int]:
        return self._stops

    def generate_batch(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, seeds: Sequence[int] | None = None,
        on_token: Callable[[int, int], None] | None = None,
    ) -> list[Generation]:
        """One left-padded `model.generate` over several prompts (per-request seeds are not
        supported by `generate`: a batch samples from torch's global generator). `on_token(row,
        token_id)` hears each sampled token as soon as it exists."""
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
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                do_sample=sample,
                temperature=params.temperature if sample else None,
                top_p=params.top_p if sample else None,
                top_k=None,
                max_new_tokens=params.max_new_tokens,
                pad_token_id=self.pad_id,
                eos_token_id=sorted(self._stops),
                # a schema mask goes first: the recorder then sees the distribution sampled from
                logits_processor=LogitsProcessorList(
                    [self._schema_mask(params.json_schema, len(prompts)), recorder]
                    if params.json_schema else [recorder]
                ),
                return_dict_in_generate=True,
                streamer=_StepReporter(len(prompts), self._stops, on_token) if on_token is not None else None,
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
            if token in self._stops:
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

    def load_weights(self, weights: Iterable[tuple[str, Any]]) -> None:
        """New weights by name. An engine that shares the trainer's model already has them."""
        if not self.owns_model:
            return
        import torch

        state = {name: tensor for name, tensor in weights}
        with self._generate_lock, torch.no_grad():
            missing = set(state) - set(self.model.state_dict())
            if missing:
                raise KeyError(f"unknown weights: {sorted(missing)[:5]}")
            self.model.load_state_dict(state, strict=False)


class HFPolicy(EnginePolicy):
    """`hf:<model>`: options temperature, top_p, max_new_tokens, device, dtype, max_batch_size.

    Sampling options not given come from the model folder's `generation_config.json` (a
    trained checkpoint keeps its run's settings there), else temperature 0.7, top_p 1.0 and
    256 new tokens."""

    def __init__(
        self,
        model: str,
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_new_tokens: int | None = None,
        device: str = "auto",
        dtype: str = "auto",
        max_batch_size: int = 16,
        engine: HFEngine | None = None,
    ) -> None:
        engine = engine or HFEngine(model, device=device, dtype=dtype, max_batch_size=max_batch_size)
        params = sampling_params(engine.path, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens)
        super().__init__(f"hf:{model}", engine, params)
