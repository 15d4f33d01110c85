"""Math answer equivalence with math-verify (LaTeX, fractions, sets, intervals, ...).

math-verify times out with `signal.alarm`, which only works on the main thread; rollouts
verify on worker threads. So each check runs in a killable helper process with the timeout
enforced from outside.

Before parsing, an escaped dollar (`\\$5`, a currency sign in LaTeX) is dropped from both
sides: math-verify reads it as neither a delimiter nor a number, so a gold answer written
`\\$5` matched nothing. An answer that offers alternatives ("5 or 6") is a hedge and scores 0
even when one of them is right: math-verify alone reads the last one.
"""

from __future__ import annotations

import re

from envarena.types import Score
from envarena.verifiers.isolated import IsolatedRunner, IsolatedTimeout

__all__ = ["math_equivalent"]

_runner = IsolatedRunner()
MAX_ANSWER_CHARS = 20_000
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")
_OR = re.compile(r"\\(?:text|mathrm|textrm)\{\s*or\s*\}|\bor\b", re.IGNORECASE)


def _plain(text: str) -> str:
    """Valid Unicode (lone surrogates replaced) without escaped dollars."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\\$", "")


def _hedged(answer: str) -> bool:
    """Whether the answer names alternatives with different values ("5 or 6")."""
    from math_verify import parse, verify

    parts = [parse(p, parsing_timeout=None) for p in _OR.split(answer) if p.strip()]
    parts = [p for p in parts if p]
    return any(not verify(parts[0], other, timeout_seconds=None) for other in parts[1:])


def _verify(gold: str, answer: str) -> bool:
    from math_verify import parse, verify

    gold, answer = _plain(gold), _plain(answer)
    delimited = _UNESCAPED_DOLLAR.search(gold) or "\\boxed" in gold
    gold_parsed = parse(gold if delimited else f"${gold}$", parsing_timeout=None)
    answer_parsed = parse(answer, parsing_timeout=None)
    if not gold_parsed or not answer_parsed:
        return False
    return bool(verify(gold_parsed, answer_parsed, timeout_seconds=None)) and not _hedged(answer)


def math_equivalent(gold: str, answer: str, *, timeout: float = 10.0) -> Score:
    """1.0 when `answer` is mathematically equal to `gold`; never raises, never hangs."""
    if not answer.strip():
        return Score(value=0.0, feedback="The answer is empty.")
    if len(answer) > MAX_ANSWER_CHARS:
        return Score(value=0.0, feedback=f"The answer is longer than {MAX_ANSWER_CHARS} characters.")
    try:
        same = _runner.call(_verify, gold, answer, timeout=timeout)
    except IsolatedTimeout:
        return Score(value=0.0, feedback=f"Checking the answer took longer than {timeout:g}s.")
    except RuntimeError as err:
        return Score(value=0.0, feedback=f"The answer could not be checked ({err}).")
    return Score(value=1.0) if same else Score(value=0.0, feedback="That is not equal to the expected answer.")
