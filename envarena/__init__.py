"""envarena: agentic environments with verifiable rewards, rollouts, RL training and export."""

from envarena.env import Env, Solver, StepResult
from envarena.errors import EnvArenaError, InvalidOptionError, UnknownEnvironmentError
from envarena.multiagent import MoveResult, MultiAgentEnv, VersusOpponent
from envarena.registration import EnvSpec, make, register, registry, spec
from envarena.rewards import Potential
from envarena.spaces import ChatActionSpace, ChatObservationSpace, Observation
from envarena.task_env import Difficulty, TaskEnv, extract_answer
from envarena.types import Agent, Episode, Message, Score, TokenTrace, Tool, ToolCall, Turn, tool
from envarena.version import __version__

__all__ = [
    "Agent",
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
    "UnknownEnvironmentError",
    "VersusOpponent",
    "__version__",
    "extract_answer",
    "make",
    "register",
    "registry",
    "spec",
    "tool",
]
