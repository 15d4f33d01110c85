"""Serve any registered environment in the OpenEnv protocol (`envarena env-serve`).

Built on openenv-core's server: an `openenv.core.env_server.Environment` wraps one envarena
environment, and OpenEnv's `HTTPEnvServer` provides the routes (`/ws` sessions, `/reset`,
`/step`, `/state`, `/schema`, `/metadata`, `/health`), one environment instance per WebSocket
session and the session bound. envarena adds two read-only routes, `/envarena/spec` (what is
served, for `RemoteEnv`) and `/envarena/sessions` (how many sessions and environments are open).

Liveness is the transport's job, not the agent's: the server pings every connection and
closes one whose client stops answering (`idle_timeout`), which ends its session and closes
its environment. Clients answer pings from their connection's own event loop, so an agent
may think for as long as it likes between steps; only a client that is gone (killed, frozen,
unreachable) loses its session.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from openenv.core.env_server.http_server import HTTPEnvServer
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import ConcurrencyConfig, EnvironmentMetadata, ServerCapacityStatus

from envarena.env import Env, Solver
from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.integrations.openenv.models import EnvArenaAction, EnvArenaObservation, EnvArenaState
from envarena.registration import EnvSpec, registry
from envarena.types import Message, jsonable
from envarena.version import __version__

__all__ = ["EnvArenaEnvironment", "NotResetError", "build_app", "served_env", "served_spec", "serve"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_SESSIONS = 64
DEFAULT_IDLE_TIMEOUT = 60.0


class NotResetError(RuntimeError):
    """A step with no episode to step in."""


def served_env(env_id: str, env_kwargs: dict[str, Any]) -> Env:
    """The single-agent environment one session plays: a two-player game faces its built-in
    opponent (`-e opponent=NAME` picks another), as in a rollout without `--opponent`."""
    return registry.make_single_agent(env_id, **env_kwargs)


def served_spec(env_id: str, env_kwargs: dict[str, Any], env: Env) -> EnvSpec:
    """The spec a client sees: single-agent (a game is played against its built-in opponent),
    with the options the server fixed."""
    return registry[env_id].model_copy(
        update={"kwargs": {**registry[env_id].kwargs, **env_kwargs}, "max_turns": env.max_turns,
                "multi_agent": False, "players": []}
    )


class _OpenEnvironments:
    """Counts environment instances alive in this process, so a test (or an operator) can see
    that a dead client's environment was really closed, not just its session forgotten."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def change(self, delta: int) -> None:
        with self._lock:
            self.count += delta


_open_environments = _OpenEnvironments()


