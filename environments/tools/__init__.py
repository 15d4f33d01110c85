"""Tool-use environments: the agent must call tools to succeed."""

from envarena.environments.tools import calculator, retrieval, sql

__all__ = ["calculator", "retrieval", "sql"]
