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
from envarena.export.card import check_license, dataset_card
from envarena.export.formats import FORMATS, TOOL_CALL_STYLES, arrow_rows, build_rows, features
from envarena.rollout.store import read_episodes
from envarena.types import Episode

__all__ = ["ExportResult", "export", "features", "filter_episodes"]

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
    license: str = "unknown",
    tool_calls: str = "native",
) -> ExportResult:
    """Write the dataset folder `out` (data file(s) + README.md); replaced atomically.

    An export that would hold no rows is refused with the reason: an empty dataset written
    without a word is how a typo in a filter goes unnoticed.
    """
    if fmt not in FORMATS:
        raise EnvArenaError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    if storage not in STORAGES:
        raise EnvArenaError(f"unknown storage '{storage}'; choose one of: {', '.join(STORAGES)}")
    if not inputs:
        raise EnvArenaError("no rollout files given")
    if tool_calls not in TOOL_CALL_STYLES:
        raise EnvArenaError(f"unknown tool-call style '{tool_calls}'; choose one of: {', '.join(TOOL_CALL_STYLES)}")
    check_license(license)
    episodes = [e for path in inputs for e in read_episodes(path)]
    kept = filter_episodes(episodes, min_reward=min_reward, success_only=success_only, env_ids=env_ids)
    rows = build_rows(kept, fmt, tool_calls=tool_calls)
    filters = {"min_reward": min_reward, "success_only": success_only, "env": tuple(env_ids)}
    if not rows:
        raise EnvArenaError(_why_empty(episodes, kept, fmt, filters))
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EnvArenaError(f"'{out}' exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write(rows, staging, storage, fmt)
        card = dataset_card(
            fmt=fmt,
            storage=storage,
            rows=rows,
            episodes=kept,
            sources=[str(p) for p in inputs],
            filters=filters,
            location=out.as_posix(),
            license=license,
        )
        (staging / "README.md").write_text(card)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(path=str(out), rows=len(rows), episodes=len(kept))


def _why_empty(episodes: Sequence[Episode], kept: Sequence[Episode], fmt: str, filters: dict[str, object]) -> str:
    """One sentence on why an export has no rows, pointing at what to change."""
    if not episodes:
        return "the rollout files hold no episodes"
    if kept:
        if fmt == "preference":
            return (f"the {len(kept)} episodes kept make no preference pairs: no task has two episodes with "
                    "different rewards (play each task several times with --samples)")
        return f"the {len(kept)} episodes kept have no turns to export"
    usable = [e for e in episodes if e.error is None]
    if not usable:
        return f"all {len(episodes)} episodes ended with an error, and failed episodes are not exported"
    envs = filters["env"]
    if envs and not {e.env_id for e in usable} & set(envs):  # type: ignore[arg-type]
        held = ", ".join(sorted({e.env_id for e in usable}))
        return f"no episode is from {', '.join(envs)}; the files hold {held}"  # type: ignore[arg-type]
    active = ", ".join(f"{k}={v}" for k, v in filters.items() if v not in (None, False, ()))
    return f"no episode matches the filters ({active}) among the {len(usable)} episodes without errors"


def _write(rows: list[dict], folder: Path, storage: str, fmt: str) -> None:
    if storage == "jsonl":
        with (folder / "data.jsonl").open("w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        return
    import datasets

    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a CLI export prints its own one-line result
    try:
        # The format's fixed schema, not one inferred from these rows: exports of different
        # environments then have the same column types and concatenate.
        dataset = datasets.Dataset.from_list(arrow_rows(rows, fmt), features=features(fmt))
        if storage == "parquet":
            dataset.to_parquet(str(folder / "data.parquet"))
        else:
            dataset.save_to_disk(str(folder))
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
