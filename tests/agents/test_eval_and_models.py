"""eval / report numbers, and the model cache commands."""

from __future__ import annotations

import json

from envarena.rollout import pass_at_k


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(4, 0, 1) == 0.0 and pass_at_k(4, 4, 2) == 1.0
    assert pass_at_k(4, 1, 1) == 0.25
    assert abs(pass_at_k(4, 1, 2) - 0.5) < 1e-12  # 1 - C(3,2)/C(4,2)
    assert abs(pass_at_k(10, 3, 5) - (1 - 21 / 252)) < 1e-12


def test_eval_report_is_reproducible_from_the_jsonl(cli, tmp_path):
    result = cli("eval", "text/countdown-v0", "games/mastermind-v0", "--agent", "random", "-n", "6", "-k", "4",
                 "--out-dir", "ev", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert report["k"] == 4 and {r["env_id"] for r in report["environments"]} == {"text/countdown-v0", "games/mastermind-v0"}
    for row in report["environments"]:
        assert row["episodes"] == 24 and row["tasks"] == 6 and set(row["pass_at"]) == {"1", "2", "4"}
    again = cli("report", *report["files"], "--json", "again.json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again.json").read_text())["environments"] == report["environments"]


def test_models_list_shows_the_cache_and_unknown_models_fail_clearly(cli, smollm2):
    listed = cli("models", "list")
    assert listed.returncode == 0 and "smollm2-135m" in listed.stdout and "yes" in listed.stdout
    bad = cli("rollout", "text/arithmetic-v0", "--agent", "hf:not-a-model")
    assert bad.returncode == 2 and "unknown model 'not-a-model'" in bad.stderr and "Traceback" not in bad.stderr
    missing = cli("models", "pull", "gpt-17")
    assert missing.returncode == 2 and "not a built-in model" in missing.stderr
