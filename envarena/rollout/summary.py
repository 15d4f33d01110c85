"""Per-environment numbers for the end-of-run table and for `eval`: all derivable from JSONL."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel
from rich.table import Table

from envarena.types import Episode

__all__ = ["EnvSummary", "busy_seconds", "pass_at_k", "summarize", "summary_table"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c successes (Chen et al., 2021)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


class EnvSummary(BaseModel):
    env_id: str
    episodes: int
    tasks: int
    errors: int
    mean_reward: float
    mean_outcome: float
    success_rate: float
    pass_at: dict[int, float]
    mean_turns: float
    completion_tokens: int
    mean_seconds: float  # latency: one episode's mean duration, start to end
    wall_seconds: float = 0.0  # time during which at least one episode ran (resumed runs: no gaps)
    episodes_per_s: float = 0.0  # throughput: episodes / wall_seconds (concurrent episodes overlap)
    tokens_per_s: float = 0.0  # generated tokens / wall_seconds


def busy_seconds(episodes: Iterable[Episode]) -> float:
    """The wall time covered by at least one episode: the union of their [start, end] spans.

    Concurrent episodes overlap, so the sum of their durations overstates the time taken;
    a resumed run has a gap between sessions that belongs to no episode."""
    spans = sorted((e.started_at, e.started_at + e.duration_s) for e in episodes if e.started_at > 0)
    total, end = 0.0, float("-inf")
    for start, stop in spans:
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def summarize(episodes: Iterable[Episode], ks: Iterable[int] = (1,)) -> list[EnvSummary]:
    """Group by environment; pass@k over tasks (env options + seed) with >= k samples."""
    by_env: dict[str, list[Episode]] = defaultdict(list)
    for e in episodes:
        by_env[e.env_id].append(e)
    rows = []
    for env_id, group in sorted(by_env.items()):
        tasks: dict[tuple[str, int], list[bool]] = defaultdict(list)
        for e in group:
            tasks[(repr(sorted(e.env_kwargs.items())), e.seed)].append(e.success)
        pass_at = {}
        for k in sorted(set(ks)):
            eligible = [results for results in tasks.values() if len(results) >= k]
            if eligible:
                pass_at[k] = sum(pass_at_k(len(r), sum(r), k) for r in eligible) / len(eligible)
        n = len(group)
        wall = busy_seconds(group)
        tokens = sum(e.completion_tokens for e in group)
        rows.append(
            EnvSummary(
                env_id=env_id,
                episodes=n,
                tasks=len(tasks),
                errors=sum(e.error is not None for e in group),
                mean_reward=sum(e.total_reward for e in group) / n,
                mean_outcome=sum(e.outcome for e in group) / n,
                success_rate=sum(e.success for e in group) / n,
                pass_at=pass_at,
                mean_turns=sum(e.num_turns for e in group) / n,
                completion_tokens=tokens,
                mean_seconds=sum(e.duration_s for e in group) / n,
                wall_seconds=wall,
                episodes_per_s=n / wall if wall > 0 else 0.0,
                tokens_per_s=tokens / wall if wall > 0 else 0.0,
            )
        )
    return rows


def summary_table(rows: list[EnvSummary], title: str = "Rollout summary") -> Table:
    ks = sorted({k for r in rows for k in r.pass_at})
    table = Table(
        title=title,
        title_justify="left",
        caption="latency: mean seconds one episode takes; ep/s, tok/s: throughput over the wall time "
        "(concurrent episodes overlap)",
        caption_justify="left",
    )
    table.add_column("environment", no_wrap=True)
    columns = ["n", "err", "reward", "outcome", "success", *(f"pass@{k}" for k in ks), "turns", "tokens",
               "latency\ns/ep", "ep/s", "tok/s"]  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            r.env_id,
            str(r.episodes),
            str(r.errors),
            f"{r.mean_reward:.3f}",
            f"{r.mean_outcome:.3f}",
            f"{r.success_rate:.0%}",
            *[f"{r.pass_at[k]:.3f}" if k in r.pass_at else "-" for k in ks],
            f"{r.mean_turns:.1f}",
            str(r.completion_tokens),
            f"{r.mean_seconds:.2f}",
            f"{r.episodes_per_s:.2f}" if r.wall_seconds else "-",
            f"{r.tokens_per_s:.1f}" if r.wall_seconds and r.completion_tokens else "-",
        )
    return table
