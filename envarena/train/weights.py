"""The policy's weights as a generation engine loads them: Hugging Face names, LoRA merged.

A separate engine (vLLM) holds its own copy of the base model and knows nothing of peft. So
after every optimiser step the trainer hands it full weights under the checkpoint's own
names. With LoRA, each adapted layer's weight is built out of place as base + delta
(computed in float32, cast back): merging into the model and unmerging afterwards would add
and subtract the delta in the base weight's own precision, and in bf16 that leaves rounding
noise in the frozen base (and in the KL reference, which is the base) after every step.
This needs no LoRA support in the engine and works the same on CPU and GPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["exported_weights"]

_PEFT_PREFIX = "base_model.model."


@contextmanager
def exported_weights(model: Any) -> Iterator[list[tuple[str, Any]]]:
    """(name, tensor) pairs of the current policy, valid inside the `with` block."""
    import torch

    with torch.no_grad():
        yield list(_hf_named(model))


def _merged_lora_weights(model: Any) -> dict[str, Any]:
    """State-dict name of each adapted layer's base weight -> base + delta, out of place."""
    from peft.tuners.lora import LoraLayer

    merged = {}
    for name, module in model.named_modules():
        if not isinstance(module, LoraLayer) or getattr(module, "merged", False):
            continue
        base = module.get_base_layer().weight
        delta = sum(module.get_delta_weight(a).float() for a in module.active_adapters if a in module.lora_A)
        merged[f"{name}.base_layer.weight"] = (base.float() + delta).to(base.dtype)
    return merged


def _hf_named(model: Any) -> Iterator[tuple[str, Any]]:
    state = model.state_dict()
    if not hasattr(model, "peft_config"):
        yield from ((name, tensor.detach()) for name, tensor in state.items())
        return
    merged = _merged_lora_weights(model)
    for name, tensor in state.items():
        if "lora_" in name or "modules_to_save" in name:
            continue
        tensor = merged.get(name, tensor)
        yield name.removeprefix(_PEFT_PREFIX).replace(".base_layer.", "."), tensor.detach()
