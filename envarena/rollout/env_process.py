"""Environments stepped in worker processes, so a CPU-heavy one never holds the driver's GIL.

A thread pool keeps a slow verifier that *waits* (a sandbox, a server) off the event loop,
but an environment that computes in Python (a hard sudoku reset: tenths of a second) holds
the GIL in its thread and stalls the loop and the model batcher with it. Here each worker
process owns environments; the driver talks to it over a pipe, one reader thread per worker
turning replies into futures the event loop awaits.

Two ways to use a worker, picked per run:

* whole episodes, when every player is `scripted` or `random`: those agents read the
  environment's hidden state (the reference solver, the legal moves), so they play inside
  the worker, which runs the engine's own per-episode function and sends back the finished
  `Episode`. Same code, same seeds: the same episodes as an in-thread run.
* a proxy environment, for model agents: the agent acts on the event loop and only
  `reset`/`step`/`close` cross the pipe (single-agent views only).

Workers ignore Ctrl-C (the driver decides when they stop), ask the kernel to kill them when
the driver dies (`PR_SET_PDEATHSIG`, so even `kill -9` of the driver leaves no orphan), and
exit when their pipe closes. A worker that dies or overruns an episode's time limit is
killed and replaced; the episode it was playing records the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

from envarena.tools import Tool

__all__ = ["ENV_SIDE_AGENTS", "EnvProcessDied", "EnvProcessPool", "EnvProxy"]

#: Agents that act from the environment object itself, so they must live where it lives.
ENV_SIDE_AGENTS = frozenset({"scripted", "random"})
# How long past the episode's own time limit a whole-episode worker may stay silent before
# it is killed (the worker enforces the limit itself; this catches a step that never returns).
_GRACE_S = 5.0
_PR_SET_PDEATHSIG = 1


class EnvProcessDied(RuntimeError):
    """The worker process holding an environment died or had to be killed."""


class _RemoteError(RuntimeError):
    """An exception from the worker that could not travel back as itself."""


# ---------------------------------------------------------------------------- the worker side
def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when the driver (its parent) dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the driver died before the line above took effect
        os._exit(1)


class _Worker:
    """What runs in the child: the environments of one run, keyed by handle."""

    def __init__(self, config_json: str, env_class: type | None) -> None:
        from envarena.registration import registry
        from envarena.rollout.engine import RolloutConfig

        self.config = RolloutConfig.model_validate_json(config_json)
        if env_class is not None:  # the driver's class for this ID, whatever this process would register
            registry.remove(self.config.env_id, missing_ok=True)
            registry.add(self.config.env_id, env_class, source="driver")
        self.envs: dict[int, Any] = {}
        self.policies: dict[str, Any] | None = None
        self.loop = asyncio.new_event_loop()

    def ready(self) -> int:
        return os.getpid()

    def episode(self, seed: int, sample: int) -> Any:
        from envarena.agents import load_policy
        from envarena.rollout.engine import _run_episode, policies_for

        if self.policies is None:
            self.policies = policies_for(self.config, load_policy)
        return self.loop.run_until_complete(_run_episode(self.config, self.policies, seed, sample))

    def make(self, handle: int) -> list[dict[str, Any]]:
        from envarena.registration import registry
        from envarena.rollout.engine import _env_options

        env = registry.make(self.config.env_id, **_env_options(self.config))
        self.envs[handle] = env
        return [t.model_dump() for t in getattr(env, "tools", [])]

    def reset(self, handle: int, seed: int | None, options: dict[str, Any] | None) -> Any:
        return self.envs[handle].reset(seed=seed, options=options)

    def step(self, handle: int, action: Any) -> Any:
        return self.envs[handle].step(action)

    def close(self, handle: int) -> None:
        env = self.envs.pop(handle, None)
        if env is not None:
            env.close()


def _worker_main(conn: Any, parent: int, config_json: str, env_class: type | None) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the driver decides
    worker = _Worker(config_json, env_class)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is None:
            break
        request, op, args = message
        try:
            reply = (request, True, getattr(worker, op)(*args))
        except BaseException as err:  # noqa: BLE001 (every failure goes back to the episode)
            reply = (request, False, _pack_error(err))
        try:
            conn.send(reply)
        except Exception as err:  # the result would not pickle: send why instead
            conn.send((request, False, _pack_error(err)))
    for handle in list(worker.envs):
        with contextlib.suppress(Exception):
            worker.close(handle)


def _pack_error(err: BaseException) -> tuple[str, str, bytes | None]:
    try:
        raw: bytes | None = pickle.dumps(err)
    except Exception:
        raw = None
    return type(err).__name__, str(err), raw


def _unpack_error(packed: tuple[str, str, bytes | None]) -> BaseException:
    name, text, raw = packed
    if raw is not None:
        with contextlib.suppress(Exception):
            err = pickle.loads(raw)
            if isinstance(err, BaseException):
                return err
    return _RemoteError(f"{name}: {text}")


# ---------------------------------------------------------------------------- the driver side
class _WorkerProcess:
    """One child process and the futures of the requests it has not answered yet."""

    def __init__(self, context: Any, config_json: str, env_class: type | None) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, os.getpid(), config_json, env_class), name="envarena-env", daemon=True
        )
        self.process.start()
        child.close()
        self.live_envs = 0
        self._lock = threading.Lock()  # guards _pending and _broken
        self._send_lock = threading.Lock()
        self._pending: dict[int, Future[Any]] = {}
        self._ids = itertools.count()
        self._broken: EnvProcessDied | None = None
        self._reader = threading.Thread(target=self._read, name=f"envarena-env-{self.process.pid}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    @property
    def broken(self) -> bool:
        return self._broken is not None

    def submit(self, op: str, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._broken is not None:
                future.set_exception(self._broken)
                return future
            request = next(self._ids)
            self._pending[request] = future
        # A separate lock for writing: the reader must never wait for a writer, or a full pipe
        # each way (long actions in, a long reply out) would deadlock the two processes.
        try:
            with self._send_lock:
                self.conn.send((request, op, args))
        except (OSError, ValueError) as err:
            with self._lock:
                self._pending.pop(request, None)
            _settle(future, None, EnvProcessDied(f"the environment process {self.pid} is gone ({err})"))
        return future

    def _read(self) -> None:
        while True:
            try:
                request, ok, payload = self.conn.recv()
            except Exception:  # EOF: the process ended (or its reply was unreadable)
                break
            with self._lock:
                future = self._pending.pop(request, None)
            if future is not None:
                _settle(future, payload if ok else None, None if ok else _unpack_error(payload))
        self.process.join(timeout=2.0)
        died = EnvProcessDied(f"the environment process {self.pid} died (exit code {self.process.exitcode})")
        with self._lock:
            self._broken = self._broken or died
            pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            _settle(future, None, self._broken)

    def kill(self) -> None:
        with self._lock:
            self._broken = self._broken or EnvProcessDied(f"the environment process {self.pid} was killed")
        with contextlib.suppress(Exception):
            self.process.kill()

    def ask_to_stop(self) -> None:
        """The worker exits once its current request is done (its environments are closed)."""
        if self._send_lock.acquire(timeout=1.0):  # a writer stuck on a full pipe: stop() kills
            try:
                with contextlib.suppress(Exception):
                    self.conn.send(None)
            finally:
                self._send_lock.release()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit, kill it if it does not, and reap it."""
        self.ask_to_stop()
        self.process.join(timeout)
        if self.process.is_alive():
            self.kill()
            self.process.join(timeout)
        self._reader.join(timeout)
        with contextlib.suppress(Exception):
            self.conn.close()


