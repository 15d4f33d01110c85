"""Tool-use environments: the agent must call tools to succeed."""

from envarena.environments.tools import calculator, customer_service, retrieval, sql

__all__ = ["calculator", "customer_service", "retrieval", "sql"]
