"""Built-in multi-turn RL: GRPO / Dr. GRPO / RLOO with a clipped token objective."""

from envarena.train.advantages import discounted_returns, episode_advantages, turn_advantages
from envarena.train.batch import episode_sequences
from envarena.train.config import TrainConfig, load_config
from envarena.train.loss import policy_loss
from envarena.train.plot import plot_run
from envarena.train.trainer import Trainer, collapse_warnings, stable_metrics

__all__ = [
    "TrainConfig",
    "Trainer",
    "collapse_warnings",
    "discounted_returns",
    "episode_advantages",
    "episode_sequences",
    "load_config",
    "plot_run",
    "policy_loss",
    "stable_metrics",
    "turn_advantages",
]