def _settle(future: Future[Any], result: Any, error: BaseException | None) -> None:
    """Resolve a future unless its waiter gave up on it (a timed-out episode cancels it)."""
    with contextlib.suppress(InvalidStateError):
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


class EnvProxy:
    """A single-agent environment living in a worker process; blocking calls, made by the
    engine from a thread (`asyncio.to_thread`) like any environment's."""

    def __init__(self, worker: _WorkerProcess, handle: int, tools: list[dict[str, Any]],
                 limit: float | None = None) -> None:
        self._worker, self._handle = worker, handle
        self.tools = [Tool(**t) for t in tools]
        self._closed = False
        self._limit = limit  # longest a call may take: the episode's time limit and a grace

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return self._call("reset", seed, options)

    def step(self, action: Any) -> Any:
        return self._call("step", action)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return self._worker.submit(method, self._handle, *args).result(timeout=self._limit)
        except FutureTimeoutError:
            self.abandon()
            raise TimeoutError(f"the environment process did not answer {method} within {self._limit:g}s "
                               "(it was killed)") from None

    def abandon(self) -> None:
        """Kill the worker of an environment stuck in a call: the calls queued behind it in that
        process would wait forever too. The pool replaces a killed worker before its next use."""
        self._worker.kill()

    def close(self) -> None:
        """Does not wait: the engine closes environments on the event loop."""
        if not self._closed:
            self._closed = True
            self._worker.submit("close", self._handle)
            self._worker.live_envs -= 1


