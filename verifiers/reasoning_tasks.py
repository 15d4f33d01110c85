"""reasoning-gym tasks, generated and scored in a killable helper process.

reasoning-gym's generators and `score_answer` methods are plain Python, but some are slow
(a Sokoban or jugs level can take a second, a sympy-based scorer can stall on a crafted
answer) and some raise on odd input. Both run in an `IsolatedRunner` helper with a time
limit, so a slow generator cannot hang an episode and a scorer that raises or overruns
becomes a score of 0 with the reason, never an exception in the rollout.

The score is made binary: 1 when reasoning-gym's own scorer gives full marks, else 0. Its
partial credits are not safe as rewards: several scorers give 0.01-0.05 for any answer
(a "format" credit), the default scorer gives len(gold)/len(answer) to an answer that merely
contains the gold, and knights_knaves gives 0.65 to the question echoed back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from envarena.types import Score
from envarena.verifiers.isolated import IsolatedRunner, IsolatedTimeout

__all__ = [
    "GENERATE_TIMEOUT",
    "SCORE_TIMEOUT",
    "VERIFIER_OVERRIDES",
    "generate_entry",
    "reference_answer",
    "score_reasoning_answer",
]

GENERATE_TIMEOUT = 60.0
SCORE_TIMEOUT = 20.0
#: Datasets whose own `score_answer` is unsound, checked by exact match instead (with why).
VERIFIER_OVERRIDES = {
    "game_of_life_halting": "its score_answer compares bool(answer) with bool(gold), so any non-empty answer "
    "(even 'False' when the answer is 'True') scores 1.0",
}
#: Metadata keys that hold a valid answer for datasets whose entry has no single `answer`.
_EXAMPLE_KEYS = ("example_correct_answer", "example_answer", "possible_answer")
_SPACES = re.compile(r"\s+")
_runner = IsolatedRunner()
_datasets: dict[tuple[str, str, int], Any] = {}


# ------------------------------------------------------------------ helper-process side
def _dataset(name: str, config: dict[str, Any], seed: int) -> Any:
    """The seeded one-item dataset, kept for the scorer (some scorers read its config)."""
    key = (name, repr(sorted(config.items())), seed)
    if key not in _datasets:
        import reasoning_gym

        if len(_datasets) >= 64:
            _datasets.pop(next(iter(_datasets)))
        _datasets[key] = reasoning_gym.create_dataset(name, **config, seed=seed, size=1)
    return _datasets[key]


def _generate(name: str, config: dict[str, Any], seed: int) -> dict[str, Any]:
    # a few generators (list_functions) draw from the global generators too: seed them as well
    import random

    import numpy

    random.seed(seed)
    numpy.random.seed(seed % 2**32)
    _datasets.pop((name, repr(sorted(config.items())), seed), None)
    return dict(_dataset(name, config, seed)[0])


def _score(name: str, config: dict[str, Any], seed: int, entry: dict[str, Any], answer: str) -> float:
    return float(_dataset(name, config, seed).score_answer(answer, entry))


# ------------------------------------------------------------------ trusted side
def generate_entry(name: str, config: dict[str, Any], seed: int, *, timeout: float = GENERATE_TIMEOUT) -> dict[str, Any]:
    """Dataset `name`'s item for `seed` (question, answer, metadata); RuntimeError if it fails or overruns."""
    try:
        return _runner.call(_generate, name, config, seed, timeout=timeout)
    except IsolatedTimeout:
        raise RuntimeError(f"reasoning-gym's '{name}' generator took longer than {timeout:g}s") from None


def reference_answer(entry: dict[str, Any]) -> str | None:
    """The entry's answer, or a valid example from its metadata where tasks have many answers."""
    if entry.get("answer") is not None:
        return str(entry["answer"])
    metadata = entry.get("metadata") or {}
    for key in _EXAMPLE_KEYS:
        example = metadata.get(key)
        if example:
            return example if isinstance(example, str) else json.dumps(example)
    return None


def _flat(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def score_reasoning_answer(
    name: str, config: dict[str, Any], seed: int, entry: dict[str, Any], answer: str, *,
    timeout: float = SCORE_TIMEOUT,
) -> Score:
    """1.0 when reasoning-gym's scorer gives `answer` full marks; never raises, never hangs.

    Before the scorer runs, answers that cannot be honest are refused: an empty one, one that
    contains the whole question (an echo), and one far longer than the reference answer (a
    list of every candidate, which substring-based scorers reward).
    """
    if not answer.strip():
        return Score(value=0.0, feedback="The answer is empty.")
    question = _flat(str(entry.get("question", "")))
    if question and question in _flat(answer):
        return Score(value=0.0, feedback="The answer repeats the question instead of answering it.")
    reference = reference_answer(entry)
    limit = 4 * len(reference) + 256 if reference is not None else 4096
    if len(answer) > limit:
        return Score(value=0.0, feedback=f"The answer is {len(answer)} characters long; at most {limit} are accepted.")
    if name in VERIFIER_OVERRIDES:
        right = reference is not None and _flat(answer) == _flat(reference)
        return Score(value=1.0) if right else Score(value=0.0, feedback="That is not correct.")
    try:
        raw = _runner.call(_score, name, config, seed, entry, answer, timeout=timeout)
    except IsolatedTimeout:
        return Score(value=0.0, feedback=f"Checking the answer took longer than {timeout:g}s.")
    except RuntimeError as err:
        return Score(value=0.0, feedback=f"The answer could not be checked ({str(err)[:200]}).")
    if raw >= 1.0 - 1e-9:
        return Score(value=1.0)
    return Score(value=0.0, feedback="That is not correct.")
