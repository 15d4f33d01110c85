"""Append-only JSONL episode files that survive being killed at any moment.

Each finished episode is one line, written with a single `write`, flushed and fsynced, so a
kill can at worst leave a partial last line; opening the file again cuts that line off and
reports which episodes are already done, which is all that resuming needs. An exclusive
lock stops two runs from interleaving lines in the same file.

Resuming reads episode IDs only: a line this library wrote starts with `{"id":"...` and is
failed exactly when it holds a top-level `"error":"` (inside a JSON string those quotes
would be escaped), so the ID and the error flag come from the raw bytes, and only lines
that might record an error, or that were written by something else, are parsed as JSON. No
`Episode` is built, which keeps resuming a 100,000-line file fast and its memory small.

Episodes that ended with an error (a server that was down, a timeout) are played again by
default. Their records are removed before the replay by rewriting the file to a temporary
sibling and renaming it over the original: a kill at any moment leaves either the old file
or the new one, and the worst case is that a removed failure is simply played once more.
An error record is therefore replaced, never duplicated.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import re
import json
import os
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from pydantic import ValidationError

from envarena.errors import EnvArenaError
from envarena.types import Episode

__all__ = ["EpisodeStore", "read_episodes", "scan_ids"]

_COMPACT_ID = re.compile(rb'\{"id":"([^"\\]*)"')


def read_episodes(path: str | Path) -> Iterator[Episode]:
    """Every complete episode in a rollout file (a torn last line is ignored)."""
    path = Path(path)
    if not path.exists():
        raise EnvArenaError(f"rollout file '{path}' does not exist")
    for number, raw in _complete_lines(path):
        try:
            yield Episode.model_validate_json(raw)
        except ValidationError as err:
            raise EnvArenaError(f"{path}:{number} is not an episode record ({err.errors()[0]['msg']})") from None


def scan_ids(path: str | Path) -> Iterator[tuple[str, bool]]:
    """(episode ID, ended with an error) of every complete line, without building episodes."""
    for number, raw in _complete_lines(Path(path)):
        scanned = _scan_line(raw)
        if scanned is None:
            raise EnvArenaError(f"{path}:{number} is not an episode record (it has no episode id)")
        yield scanned


def _complete_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of every non-blank line a finished write left; a torn last line
    (a run killed mid-write) ends the file."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                return
            if raw.strip():
                yield number, raw


def _scan_line(raw: bytes) -> tuple[str, bool] | None:
    """The ID and error flag of one line; None when the line is no episode record."""
    match = _COMPACT_ID.match(raw)
    if match is not None and b'"error":"' not in raw:
        return match.group(1).decode(), False  # no error string anywhere, so none at the top level
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        return None
    return record["id"], bool(record.get("error"))


class EpisodeStore:
    """The output file of one rollout: knows what is done, appends what finishes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None
        self.done_ids: set[str] = set()
        self.failed_ids: set[str] = set()  # recorded, but ended with an error

    def __enter__(self) -> EpisodeStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._open_locked()
        self._drop_torn_tail()
        self._remove_stale_rewrites()
        for episode_id, failed in scan_ids(self.path):
            self.done_ids.add(episode_id)
            if failed:
                self.failed_ids.add(episode_id)
        return self

    def _open_locked(self) -> BinaryIO:
        # A run that rewrote the file (see `forget_failed`) renamed a new inode over the
        # path; a lock taken on the old one would guard nothing, so check and try again.
        for _ in range(10):
            file = self.path.open("a+b")
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()
                raise EnvArenaError(f"another rollout is writing to '{self.path}'") from None
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(file.fileno()).st_ino == os.stat(self.path).st_ino:
                    return file
            file.close()
        raise EnvArenaError(f"another rollout keeps replacing '{self.path}'")

    def _rewrite_pattern(self) -> str:
        return f".{glob.escape(self.path.name)}.*.rewrite"

    def _remove_stale_rewrites(self) -> None:
        """Temporary files of a run killed mid-rewrite (holding the lock, no rewrite is live).
        Only this file's own: mkstemp's random part is exactly eight characters, so `a.jsonl`
        never takes the live rewrite of `a.jsonl.x`."""
        own = re.compile(rf"\.{re.escape(self.path.name)}\.[a-z0-9_]{{8}}\.rewrite")
        for stale in self.path.parent.glob(self._rewrite_pattern()):
            if own.fullmatch(stale.name):
                stale.unlink(missing_ok=True)

    def forget_failed(self, ids: Collection[str]) -> set[str]:
        """Remove the error records of these episodes so that the run plays them again.

        Returns the IDs removed. The new file is written beside the old one, fsynced and locked
        before it is renamed over the path, so no other run can take it in between.
        """
        assert self._file is not None, "use EpisodeStore as a context manager"
        drop = self.failed_ids & set(ids)
        if not drop:
            return set()
        target = self.path.resolve()  # a symlinked file is rewritten where it lives; the link stays
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".rewrite")
        os.fchmod(fd, os.fstat(self._file.fileno()).st_mode & 0o777)  # mkstemp's 0600 is not the file's mode
        os.close(fd)
        new = open(name, "a+b")  # noqa: SIM115 (it becomes the store's file)
        try:
            fcntl.flock(new.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._file.seek(0)
            for raw in self._file:
                scanned = _scan_line(raw)
                if scanned is None or not scanned[1] or scanned[0] not in drop:
                    new.write(raw)
            new.flush()
            os.fsync(new.fileno())
            os.replace(name, target)
        except BaseException:
            new.close()
            Path(name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        old, self._file = self._file, new
        old.close()  # releases the lock on the old, now unlinked, file
        self.done_ids -= drop
        self.failed_ids -= drop
        return drop

    def _drop_torn_tail(self) -> None:
        assert self._file is not None
        self._file.seek(0, os.SEEK_END)
        size = self._file.tell()
        keep, end = 0, size
        while end > 0:  # read backwards from the end to the last newline, not the whole file
            start = max(0, end - (1 << 16))
            self._file.seek(start)
            newline = self._file.read(end - start).rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
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
        if episode.error:
            self.failed_ids.add(episode.id)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (the directory entry is what changed)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
