"""Starting a worker (see worker.py) under a backend, and talking to it."""

from __future__ import annotations

import json
import os
import select
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from envarena.sandbox.base import ExecResult, Job

__all__ = ["WorkerDied", "WorkerProcess", "count_processes_of", "worker_source"]

_NOBODY = 65534


class WorkerDied(RuntimeError):
    """The worker stopped answering: crashed, killed, or past its deadline."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out

    def as_result(self, backend: str) -> ExecResult:
        """What the caller gets instead of an exception: the execution was killed."""
        return ExecResult(timed_out=self.timed_out, exit_code=-9, stderr=str(self), backend=backend)


def worker_source() -> str:
    """The worker's code, passed on the command line so no host file needs to be visible,
    with the plain-data codec it installs for jobs (`import envarena_plain_data`)."""
    files = resources.files("envarena.sandbox")
    codec = files.joinpath("plain_data.py").read_text()
    return f"_PLAIN_DATA_SOURCE = {codec!r}\n" + files.joinpath("worker.py").read_text()


_COUNT_TTL_S = 0.5
_counts: dict[int, tuple[float, int]] = {}


def count_processes_of(uid: int) -> int:
    """How many processes `uid` runs now (cached for half a second): RLIMIT_NPROC counts
    them all, so a job's limit is this plus its own allowance."""
    now = time.monotonic()
    cached = _counts.get(uid)
    if cached is not None and now - cached[0] < _COUNT_TTL_S:
        return cached[1]
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                pass
    _counts[uid] = (now, count)
    return count


class WorkerProcess:
    """A started worker; `request()` runs one job on it. `jobs` counts the jobs it ran;
    `dirty` is set when the worker could not show that the last job left nothing behind
    (it exits then, and must not be given another job)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        backend: str,
        uid: int,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
        cleanup: Sequence[str] = (),
    ) -> None:
        self.backend, self.uid, self._cleanup = backend, uid, list(cleanup)
        self.jobs = 0
        self.dirty = False
        self._status_pending = False
        self.process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env if env is not None else {},
            preexec_fn=preexec_fn,
            start_new_session=True,  # one process group: killing it takes everything down
            close_fds=True,
        )

    def request(self, job: Job, *, extra_seconds: float = 5.0) -> ExecResult:
        assert self.process.stdin is not None and self.process.stdout is not None
        message = job.model_dump()
        message["nproc_base"] = count_processes_of(self.uid)
        data = json.dumps(message).encode()
        try:
            self.process.stdin.write(struct.pack(">I", len(data)) + data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise WorkerDied(f"the sandbox worker is gone ({err})") from None
        deadline_s = job.limits.wall_seconds + extra_seconds
        header = self._read_exactly(4, deadline_s)
        (size,) = struct.unpack(">I", header)
        reply: dict[str, Any] = json.loads(self._read_exactly(size, deadline_s))
        self.jobs += 1
        # After the reply the worker cleans up and then says whether it is fit for another
        # job. That word is read by `settle`, when the worker is next needed, so the cleanup
        # runs while the caller already has its result.
        self._status_pending = True
        reply.pop("cpu_killed", None)
        return ExecResult(**reply, backend=self.backend)

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait for the worker's word on its last job: True when it is alive and clean."""
        if self._status_pending:
            try:
                self.dirty = self._read_exactly(1, timeout) != b"\x00"
            except WorkerDied:
                return False
            self._status_pending = False
        return self.alive() and not self.dirty

    def _read_exactly(self, size: int, timeout: float) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        chunks = bytearray()
        while len(chunks) < size:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise WorkerDied("the sandbox worker did not answer in time", timed_out=True)
            chunk = os.read(fd, size - len(chunks))
            if not chunk:
                raise WorkerDied(f"the sandbox worker exited (code {self.process.poll()})")
            chunks += chunk
        return bytes(chunks)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the worker's whole process group and remove its host-side files."""
        try:
            os.killpg(self.process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)


def drop_to_nobody() -> None:
    """preexec_fn: as root, run the sandbox as an unprivileged user so rlimits bind."""
    os.setgroups([])
    os.setgid(_NOBODY)
    os.setuid(_NOBODY)


def sandbox_uid() -> int:
    return _NOBODY if os.geteuid() == 0 else os.geteuid()


def python_path() -> str:
    return sys.executable
