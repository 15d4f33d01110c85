"""Verifiers: callables that turn an answer (or a final state) into a `Score`.

They never raise into a rollout and never hang; anything that goes wrong becomes a score of 0
with the reason in `feedback`.
"""

from envarena.verifiers.expression import ExpressionError, evaluate, numbers_used
from envarena.verifiers.match import exact_match, numeric_match, parse_number

__all__ = ["ExpressionError", "evaluate", "exact_match", "numbers_used", "numeric_match", "parse_number"]
