"""Atomic checkpoints and exact resume.

A checkpoint is written to a temporary folder and renamed into place; `latest` is replaced
atomically last. A run killed at any moment therefore finds either the previous checkpoint
or the new one, never half of one. It holds the trainable weights (the LoRA adapter when
training one), optimizer, scheduler, every RNG state and the step; the model folder is also
saved in `save_pretrained` form for use outside envarena, with the run's sampling settings
in its `generation_config.json`.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from envarena.agents.generation import SamplingParams, stop_token_ids
from envarena.agents.generation_config import write_generation_config

__all__ = ["latest_checkpoint", "load_checkpoint", "rng_state", "save_checkpoint", "set_rng_state"]

_KEEP = 2


def rng_state() -> dict[str, Any]:
    """Every random generator the run draws from (python, numpy, torch, cuda)."""
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(run_dir: Path, step: int, model: Any, tokenizer: Any, optimizer: Any, scheduler: Any,
                    sampling: SamplingParams | None = None) -> Path:
    """`sampling`: the run's generation settings, saved as the model folder's
    `generation_config.json` so that `hf:CHECKPOINT/model` generates as the run did."""
    import torch

    final = run_dir / f"checkpoint-{step:06d}"
    staging = run_dir / f".checkpoint-{step:06d}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging / "model")
    tokenizer.save_pretrained(staging / "model")
    if sampling is not None:
        base = getattr(model, "generation_config", None)
        stops = stop_token_ids(tokenizer, getattr(base, "eos_token_id", None))
        write_generation_config(staging / "model", sampling, stops, base=base)
    trainable = {name: p.detach().cpu() for name, p in model.named_parameters() if p.requires_grad}
    torch.save(
        {"step": step, "trainable": trainable, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
         "rng": rng_state()},
        staging / "state.pt",
    )
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    pointer = run_dir / "latest.tmp"
    pointer.write_text(final.name)
    os.replace(pointer, run_dir / "latest")
    for old in sorted(run_dir.glob("checkpoint-*"))[:-_KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    pointer = run_dir / "latest"
    if not pointer.exists():
        return None
    path = run_dir / pointer.read_text().strip()
    return path if (path / "state.pt").exists() else None


def load_checkpoint(path: Path, model: Any, optimizer: Any, scheduler: Any) -> int:
    """Restore everything saved; returns the step to continue from."""
    import torch

    state = torch.load(path / "state.pt", weights_only=False)
    missing = model.load_state_dict(state["trainable"], strict=False)
    if missing.unexpected_keys:
        raise RuntimeError(f"checkpoint does not fit the model: {missing.unexpected_keys[:3]}")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    return int(state["step"])
