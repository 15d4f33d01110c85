"""Training's rollout phase on Ray workers (`ray:` in the config, `envarena train --ray`).

The policy stays where the optimiser is: the trainer's own generation engine (the HF engine
sharing the model, or the colocated vLLM engine) is served over HTTP from a thread of the
trainer process, and a pool of Ray workers plays the episodes against it with the `openai:`
agent, token-in, token-out, rendering prompts with the trainer's tokenizer (shipped to them
as an object, so no node needs the model on disk). Environments, verifiers and sandboxes run
on the workers; the episodes, with their exact token traces and sampling log-probs, stream
back to the trainer, which writes them and computes the update as in a local run. Weight
sync is unchanged: the served engine is the trainer's, so it always generates with the
weights of the last step.

The workers start once and serve every rollout of the run (steps, resampling rounds,
evaluation). A worker that dies is replaced and its unfinished episodes are played again.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from envarena.rollout import RolloutConfig
from envarena.rollout.ray_rollout import RayWorkerPool, ray_session, run_rollout_ray, worker_count
from envarena.serve import BackgroundServer
from envarena.train.config import RaySettings, TrainConfig
from envarena.types import Episode

__all__ = ["RayRollouts"]

SERVED_NAME = "policy"
# A step's generation may queue behind a long batch on a slow machine, so requests wait long.
# Retries cover connections the server closed between steps (idle keep-alive); a retried
# request only costs a second generation, and the trace records what came back.
_REQUEST_TIMEOUT_S = 3600.0
_REQUEST_RETRIES = 2


class RayRollouts:
    """The trainer's engine behind a loopback (or cluster-facing) server, and the Ray workers
    that play against it. `close` ends both, and Ray itself if this object started it."""

    def __init__(self, config: TrainConfig, engine: Any, tokenizer: Any, *, log: Any = print) -> None:
        """`tokenizer` is the trainer's own (a plain transformers one, which unpickles on any
        worker; vLLM's wrapped tokenizer would need vLLM there)."""
        settings = config.ray
        assert settings is not None
        self._stack = contextlib.ExitStack()
        try:
            self._stack.enter_context(ray_session(settings.address or None))
            server = BackgroundServer(engine, SERVED_NAME, host=_policy_host(settings), port=settings.serve_port)
            self._stack.callback(server.close)
            self.url = server.url
            self.agent = f"openai:{SERVED_NAME}@{server.url}"
            options = {"temperature": config.temperature, "top_p": config.top_p,
                       "max_new_tokens": config.max_new_tokens, "endpoint": "completions", "tokenizer": tokenizer,
                       "stop_ids": sorted(engine.stop_ids()), "timeout": _REQUEST_TIMEOUT_S,
                       "max_retries": _REQUEST_RETRIES}  # fmt: skip
            self.pool = asyncio.run(_start_pool(self.agent, options, settings.workers, config.concurrency))
            self._stack.callback(self.pool.close)
            asyncio.run(self.pool.reach(f"{server.url}/models"))
        except BaseException:
            self._stack.close()
            raise
        count = len(self.pool.actors)
        log(f"rollouts on {count} Ray worker{'s' if count != 1 else ''}, {self.pool.concurrency} episodes each at "
            f"once; the policy is served to them at {self.url}")

    def rollout(self, config: RolloutConfig) -> list[Episode]:
        """The episodes of `config`, played on the workers by the served policy."""
        on_ray = config.model_copy(update={"agent": self.agent, "concurrency": self.pool.concurrency})
        return asyncio.run(run_rollout_ray(on_ray, pool=self.pool, keep_episodes=True)).episodes

    def close(self) -> None:
        self._stack.close()


async def _start_pool(agent: str, options: dict[str, Any], workers: int | None, concurrency: int) -> RayWorkerPool:
    """Workers sharing the trainer's `concurrency` between them: never more workers than
    episodes in flight, and each plays its share (rounded up)."""
    count = min(worker_count(workers)[0], concurrency)
    return await RayWorkerPool.start(agent, agent_options=options, workers=count,
                                     concurrency=-(-concurrency // count))  # fmt: skip


def _policy_host(settings: RaySettings) -> str:
    """The address the workers reach the policy server at: loopback when every node of the
    cluster is this machine, else this node's cluster IP."""
    if settings.serve_host:
        return settings.serve_host
    import ray

    here = ray.util.get_node_ip_address()
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    return "127.0.0.1" if all(node.get("NodeManagerAddress") == here for node in nodes) else here
