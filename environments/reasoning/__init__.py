"""Reasoning tasks from optional libraries: reasoning-gym's datasets when it is installed.

`pip install 'envarena[reasoning-gym]'` adds one `reasoning/<name>-v0` environment per
reasoning-gym dataset; without it this category is empty and nothing else changes.
"""

import warnings
from importlib.util import find_spec

if find_spec("reasoning_gym") is not None:
    try:
        from envarena.environments.reasoning import gym_tasks  # noqa: F401  (registers on import)
    except ImportError as err:  # a broken install hides only these environments
        warnings.warn(f"reasoning-gym is installed but cannot be imported ({err}); reasoning/* are unavailable",
                      stacklevel=2)
