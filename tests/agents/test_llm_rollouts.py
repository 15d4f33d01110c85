"""Real SmolLM2 rollouts: in-process (hf:) and through `envarena serve` + the openai: client."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import subprocess
import sys
import threading
import time

import pytest
from openai import OpenAI

from envarena.agents import load_policy
from envarena.rollout import RolloutConfig, run_rollout

SHORT = {"max_new_tokens": 40, "temperature": 0.7}
# Loading torch, transformers and the model takes seconds on an idle machine and minutes on a
# busy 2-core one; a request waits behind the others the server is generating.
START_TIMEOUT_S = 300
REQUEST_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_traces(episodes):
    assert episodes and all(e.error is None for e in episodes), [e.error for e in episodes]
    for episode in episodes:
        turns = episode.turns
        assert all(t.trace is not None for t in turns)
        for t in turns:
            assert len(t.trace.logprobs) == len(t.trace.completion_ids) > 0
            assert all(lp <= 0 for lp in t.trace.logprobs)
        for before, after in zip(turns, turns[1:]):  # token-in, token-out across turns
            prefix = before.trace.prompt_ids + before.trace.completion_ids
            assert after.trace.prompt_ids[: len(prefix)] == prefix


def test_hf_rollout_batches_and_records_token_traces(smollm2, tmp_path):
    policy = load_policy("hf:smollm2-135m", **SHORT)

    async def main():
        results = []
        for env_id, kwargs in [("text/arithmetic-v0", {"max_attempts": 2}), ("tools/calculator-v0", {"max_turns": 2})]:
            config = RolloutConfig(env_id=env_id, env_kwargs=kwargs, agent="hf:smollm2-135m", n=4,
                                   out=str(tmp_path / f"{env_id.replace('/', '_')}.jsonl"))
            results.append(await run_rollout(config, policy=policy, keep_episodes=True))
        await policy.aclose()
        return results

    arithmetic, calculator = asyncio.run(main())
    _check_traces(arithmetic.episodes)
    _check_traces(calculator.episodes)
    assert max(policy.engine.batch_sizes) > 1, "concurrent episodes must share generate calls"
    assert any(len(e.turns) > 1 for e in arithmetic.episodes + calculator.episodes)
    calc_prompt = calculator.episodes[0].turns[0].trace.prompt_ids
    assert "calculate" in policy.engine.tokenizer.decode(calc_prompt), "tool schemas reach the model"


def test_cli_rollout_with_the_default_model(smollm2, tmp_path, cli):
    result = cli("rollout", "text/arithmetic-v0", "--agent", "hf:smollm2-135m", "-n", "2", "-e", "max_attempts=1",
                 "-a", "max_new_tokens=24", "--out", "r.jsonl", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    episodes = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(episodes) == 2 and all(e["turns"][0]["trace"]["completion_ids"] for e in episodes)


@pytest.fixture(scope="module")
def server(smollm2):
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "envarena", "serve", "smollm2-135m", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, f"envarena serve did not listen within {START_TIMEOUT_S} s"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                break
        except OSError:
            time.sleep(0.3)
    yield base
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=60)


def test_official_openai_client_against_envarena_serve(server):
    client = OpenAI(base_url=server, api_key="unused")
    assert [m.id for m in client.models.list()] == ["smollm2-135m"]
    tools = [{"type": "function", "function": {"name": "calculate", "description": "Evaluate arithmetic.",
              "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}]
    response = client.chat.completions.create(
        model="smollm2-135m", messages=[{"role": "user", "content": "Compute 12*7 with the tool."}], tools=tools,
        max_tokens=30, temperature=0, logprobs=True,
        extra_body={"return_token_ids": True, "return_tokens_as_token_ids": True},
    )
    choice = response.choices[0]
    ids = choice.model_extra["token_ids"]
    assert ids and [int(t.token.split(":")[1]) for t in choice.logprobs.content] == ids
    assert response.model_extra["prompt_token_ids"] and response.usage.completion_tokens == len(ids)
    chunks = list(client.chat.completions.create(model="smollm2-135m", messages=[{"role": "user", "content": "Hi"}],
                                                 max_tokens=5, stream=True))
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    with pytest.raises(Exception, match="n=1"):
        client.chat.completions.create(model="smollm2-135m", messages=[{"role": "user", "content": "Hi"}], n=2)


def test_openai_agent_rollout_over_loopback(server, tmp_path):
    config = RolloutConfig(env_id="tools/calculator-v0", env_kwargs={"max_turns": 2}, agent=f"openai:smollm2-135m@{server}",
                           n=3, out=str(tmp_path / "r.jsonl"))
    policy = load_policy(config.agent, timeout=REQUEST_TIMEOUT_S, **SHORT)
    episodes = asyncio.run(run_rollout(config, policy=policy, keep_episodes=True)).episodes
    _check_traces(episodes)


class _Garbage(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{not json")

    def log_message(self, *args):
        pass


def test_a_down_or_garbage_server_ends_episodes_with_errors_not_the_run(tmp_path):
    garbage = http.server.HTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=garbage.serve_forever, daemon=True).start()
    try:
        for base in [f"http://127.0.0.1:{_free_port()}/v1", f"http://127.0.0.1:{garbage.server_port}/v1"]:
            config = RolloutConfig(env_id="text/arithmetic-v0", agent=f"openai:m@{base}", n=3,
                                   out=str(tmp_path / f"{abs(hash(base))}.jsonl"))
            policy = load_policy(config.agent, max_retries=1, timeout=5)
            result = asyncio.run(run_rollout(config, policy=policy, keep_episodes=True))
            assert result.written == 3 and all(e.error for e in result.episodes)
    finally:
        garbage.shutdown()


def test_recorded_logprobs_equal_a_teacher_forced_forward_pass(smollm2):
    """The trainer's importance ratios rely on these being the sampling policy's log-probs."""
    import torch

    from envarena import Message
    from envarena.agents.hf import HFEngine, SamplingParams

    engine = HFEngine("smollm2-135m")
    prompts = [engine.format.first_prompt([Message.user(text)], []) for text in ("Name a colour.", "Hi there")]
    params = SamplingParams(temperature=0.8, top_p=0.9, max_new_tokens=12)
    for prompt, generation in zip(prompts, engine.generate_batch(prompts, params)):
        ids = torch.tensor([prompt + generation.completion_ids])
        with torch.inference_mode():
            logp = torch.log_softmax(engine.model(ids).logits[0].float() / 0.8, dim=-1)
        expected = [logp[len(prompt) - 1 + i, t].item() for i, t in enumerate(generation.completion_ids)]
        assert generation.logprobs == pytest.approx(expected, abs=1e-4)


def test_lockstep_batching_never_deadlocks_on_an_agent_that_never_asks(tmp_path):
    """Two agents registered, one never generates: lockstep must still serve the other."""
    from envarena import Message
    from envarena.agents.hf import HFEngine, SamplingParams
    from envarena.train.tiny import build_tiny

    engine = HFEngine("tiny", loaded=build_tiny())
    engine.lockstep, engine.lockstep_timeout_s = True, 0.5
    engine.register()
    engine.register()  # this one will never submit a request

    async def main():
        prompt = engine.format.first_prompt([Message.user("hi")], [])
        return await asyncio.wait_for(engine.generate(prompt, SamplingParams(max_new_tokens=2)), timeout=10)

    assert len(asyncio.run(main()).completion_ids) >= 1
