"""Rollouts: play agents on environments, many at once, resumably."""

from envarena.rollout.engine import (
    RolloutConfig,
    RolloutResult,
    episode_id,
    episodes_in,
    run_rollout,
    run_rollout_sync,
)
from envarena.rollout.store import EpisodeStore, read_episodes
from envarena.rollout.summary import EnvSummary, SummaryAccumulator, pass_at_k, summarize, summary_table

__all__ = [
    "EnvSummary",
    "EpisodeStore",
    "RolloutConfig",
    "RolloutResult",
    "SummaryAccumulator",
    "episode_id",
    "episodes_in",
    "pass_at_k",
    "read_episodes",
    "run_rollout",
    "run_rollout_sync",
    "summarize",
    "summary_table",
]
