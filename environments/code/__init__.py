"""Code environments, verified by running tests in the sandbox."""

from envarena.environments.code import debugging, humaneval, python_tool, synthesis

__all__ = ["debugging", "humaneval", "python_tool", "synthesis"]
