"""The trainer for real: a tiny model learns, a killed run resumes exactly, configs are strict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envarena import EnvArenaError, Env, InvalidOptionError, register, unregister
from envarena.train import Trainer, load_config, plot_run, stable_metrics

from ..conftest import REPO

EXAMPLE = REPO / "examples" / "tiny-cpu.yaml"


def test_tiny_transformer_learns_the_copy_environment(tmp_path):
    """From a mean reward at or below 0.2 to at or above 0.8, within the example's fixed budget."""
    config = load_config(EXAMPLE)
    metrics = Trainer(config, tmp_path / "run", log=lambda line: None).run()
    evals = [m["eval_outcome"] for m in metrics if "eval_outcome" in m]
    assert metrics[0]["reward_mean"] <= 0.2 and evals[0] <= 0.2
    assert metrics[-1]["reward_mean"] >= 0.8 and evals[-1] >= 0.8, evals
    assert all(m["errors"] == 0 for m in metrics)
    written = plot_run(tmp_path / "run")
    assert {p.name for p in written} >= {"reward.png", "outcome.png", "entropy.png"}
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == config.steps
    for key in ("reward_mean", "reward_std", "success_rate", "outcome_mean", "reward_outcome", "reward_progress", "entropy",
                "response_length", "kl", "clip_fraction", "grad_norm", "tokens_per_s", "time_generate_s", "time_env_s",
                "time_train_s", "zero_signal_groups"):
        assert key in json.loads(lines[-1]), key


RESUME = ["model=tiny", "env_id=text/copy-v0", 'env_kwargs={"difficulty": "easy"}', "steps=6", "tasks_per_step=4",
          "group_size=4", "max_new_tokens=1", "lr=0.005", "eval_every=3", "eval_tasks=4", "checkpoint_every=1",
          "deterministic=true"]


def _train_cli(run_dir: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "envarena", "train", str(EXAMPLE), "--out", str(run_dir)]
    for item in RESUME:
        args += ["--set", item]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _metrics(run_dir: Path) -> list[dict]:
    return [stable_metrics(json.loads(line)) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_a_killed_run_resumes_with_identical_metrics(tmp_path):
    straight = _train_cli(tmp_path / "straight")
    assert straight.wait(timeout=600) == 0, straight.stderr.read()
    killed_dir = tmp_path / "killed"
    killed = _train_cli(killed_dir)
    deadline = time.monotonic() + 600
    while not (killed_dir / "checkpoint-000002").exists():
        assert killed.poll() is None, killed.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not (killed_dir / "checkpoint-000006").exists(), "the kill must land mid-run"
    resumed = _train_cli(killed_dir)
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    assert _metrics(killed_dir) == _metrics(tmp_path / "straight")
    assert [m["step"] for m in _metrics(killed_dir)] == list(range(6))


def test_lora_with_kl_and_dynamic_sampling(tmp_path):
    config = load_config(None, [*RESUME, "steps=2", "deterministic=false", "lora.r=4", "lora.alpha=8", "kl_coef=0.1",
                                "dynamic_sampling=true", "checkpoint_every=2"])
    trainer = Trainer(config, tmp_path / "run", log=lambda line: None)
    assert any("lora" in name for name, p in trainer.model.named_parameters() if p.requires_grad)
    metrics = trainer.run()
    assert all(m["kl"] >= 0 and m["zero_signal_groups"] >= 0 for m in metrics)
    saved = tmp_path / "run" / "checkpoint-000002" / "model"
    assert (saved / "adapter_config.json").exists(), "a LoRA run checkpoints its adapter"


def test_config_rejects_unknown_and_ill_typed_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: tiny\nenv_id: text/copy-v0\nsteps: 3\n")
    config = load_config(path, ["tiny.hidden=32", "lr=1e-3"])
    assert config.tiny.hidden == 32 and config.lr == 1e-3 and config.steps == 3
    with pytest.raises(InvalidOptionError, match="unknown training setting 'stepz'"):
        load_config(path, ["stepz=3"])
    with pytest.raises(InvalidOptionError, match="training setting 'group_size'"):
        load_config(path, ["group_size=many"])
    with pytest.raises(InvalidOptionError, match="unknown training setting 'tiny.width'"):
        load_config(path, ["tiny.width=3"])
    with pytest.raises(InvalidOptionError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def test_cli_errors_are_one_line(cli, tmp_path):
    result = cli("train", str(EXAMPLE), "--out", str(tmp_path / "r"), "--set", "env_id=nope/x-v0")
    assert result.returncode == 2 and "unknown environment 'nope/x-v0'" in result.stderr and "Traceback" not in result.stderr
    result = cli("plot", str(tmp_path))
    assert result.returncode == 2 and "no metrics.jsonl" in result.stderr


class _Broken(Env):
    """Fails every episode at its start, as a misconfigured environment would."""

    def begin_episode(self, options):
        raise RuntimeError("the task files are missing")

    def respond(self, action):
        raise AssertionError("never reached")


def test_a_step_whose_episodes_all_failed_stops_the_run_instead_of_training_on_nothing(tmp_path):
    register("test/broken-for-training-v0")(_Broken)
    try:
        config = load_config(EXAMPLE, ["env_id=test/broken-for-training-v0", "env_kwargs={}", "tasks_per_step=2",
                                       "group_size=2", "steps=1", "eval_every=0"])
        trainer = Trainer(config, tmp_path / "run", log=lambda line: None)
        with pytest.raises(EnvArenaError, match="every episode of step 0 failed; the first: .*task files"):
            trainer.train_step(0)
    finally:
        unregister("test/broken-for-training-v0")
