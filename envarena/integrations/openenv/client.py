"""The typed OpenEnv client for an environment served by `envarena env-serve`.

An `openenv.core.EnvClient` (async, one WebSocket session per client; `.sync()` gives the
blocking wrapper) that speaks `EnvArenaAction` / `EnvArenaObservation` / `EnvArenaState`, for
code written against OpenEnv's client API. `RemoteEnv` builds on it to be an `envarena.Env`.
"""

from __future__ import annotations

from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient

from envarena.integrations.openenv.models import EnvArenaAction, EnvArenaObservation, EnvArenaState

__all__ = ["EnvArenaClient"]


class EnvArenaClient(EnvClient[EnvArenaAction, EnvArenaObservation, EnvArenaState]):
    """`EnvArenaClient(base_url="http://127.0.0.1:8000")`: reset(seed=, options=), step(action), state()."""

    async def _send_and_receive(self, message: dict[str, Any]) -> dict[str, Any]:
        """As OpenEnv's, except that a server refusing the session is heard out: it sends its
        reason (full, or the environment failed to build) and closes before any request, so
        the request itself meets a closed socket; the reason is still queued to be read."""
        from websockets.exceptions import ConnectionClosed

        try:
            return await super()._send_and_receive(message)
        except ConnectionClosed:
            last = await self._receive()  # a plain close raises ConnectionClosed again
            if last.get("type") == "error":
                data = last.get("data", {})
                raise RuntimeError(f"Server error: {data.get('message', 'unknown error')} (code: {data.get('code')})") from None
            raise

    def _step_payload(self, action: EnvArenaAction) -> dict[str, Any]:
        return action.model_dump(mode="json")

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[EnvArenaObservation]:
        observation = EnvArenaObservation.model_validate(
            {**payload.get("observation", {}), "reward": payload.get("reward"), "done": payload.get("done", False)}
        )
        return StepResult(observation=observation, reward=observation.reward, done=observation.done)

    def _parse_state(self, payload: dict[str, Any]) -> EnvArenaState:
        return EnvArenaState.model_validate(payload)
