"""Export to every format and storage, read back with the libraries users will use."""

from __future__ import annotations

import json

import datasets
import pyarrow.parquet as pq
import pytest

from envarena.export import export
from envarena.rollout import RolloutConfig, run_rollout_sync


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rollouts")
    scripted, random = folder / "scripted.jsonl", folder / "random.jsonl"
    run_rollout_sync(RolloutConfig(env_id="tools/calculator-v0", agent="scripted", n=6, out=str(scripted)))
    run_rollout_sync(RolloutConfig(env_id="tools/calculator-v0", agent="random", n=6, out=str(random)))
    run_rollout_sync(RolloutConfig(env_id="games/tictactoe-v0", agent="random", n=4, out=str(random)))
    return [str(scripted), str(random)]


def _read(folder, storage):
    if storage == "jsonl":
        return [json.loads(line) for line in (folder / "data.jsonl").read_text().splitlines()]
    if storage == "parquet":
        return pq.read_table(folder / "data.parquet").to_pylist()
    return datasets.load_from_disk(str(folder)).to_list()


@pytest.mark.parametrize("storage", ["jsonl", "parquet", "hf"])
@pytest.mark.parametrize("fmt, expected_rows", [("sft", 16), ("preference", 6), ("rl", 10), ("raw", 16)])
def test_every_format_in_every_storage(rollouts, tmp_path, fmt, storage, expected_rows):
    out = tmp_path / "dataset"
    result = export(rollouts, out, fmt=fmt, storage=storage)
    rows = _read(out, storage)
    assert result.rows == len(rows) == expected_rows
    card = (out / "README.md").read_text()
    assert f"rows: {expected_rows}" in card and "reward histogram" in card.lower() and "`tools/calculator-v0` | 12" in card
    if fmt == "sft":
        roles = [m["role"] for m in rows[0]["messages"]]
        assert roles[:2] == ["system", "user"] and "assistant" in roles
        calls = [c for r in rows for m in r["messages"] for c in m["tool_calls"]]
        assert calls and all(isinstance(c["function"]["arguments"], str) for c in calls)
    if fmt == "preference":
        for row in rows:
            assert row["chosen_reward"] > row["rejected_reward"]
            assert row["prompt"][0]["role"] == "system" and row["chosen"][0]["role"] == "assistant"
    if fmt == "rl":
        assert all({"prompt", "env_id", "env_kwargs", "seed"} <= set(r) for r in rows)
    if fmt == "raw":
        turns = json.loads(rows[0]["turns"])
        assert turns and "action" in turns[0]


def test_filters(rollouts, tmp_path):
    assert export(rollouts, tmp_path / "a", success_only=True).rows == 6
    assert export(rollouts, tmp_path / "b", min_reward=1.0).rows == 6
    assert export(rollouts, tmp_path / "c", env_ids=["games/tictactoe-v0"]).rows == 4
    empty = export(rollouts, tmp_path / "d", env_ids=["games/none-v0"], storage="hf")
    assert empty.rows == 0 and (tmp_path / "d" / "README.md").exists()


def test_export_replaces_an_old_folder_and_rejects_bad_input(rollouts, tmp_path):
    out = tmp_path / "ds"
    export(rollouts, out, storage="hf")
    export(rollouts, out, storage="jsonl")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data.jsonl"]
    from envarena import EnvArenaError

    with pytest.raises(EnvArenaError, match="does not exist"):
        export([str(tmp_path / "missing.jsonl")], tmp_path / "x")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"not": "an episode"}\n')
    with pytest.raises(EnvArenaError, match="bad.jsonl:1 is not an episode"):
        export([str(bad)], tmp_path / "y")