class EnvArenaEnvironment(Environment[EnvArenaAction, EnvArenaObservation, EnvArenaState]):
    """One envarena environment behind OpenEnv's `Environment` interface (one per session)."""

    # Each session gets its own instance and envarena environments share no mutable state.
    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None, *, expose_solver: bool = False) -> None:
        super().__init__()
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.expose_solver = expose_solver
        self.env = served_env(env_id, self.env_kwargs)
        self._tools = [t.openai_schema() for t in self.env.tools]
        self._episode_id: str | None = None
        self._seed: int | None = None
        self._started = False
        self._solver: Solver | None = None
        self._closed = False
        _open_environments.change(+1)

    def reset(
        self, seed: int | None = None, episode_id: str | None = None, options: dict[str, Any] | None = None,
        **unknown: Any,
    ) -> EnvArenaObservation:
        if unknown:
            raise ValueError(f"reset() takes seed, episode_id and options; got {', '.join(sorted(unknown))}")
        if options:
            # Reset options can set the task itself (a chess position, a puzzle): a client
            # that chose its own task could choose one it has already won. The task is the
            # seed's, under the options the server was started with.
            raise ValueError(
                f"reset options are fixed where the environment is served (env-serve -e); got {', '.join(sorted(options))}"
            )
        messages, info = self.env.reset(seed=seed)
        self._episode_id, self._seed, self._started = episode_id, seed, True
        self._solver = self._new_solver()
        return self._observation(list(messages), None, False, False, dict(info))

    def step(self, action: EnvArenaAction, timeout_s: float | None = None, **kwargs: Any) -> EnvArenaObservation:
        if not self._started:
            raise NotResetError(
                "reset() must come before step(); OpenEnv's HTTP /step builds a fresh environment for every "
                "request, so play episodes over the WebSocket session at /ws"
            )
        messages, reward, terminated, truncated, info = self.env.step(action.to_message())
        return self._observation(list(messages), float(reward), terminated, truncated, info)

    @property
    def state(self) -> EnvArenaState:
        env = self.env
        return EnvArenaState(
            episode_id=self._episode_id, step_count=env.turn, env_id=self.env_id, env_kwargs=self.env_kwargs,
            seed=self._seed, max_turns=env.max_turns, done=env.done,
            outcome=env.outcome if env.done else None, transcript=list(env.transcript) if self._started else [],
        )

    def get_metadata(self) -> EnvironmentMetadata:
        spec = registry[self.env_id]
        return EnvironmentMetadata(
            name=self.env_id, description=spec.description or self.env_id, version=__version__,
            author="envarena", documentation_url=None,
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.env.close()
        finally:
            _open_environments.change(-1)

    # ------------------------------------------------------------------ helpers
    def _new_solver(self) -> Solver | None:
        if not self.expose_solver:
            return None
        try:
            return self.env.reference_solver()
        except NotImplementedError:
            return None

    def _reference_action(self, messages: list[Message], done: bool) -> Message | None:
        """The solver's answer to these messages, computed once per turn, right where the
        `scripted` agent would compute it in a local rollout (so remote and local agree)."""
        if self._solver is None or done:
            return None
        try:
            action = self._solver.act(messages)
        except Exception:  # the step itself happened; a failing solver must not lose its result
            logger.error("the reference solver of %s failed", self.env_id, exc_info=True)
            self._solver = None
            return None
        return Message.assistant(action) if isinstance(action, str) else action

    def _observation(
        self, messages: list[Message], reward: float | None, terminated: bool, truncated: bool, info: dict[str, Any]
    ) -> EnvArenaObservation:
        info = jsonable(info)
        components = info.pop("reward_components", {})
        done = bool(terminated or truncated)
        return EnvArenaObservation(
            messages=messages, tools=self._tools, reward=reward, done=done, reward_components=components,
            outcome=info.get("outcome"), success=info.get("success"), terminated=bool(terminated),
            truncated=bool(truncated), info=info, reference_action=self._reference_action(messages, done),
        )


class _QuietClientDisconnects:
    """ASGI middleware: a WebSocket session whose client left first ends quietly.

    openenv-core 0.3.0 closes each `/ws` socket in a `finally` that guards against
    `RuntimeError` only, while Starlette raises `WebSocketDisconnect` when the peer has gone,
    so every ordinary disconnect (its own client's included) logged a full traceback
    (huggingface/OpenEnv#1159). The session is destroyed before that close, so nothing is lost.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        from starlette.websockets import WebSocketDisconnect

        try:
            await self.app(scope, receive, send)
        except WebSocketDisconnect:
            pass


def build_app(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    *,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    expose_solver: bool = False,
) -> Any:
    """A FastAPI app serving `env_id` in the OpenEnv protocol (run it with any ASGI server).

    The options are checked here, by building one environment, so a mistake ends before any
    port is opened.
    """
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    env_kwargs = dict(env_kwargs or {})
    if max_sessions < 1:
        raise InvalidOptionError("max_sessions must be at least 1")
    probe = served_env(env_id, env_kwargs)
    try:
        spec = served_spec(env_id, env_kwargs, probe)
        tools = [t.openai_schema() for t in probe.tools]
    finally:
        probe.close()
    factory = functools.partial(EnvArenaEnvironment, env_id, env_kwargs, expose_solver=expose_solver)
    server = HTTPEnvServer(
        factory, EnvArenaAction, EnvArenaObservation,
        concurrency_config=ConcurrencyConfig(max_concurrent_envs=max_sessions, session_timeout=None),
    )
    app = FastAPI(title=f"envarena: {env_id}", version=__version__,
                  description=f"{spec.description}\n\nServed in the OpenEnv protocol by `envarena env-serve`.")
    server.register_routes(app)
    _replace_stateless_routes(app, spec)
    app.add_middleware(_QuietClientDisconnects)
    served = {"env_id": env_id, "env_kwargs": env_kwargs, "spec": spec.model_dump(mode="json"), "tools": tools,
              "expose_solver": expose_solver, "envarena_version": __version__}

    @app.get("/envarena/spec", tags=["Environment Info"], summary="What this server plays")
    async def envarena_spec() -> dict[str, Any]:
        return served

    @app.get("/envarena/sessions", tags=["Health"], summary="Open sessions and environments")
    async def envarena_sessions() -> dict[str, Any]:
        capacity: ServerCapacityStatus = server.get_capacity_status()
        return {**capacity.model_dump(), "open_environments": _open_environments.count}

    @app.exception_handler(NotResetError)
    async def not_reset(request: Request, err: NotResetError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(err)})

    app.state.openenv_server = server
    return app


#: OpenEnv's stateless HTTP routes build a whole environment per request on the server's event
#: loop (sandboxes, tool servers), outside the session bound, and can play no episode: each
#: request gets a fresh environment. They answer without building anything instead.
_STATELESS_ROUTES = {"/reset", "/step", "/state", "/metadata"}


def _replace_stateless_routes(app: Any, spec: EnvSpec) -> None:
    from fastapi.responses import JSONResponse

    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in _STATELESS_ROUTES]
    detail = "episodes are played over the WebSocket session at /ws; the stateless HTTP routes are not served"

    async def use_the_session() -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": detail})

    for path in ("/reset", "/step"):
        app.add_api_route(path, use_the_session, methods=["POST"], tags=["Environment Control"])
    app.add_api_route("/state", use_the_session, methods=["GET"], tags=["State Management"])
    metadata = EnvironmentMetadata(
        name=spec.id, description=spec.description or spec.id, version=__version__, author="envarena",
        documentation_url=None,
    )

    async def get_metadata() -> EnvironmentMetadata:
        return metadata

    app.add_api_route("/metadata", get_metadata, methods=["GET"], tags=["Environment Info"])


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        raise EnvArenaError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    expose_solver: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted. `port=0` picks a free port; `on_ready` gets the URL once the
    socket listens (connections made from then on wait for the server, none is refused).

    A session whose client answers no WebSocket ping for about `idle_timeout` seconds is
    closed with its environment: pings go out every `idle_timeout / 2` seconds and each must
    be answered within `idle_timeout / 2`.
    """
    import uvicorn

    if idle_timeout <= 0:
        raise InvalidOptionError("idle_timeout must be positive")
    app = build_app(env_id, env_kwargs, max_sessions=max_sessions, expose_solver=expose_solver)
    sock = _listen(host, port)
    config = uvicorn.Config(
        app, ws_ping_interval=idle_timeout / 2, ws_ping_timeout=idle_timeout / 2, log_level="warning",
        timeout_graceful_shutdown=5,
    )
    if on_ready is not None:
        on_ready(_url(sock))
    uvicorn.Server(config).run(sockets=[sock])
