"""The dataset card (README.md) written next to every export.

It answers what a reader of a dataset page asks first: where the rows came from (which
agent or model played, on which environments, with which filters), what the columns are,
how to load them, under what license, and how the rewards are spread.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from envarena.errors import EnvArenaError
from envarena.export.formats import features
from envarena.types import Episode
from envarena.version import __version__

__all__ = ["check_license", "dataset_card", "reward_histogram"]

_BAR_WIDTH = 40

# What each exported column means; the types come from the format's schema (`features`).
_COLUMNS = {
    "messages": "the conversation, one message per item, in chat-template form",
    "prompt": "the opening messages (system prompt and task)",
    "tools": "function schemas of the tools the agent was offered (null when none)",
    "chosen": "the continuation of the higher-reward episode of the task",
    "rejected": "the continuation of the lower-reward episode of the same task",
    "chosen_reward": "total reward of the chosen episode",
    "rejected_reward": "total reward of the rejected episode",
    "episode_id": "stable ID of the episode in its rollout file",
    "id": "stable ID of the episode in its rollout file",
    "env_id": "environment ID; `envarena.make(env_id, **env_kwargs)` rebuilds it",
    "env_kwargs": "environment options, as JSON text",
    "seed": "task seed: the same seed gives the same task",
    "sample": "which sample of the task this episode is",
    "agent": "agent spec that played the episode",
    "opponent": "agent spec of the other seats (two-player games), or null",
    "seat": "the seat the agent played (two-player games), or null",
    "reward": "total reward of the episode (sum of its turns' rewards)",
    "total_reward": "total reward of the episode (sum of its turns' rewards)",
    "outcome": "final verifiable score in [0, 1]",
    "success": "whether the verifier counted the task as solved",
    "turns": "every turn (observation, action, reward and its components, token trace), as JSON text",
    "final_observation": "the messages after the last action, as JSON text",
    "reward_components": "summed named reward components, as JSON text",
    "rewards_by_player": "total reward of each player (two-player games), as JSON text",
    "error": "why the episode failed, or null",
    "started_at": "when the episode started (Unix time, seconds)",
    "duration_s": "wall-clock seconds the episode took",
    "agent_s": "of those, seconds spent waiting for the agent",
    "env_s": "of those, seconds spent in the environment (steps and verifier)",
    "version": "envarena version that recorded the episode",
}

_JSON_NOTE = {
    "jsonl": "A `json` item is one JSON value (a message in OpenAI chat format, a tool's function schema), "
    "written as it is in each line.",
    "arrow": "A `json` item is one JSON value (a message in OpenAI chat format, a tool's function schema): "
    "`datasets` decodes it into an object; pandas and pyarrow read it as JSON text.",
}

_LICENSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")


def check_license(license: str) -> str:
    """A license identifier as the Hugging Face Hub writes them (`apache-2.0`, `cc-by-4.0`, `other`)."""
    if not _LICENSE.match(license):
        raise EnvArenaError(f"license '{license}' is not an identifier such as apache-2.0, cc-by-4.0 or other")
    return license


def reward_histogram(rewards: Sequence[float], bins: int = 10) -> str:
    """A text histogram that renders anywhere a README does.

    Rewards that take few distinct values (0/1 outcomes, or all equal) get one row per value:
    equal-width bins would spread them over empty ranges, or invent a range for a single value.
    """
    if not rewards:
        return "(no episodes)"
    values = Counter(round(r, 6) + 0.0 for r in rewards)  # + 0.0 turns -0.0 into 0.0
    if len(values) <= bins:
        rows = [(f"{value:10.4f}", count) for value, count in sorted(values.items())]
        header = f"{'reward':>10}"
    else:
        low, high = min(rewards), max(rewards)
        width = (high - low) / bins
        counts = Counter(min(int((r - low) / width), bins - 1) for r in rewards)
        rows = []
        for b in range(bins):
            start = low + b * width
            close = "]" if b == bins - 1 else ")"
            rows.append((f"[{start:8.3f}, {start + width:8.3f}{close}", counts.get(b, 0)))
        header = f"{'reward range':>21}"
    peak = max(count for _, count in rows)
    lines = [f"{header}  {'episodes':>8}"]
    lines += [f"{label}  {count:8d}  {'#' * round(_BAR_WIDTH * count / peak)}" for label, count in rows]
    return "\n".join(lines)


def _type_name(feature: Any) -> str:
    """A `datasets` feature in the words of a reader: string, list[json], {field: type}."""
    from datasets import Json, List, Value

    if isinstance(feature, Value):
        return feature.dtype
    if isinstance(feature, Json):
        return "json"
    if isinstance(feature, List):
        return f"list[{_type_name(feature.feature)}]"
    if isinstance(feature, dict):
        return "{" + ", ".join(f"{name}: {_type_name(inner)}" for name, inner in feature.items()) + "}"
    return type(feature).__name__


def _schema_table(fmt: str) -> str:
    """The format's fixed schema (the one the data files are written with), not a guess from rows."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    for name, feature in features(fmt).items():
        lines.append(f"| `{name}` | `{_type_name(feature)}` | {_COLUMNS.get(name, '')} |")
    return "\n".join(lines)


