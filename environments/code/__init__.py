"""Code environments, verified by running tests in the sandbox."""

from envarena.environments.code import humaneval, python_tool

__all__ = ["humaneval", "python_tool"]
