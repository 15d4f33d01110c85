"""The command line as a user meets it (real subprocesses)."""

from __future__ import annotations

import json

import datasets


def test_list_groups_environments(cli):
    result = cli("list")
    assert result.returncode == 0, result.stderr
    for group in ("games (single-player): ", "games (two-player): ", "text: ", "tools: ", "code: "):
        assert group in result.stdout
    assert "games/wordle-v0" in result.stdout


def test_info_shows_description_and_an_opening(cli):
    result = cli("info", "tools/calculator-v0", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "calculate" in result.stdout and "[user]" in result.stdout and "options:" in result.stdout


def test_wordle_scripted_and_random_and_export_to_hf(cli, tmp_path):
    scripted = cli("rollout", "games/wordle-v0", "--agent", "scripted", "-n", "50", "--out", "r.jsonl", cwd=tmp_path)
    assert scripted.returncode == 0, scripted.stderr
    episodes = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(episodes) == 50 and all(e["outcome"] == 1.0 for e in episodes)
    assert "games/wordle-v0" in scripted.stdout and "100%" in scripted.stdout  # the summary table
    random = cli("rollout", "games/wordle-v0", "--agent", "random", "-n", "50", "--out", "rr.jsonl", cwd=tmp_path)
    assert random.returncode == 0, random.stderr
    outcomes = [json.loads(line)["outcome"] for line in (tmp_path / "rr.jsonl").read_text().splitlines()]
    assert len(outcomes) == 50 and sum(outcomes) / 50 < 0.3
    exported = cli("export", "r.jsonl", "--format", "sft", "--to", "hf", "out/", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    dataset = datasets.load_from_disk(str(tmp_path / "out"))
    assert len(dataset) == 50 and dataset[0]["messages"][0]["role"] == "system"


def _one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_user_errors_are_one_line_and_nonzero(cli, tmp_path):
    _one_line_error(cli("rollout", "nope/x-v0", cwd=tmp_path), "unknown environment 'nope/x-v0'")
    _one_line_error(cli("rollout", "games/wordle-v0", "-e", "difficulty=impossible", cwd=tmp_path), "difficulty")
    _one_line_error(cli("rollout", "games/wordle-v0", "-e", "colour", cwd=tmp_path), "key=value")
    _one_line_error(cli("rollout", "games/wordle-v0", "--agent", "gpt-9", cwd=tmp_path), "unknown agent spec")
    _one_line_error(cli("info", "games/wordel-v0"), "did you mean 'games/wordle-v0'")
    _one_line_error(cli("export", "missing.jsonl", "out", cwd=tmp_path), "does not exist")
    _one_line_error(cli("init", "Bad Name", cwd=tmp_path), "not a valid name")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_play_reads_moves_from_the_terminal(cli, tmp_path):
    import subprocess
    import sys

    moves = "\n".join(["<answer>1 1 2 2</answer>"] * 2 + ["/tools", "<answer>1 2 3 4</answer>"] * 12) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "envarena", "play", "games/mastermind-v0", "--seed", "4", "--out", "p.jsonl"],
        input=moves, capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "black" in result.stdout and "outcome" in result.stdout
    episode = json.loads((tmp_path / "p.jsonl").read_text())
    assert episode["agent"] == "human" and len(episode["turns"]) >= 10