def _loading(storage: str, location: str, fmt: str) -> str:
    if storage == "hf":
        return f"""```python
from datasets import load_from_disk

dataset = load_from_disk({json.dumps(location)})
frame = dataset.to_pandas()  # pandas
```"""
    kind, reader = ("json", "pd.read_json({f}, lines=True)") if storage == "jsonl" else ("parquet", "pd.read_parquet({f})")
    data_file = json.dumps(f"{location}/data.{'jsonl' if storage == 'jsonl' else 'parquet'}")  # a Python string literal
    # JSON lines carry no types: datasets infers them unless given the format's schema
    typed = f"\n# with envarena installed, exact types: features=envarena.export.formats.features({fmt!r})" if storage == "jsonl" else ""
    return f"""```python
from datasets import load_dataset

dataset = load_dataset("{kind}", data_files={data_file}, split="train"){typed}

import pandas as pd

frame = {reader.format(f=data_file)}
```"""


def _count_table(title: str, counts: Counter[str]) -> str:
    lines = [f"| {title} | episodes |", "|---|---|"]
    lines += [f"| `{name}` | {count} |" for name, count in sorted(counts.items())]
    return "\n".join(lines)


def dataset_card(
    *,
    fmt: str,
    storage: str,
    rows: Sequence[Mapping[str, Any]],
    episodes: Sequence[Episode],
    sources: Sequence[str],
    filters: dict[str, object],
    location: str,
    license: str = "unknown",
) -> str:
    successes = sum(e.success for e in episodes)
    filter_text = ", ".join(f"{k}={v}" for k, v in filters.items() if v not in (None, False, ())) or "none"
    mean = sum(e.total_reward for e in episodes) / len(episodes) if episodes else 0.0
    agents = Counter(e.agent for e in episodes)
    opponents = Counter(e.opponent for e in episodes if e.opponent)
    versions = ", ".join(sorted({e.version for e in episodes if e.version})) or "unknown"
    data_files = "" if storage == "hf" else f"""configs:
- config_name: default
  data_files: data.{"jsonl" if storage == "jsonl" else "parquet"}
"""
    schema = _schema_table(fmt)
    json_note = f"\n\n{_JSON_NOTE['jsonl' if storage == 'jsonl' else 'arrow']}" if "`list[json]`" in schema else ""
    opponent_text = f"\n\nOpponents in two-player games:\n\n{_count_table('opponent', opponents)}" if opponents else ""
    return f"""---
license: {check_license(license)}
tags:
- envarena
- {fmt}
{data_files}---
# envarena {fmt} dataset

Exported by envarena {__version__} as `{storage}` from episodes recorded by envarena {versions}.

- rows: {len(rows)}
- episodes used: {len(episodes)} ({successes} successful)
- mean episode reward: {mean:.4f}
- filters: {filter_text}
- sources: {", ".join(f"`{s}`" for s in sources)}
- license: {license} (of this dataset as exported; the agent's model and the environments' task sources may carry their own terms)

## Produced by

{_count_table("agent", agents)}{opponent_text}

## Environments

{_count_table("environment", Counter(e.env_id for e in episodes))}

## Columns

{schema}{json_note}

## Loading

{_loading(storage, location, fmt)}

## Episode reward histogram

```
{reward_histogram([e.total_reward for e in episodes])}
```
"""
