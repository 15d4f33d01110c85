"""Run a CPU-bound check in a separate process that can be killed at its deadline.

An asyncio or thread timeout cannot stop a runaway sympy simplification; a process can. One
warm helper process per `IsolatedRunner` (started on first use, its imports done once)
keeps a call to a pipe round-trip; a call that overruns kills and replaces it. The helper is
a plain `python -c` subprocess rather than multiprocessing, which would re-import the
caller's `__main__` (and re-run scripts that lack a main guard).
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["IsolatedRunner", "IsolatedTimeout"]

_SERVER = r"""
import os, pickle, struct, sys
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
while True:
    header = stdin.read(4)
    if len(header) < 4:
        break
    fn, args = pickle.loads(stdin.read(struct.unpack(">I", header)[0]))
    try:
        reply = (True, fn(*args))
    except BaseException as err:
        reply = (False, type(err).__name__ + ": " + str(err))
    data = pickle.dumps(reply)
    stdout.write(struct.pack(">I", len(data)) + data)
    stdout.flush()
"""


class IsolatedTimeout(TimeoutError):
    """The call did not finish within its time limit and its process was killed."""


class IsolatedRunner:
    """Calls importable module-level functions in a killable helper process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        atexit.register(self.close)

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """`fn(*args)` in the helper; raises IsolatedTimeout, or RuntimeError on failure."""
        data = pickle.dumps((fn, args))
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(struct.pack(">I", len(data)) + data)
                process.stdin.flush()
                header = self._read(process, 4, timeout)
                ok, value = pickle.loads(self._read(process, struct.unpack(">I", header)[0], timeout))
            except IsolatedTimeout:
                self._kill()
                raise
            except (OSError, EOFError, pickle.UnpicklingError, struct.error) as err:
                self._kill()
                raise RuntimeError(f"the check process failed ({type(err).__name__})") from None
        if not ok:
            raise RuntimeError(value)
        return value

    @staticmethod
    def _read(process: subprocess.Popen[bytes], size: int, timeout: float) -> bytes:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        chunks = bytearray()
        while len(chunks) < size:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise IsolatedTimeout(f"the check took longer than {timeout:g}s")
            chunk = os.read(fd, size - len(chunks))
            if not chunk:
                raise EOFError
            chunks += chunk
        return bytes(chunks)

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = None

    def close(self) -> None:
        with self._lock:
            self._kill()
