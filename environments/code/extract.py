"""Pulling a program out of a model's reply (shared by the code environments)."""

from __future__ import annotations

import re

_FENCED = re.compile(r"```(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def extract_code(text: str) -> tuple[str, bool]:
    """The last fenced code block (or <answer> block); the bool says one was found."""
    blocks = _FENCED.findall(text) or _ANSWER.findall(text)
    if blocks:
        return blocks[-1].strip("\n"), True
    return text, False
