"""What `envarena view PATHS...` was given: rollout files, folders of them, or a training run.

A training run directory (what `envarena train --out RUN_DIR` writes) holds `metrics.jsonl`,
`config.json` and `rollouts/`, with one file per step (`step-000012.round0.jsonl`, a round
per dynamic-sampling pass), held-out evaluations (`eval-000010.jsonl`) and anything a
benchmark put there. Each file becomes a `Source` with a label a person can read; its index
is built on first use, so a run with hundreds of steps opens at once.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envarena.errors import EnvArenaError
from envarena.view.index import LineIndex, summarize_line

__all__ = ["Catalog", "Run", "Source", "open_paths"]

_STEP_FILE = re.compile(r"^step-(\d+)\.round(\d+)$")
_EVAL_FILE = re.compile(r"^eval-(\d+)$")
_SNIFF_BYTES = 64 << 20


@dataclass
class Source:
    """One rollout file."""

    id: int
    path: Path
    label: str
    kind: str = "file"  # file | step | eval
    step: int | None = None
    in_run: bool = False  # written by the training run being viewed (its tokenizer applies)
    index: LineIndex = field(init=False)

    def __post_init__(self) -> None:
        self.index = LineIndex(self.path)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path), "label": self.label, "kind": self.kind, "step": self.step,
                "in_run": self.in_run}


@dataclass
class Run:
    """A training run directory: its config, its metrics file and where its model lives."""

    path: Path

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def config(self) -> dict[str, Any]:
        try:
            config = json.loads((self.path / "config.json").read_text())
        except (OSError, ValueError):
            return {}
        return config if isinstance(config, dict) else {}

    def metrics(self) -> list[dict[str, Any]]:
        """Every complete line of metrics.jsonl (re-read each time: a live run appends)."""
        try:
            data = self.metrics_path.read_bytes()
        except OSError:
            return []
        rows = []
        for raw in data.split(b"\n")[:-1]:
            try:
                row = json.loads(raw)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
        return rows

    def tokenizer_folder(self) -> Path | None:
        """The latest checkpoint's model folder: it holds the tokenizer the run generated with."""
        pointer = self.path / "latest"
        try:
            folder = self.path / pointer.read_text().strip() / "model"
        except OSError:
            folders = sorted(self.path.glob("checkpoint-*/model"))
            return folders[-1] if folders else None
        return folder if folder.is_dir() else None


@dataclass
class Catalog:
    """Every source being viewed, and the training run when one was given."""

    sources: list[Source]
    run: Run | None = None
    title: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def rescan(self) -> None:
        """Pick up the rollout files a training run wrote since the last look (it may still be running)."""
        if self.run is None:
            return
        with self._lock:
            known = {s.path.resolve() for s in self.sources}
            for path, label, kind, step in _run_sources(self.run.path):
                if path.resolve() not in known:
                    self.sources.append(Source(len(self.sources), path, label, kind, step, in_run=True))

    def source(self, source_id: int) -> Source:
        if not 0 <= source_id < len(self.sources):
            raise KeyError(source_id)
        return self.sources[source_id]


def _is_run_dir(path: Path) -> bool:
    return (path / "metrics.jsonl").exists() or ((path / "config.json").exists() and (path / "rollouts").is_dir())


def _run_sources(run_dir: Path) -> list[tuple[Path, str, str, int | None]]:
    """The run's rollout files in training order: steps, then evaluations, then the rest."""
    steps, evals, other = [], [], []
    for path in sorted((run_dir / "rollouts").glob("*.jsonl")):
        if m := _STEP_FILE.match(path.stem):
            step, round_ = int(m[1]), int(m[2])
            label = f"step {step}" + (f" (resample {round_})" if round_ else "")
            steps.append((step, round_, (path, label, "step", step)))
        elif m := _EVAL_FILE.match(path.stem):
            evals.append((int(m[1]), 0, (path, f"eval at step {int(m[1])}", "eval", int(m[1]))))
        else:
            other.append((0, 0, (path, path.stem, "file", None)))
    return [entry for *_, entry in sorted(steps) + sorted(evals) + other]


def _check_rollout_file(path: Path) -> None:
    """Refuse, in one sentence, a file that is plainly not a rollout file (judged by its first line)."""
    with path.open("rb") as f:
        first = f.readline(_SNIFF_BYTES)
    if first.strip() and first.endswith(b"\n") and summarize_line(first) is None:
        raise EnvArenaError(f"'{path}' is not a rollout file: its first line is not an episode record")


def open_paths(paths: list[str]) -> Catalog:
    """Resolve command-line paths into sources; every mistake is one sentence."""
    if not paths:
        raise EnvArenaError("give at least one rollout file or training run directory")
    found: list[tuple[Path, str, str, int | None]] = []
    run_files: list[tuple[Path, str, str, int | None]] = []
    run: Run | None = None
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise EnvArenaError(f"'{raw}' does not exist")
        if path.is_file() and path.name == "metrics.jsonl":
            path = path.parent
        if path.is_dir() and _is_run_dir(path):
            if run is not None:
                raise EnvArenaError(f"give one training run directory at a time ('{run.path}' and '{raw}')")
            run = Run(path)
            run_files = _run_sources(path)
            found += run_files
        elif path.is_dir():
            files = sorted(path.glob("*.jsonl"))
            if not files:
                raise EnvArenaError(f"'{raw}' holds no rollout files (*.jsonl) and is not a training run directory")
            found += [(f, str(f.relative_to(path.parent)), "file", None) for f in files]
        else:
            _check_rollout_file(path)
            found.append((path, path.name, "file", None))
    in_run = {p.resolve() for p, *_ in run_files}
    unique = list({p.resolve(): (p, label, kind, step) for p, label, kind, step in found}.values())
    sources = [Source(i, p, label, kind, step, p.resolve() in in_run) for i, (p, label, kind, step) in enumerate(unique)]
    title = str(run.path) if run is not None else ", ".join(Path(p).name or p for p in paths)
    return Catalog(sources, run, title)
