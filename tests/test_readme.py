"""The README's promises: its example environment runs, and CI runs its test command."""

from __future__ import annotations

import re

from .conftest import REPO

README = (REPO / "README.md").read_text()


def _block_after(marker: str) -> str:
    match = re.search(re.escape(marker) + r"\s*```python\n(.*?)```", README, re.DOTALL)
    assert match, f"no python block after {marker!r}"
    return match.group(1)


def test_readme_environment_example_runs_with_the_public_api(tmp_path):
    from envarena.registration import registry
    from envarena.rollout import RolloutConfig, run_rollout_sync

    code = _block_after("<!-- example: custom-environment -->")
    assert "from envarena." not in code.replace("from envarena import", ""), "public API only"
    try:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
        result = run_rollout_sync(RolloutConfig(env_id="demo/capitals-v0", agent="scripted", n=8, out=str(tmp_path / "r.jsonl")), keep_episodes=True)
        assert all(e.outcome == 1.0 for e in result.episodes)
    finally:
        registry.remove("demo/capitals-v0", missing_ok=True)


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.DOTALL)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (REPO / ".ci" / "run").read_text()
    assert test_command.strip() in ci.splitlines()


def test_readme_python_api_block_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    block = re.search(r"## Python API\s*```python\n(.*?)```", README, re.DOTALL).group(1)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme_api"})
    assert (tmp_path / "runs" / "a.jsonl").exists() and (tmp_path / "datasets" / "arith" / "data.parquet").exists()
