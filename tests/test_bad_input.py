"""Mistakes a new user makes, through the real CLI: one sentence, non-zero exit, nothing left behind.

The CLI runs in-process (click's CliRunner) so the many small cases stay fast; an exception
that escapes the CLI is re-raised here, so a traceback cannot pass for an error message.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from envarena.cli import main


@pytest.fixture
def cli(monkeypatch):
    def run(*args: str, cwd: Path) -> SimpleNamespace:
        monkeypatch.chdir(cwd)
        result = CliRunner().invoke(main, list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)

    return run


def _one_line_error(result, *fragments: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def configs(tmp_path) -> Path:
    (tmp_path / "broken.yaml").write_text("model: smollm2-135m\nsteps: 1\n  group_size: [\n")
    (tmp_path / "tabs.yaml").write_text("steps: 1\n\tgroup_size: 2\n")
    (tmp_path / "typo.yaml").write_text("steps: 1\nlora:\n  alhpa: 8\n")
    (tmp_path / "ok.yaml").write_text("steps: 1\n")
    return tmp_path


def test_malformed_yaml_is_one_sentence_with_its_line(cli, configs):
    _one_line_error(cli("train", "broken.yaml", "--out", "run", cwd=configs), "broken.yaml", "not valid YAML", "line 3")
    _one_line_error(cli("train", "tabs.yaml", "--out", "run", cwd=configs), "not valid YAML", "line 2")
    _one_line_error(cli("train", "ok.yaml", "--out", "run", "--set", "lr=[", cwd=configs), "'lr'")
    assert not (configs / "run").exists()


def test_unknown_training_keys_suggest_the_closest_one(cli, configs):
    _one_line_error(cli("train", "ok.yaml", "--out", "run", "--set", "stepz=3", cwd=configs),
                    "unknown training setting 'stepz'; did you mean 'steps'?")
    _one_line_error(cli("train", "typo.yaml", "--out", "run", cwd=configs),
                    "unknown training setting 'lora.alhpa'; did you mean 'lora.alpha'?")
    line = _one_line_error(cli("train", "ok.yaml", "--out", "run", "--set", "qqqq=1", cwd=configs), "'qqqq'")
    assert "did you mean" not in line


def test_a_refused_config_leaves_no_run_directory(cli, configs):
    _one_line_error(cli("train", "ok.yaml", "--out", "runs/new/run", "--set", "env_id=text/nope-v0", cwd=configs),
                    "unknown environment 'text/nope-v0'")
    assert not (configs / "runs").exists(), "every folder the refused run created is gone"
    _one_line_error(cli("train", "ok.yaml", "--out", "run", "--set", "model=no-such-model", cwd=configs),
                    "unknown model 'no-such-model'")
    _one_line_error(cli("train", "ok.yaml", "--out", "run", "--set", "env_kwargs={\"difficulty\": \"impossible\"}",
                        cwd=configs), "difficulty")
    assert not (configs / "run").exists()
    earlier = configs / "earlier"  # a folder that was there before is the user's: never removed
    (earlier / "run").mkdir(parents=True)
    (earlier / "run" / "notes.txt").write_text("mine")
    _one_line_error(cli("train", "ok.yaml", "--out", "earlier/run", "--set", "env_id=text/nope-v0", cwd=configs),
                    "unknown environment")
    assert (earlier / "run" / "notes.txt").read_text() == "mine"


def test_options_given_to_an_agent_that_takes_none_or_other_ones(cli, tmp_path):
    _one_line_error(cli("rollout", "games/wordle-v0", "--agent", "random", "-a", "foo=1", "--out", "r.jsonl",
                        cwd=tmp_path), "agent 'random' takes no options (given: foo)")
    _one_line_error(cli("eval", "games/wordle-v0", "--agent", "scripted", "-a", "temperature=0.2", cwd=tmp_path),
                    "agent 'scripted' takes no options (given: temperature)")
    # checked before any model is loaded, so this is fast even without the model
    _one_line_error(cli("rollout", "games/wordle-v0", "--agent", "hf:smollm2-135m", "-a", "temprature=0.5",
                        "--out", "r.jsonl", cwd=tmp_path),
                    "agent 'hf:smollm2-135m' has no option 'temprature'; did you mean 'temperature'?")
    assert not (tmp_path / "r.jsonl").exists()


def test_an_export_that_matches_nothing_says_so(cli, tmp_path):
    made = cli("rollout", "text/arithmetic-v0", "--agent", "scripted", "-n", "3", "--out", "r.jsonl", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    _one_line_error(cli("export", "r.jsonl", "ds", "--env", "games/wordle-v0", cwd=tmp_path),
                    "no episode is from games/wordle-v0; the files hold text/arithmetic-v0")
    _one_line_error(cli("export", "r.jsonl", "ds", "--min-reward", "100", cwd=tmp_path),
                    "no episode matches the filters (min_reward=100.0) among the 3 episodes")
    _one_line_error(cli("export", "r.jsonl", "ds", "--format", "preference", cwd=tmp_path), "no preference pairs")
    _one_line_error(cli("export", "r.jsonl", "ds", "--license", "my license", cwd=tmp_path), "license 'my license'")
    assert not (tmp_path / "ds").exists()
    ok = cli("export", "r.jsonl", "ds", "--license", "mit", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "license: mit\n" in (tmp_path / "ds" / "README.md").read_text()
