"""Errors a user can cause, kept apart so the CLI can print them as one sentence.

Anything raised as `EnvArenaError` is the user's to fix (an unknown ID, a bad option, a
missing file); the CLI prints its message and exits non-zero instead of a traceback.
Everything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class EnvArenaError(Exception):
    """A problem with what the user asked for, stated in one sentence."""


class UnknownEnvironmentError(EnvArenaError, KeyError):
    """The environment ID is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnavailableEnvironmentError(UnknownEnvironmentError):
    """The environment ID is registered but its module cannot be imported (a missing optional
    dependency, a broken plugin)."""


class InvalidOptionError(EnvArenaError, ValueError):
    """An environment or agent option that does not exist or has the wrong type."""
