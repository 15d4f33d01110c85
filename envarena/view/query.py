"""Filtering, searching, paging and grouping the episodes of a catalog.

Everything but text search works on the in-memory summaries. Text search reads the matching
candidates' lines from disk (token-id lists cut out first, so "12" does not match every
traced episode) and remembers per source how far it has looked, so paging through results
or a file that keeps growing never searches the same line twice.
"""

from __future__ import annotations

import bisect
import json
import re
import statistics
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from envarena.rewards import episode_advantages
from envarena.view.index import EpisodeSummary
from envarena.view.sources import Catalog, Source

__all__ = ["EpisodeFilter", "episode_page", "group_of"]

SORT_KEYS = ("line", "total_reward", "outcome", "turns", "duration_s", "seed")
MAX_PAGE = 500
_TOKEN_LISTS = re.compile(rb'"(?:prompt_ids|completion_ids|logprobs)":\[[^\]]*\]')


@dataclass
class EpisodeFilter:
    """The table's filters; empty strings mean "any"."""

    sources: list[int]
    env: str = ""
    agent: str = ""
    outcome: str = ""  # success | failure
    error: str = ""  # yes | no
    q: str = ""

    def keeps(self, s: EpisodeSummary) -> bool:
        if self.env and s.env_id != self.env:
            return False
        if self.agent and s.agent != self.agent:
            return False
        if self.outcome == "success" and not s.success:
            return False
        if self.outcome == "failure" and s.success:
            return False
        if self.error == "yes" and not s.error:
            return False
        return not (self.error == "no" and s.error)


class _SearchCache:
    """Per (source, query): how many summaries were searched and which matched."""

    def __init__(self, size: int = 32) -> None:
        self._entries: OrderedDict[tuple[int, str], tuple[int, int, set[int]]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def matches(self, source: Source, summaries: list[EpisodeSummary], query: str) -> set[int]:
        """Line numbers of `source` whose record contains `query` (case-insensitive)."""
        key = (source.id, query)
        with self._lock:
            entry = self._entries.pop(key, None)
        first_offset = summaries[0].offset if summaries else -1
        start, found = 0, set()
        if entry is not None and entry[0] == first_offset and entry[1] <= len(summaries):
            start, found = entry[1], entry[2]
        if start < len(summaries):
            needles = _needles(query)
            with source.path.open("rb") as f:
                for s in summaries[start:]:
                    f.seek(s.offset)
                    text = _TOKEN_LISTS.sub(b"", f.read(s.length)).lower()
                    if any(n in text for n in needles):
                        found.add(s.line)
        with self._lock:
            self._entries[key] = (first_offset, len(summaries), found)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return found


def _needles(query: str) -> set[bytes]:
    """The query as it appears inside a JSON string, with and without \\u escapes."""
    return {json.dumps(query.lower(), ensure_ascii=a)[1:-1].encode() for a in (False, True)}


_search = _SearchCache()


def _selected(catalog: Catalog, source_ids: list[int]) -> list[Source]:
    ids = source_ids or [s.id for s in catalog.sources]
    return [catalog.source(i) for i in dict.fromkeys(ids)]


def episode_page(catalog: Catalog, flt: EpisodeFilter, *, offset: int = 0, limit: int = 50, sort: str = "line",
                 descending: bool = False) -> dict[str, Any]:
    """One page of the filtered table, its total, and the choices the filter menus offer."""
    rows: list[tuple[Source, EpisodeSummary]] = []
    envs: Counter[str] = Counter()
    agents: Counter[str] = Counter()
    unreadable = 0
    query = flt.q.strip()
    for source in _selected(catalog, flt.sources):
        summaries = source.index.refresh()
        unreadable += source.index.unreadable
        envs.update(s.env_id for s in summaries)
        agents.update(s.agent for s in summaries)
        kept = [s for s in summaries if flt.keeps(s)]
        if query and kept:
            hits = _search.matches(source, summaries, query)
            kept = [s for s in kept if s.line in hits]
        rows += [(source, s) for s in kept]
    if sort != "line" and sort in SORT_KEYS:
        rows.sort(key=lambda r: getattr(r[1], sort), reverse=descending)
    elif descending:
        rows.reverse()
    limit = max(1, min(limit, MAX_PAGE))
    page = rows[max(0, offset) : max(0, offset) + limit]
    return {
        "total": len(rows),
        "offset": offset,
        "rows": [{"key": f"{src.id}:{s.line}", "source": src.id, **s.row()} for src, s in page],
        "envs": sorted(envs.items()),
        "agents": sorted(agents.items()),
        "unreadable": unreadable,
    }


def find(catalog: Catalog, key: str) -> tuple[Source, EpisodeSummary]:
    """The source and summary behind an episode key `SOURCE:LINE`; KeyError if there is none."""
    source_part, _, line_part = key.partition(":")
    try:
        source, line = catalog.source(int(source_part)), int(line_part)
    except ValueError:
        raise KeyError(key) from None
    summaries = source.index.refresh()
    at = bisect.bisect_left(summaries, line, key=lambda s: s.line)  # lines are indexed in order
    if at < len(summaries) and summaries[at].line == line:
        return source, summaries[at]
    raise KeyError(key)


def group_of(catalog: Catalog, key: str, source_ids: list[int], reward: str = "total_reward",
             method: str = "grpo") -> dict[str, Any]:
    """Every episode of the same task (env, options, seed) among the sources in view, with advantages."""
    origin, summary = find(catalog, key)
    scope = _selected(catalog, source_ids)
    if origin not in scope:
        scope.append(origin)
    members = sorted(((src, s) for src in scope for s in src.index.refresh() if s.task == summary.task),
                     key=lambda m: (m[1].sample, m[0].id, m[1].line))
    values = [s.outcome if reward == "outcome" else s.total_reward for _, s in members]
    advantages = episode_advantages(values, method)
    return {
        "task": {"env_id": summary.env_id, "env_kwargs": json.loads(summary.env_kwargs), "seed": summary.seed},
        "reward": reward,
        "method": method,
        "mean": statistics.fmean(values) if values else 0.0,
        "std": statistics.pstdev(values) if values else 0.0,
        "members": [
            {"key": f"{src.id}:{s.line}", "source": src.id, "advantage": adv, **s.row()}
            for (src, s), adv in zip(members, advantages, strict=True)
        ],
    }
