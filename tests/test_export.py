"""Export to every format and storage, read back with the libraries users will use."""

from __future__ import annotations

import json

import datasets
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
    if storage == "parquet":  # datasets decodes the Json columns that pyarrow leaves as text
        return datasets.load_dataset("parquet", data_files=str(folder / "data.parquet"), split="train").to_list()
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
        calls = [c for r in rows for m in r["messages"] for c in m.get("tool_calls", [])]
        assert calls and all(isinstance(c["function"]["arguments"], dict) for c in calls), "arguments as objects"
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
    from envarena import EnvArenaError

    with pytest.raises(EnvArenaError, match="no episode is from games/none-v0; the files hold games/tictactoe-v0, "):
        export(rollouts, tmp_path / "d", env_ids=["games/none-v0"], storage="hf")
    with pytest.raises(EnvArenaError, match=r"no episode matches the filters \(min_reward=99.0\)"):
        export(rollouts, tmp_path / "d", min_reward=99.0)
    assert not (tmp_path / "d").exists(), "a refused export writes nothing"


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


@pytest.mark.parametrize("storage", ["jsonl", "parquet", "hf"])
def test_dataset_card_says_who_what_how_and_under_which_license(tmp_path, monkeypatch, storage):
    import re
    import subprocess
    import sys

    import yaml

    from envarena.rollout import read_episodes

    monkeypatch.chdir(tmp_path)
    run_rollout_sync(RolloutConfig(env_id="text/arithmetic-v0", agent="scripted", n=5, out="r.jsonl"))
    (reward,) = {e.total_reward for e in read_episodes("r.jsonl")}  # solved alike: all rewards equal
    export(["r.jsonl"], "ds", storage=storage, license="cc-by-4.0")
    card = (tmp_path / "ds" / "README.md").read_text()

    front = yaml.safe_load(card.split("---\n")[1])
    assert front["license"] == "cc-by-4.0" and "envarena" in front["tags"]
    assert "| `scripted` | 5 |" in card.split("## Produced by")[1], "which agent played"
    for column, kind in [("messages", "list[json]"), ("tools", "list[json]"), ("episode_id", "string"), ("seed", "int64"),
                         ("reward", "float64"), ("success", "bool")]:
        assert re.search(rf"\| `{column}` \| `{re.escape(kind)}[^|]*` \| \w", card), column

    histogram = card.split("## Episode reward histogram")[1]
    bars = [line for line in histogram.splitlines() if "#" in line]
    assert len(bars) == 1 and bars[0].split()[:2] == [f"{reward:.4f}", "5"], "one value, one row"
    assert "[" not in histogram, "no range is invented around a single value"

    code = "\n".join(re.findall(r"```python\n(.*?)```", card, re.S))
    assert "pandas" in code and ("load_dataset" in code or "load_from_disk" in code)
    loaded = subprocess.run([sys.executable, "-c", code + "\nprint(len(dataset), len(frame), frame.columns[0])"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["5", "5", "messages"], "the card's loading code works as written"


def test_reward_histogram_bins_spread_rewards_and_lists_few_values():
    from envarena.export.card import reward_histogram

    spread = reward_histogram([i / 100 for i in range(101)])
    rows = [line for line in spread.splitlines() if line.lstrip().startswith("[")]
    assert len(rows) == 10 and sum(int(r.split("]")[-1].split(")")[-1].split()[0]) for r in rows) == 101
    assert rows[-1].split(",")[1].strip().startswith("1.000]"), "the last bin includes the maximum"
    few = reward_histogram([0.0, 1.0, 1.0, -0.0])
    assert [line.split()[:2] for line in few.splitlines()[1:]] == [["0.0000", "2"], ["1.0000", "2"]]
