"""What `envarena train` prints around its step log: each warning once, with a count.

A long run meets the same warnings again and again: a collapse sign every step ("75% of
responses stop at max_new_tokens"), a library logging the same line at every weight sync.
Printed each time they bury the step log. Here a message is keyed by its text with the
numbers masked, so "step 3: 75% ..." and "step 4: 80% ..." are one warning: the first is
shown when it happens, the repeats are counted, and the run ends with "(xN)" for each.
Library progress bars (transformers' "Writing model shards" at every checkpoint) would
interleave with the step log, so they are switched off while a checkpoint is written.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["WarningDigest", "quiet_progress_bars"]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _key(text: str) -> str:
    return _NUMBER.sub("#", text.strip())


@dataclass
class _Seen:
    text: str  # as first shown
    count: int
    warning: bool  # listed in the end summary (library INFO repeats are only silenced)


class WarningDigest:
    """Counts messages by masked text; `emit` prints the first of each and the final tally."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()  # library loggers and warnings can fire from other threads

    def first(self, text: str, *, warning: bool = True) -> bool:
        """Count `text`; True the first time its kind is seen (the caller shows it then)."""
        key = _key(text)
        with self._lock:
            seen = self.seen.get(key)
            if seen is None:
                self.seen[key] = _Seen(text, 1, warning)
                return True
            seen.count += 1
            return False

    def warn(self, text: str) -> None:
        if self.first(text):
            self.emit(f"warning: {text}")

    def summary(self) -> list[str]:
        """One line per warning that came more than once."""
        repeated = [s for s in self.seen.values() if s.warning and s.count > 1]
        return [f"warning (x{s.count}, the first shown): {s.text}" for s in repeated]

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """Route Python warnings and library log lines (INFO and WARNING) through the digest:
        the first of each kind is printed as the library prints it, the repeats are counted.
        Errors always go through."""
        log_filter = _RepeatFilter(self)
        handlers = _all_handlers()
        for handler in handlers:
            handler.addFilter(log_filter)
        shown = warnings.showwarning

        def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
                 line: Any = None) -> None:  # fmt: skip
            if self.first(f"{category.__name__}: {message}"):
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = shown
            for handler in handlers:
                handler.removeFilter(log_filter)


class _RepeatFilter(logging.Filter):
    def __init__(self, digest: WarningDigest) -> None:
        super().__init__()
        self.digest = digest

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR or record.levelno < logging.INFO:
            return True
        verdict = getattr(record, "_envarena_first", None)  # a record that reaches two handlers counts once
        if verdict is None:
            try:
                text = record.getMessage()
            except Exception:  # noqa: BLE001 - a malformed record is the handler's business
                return True
            verdict = self.digest.first(f"{record.name}: {text}", warning=record.levelno >= logging.WARNING)
            record._envarena_first = verdict
        return verdict


def _all_handlers() -> list[logging.Handler]:
    """Every handler of every logger that exists now (libraries such as vLLM and transformers
    attach their own and do not propagate to the root)."""
    named = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    loggers = [logging.getLogger(), *named]
    return list({id(h): h for logger in loggers for h in logger.handlers}.values())


@contextlib.contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """transformers' progress bars off for the block (then back as they were)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
