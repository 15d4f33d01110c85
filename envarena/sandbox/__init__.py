"""Running untrusted code: `Sandbox.run(...) -> ExecResult`.

Backends, strongest first: `bwrap` (bubblewrap namespaces), `docker`, `process` (rlimits
only, warns). `auto` picks the strongest that works here. With `pool_size > 0` executions
of Python code go to warm workers (a fork each) instead of starting a sandbox each time.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType

from envarena.sandbox.backends import BwrapLauncher, DockerBackend, ProcessLauncher, probe_backends
from envarena.sandbox.base import ExecResult, Job, Limits, SandboxUnavailable, make_job
from envarena.sandbox.launcher import WorkerDied
from envarena.sandbox.pool import DEFAULT_MAX_JOBS, WorkerPool

__all__ = ["BACKENDS", "ExecResult", "Limits", "Sandbox", "SandboxUnavailable", "default_sandbox", "probe_backends"]

BACKENDS = ("auto", "bwrap", "docker", "process")


def _resolve(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown sandbox backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    report = probe_backends()
    return next(name for name in ("bwrap", "docker", "process") if report[name][0])


class Sandbox:
    """Run commands or Python code under one backend, with default limits.

    With `pool_size > 0` a warm worker runs at most `recycle_after` jobs before it is
    replaced (sooner if it cannot show that a job left nothing behind)."""

    def __init__(
        self,
        backend: str = "auto",
        *,
        pool_size: int = 0,
        limits: Limits | None = None,
        python: str | None = None,
        recycle_after: int = DEFAULT_MAX_JOBS,
    ) -> None:
        self.backend = _resolve(backend)
        self.limits = limits or Limits()
        self._docker: DockerBackend | None = None
        self._launcher: BwrapLauncher | ProcessLauncher | None = None
        if self.backend == "docker":
            self._docker = DockerBackend()
        elif self.backend == "bwrap":
            self._launcher = BwrapLauncher(python)
        else:
            self._launcher = ProcessLauncher(python)
        self._pool: WorkerPool | None = None
        if pool_size and self._launcher is not None:
            self._pool = WorkerPool(self._launcher, pool_size, max_jobs=recycle_after)

    def run(
        self,
        command: Sequence[str] | None = None,
        *,
        code: str | None = None,
        stdin: str = "",
        files: Mapping[str, str] | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        """Execute `command` (argv) or Python `code` in a fresh, limited environment.

        Never raises for what the code does: crashes, timeouts and limit breaches come back
        as fields of the result.
        """
        job = make_job(command, code, stdin, files, limits or self.limits)
        if self._docker is not None:
            return self._docker.run(job)
        if self._pool is not None:
            return self._pool.run(job)
        return self._run_cold(job)

    async def arun(
        self,
        command: Sequence[str] | None = None,
        *,
        code: str | None = None,
        stdin: str = "",
        files: Mapping[str, str] | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        """`run` for asyncio callers; cancelling the caller kills the execution at once."""
        job = make_job(command, code, stdin, files, limits or self.limits)
        if self._docker is not None:
            return await asyncio.to_thread(self._docker.run, job)
        if self._pool is not None:
            return await self._pool.arun(job)
        assert self._launcher is not None
        worker = await asyncio.to_thread(self._launcher.start, True)
        try:
            return await asyncio.to_thread(worker.request, job)
        except WorkerDied as died:
            return died.as_result(self.backend)
        finally:
            worker.kill()

    def _run_cold(self, job: Job) -> ExecResult:
        assert self._launcher is not None
        worker = self._launcher.start(once=True)
        try:
            return worker.request(job)
        except WorkerDied as died:
            return died.as_result(self.backend)
        finally:
            worker.kill()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._docker is not None:
            self._docker.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide pooled sandbox verifiers use (backend from ENVARENA_SANDBOX, else auto)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox(os.environ.get("ENVARENA_SANDBOX", "auto"), pool_size=max(2, os.cpu_count() or 2))
            atexit.register(_default.close)
        return _default
