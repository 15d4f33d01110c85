"""Rows for each dataset format, built from episodes.

Messages are written in OpenAI wire form (tool-call arguments as JSON strings) because that
is what chat templates, TRL and most SFT tooling read, and because free-form argument
dicts do not fit a columnar schema.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from envarena.types import Episode, Message

__all__ = ["FORMATS", "build_rows"]


def _wire(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """OpenAI form with a fixed set of keys, so every row has the same Arrow schema."""
    rows = []
    for m in messages:
        rows.append(
            {
                "role": m.role,
                "content": m.content,
                "tool_calls": [c.openai_format() for c in m.tool_calls],
                "tool_call_id": m.tool_call_id or "",
                "name": m.name or "",
            }
        )
    return rows


def _common(e: Episode) -> dict[str, Any]:
    return {
        "episode_id": e.id,
        "env_id": e.env_id,
        "env_kwargs": json.dumps(e.env_kwargs, sort_keys=True),
        "seed": e.seed,
        "reward": e.total_reward,
        "outcome": e.outcome,
        "success": e.success,
    }


def sft_rows(episodes: list[Episode]) -> Iterator[dict[str, Any]]:
    """One conversation per episode (the main player's view)."""
    for e in episodes:
        player = e.turns[0].agent if e.turns else None
        yield {"messages": _wire(e.messages(player)), **_common(e)}


def preference_rows(episodes: list[Episode]) -> Iterator[dict[str, Any]]:
    """Best vs worst episode of the same task, when their rewards differ.

    The shared opening (system + task prompt) is the prompt; each side continues from there.
    """
    groups: dict[tuple[str, str, int], list[Episode]] = defaultdict(list)
    for e in episodes:
        if e.turns:
            groups[(e.env_id, json.dumps(e.env_kwargs, sort_keys=True), e.seed)].append(e)
    for (env_id, kwargs, seed), group in sorted(groups.items()):
        ranked = sorted(group, key=lambda e: (e.total_reward, e.id))
        worst, best = ranked[0], ranked[-1]
        if best.total_reward <= worst.total_reward:
            continue
        prompt = best.turns[0].observation
        yield {
            "prompt": _wire(prompt),
            "chosen": _wire(best.messages(best.turns[0].agent)[len(prompt) :]),
            "rejected": _wire(worst.messages(worst.turns[0].agent)[len(prompt) :]),
            "env_id": env_id,
            "env_kwargs": kwargs,
            "seed": seed,
            "chosen_reward": best.total_reward,
            "rejected_reward": worst.total_reward,
        }


def rl_rows(episodes: list[Episode]) -> Iterator[dict[str, Any]]:
    """One prompt per task with what is needed to rebuild and verify it: env ID, options, seed."""
    seen: set[tuple[str, str, int]] = set()
    for e in episodes:
        key = (e.env_id, json.dumps(e.env_kwargs, sort_keys=True), e.seed)
        if key in seen or not e.turns:
            continue
        seen.add(key)
        yield {"prompt": _wire(e.turns[0].observation), "env_id": e.env_id, "env_kwargs": key[1], "seed": e.seed}


def raw_rows(episodes: list[Episode]) -> Iterator[dict[str, Any]]:
    """Everything; nested free-form parts (turns, options) as JSON text for a stable schema."""
    for e in episodes:
        record = e.model_dump(mode="json")
        record["turns"] = json.dumps(record["turns"])
        record["final_observation"] = json.dumps(record["final_observation"])
        record["env_kwargs"] = json.dumps(record["env_kwargs"], sort_keys=True)
        record["reward_components"] = json.dumps(record["reward_components"], sort_keys=True)
        record["rewards_by_player"] = json.dumps(record["rewards_by_player"], sort_keys=True)
        record["error"] = record["error"] or ""
        record["opponent"] = record["opponent"] or ""
        yield record


FORMATS = {"sft": sft_rows, "preference": preference_rows, "rl": rl_rows, "raw": raw_rows}


def build_rows(episodes: list[Episode], fmt: str) -> list[dict[str, Any]]:
    return list(FORMATS[fmt](episodes))
