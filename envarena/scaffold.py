"""`envarena init NAME`: a ready-to-install environment package, registered by entry point.

The generated package uses only the public API (`from envarena import ...`), ships a
reference solver and a test, and appears in `envarena list` once pip-installed.
"""

from __future__ import annotations

import re
from pathlib import Path

from envarena.errors import EnvArenaError

__all__ = ["scaffold"]

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
description = "An envarena environment: {env_id}"
requires-python = ">=3.11"
dependencies = ["envarena"]

[project.entry-points."envarena.environments"]
"{env_id}" = "{package}.env:{class_name}"

[tool.setuptools]
packages = ["{package}"]
"""

_ENV = '''\
"""{env_id}: reverse a word. Replace the task with yours; keep the solver honest."""

from __future__ import annotations

import numpy as np

from envarena import Score, TaskEnv

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_LENGTH = {{"easy": 4, "medium": 7, "hard": 12}}


class {class_name}(TaskEnv[str]):
    """Reverse a random word, letter by letter.

    Difficulty sets the word length. Rewards: `progress` (share of letters in the right
    place, as a potential), `format` (missing answer tags) and `outcome` (1 if exact).
    """

    def generate(self, rng: np.random.Generator) -> str:
        return "".join(rng.choice(list(_LETTERS), size=_LENGTH[self.difficulty]))

    def prompt(self, task: str) -> str:
        return f"Write the word '{{task}}' backwards. {{self.answer_instructions}}"

    def check(self, task: str, answer: str) -> Score:
        expected = task[::-1]
        right = sum(a == b for a, b in zip(expected, answer.strip()))
        if answer.strip() == expected:
            return Score(value=1.0)
        return Score(value=0.0, components={{"partial": right / len(expected)}}, feedback="Not quite.")

    def solution(self, task: str) -> str:
        return task[::-1]
'''

_TEST = '''\
import warnings

import envarena
from gymnasium.utils.env_checker import check_env
from envarena.rollout import RolloutConfig, run_rollout_sync


def test_registered_and_valid():
    assert "{env_id}" in envarena.registry
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(envarena.make("{env_id}"))


def test_reference_solver_solves(tmp_path):
    config = RolloutConfig(env_id="{env_id}", agent="scripted", n=10, out=str(tmp_path / "r.jsonl"))
    result = run_rollout_sync(config, keep_episodes=True)
    assert all(e.outcome == 1.0 for e in result.episodes)
'''

_README = """\
# {name}

An [envarena](https://pypi.org/project/envarena/) environment, registered as `{env_id}`.

    pip install -e .
    envarena list
    envarena rollout {env_id} --agent scripted -n 10 --out runs/{package}.jsonl
    pytest tests
"""


def scaffold(name: str, *, parent: Path, category: str = "custom") -> Path:
    """Create `parent/name` with a package, an entry point, a solver and a test."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise EnvArenaError(f"'{name}' is not a valid name; use lowercase letters, digits and dashes")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", category):
        raise EnvArenaError(f"'{category}' is not a valid category; use lowercase letters, digits and dashes")
    root = parent / name
    if root.exists():
        raise EnvArenaError(f"'{root}' already exists")
    package = name.replace("-", "_")
    values = {
        "name": name,
        "package": package,
        "env_id": f"{category}/{name}-v0",
        "class_name": "".join(part.capitalize() for part in name.split("-")) + "Env",
    }
    files = {
        "pyproject.toml": _PYPROJECT,
        f"{package}/__init__.py": '"""{env_id} for envarena."""\n',
        f"{package}/env.py": _ENV,
        "tests/test_env.py": _TEST,
        "README.md": _README,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))
    return root
