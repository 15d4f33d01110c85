"""The generation interface reports tokens as they are sampled and can sample under a JSON
schema (the real SmolLM2 through the hf engine)."""

from __future__ import annotations

import asyncio
import json

import pytest

from envarena.agents.generation import SamplingParams
from envarena.types import Message


@pytest.fixture(scope="module")
def engine(smollm2):
    from envarena.agents.hf import HFEngine

    return HFEngine("smollm2-135m")


def _prompt(engine, text: str) -> list[int]:
    return engine.format.first_prompt([Message(role="user", content=text)], [])


def test_each_token_is_reported_while_the_batch_generates(engine):
    prompts = [_prompt(engine, "Say hello."), _prompt(engine, "Count to five.")]
    heard: dict[int, list[int]] = {0: [], 1: []}
    counts: list[int] = []  # tokens_generated as seen from the sinks, i.e. during generation
    before = engine.tokens_generated

    def sink(i: int):
        return lambda token: (heard[i].append(token), counts.append(engine.tokens_generated))

    async def both():
        params = SamplingParams(max_new_tokens=12, temperature=0)
        return await asyncio.gather(*(engine.generate(p, params, on_token=sink(i)) for i, p in enumerate(prompts)))

    generations = asyncio.run(both())
    assert engine.batch_sizes[-1] == 2  # one batch: the tokens were heard during it, not after
    for i, generation in enumerate(generations):
        assert heard[i] == generation.completion_ids
    total = sum(len(g.completion_ids) for g in generations)
    assert engine.tokens_generated - before == total
    assert counts == sorted(counts) and counts[0] - before == 1 and counts[-1] - before == total


def test_a_json_schema_constrains_what_is_sampled(engine):
    arguments = {"type": "object", "properties": {"expression": {"type": "string", "maxLength": 12}},
                 "required": ["expression"]}
    schema = {"type": "object", "properties": {"name": {"const": "calculate"}, "arguments": arguments},
              "required": ["name", "arguments"], "additionalProperties": False}
    params = SamplingParams(max_new_tokens=48, temperature=0, json_schema=json.dumps(schema))
    prompts = [_prompt(engine, "Tell me a story about a dragon."), _prompt(engine, "What is 2+2?")]
    for generation in engine.generate_batch(prompts, params):
        assert generation.finish_reason == "stop", engine.tokenizer.decode(generation.completion_ids)
        data = json.loads(engine.decode_reply(generation.completion_ids))
        assert data["name"] == "calculate" and len(data["arguments"]["expression"]) <= 12
        assert all(lp <= 0 for lp in generation.logprobs)
