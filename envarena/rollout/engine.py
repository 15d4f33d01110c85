"""The asyncio rollout engine: many episodes at once, each written the moment it ends.

Agents act on the event loop (model backends batch concurrent requests there); environment
resets and steps run in worker threads so a slow verifier never stalls generation. Every
episode, failed or not, becomes exactly one JSONL line; a restarted run skips the episodes
already in the file and plays the failed ones again (their records are replaced).

The engine streams: `concurrency` worker coroutines pull (seed, sample) pairs from a lazy
plan, so a run of 100,000 episodes holds `concurrency` of them at a time; each finished
episode is written, counted into the summary and released (the caller keeps it only when it
asks: `keep_episodes=True` or `on_episode`). CPU-heavy environments (`Env.cpu_heavy`, or
`env_processes=N`) step in worker processes (`env_process.py`) so they never hold the GIL
that the event loop and the model batcher need.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pickle
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from envarena.agents import Policy, load_policy
from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.multiagent import MultiAgentEnv
from envarena.registration import registry
from envarena.rewards import add_components
from envarena.rollout.env_process import ENV_SIDE_AGENTS, EnvProcessPool
from envarena.rollout.progress import RolloutProgress
from envarena.rollout.store import EpisodeStore, read_episodes
from envarena.rollout.summary import EnvSummary, SummaryAccumulator
from envarena.types import Episode, Turn

__all__ = ["RolloutConfig", "RolloutResult", "episode_id", "episodes_in", "run_rollout", "run_rollout_sync"]


class RolloutConfig(BaseModel):
    """What to play: N tasks (seeds seed..seed+N-1), each `samples` times."""

    env_id: str
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    agent: str = "scripted"
    opponent: str | None = None
    n: int = Field(default=10, ge=1)
    seed: int = 0
    samples: int = Field(default=1, ge=1)
    concurrency: int = Field(default=8, ge=1)
    out: str = "rollouts.jsonl"
    episode_timeout: float | None = Field(default=None, gt=0)
    # A resumed run plays again the episodes that ended with an error (a server that was
    # down, a timeout) and replaces their records; False counts them as done.
    retry_failed: bool = True
    # Worker processes that step the environments: 0 = none (threads); None = as many as
    # there are CPUs (at most `concurrency`) when the environment class is `cpu_heavy`, else
    # none. Ignored on Ray, whose workers are processes already.
    env_processes: int | None = Field(default=None, ge=0)


class RolloutResult(BaseModel):
    """What a run wrote. The episodes themselves are in the file; they are in memory only
    when the caller asked for them (`keep_episodes=True`)."""

    written: int
    skipped: int
    retried: int = 0  # of `written`: episodes whose earlier record was an error
    summary: list[EnvSummary] = Field(default_factory=list)  # of this run's episodes
    first_error: str | None = None  # of this run's episodes, the first that failed
    kept_episodes: list[Episode] | None = None

    @property
    def errors(self) -> int:
        """This run's episodes that ended with an error."""
        return sum(row.errors for row in self.summary)

    @property
    def episodes(self) -> list[Episode]:
        """This run's episodes, in the order they finished (only with `keep_episodes=True`)."""
        if self.kept_episodes is None:
            raise EnvArenaError(
                "this rollout kept no episodes in memory; pass keep_episodes=True (or on_episode=...) "
                "to run_rollout, or read them from the output file with read_episodes"
            )
        return self.kept_episodes


def episode_id(config: RolloutConfig, seed: int, sample: int) -> str:
    """Stable ID of one planned episode: what makes a resumed run skip it."""
    key = json.dumps(
        [config.env_id, config.env_kwargs, seed, sample, config.agent, config.opponent], sort_keys=True, default=str
    )
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def agent_seed(seed: int, sample: int, player: str | None = None) -> int:
    """Independent, reproducible randomness for each (task, sample, player)."""
    entropy = [seed, sample, *(ord(c) for c in (player or ""))]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


