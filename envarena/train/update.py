"""Computing the update: advantages, recomputed old log-probs, the clipped objective.

Generation and training compute log-probs with different kernels (vLLM's sampler, a
batched `generate`, bf16 against fp32), so the log-probs a trace carries are the
*behaviour* policy's, not exactly the trainer's. The update therefore recomputes the old
log-probs with the trainer's own forward pass before any step, uses those in the PPO ratio,
and weights each token by the truncated importance ratio min(pi_old / pi_behaviour, cap)
(TIS) so tokens the engine sampled more eagerly than the trainer would have are not
over-counted. The measured mismatch is reported as metrics.
"""

from __future__ import annotations

import copy
from typing import Any

from envarena.train.advantages import episode_advantages, turn_advantages
from envarena.train.batch import TrainingRow, episode_sequences
from envarena.train.config import TrainConfig
from envarena.train.loss import policy_loss
from envarena.types import Episode

__all__ = ["PolicyUpdater"]

_MISMATCH_KEYS = ("mismatch_abs_logprob", "mismatch_kl", "tis_weight_mean", "tis_truncated_fraction")


class PolicyUpdater:
    """Owns the optimiser side of training: model, reference, optimiser, scheduler."""

    def __init__(self, config: TrainConfig, model: Any, tokenizer: Any, device: str) -> None:
        import torch

        self.config, self.model, self.tokenizer, self.device = config, model, tokenizer, device
        self.reference = self._reference_model()
        trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
        warmup = config.warmup_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0
        )

    def _reference_model(self) -> Any:
        """Frozen copy for the KL term; with LoRA, the base model with adapters disabled."""
        if self.config.kl_coef == 0 or self.config.lora is not None:
            return None
        reference = copy.deepcopy(self.model).eval()
        for p in reference.parameters():
            p.requires_grad_(False)
        return reference

    # ------------------------------------------------------------------ rows
    def sequences(self, groups: dict[int, list[Episode]], episode_reward: Any) -> list[TrainingRow]:
        config = self.config
        rows: list[TrainingRow] = []
        for episodes in groups.values():
            ep_adv = episode_advantages([episode_reward(e) for e in episodes], config.advantage)
            turn_adv = turn_advantages([[t.reward for t in e.turns] for e in episodes], config.gamma, config.advantage)
            for i, episode in enumerate(episodes):
                values = [ep_adv[i] + config.turn_weight * a for a in turn_adv[i]]
                rows += episode_sequences(episode, values, index=len(rows))
        return rows

    # ------------------------------------------------------------------ log-probs
    def token_logprobs(self, model: Any, ids: Any, attention: Any, keep: int, with_entropy: bool) -> tuple[Any, Any]:
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

    def _chunks(self, rows: list[TrainingRow]) -> Any:
        """Micro-batches as padded tensors: ids, attention, and the kept tail of each row."""
        import torch

        size = self.config.micro_batch_size
        pad = self.tokenizer.pad_token_id or 0
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            width = max(len(r.input_ids) for r in chunk)

            def padded(values: list[list[Any]], fill: Any, dtype: Any, width: int = width) -> Any:
                return torch.tensor([v + [fill] * (width - len(v)) for v in values], dtype=dtype, device=self.device)

            ids = padded([r.input_ids for r in chunk], pad, torch.long)
            attention = padded([[1] * len(r.input_ids) for r in chunk], 0, torch.long)
            # Only positions from the first sampled token on need logits.
            sampled = [r.loss_mask.index(1) for r in chunk if 1 in r.loss_mask]
            keep = width - max(min(sampled) if sampled else 1, 1)
            yield start, chunk, ids, attention, keep, padded

    def recompute_old_logprobs(self, rows: list[TrainingRow]) -> list[list[float]]:
        """The trainer's own log-probs of every row's tokens, before this update."""
        import torch

        recomputed: list[list[float]] = []
        self.model.eval()
        with torch.no_grad():
            for _, chunk, ids, attention, keep, _ in self._chunks(rows):
                logp, _ = self.token_logprobs(self.model, ids, attention, keep, False)
                skipped = ids.shape[1] - keep  # positions before the kept tail
                for row, values in zip(chunk, logp.tolist()):
                    # aligned with the row: zeros before the kept tail, nothing past the row's end (padding)
                    length = len(row.input_ids)
                    recomputed.append(([0.0] * min(skipped, length) + values)[:length])
        return recomputed

    # ------------------------------------------------------------------ the update
    def optimise(self, rows: list[TrainingRow]) -> dict[str, float]:
        import torch

        config = self.config
        behaviour = [r.old_logprobs for r in rows]
        old = self.recompute_old_logprobs(rows)
        self.model.train()
        totals = {"loss": 0.0, "clip_fraction": 0.0, "kl": 0.0, "entropy": 0.0, "ratio": 0.0, "grad_norm": 0.0}
        totals.update(dict.fromkeys(_MISMATCH_KEYS, 0.0))
        batch_tokens = sum(sum(r.loss_mask) for r in rows) or 1
        parts_seen = 0
        for update in range(config.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for start, chunk, ids, attention, keep, padded in self._chunks(rows):
                mask = padded([r.loss_mask for r in chunk], 0, torch.float)[:, -keep:]
                advantages = padded([r.advantages for r in chunk], 0.0, torch.float)[:, -keep:]
                old_t = padded(old[start : start + len(chunk)], 0.0, torch.float)[:, -keep:]
                behaviour_t = padded(behaviour[start : start + len(chunk)], 0.0, torch.float)[:, -keep:]
                weights, mismatch = self._importance_weights(old_t, behaviour_t, mask)
                logp, entropy = self.token_logprobs(self.model, ids, attention, keep, config.entropy_coef > 0)
                reference = self._reference_logprobs(ids, attention, keep)
                parts = policy_loss(
                    logp, old_t, advantages, mask, clip_low=config.clip_low, clip_high=config.clip_high,
                    ref_logprobs=reference, kl_coef=config.kl_coef, entropy=entropy, entropy_coef=config.entropy_coef,
                    aggregation=config.loss_agg, weights=weights,
                )
                share = float(mask.sum()) / batch_tokens if config.loss_agg == "token_mean" else len(chunk) / len(rows)
                (parts.loss * share).backward()
                totals["loss"] += float(parts.loss.detach()) * share
                token_share = float(mask.sum()) / batch_tokens
                for key, value in (("clip_fraction", parts.clip_fraction), ("kl", parts.kl), ("entropy", parts.entropy),
                                   ("ratio", parts.ratio_mean)):
                    totals[key] += value * token_share
                if update == 0:  # the mismatch is a property of the batch, measured once
                    for key, value in mismatch.items():
                        totals[key] += value * token_share * config.updates_per_batch
            trainable = [p for p in self.model.parameters() if p.requires_grad]
            totals["grad_norm"] += float(torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm))
            self.optimizer.step()
            self.scheduler.step()
            parts_seen += 1
        self.model.eval()
        return {key: value / parts_seen for key, value in totals.items()}

    def _importance_weights(self, old: Any, behaviour: Any, mask: Any) -> tuple[Any, dict[str, float]]:
        """TIS weights min(exp(old - behaviour), cap) and what the mismatch measured."""
        import torch

        delta = (old - behaviour) * mask
        tokens = mask.sum().clamp(min=1.0)
        ratio = torch.exp(delta)
        cap = self.config.tis_cap
        weights = torch.clamp(ratio, max=cap) if cap is not None else None
        measured = {
            "mismatch_abs_logprob": float(delta.abs().sum() / tokens),
            # KL(behaviour || old) from the behaviour's own samples, k3 estimator (never negative)
            "mismatch_kl": float(((torch.exp(delta) - delta - 1.0) * mask).sum() / tokens),
            "tis_weight_mean": float(((weights if weights is not None else ratio) * mask).sum() / tokens),
            "tis_truncated_fraction": float(((ratio > cap).float() * mask).sum() / tokens) if cap is not None else 0.0,
        }
        return weights, measured

    def _reference_logprobs(self, ids: Any, attention: Any, keep: int) -> Any:
        import torch

        if self.config.kl_coef == 0:
            return None
        with torch.no_grad():
            if self.config.lora is not None:
                with self.model.disable_adapter():
                    reference, _ = self.token_logprobs(self.model, ids, attention, keep, False)
                return reference
            reference, _ = self.token_logprobs(self.reference, ids, attention, keep, False)
        return reference
