"""From episodes (with token traces) to training sequences with masks and advantages.

Token-in/token-out makes the last turn's prompt + completion the whole conversation, with
every earlier turn's sampled ids inside it at known positions. One sequence per episode,
then; the loss mask is 1 exactly on sampled assistant tokens and 0 on everything the
template, the environment or a tool wrote. If a trace breaks the prefix property (a
template that is not prefix-stable), each turn becomes its own sequence instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from envarena.types import Episode

__all__ = ["TrainingRow", "episode_sequences"]


@dataclass
class TrainingRow:
    """One training row: ids, which positions were sampled, and their targets."""

    input_ids: list[int]
    loss_mask: list[int]
    advantages: list[float]
    old_logprobs: list[float]
    episode_index: int = 0
    turns: list[int] = field(default_factory=list)


def episode_sequences(episode: Episode, turn_values: list[float], index: int = 0) -> list[TrainingRow]:
    """Rows for one episode; `turn_values[t]` is the advantage of every token of turn t."""
    turns = [t for t in episode.turns if t.trace is not None]
    if not turns:
        return []
    ids = turns[-1].trace.prompt_ids + turns[-1].trace.completion_ids
    nested = all(
        ids[: len(t.trace.prompt_ids) + len(t.trace.completion_ids)] == t.trace.prompt_ids + t.trace.completion_ids
        for t in turns
    )
    if not nested:
        return [_single(t, turn_values[i], index) for i, t in enumerate(turns)]
    mask = [0] * len(ids)
    advantages = [0.0] * len(ids)
    old = [0.0] * len(ids)
    for i, turn in enumerate(turns):
        start = len(turn.trace.prompt_ids)
        logprobs = turn.trace.logprobs or [0.0] * len(turn.trace.completion_ids)
        for offset, lp in enumerate(logprobs):
            mask[start + offset] = 1
            advantages[start + offset] = turn_values[i]
            old[start + offset] = lp
    return [TrainingRow(ids, mask, advantages, old, index, list(range(len(turns))))]


def _single(turn, value: float, index: int) -> TrainingRow:  # type: ignore[no-untyped-def]
    prompt, completion = turn.trace.prompt_ids, turn.trace.completion_ids
    logprobs = turn.trace.logprobs or [0.0] * len(completion)
    return TrainingRow(
        prompt + completion,
        [0] * len(prompt) + [1] * len(completion),
        [0.0] * len(prompt) + [value] * len(completion),
        [0.0] * len(prompt) + list(logprobs),
        index,
    )
