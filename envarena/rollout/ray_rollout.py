"""Rollouts spread over a Ray cluster: episodes play on workers, the driver alone writes.

Each Ray worker (an actor) builds its own policy from the agent spec and plays episodes with
the engine's own per-episode function, so environments, their sandboxes and their verifiers
run on the worker's node. Finished episodes come back to the driver as JSON and go through
the same `EpisodeStore` as a local run, so episode IDs, resume, replay of failed episodes and
the summary are unchanged, and the output file never has two writers.

A worker that dies (node lost, process killed) takes only its unfinished episodes with it:
the driver puts them back in the queue, starts a replacement worker and plays them again.
An episode is written only when its result has reached the driver, so none is lost and none
is written twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.rollout.engine import RolloutConfig, RolloutResult, _run_episode, _validate, pending
from envarena.rollout.progress import RolloutProgress
from envarena.rollout.store import EpisodeStore
from envarena.rollout.summary import SummaryAccumulator
from envarena.types import Episode

__all__ = ["RayRolloutWorker", "RayWorkerPool", "ray_session", "run_rollout_ray", "run_rollout_ray_sync"]

log = logging.getLogger(__name__)

# Replacement workers allowed per worker in one rollout before it gives up (a worker that
# dies on every episode would otherwise be restarted forever).
_RESTARTS_PER_WORKER = 3
# Seconds a worker may take to be placed on the cluster and start (loading its policy comes
# after and is not counted). Past it, the cluster lacks the resources (a lost node, another
# job holding them) and waiting longer would hang the run without a word.
PLACEMENT_TIMEOUT_S = 300.0


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EnvArenaError("--ray needs Ray: pip install 'envarena[ray]'") from None
    return ray


class RayRolloutWorker:
    """One Ray actor: a policy and the environments of the episodes it is playing.

    Its methods are coroutines, so Ray runs it as an async actor and its episodes share one
    event loop and one policy, as they do in a local run (model backends batch across them).
    Each episode names its rollout's config, so one worker serves rollout after rollout
    (training plays one per step) while loading its policy once.
    """

    def __init__(self, agent: str, opponent: str | None, agent_options: dict[str, Any]) -> None:
        # Nothing slow here: `ping` answering means "placed", loading the policy (which may
        # take minutes for a large model) is `load`, so the two can be told apart.
        self.agent, self.opponent, self._options = agent, opponent, agent_options
        self.policies: dict[str, Any] | None = None
        self._config: tuple[str, RolloutConfig] | None = None  # the last rollout's, parsed once

    async def ping(self) -> int:
        import os

        return os.getpid()

    async def load(self) -> int:
        """Build the policy once (the first episode does it, if nobody asked before)."""
        if self.policies is None:
            from envarena.agents import load_policy

            agent = load_policy(self.agent, **self._options)
            policies = {"agent": agent}
            if self.opponent is not None:
                policies["opponent"] = agent if self.opponent == self.agent else load_policy(self.opponent)
            self.policies = policies
        return await self.ping()

    async def reach(self, url: str) -> str | None:
        """None if this worker can open `url`, else why not: a server the workers cannot reach
        (a firewall, a loopback address on another node) would fail every episode instead."""
        import urllib.error
        import urllib.request

        def get() -> None:
            with urllib.request.urlopen(url, timeout=10):
                pass

        try:
            await asyncio.to_thread(get)
        except urllib.error.HTTPError:
            return None  # something answered: the server is reachable
        except Exception as err:  # noqa: BLE001 - refused, timed out, unresolvable, malformed: all "cannot"
            return str(getattr(err, "reason", None) or err)
        return None

    async def play(self, config_json: str, seed: int, sample: int) -> str:
        """One episode as its JSON record (plain data crosses the wire, not pydantic objects)."""
        if self._config is None or self._config[0] != config_json:
            self._config = (config_json, RolloutConfig.model_validate_json(config_json))
        config = self._config[1]
        if (config.agent, config.opponent) != (self.agent, self.opponent):
            raise EnvArenaError("this Ray worker was started for another agent")
        await self.load()
        assert self.policies is not None
        episode = await _run_episode(config, self.policies, seed, sample)
        return episode.model_dump_json()


class RayWorkerPool:
    """The Ray actors that play one agent's episodes, each up to `concurrency` at once.

    `run_rollout_ray` makes one for a rollout and ends it after; a caller that plays many
    rollouts with the same agent (the trainer) makes one with `start` and passes it in, so
    workers start and load their policy once. A worker that died is replaced in place, up to
    `_RESTARTS_PER_WORKER` times per worker in a rollout; a replacement the cluster cannot
    place within `PLACEMENT_TIMEOUT_S` is given up (its slot is None) and the others go on.
    A given-up slot is filled again at the next rollout if the cluster then has room.
    """

    def __init__(self, ray: Any, agent: str, opponent: str | None, agent_options: dict[str, Any], *,
                 workers: int, cpus: float, concurrency: int, gpus: float = 0.0) -> None:  # fmt: skip
        self.ray, self.agent, self.opponent, self.concurrency = ray, agent, opponent, concurrency
        self._options = agent_options
        self._actor_class = ray.remote(RayRolloutWorker).options(num_cpus=cpus, num_gpus=gpus,
                                                                 max_concurrency=concurrency)  # fmt: skip
        self._cpus, self._gpus = cpus, gpus
        self.actors: list[Any] = [self._new_actor() for _ in range(workers)]
        self.restarts_left = 0
        self._starting: dict[int, tuple[Any, float]] = {}  # slot -> (its replacement's ping ref, deadline)
        self.new_rollout()

    @classmethod
    async def start(cls, agent: str, *, opponent: str | None = None, agent_options: dict[str, Any] | None = None,
                    workers: int | None = None, concurrency: int = 8, gpus_per_worker: float = 0.0) -> RayWorkerPool:  # fmt: skip
        """A pool on the Ray this process is connected to (see `ray_session`), its workers ready."""
        ray = _ray()
        count, cpus = worker_count(workers, gpus_per_worker)
        pool = cls(ray, agent, opponent, agent_options or {}, workers=count, cpus=cpus, concurrency=concurrency,
                   gpus=gpus_per_worker)  # fmt: skip
        try:
            await pool.ready()
        except BaseException:
            pool.close()
            raise
        return pool

    def _new_actor(self) -> Any:
        return self._actor_class.remote(self.agent, self.opponent, self._options)

    @property
    def live_slots(self) -> list[int]:
        return [slot for slot, actor in enumerate(self.actors) if actor is not None]

    def new_rollout(self) -> None:
        """A fresh restart allowance (a long training run survives any number of rollouts that
        each lost a worker or two), and given-up slots filled again where the cluster has room."""
        free = self.ray.available_resources()
        for slot, actor in enumerate(self.actors):
            if actor is None and free.get("CPU", 0.0) >= self._cpus and free.get("GPU", 0.0) >= self._gpus:
                self._start(slot)
                free = {"CPU": free.get("CPU", 0.0) - self._cpus, "GPU": free.get("GPU", 0.0) - self._gpus}
        self.restarts_left = _RESTARTS_PER_WORKER * len(self.live_slots)

    async def ready(self) -> None:
        """Wait until every worker is placed (within `PLACEMENT_TIMEOUT_S`: a cluster without
        room says so) and has built its policy (as long as that takes; one that cannot load
        fails here, in one sentence)."""
        pings = asyncio.gather(*(_started(self.ray, actor.ping) for actor in self.actors))
        try:
            await asyncio.wait_for(pings, PLACEMENT_TIMEOUT_S)
        except (asyncio.TimeoutError, TimeoutError):
            raise EnvArenaError(f"the Ray workers were not all placed within {PLACEMENT_TIMEOUT_S:.0f} s; "
                                f"{_free_resources(self.ray)} (fewer workers with --ray-workers?)") from None
        await asyncio.gather(*(_started(self.ray, actor.load) for actor in self.actors))

    async def reach(self, url: str) -> None:
        """Every worker opens `url`, or one sentence says which could not and why."""
        try:
            answers = await asyncio.gather(*(self.actors[slot].reach.remote(url) for slot in self.live_slots))
        except self.ray.exceptions.RayActorError as err:
            raise EnvArenaError(f"a Ray worker died while checking {url}: {_first_line(err)}") from None
        failed = next((why for why in answers if why is not None), None)
        if failed is not None:
            raise EnvArenaError(f"a Ray worker cannot reach {url}: {failed}")

    def replace(self, slot: int, err: BaseException) -> None:
        """A new worker in place of the dead one at `slot`."""
        self.restarts_left -= 1
        if self.restarts_left < 0:
            raise EnvArenaError(f"Ray workers keep dying; the last: {_first_line(err)}") from None
        with contextlib.suppress(Exception):  # it may be unreachable rather than dead: free what it holds
            self.ray.kill(self.actors[slot])
        self._start(slot)

    def _start(self, slot: int) -> None:
        """A new worker at `slot`, watched until it is placed (see `unplaced`)."""
        self.actors[slot] = self._new_actor()
        self._starting[slot] = (self.actors[slot].ping.remote(), time.monotonic() + PLACEMENT_TIMEOUT_S)

    def unplaced(self) -> list[int]:
        """Slots whose replacement the cluster did not place (or build) in time: those workers
        are ended and their slots given up. Raises when no worker is left."""
        given_up = []
        for slot, (ref, deadline) in list(self._starting.items()):
            done, _ = self.ray.wait([ref], timeout=0)
            if done:
                del self._starting[slot]  # placed, or died (its episodes then fail and are re-queued)
            elif time.monotonic() > deadline:
                del self._starting[slot]
                with contextlib.suppress(Exception):
                    self.ray.kill(self.actors[slot])
                self.actors[slot] = None
                given_up.append(slot)
                log.warning("a Ray worker was not placed within %.0f s and is given up for this rollout; %s",
                            PLACEMENT_TIMEOUT_S, _free_resources(self.ray))
        if given_up and not self.live_slots:
            raise EnvArenaError(f"no Ray worker is left: replacements were not placed within "
                                f"{PLACEMENT_TIMEOUT_S:.0f} s; {_free_resources(self.ray)}")
        return given_up

    def close(self) -> None:
        """End the worker processes, releasing their policies, environments and sandboxes."""
        for actor in self.actors:
            if actor is not None:
                self.ray.kill(actor)
        self.actors = []
        self._starting.clear()


@contextlib.contextmanager
def ray_session(address: str | None = None) -> Iterator[None]:
    """Ray connected for the block: joined at `address`, or started locally (and shut down
    after) when `address` is empty. A Ray the caller initialised already is used as it is."""
    started = _connect(address)
    try:
        yield
    finally:
        if started:
            _ray().shutdown()


def _connect(address: str | None) -> bool:
    """Join the cluster at `address`, or start a local one; True if this call started Ray."""
    ray = _ray()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"logging_level": "WARNING", "log_to_driver": False}
    if address:
        _check_reachable(address)
        options["address"] = address
    else:
        options["include_dashboard"] = False
    try:
        ray.init(**options)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise EnvArenaError(f"could not connect to the Ray cluster at '{address}': {err}") from None
    return True


def _check_reachable(address: str) -> None:
    """Fail in seconds on a HOST:PORT nobody listens on (Ray itself retries for minutes)."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", ray:// client addresses: Ray resolves and reports them itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise EnvArenaError(f"no Ray cluster answers at '{address}' ({err.strerror or err}); "
                            "start one with `ray start --head` or leave out the address") from None


