"""The dataset card (README.md) written next to every export."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from envarena.types import Episode
from envarena.version import __version__

_BAR_WIDTH = 40


def reward_histogram(rewards: Sequence[float], bins: int = 10) -> str:
    """A text histogram that renders anywhere a README does."""
    if not rewards:
        return "(no episodes)"
    low, high = min(rewards), max(rewards)
    width = (high - low) / bins or 1.0
    counts = Counter(min(int((r - low) / width), bins - 1) for r in rewards)
    peak = max(counts.values())
    lines = []
    for b in range(bins if high > low else 1):
        start = low + b * width
        count = counts.get(b, 0)
        bar = "#" * round(_BAR_WIDTH * count / peak)
        lines.append(f"[{start:8.3f}, {start + width:8.3f})  {count:6d}  {bar}")
    return "\n".join(lines)


def dataset_card(
    *, fmt: str, storage: str, rows: int, episodes: Sequence[Episode], sources: Sequence[str], filters: dict[str, object]
) -> str:
    by_env = Counter(e.env_id for e in episodes)
    successes = sum(e.success for e in episodes)
    env_lines = "\n".join(f"| `{env}` | {count} |" for env, count in sorted(by_env.items()))
    filter_text = ", ".join(f"{k}={v}" for k, v in filters.items() if v not in (None, False, ())) or "none"
    mean = sum(e.total_reward for e in episodes) / len(episodes) if episodes else 0.0
    return f"""---
tags:
- envarena
- {fmt}
---
# envarena {fmt} dataset

Exported by envarena {__version__} as `{storage}`.

- rows: {rows}
- episodes used: {len(episodes)} ({successes} successful)
- mean episode reward: {mean:.4f}
- filters: {filter_text}
- sources: {", ".join(f"`{s}`" for s in sources)}

## Environments

| environment | episodes |
|---|---|
{env_lines}

## Episode reward histogram

```
{reward_histogram([e.total_reward for e in episodes])}
```
"""
