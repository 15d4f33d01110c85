"""`envarena plot RUN_DIR`: PNG curves from metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

from envarena.errors import EnvArenaError

__all__ = ["plot_run"]

PANELS = [
    ("reward", ["reward_mean", "eval_reward"]),
    ("outcome", ["outcome_mean", "success_rate", "eval_outcome"]),
    ("entropy", ["entropy"]),
    ("response_length", ["response_length"]),
    ("kl_and_clipping", ["kl", "clip_fraction"]),
    ("grad_norm", ["grad_norm"]),
    ("throughput", ["tokens_per_s"]),
    ("time_split", ["time_generate_s", "time_env_s", "time_train_s"]),
]


def plot_run(run_dir: str | Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        raise EnvArenaError(f"'{run_dir}' has no metrics.jsonl; is it a training run directory?")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise EnvArenaError(f"'{path}' is empty")
    out_dir = run_dir / "plots"
    out_dir.mkdir(exist_ok=True)
    written = []
    for name, keys in PANELS:
        figure, axis = plt.subplots(figsize=(6, 3.5))
        drawn = False
        for key in keys:
            points = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
            if points:
                axis.plot(*zip(*points), marker="o" if len(points) < 30 else None, label=key)
                drawn = True
        if drawn:
            axis.set_xlabel("step")
            axis.set_title(name.replace("_", " "))
            axis.legend(fontsize=8)
            axis.grid(alpha=0.3)
            figure.tight_layout()
            target = out_dir / f"{name}.png"
            figure.savefig(target, dpi=100)
            written.append(target)
        plt.close(figure)
    return written