def worker_count(requested: int | None, gpus_per_worker: float = 0.0) -> tuple[int, float]:
    """How many workers, and the CPUs each reserves (all of them fit on the cluster)."""
    ray = _ray()
    resources = ray.cluster_resources()
    cpus = float(resources.get("CPU", 1.0))
    if gpus_per_worker <= 0:
        count = requested or max(1, int(cpus))
        return count, min(1.0, cpus / count)
    # Ray would wait forever for GPUs the cluster does not have: say so instead.
    gpus = float(resources.get("GPU", 0.0))
    fit = int(gpus / gpus_per_worker + 1e-9)
    count = requested or fit
    if count < 1 or count > fit:
        wanted = max(count, 1)
        raise InvalidOptionError(f"the Ray cluster has {gpus:g} GPUs, and {wanted} worker{'s' if wanted > 1 else ''} "
                                 f"with {gpus_per_worker:g} GPU each need {wanted * gpus_per_worker:g}")
    return count, min(1.0, cpus / count)


def _free_resources(ray: Any) -> str:
    free = ray.available_resources()
    return f"the cluster has {free.get('CPU', 0.0):g} CPUs and {free.get('GPU', 0.0):g} GPUs free"


async def _started(ray: Any, method: Any) -> None:
    """Await a worker's ping or load; a worker that died or a policy that cannot load is one sentence."""
    try:
        await method.remote()
    except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as err:
        raise EnvArenaError(f"a Ray worker could not start: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    lines = [line for line in str(err).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(err).__name__


async def run_rollout_ray(
    config: RolloutConfig,
    *,
    address: str | None = None,
    workers: int | None = None,
    agent_options: dict[str, Any] | None = None,
    show_progress: bool = False,
    on_episode: Callable[[Episode], None] | None = None,
    keep_episodes: bool = False,
    pool: RayWorkerPool | None = None,
    gpus_per_worker: float = 0.0,
) -> RolloutResult:
    """`run_rollout` on Ray workers: same plan, same file, same result.

    `config.concurrency` is the number of episodes each worker plays at once. `workers`
    defaults to one per CPU of the cluster. Ray is started locally when no cluster is
    running and no `address` is given, and shut down again at the end; a Ray already
    initialised by the caller is used as it is and left running. `gpus_per_worker` reserves
    GPUs for each worker (an `hf:` or `vllm:` policy then loads onto its own). With `pool`
    (for the agent of `config`), its workers play and stay up afterwards; `workers`,
    `agent_options`, GPUs and the per-worker concurrency are then the pool's.
    """
    _validate(config)
    if config.agent == "human" or config.opponent == "human":
        raise InvalidOptionError("the human agent needs this terminal; it cannot play on Ray workers")
    if pool is not None and (pool.agent, pool.opponent) != (config.agent, config.opponent):
        raise InvalidOptionError(f"this Ray worker pool plays '{pool.agent}', not '{config.agent}'")
    with ray_session(address):
        return await _drive(config, workers, agent_options or {}, pool, gpus_per_worker, show_progress, on_episode,
                            keep_episodes)  # fmt: skip


async def _drive(
    config: RolloutConfig,
    workers: int | None,
    agent_options: dict[str, Any],
    pool: RayWorkerPool | None,
    gpus_per_worker: float,
    show_progress: bool,
    on_episode: Callable[[Episode], None] | None,
    keep_episodes: bool,
) -> RolloutResult:
    ray = _ray()
    config_json = config.model_dump_json()
    kept: list[Episode] | None = [] if keep_episodes else None
    summary = SummaryAccumulator(group_size=config.samples)
    written, first_error = 0, None
    with EpisodeStore(config.out) as store:
        plan, todo, retried = pending(config, store)
        skipped = len(plan) - len(todo)
        queue = collections.deque(todo)
        if not queue:
            return RolloutResult(written=0, skipped=skipped, retried=len(retried), kept_episodes=kept)
        own_pool = pool is None
        if pool is not None and not pool.live_slots:
            raise InvalidOptionError("this Ray worker pool was closed")
        if pool is None:
            count, cpus = worker_count(workers, gpus_per_worker)
            count = min(count, -(-len(queue) // config.concurrency))  # no idle workers
            pool = RayWorkerPool(ray, config.agent, config.opponent, agent_options, workers=count, cpus=cpus,
                                 concurrency=config.concurrency, gpus=gpus_per_worker)  # fmt: skip
        pool.new_rollout()
        in_flight: dict[Any, tuple[int, tuple[int, int]]] = {}  # object ref -> (worker slot, (seed, sample))
        load = [0] * len(pool.actors)

        def submit() -> None:
            """Fill the least-loaded workers first, so a short rollout spreads over all of them."""
            while queue:
                slot = min(pool.live_slots, key=load.__getitem__)
                if load[slot] >= pool.concurrency:
                    return
                item = queue.popleft()
                in_flight[pool.actors[slot].play.remote(config_json, *item)] = (slot, item)
                load[slot] += 1

        with RolloutProgress(show_progress, len(plan), skipped) as advance:
            try:
                if own_pool:
                    await pool.ready()  # a policy that cannot load fails here, in one sentence
                submit()
                while in_flight:
                    done, _ = await asyncio.to_thread(ray.wait, list(in_flight), num_returns=1, timeout=1.0)
                    for ref in done:
                        if ref not in in_flight:
                            continue  # an episode of a worker that died, already put back in the queue
                        slot, item = in_flight.pop(ref)
                        load[slot] -= 1
                        try:
                            raw = ray.get(ref)
                        except ray.exceptions.RayActorError as err:
                            _requeue(in_flight, load, slot, item, queue)
                            pool.replace(slot, err)
                            continue
                        except ray.exceptions.RayTaskError as err:  # episodes never raise: the policy did not load
                            raise EnvArenaError(f"a Ray worker could not start: {_first_line(err)}") from None
                        episode = Episode.model_validate_json(raw)
                        if episode.id in store.done_ids:  # never written twice, whatever Ray replays
                            continue
                        store.append(episode)
                        written += 1
                        first_error = first_error or episode.error
                        summary.add(episode)
                        if kept is not None:
                            kept.append(episode)
                        advance(episode)
                        if on_episode is not None:
                            on_episode(episode)
                    for slot in pool.unplaced():  # its queued episodes go to the workers that remain
                        _requeue(in_flight, load, slot, None, queue)
                    submit()
            finally:
                # The unfinished episodes of a failed run are simply not written: an own pool's
                # workers end with it; a kept pool's stop playing them and wait for the next rollout.
                if own_pool:
                    pool.close()
                else:
                    for ref in in_flight:
                        with contextlib.suppress(Exception):
                            ray.cancel(ref)
    return RolloutResult(written=written, skipped=skipped, retried=len(retried), first_error=first_error,
                         summary=summary.rows(sorted({1, config.samples})), kept_episodes=kept)


def _requeue(
    in_flight: dict[Any, tuple[int, tuple[int, int]]],
    load: list[int],
    slot: int,
    failed: tuple[int, int] | None,
    queue: collections.deque[tuple[int, int]],
) -> None:
    """Put a dead worker's unfinished episodes back at the front of the queue."""
    lost = [failed] if failed is not None else []
    for ref, (s, item) in list(in_flight.items()):
        if s == slot:
            del in_flight[ref]
            lost.append(item)
    load[slot] = 0
    queue.extendleft(reversed(lost))


def run_rollout_ray_sync(config: RolloutConfig, **kwargs: Any) -> RolloutResult:
    """`run_rollout_ray` for callers without an event loop."""
    return asyncio.run(run_rollout_ray(config, **kwargs))
