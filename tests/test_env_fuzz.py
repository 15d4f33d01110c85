"""Every registered environment survives hostile actions: property-based fuzzing.

After `reset(seed)`, actions an adversarial policy could send (megabytes of text, binary and
control characters, lone surrogates, deep nesting, numbers past float range, tag spam,
unknown tools, bad JSON, huge or ill-typed arguments, hundreds of calls in one message) must
each get a step that returns (never raises, never logs a caught failure), returns within
`STEP_BOUND_S`, pays a finite reward equal to its weighted components, and answers with
messages no longer than the central cap. Multi-agent games are fuzzed through their
single-agent view against a built-in opponent, which drives `MultiAgentEnv.step` too.

Two tests per environment: a fixed sweep that plays every hostile payload once, and a
hypothesis search that mixes payloads, random text and tool calls (derandomized, so CI sees
the same examples every run).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import envarena
from envarena.rewards import weighted_sum
from envarena.task_env import extract_answer
from envarena.tools import MAX_MESSAGE_CHARS, MAX_TOOL_CALLS_PER_TURN
from envarena.types import Message, ToolCall
from tests.catalog_ids import registry_ids

#: Per-step wall-clock bounds, generous next to what was measured on a shared 2-core machine:
#: text and game steps take under 2 ms honestly and under 0.1 s on any payload here, while a
#: quadratic parser takes about 4 s on the 32 KiB an environment reads, so 2 s tells them apart.
STEP_BOUND_S = 2.0
#: Tool environments may run a query up to its 2 s deadline.
TOOL_STEP_BOUND_S = 5.0
#: Code environments let a candidate run for its sandbox limit (10 s wall) before the
#: verdict, so their bound is that limit plus the checking.
CODE_STEP_BOUND_S = 15.0
#: Payloads that are merely slow programs where an answer is run as code: a code
#: environment spends its whole time limit (10 s) on each, and all code environments share
#: one verifier, so only one of them plays one of these (the infinite loop) in the sweep.
SLOW_PROGRAMS = frozenset({"powers", "power-tower", "code-loop"})
SLOW_PROGRAM_ENV = "code/humaneval-v0"
HUGE = 1_000_000

ENV_IDS = registry_ids()  # reasoning-gym's environments are sampled (tests/catalog_ids.py)


def make_env(env_id: str) -> envarena.Env:
    """The single-agent view of any registered environment (games against a random opponent)."""
    if envarena.spec(env_id).multi_agent:
        return envarena.make(env_id, opponent="random")
    return envarena.make(env_id)


def step_bound(env_id: str) -> float:
    category = envarena.spec(env_id).category
    return {"code": CODE_STEP_BOUND_S, "tools": TOOL_STEP_BOUND_S}.get(category, STEP_BOUND_S)


def payloads_for(env_id: str, *, sweep: bool = False) -> dict[str, str]:
    """The hostile texts for `env_id`: code environments skip slow programs, which only
    measure their sandbox time limit (the sweep of `SLOW_PROGRAM_ENV` keeps the loop)."""
    if envarena.spec(env_id).category != "code":
        return text_payloads()
    keep = {"code-loop"} if sweep and env_id == SLOW_PROGRAM_ENV else set()
    return {k: v for k, v in text_payloads().items() if k not in SLOW_PROGRAMS - keep}


def _answer(text: str) -> str:
    return f"<answer>{text}</answer>"


@cache
def text_payloads() -> dict[str, str]:
    """Hostile action texts by name; built once (several are a megabyte)."""
    every_sudoku_move = "; ".join(f"{r} {c} {v}" for r in range(1, 10) for c in range(1, 10) for v in range(1, 10))
    return {
        "empty": "",
        "whitespace": " \n\t\r\x0b\x0c" * 20000,
        "1mb-letters": "x" * HUGE,
        "1mb-words": ("lorem up down left right e4 h2e2 b2 4 check propose accept reveal a1 move A C " * 20000)[:HUGE],
        "1mb-answer": _answer("7 " * (HUGE // 2)),
        "1mb-digits": "9" * HUGE,
        "binary": bytes(range(256)).decode("latin-1") * (HUGE // 256),
        "nul": "\x00" * 10000 + _answer("\x00") + "\x00",
        "lone-surrogate": "\ud800",
        "surrogate-answer": _answer("\ud800\udfff\udbff"),
        "surrogate-moves": "move A C \ud800 e2e4 h2e2 up 4 b2 \udfff " + _answer("1\ud800"),
        "noncharacters": "\U0010ffff\uffff\ufffe\u202e\u200b\u200d\ufeff\u00ad" * 5000,
        "brackets": "[" * 50000 + "]" * 50000,
        "parens-answer": _answer("(" * 50000 + "1" + ")" * 50000),
        "nested-tags": "<a>" * 30000 + "</a>" * 30000,
        "nested-answers": "<answer>" * 1000 + "1" + "</answer>" * 1000,
        "answer-open-spam": "<answer>" * 25000,
        "answer-close-spam": "</answer>" * 25000,
        "answer-open-spam-closed": "<answer>" * 25000 + "1</answer>",
        "many-answers": "".join(_answer(str(i)) for i in range(40000)),
        "json-deep": '{"a":' * 30000 + "1" + "}" * 30000,
        "1e309": _answer("1e309"),
        "-1e309": _answer("-1e309"),
        "inf-nan": _answer("inf") + _answer("nan"),
        "1e400-digits": _answer("1" + "0" * 400),
        "100k-digits": _answer("9" * 100000),
        "decimal-long": _answer("0." + "3" * 100000),
        "dashes": "-" * 10000,
        "dashes-answer": _answer("-" * 10000 + "5"),
        "powers": _answer("9**9**9**9"),
        "power-tower": _answer("10**10**10**10 + 2**100000 * 10^999999"),
        "division-by-zero": _answer("1/0") + _answer("0/0"),
        "fractions-huge": _answer("1/" + "0" * 5000),
        "unicode-digits": _answer("−5 ٣ 𝟗 ½ ² Ⅻ ①"),
        "unicode-fold": "reveal ſ3 İ0a1 ı2 paſſ bookſ=1 propose bookſ 2 hatſ K move ı İ",
        "spaces-after-letter": "move A" + " " * 30000 + "!",
        "spaces-after-digit": "1" + " " * 30000 + "x",
        "spaces-after-items": "propose books" + " " * 30000 + "x",
        "spaces-after-square": "h2" + " " * 30000 + "x",
        "spaces-after-verb": "reveal" + " " * 30000 + "x",
        "sudoku-every-move": every_sudoku_move,
        "sudoku-move-spam": "1 1 1; " * 150000,
        "four-numbers-one-huge": _answer("1 2 3 " + "9" * 5000),
        "negotiation-huge-count": "propose books=" + "9" * 5000 + " hats=1 balls=1",
        "moves-spam": "up down left right move A C reveal a1 flag b2 " * 20000,
        "chess-spam": "e4 Nf3 O-O e8=Q g1f3 Qxd5+ " * 20000,
        "code-fence-spam": "```python\n" * 20000,
        "code-bad": "```python\n" + "def f(:\n" * 5000 + "```",
        "code-loop": "```python\nwhile True:\n    pass\n```",
        "code-memory": "```python\nx = ' ' * 10**11\n```",
        "code-escape": "```python\nimport os\nos.system('true')\n__import__('sys').exit(0)\n```",
        "sql-injection": _answer("'; DROP TABLE orders; -- ' OR 1=1"),
        "sql-wide": _answer("SELECT " + ",".join(["1"] * 10000)),
        "tool-call-text": '<tool_call>{"name": "x", "arguments": {}}</tool_call>' * 2000,
    }


def _tool_calls(env: envarena.Env) -> dict[str, Message]:
    """Hostile tool-call actions for `env` by name, using its real tool names."""
    names = [t.name for t in env.tools] or ["none"]
    first = env.tools[0] if env.tools else None
    params = list(first.parameters.get("properties", {})) if first else []
    hostile_strings = ["\ud800", "x" * HUGE, "1e309", "1" + "0" * 400, "'; DROP TABLE t; --", "<answer>" * 25000]

    def call(i: int, name: str, arguments: dict[str, Any] | str) -> ToolCall:
        return ToolCall(id=f"call_{i}", name=name, arguments=arguments)

    actions = {
        "unknown-tool": [call(0, "no_such_tool", {})],
        "huge-tool-name": [call(0, "t" * HUGE, {})],
        "surrogate-tool-name": [call(0, "\ud800", {"\ud800": "\udfff"})],
        "bad-json": [call(0, names[0], "{not json")],
        "json-array": [call(0, names[0], "[1, 2, 3]")],
        "huge-bad-json": [call(0, names[0], "{" * HUGE)],
        "missing-arguments": [call(0, names[0], {})],
        "extra-arguments": [call(0, names[0], {"unexpected": 1, **{p: "1" for p in params}})],
        "wrong-types": [call(0, names[0], {p: value for p in params}) for value in (None, 5, 1.5, True, [1], {"a": 1})],
        "deep-arguments": [call(0, names[0], {p: _deep(3000) for p in params} or {"x": _deep(3000)})],
        "huge-id": [ToolCall(id="i" * HUGE, name=names[0], arguments={p: "1" for p in params})],
        "five-hundred-calls": [call(i, names[i % len(names)], {p: "1" for p in params}) for i in range(500)],
    }
    for k, value in enumerate(hostile_strings):
        actions[f"hostile-argument-{k}"] = [call(0, name, {p: value for p in params} or {"x": value}) for name in names]
    return {key: Message.assistant("calling", tool_calls=calls) for key, calls in actions.items()}


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


class _Errors(logging.Handler):
    """Collects ERROR records: the environments' safety nets log what they caught."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def caught_errors() -> Iterator[_Errors]:
    handler = _Errors()
    root = logging.getLogger("envarena")
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def checked_step(env: envarena.Env, action: Message | str, errors: _Errors, label: str, bound: float) -> bool:
    """One step with every invariant checked; returns whether the episode ended."""
    start = time.perf_counter()
    observation, reward, terminated, truncated, info = env.step(action)
    elapsed = time.perf_counter() - start
    where = f"{label}: "
    if errors.records:
        record = errors.records[0]
        detail = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        pytest.fail(f"{where}a failure was caught and logged: {record.getMessage()}\n{detail}")
    assert elapsed < bound, f"{where}step took {elapsed:.1f} s"
    assert isinstance(reward, float) and math.isfinite(reward), f"{where}reward {reward!r}"
    components = info["reward_components"]
    assert all(math.isfinite(v) for v in components.values()), f"{where}{components}"
    assert weighted_sum(components, env.reward_weights) == pytest.approx(reward, abs=1e-9), f"{where}{components}"
    json.dumps(info, allow_nan=False)  # plain, finite JSON: storable as one line of an episode
    for message in observation:
        assert isinstance(message, Message) and message.role in ("user", "tool", "system"), where
        assert len(message.content) <= MAX_MESSAGE_CHARS, f"{where}{message.role} message of {len(message.content)}"
        message.content.encode("utf-8")  # no lone surrogate reaches the agent or the episode file
        assert len(message.name or "") <= 256 and len(message.tool_call_id or "") <= 256, where
    return bool(terminated or truncated)


