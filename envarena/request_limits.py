"""Limits of one generation request to envarena's OpenAI-compatible server.

Generations run one batch at a time, so one huge request would hold every other client. They
live here, apart from the server, because the trainer checks its settings against them when it
serves its policy to Ray workers, and a config check must not import a web framework.
"""

from __future__ import annotations

__all__ = ["MAX_TEMPERATURE", "MAX_TOKENS"]

MAX_TEMPERATURE = 2.0
MAX_TOKENS = 8192
