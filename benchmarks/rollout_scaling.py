"""Episodes/s of one rollout, local engine vs Ray with 1, 2, ... workers, in one run.

Every configuration plays the same planned episodes into a fresh file; Ray is started once
(locally, or joined at `--ray ADDRESS`) and its start-up is reported apart from the runs.
The 1-worker rate is what extrapolates to a cluster: W workers on W free cores play about
W times as many episodes per second, until the driver, which receives and writes every
episode, becomes the bound. On a machine with fewer free cores than workers (the driver and
Ray's own processes need one), more workers only add contention, and the numbers show it.

    python benchmarks/rollout_scaling.py [--env code/humaneval-v0] [--agent scripted] [-n 164]
        [--workers 1,2] [--concurrency 8] [--ray ADDRESS]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import ray

from envarena.rollout import RolloutConfig, run_rollout_sync
from envarena.rollout.ray_rollout import ray_session, run_rollout_ray_sync


def _outcomes(path: Path) -> dict[str, float]:
    return {r["id"]: r["outcome"] for r in map(json.loads, path.read_text().splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="code/humaneval-v0")
    parser.add_argument("--agent", default="scripted")
    parser.add_argument("-n", type=int, default=164)
    parser.add_argument("--workers", default="1,2", help="Comma-separated Ray worker counts.")
    parser.add_argument("--concurrency", type=int, default=8, help="Episodes at once (per worker on Ray).")
    parser.add_argument("--ray", dest="address", default="", help="Cluster address (default: a local Ray).")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rollout-scaling-"))

    def config(name: str) -> RolloutConfig:
        return RolloutConfig(env_id=args.env, agent=args.agent, n=args.n, concurrency=args.concurrency,
                             out=str(folder / f"{name}.jsonl"))

    rows = []
    start = time.perf_counter()
    result = run_rollout_sync(config("local"), keep_episodes=True)
    wall = time.perf_counter() - start
    rows.append(("local engine", wall, result.written))
    cost = sum(e.duration_s or 0.0 for e in result.episodes) / max(1, result.written)
    reference = _outcomes(folder / "local.jsonl")

    start = time.perf_counter()
    with ray_session(args.address):
        ray_start = time.perf_counter() - start
        cpus = ray.cluster_resources().get("CPU", 0)
        for count in (int(w) for w in args.workers.split(",")):
            start = time.perf_counter()
            result = run_rollout_ray_sync(config(f"ray{count}"), workers=count, keep_episodes=True)
            rows.append((f"ray, {count} worker{'s' * (count > 1)}", time.perf_counter() - start, result.written))
            assert _outcomes(folder / f"ray{count}.jsonl") == reference, "Ray played different episodes"

    print(f"{args.env} / {args.agent}: {args.n} episodes; Ray start-up {ray_start:.1f} s ({cpus:.0f} CPUs)")
    print(f"{'run':<20} {'wall s':>8} {'episodes/s':>11}")
    for name, wall, written in rows:
        print(f"{name:<20} {wall:>8.2f} {written / wall:>11.1f}")
    print(f"mean episode latency in the local run: {cost:.3f} s (concurrent episodes overlap)")


if __name__ == "__main__":
    main()
