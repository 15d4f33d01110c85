"""Per-environment numbers for the end-of-run table and for `eval`: all derivable from JSONL."""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel
from rich.table import Table

from envarena.types import Episode

__all__ = ["EnvSummary", "SummaryAccumulator", "busy_seconds", "pass_at_k", "summarize", "summary_table"]


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


class _BusySpans:
    """The union of [start, end] spans, kept as disjoint intervals merged on insertion.

    Concurrent episodes overlap, so a run's spans collapse into one interval per session:
    the memory stays small however many episodes are added (a summary of 100k episodes must
    not hold 100k spans)."""

    def __init__(self) -> None:
        self._starts: list[float] = []
        self._stops: list[float] = []

    def add(self, start: float, stop: float) -> None:
        # the intervals that touch [start, stop] form one run, merged into a single interval
        lo = bisect.bisect_left(self._stops, start)
        hi = bisect.bisect_right(self._starts, stop)
        if lo < hi:
            start = min(start, self._starts[lo])
            stop = max(stop, self._stops[hi - 1])
        self._starts[lo:hi] = [start]
        self._stops[lo:hi] = [stop]

    def total(self) -> float:
        return sum(stop - start for start, stop in zip(self._starts, self._stops))


def busy_seconds(episodes: Iterable[Episode]) -> float:
    """The wall time covered by at least one episode: the union of their [start, end] spans.

    Concurrent episodes overlap, so the sum of their durations overstates the time taken;
    a resumed run has a gap between sessions that belongs to no episode."""
    spans = _BusySpans()
    for e in episodes:
        if e.started_at > 0:
            spans.add(e.started_at, e.started_at + e.duration_s)
    return spans.total()


@dataclass
class _EnvTally:
    """Running sums for one environment, plus what pass@k needs per task."""

    episodes: int = 0
    errors: int = 0
    reward: float = 0.0
    outcome: float = 0.0
    successes: int = 0
    turns: int = 0
    tokens: int = 0
    seconds: float = 0.0
    spans: _BusySpans = field(default_factory=_BusySpans)
    # open tasks: Episode.task_key -> [samples seen, successes]
    open_tasks: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)
    # tasks that reached the group size, folded away: successes -> number of such tasks
    full_tasks: Counter[int] = field(default_factory=Counter)


class SummaryAccumulator:
    """The end-of-run table, computed episode by episode so no episode has to be kept.

    pass@k needs the samples of each task together; a task's counters are two integers, and
    when `group_size` is known (a rollout plays every task `samples` times) a task that has
    all its samples is folded into a histogram of success counts and forgotten, so the
    memory does not grow with the number of tasks either."""

    def __init__(self, group_size: int | None = None) -> None:
        self.group_size = group_size
        self._envs: dict[str, _EnvTally] = {}

    def add(self, e: Episode) -> None:
        t = self._envs.get(e.env_id)
        if t is None:
            t = self._envs[e.env_id] = _EnvTally()
        t.episodes += 1
        t.errors += e.error is not None
        t.reward += e.total_reward
        t.outcome += e.outcome
        t.successes += e.success
        t.turns += e.num_turns
        t.tokens += e.completion_tokens
        t.seconds += e.duration_s
        if e.started_at > 0:
            t.spans.add(e.started_at, e.started_at + e.duration_s)
        key = e.task_key
        counts = t.open_tasks.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += e.success
        if counts[0] == self.group_size:
            t.full_tasks[counts[1]] += 1
            del t.open_tasks[key]

    def samples_per_task(self) -> int:
        """The fewest samples any task has (the largest k that pass@k can use everywhere)."""
        sizes = [n for t in self._envs.values() for n, _ in t.open_tasks.values()]
        sizes += [self.group_size] if self.group_size and any(t.full_tasks for t in self._envs.values()) else []
        return min(sizes) if sizes else 1

    def rows(self, ks: Iterable[int] = (1,)) -> list[EnvSummary]:
        return [self._row(env_id, t, ks) for env_id, t in sorted(self._envs.items())]

    def _row(self, env_id: str, t: _EnvTally, ks: Iterable[int]) -> EnvSummary:
        pass_at = {}
        for k in sorted(set(ks)):
            total, tasks = 0.0, 0
            if self.group_size is not None and k <= self.group_size:
                for successes, count in t.full_tasks.items():
                    total += pass_at_k(self.group_size, successes, k) * count
                    tasks += count
            for n, successes in t.open_tasks.values():
                if n >= k:
                    total += pass_at_k(n, successes, k)
                    tasks += 1
            if tasks:
                pass_at[k] = total / tasks
        n = t.episodes
        wall = t.spans.total()
        return EnvSummary(
            env_id=env_id,
            episodes=n,
            tasks=len(t.open_tasks) + sum(t.full_tasks.values()),
            errors=t.errors,
            mean_reward=t.reward / n,
            mean_outcome=t.outcome / n,
            success_rate=t.successes / n,
            pass_at=pass_at,
            mean_turns=t.turns / n,
            completion_tokens=t.tokens,
            mean_seconds=t.seconds / n,
            wall_seconds=wall,
            episodes_per_s=n / wall if wall > 0 else 0.0,
            tokens_per_s=t.tokens / wall if wall > 0 else 0.0,
        )


def summarize(episodes: Iterable[Episode], ks: Iterable[int] = (1,)) -> list[EnvSummary]:
    """Group by environment; pass@k over tasks (env options + seed) with >= k samples."""
    tally = SummaryAccumulator()
    for e in episodes:
        tally.add(e)
    return tally.rows(ks)


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
