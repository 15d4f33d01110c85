"""Format checks: reasoning/answer tags and tool-call JSON, as scores and penalties."""

from __future__ import annotations

import json
import re

from envarena.types import Score

__all__ = ["think_answer_format", "tool_call_format"]

_THINK_ANSWER = re.compile(r"\s*<think>(.+?)</think>\s*<answer>(.+?)</answer>\s*", re.DOTALL)
_ANSWER_ONLY = re.compile(r".*<answer>(.+?)</answer>.*", re.DOTALL)
_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def think_answer_format(text: str) -> Score:
    """1.0 for exactly `<think>...</think><answer>...</answer>`, 0.5 for answer tags alone."""
    if _THINK_ANSWER.fullmatch(text):
        return Score(value=1.0)
    if _ANSWER_ONLY.fullmatch(text):
        return Score(value=0.5, feedback="Put your reasoning inside <think></think> before the answer.")
    return Score(value=0.0, feedback="Use <think>reasoning</think><answer>final answer</answer>.")


def tool_call_format(text: str) -> Score:
    """Every `<tool_call>` block must hold a JSON object with a `name` and an object `arguments`."""
    blocks = _TOOL_CALL.findall(text)
    if not blocks:
        return Score(value=0.0, feedback="No <tool_call>...</tool_call> block found.")
    for i, block in enumerate(blocks, start=1):
        try:
            call = json.loads(block)
        except json.JSONDecodeError as err:
            return Score(value=0.0, feedback=f"Tool call {i} is not valid JSON: {err.msg}.")
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return Score(value=0.0, feedback=f'Tool call {i} needs a "name" string.')
        if not isinstance(call.get("arguments", {}), dict):
            return Score(value=0.0, feedback=f'Tool call {i} needs "arguments" to be an object.')
    return Score(value=1.0)
