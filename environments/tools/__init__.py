"""Tool-use environments: the agent must call tools to succeed."""

from envarena.environments.tools import calculator

__all__ = ["calculator"]
