"""Packaging promises: the wheel's namespace mapping, and plugins found by entry point.

Both build real artefacts and install them into fresh virtual environments. The venvs
see the test environment's site-packages (for gymnasium, datasets, ...) because the
machine may have no network; what is checked is envarena's own packaging.

"The test environment" is the interpreter running pytest, which may itself be a venv: a
nested venv made with `system_site_packages` would see the *base* interpreter's packages
instead, and fail wherever the dependencies live in the venv (every fresh-venv setup).
"""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO, run_cli


def _venv(path: Path) -> Path:
    """A fresh venv whose own site-packages come first, then exactly what this interpreter sees."""
    venv.EnvBuilder(system_site_packages=False, with_pip=False, symlinks=True).create(path)
    own = Path(sysconfig.get_path("purelib", scheme="venv", vars={"base": str(path), "platbase": str(path)}))
    seen = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
    # addsitedir (not a bare path line) so the outer .pth files, editable installs included, apply too
    lines = [f"import site; site.addsitedir({folder!r})\n" for folder in seen if Path(folder).is_dir()]
    (own / "_test_environment.pth").write_text("".join(lines))
    return path / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    # pip from the outer environment, pointed at the venv's interpreter
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", *args],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("envarena-*.whl")
    return built


def test_wheel_maps_folders_under_the_envarena_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top_level == {"envarena"}, "no top-level verifiers/agents/environments packages"
    for source_root, package in (("environments", "envarena/environments"), ("verifiers", "envarena/verifiers"),
                                 ("agents", "envarena/agents"), ("envarena", "envarena")):
        for module in (REPO / source_root).rglob("*.py"):
            relative = module.relative_to(REPO / source_root).as_posix()
            assert f"{package}/{relative}" in names, f"{module} is missing from the wheel"
    assert "envarena/environments/games/data/wordle_words.txt" in names


def test_wheel_installed_in_a_fresh_venv_imports_the_mapped_subpackages(wheel, tmp_path):
    python = _venv(tmp_path / "venv")
    _pip(python, str(wheel))
    code = (
        "import envarena, envarena.environments, envarena.verifiers, envarena.agents, importlib.util;"
        "print(envarena.__file__);"
        "assert importlib.util.find_spec('verifiers') is None or 'envarena' not in str(importlib.util.find_spec('verifiers').origin);"
        "print(len(envarena.registry))"
    )
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    location, count = result.stdout.split()
    assert str(tmp_path / "venv") in location, "the wheel's copy must be the one imported"
    assert int(count) >= 6


def test_init_scaffold_registers_through_its_entry_point(tmp_path):
    created = run_cli("init", "my-env", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    python = _venv(tmp_path / "venv")
    _pip(python, "-e", str(tmp_path / "my-env"))
    listed = run_cli("list", python=str(python), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "custom/my-env-v0" in listed.stdout
    rolled = run_cli("rollout", "custom/my-env-v0", "--agent", "scripted", "-n", "5", "--out", "r.jsonl",
                     python=str(python), cwd=tmp_path)
    assert rolled.returncode == 0, rolled.stderr
    assert "100%" in rolled.stdout
    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "my-env" / "tests")],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    again = run_cli("init", "my-env", cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr
