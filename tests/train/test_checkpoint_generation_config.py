"""A trained checkpoint carries the run's sampling settings, and `hf:CHECKPOINT` uses them."""

from __future__ import annotations

import json

import pytest

from envarena.agents.generation_config import sampling_defaults
from envarena.agents.hf import HFPolicy
from envarena.train import Trainer, load_config

RUN = ["model=tiny", "env_id=text/copy-v0", 'env_kwargs={"difficulty": "easy"}', "steps=1", "tasks_per_step=2",
       "group_size=2", "max_new_tokens=3", "temperature=0.9", "top_p=0.95", "eval_every=0", "checkpoint_every=1"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The model folder of a real (one-step) training run of the tiny model."""
    run_dir = tmp_path_factory.mktemp("run")
    Trainer(load_config(None, RUN), run_dir, log=lambda line: None).run()
    return run_dir / "checkpoint-000001" / "model"


def test_the_checkpoint_saves_the_runs_generation_settings(checkpoint):
    saved = json.loads((checkpoint / "generation_config.json").read_text())
    assert saved["max_new_tokens"] == 3 and saved["temperature"] == 0.9 and saved["top_p"] == 0.95
    assert saved["do_sample"] is True and saved["eos_token_id"] == 3  # the tiny tokenizer's <|im_end|>
    assert sampling_defaults(checkpoint) == {"temperature": 0.9, "top_p": 0.95, "max_new_tokens": 3}


def test_hf_agent_takes_them_as_defaults_and_explicit_options_win(checkpoint):
    params = HFPolicy(str(checkpoint)).params
    assert (params.max_new_tokens, params.temperature, params.top_p) == (3, 0.9, 0.95)
    params = HFPolicy(str(checkpoint), max_new_tokens=7, temperature=0.0).params
    assert (params.max_new_tokens, params.temperature, params.top_p) == (7, 0.0, 0.95)


def test_a_rollout_with_the_checkpoint_generates_at_most_the_runs_budget(checkpoint, cli, tmp_path):
    result = cli("rollout", "text/copy-v0", "--agent", f"hf:{checkpoint}", "-n", "3", "-e", "difficulty=easy",
                 "--out", "r.jsonl", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    episodes = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    lengths = [len(t["trace"]["completion_ids"]) for e in episodes for t in e["turns"]]
    assert lengths and max(lengths) <= 3


def test_a_model_folder_without_settings_keeps_the_generic_defaults(tmp_path):
    from envarena.train.tiny import build_tiny

    model, tokenizer = build_tiny()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    assert sampling_defaults(tmp_path) == {}
    params = HFPolicy(str(tmp_path)).params
    assert (params.max_new_tokens, params.temperature, params.top_p) == (256, 0.7, 1.0)
