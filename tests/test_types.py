import json

import numpy as np
import pytest

from envarena import Episode, Message, Score, TokenTrace, ToolCall, Turn, tool


def _episode() -> Episode:
    call = ToolCall(id="c1", name="calculate", arguments={"expression": "2 * 3", "nested": {"a": [1, 2]}})
    broken = ToolCall.parse("c2", "calculate", '{"expression": ')
    turns = [
        Turn(
            observation=[Message.system("sys"), Message.user("hi")],
            action=Message.assistant("thinking", tool_calls=[call, broken]),
            reward=-0.05,
            reward_components={"tool_error": -0.05},
            info={"turn": 1, "np": np.int64(3), "arr": np.arange(3), "flag": np.bool_(True)},
            trace=TokenTrace(prompt_ids=[1, 2, 3], completion_ids=[4, 5], logprobs=[-0.1, -2.5], finish_reason="stop"),
        ),
        Turn(
            observation=[Message.tool_result(call, "6"), Message.tool_result(broken, "Error")],
            action=Message.assistant("<answer>6</answer>"),
            reward=2.0,
            reward_components={"progress": 1.0, "outcome": 1.0},
            terminated=True,
            info={"outcome": 1.0, "success": True},
        ),
    ]
    return Episode(
        id="abc", env_id="tools/calculator-v0", env_kwargs={"difficulty": "easy"}, seed=7, agent="scripted",
        turns=turns, final_observation=[Message.user("Correct.")], total_reward=1.95, outcome=1.0, success=True,
        reward_components={"tool_error": -0.05, "progress": 1.0, "outcome": 1.0},
    )


def test_episode_round_trips_losslessly_through_json():
    episode = _episode()
    line = episode.model_dump_json()
    assert "\n" not in line
    again = Episode.model_validate_json(line)
    assert again == episode
    assert again.model_dump_json() == line
    assert again.turns[0].info == {"turn": 1, "np": 3, "arr": [0, 1, 2], "flag": True}
    assert again.completion_tokens == 2


def test_unparsable_tool_arguments_keep_the_raw_string():
    broken = ToolCall.parse("c2", "calc", '{"expression": ')
    assert broken.arguments == '{"expression": '
    assert ToolCall.parse("c3", "calc", "[1, 2]").arguments == "[1, 2]"
    assert ToolCall.parse("c4", "calc", "").arguments == {}
    assert ToolCall.parse("c5", "calc", '{"x": 1}').arguments == {"x": 1}
    again = ToolCall.model_validate_json(broken.model_dump_json())
    assert again.arguments == '{"expression": '


def test_openai_format_serializes_arguments_as_json_text():
    call = ToolCall(id="c1", name="f", arguments={"x": 1})
    wire = Message.assistant(tool_calls=[call]).openai_format()
    assert wire["tool_calls"][0] == {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}


def test_score_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError):
        Score(value=1.5)
    assert Score(value=0.25, feedback="x").value == 0.25


def test_tool_schema_comes_from_signature_and_docstring():
    @tool
    def lookup(city: str, limit: int = 3, exact: bool = False) -> str:
        """Find places in a city.

        Args:
            city: The city name, e.g. "Paris".
            limit: How many results to return.
        """
        return f"{city}:{limit}:{exact}"

    schema = lookup.openai_schema()
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "lookup"
    assert fn["description"] == "Find places in a city."
    assert fn["parameters"]["required"] == ["city"]
    assert fn["parameters"]["properties"]["city"] == {"type": "string", "description": 'The city name, e.g. "Paris".'}
    assert fn["parameters"]["properties"]["limit"]["type"] == "integer"
    assert lookup(city="Rome", limit="5") == "Rome:5:False"  # validated and coerced by pydantic
    with pytest.raises(ValueError, match="limit"):
        lookup(city="Rome", limit="many")
    with pytest.raises(ValueError, match="unexpected|extra|Extra"):
        lookup(city="Rome", colour="red")
    with pytest.raises(ValueError, match="city"):
        lookup()
    json.dumps(schema)


def test_method_tools_bind_to_their_instance():
    class Counter:
        def __init__(self) -> None:
            self.total = 0

        @tool
        def add(self, amount: int) -> int:
            """Add to the running total."""
            self.total += amount
            return self.total

    a, b = Counter(), Counter()
    a.add(amount=2)
    a.add(amount=3)
    b.add(amount=10)
    assert (a.total, b.total) == (5, 10)
    assert "self" not in a.add.parameters["properties"]
