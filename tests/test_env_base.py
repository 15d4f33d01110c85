"""The base class's promises: tool dispatch errors, potentials, limits, seeding."""

import pytest

import envarena
from envarena import Message, ToolCall


def _calculator():
    env = envarena.make("tools/calculator-v0", difficulty="easy")
    env.reset(seed=3)
    return env


@pytest.mark.parametrize(
    "call, expected",
    [
        (ToolCall(id="1", name="nope", arguments={}), "unknown tool 'nope'. Available tools: calculate"),
        (ToolCall(id="1", name="calculate", arguments='{"expression": "1+'), "not a valid JSON object"),
        (ToolCall(id="1", name="calculate", arguments={"expr": "1"}), "invalid arguments to 'calculate'"),
        (ToolCall(id="1", name="calculate", arguments={"expression": "__import__('os')"}), "failed"),
        (ToolCall(id="1", name="calculate", arguments={"expression": "1/0"}), "division by zero"),
    ],
)
def test_bad_tool_calls_get_a_clear_message_and_a_penalty(call, expected):
    env = _calculator()
    obs, reward, terminated, truncated, info = env.step(Message.assistant(tool_calls=[call]))
    assert len(obs) == 1 and obs[0].role == "tool" and obs[0].tool_call_id == "1"
    assert expected in obs[0].content
    assert info["reward_components"]["tool_error"] < 0
    assert reward < 0
    assert not terminated and not truncated


def test_good_tool_call_answers_and_earns_potential_progress():
    env = _calculator()
    call = ToolCall(id="7", name="calculate", arguments={"expression": env.task.expression})
    obs, reward, *_ , info = env.step(Message.assistant(tool_calls=[call]))
    assert obs[0].content == str(env.task.value)
    assert info["reward_components"] == {"progress": 0.5}
    # calling it again gains nothing: the potential does not move
    obs, reward, *_ , info = env.step(Message.assistant(tool_calls=[call]))
    assert reward == 0.0
    obs, reward, terminated, truncated, info = env.step(f"<answer>{env.task.value}</answer>")
    assert terminated and info["outcome"] == 1.0 and info["success"] is True
    assert info["reward_components"] == {"progress": 0.5, "outcome": 1.0}


def test_answer_before_using_the_tool_is_refused():
    env = _calculator()
    obs, reward, terminated, _, info = env.step(f"<answer>{env.task.value}</answer>")
    assert "Use the calculate tool" in obs[0].content
    assert not terminated and info["reward_components"]["format"] < 0


def test_progress_rewards_telescope_and_cannot_be_farmed():
    env = envarena.make("text/arithmetic-v0", max_attempts=5)
    env.reset(seed=1)
    value = env.task.value
    rewards = []
    for guess in (value + 50, value + 10, value + 50, value + 10):
        _, r, terminated, _, info = env.step(f"<answer>{guess}</answer>")
        rewards.append(info["reward_components"].get("progress", 0.0))
    # repeating a worse then the same guess earns nothing more than the best so far
    assert rewards[2] == 0.0 and rewards[3] == 0.0
    _, r, terminated, _, info = env.step(f"<answer>{value}</answer>")
    rewards.append(info["reward_components"]["progress"])
    assert terminated
    assert sum(rewards) == pytest.approx(1.0)  # phi(end) - phi(start)


def test_turn_limit_truncates_with_outcome():
    env = envarena.make("games/wordle-v0", max_turns=2)
    env.reset(seed=0)
    env.step("<answer>zzzzz</answer>")
    _, _, terminated, truncated, info = env.step("<answer>qqqqq</answer>")
    assert truncated and not terminated
    assert info["outcome"] == 0.0 and info["success"] is False
    with pytest.raises(RuntimeError, match="reset"):
        env.step("<answer>crane</answer>")


def test_same_seed_same_task_and_string_actions_accepted():
    a, b = envarena.make("text/countdown-v0"), envarena.make("text/countdown-v0")
    assert a.reset(seed=11)[0] == b.reset(seed=11)[0]
    assert a.reset(seed=11)[0] != a.reset(seed=12)[0]
    with pytest.raises(ValueError, match="assistant"):
        a.step(Message.user("hi"))


def test_render_ansi_shows_the_transcript():
    env = envarena.make("text/arithmetic-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step("<answer>1</answer>")
    text = env.render()
    assert "[user] Compute the value of" in text and "[assistant] <answer>1</answer>" in text
