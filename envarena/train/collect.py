"""Collecting rollouts for training: groups of episodes from the current policy.

The collector owns the generation side: a `GenerationEngine` (the HF engine sharing the
trainer's model, or an in-process vLLM engine with its own copy of the weights), the policy
that spawns episode agents over it, group sampling and dynamic sampling. It never touches
the optimiser; the trainer hands it new weights through `sync_weights`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envarena.agents.generation import EnginePolicy, GenerationEngine, SamplingParams
from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.rollout import RolloutConfig, run_rollout
from envarena.train.config import TrainConfig
from envarena.train.weights import exported_weights
from envarena.types import Episode

__all__ = ["RolloutCollector", "build_engine"]


def build_engine(config: TrainConfig, model: Any, tokenizer: Any) -> GenerationEngine:
    """The generator the config asks for, holding the same weights as `model`."""
    if config.generator == "hf":
        from envarena.agents.hf import HFEngine

        return HFEngine(config.model, loaded=(model, tokenizer), max_batch_size=max(64, config.concurrency))
    if config.model == "tiny":
        raise InvalidOptionError("generator: vllm needs a Hugging Face checkpoint as model, not the tiny test model")
    from envarena.agents.vllm_engine import VLLMEngine

    settings = config.vllm
    # vLLM's CPU backend sizes its KV cache from the environment (it would take most of RAM).
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", f"{settings.kv_cache_gb:g}")
    engine = VLLMEngine(
        config.model,
        dtype=settings.dtype,
        seed=config.seed,
        enforce_eager=settings.enforce_eager,
        gpu_memory_utilization=settings.gpu_memory_utilization,
        max_model_len=settings.max_model_len,
        enable_sleep_mode=settings.sleep_mode,
        max_batch_size=max(64, config.concurrency),
    )
    with exported_weights(model) as weights:  # a resumed run starts from its checkpoint, not the base model
        engine.load_weights(weights)
    return engine


class RolloutCollector:
    """With `ray:` in the config, the episodes play on Ray workers against this engine, served
    to them over HTTP (`ray_rollouts.py`); everything else is the same."""

    def __init__(self, config: TrainConfig, run_dir: Path, engine: GenerationEngine,
                 episode_reward: Callable[[Episode], float], *, tokenizer: Any = None,
                 log: Callable[[str], None] = print) -> None:  # fmt: skip
        self.config, self.run_dir, self.engine = config, run_dir, engine
        self.episode_reward = episode_reward
        params = SamplingParams(temperature=config.temperature, top_p=config.top_p,
                                max_new_tokens=config.max_new_tokens)
        self.policy = EnginePolicy(f"{config.generator}:{config.model}", engine, params, owns_engine=False)
        self.ray: Any = None
        if config.ray is not None:
            from envarena.train.ray_rollouts import RayRollouts

            self.ray = RayRollouts(config, engine, tokenizer if tokenizer is not None else engine.tokenizer, log=log)

    def sync_weights(self, model: Any) -> float:
        """Give the engine the policy's current weights; returns the seconds it took."""
        if self.config.generator == "hf":
            return 0.0  # the HF engine generates with the trainer's own model
        start = time.perf_counter()
        with exported_weights(model) as weights:
            self.engine.load_weights(weights)
        return time.perf_counter() - start

    def rollout(self, first_seed: int, tasks: int, samples: int, out: Path) -> list[Episode]:
        """Play seeds first_seed .. first_seed+tasks-1, `samples` times each, in one rollout."""
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.unlink()  # a resumed step replays its rollouts from the restored RNG
        config = RolloutConfig(
            env_id=self.config.env_id, env_kwargs=self.config.env_kwargs, agent=self.policy.spec, n=tasks,
            seed=first_seed, samples=samples, out=str(out),
            concurrency=tasks * samples if self.config.deterministic else self.config.concurrency,
        )
        if self.config.deterministic:  # all episodes at once, batched in lockstep: reproducible and fast
            self.engine.lockstep = True
            self.engine.expect(tasks * samples)
        self.engine.wake()
        if self.ray is not None:
            episodes = self.ray.rollout(config)
        else:
            episodes = asyncio.run(run_rollout(config, policy=self.policy, keep_episodes=True)).episodes
        return sorted(episodes, key=lambda e: (e.seed, e.sample))

    def collect(self, step: int) -> tuple[dict[int, list[Episode]], int, float]:
        """One step's groups, the number of groups with no signal, and the seconds spent."""
        config = self.config
        first = config.seed * 1_000_003 + step * config.tasks_per_step
        start = time.perf_counter()
        groups: dict[int, list[Episode]] = {}
        zero_signal = 0
        todo = config.tasks_per_step
        rounds = 1 + (config.max_resample_rounds if config.dynamic_sampling else 0)
        for round_ in range(rounds):
            out = self.run_dir / "rollouts" / f"step-{step:06d}.round{round_}.jsonl"
            fresh: dict[int, list[Episode]] = defaultdict(list)
            played = self.rollout(first, todo, config.group_size, out)
            if round_ == 0 and all(e.error is not None for e in played):  # nothing to learn from: say why
                raise EnvArenaError(f"every episode of step {step} failed; the first: {played[0].error}")
            for episode in played:
                fresh[episode.seed].append(episode)
            flat = [s for s, group in fresh.items() if len({self.episode_reward(e) for e in group}) == 1]
            if round_ == 0:
                zero_signal = len(flat)
            keep_flat = not config.dynamic_sampling or round_ == rounds - 1
            groups.update({s: g for s, g in fresh.items() if keep_flat or s not in flat})
            if keep_flat or not flat:
                break
            # Dynamic sampling: groups that all scored the same carry no signal; play fresh tasks instead.
            first, todo = first + 10_000_019 * (round_ + 1), len(flat)
        return groups, zero_signal, time.perf_counter() - start

    def evaluate(self, step: int) -> dict[str, float]:
        config = self.config
        episodes = self.rollout(config.eval_seed, config.eval_tasks, 1,
                                self.run_dir / "rollouts" / f"eval-{step:06d}.jsonl")
        return {
            "eval_outcome": sum(e.outcome for e in episodes) / len(episodes),
            "eval_success": sum(e.success for e in episodes) / len(episodes),
            "eval_reward": sum(e.total_reward for e in episodes) / len(episodes),
            "eval_errors": sum(e.error is not None for e in episodes),
        }

    def close(self) -> None:
        """End the Ray workers and the policy server, if any (the engine's batching loop ends
        with the event loop of each rollout)."""
        if self.ray is not None:
            self.ray.close()
