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
import socket
from collections.abc import Callable, Iterator
from typing import Any

from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.rollout.engine import RolloutConfig, RolloutResult, _run_episode, _validate, pending
from envarena.rollout.progress import RolloutProgress
from envarena.rollout.store import EpisodeStore
from envarena.rollout.summary import SummaryAccumulator
from envarena.types import Episode

__all__ = ["RayRolloutWorker", "ray_session", "run_rollout_ray", "run_rollout_ray_sync"]

# Replacement workers allowed per planned worker before the run gives up (a worker that
# dies on every episode would otherwise be restarted forever).
_RESTARTS_PER_WORKER = 3


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
    """

    def __init__(self, config_json: str, agent_options: dict[str, Any]) -> None:
        from envarena.agents import load_policy

        self.config = RolloutConfig.model_validate_json(config_json)
        self.policies = {"agent": load_policy(self.config.agent, **agent_options)}
        if self.config.opponent is not None:
            self.policies["opponent"] = (
                self.policies["agent"] if self.config.opponent == self.config.agent else load_policy(self.config.opponent)
            )

    async def ready(self) -> int:
        import os

        return os.getpid()

    async def play(self, seed: int, sample: int) -> str:
        """One episode as its JSON record (plain data crosses the wire, not pydantic objects)."""
        episode = await _run_episode(self.config, self.policies, seed, sample)
        return episode.model_dump_json()


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


def _worker_count(requested: int | None) -> tuple[int, float]:
    """How many workers, and the CPUs each reserves (all of them fit on the cluster)."""
    ray = _ray()
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    count = requested or max(1, int(cpus))
    return count, min(1.0, cpus / count)


async def _ready(ray: Any, actor: Any) -> None:
    try:
        await actor.ready.remote()
    except ray.exceptions.RayActorError as err:
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
) -> RolloutResult:
    """`run_rollout` on Ray workers: same plan, same file, same result.

    `config.concurrency` is the number of episodes each worker plays at once. `workers`
    defaults to one per CPU of the cluster. Ray is started locally when no cluster is
    running and no `address` is given, and shut down again at the end; a Ray already
    initialised by the caller is used as it is and left running.
    """
    _validate(config)
    if config.agent == "human" or config.opponent == "human":
        raise InvalidOptionError("the human agent needs this terminal; it cannot play on Ray workers")
    with ray_session(address):
        return await _drive(_ray(), config, workers, agent_options or {}, show_progress, on_episode, keep_episodes)


async def _drive(
    ray: Any,
    config: RolloutConfig,
    workers: int | None,
    agent_options: dict[str, Any],
    show_progress: bool,
    on_episode: Callable[[Episode], None] | None,
    keep_episodes: bool,
) -> RolloutResult:
    count, cpus = _worker_count(workers)
    actor_class = ray.remote(RayRolloutWorker).options(num_cpus=cpus, max_concurrency=config.concurrency)
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
        count = min(count, -(-len(queue) // config.concurrency))  # no idle workers
        actors = [actor_class.remote(config_json, agent_options) for _ in range(count)]
        restarts_left = _RESTARTS_PER_WORKER * count
        await asyncio.gather(*(_ready(ray, a) for a in actors))
        in_flight: dict[Any, tuple[int, tuple[int, int]]] = {}  # object ref -> (worker slot, (seed, sample))
        load = [0] * count

        def submit() -> None:
            for slot, actor in enumerate(actors):
                while queue and load[slot] < config.concurrency:
                    item = queue.popleft()
                    in_flight[actor.play.remote(*item)] = (slot, item)
                    load[slot] += 1

        with RolloutProgress(show_progress, len(plan), skipped) as advance:
            try:
                submit()
                while in_flight:
                    done, _ = await asyncio.to_thread(ray.wait, list(in_flight), num_returns=1, timeout=1.0)
                    for ref in done:
                        slot, item = in_flight.pop(ref)
                        load[slot] -= 1
                        try:
                            raw = ray.get(ref)
                        except ray.exceptions.RayActorError as err:
                            restarts_left -= 1
                            if restarts_left < 0:
                                raise EnvArenaError(f"Ray workers keep dying; the last: {_first_line(err)}") from None
                            _requeue(in_flight, load, slot, item, queue)
                            actors[slot] = actor_class.remote(config_json, agent_options)
                            continue
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
                    submit()
            finally:
                # Ending the worker processes releases their policies, environments and sandboxes;
                # the unfinished episodes of a failed run are simply not written.
                for actor in actors:
                    ray.kill(actor)
    return RolloutResult(written=written, skipped=skipped, retried=len(retried), first_error=first_error,
                         summary=summary.rows(sorted({1, config.samples})), kept_episodes=kept)


def _requeue(
    in_flight: dict[Any, tuple[int, tuple[int, int]]],
    load: list[int],
    slot: int,
    failed: tuple[int, int],
    queue: collections.deque[tuple[int, int]],
) -> None:
    """Put a dead worker's unfinished episodes back at the front of the queue."""
    lost = [failed]
    for ref, (s, item) in list(in_flight.items()):
        if s == slot:
            del in_flight[ref]
            lost.append(item)
    load[slot] = 0
    queue.extendleft(reversed(lost))


def run_rollout_ray_sync(config: RolloutConfig, **kwargs: Any) -> RolloutResult:
    """`run_rollout_ray` for callers without an event loop."""
    return asyncio.run(run_rollout_ray(config, **kwargs))
