"""Verifiers: callables that turn an answer (or a final state) into a `Score`.

They never raise into a rollout and never hang; anything that goes wrong becomes a score of 0
with the reason in `feedback`. CPU-bound checks run where they can be killed (the sandbox,
or a helper process).
"""

from envarena.verifiers.expression import ExpressionError, evaluate, numbers_used
from envarena.verifiers.format import think_answer_format, tool_call_format
from envarena.verifiers.judge import LLMJudge, screen_answer
from envarena.verifiers.match import exact_match, numeric_match, parse_number
from envarena.verifiers.math import math_equivalent
from envarena.verifiers.sql import SQLError, result_set_match, run_readonly
from envarena.verifiers.unit_tests import TestSuite, run_unit_tests

__all__ = [
    "ExpressionError",
    "LLMJudge",
    "SQLError",
    "TestSuite",
    "evaluate",
    "exact_match",
    "math_equivalent",
    "numbers_used",
    "numeric_match",
    "parse_number",
    "result_set_match",
    "run_readonly",
    "run_unit_tests",
    "screen_answer",
    "think_answer_format",
    "tool_call_format",
]
