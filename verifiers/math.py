"""Math answer equivalence with math-verify (LaTeX, fractions, sets, intervals, ...).

math-verify times out with `signal.alarm`, which only works on the main thread; rollouts
verify on worker threads. So each check runs in a killable helper process with the timeout
enforced from outside.
"""

from __future__ import annotations

from envarena.types import Score
from envarena.verifiers.isolated import IsolatedRunner, IsolatedTimeout

__all__ = ["math_equivalent"]

_runner = IsolatedRunner()


def _verify(gold: str, answer: str) -> bool:
    from math_verify import parse, verify

    gold_parsed = parse(gold if "$" in gold or "\\boxed" in gold else f"${gold}$", parsing_timeout=None)
    answer_parsed = parse(answer, parsing_timeout=None)
    if not gold_parsed or not answer_parsed:
        return False
    return bool(verify(gold_parsed, answer_parsed, timeout_seconds=None))


def math_equivalent(gold: str, answer: str, *, timeout: float = 10.0) -> Score:
    """1.0 when `answer` is mathematically equal to `gold`; never raises, never hangs."""
    if not answer.strip():
        return Score(value=0.0, feedback="The answer is empty.")
    try:
        same = _runner.call(_verify, gold, answer, timeout=timeout)
    except IsolatedTimeout:
        return Score(value=0.0, feedback=f"Checking the answer took longer than {timeout:g}s.")
    except RuntimeError as err:
        return Score(value=0.0, feedback=f"The answer could not be checked ({err}).")
    return Score(value=1.0) if same else Score(value=0.0, feedback="That is not equal to the expected answer.")
