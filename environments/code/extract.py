"""Pulling a program out of a model's reply (shared by the code environments)."""

from __future__ import annotations

import re
from collections.abc import Callable

from envarena.env import StepResult
from envarena.rewards import FORMAT_PENALTY
from envarena.task_env import extract_answer
from envarena.types import Message

_FENCED = re.compile(r"```(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_code(text: str) -> tuple[str, bool]:
    """The last fenced code block (or <answer> block); the bool says one was found."""
    blocks = _FENCED.findall(text)
    if blocks:
        return blocks[-1].strip("\n"), True
    answer, tagged = extract_answer(text)  # linear; a lazy <answer>(.*?)</answer> is not
    return (answer, True) if tagged else (text, False)


def code_step(act: Callable[[Message], StepResult], action: Message) -> StepResult:
    """Answer a code submission with `act` (a TaskEnv's `respond`) given only the code; a reply
    without a fenced block is still graded, with a format penalty."""
    code, fenced = extract_code(action.content)
    result = act(action.model_copy(update={"content": f"<answer>{code}</answer>"}))
    if not fenced:
        result.components["format"] = result.components.get("format", 0.0) + FORMAT_PENALTY
    return result
