"""`envarena serve` as a user meets it: the real CLI on a free loopback port, the real SmolLM2,
the official `openai` client. Streaming, tool_choice, model names, token-id prompts, the
ready line, the request log, and a busy port."""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import openai
import pytest
from openai import OpenAI

MODEL = "smollm2-135m"
# Loading torch, transformers and the model takes seconds on an idle machine and minutes on a
# busy 2-core one; a request waits behind the others the server is generating.
START_TIMEOUT_S = 300
REQUEST_TIMEOUT_S = 300

CALCULATE = {"type": "function", "function": {
    "name": "calculate", "description": "Evaluate an arithmetic expression.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
LOOKUP = {"type": "function", "function": {
    "name": "lookup", "description": "Look a word up in the dictionary.",
    "parameters": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}}}


class _Served:
    """A running `envarena serve` whose stdout lines are collected as they come."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "envarena", "serve", MODEL, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # keep the pipe drained

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            exited = self.process.poll() is not None
            if exited:
                self._reader.join(timeout=10)  # everything it printed, up to the end
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            assert not exited, f"envarena serve exited with {self.process.returncode}: {self.lines}"
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no line matching {pattern!r} within {timeout} s: {self.lines}"
            try:
                self._new.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                pass

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def served(smollm2):
    server = _Served()
    try:
        ready = server.wait_for(r"^ready: serving '(.+)' at (http://127\.0\.0\.1:\d+/v1)", START_TIMEOUT_S)
        assert ready.group(1) == MODEL
        server.base = ready.group(2)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tokenizer(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2)


@pytest.fixture(scope="module")
def client(served):
    return OpenAI(base_url=served.base, api_key="unused", timeout=REQUEST_TIMEOUT_S, max_retries=0)


def test_chat_streams_token_by_token_as_the_model_generates(client):
    messages = [{"role": "user", "content": "Count from 1 to 30, separated by commas."}]
    whole = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=40, temperature=0)
    start = time.perf_counter()
    arrivals, pieces, chunks = [], [], []
    for chunk in client.chat.completions.create(model=MODEL, messages=messages, max_tokens=40, temperature=0,
                                                stream=True, stream_options={"include_usage": True}):
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter() - start)
            pieces.append(chunk.choices[0].delta.content)
    total = time.perf_counter() - start
    assert "".join(pieces) == whole.choices[0].message.content  # the same greedy answer, piece by piece
    assert len(pieces) >= 10, pieces
    # Streamed while generated: the first text arrives well before the answer is complete
    # (an answer generated whole and then sent as events arrives all at the end).
    assert arrivals[0] < 0.6 * total, (arrivals[:3], total)
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finish] == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 40


def test_completions_take_token_id_prompts_one_or_several_and_stream(client, tokenizer):
    ids = tokenizer.encode("The capital of France is")
    other = tokenizer.encode("Two plus two equals")
    response = client.completions.create(model=MODEL, prompt=[ids, other], max_tokens=8, temperature=0,
                                         extra_body={"return_token_ids": True})
    assert [c.index for c in response.choices] == [0, 1]
    assert response.choices[0].model_extra["prompt_token_ids"] == ids
    assert response.usage.prompt_tokens == len(ids) + len(other)
    assert response.usage.completion_tokens == sum(len(c.model_extra["token_ids"]) for c in response.choices)
    chunks = list(client.completions.create(model=MODEL, prompt=ids, max_tokens=8, temperature=0, stream=True,
                                            extra_body={"return_token_ids": True}))
    assert len(chunks) > 2
    assert "".join(c.choices[0].text for c in chunks) == response.choices[0].text
    streamed_ids = [t for c in chunks for t in c.choices[0].model_extra["token_ids"]]
    assert streamed_ids == response.choices[0].model_extra["token_ids"]
    assert chunks[-1].choices[0].finish_reason == "length"


@pytest.mark.parametrize("choice, expected", [
    ({"type": "function", "function": {"name": "lookup"}}, "lookup"),  # named: even for an arithmetic question
    ("required", {"calculate", "lookup"}),
])
def test_a_required_tool_call_is_always_a_valid_call(client, choice, expected):
    response = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "What is 12*7?"}], tools=[CALCULATE, LOOKUP],
        tool_choice=choice, max_tokens=60, temperature=0,
    )
    reply = response.choices[0]
    assert reply.finish_reason == "tool_calls"
    (call,) = reply.message.tool_calls
    assert call.function.name in (expected if isinstance(expected, set) else {expected})
    arguments = json.loads(call.function.arguments)
    required = {"calculate": "expression", "lookup": "word"}[call.function.name]
    assert isinstance(arguments.get(required), str)


def test_a_required_tool_call_streams_as_tool_call_chunks(client):
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Add 3 and 4."}], tools=[CALCULATE], tool_choice="required",
        max_tokens=60, temperature=0, stream=True,
    ))
    calls = [call for c in chunks for call in (c.choices[0].delta.tool_calls or [])]
    assert [c.function.name for c in calls] == ["calculate"] and "expression" in json.loads(calls[0].function.arguments)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_none_leaves_the_tools_out(client):
    messages = [{"role": "user", "content": "Compute 12*7 with the tool."}]
    none = client.chat.completions.create(model=MODEL, messages=messages, tools=[CALCULATE], tool_choice="none",
                                          max_tokens=5, temperature=0)
    auto = client.chat.completions.create(model=MODEL, messages=messages, tools=[CALCULATE], max_tokens=5,
                                          temperature=0)
    assert none.choices[0].message.tool_calls is None
    assert none.usage.prompt_tokens < auto.usage.prompt_tokens  # the tool schemas are not in its prompt


@pytest.mark.parametrize("tools, choice, message", [
    ([CALCULATE], {"type": "function", "function": {"name": "search"}}, "'search', which is not in 'tools'"),
    ([CALCULATE], "any", "tool_choice must be"),
    (None, "required", "needs at least one tool"),
])
def test_a_tool_choice_that_cannot_be_honoured_is_refused(client, tools, choice, message):
    extra = {"tools": tools} if tools else {}
    with pytest.raises(openai.BadRequestError, match=message):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], tool_choice=choice,
                                       max_tokens=5, **extra)


def test_a_required_call_cut_short_by_max_tokens_is_refused(client):
    with pytest.raises(openai.BadRequestError, match="raise max_tokens"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], tools=[CALCULATE],
                                       tool_choice="required", max_tokens=3)


def test_malformed_messages_and_huge_budgets_are_400_not_500(client):
    """A tool call that is not an object used to escape as a 500 with a traceback; an unbounded
    max_tokens would hold the one-batch-at-a-time engine for every other client."""
    bad = [{"role": "assistant", "content": "", "tool_calls": ["oops"]}, {"role": "user", "content": "Hi"}]
    with pytest.raises(openai.BadRequestError, match="bad messages or tools"):
        client.chat.completions.create(model=MODEL, messages=bad, max_tokens=3)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=10**7)


def test_an_unknown_model_is_404_model_not_found(client, tmp_path):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], max_tokens=5)
    assert caught.value.code == "model_not_found" and MODEL in caught.value.message
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="gpt-4o", prompt=[1, 2, 3], max_tokens=5)
    # the openai: agent turns it into one sentence on the episode
    from envarena.agents import load_policy
    from envarena.rollout import RolloutConfig, run_rollout_sync

    config = RolloutConfig(env_id="text/arithmetic-v0", agent=f"openai:gpt-4o@{client.base_url}", n=1,
                           out=str(tmp_path / "r.jsonl"))
    policy = load_policy(config.agent, tokenizer=MODEL, max_retries=0)
    (episode,) = run_rollout_sync(config, policy=policy, keep_episodes=True).episodes
    assert "does not serve the model 'gpt-4o'" in episode.error


def test_each_request_is_one_log_line(served, client):
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=3)
    served.wait_for(r'"POST /v1/chat/completions" 200 [\d.]+s prompt \d+ \+ completion \d tokens$', 30)
    list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=2,
                                        stream=True))
    served.wait_for(r'"POST /v1/chat/completions" 200 [\d.]+s prompt \d+ \+ completion \d tokens \(stream\)$', 30)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
    served.wait_for(r'"POST /v1/chat/completions" 404 ', 30)
    client.models.list()
    served.wait_for(r'"GET /v1/models" 200 ', 30)


def test_a_busy_port_fails_at_once_before_the_model_loads(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        # a model that does not exist: the port is checked first, so the error is about the port
        result = subprocess.run([sys.executable, "-m", "envarena", "serve", "no-such-model", "--port", str(port)],
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "loading" not in result.stdout
    assert result.stderr.strip() == (f"error: port {port} on 127.0.0.1 is already in use; "
                                     "stop what holds it or pick another with --port")


def test_ctrl_c_stops_the_server_cleanly(smollm2):
    server = _Served()
    try:
        server.wait_for(r"^ready: ", START_TIMEOUT_S)
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=60) == 0
        server.wait_for(r"^stopped$", 10)
        assert not any("interrupted" in line for line in server.lines)  # not the rollout's message
    finally:
        server.stop()


def _stream_pieces(tokenizer, text: str, **options) -> tuple[list[str], str, Any]:
    from envarena.serve.text_stream import TextStream

    stream = TextStream(tokenizer, stop_ids={tokenizer.eos_token_id}, **options)
    pieces = [stream.push(t) for t in tokenizer.encode(text)]
    return [p for p in pieces if p], stream.finish(), stream


def test_streamed_text_is_always_a_prefix_of_the_answer(tokenizer):
    text = "Température: 21°C 🌡️, then more"
    pieces, rest, _ = _stream_pieces(tokenizer, text)
    assert "".join(pieces) + rest == text and len(pieces) > 5
    assert not any("\ufffd" in p for p in pieces)  # no half characters
    pieces, rest, stream = _stream_pieces(tokenizer, "The answer is 42.\nObservation: none", stops=["\nObservation:"])
    assert "".join(pieces) + rest == "The answer is 42." and stream.stopped
    assert not any("\n" in p for p in pieces)  # the start of the stop string was never sent


def test_a_tool_call_is_held_back_from_the_content(tokenizer):
    text = 'Let me compute. <tool_call>{"name": "calculate", "arguments": {"expression": "1+1"}}</tool_call>'
    pieces, rest, stream = _stream_pieces(tokenizer, text, holds=["<tool_call>"], hold_json=True)
    assert "".join(pieces) + rest == "Let me compute. " and stream.held
    assert stream.text == text  # the caller parses the call from the whole text
    pieces, rest, _ = _stream_pieces(tokenizer, '{"name": "calculate", "arguments": {}}', holds=["<tool_call>"],
                                     hold_json=True)
    assert pieces == []  # a bare JSON call is not streamed as content either


def test_a_stream_whose_client_leaves_is_stopped_and_logged(served, client):
    """The client reads one chunk and hangs up: the server stops the stream (it does not send
    the remaining tokens to nobody) and logs the request as a disconnect."""
    stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Count to 100."}],
                                            max_tokens=200, temperature=0, stream=True)
    next(iter(stream))
    stream.close()
    line = served.wait_for(r'"POST /v1/chat/completions" 499 \(client disconnected\) .*completion (\d+) tokens \(stream\)$',
                           120)
    assert int(line.group(1)) < 200