class EnvProcessPool:
    """`size` worker processes for one rollout; use as an async context manager."""

    def __init__(self, config: Any, env_class: type | None, size: int, *, whole_episodes: bool) -> None:
        self.config_json = config.model_dump_json()
        self.timeout = config.episode_timeout
        self.env_class = env_class
        self.size = size
        self.whole_episodes = whole_episodes
        # spawn, not fork: the driver has threads (the loop's executor, a model's), and a
        # forked child inherits their locks in whatever state they were in
        self._context = multiprocessing.get_context("spawn")
        self.workers: list[_WorkerProcess] = []
        self._idle: asyncio.Queue[_WorkerProcess] = asyncio.Queue()
        self._handles = itertools.count()

    async def __aenter__(self) -> EnvProcessPool:
        # Started from the loop's own thread: PR_SET_PDEATHSIG fires when the *thread* that
        # started the child ends, and an executor thread may end any time.
        try:
            self.workers = [self._start() for _ in range(self.size)]
            await asyncio.gather(*(asyncio.wrap_future(w.submit("ready")) for w in self.workers))
        except BaseException as err:
            self.close()
            if isinstance(err, Exception):
                from envarena.errors import EnvArenaError

                raise EnvArenaError(f"could not start the environment processes: {err}") from None
            raise
        for worker in self.workers:
            self._idle.put_nowait(worker)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            await asyncio.to_thread(self.close)  # workers finish their last request off the loop
        else:
            self.close()  # not awaited: it must finish even while the run is being cancelled (Ctrl-C)

    def _start(self) -> _WorkerProcess:
        return _WorkerProcess(self._context, self.config_json, self.env_class)

    def _replace(self, worker: _WorkerProcess) -> _WorkerProcess:
        worker.kill()
        # reaped off the event loop: joining can take seconds, and generation must not wait
        threading.Thread(target=worker.stop, kwargs={"timeout": 2.0}, name="envarena-env-reaper", daemon=True).start()
        fresh = self._start()
        self.workers[self.workers.index(worker)] = fresh
        return fresh

    def pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    async def play(self, seed: int, sample: int) -> Any:
        """One whole episode in an idle worker; the `Episode` it played, or None with the
        reason when the worker died or overran the time limit (the caller records it)."""
        worker = await self._idle.get()
        try:
            future = worker.submit("episode", seed, sample)
            limit = None if self.timeout is None else self.timeout + _GRACE_S
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), timeout=limit), None
            except (asyncio.TimeoutError, TimeoutError):
                worker = self._replace(worker)
                return None, f"TimeoutError: the episode took longer than {self.timeout}s (its process was killed)"
            except EnvProcessDied as err:
                worker = self._replace(worker)
                return None, f"EnvProcessDied: {err}"
            except Exception as err:  # the worker could not run or send the episode
                return None, f"{type(err).__name__}: {err}"
        finally:
            self._idle.put_nowait(worker)

    async def make(self) -> EnvProxy:
        """A fresh environment in the least loaded worker (replacing a dead one first)."""
        worker = min(self.workers, key=lambda w: (w.broken, w.live_envs))
        if worker.broken:
            worker = self._replace(worker)
        handle = next(self._handles)
        worker.live_envs += 1
        try:
            tools = await asyncio.wrap_future(worker.submit("make", handle))
        except BaseException:
            worker.live_envs -= 1
            raise
        return EnvProxy(worker, handle, tools, limit=None if self.timeout is None else self.timeout + _GRACE_S)

    def close(self) -> None:
        for worker in self.workers:  # all at once: shutting down takes the longest request, not the sum
            worker.ask_to_stop()
        for worker in self.workers:
            worker.stop()
