"""envarena environments in the OpenEnv protocol (openenv-core).

- `envarena env-serve ID` / `serve` / `build_app`: a server for any registered environment,
  built on openenv-core's `HTTPEnvServer` and `Environment` (`EnvArenaEnvironment`).
- `EnvArenaAction`, `EnvArenaObservation`, `EnvArenaState`: the typed wire models.
- `EnvArenaClient`: OpenEnv's `EnvClient` for them.
- `RemoteEnv` (also `envarena.RemoteEnv`, and `envarena.make("remote:URL")`): a served
  environment as an `envarena.Env`.

Names resolve on first use, so importing this package does not import openenv-core (slow to
import, and optional: `pip install 'envarena[openenv]'`).
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "RemoteEnv": "remote",
    "make_remote": "remote",
    "remote_spec": "remote",
    "EnvArenaClient": "client",
    "EnvArenaAction": "models",
    "EnvArenaObservation": "models",
    "EnvArenaState": "models",
    "EnvArenaEnvironment": "server",
    "build_app": "server",
    "serve": "server",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