class _Timer:
    def __init__(self) -> None:
        self.agent_s = 0.0
        self.env_s = 0.0

    async def agent(self, coro: Any) -> Any:
        start = time.perf_counter()
        try:
            return await coro
        finally:
            self.agent_s += time.perf_counter() - start

    async def env(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        finally:
            self.env_s += time.perf_counter() - start


def _close(agent: Any) -> None:
    """Tell an agent its episode is over (backends release per-episode state)."""
    close = getattr(agent, "close", None)
    if close is not None:
        close()


async def _play_single(env: Any, policy: Policy, episode: Episode, timer: _Timer) -> None:
    observation, _ = await timer.env(env.reset, seed=episode.seed)
    agent = policy.spawn(env, seed=agent_seed(episode.seed, episode.sample))
    try:
        await _play_single_turns(env, agent, observation, episode, timer)
    finally:
        _close(agent)


async def _play_single_turns(env: Any, agent: Any, observation: Any, episode: Episode, timer: _Timer) -> None:
    tools = env.tools
    observation = list(observation)
    while True:
        action = await timer.agent(agent.act(observation, tools))
        trace = getattr(agent, "last_trace", None)
        next_obs, reward, terminated, truncated, info = await timer.env(env.step, action)
        components = info.pop("reward_components", {})
        episode.turns.append(
            Turn(
                observation=observation,
                action=action,
                reward=reward,
                reward_components=components,
                terminated=terminated,
                truncated=truncated,
                info=info,
                trace=trace,
            )
        )
        observation = list(next_obs)
        if terminated or truncated:
            episode.outcome = float(info.get("outcome", 0.0))
            episode.success = bool(info.get("success", False))
            if info.get("error"):  # the environment failed (and ended the episode) rather than raise
                episode.error = str(info["error"])
            break
    episode.final_observation = observation


async def _play_multi(env: MultiAgentEnv, policies: dict[str, Policy], episode: Episode, seat: str, timer: _Timer) -> None:
    await timer.env(env.reset, seed=episode.seed)
    agents = {p: policies[p].spawn(env, seed=agent_seed(episode.seed, episode.sample, p), player=p) for p in env.possible_agents}
    try:
        await _play_multi_turns(env, agents, episode, seat, timer)
    finally:
        for agent in agents.values():
            _close(agent)


async def _play_multi_turns(env: MultiAgentEnv, agents: dict[str, Any], episode: Episode, seat: str, timer: _Timer) -> None:
    waiting: dict[str, Turn] = {}  # each player's last turn, until its reward is known
    while env.agents:
        player = env.agent_selection
        observation, reward, terminated, truncated, info = env.last()
        if player in waiting:
            turn = waiting.pop(player)
            turn.reward = float(reward)
            turn.reward_components = dict(info.get("reward_components", {}))
            turn.terminated, turn.truncated = bool(terminated), bool(truncated)
        if terminated or truncated:
            if player == seat:
                episode.outcome = float(info.get("outcome", 0.0))
                episode.success = bool(info.get("success", False))
                episode.final_observation = list(observation)
            await timer.env(env.step, None)
            continue
        action = await timer.agent(agents[player].act(list(observation), []))
        turn = Turn(agent=player, observation=list(observation), action=action, trace=getattr(agents[player], "last_trace", None))
        episode.turns.append(turn)
        waiting[player] = turn
        await timer.env(env.step, action)


def _finalize(episode: Episode) -> None:
    """Sum rewards per player; the episode's own totals are the evaluated agent's (its seat),
    whoever moved first."""
    totals: dict[str, float] = {}
    by_player: dict[str, float] = {}
    main = episode.player or "agent"
    for turn in episode.turns:
        by_player[turn.agent] = by_player.get(turn.agent, 0.0) + turn.reward
        if turn.agent == main:
            add_components(totals, turn.reward_components)
    episode.reward_components = totals
    episode.total_reward = by_player.get(main, 0.0)
    episode.rewards_by_player = by_player if len(by_player) > 1 else {}


def _new_episode(config: RolloutConfig, seed: int, sample: int) -> Episode:
    return Episode(
        id=episode_id(config, seed, sample),
        env_id=config.env_id,
        env_kwargs=config.env_kwargs,
        seed=seed,
        sample=sample,
        agent=config.agent,
        opponent=config.opponent,
        started_at=time.time(),
    )


async def _run_episode(
    config: RolloutConfig,
    policies: dict[str, Policy],
    seed: int,
    sample: int,
    envs: EnvProcessPool | None = None,
) -> Episode:
    """Play one episode; every failure is recorded in it, none raised. With `envs`, the
    environment lives in a worker process (or the whole episode is played there)."""
    if envs is not None and envs.whole_episodes:
        return await _run_episode_in_process(config, envs, seed, sample)
    episode = _new_episode(config, seed, sample)
    timer = _Timer()
    start = time.perf_counter()
    env = None
    try:
        if envs is not None:
            env = await asyncio.wait_for(envs.make(), timeout=config.episode_timeout)
        else:
            env = await asyncio.to_thread(registry.make, config.env_id, **_env_options(config))
        episode.tools = [t.openai_schema() for t in getattr(env, "tools", [])]
        if isinstance(env, MultiAgentEnv):
            seat = config.env_kwargs.get("seat") or env.possible_agents[0]
            episode.seat = seat
            play = _play_multi(env, _seat_policies(env, policies, seat), episode, seat, timer)
        else:
            play = _play_single(env, policies["agent"], episode, timer)
        await asyncio.wait_for(play, timeout=config.episode_timeout)
    except (asyncio.TimeoutError, TimeoutError):
        episode.error = f"TimeoutError: the episode took longer than {config.episode_timeout}s"
        if hasattr(env, "abandon"):  # an environment in a worker process, maybe stuck mid-step
            env.abandon()
    except Exception as err:  # recorded, never raised: one bad episode must not stop the run
        episode.error = f"{type(err).__name__}: {err}"
    finally:
        if env is not None:
            try:
                env.close()
            except Exception as err:
                episode.error = episode.error or f"close failed: {type(err).__name__}: {err}"
    _finalize(episode)
    episode.duration_s = time.perf_counter() - start
    episode.agent_s, episode.env_s = timer.agent_s, timer.env_s
    return episode


async def _run_episode_in_process(config: RolloutConfig, envs: EnvProcessPool, seed: int, sample: int) -> Episode:
    """The whole episode in a worker process; when the worker died or hung, an error record."""
    start_wall, start = time.time(), time.perf_counter()
    played, error = await envs.play(seed, sample)
    if played is not None:
        return played
    episode = _new_episode(config, seed, sample)
    episode.started_at, episode.error = start_wall, error
    episode.duration_s = time.perf_counter() - start
    return episode


def policies_for(config: RolloutConfig, load: Callable[[str], Policy]) -> dict[str, Policy]:
    """The agent's policy and, with `--opponent`, the opponent's (the same one when the specs match)."""
    policies = {"agent": load(config.agent)}
    if config.opponent is not None:
        policies["opponent"] = policies["agent"] if config.opponent == config.agent else load(config.opponent)
    return policies


def _process_pool(config: RolloutConfig, policies: dict[str, Policy], todo: int) -> EnvProcessPool | None:
    """The worker processes this run steps its environments in, or None for threads.

    By default only environments that declare themselves `cpu_heavy` get processes: for the
    rest a step is cheap and the pickling round trip would cost more than the GIL it frees.
    """
    requested = config.env_processes
    if requested == 0 or todo == 0:
        return None
    explicit = requested is not None
    if ":" in config.env_id:  # a remote environment: its steps are network waits, not CPU
        if explicit:
            raise InvalidOptionError(f"{config.env_id} runs elsewhere; --env-processes applies to local environments")
        return None
    env_class = registry.env_class(config.env_id)
    if not explicit and not getattr(env_class, "cpu_heavy", False):
        return None
    whole_episodes = all(getattr(p, "spec", None) in ENV_SIDE_AGENTS for p in policies.values())
    if not whole_episodes and config.opponent is not None:
        if explicit:
            raise InvalidOptionError(
                "--env-processes plays a model against the game's built-in opponent only; "
                "leave out --opponent or set --env-processes 0"
            )
        return None
    try:
        pickle.dumps(env_class)
    except Exception:
        if explicit:
            raise InvalidOptionError(
                f"{config.env_id} cannot run in a worker process: its class {env_class.__qualname__} is not "
                "importable by name (define it at the top level of a module)"
            ) from None
        return None
    size = requested or min(config.concurrency, os.cpu_count() or 1)
    return EnvProcessPool(config, env_class, min(size, todo), whole_episodes=whole_episodes)


def _env_options(config: RolloutConfig) -> dict[str, Any]:
    """A game played without `--opponent` gets its built-in opponent (single-agent view)."""
    options = dict(config.env_kwargs)
    if registry[config.env_id].multi_agent and config.opponent is None:
        options.setdefault("opponent", None)
    elif config.opponent is not None:
        options.pop("seat", None)
    return options


def _seat_policies(env: MultiAgentEnv, policies: dict[str, Policy], seat: str) -> dict[str, Policy]:
    return {p: policies["agent"] if p == seat else policies["opponent"] for p in env.possible_agents}


def _validate(config: RolloutConfig) -> None:
    spec = registry[config.env_id]  # unknown IDs fail here, before anything is written
    registry.validate_kwargs(config.env_id, config.env_kwargs)
    if config.opponent is not None and not spec.multi_agent:
        raise InvalidOptionError(f"{config.env_id} is single-agent; --opponent only applies to multi-agent games")
    seat = config.env_kwargs.get("seat")
    if spec.multi_agent and seat is not None and seat not in spec.players:
        raise InvalidOptionError(f"{config.env_id} has no seat '{seat}'; choose one of: {', '.join(spec.players)}")


def _plan(config: RolloutConfig) -> Iterator[tuple[int, int, str]]:
    """Every planned (seed, sample, episode ID), computed as it is needed, never listed."""
    for i in range(config.n):
        for s in range(config.samples):
            yield config.seed + i, s, episode_id(config, config.seed + i, s)


def plan_work(config: RolloutConfig, store: EpisodeStore) -> tuple[int, int, set[str], Iterator[tuple[int, int]]]:
    """How many planned, how many to play, the failed IDs dropped for replay, and a lazy
    iterator over the (seed, sample) pairs still to play.

    Shared by every way of running a rollout (here, or on Ray workers), so that resume and
    retry-of-failed mean the same thing everywhere.
    """
    retried = (
        store.forget_failed([i for _, _, i in _plan(config) if i in store.failed_ids]) if config.retry_failed else set()
    )
    planned = config.n * config.samples
    todo = sum(1 for _, _, i in _plan(config) if i not in store.done_ids)
    # the iterator checks `done_ids` as it goes: an episode written meanwhile is not replayed
    items = ((seed, s) for seed, s, i in _plan(config) if i not in store.done_ids)
    return planned, todo, retried, items


def pending(config: RolloutConfig, store: EpisodeStore) -> tuple[list[tuple[int, int]], list[tuple[int, int]], set[str]]:
    """The planned (seed, sample) pairs, those still to play, and the failed IDs dropped for
    replay, as lists (for schedulers that re-queue work, like the Ray driver)."""
    _, _, retried, items = plan_work(config, store)
    plan = [(config.seed + i, s) for i in range(config.n) for s in range(config.samples)]
    return plan, list(items), retried


async def run_rollout(
    config: RolloutConfig,
    *,
    policy: Policy | None = None,
    opponent: Policy | None = None,
    show_progress: bool = False,
    on_episode: Callable[[Episode], None] | None = None,
    keep_episodes: bool = False,
) -> RolloutResult:
    """Play every planned episode not already in `config.out`; return what this run wrote.

    Episodes are written as they finish and then dropped, so memory does not grow with `n`;
    `keep_episodes=True` also collects them in `result.episodes` (the trainer needs them),
    and `on_episode` sees each one as it finishes. A policy handed in belongs to the caller,
    who may use it for more runs (`envarena eval` plays one policy on several environments),
    so only the policies loaded here from the config's specs are closed at the end.
    """
    _validate(config)
    owned: list[Policy] = []  # loaded here, so closed here

    def load(spec: str) -> Policy:
        owned.append(load_policy(spec))
        return owned[-1]

    policies: dict[str, Policy] = {"agent": policy or load(config.agent)}
    if config.opponent is not None:
        policies["opponent"] = opponent or (
            policies["agent"] if config.opponent == config.agent else load(config.opponent)
        )
    kept: list[Episode] | None = [] if keep_episodes else None
    summary = SummaryAccumulator(group_size=config.samples)
    written, first_error = 0, None
    try:
        with EpisodeStore(config.out) as store:
            planned, todo, retried, items = plan_work(config, store)
            with RolloutProgress(show_progress, planned, planned - todo, policies.values()) as advance:

                def finished(episode: Episode) -> None:
                    nonlocal written, first_error
                    store.append(episode)
                    written += 1
                    first_error = first_error or episode.error
                    summary.add(episode)
                    advance(episode)
                    if kept is not None:
                        kept.append(episode)
                    if on_episode is not None:
                        on_episode(episode)

                workers = min(config.concurrency, todo)
                pool = _process_pool(config, policies, todo)
                if pool is None:
                    await _drain(items, workers, config, policies, None, finished)
                else:
                    async with pool:
                        await _drain(items, workers, config, policies, pool, finished)
    finally:
        for p in owned:
            await p.aclose()
    return RolloutResult(written=written, skipped=planned - todo, retried=len(retried), first_error=first_error,
                         summary=summary.rows(sorted({1, config.samples})), kept_episodes=kept)


async def _drain(
    items: Iterator[tuple[int, int]],
    workers: int,
    config: RolloutConfig,
    policies: dict[str, Policy],
    envs: EnvProcessPool | None,
    finished: Callable[[Episode], None],
) -> None:
    """`workers` coroutines pull work from one lazy iterator until it runs dry: at most that
    many episodes exist at once, and none is created before a worker is free to play it.
    The first failure (a full disk, a callback that raised, Ctrl-C) stops them all."""

    async def worker() -> None:
        for seed, sample in items:  # a plain generator: `next` never awaits, so workers never race
            finished(await _run_episode(config, policies, seed, sample, envs))

    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    if not tasks:
        return  # nothing left to play
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_rollout_sync(config: RolloutConfig, **kwargs: Any) -> RolloutResult:
    """`run_rollout` for callers without an event loop."""
    return asyncio.run(run_rollout(config, **kwargs))


def episodes_in(path: str) -> list[Episode]:
    """All episodes recorded in a rollout file, as a list (small files; `read_episodes`
    streams them one at a time)."""
    return list(read_episodes(path))

