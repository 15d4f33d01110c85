"""Training's rollout phase on a real local Ray cluster: the episodes play on Ray worker
processes against the trainer's own engine (served over loopback), carry exact traces of
the current weights, and a killed worker costs no episode."""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest
import torch

from envarena import InvalidOptionError
from envarena.train import Trainer, load_config

from ..conftest import REPO, local_ray, ray_rollout_worker_pids

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'envarena[ray]')")
psutil = pytest.importorskip("psutil", reason="psutil (a Ray dependency) is needed to find worker processes")

EXAMPLE = REPO / "examples" / "tiny-cpu.yaml"
SMALL = ["steps=2", "tasks_per_step=4", "group_size=4", "eval_every=1", "eval_tasks=4", "checkpoint_every=2",
         "lr=0.01", "deterministic=false"]


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def one_local_ray():
    with local_ray():
        yield


def test_rollouts_play_on_ray_workers_against_the_trainers_current_weights(tmp_path, one_local_ray):
    config = load_config(EXAMPLE, [*SMALL, "ray.workers=2"])
    lines: list[str] = []
    with Trainer(config, tmp_path / "run", log=lines.append) as trainer:
        assert any("rollouts on 2 Ray workers" in line for line in lines), lines
        workers = ray_rollout_worker_pids()
        assert len(workers) == 2 and os.getpid() not in workers
        weights = [p.detach().clone() for p in trainer.model.parameters()]
        first = trainer.train_step(0)
        moved = any(not torch.equal(a, b.detach()) for a, b in zip(weights, trainer.model.parameters()))
        assert moved, "step 0 changed no weight, so step 1 could not tell stale weights from current ones"
        os.kill(workers[0], signal.SIGKILL)  # the next step's episodes on that worker are played again elsewhere
        second = trainer.train_step(1)
        after = ray_rollout_worker_pids()
        assert workers[0] not in after and len(after) == 2  # replaced, not lost
        evaluated = trainer.evaluate(1)
    deadline = time.monotonic() + 30  # Ray ends killed actors asynchronously
    while ray_rollout_worker_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ray_rollout_worker_pids(), "closing the trainer ends its Ray workers"
    for metrics in (first, second):
        assert metrics["episodes"] == 16 and metrics["errors"] == 0
        # The behaviour log-probs the workers brought back are the trainer's own to float precision: the served
        # engine is the trainer's model, so after step 0's update step 1 sampled with the updated weights.
        assert metrics["mismatch_abs_logprob"] < 1e-5, metrics
    assert set(evaluated) >= {"eval_outcome", "eval_success"}
    rollouts = tmp_path / "run" / "rollouts"
    for name in ("step-000000.round0.jsonl", "step-000001.round0.jsonl"):
        records = _records(rollouts / name)
        assert len(records) == len({r["id"] for r in records}) == 16  # none lost, none twice
        assert sorted((r["seed"], r["sample"]) for r in records) == sorted({(r["seed"], r["sample"]) for r in records})
        for record in records:
            assert record["agent"].startswith("openai:policy@http://127.0.0.1:")  # played over HTTP by the workers
            for turn in record["turns"]:
                trace = turn["trace"]
                assert trace and len(trace["completion_ids"]) == len(trace["logprobs"]) > 0


def test_deterministic_training_refuses_ray_in_one_sentence():
    with pytest.raises(InvalidOptionError, match="deterministic: true batches every episode in lockstep"):
        load_config(EXAMPLE, ["ray={}"])  # the example is deterministic


@pytest.mark.parametrize(("setting", "limit"), [("temperature=3", "temperature must be at most 2"),
                                                 ("max_new_tokens=9000", "max_new_tokens must be at most 8192")])
def test_settings_the_policy_server_would_refuse_are_refused_before_training(setting, limit):
    load_config(EXAMPLE, ["deterministic=false", setting])  # fine in one process
    with pytest.raises(InvalidOptionError, match=limit):
        load_config(EXAMPLE, ["deterministic=false", "ray={}", setting])


def test_the_cli_trains_on_ray(cli, tmp_path):
    result = cli("train", str(EXAMPLE), "--out", "run", "--ray-workers", "1", cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "--ray-workers needs --ray" in result.stderr and "Traceback" not in result.stderr, result.stderr
    result = cli("train", str(EXAMPLE), "--out", "run", "--ray", "--ray-workers", "1", cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "cannot run with ray" in result.stderr and "Traceback" not in result.stderr
    args = [f"--set={item}" for item in [*SMALL, "steps=1", "eval_every=0"]]
    # a bare --ray keeps the config's address (here one nobody answers at, so the run stops at once)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nobody = f"127.0.0.1:{s.getsockname()[1]}"
    result = cli("train", str(EXAMPLE), "--out", "run", *args, f"--set=ray.address={nobody}", "--ray", cwd=tmp_path)
    assert result.returncode == 2 and f"no Ray cluster answers at '{nobody}'" in result.stderr, result.stderr
    result = cli("train", str(EXAMPLE), "--out", "run", *args, "--ray-workers", "1", "--ray", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "rollouts on 1 Ray worker," in result.stdout
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 1
    assert all(r["agent"].startswith("openai:policy@") for r in _records(tmp_path / "run" / "rollouts" / "step-000000.round0.jsonl"))
