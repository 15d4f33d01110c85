"""envarena: agentic environments with verifiable rewards, rollouts, RL training and export."""

from envarena.env import Env, Solver, StepResult
from envarena.errors import EnvArenaError, InvalidOptionError, UnavailableEnvironmentError, UnknownEnvironmentError
from envarena.multiagent import MoveResult, MultiAgentEnv, VersusOpponent
from envarena.registration import EnvSpec, make, register, registry, spec, unregister
from envarena.rewards import Potential
from envarena.spaces import ChatActionSpace, ChatObservationSpace, Observation
from envarena.task_env import Difficulty, TaskEnv, extract_answer
from envarena.types import Agent, Episode, Message, Score, TokenTrace, Tool, ToolCall, Turn, tool
from envarena.version import __version__

# Heavier entry points, imported on first use so `import envarena` stays light.
_LAZY = {
    "RolloutConfig": "envarena.rollout",
    "run_rollout": "envarena.rollout",
    "run_rollout_sync": "envarena.rollout",
    "load_policy": "envarena.agents",
    "Sandbox": "envarena.sandbox",
    "Limits": "envarena.sandbox",
    "ExecResult": "envarena.sandbox",
    "TrainConfig": "envarena.train",
    "Trainer": "envarena.train",
    "load_config": "envarena.train",
    "RemoteEnv": "envarena.integrations.openenv",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'envarena' has no attribute '{name}'")

__all__ = [
    "Agent",
    "ExecResult",
    "Limits",
    "RemoteEnv",
    "RolloutConfig",
    "Sandbox",
    "TrainConfig",
    "Trainer",
    "load_config",
    "load_policy",
    "run_rollout",
    "run_rollout_sync",
    "ChatActionSpace",
    "ChatObservationSpace",
    "Difficulty",
    "Env",
    "EnvArenaError",
    "EnvSpec",
    "Episode",
    "InvalidOptionError",
    "Message",
    "MoveResult",
    "MultiAgentEnv",
    "Observation",
    "Potential",
    "Score",
    "Solver",
    "StepResult",
    "TaskEnv",
    "TokenTrace",
    "Tool",
    "ToolCall",
    "Turn",
    "UnavailableEnvironmentError",
    "UnknownEnvironmentError",
    "VersusOpponent",
    "__version__",
    "extract_answer",
    "make",
    "register",
    "registry",
    "spec",
    "tool",
    "unregister",
]
