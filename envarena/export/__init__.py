"""Rollout JSONL -> datasets: `sft`, `preference`, `rl` or `raw` rows, stored as JSONL,
Parquet or a Hugging Face `datasets` folder, with a dataset card."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from envarena.errors import EnvArenaError
from envarena.export.card import dataset_card
from envarena.export.formats import FORMATS, build_rows
from envarena.rollout.store import read_episodes
from envarena.types import Episode

__all__ = ["ExportResult", "export", "filter_episodes"]

STORAGES = ("jsonl", "parquet", "hf")


class ExportResult(BaseModel):
    path: str
    rows: int
    episodes: int


def filter_episodes(
    episodes: Sequence[Episode],
    *,
    min_reward: float | None = None,
    success_only: bool = False,
    env_ids: Sequence[str] = (),
    include_errors: bool = False,
) -> list[Episode]:
    """Keep the episodes worth training on; failed runs (errors) are dropped by default."""
    return [
        e
        for e in episodes
        if (include_errors or e.error is None)
        and (min_reward is None or e.total_reward >= min_reward)
        and (not success_only or e.success)
        and (not env_ids or e.env_id in env_ids)
    ]


def export(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    fmt: str = "sft",
    storage: str = "jsonl",
    min_reward: float | None = None,
    success_only: bool = False,
    env_ids: Sequence[str] = (),
) -> ExportResult:
    """Write the dataset folder `out` (data file(s) + README.md); replaced atomically."""
    if fmt not in FORMATS:
        raise EnvArenaError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    if storage not in STORAGES:
        raise EnvArenaError(f"unknown storage '{storage}'; choose one of: {', '.join(STORAGES)}")
    if not inputs:
        raise EnvArenaError("no rollout files given")
    episodes = [e for path in inputs for e in read_episodes(path)]
    kept = filter_episodes(episodes, min_reward=min_reward, success_only=success_only, env_ids=env_ids)
    rows = build_rows(kept, fmt)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EnvArenaError(f"'{out}' exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write(rows, staging, storage)
        card = dataset_card(
            fmt=fmt,
            storage=storage,
            rows=len(rows),
            episodes=kept,
            sources=[str(p) for p in inputs],
            filters={"min_reward": min_reward, "success_only": success_only, "env": tuple(env_ids)},
        )
        (staging / "README.md").write_text(card)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(path=str(out), rows=len(rows), episodes=len(kept))


def _write(rows: list[dict], folder: Path, storage: str) -> None:
    if storage == "jsonl":
        with (folder / "data.jsonl").open("w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        return
    import datasets

    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a CLI export prints its own one-line result
    try:
        dataset = datasets.Dataset.from_list(rows) if rows else datasets.Dataset.from_dict({})
        if storage == "parquet":
            dataset.to_parquet(str(folder / "data.parquet"))
        else:
            dataset.save_to_disk(str(folder))
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
