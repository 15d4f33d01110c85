"""Training-inference mismatch: recomputed old log-probs, truncated importance weights."""

from __future__ import annotations

import math

import pytest
import torch

from envarena.train import TrainConfig, policy_loss
from envarena.train.batch import TrainingRow
from envarena.train.tiny import build_tiny
from envarena.train.update import PolicyUpdater


def _updater(**overrides) -> PolicyUpdater:
    model, tokenizer = build_tiny(2, 32, 2, 0)
    config = TrainConfig(model="tiny", micro_batch_size=4, **overrides)
    return PolicyUpdater(config, model, tokenizer, "cpu")


def test_recomputed_old_logprobs_are_the_models_own_on_rows_of_any_length():
    updater = _updater()
    generator = torch.Generator().manual_seed(0)
    rows = []
    for length, first_sampled in ((9, 5), (14, 3), (6, 2), (11, 8), (7, 6)):  # two micro-batches, ragged
        ids = torch.randint(3, 40, (length,), generator=generator).tolist()
        mask = [0] * first_sampled + [1] * (length - first_sampled)
        rows.append(TrainingRow(ids, mask, [1.0] * length, [0.0] * length))
    recomputed = updater.recompute_old_logprobs(rows)
    with torch.no_grad():
        for row, values in zip(rows, recomputed):
            assert len(values) == len(row.input_ids)
            logits = updater.model(input_ids=torch.tensor([row.input_ids])).logits[0].float()
            by_hand = torch.log_softmax(logits, dim=-1)
            for position, sampled in enumerate(row.loss_mask):
                if sampled:  # the log-prob of token at `position`, predicted from the one before it
                    expected = float(by_hand[position - 1, row.input_ids[position]])
                    assert values[position] == pytest.approx(expected, abs=1e-4)


def test_truncated_importance_weights_and_the_measured_mismatch_by_hand():
    updater = _updater(tis_cap=2.0)
    old = torch.tensor([[-1.0, -2.0, -0.5, 0.0]])
    behaviour = torch.tensor([[-1.0, -3.0, -0.2, -9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # the last token is not sampled: it counts nowhere
    weights, measured = updater._importance_weights(old, behaviour, mask)
    # exp(0) = 1, exp(1) = 2.718 -> truncated to 2, exp(-0.3) = 0.741
    assert weights[0, :3].tolist() == pytest.approx([1.0, 2.0, math.exp(-0.3)])
    assert measured["mismatch_abs_logprob"] == pytest.approx((0 + 1 + 0.3) / 3)
    k3 = [math.exp(d) - d - 1 for d in (0.0, 1.0, -0.3)]
    assert measured["mismatch_kl"] == pytest.approx(sum(k3) / 3)
    assert measured["tis_truncated_fraction"] == pytest.approx(1 / 3)
    off = _updater(tis_cap=None)._importance_weights(old, behaviour, mask)[0]
    assert off is None


def test_importance_weights_scale_each_tokens_policy_gradient_term():
    logprobs = torch.tensor([[-1.0, -1.0]], requires_grad=True)
    old = torch.tensor([[-1.0, -1.0]])
    advantages = torch.tensor([[1.0, 1.0]])
    mask = torch.ones(1, 2)
    weights = torch.tensor([[2.0, 0.5]])
    loss = policy_loss(logprobs, old, advantages, mask, clip_low=0.2, clip_high=0.2, weights=weights).loss
    loss.backward()
    # ratio 1, unclipped: d(-w * ratio * A)/d logp = -w * A, averaged over 2 tokens
    assert logprobs.grad[0].tolist() == pytest.approx([-1.0, -0.25])
