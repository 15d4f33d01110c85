"""Sampling settings kept with a model, in transformers' `generation_config.json`.

A checkpoint trained with `max_new_tokens: 16` and then used as `hf:RUN/checkpoint-N/model`
should generate as the run did, not with a backend's generic defaults (256 tokens). The
standard place for that is the model folder's `generation_config.json`: transformers loads
it, vLLM reads it as default sampling parameters, and so do the `hf:` and `vllm:` agents
here. Options given explicitly (`-a max_new_tokens=...`) still win.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from envarena.agents.generation import SamplingParams

__all__ = ["FALLBACK", "sampling_defaults", "sampling_params", "write_generation_config"]

#: What an agent samples with when neither its options nor the model folder say otherwise.
FALLBACK = {"temperature": 0.7, "top_p": 1.0, "max_new_tokens": 256}


def write_generation_config(folder: str | Path, params: SamplingParams, stop_ids: Iterable[int],
                            base: Any = None) -> None:
    """Save `params` and the ids that end a reply as `folder/generation_config.json`, keeping
    whatever else the model's own generation config (`base`) held."""
    from transformers import GenerationConfig

    settings = base.to_dict() if base is not None else {}
    settings = {k: v for k, v in settings.items() if not k.startswith("_") and k != "transformers_version"}
    stops = sorted(stop_ids)
    sample = params.temperature > 0
    settings.update(
        do_sample=sample,
        temperature=params.temperature if sample else None,
        top_p=params.top_p if sample else None,
        max_new_tokens=params.max_new_tokens,
        eos_token_id=stops[0] if len(stops) == 1 else stops or None,
    )
    GenerationConfig(**settings).save_pretrained(folder)


def sampling_defaults(folder: str | Path | None) -> dict[str, Any]:
    """The sampling settings a model folder declares (temperature, top_p, max_new_tokens),
    only those it sets; {} for a hub ID, a folder without the file, or a file that does not parse."""
    if folder is None:
        return {}
    path = Path(folder) / "generation_config.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    found: dict[str, Any] = {}
    if data.get("do_sample") is False:
        found["temperature"] = 0.0  # transformers' greedy decoding
    elif _number(data.get("temperature")):
        found["temperature"] = float(data["temperature"])
    if _number(data.get("top_p")) and 0 < data["top_p"] <= 1:
        found["top_p"] = float(data["top_p"])
    if isinstance(data.get("max_new_tokens"), int) and data["max_new_tokens"] >= 1:
        found["max_new_tokens"] = data["max_new_tokens"]
    return found


def sampling_params(folder: str | Path | None, **given: Any) -> SamplingParams:
    """Explicit options (those not None), else the model folder's settings, else `FALLBACK`."""
    chosen = {**FALLBACK, **sampling_defaults(folder), **{k: v for k, v in given.items() if v is not None}}
    return SamplingParams(**chosen)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
