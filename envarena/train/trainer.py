"""The multi-turn RL loop: roll out groups, compute the update, sync, checkpoint.

Each step the collector (`collect.py`) plays `tasks_per_step` tasks `group_size` times with
the current policy through the configured generator; the updater (`update.py`) turns the
episodes' token traces into masked sequences and optimises the clipped objective; the new
weights go back to the generator (a no-op for the HF engine, which shares the model; a
merged-weight load for vLLM); checkpoints are atomic (`checkpoint.py`). Everything a run
produces lives in its run directory: metrics.jsonl, the rollouts of every step, atomic
checkpoints, and (with `envarena plot`) PNG curves.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from envarena.registration import registry
from envarena.train.checkpoint import latest_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from envarena.train.collect import RolloutCollector, build_engine
from envarena.train.config import TinyModel, TrainConfig
from envarena.train.console import WarningDigest, quiet_progress_bars
from envarena.train.update import PolicyUpdater
from envarena.types import Episode

__all__ = ["Trainer", "collapse_warnings"]

_VOLATILE = ("time_", "tokens_per_s")  # metrics that differ between identical runs


def _seed_everything(seed: int, deterministic: bool) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def collapse_warnings(entropy: float, at_max_length: float, repetition: float, max_new_tokens: int = 256) -> list[str]:
    """Signs that a run is collapsing, worth a line in the log before the curves say so.
    (Hitting a budget of a handful of tokens is by design, not a sign.)"""
    found = []
    if entropy < 0.05:
        found.append(f"entropy collapse: mean token entropy {entropy:.3f}")
    if at_max_length > 0.5 and max_new_tokens >= 16:
        found.append(f"{at_max_length:.0%} of responses stop at max_new_tokens")
    if repetition > 0.3:
        found.append(f"{repetition:.0%} of responses repeat themselves")
    return found


def _repeats(ids: list[int], n: int = 4, times: int = 3) -> bool:
    counts: dict[tuple[int, ...], int] = defaultdict(int)
    for i in range(len(ids) - n + 1):
        gram = tuple(ids[i : i + n])
        counts[gram] += 1
        if counts[gram] >= times:
            return True
    return False


class Trainer:
    def __init__(self, config: TrainConfig, run_dir: str | Path, *, log: Any = print) -> None:
        import torch

        self.config, self.run_dir, self.log = config, Path(run_dir), log
        self.run_dir.mkdir(parents=True, exist_ok=True)
        registry[config.env_id]  # fail fast on an unknown environment
        registry.validate_kwargs(config.env_id, config.env_kwargs)
        _seed_everything(config.seed, config.deterministic)
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if config.device == "auto" else config.device
        self.model, self.tokenizer = self._load_model()
        self.updater = PolicyUpdater(config, self.model, self.tokenizer, self.device)
        self.step = 0
        checkpoint = latest_checkpoint(self.run_dir)
        if checkpoint is not None:
            self.step = load_checkpoint(checkpoint, self.model, self.optimizer, self.scheduler)
            self._truncate_metrics(self.step)
            self.log(f"resumed from {checkpoint.name} at step {self.step}")
        # After a resume the engine gets the restored weights. Starting vLLM reseeds python,
        # numpy and torch (its worker calls set_random_seed), so the restored (or freshly
        # seeded) generator states are put back afterwards: the run stays exactly resumable.
        generators = rng_state()
        engine = build_engine(config, self.model, self.tokenizer)
        set_rng_state(generators)
        self.collector = RolloutCollector(config, self.run_dir, engine, self._episode_reward, tokenizer=self.tokenizer,
                                          log=log)  # fmt: skip
        if config.generator == "vllm" and config.top_p < 1.0 and config.tis_cap is not None:
            self.log("note: with top_p < 1, vLLM's log-probs are those of the renormalised top-p distribution and "
                     "the trainer's are not, so importance weights sit below 1 on average (see mismatch_* metrics)")
        (self.run_dir / "config.json").write_text(config.model_dump_json(indent=1))

    def close(self) -> None:
        """Release what outlives a step: the Ray workers and the policy server (with `ray:`).
        Closed, a trainer with `ray:` plays no more steps."""
        self.collector.close()

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def optimizer(self) -> Any:
        return self.updater.optimizer

    @property
    def scheduler(self) -> Any:
        return self.updater.scheduler

    @property
    def policy(self) -> Any:
        return self.collector.policy

    # ------------------------------------------------------------------ model
    def _load_model(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from envarena.agents.models import resolve_model

        config = self.config
        if config.model == "tiny":
            from envarena.train.tiny import build_tiny

            tiny = config.tiny or TinyModel()
            model, tokenizer = build_tiny(tiny.layers, tiny.hidden, tiny.heads, tiny.seed)
        else:
            path = resolve_model(config.model)
            tokenizer = AutoTokenizer.from_pretrained(path)
            dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        model.to(self.device)
        if config.lora is not None:
            from peft import LoraConfig, get_peft_model

            lora = config.lora
            model = get_peft_model(
                model,
                LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                           target_modules=lora.target_modules, task_type="CAUSAL_LM"),
            )
        return model, tokenizer

    def _episode_reward(self, episode: Episode) -> float:
        return episode.outcome if self.config.episode_reward == "outcome" else episode.total_reward

    # ------------------------------------------------------------------ the loop
    def train_step(self, step: int) -> dict[str, Any]:
        groups, zero_signal, rollout_s = self.collector.collect(step)
        episodes = [e for group in groups.values() for e in group]
        train_start = time.perf_counter()
        rows = self.updater.sequences(groups, self._episode_reward)
        self.collector.engine.sleep()  # on a GPU, vLLM gives its memory to the update
        optimised = self.updater.optimise(rows) if rows else {}
        train_s = time.perf_counter() - train_start
        optimised["time_sync_s"] = self.collector.sync_weights(self.model)
        return self._metrics(step, episodes, zero_signal, rollout_s, train_s, optimised)

    def _metrics(self, step: int, episodes: list[Episode], zero_signal: int, rollout_s: float, train_s: float,
                 optimised: dict[str, float]) -> dict[str, Any]:
        rewards = np.array([e.total_reward for e in episodes], dtype=np.float64)
        completions = [t.trace.completion_ids for e in episodes for t in e.turns if t.trace is not None]
        lengths = np.array([len(c) for c in completions] or [0])
        agent_share = sum(e.agent_s for e in episodes)
        env_share = sum(e.env_s for e in episodes)
        split = agent_share / (agent_share + env_share) if agent_share + env_share else 1.0
        components: dict[str, float] = defaultdict(float)
        for e in episodes:
            for name, value in e.reward_components.items():
                components[name] += value / len(episodes)
        generated = int(lengths.sum())
        metrics: dict[str, Any] = {
            "step": step,
            "episodes": len(episodes),
            "reward_mean": float(rewards.mean()) if len(rewards) else 0.0,
            "reward_std": float(rewards.std()) if len(rewards) else 0.0,
            "outcome_mean": float(np.mean([e.outcome for e in episodes])) if episodes else 0.0,
            "success_rate": float(np.mean([e.success for e in episodes])) if episodes else 0.0,
            "errors": sum(e.error is not None for e in episodes),
            **{f"reward_{name}": value for name, value in sorted(components.items())},
            "zero_signal_groups": zero_signal,
            "response_length": float(lengths.mean()),
            "at_max_length": float(np.mean([len(c) >= self.config.max_new_tokens for c in completions])) if completions else 0.0,
            "repetition": float(np.mean([_repeats(c) for c in completions])) if completions else 0.0,
            **optimised,
            "lr": self.scheduler.get_last_lr()[0],
            "tokens_per_s": generated / max(rollout_s * split, 1e-9),
            "time_generate_s": rollout_s * split,
            "time_env_s": rollout_s * (1 - split),
            "time_train_s": train_s,
        }
        metrics["warnings"] = collapse_warnings(
            optimised.get("entropy", 1.0), metrics["at_max_length"], metrics["repetition"], self.config.max_new_tokens
        )
        return metrics

    def evaluate(self, step: int) -> dict[str, float]:
        return self.collector.evaluate(step)

    def run(self) -> list[dict[str, Any]]:
        """Train to `config.steps`. Each kind of warning is printed once and tallied at the end,
        and library progress bars stay out of the step log (`console.py`)."""
        digest = WarningDigest(self.log)
        try:
            with digest.capture(), quiet_progress_bars():
                return self._steps(digest)
        finally:
            for line in digest.summary():
                self.log(line)

    def _steps(self, digest: WarningDigest) -> list[dict[str, Any]]:
        config = self.config
        written = []
        for step in range(self.step, config.steps):
            metrics = self.train_step(step)
            if config.eval_every and (step % config.eval_every == 0 or step == config.steps - 1):
                metrics.update(self.evaluate(step))
            with (self.run_dir / "metrics.jsonl").open("a") as f:
                f.write(json.dumps(metrics) + "\n")
            written.append(metrics)
            self.log(self._line(metrics))
            for warning in metrics["warnings"]:
                digest.warn(f"step {step}: {warning}")
            self.step = step + 1
            if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                save_checkpoint(self.run_dir, self.step, self.model, self.tokenizer, self.optimizer, self.scheduler,
                                sampling=self.policy.params)
        return written

    @staticmethod
    def _line(m: dict[str, Any]) -> str:
        text = (f"step {m['step']:4d}  reward {m['reward_mean']:.3f}  outcome {m['outcome_mean']:.3f}  "
                f"loss {m.get('loss', 0):.4f}  entropy {m.get('entropy', 0):.3f}  len {m['response_length']:.1f}  "
                f"{m['tokens_per_s']:.0f} tok/s")
        if "eval_outcome" in m:
            text += f"  eval {m['eval_outcome']:.3f}"
        return text

    def _truncate_metrics(self, step: int) -> None:
        """Drop metrics of steps after the checkpoint: they are about to be replayed."""
        path = self.run_dir / "metrics.jsonl"
        if not path.exists():
            return
        kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] < step]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        tmp.replace(path)


def stable_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics that must be identical between a resumed and an uninterrupted run."""
    return {k: v for k, v in metrics.items() if not k.startswith(_VOLATILE)}
