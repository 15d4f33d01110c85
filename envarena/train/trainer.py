"""The multi-turn RL loop: roll out groups, compute advantages, take clipped policy steps.

Each step plays `tasks_per_step` tasks `group_size` times with the current policy (the hf
backend sharing the trainer's model, so no weight copy is needed), turns the episodes'
token traces into masked sequences, and optimises the clipped objective. Everything a run
produces lives in its run directory: metrics.jsonl, the rollouts of every step, atomic
checkpoints, and (with `envarena plot`) PNG curves.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from envarena.agents.hf import HFEngine, HFPolicy
from envarena.registration import registry
from envarena.rollout import RolloutConfig, run_rollout
from envarena.train.advantages import episode_advantages, turn_advantages
from envarena.train.batch import TrainingRow, episode_sequences
from envarena.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from envarena.train.config import TinyModel, TrainConfig
from envarena.train.loss import policy_loss
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
        self.reference = self._reference_model()
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
        warmup = config.warmup_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0
        )
        engine = HFEngine(config.model, loaded=(self.model, self.tokenizer), max_batch_size=max(64, config.concurrency))
        self.policy = HFPolicy(config.model, temperature=config.temperature, top_p=config.top_p,
                               max_new_tokens=config.max_new_tokens, engine=engine)
        self.step = 0
        checkpoint = latest_checkpoint(self.run_dir)
        if checkpoint is not None:
            self.step = load_checkpoint(checkpoint, self.model, self.optimizer, self.scheduler)
            self._truncate_metrics(self.step)
            self.log(f"resumed from {checkpoint.name} at step {self.step}")
        (self.run_dir / "config.json").write_text(config.model_dump_json(indent=1))

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

    def _reference_model(self) -> Any:
        """Frozen copy for the KL term; with LoRA, the base model with adapters disabled."""
        if self.config.kl_coef == 0 or self.config.lora is not None:
            return None
        reference = copy.deepcopy(self.model).eval()
        for p in reference.parameters():
            p.requires_grad_(False)
        return reference

    # ------------------------------------------------------------------ rollouts
    def _rollout(self, first_seed: int, tasks: int, samples: int, out: Path) -> list[Episode]:
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
            self.policy.engine.lockstep = True
            self.policy.engine.expect(tasks * samples)
        episodes = asyncio.run(run_rollout(config, policy=self.policy)).episodes
        return sorted(episodes, key=lambda e: (e.seed, e.sample))

    def _collect(self, step: int) -> tuple[dict[int, list[Episode]], int, float]:
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
            for episode in self._rollout(first, todo, config.group_size, out):
                fresh[episode.seed].append(episode)
            flat = [s for s, group in fresh.items() if len({self._episode_reward(e) for e in group}) == 1]
            if round_ == 0:
                zero_signal = len(flat)
            keep_flat = not config.dynamic_sampling or round_ == rounds - 1
            groups.update({s: g for s, g in fresh.items() if keep_flat or s not in flat})
            if keep_flat or not flat:
                break
            # Dynamic sampling: groups that all scored the same carry no signal; play fresh tasks instead.
            first, todo = first + 10_000_019 * (round_ + 1), len(flat)
        return groups, zero_signal, time.perf_counter() - start

    def _episode_reward(self, episode: Episode) -> float:
        return episode.outcome if self.config.episode_reward == "outcome" else episode.total_reward

    # ------------------------------------------------------------------ optimisation
    def _sequences(self, groups: dict[int, list[Episode]]) -> list[TrainingRow]:
        config = self.config
        rows: list[TrainingRow] = []
        for episodes in groups.values():
            ep_adv = episode_advantages([self._episode_reward(e) for e in episodes], config.advantage)
            turn_adv = turn_advantages([[t.reward for t in e.turns] for e in episodes], config.gamma, config.advantage)
            for i, episode in enumerate(episodes):
                values = [ep_adv[i] + config.turn_weight * a for a in turn_adv[i]]
                rows += episode_sequences(episode, values, index=len(rows))
        return rows

    def _token_logprobs(self, model: Any, ids: Any, attention: Any, keep: int, with_entropy: bool) -> tuple[Any, Any]:
        """log p of each next token over the last `keep` positions, without a [batch, time,
        vocab] log-softmax: gather minus logsumexp. Entropy carries gradients only when it is
        part of the loss; otherwise it is a metric, computed in chunks without autograd."""
        import torch

        logits = model(input_ids=ids, attention_mask=attention, logits_to_keep=keep + 1).logits[:, :-1]
        if self.config.temperature != 1.0:
            logits = logits / self.config.temperature
        targets = ids[:, -keep:]
        logp = logits.gather(2, targets[..., None]).squeeze(2).float() - torch.logsumexp(logits.float(), dim=-1)
        if with_entropy:
            probs = torch.softmax(logits.float(), dim=-1)
            entropy = torch.logsumexp(logits.float(), dim=-1) - (probs * logits.float()).sum(-1)
        else:
            with torch.no_grad():
                entropy = torch.cat(
                    [
                        torch.logsumexp(chunk.float(), -1) - (torch.softmax(chunk.float(), -1) * chunk.float()).sum(-1)
                        for chunk in logits.detach().split(8, dim=0)
                    ]
                )
        return logp, entropy

    def _optimise(self, rows: list[TrainingRow]) -> dict[str, float]:
        import torch

        config = self.config
        self.model.train()
        totals = {"loss": 0.0, "clip_fraction": 0.0, "kl": 0.0, "entropy": 0.0, "ratio": 0.0, "grad_norm": 0.0}
        batch_tokens = sum(sum(r.loss_mask) for r in rows) or 1
        parts_seen = 0
        order = list(range(len(rows)))
        for _ in range(config.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for start in range(0, len(order), config.micro_batch_size):
                chunk = [rows[i] for i in order[start : start + config.micro_batch_size]]
                width = max(len(r.input_ids) for r in chunk)
                pad = self.tokenizer.pad_token_id or 0

                def padded(values: list[list[Any]], fill: Any, dtype: Any) -> Any:
                    return torch.tensor([v + [fill] * (width - len(v)) for v in values], dtype=dtype, device=self.device)

                ids = padded([r.input_ids for r in chunk], pad, torch.long)
                attention = padded([[1] * len(r.input_ids) for r in chunk], 0, torch.long)
                # Only positions from the first sampled token on need logits.
                first = min(r.loss_mask.index(1) for r in chunk if 1 in r.loss_mask) if any(1 in r.loss_mask for r in chunk) else 1
                keep = width - max(first, 1)
                mask = padded([r.loss_mask for r in chunk], 0, torch.float)[:, -keep:]
                advantages = padded([r.advantages for r in chunk], 0.0, torch.float)[:, -keep:]
                old = padded([r.old_logprobs for r in chunk], 0.0, torch.float)[:, -keep:]
                logp, entropy = self._token_logprobs(self.model, ids, attention, keep, config.entropy_coef > 0)
                reference = None
                if config.kl_coef > 0:
                    with torch.no_grad():
                        if config.lora is not None:
                            with self.model.disable_adapter():
                                reference, _ = self._token_logprobs(self.model, ids, attention, keep, False)
                        else:
                            reference, _ = self._token_logprobs(self.reference, ids, attention, keep, False)
                parts = policy_loss(
                    logp, old, advantages, mask, clip_low=config.clip_low, clip_high=config.clip_high,
                    ref_logprobs=reference, kl_coef=config.kl_coef, entropy=entropy, entropy_coef=config.entropy_coef,
                    aggregation=config.loss_agg,
                )
                share = float(mask.sum()) / batch_tokens if config.loss_agg == "token_mean" else len(chunk) / len(rows)
                (parts.loss * share).backward()
                totals["loss"] += float(parts.loss.detach()) * share
                for key, value in (("clip_fraction", parts.clip_fraction), ("kl", parts.kl), ("entropy", parts.entropy),
                                   ("ratio", parts.ratio_mean)):
                    totals[key] += value * float(mask.sum()) / batch_tokens
            trainable = [p for p in self.model.parameters() if p.requires_grad]
            totals["grad_norm"] += float(torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm))
            self.optimizer.step()
            self.scheduler.step()
            parts_seen += 1
        self.model.eval()
        return {key: value / parts_seen for key, value in totals.items()}

    # ------------------------------------------------------------------ the loop
    def train_step(self, step: int) -> dict[str, Any]:
        groups, zero_signal, rollout_s = self._collect(step)
        episodes = [e for group in groups.values() for e in group]
        train_start = time.perf_counter()
        rows = self._sequences(groups)
        optimised = self._optimise(rows) if rows else {}
        train_s = time.perf_counter() - train_start
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
        config = self.config
        episodes = self._rollout(config.eval_seed, config.eval_tasks, 1, self.run_dir / "rollouts" / f"eval-{step:06d}.jsonl")
        return {
            "eval_outcome": float(np.mean([e.outcome for e in episodes])),
            "eval_success": float(np.mean([e.success for e in episodes])),
            "eval_reward": float(np.mean([e.total_reward for e in episodes])),
        }

    def run(self) -> list[dict[str, Any]]:
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
                self.log(f"warning: step {step}: {warning}")
            self.step = step + 1
            if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                save_checkpoint(self.run_dir, self.step, self.model, self.tokenizer, self.optimizer, self.scheduler)
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
