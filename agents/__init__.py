"""Agent backends, named by spec strings: `scripted`, `random`, `human` (and model backends).

`load_policy(spec)` turns a spec into a `Policy`; the CLI and the rollout engine call it,
environments never do.
"""

from __future__ import annotations

from typing import Any

from envarena.agents.base import Policy
from envarena.errors import InvalidOptionError

__all__ = ["Policy", "load_policy"]

_SPECS = "scripted, random, human"


def load_policy(spec: str, **options: Any) -> Policy:
    """Resolve an agent spec string into a ready policy, or explain what is accepted."""
    kind, _, rest = spec.partition(":")
    if kind == "scripted" and not rest:
        from envarena.agents.scripted import ScriptedPolicy

        return ScriptedPolicy()
    if kind == "random" and not rest:
        from envarena.agents.random_agent import RandomPolicy

        return RandomPolicy()
    if kind == "human" and not rest:
        from envarena.agents.human import HumanPolicy

        return HumanPolicy(**options)
    raise InvalidOptionError(f"unknown agent spec '{spec}'; use one of: {_SPECS}")
