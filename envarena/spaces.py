"""Gymnasium spaces for chat messages, so standard checkers and wrappers accept our envs.

Observations are lists of `Message`s and actions are assistant messages (or plain strings).
pettingzoo's api_test compares `observation.dtype` with the space's `dtype` as if both were
numpy arrays, so observations travel in `Observation`, a list that carries an object dtype.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any

import numpy as np
from gymnasium import spaces

from envarena.types import Message, ToolCall

_SAMPLE_ALPHABET = string.ascii_lowercase + string.digits + " +-*/=()"


class Observation(list):  # type: ignore[type-arg]
    """A list of new messages that also reports an object dtype, like a numpy array would."""

    dtype = np.dtype(object)

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        super().__init__(messages)


def _random_text(rng: np.random.Generator, max_length: int) -> str:
    length = int(rng.integers(1, max_length + 1))
    return "".join(_SAMPLE_ALPHABET[i] for i in rng.integers(0, len(_SAMPLE_ALPHABET), size=length))


class ChatObservationSpace(spaces.Space[Observation]):
    """The space of message lists an environment sends back after reset and each step."""

    def __init__(self, seed: int | np.random.Generator | None = None) -> None:
        super().__init__(shape=None, dtype=object, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        return isinstance(x, list) and all(isinstance(m, Message) for m in x)

    def sample(self, mask: Any = None, probability: Any = None) -> Observation:
        return Observation([Message.user(_random_text(self.np_random, 40))])

    def __repr__(self) -> str:
        return "ChatObservationSpace()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChatObservationSpace)


class ChatActionSpace(spaces.Space[Message]):
    """The space of assistant replies: text, tool calls, or both.

    `sample()` returns random text, and now and then a call to one of `tool_names`, so a
    checker exercises both paths. It is deliberately not a legal move: environments must
    answer nonsense with a clear message, and the random agent asks the environment for
    legal-but-random moves instead.
    """

    def __init__(
        self, tool_names: Iterable[str] = (), seed: int | np.random.Generator | None = None
    ) -> None:
        super().__init__(shape=None, dtype=object, seed=seed)
        self.tool_names = tuple(tool_names)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) or (isinstance(x, Message) and x.role == "assistant")

    def sample(self, mask: Any = None, probability: Any = None) -> Message:
        rng = self.np_random
        if self.tool_names and rng.random() < 0.25:
            name = self.tool_names[int(rng.integers(len(self.tool_names)))]
            call = ToolCall(id=f"call_{int(rng.integers(1 << 30))}", name=name, arguments={})
            return Message.assistant(tool_calls=[call])
        return Message.assistant(_random_text(rng, 20))

    def __repr__(self) -> str:
        return f"ChatActionSpace(tools={list(self.tool_names)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChatActionSpace) and other.tool_names == self.tool_names
