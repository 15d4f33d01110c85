"""The environment IDs the registry-wide tests run on.

Every catalog and plugin environment is in, except that reasoning-gym's hundred-odd
`reasoning/*` environments (when the extra is installed) are sampled: a fixed handful, so a
CI run never depends on the day it runs; every one of them is also built and solved once per
run in tests/environments/test_reasoning_gym.py. `ENVARENA_REASONING_SAMPLE` sets the
handful's size ("all" for every one) and `ENVARENA_SAMPLE_SEED` picks another handful.
"""

from __future__ import annotations

import os
import random

import envarena

REASONING_PREFIX = "reasoning/"


def registry_ids() -> list[str]:
    ids = list(envarena.registry)
    reasoning = [i for i in ids if i.startswith(REASONING_PREFIX)]
    wanted = os.environ.get("ENVARENA_REASONING_SAMPLE", "6")
    if wanted != "all" and int(wanted) < len(reasoning):
        seed = int(os.environ.get("ENVARENA_SAMPLE_SEED", "0"))
        keep = set(random.Random(seed).sample(reasoning, int(wanted)))
        ids = [i for i in ids if not i.startswith(REASONING_PREFIX) or i in keep]
    return ids


def without_reference(env_id: str) -> str | None:
    """Why `env_id` has no reference solver, or None; only reasoning-gym tasks that store no answer lack one."""
    if not env_id.startswith(REASONING_PREFIX):
        return None
    from envarena.environments.reasoning.gym_tasks import NO_REFERENCE

    return NO_REFERENCE.get(envarena.registry.env_class(env_id).dataset)
