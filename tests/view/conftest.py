"""Real data for the viewer's tests: rollout files from the real engine and a real (tiny) training run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envarena.rollout import RolloutConfig, run_rollout_sync

RUN_SETTINGS = ["model=tiny", "env_id=text/copy-v0", 'env_kwargs={"difficulty": "easy"}', "steps=3", "tasks_per_step=2",
                "group_size=3", "max_new_tokens=4", "eval_every=2", "eval_tasks=2", "checkpoint_every=3",
                "deterministic=true"]


@pytest.fixture(scope="session")
def rollout_dir(tmp_path_factory) -> Path:
    """Four files: tool calls, groups of samples, a two-player game, and episodes that ended in errors."""
    folder = tmp_path_factory.mktemp("rollouts")
    plans = [
        RolloutConfig(env_id="tools/calculator-v0", agent="scripted", n=3, out=str(folder / "calc.jsonl")),
        RolloutConfig(env_id="text/countdown-v0", agent="random", n=3, samples=3, out=str(folder / "countdown.jsonl")),
        RolloutConfig(env_id="games/tictactoe-v0", agent="scripted", opponent="random", n=2, out=str(folder / "ttt.jsonl")),
        RolloutConfig(env_id="text/countdown-v0", agent="random", n=2, seed=100, episode_timeout=1e-6,
                      out=str(folder / "timeouts.jsonl")),
    ]
    for plan in plans:
        run_rollout_sync(plan)
    return folder


@pytest.fixture(scope="session")
def rollout_files(rollout_dir) -> list[Path]:
    return [rollout_dir / name for name in ("calc.jsonl", "countdown.jsonl", "ttt.jsonl", "timeouts.jsonl")]


@pytest.fixture(scope="session")
def train_run(tmp_path_factory) -> Path:
    """A finished three-step GRPO run of the tiny model: metrics, traced rollouts, an eval, a checkpoint."""
    from envarena.train import Trainer, load_config

    run_dir = tmp_path_factory.mktemp("train") / "run"
    Trainer(load_config(None, RUN_SETTINGS), run_dir, log=lambda line: None).run()
    return run_dir


def episodes(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class ViewServer:
    """`envarena view ... --port 0 --no-open` as a user starts it; `url` is what it printed."""

    def __init__(self, *paths: Path | str, extra: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "envarena", "view", *map(str, paths), "--port", "0", "--no-open", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 120
        line = ""
        while "http://" not in line:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise AssertionError(f"envarena view exited: {self.process.stderr.read()}")
            assert time.monotonic() < deadline, "envarena view printed no URL"
        self.announce = line
        self.url = line[line.index("http://"):].split()[0]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()
