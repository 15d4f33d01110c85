"""The policy's weights as a generation engine loads them: Hugging Face names, LoRA merged.

A separate engine (vLLM) holds its own copy of the base model and knows nothing of peft. So
after every optimiser step the trainer hands it full weights under the checkpoint's own
names: with LoRA, the adapters are merged into the base weights for the export and
unmerged right after, which works the same on CPU and GPU and needs no LoRA support in the
engine.
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

    merged = hasattr(model, "merge_adapter") and hasattr(model, "peft_config")
    with torch.no_grad():
        if merged:
            model.merge_adapter()
        try:
            yield [(name, tensor.detach()) for name, tensor in _hf_named(model, merged)]
        finally:
            if merged:
                model.unmerge_adapter()


def _hf_named(model: Any, peft: bool) -> Iterator[tuple[str, Any]]:
    for name, tensor in model.state_dict().items():
        if not peft:
            yield name, tensor
            continue
        if "lora_" in name or "modules_to_save" in name:
            continue
        name = name.removeprefix(_PEFT_PREFIX).replace(".base_layer.", ".")
        yield name, tensor
