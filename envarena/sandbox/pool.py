"""A warm pool of sandbox workers, so one execution costs a fork, not a Python start.

Workers are started lazily up to `size`; a job takes an idle worker, and any failure (the
worker died, overran its deadline, or the caller was interrupted) kills that worker and its
whole process group, to be replaced on next use. So does a worker that could not show that
its last job left nothing behind (`dirty`), and every worker after `max_jobs` jobs: state
no check thought of then lives for a bounded number of jobs at most. Thread-safe; verifiers
call it from the rollout engine's worker threads.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Protocol

from envarena.sandbox.base import ExecResult, Job
from envarena.sandbox.launcher import WorkerDied, WorkerProcess

__all__ = ["DEFAULT_MAX_JOBS", "WorkerPool"]


class Launcher(Protocol):
    name: str

    def start(self, once: bool = False) -> WorkerProcess: ...


DEFAULT_MAX_JOBS = 200


class WorkerPool:
    def __init__(self, launcher: Launcher, size: int, *, max_jobs: int = DEFAULT_MAX_JOBS) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        if max_jobs < 1:
            raise ValueError("a worker must be allowed at least one job")
        self.launcher, self.size, self.max_jobs = launcher, size, max_jobs
        self._idle: list[WorkerProcess] = []
        self._started = 0
        self._lock = threading.Condition()
        self._closed = False

    def _acquire(self) -> WorkerProcess:
        while True:
            worker = None
            with self._lock:
                while True:
                    if self._closed:
                        raise RuntimeError("the sandbox pool is closed")
                    if self._idle:
                        worker = self._idle.pop()
                        break
                    if self._started < self.size:
                        self._started += 1
                        break
                    self._lock.wait()
            # Outside the lock: starting a worker, or waiting for one's word, holds up no other.
            if worker is None:
                return self._start()
            if worker.settle():
                return worker
            self._discard(worker)

    def _start(self) -> WorkerProcess:
        try:
            return self.launcher.start()
        except BaseException:
            with self._lock:
                self._started -= 1
                self._lock.notify()
            raise

    def _discard(self, worker: WorkerProcess) -> None:
        worker.kill()
        with self._lock:
            self._started -= 1
            self._lock.notify()

    def _release(self, worker: WorkerProcess, healthy: bool) -> None:
        """Back to the pool, or killed. Whether its last job left it clean is only known
        once the worker has cleaned up: `_acquire` asks (`settle`) before reusing it."""
        reusable = healthy and worker.jobs < self.max_jobs
        with self._lock:
            if reusable and not self._closed:
                self._idle.append(worker)
                self._lock.notify()
                return
        self._discard(worker)

    def run(self, job: Job) -> ExecResult:
        worker = self._acquire()
        healthy = False
        try:
            result = worker.request(job)
            healthy = True
            return result
        except WorkerDied as died:
            return died.as_result(self.launcher.name)
        finally:
            self._release(worker, healthy)

    async def arun(self, job: Job) -> ExecResult:
        """Like `run`; cancelling the caller kills the worker at once (nothing outlives it)."""
        acquiring = asyncio.ensure_future(asyncio.to_thread(self._acquire))
        try:
            worker = await asyncio.shield(acquiring)
        except asyncio.CancelledError:  # the thread still gets a worker: give it back when it does
            acquiring.add_done_callback(self._release_unused)
            raise
        healthy = False
        try:
            result = await asyncio.to_thread(worker.request, job)
            healthy = True
            return result
        except WorkerDied as died:
            return died.as_result(self.launcher.name)
        finally:
            self._release(worker, healthy)

    def _release_unused(self, acquired: asyncio.Future[WorkerProcess]) -> None:
        if not acquired.cancelled() and acquired.exception() is None:
            self._release(acquired.result(), healthy=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for worker in idle:
            worker.kill()
