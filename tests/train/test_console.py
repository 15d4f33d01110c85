"""What `envarena train` prints: each warning once with a count, no progress bars in the step
log; `envarena plot` draws one overview and never two curves on one axes."""

from __future__ import annotations

import io
import json
import logging
import warnings

import pytest

from envarena.train.console import WarningDigest
from envarena.train.plot import PANELS, overview_figure, panel_figure

from ..conftest import REPO

EXAMPLE = REPO / "examples" / "tiny-cpu.yaml"


def test_train_prints_each_warning_once_with_a_count_and_no_save_bars(cli, tmp_path):
    # A tiny model given 16 tokens never learns to stop in 4 steps: a collapse warning every step.
    result = cli("train", str(EXAMPLE), "--out", "run", "--set", "steps=4", "--set", "tasks_per_step=2",
                 "--set", "group_size=2", "--set", "eval_every=0", "--set", "max_new_tokens=16",
                 "--set", "checkpoint_every=1", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    steps = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    warned = [m["step"] for m in steps if m["warnings"]]
    assert len(warned) >= 2, steps  # the warning repeats in the metrics...
    shown = [line for line in output.splitlines() if line.startswith("warning: ")]
    assert shown == [f"warning: step {warned[0]}: {steps[warned[0]]['warnings'][0]}"]  # ...is printed once
    tally = [line for line in output.splitlines() if line.startswith("warning (x")]
    assert tally == [f"warning (x{len(warned)}, the first shown): step {warned[0]}: {steps[warned[0]]['warnings'][0]}"]
    assert "Writing model shards" not in output and "it/s]" not in output  # four checkpoints, no bars
    assert len(list((tmp_path / "run").glob("checkpoint-*"))) >= 1


def test_library_warnings_and_log_lines_are_shown_once_and_counted():
    digest = WarningDigest(lambda line: None)
    stream = io.StringIO()
    library = logging.getLogger("some.library")  # a library with its own handler, as vLLM has
    handler = logging.StreamHandler(stream)
    library.addHandler(handler)
    library.propagate = False
    library.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            with digest.capture():
                for step in range(3):
                    library.warning("weights synced in %.2f seconds", 1.5 + step)  # one kind, other numbers
                    library.info("prefix cache reset")
                    library.error("a real error, step %d", step)
                    warnings.warn(f"{step + 1} tensors were not contiguous", UserWarning, stacklevel=1)
    finally:
        library.removeHandler(handler)
    assert [str(w.message) for w in caught] == ["1 tensors were not contiguous"]
    log = stream.getvalue().splitlines()
    assert log.count("weights synced in 1.50 seconds") == 1 and not any("2.50" in line for line in log)
    assert log.count("prefix cache reset") == 1
    assert len([line for line in log if line.startswith("a real error")]) == 3  # errors always go through
    tally = digest.summary()
    assert "warning (x3, the first shown): some.library: weights synced in 1.50 seconds" in tally
    assert "warning (x3, the first shown): UserWarning: 1 tensors were not contiguous" in tally
    assert not any("prefix cache" in line for line in tally)  # info repeats are silenced, not reported
    assert handler.filters == []  # nothing left behind


def _rows() -> list[dict]:
    # train and eval reward equal, KL and clip fraction on different scales
    return [{"step": s, "reward_mean": 0.5, "eval_reward": 0.5, "kl": 0.001 * s, "clip_fraction": 0.2,
             "entropy": 1.0 - s / 10} for s in range(5)]


@pytest.mark.parametrize("name, keys", [p for p in PANELS if p[0] in ("reward", "kl_and_clipping")])
def test_each_curve_has_its_own_axes(name, keys):
    import matplotlib

    matplotlib.use("Agg")
    figure = panel_figure(_rows(), name, keys)
    drawn = [axis for axis in figure.axes if axis.lines]
    assert len(drawn) == 2 and all(len(axis.lines) == 1 for axis in drawn)
    assert {axis.get_title() for axis in drawn} == set(keys)


def test_plot_writes_an_overview_of_every_curve(cli, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    result = cli("plot", str(run), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith("overview.png")
    overview = run / "plots" / "overview.png"
    assert overview.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and overview.stat().st_size > 10_000
    figure = overview_figure(_rows(), "run")
    assert sorted(a.get_title() for a in figure.axes if a.lines) == sorted(["reward_mean", "eval_reward", "kl",
                                                                           "clip_fraction", "entropy"])
