"""`envarena plot RUN_DIR`: PNG curves from metrics.jsonl.

One file per panel (reward, entropy, ...) plus `overview.png` with every curve of the run
on one page. Each metric gets its own axes: metrics that share a panel often have different
scales (KL and clip fraction, the three time splits) or equal values (train and eval reward
on an easy task), and on shared axes one curve hides the other.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from envarena.errors import EnvArenaError

__all__ = ["overview_figure", "panel_figure", "plot_run"]

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

_OVERVIEW_COLUMNS = 3


def _series(rows: list[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    return [(r["step"], r[key]) for r in rows
            if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]  # fmt: skip


def _draw(axis: Any, points: list[tuple[float, float]], key: str, color: str) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    axis.plot(*zip(*points), marker="o" if len(points) < 30 else None, markersize=3, color=color)
    axis.set_title(key, fontsize=9)
    axis.grid(alpha=0.3)
    axis.tick_params(labelsize=7)


def panel_figure(rows: list[dict[str, Any]], name: str, keys: list[str]) -> Any:
    """One panel: a stack of axes, one metric each, sharing the step axis (None if no data)."""
    import matplotlib.pyplot as plt

    curves = [(key, points) for key in keys if (points := _series(rows, key))]
    if not curves:
        return None
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    figure, axes = plt.subplots(len(curves), 1, figsize=(6, 2.2 * len(curves) + 0.6), sharex=True, squeeze=False)
    for i, (axis, (key, points)) in enumerate(zip(axes[:, 0], curves)):
        _draw(axis, points, key, colors[i % len(colors)])
    axes[-1, 0].set_xlabel("step")
    figure.suptitle(name.replace("_", " "))
    figure.tight_layout()
    return figure


def overview_figure(rows: list[dict[str, Any]], title: str) -> Any:
    """Every plotted metric of the run on one page, one small axes each."""
    import matplotlib.pyplot as plt

    drawn = [(key, points) for _, keys in PANELS for key in keys if (points := _series(rows, key))]
    if not drawn:
        plotted = ", ".join(k for _, ks in PANELS for k in ks)
        raise EnvArenaError(f"the run holds none of the metrics plotted ({plotted})")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    columns = min(_OVERVIEW_COLUMNS, len(drawn))
    lines = math.ceil(len(drawn) / columns)
    figure, axes = plt.subplots(lines, columns, figsize=(4 * columns, 2.4 * lines + 0.6), squeeze=False)
    for i, (key, points) in enumerate(drawn):
        axis = axes[i // columns, i % columns]
        _draw(axis, points, key, colors[i % len(colors)])
        if i + columns >= len(drawn):  # the lowest plot of its column
            axis.set_xlabel("step", fontsize=8)
    for axis in axes.flat[len(drawn) :]:
        axis.set_visible(False)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_run(run_dir: str | Path) -> list[Path]:
    """Write the panels and the overview into RUN_DIR/plots; return their paths (overview first)."""
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
    figure = overview_figure(rows, f"{run_dir.resolve().name}: {len(rows)} steps")
    out_dir = run_dir / "plots"
    out_dir.mkdir(exist_ok=True)
    written = [out_dir / "overview.png"]
    figure.savefig(written[0], dpi=100)
    plt.close(figure)
    for name, keys in PANELS:
        figure = panel_figure(rows, name, keys)
        if figure is not None:
            written.append(out_dir / f"{name}.png")
            figure.savefig(written[-1], dpi=100)
            plt.close(figure)
    return written
