"""Advantages, masks and the loss, checked against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from envarena import Episode, Message, TokenTrace, ToolCall, Turn
from envarena.train import discounted_returns, episode_advantages, episode_sequences, policy_loss, turn_advantages


def test_episode_advantages_by_hand():
    rewards = [1.0, 0.0, 0.0, 1.0]  # mean 0.5, population std 0.5
    assert episode_advantages(rewards, "grpo") == pytest.approx([1.0, -1.0, -1.0, 1.0], abs=1e-5)
    assert episode_advantages(rewards, "dr_grpo") == pytest.approx([0.5, -0.5, -0.5, 0.5])
    # RLOO: r_i minus the mean of the other three: 1 - 1/3, 0 - 2/3, ...
    assert episode_advantages(rewards, "rloo") == pytest.approx([2 / 3, -2 / 3, -2 / 3, 2 / 3])
    assert episode_advantages([0.3, 0.3, 0.3], "grpo") == pytest.approx([0.0, 0.0, 0.0])


def test_turn_advantages_by_hand():
    assert discounted_returns([0.1, 0.0, 1.0], 0.5) == pytest.approx([0.1 + 0.5 * 0 + 0.25 * 1.0, 0.5, 1.0])
    # group of two episodes: returns (gamma=1) [1.0, 1.0] and [0.0]; mean 2/3, std sqrt(2)/3
    adv = turn_advantages([[0.0, 1.0], [0.0]], 1.0, "grpo")
    std = math.sqrt(2) / 3
    assert adv[0] == pytest.approx([(1 - 2 / 3) / std] * 2, abs=1e-5)
    assert adv[1] == pytest.approx([(0 - 2 / 3) / std], abs=1e-5)
    assert turn_advantages([[0.0, 1.0], [0.0]], 1.0, "dr_grpo") == [pytest.approx([1 / 3, 1 / 3]), pytest.approx([-2 / 3])]


def _tool_episode() -> Episode:
    """Two turns: a tool call (ids 10,11), the tool answer rendered by the template (20,21,22),
    then the final answer (12,13). Token ids are written out by hand."""
    system_prompt = [1, 2, 3]
    call = ToolCall(id="c", name="calculate", arguments={"expression": "2+2"})
    first = Turn(
        observation=[Message.user("2+2?")],
        action=Message.assistant(tool_calls=[call]),
        reward=0.5,
        trace=TokenTrace(prompt_ids=system_prompt, completion_ids=[10, 11], logprobs=[-0.1, -0.2]),
    )
    second = Turn(
        observation=[Message.tool_result(call, "4")],
        action=Message.assistant("<answer>4</answer>"),
        reward=1.5,
        trace=TokenTrace(prompt_ids=system_prompt + [10, 11] + [20, 21, 22], completion_ids=[12, 13], logprobs=[-0.3, -0.4]),
    )
    return Episode(id="e", env_id="tools/calculator-v0", seed=0, agent="hf:x", turns=[first, second])


def test_loss_mask_is_one_exactly_on_sampled_tokens():
    (row,) = episode_sequences(_tool_episode(), [0.7, -0.2])
    assert row.input_ids == [1, 2, 3, 10, 11, 20, 21, 22, 12, 13]
    assert row.loss_mask == [0, 0, 0, 1, 1, 0, 0, 0, 1, 1]  # template and tool tokens are 0
    assert row.advantages == [0, 0, 0, 0.7, 0.7, 0, 0, 0, -0.2, -0.2]
    assert row.old_logprobs == [0, 0, 0, -0.1, -0.2, 0, 0, 0, -0.3, -0.4]


def test_a_trace_that_is_not_nested_becomes_one_row_per_turn():
    episode = _tool_episode()
    episode.turns[1].trace.prompt_ids = [9, 9, 10, 11, 20]  # re-rendered prompt: not an extension
    rows = episode_sequences(episode, [1.0, 2.0])
    assert [r.loss_mask for r in rows] == [[0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1, 1]]
    assert rows[1].advantages[-2:] == [2.0, 2.0]


def test_combined_advantage_per_turn_by_hand():
    """A = A_episode + w * A_turn, for one group of two episodes."""
    from envarena.train.advantages import episode_advantages as ep, turn_advantages as tu

    group_rewards = [[0.5, 1.5], [0.0]]  # episode 1 has two turns, episode 2 one
    outcomes = [1.0, 0.0]
    a_ep = ep(outcomes, "dr_grpo")  # [0.5, -0.5]
    a_turn = tu(group_rewards, 1.0, "dr_grpo")  # returns [2.0, 1.5] and [0.0]; mean 7/6
    w = 0.5
    combined = [[a_ep[i] + w * a for a in a_turn[i]] for i in range(2)]
    assert combined[0] == pytest.approx([0.5 + 0.5 * (2.0 - 7 / 6), 0.5 + 0.5 * (1.5 - 7 / 6)])
    assert combined[1] == pytest.approx([-0.5 + 0.5 * (0.0 - 7 / 6)])


def test_clipped_objective_kl_and_aggregation_by_hand():
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.0]]))  # ratios 1.5, 0.5, 1.0 against old = 0
    old = torch.zeros(1, 3)
    adv = torch.tensor([[1.0, -1.0, 2.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    parts = policy_loss(logp, old, adv, mask, clip_low=0.2, clip_high=0.28)
    # token 1: min(1.5*1, 1.28*1) = 1.28; token 2: min(0.5*-1, 0.8*-1) = -0.8; token 3 masked
    assert float(parts.loss) == pytest.approx(-(1.28 - 0.8) / 2)
    assert parts.clip_fraction == pytest.approx(1.0)  # both sampled tokens were clipped
    ref = torch.zeros(1, 3)
    with_kl = policy_loss(logp, old, adv, mask, clip_low=0.2, clip_high=0.28, ref_logprobs=ref, kl_coef=0.1)
    k3 = [math.exp(-math.log(1.5)) + math.log(1.5) - 1, math.exp(-math.log(0.5)) + math.log(0.5) - 1]
    assert with_kl.kl == pytest.approx(sum(k3) / 2, rel=1e-5)
    assert float(with_kl.loss) == pytest.approx(-(1.28 - 0.8) / 2 + 0.1 * sum(k3) / 2, rel=1e-5)
    # seq_mean weighs sequences equally: one long and one short sequence
    logp2 = torch.zeros(2, 3)
    adv2 = torch.tensor([[1.0, 1.0, 1.0], [4.0, 0.0, 0.0]])
    mask2 = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    token = policy_loss(logp2, logp2, adv2, mask2, clip_low=0.2, clip_high=0.2, aggregation="token_mean")
    seq = policy_loss(logp2, logp2, adv2, mask2, clip_low=0.2, clip_high=0.2, aggregation="seq_mean")
    assert float(token.loss) == pytest.approx(-(3 + 4) / 4)
    assert float(seq.loss) == pytest.approx(-(1 + 4) / 2)