def play(env: envarena.Env, actions: list[tuple[str, Message | str]], seed: int, bound: float) -> None:
    """Play `actions` in order from `reset(seed)`, starting a new episode whenever one ends."""
    with caught_errors() as errors:
        env.reset(seed=seed)
        steps = 0
        for label, action in actions:
            steps += 1
            if checked_step(env, action, errors, label, bound):
                env.reset(seed=seed + steps)
                steps = 0
            # an episode cannot be stretched: single-agent envs end within max_turns; games count
            # only legal moves, and too many illegal ones in a row forfeit
            assert steps <= env.max_turns * 5, f"{label}: episode still running after {steps} steps"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_hostile_payload_gets_a_bounded_answer(env_id):
    env = make_env(env_id)
    actions: list[tuple[str, Message | str]] = list(payloads_for(env_id, sweep=True).items())
    actions += list(_tool_calls(env).items())
    try:
        play(env, actions, seed=0, bound=step_bound(env_id))
    finally:
        env.close()


def _random_text() -> st.SearchStrategy[str]:
    """Any code point, surrogates and controls included."""
    return st.text(st.characters(codec=None, exclude_categories=()), max_size=60)


def _action(env_id: str, env: envarena.Env) -> st.SearchStrategy[Message | str]:
    texts_by_name = payloads_for(env_id)
    payload = st.sampled_from(sorted(texts_by_name)).map(texts_by_name.__getitem__)
    piece = st.one_of(payload, _random_text())
    texts = st.lists(piece, min_size=1, max_size=3).map("".join)
    framed = st.tuples(_random_text(), piece, st.sampled_from(["", "</answer>", "```"])).map(
        lambda t: f"{t[0]}<answer>{t[1]}{t[2]}")
    honest = st.integers(0, 2**31).map(lambda s: env.random_action(np.random.default_rng(s)))
    calls = st.sampled_from(sorted(_tool_calls(env).items())).map(lambda kv: kv[1])
    mixed = st.tuples(texts, calls).map(lambda t: t[1].model_copy(update={"content": t[0]}))
    return st.one_of(texts, framed, honest, calls, mixed)


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hypothesis_actions_never_break_a_step(env_id, data):
    env = make_env(env_id)
    seed = data.draw(st.integers(0, 10_000), label="seed")
    env.reset(seed=seed)  # the honest strategy reads the task, so the first draw follows a reset
    actions = data.draw(st.lists(_action(env_id, env), min_size=1, max_size=4), label="actions")
    try:
        play(env, [(f"action {i}", a) for i, a in enumerate(actions)], seed=seed, bound=step_bound(env_id))
    finally:
        env.close()


