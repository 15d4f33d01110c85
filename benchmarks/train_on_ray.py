"""Training steps with the rollout phase local vs on Ray workers, in one run.

The same config trains a fresh tiny model for a few steps three ways: rollouts in the
trainer's process (environments stepped by the local engine, CPU-heavy ones in its process
pool), then on 1 and on 2 Ray workers that play against the trainer's engine served over
loopback. The environment defaults to hard sudoku, whose resets cost about 0.3 s of CPU each,
so the rollout phase is bound by environment work rather than by the tiny model (two turns per
episode keep the prompts within the tiny model's 1,024 positions).

Per configuration it prints the mean seconds per step of the rollout phase and of the whole
step, after a first step that is left out (it pays for start-up: the process pool, Ray's
workers). Ray's own start-up and the workers' are reported apart. From the measured
per-episode environment cost it says what a cluster would give: the environment share
divides by the workers, the generation share stays on the trainer's engine.

    python benchmarks/train_on_ray.py [--env games/sudoku-v0] [--difficulty hard] [--steps 4]
        [--max-turns 2] [--tasks 8] [--group 4] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import ray

from envarena.train import Trainer, load_config


def _train(overrides: list[str], run_dir: Path) -> tuple[float, list[dict]]:
    """Seconds to build the trainer (model, engine, and with ray its workers), and each step's metrics."""
    start = time.perf_counter()
    with Trainer(load_config(None, overrides), run_dir, log=lambda line: None) as trainer:
        built = time.perf_counter() - start
        steps = []
        for step in range(trainer.config.steps):
            begin = time.perf_counter()
            metrics = trainer.train_step(step)
            metrics["wall_s"] = time.perf_counter() - begin
            steps.append(metrics)
    return built, steps


def _env_seconds(run_dir: Path, step: int) -> float:
    """Mean seconds one episode of the step spent in its environment (resets, steps, verifiers)."""
    lines = (run_dir / "rollouts" / f"step-{step:06d}.round0.jsonl").read_text().splitlines()
    return statistics.mean(json.loads(line)["env_s"] for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="games/sudoku-v0")
    parser.add_argument("--difficulty", default="hard")
    parser.add_argument("--max-turns", type=int, default=2, help="Turns per episode (short prompts for the tiny model).")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--group", type=int, default=4)
    parser.add_argument("--workers", default="1,2", help="Comma-separated Ray worker counts.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="train-on-ray-"))
    common = ["model=tiny", f"env_id={args.env}", f'env_kwargs={{"difficulty": "{args.difficulty}", "max_turns": {args.max_turns}}}',
              f"steps={args.steps}", f"tasks_per_step={args.tasks}", f"group_size={args.group}",
              "max_new_tokens=16", "eval_every=0", f"checkpoint_every={args.steps}", "lr=0.001"]

    rows = [("local", *_train(common, folder / "local"), folder / "local")]
    start = time.perf_counter()
    ray.init(include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    ray_start = time.perf_counter() - start
    try:
        for count in (int(w) for w in args.workers.split(",")):
            run_dir = folder / f"ray{count}"
            rows.append((f"ray, {count} worker{'s' if count > 1 else ''}",
                         *_train([*common, f"ray.workers={count}"], run_dir), run_dir))
    finally:
        ray.shutdown()

    episodes = args.tasks * args.group
    print(f"{args.env} ({args.difficulty}), tiny model, {episodes} episodes per step, {args.steps} steps "
          f"(the first left out of the means); Ray start-up {ray_start:.1f} s")
    print(f"{'rollouts':<16}{'build s':>9}{'rollout s/step':>16}{'step s':>9}{'env s/episode':>15}{'vs local':>10}")
    base = None
    for name, built, steps, run_dir in rows:
        timed = steps[1:] or steps
        rollout = statistics.mean(m["time_generate_s"] + m["time_env_s"] for m in timed)
        wall = statistics.mean(m["wall_s"] for m in timed)
        env_cost = statistics.mean(_env_seconds(run_dir, m["step"]) for m in timed)
        base = base or rollout
        print(f"{name:<16}{built:>9.1f}{rollout:>16.2f}{wall:>9.2f}{env_cost:>15.3f}{base / rollout:>9.2f}x")
    print("On a cluster: the environment share of a step divides by the number of workers (each with its own "
          "cores and sandboxes); the generation share stays on the trainer's engine, which batches the workers' "
          "requests, and the update does not change.")


if __name__ == "__main__":
    main()
