"""The line index: summaries equal a full parse, files that grow or get replaced, odd lines."""

from __future__ import annotations

import json
import os

from envarena.rollout import RolloutConfig, run_rollout_sync
from envarena.types import Episode
from envarena.view.index import LineIndex, summarize_line

from .conftest import episodes


def _expected(record: dict) -> dict:
    episode = Episode.model_validate(record)
    return {"id": episode.id, "env_id": episode.env_id, "seed": episode.seed, "sample": episode.sample,
            "agent": episode.agent, "opponent": episode.opponent, "turns": len(episode.turns),
            "traced": any(t.trace is not None for t in episode.turns), "total_reward": episode.total_reward,
            "outcome": episode.outcome, "success": episode.success, "error": episode.error,
            "env_kwargs": episode.env_kwargs}


def test_summaries_equal_a_full_parse_of_every_line(rollout_files, train_run):
    files = [*rollout_files, *sorted((train_run / "rollouts").glob("*.jsonl"))]
    checked = traced = 0
    for path in files:
        index = LineIndex(path)
        summaries = index.refresh()
        records = episodes(path)
        assert len(summaries) == len(records) and index.unreadable == 0
        raw_lines = path.read_bytes().splitlines(keepends=True)
        for summary, record, raw in zip(summaries, records, raw_lines, strict=True):
            row = summary.row()
            assert {k: row[k] for k in _expected(record)} == _expected(record)
            assert index.read(summary) == raw
            checked += 1
            traced += summary.traced
    assert checked > 20 and traced > 0


def test_a_line_in_another_layout_is_parsed_fully_and_junk_is_counted(rollout_files, tmp_path):
    record = episodes(rollout_files[0])[0]
    reordered = {"outcome": record["outcome"], **{k: v for k, v in record.items() if k != "outcome"}}
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(reordered, indent=None, separators=(", ", ": ")) + "\n" + '{"not": "an episode"}\n'
                    + "garbage\n" + "\n")
    index = LineIndex(path)
    [summary] = index.refresh()
    assert summary.row()["turns"] == len(record["turns"]) and summary.outcome == record["outcome"]
    assert summary.env_id == record["env_id"] and index.unreadable == 2
    assert summarize_line(b'{"id": "x"}\n') is None


def test_a_growing_file_is_indexed_incrementally_and_a_torn_line_waits(rollout_files, tmp_path):
    path = tmp_path / "live.jsonl"
    lines = rollout_files[1].read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]))
    index = LineIndex(path)
    assert [s.line for s in index.refresh()] == [1, 2, 3]
    first = index.summaries[0]
    with path.open("ab") as f:
        f.write(lines[3] + lines[4][:40])  # a writer in the middle of line 5
    assert [s.line for s in index.refresh()] == [1, 2, 3, 4]
    assert index.summaries[0] is first, "the old lines were not read again"
    with path.open("ab") as f:
        f.write(lines[4][40:])
    assert [s.line for s in index.refresh()] == [1, 2, 3, 4, 5]
    assert index.read(index.summaries[-1]) == lines[4]


def test_a_replaced_file_is_indexed_again(rollout_files, tmp_path):
    """A resumed rollout rewrites its file (new inode) to drop failed episodes; the index must follow."""
    path = tmp_path / "replaced.jsonl"
    path.write_bytes(rollout_files[1].read_bytes())
    index = LineIndex(path)
    assert len(index.refresh()) == 9
    replacement = tmp_path / "replacement.jsonl"
    replacement.write_bytes(rollout_files[0].read_bytes())
    os.replace(replacement, path)
    assert [s.env_id for s in index.refresh()] == ["tools/calculator-v0"] * 3


def test_the_real_engine_appending_to_a_file_in_view(tmp_path):
    """Episodes appended by a second rollout run show up at the next refresh."""
    out = tmp_path / "grow.jsonl"
    run_rollout_sync(RolloutConfig(env_id="text/arithmetic-v0", agent="scripted", n=2, out=str(out)))
    index = LineIndex(out)
    assert len(index.refresh()) == 2
    run_rollout_sync(RolloutConfig(env_id="text/arithmetic-v0", agent="scripted", n=5, out=str(out)))
    assert [s.seed for s in index.refresh()][:2] == [s.seed for s in index.summaries[:2]]
    assert sorted(s.seed for s in index.summaries) == [0, 1, 2, 3, 4]