def test_the_caps_are_enforced_in_one_place():
    """A tool that returns megabytes and 500 calls in one message: both bounded by env.py."""
    env = envarena.make("tools/calculator-v0")
    env.reset(seed=0)
    name = env.tools[0].name
    calls = [ToolCall(id=f"c{i}", name=name, arguments={"expression": "1+1"}) for i in range(500)]
    observation, reward, *_ = env.step(Message.assistant(tool_calls=calls))
    assert len(observation) == 500
    run = [m for m in observation if "not run" not in m.content]
    assert len(run) == MAX_TOOL_CALLS_PER_TURN
    assert reward == pytest.approx(-0.05)  # one tool_error for the excess, not 490 of them
    observation, *_ = env.step(Message.assistant(tool_calls=[ToolCall(id="x", name="t" * HUGE, arguments={})]))
    assert len(observation[0].content) < 300 and len(observation[0].name or "") <= 256


def test_answer_extraction_is_linear():
    """`"<answer>" * 25000` kept a lazy regex busy for minutes while holding the GIL; the
    environments read only the last 32 KiB of an action, but the extractor must be linear
    on its own (other callers hand it whole texts)."""
    cases = {
        "<answer>" * 25000: ("<answer>" * 25000, False),
        "<answer>" * 25000 + "7</answer>": ("7", True),
        "</answer>" * 25000 + "<answer>" * 25000: ("</answer>" * 25000 + "<answer>" * 25000, False),
        "<answer>x</answer> tail </answer>": ("x", True),
        "<answer>a</answer><ANSWER> b </Answer>": ("b", True),
    }
    start = time.perf_counter()
    for text, expected in cases.items():
        answer, tagged = extract_answer(text)
        assert (answer, tagged) == (expected[0].strip(), expected[1])
    assert time.perf_counter() - start < 1.0
