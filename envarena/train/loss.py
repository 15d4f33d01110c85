"""The clipped policy-gradient objective, per token, with KL, entropy and aggregation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["LossParts", "policy_loss"]


@dataclass
class LossParts:
    loss: Any
    clip_fraction: float
    kl: float
    entropy: float
    ratio_mean: float


def policy_loss(
    logprobs: Any,
    old_logprobs: Any,
    advantages: Any,
    mask: Any,
    *,
    clip_low: float,
    clip_high: float,
    ref_logprobs: Any = None,
    kl_coef: float = 0.0,
    entropy: Any = None,
    entropy_coef: float = 0.0,
    aggregation: str = "token_mean",
    weights: Any = None,
) -> LossParts:
    """PPO-style clipped surrogate with separate low/high clip ("clip-higher").

    All tensors are [batch, time]; `mask` is 1 on sampled tokens. KL to the reference uses
    the k3 estimator exp(r - l) - (r - l) - 1, which is unbiased and never negative.
    `weights` (detached, [batch, time]) scale each token's policy-gradient term: the
    truncated importance weights that correct for sampling with a different engine.
    """
    import torch

    mask = mask.float()
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * advantages
    per_token = -torch.minimum(unclipped, clipped)
    if weights is not None:
        per_token = per_token * weights.detach()
    kl = torch.zeros_like(per_token)
    if ref_logprobs is not None and kl_coef > 0:
        delta = ref_logprobs - logprobs
        kl = torch.exp(delta) - delta - 1.0
        per_token = per_token + kl_coef * kl
    if entropy is not None and entropy_coef > 0:
        per_token = per_token - entropy_coef * entropy
    if aggregation == "token_mean":
        loss = (per_token * mask).sum() / mask.sum().clamp(min=1.0)
    elif aggregation == "seq_mean":
        per_sequence = (per_token * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        loss = per_sequence[mask.sum(dim=1) > 0].mean() if (mask.sum(dim=1) > 0).any() else per_sequence.sum() * 0
    else:
        raise ValueError(f"unknown loss aggregation '{aggregation}'")
    total = mask.sum().clamp(min=1.0)
    ratio, kl = ratio.detach(), kl.detach()
    entropy = entropy.detach() if entropy is not None else torch.zeros_like(mask)
    was_clipped = ((ratio < 1.0 - clip_low) & (advantages < 0)) | ((ratio > 1.0 + clip_high) & (advantages > 0))
    return LossParts(
        loss=loss,
        clip_fraction=float((was_clipped.float() * mask).sum() / total),
        kl=float((kl * mask).sum() / total),
        entropy=float((entropy * mask).sum() / total),
        ratio_mean=float((ratio * mask).sum() / total),
    )
