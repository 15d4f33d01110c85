"""Append-only JSONL episode files that survive being killed at any moment.

Each finished episode is one line, written with a single `write`, flushed and fsynced, so a
kill can at worst leave a partial last line; opening the file again cuts that line off and
reports which episodes are already done, which is all that resuming needs. An exclusive
lock stops two runs from interleaving lines in the same file.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from pydantic import ValidationError

from envarena.errors import EnvArenaError
from envarena.types import Episode

__all__ = ["EpisodeStore", "read_episodes"]


def read_episodes(path: str | Path) -> Iterator[Episode]:
    """Every complete episode in a rollout file (a torn last line is ignored)."""
    path = Path(path)
    if not path.exists():
        raise EnvArenaError(f"rollout file '{path}' does not exist")
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                return  # torn write from a killed run
            if not raw.strip():
                continue
            try:
                yield Episode.model_validate_json(raw)
            except ValidationError as err:
                raise EnvArenaError(f"{path}:{number} is not an episode record ({err.errors()[0]['msg']})") from None


class EpisodeStore:
    """The output file of one rollout: knows what is done, appends what finishes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = None
        self.done_ids: set[str] = set()

    def __enter__(self) -> EpisodeStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a+b")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise EnvArenaError(f"another rollout is writing to '{self.path}'") from None
        self._drop_torn_tail()
        self.done_ids = {e.id for e in read_episodes(self.path)}
        return self

    def _drop_torn_tail(self) -> None:
        assert self._file is not None
        self._file.seek(0, os.SEEK_END)
        size = self._file.tell()
        if size == 0:
            return
        self._file.seek(0)
        data = self._file.read()
        keep = data.rfind(b"\n") + 1
        if keep != size:
            self._file.truncate(keep)
            self._file.flush()

    def append(self, episode: Episode) -> None:
        assert self._file is not None, "use EpisodeStore as a context manager"
        line = episode.model_dump_json() + "\n"
        json.loads(line)  # never write a line that cannot be read back
        self._file.seek(0, os.SEEK_END)
        self._file.write(line.encode())
        self._file.flush()
        os.fsync(self._file.fileno())
        self.done_ids.add(episode.id)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
