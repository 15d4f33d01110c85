"""Token-in, token-out: incremental prompts equal the tokenizer's own chat template."""

from __future__ import annotations

import warnings

import pytest

from envarena import Message, ToolCall, tool
from envarena.agents.chat_format import ChatFormat, parse_tool_calls


@tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression.

    Args:
        expression: e.g. "2 * 3".
    """
    return expression


def _template_ids(tokenizer, fmt, messages, tools):
    """What the tokenizer itself makes of the whole conversation."""
    encoded = tokenizer.apply_chat_template(fmt.to_dicts(messages, tools), add_generation_prompt=True, tokenize=True)
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


def _sample(tokenizer, text: str) -> list[int]:
    """Ids a model would sample for `text`: the text, then its end-of-turn token."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) + [tokenizer.eos_token_id]


def test_multi_turn_tool_calling_prompts_match_the_template(tokenizer):
    fmt = ChatFormat(tokenizer)
    tools = [calculate]
    opening = [Message.system("You solve problems."), Message.user("What is 12 * 7 + 3?")]
    replies = [
        '<tool_call>{"name": "calculate", "arguments": {"expression": "12 * 7 + 3"}}</tool_call>',
        "The result is 87, so <answer>87</answer>",
        "Sorry: <answer>87</answer>",
    ]
    prompt = fmt.first_prompt(opening, tools)
    assert prompt == _template_ids(tokenizer, fmt, opening, tools)
    history = list(opening)
    observations = [
        lambda msg: [Message.tool_result(msg.tool_calls[0], "87")],
        lambda msg: [Message.user("Please double-check.")],
    ]
    for reply, observe in zip(replies, observations):
        completion = _sample(tokenizer, reply)
        message = parse_tool_calls(tokenizer.decode(completion, skip_special_tokens=True))
        history.append(message)
        new = observe(message)
        prompt = fmt.next_prompt(prompt, completion, history, new, tools)
        history.extend(new)
        assert prompt == _template_ids(tokenizer, fmt, history, tools)
    assert tokenizer.decode(prompt).count("<tool_call>{\"name\": \"calculate\"") == 1  # the sampled call, kept exactly


def test_truncated_completion_gets_the_template_closing(tokenizer):
    fmt = ChatFormat(tokenizer)
    opening = [Message.user("Count to three.")]
    prompt = fmt.first_prompt(opening, [])
    completion = list(tokenizer("One, two", add_special_tokens=False)["input_ids"])  # hit max tokens: no end token
    history = [*opening, Message.assistant("One, two")]
    nxt = fmt.next_prompt(prompt, completion, history, [Message.user("Go on.")], [])
    assert nxt[: len(prompt) + len(completion)] == prompt + completion
    assert nxt == _template_ids(tokenizer, fmt, [*history, Message.user("Go on.")], [])


def test_a_template_that_is_not_prefix_stable_warns_and_falls_back(tokenizer):
    unstable = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    # Like templates that drop earlier reasoning: only the last assistant turn keeps its text.
    unstable.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
        "{% if m['role'] == 'assistant' and not loop.last %}[omitted]{% else %}{{ m['content'] }}{% endif %}"
        "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    fmt = ChatFormat(unstable)
    opening = [Message.user("Hi")]
    prompt = fmt.first_prompt(opening, [])
    completion = _sample(unstable, "Hello there")
    history = [*opening, Message.assistant("Hello there"), Message.user("And?")]
    with pytest.warns(RuntimeWarning, match="prefix-stably"):
        nxt = fmt.next_prompt(prompt, completion, history[:2], history[2:], [])
    assert nxt == _template_ids(unstable, fmt, history, [])


@pytest.mark.parametrize(
    "text, name, arguments",
    [
        ('<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>', "f", {"x": 1}),
        ('I will call it.\n<tool_call>\n{"name": "f", "arguments": "{\\"x\\": 2}"}\n</tool_call>', "f", {"x": 2}),
        ('{"name": "f", "arguments": {"x": 3}}', "f", {"x": 3}),
        ('<tool_call>{"name": "f", "arguments": {"x": </tool_call>', "", '{"name": "f", "arguments": {"x":'),
    ],
)
def test_tool_call_parsing(text, name, arguments):
    message = parse_tool_calls(text)
    assert len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert call.name == name and call.arguments == arguments


def test_plain_text_is_not_a_tool_call():
    assert parse_tool_calls("The answer is {42}.").tool_calls == []
    assert parse_tool_calls('{"answer": 42}').tool_calls == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ToolCall.parse("c", "f", "{}")
