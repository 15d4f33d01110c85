"""Token ids in, text deltas out, for streamed answers.

Each new token re-decodes the ids so far and hands out the new end of the text, except what
may still change: an incomplete UTF-8 character (decoded as U+FFFD until its last byte
arrives) and a tail that could be the start of a stop string or of a tool-call marker.
What streams is therefore always a prefix of the final answer: a client never has to take
text back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["TextStream"]


def _held_tail(text: str, markers: Sequence[str]) -> int:
    """Length of the longest end of `text` that is a proper beginning of a marker."""
    longest = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), longest, -1):
            if text.endswith(marker[:size]):
                longest = size
                break
    return longest


class TextStream:
    """One answer's text as its tokens arrive.

    `stops` end the answer (the text before the first one is the answer); `holds` are
    markers after which nothing more is streamed as plain text (a tool call begins): the
    caller reads the rest from `text` when the generation ends. With `hold_json`, an answer
    that starts with "{" is held to the end too (it may be a bare JSON tool call).
    """

    def __init__(self, tokenizer: Any, *, stop_ids: set[int], stops: Sequence[str] = (), holds: Sequence[str] = (),
                 hold_json: bool = False, skip_special_tokens: bool = True) -> None:  # fmt: skip
        self.tokenizer, self.stop_ids, self.stops, self.holds = tokenizer, stop_ids, tuple(stops), tuple(holds)
        self.hold_json, self.skip_special_tokens = hold_json, skip_special_tokens
        self.ids: list[int] = []
        self.text = ""  # the answer so far, cut at a stop string
        self.sent = 0  # characters of `text` handed out
        self.stopped = False  # a stop string or a stop token was met
        self.held = False  # a hold marker was met: the rest is not plain text

    def push(self, token: int) -> str:
        """Take one sampled token; return the text that can be streamed now (maybe "")."""
        if self.stopped:
            return ""
        if token in self.stop_ids:
            self.stopped = True
            return ""
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip_special_tokens)
        cuts = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if cuts:
            text, self.stopped = text[: min(cuts)], True
        self.text = text
        return self._release(final=self.stopped)

    def finish(self, final_text: str | None = None) -> str:
        """The end of the answer: whatever was held back. `final_text`, the engine's own
        decoding of the finished answer, wins where it extends what was streamed."""
        if final_text is not None and final_text.startswith(self.text[: self.sent]):
            self.text = final_text
        return self._release(final=True)

    def _release(self, *, final: bool) -> str:
        if self.held:
            return ""
        end = len(self.text)
        marks = [i for i in (self.text.find(m, self.sent) for m in self.holds) if i >= 0]
        if marks:
            end, self.held = min(marks), True
        elif not final:
            start = self.text.lstrip()
            if self.hold_json and not self.text[: self.sent].strip() and (not start or start.startswith("{")):
                return ""  # nothing but blanks so far, or a "{": wait for the end
            if self.text.endswith("\ufffd"):
                end -= 1
            end -= _held_tail(self.text[:end], (*self.stops, *self.holds))
        if end <= self.sent:
            return ""
        delta, self.sent = self.text[self.sent : end], end
        return delta
