"""A byte-offset index of one rollout file, with a compact summary per episode.

Rollout files grow to gigabytes once token traces are in them, and the viewer must open them
at once. So the file is read in one pass that keeps, per line, only where it starts, how long
it is and the handful of scalars the episode table shows; the conversation itself is read
again from disk when someone opens that episode.

Most of a line is its `turns`. The summary avoids parsing them: the fields before `turns`
are decoded key by key, and the fields after it (outcome, rewards, error, ...) are decoded
from the last top-level `,"total_reward":`, which is safe because a quote inside a JSON
string is always escaped. A line in another layout falls back to a full parse; a line that
is not an episode at all is counted, not fatal. A file that grows (a rollout still running)
is indexed incrementally; a torn last line waits until it is complete.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EpisodeSummary", "LineIndex", "summarize_line"]

_HEAD_BYTES = 1 << 16  # the fields before `turns` are small; more means an unusual layout
_TAIL_KEY = b',"total_reward":'
_TURN_MARK = b'"action":{"role":'
_TRACE_MARK = b'"trace":{"prompt_ids"'
_ERROR_CHARS = 500


@dataclass(slots=True)
class EpisodeSummary:
    """What the episode table shows and filters on; `offset`/`length` locate the full line."""

    line: int
    offset: int
    length: int
    id: str
    env_id: str
    env_kwargs: str  # canonical JSON: with env_id and seed it names the task (a GRPO group)
    seed: int
    sample: int
    agent: str
    opponent: str | None
    turns: int
    traced: bool
    total_reward: float
    outcome: float
    success: bool
    error: str | None
    duration_s: float

    def row(self) -> dict[str, Any]:
        """The JSON the table receives (without the byte location)."""
        return {
            "line": self.line, "id": self.id, "env_id": self.env_id, "env_kwargs": json.loads(self.env_kwargs),
            "seed": self.seed, "sample": self.sample, "agent": self.agent, "opponent": self.opponent,
            "turns": self.turns, "traced": self.traced, "total_reward": self.total_reward, "outcome": self.outcome,
            "success": self.success, "error": self.error, "duration_s": self.duration_s,
        }

    @property
    def task(self) -> tuple[str, str, int]:
        return (self.env_id, self.env_kwargs, self.seed)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _head_fields(raw: bytes) -> dict[str, Any] | None:
    """The top-level fields before `turns`, decoded one by one; None if the layout differs."""
    text = raw[:_HEAD_BYTES].decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    if not text.startswith("{"):
        return None
    fields: dict[str, Any] = {}
    i = 1
    try:
        while True:
            key, i = decoder.raw_decode(text, i)
            if text[i] != ":":
                return None
            if key == "turns":
                return fields
            fields[key], i = decoder.raw_decode(text, i + 1)
            if text[i] != ",":
                return None
            i += 1
    except (ValueError, IndexError):
        return None


def _tail_fields(raw: bytes) -> dict[str, Any] | None:
    cut = raw.rfind(_TAIL_KEY)
    if cut < 0:
        return None
    try:
        tail = json.loads(b"{" + raw[cut + 1 :])
    except ValueError:
        return None
    return tail if isinstance(tail, dict) else None


def summarize_line(raw: bytes, line: int = 0, offset: int = 0) -> EpisodeSummary | None:
    """The summary of one JSONL line, or None when the line is not an episode record."""
    head, tail = _head_fields(raw), _tail_fields(raw)
    if head is not None and tail is not None and "env_id" in head and "outcome" in tail:
        turns, traced = raw.count(_TURN_MARK), _TRACE_MARK in raw
    else:  # another writer's layout: parse it all, once, and keep only the summary
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(record, dict) or "env_id" not in record or not isinstance(record.get("turns", []), list):
            return None
        head = tail = record
        turn_list = [t for t in record.get("turns") or [] if isinstance(t, dict)]
        turns, traced = len(turn_list), any(t.get("trace") for t in turn_list)
    error = tail.get("error")
    return EpisodeSummary(
        line=line,
        offset=offset,
        length=len(raw),
        id=str(head.get("id", "")),
        env_id=str(head.get("env_id")),
        env_kwargs=json.dumps(head.get("env_kwargs") or {}, sort_keys=True),
        seed=int(_number(head.get("seed"))),
        sample=int(_number(head.get("sample"))),
        agent=str(head.get("agent", "")),
        opponent=head.get("opponent") if isinstance(head.get("opponent"), str) else None,
        turns=turns,
        traced=traced,
        total_reward=_number(tail.get("total_reward")),
        outcome=_number(tail.get("outcome")),
        success=bool(tail.get("success")),
        error=str(error)[:_ERROR_CHARS] if error else None,
        duration_s=_number(tail.get("duration_s")),
    )


class LineIndex:
    """Summaries and byte locations of every complete line of one JSONL file.

    `refresh()` is cheap when nothing changed (one `stat`), reads only the new bytes when
    the file grew, and starts over when it was replaced or shrank.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.summaries: list[EpisodeSummary] = []
        self.unreadable = 0  # lines that are not episode records
        self._end = 0  # bytes indexed: always the end of a complete line
        self._lines = 0
        self._inode: int | None = None
        self._lock = threading.Lock()

    def refresh(self) -> list[EpisodeSummary]:
        with self._lock:
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                self._reset(None)
                return self.summaries
            if stat.st_ino != self._inode or stat.st_size < self._end:
                self._reset(stat.st_ino)
            if stat.st_size > self._end:
                self._read_from(self._end)
            return self.summaries

    def _reset(self, inode: int | None) -> None:
        self.summaries, self.unreadable, self._end, self._lines, self._inode = [], 0, 0, 0, inode

    def _read_from(self, start: int) -> None:
        offset = start
        with self.path.open("rb") as f:
            f.seek(start)
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # torn or still being written: index it once it is whole
                self._lines += 1
                if raw.strip():
                    summary = summarize_line(raw, self._lines, offset)
                    if summary is None:
                        self.unreadable += 1
                    else:
                        self.summaries.append(summary)
                offset += len(raw)
        self._end = offset

    def read(self, summary: EpisodeSummary) -> bytes:
        """The full line of one indexed episode, read from disk now."""
        with self.path.open("rb") as f:
            f.seek(summary.offset)
            return f.read(summary.length)
