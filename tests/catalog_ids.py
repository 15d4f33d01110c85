"""The environment IDs the registry-wide tests run on.

Every catalog and plugin environment is in, except that reasoning-gym's hundred-odd
`reasoning/*` environments (when the extra is installed) are sampled: a fixed handful, so a
CI run never depends on the day it runs; every one of them is also built and solved once per
run in tests/environments/test_reasoning_gym.py. `ENVARENA_REASONING_SAMPLE` sets the
handful's size ("all" for every one) and `ENVARENA_SAMPLE_SEED` picks another handful.
TextArena's `arena/*` games are sampled the same way (`ARENA_SAMPLE`, a fixed list).
"""

from __future__ import annotations

import os
import random

import envarena

REASONING_PREFIX = "reasoning/"
#: Left out of the registry-wide handful for CI time only: each reset takes ~0.5 s (arc-agi loads its
#: task files per item), which came to ~110 s across the registry-wide tests. It is still built, solved
#: and scored in tests/environments/test_reasoning_gym.py like every other dataset.
SLOW_REASONING = ("reasoning/arc-agi-v0",)
ARENA_PREFIX = "arena/"
#: TextArena's games (the `arena` extra) in the registry-wide tests: a fixed handful of games with
#: strict move rules, two-player and single-player; every one of them is built, checked and played
#: in tests/environments/test_textarena.py. `ENVARENA_ARENA_SAMPLE=all` runs them all here.
ARENA_SAMPLE = ("arena/tic-tac-toe-v0", "arena/connect-four-v0", "arena/2048-v0", "arena/mastermind-v0",
                "arena/sudoku-v0", "arena/lights-out-v0")


def registry_ids() -> list[str]:
    ids = list(envarena.registry)
    reasoning = [i for i in ids if i.startswith(REASONING_PREFIX) and i not in SLOW_REASONING]
    wanted = os.environ.get("ENVARENA_REASONING_SAMPLE", "6")
    if wanted != "all" and int(wanted) < len(reasoning):
        seed = int(os.environ.get("ENVARENA_SAMPLE_SEED", "0"))
        keep = set(random.Random(seed).sample(reasoning, int(wanted)))
        ids = [i for i in ids if not i.startswith(REASONING_PREFIX) or i in keep]
    if os.environ.get("ENVARENA_ARENA_SAMPLE") != "all":
        ids = [i for i in ids if not i.startswith(ARENA_PREFIX) or i in ARENA_SAMPLE]
    return ids


def without_reference(env_id: str) -> str | None:
    """Why `env_id` has no reference solver, or None; only reasoning-gym tasks that store no answer and
    TextArena's games (which ship no solver) lack one."""
    if env_id.startswith(ARENA_PREFIX):
        from envarena.environments.arena.textarena_games import NO_REFERENCE as ARENA_NO_REFERENCE

        return ARENA_NO_REFERENCE
    if not env_id.startswith(REASONING_PREFIX):
        return None
    from envarena.environments.reasoning.gym_tasks import NO_REFERENCE

    return NO_REFERENCE.get(envarena.registry.env_class(env_id).dataset)
