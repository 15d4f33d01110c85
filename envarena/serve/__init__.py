"""`envarena serve MODEL`: an OpenAI-compatible server over the `hf` backend.

Small deployments and tests then use the same client paths as `vllm serve`: chat
completions with tools and `tool_choice`, log-probs and (vLLM-style) returned token ids;
completions from text or prompt token ids (token-in, token-out: the `openai:` agent renders
the chat itself and sends ids, so turn t+1 extends turn t exactly); both streamed token by
token on request. Requests from concurrent clients are batched by the engine.

The port is taken before the model loads, so a busy port fails in a second with one
sentence rather than after the model has loaded; "ready" is printed once the server
accepts connections, then one line per request.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from envarena.errors import EnvArenaError
from envarena.serve.app import build_app

__all__ = ["BackgroundServer", "bind", "build_app", "serve"]


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (not listening yet), or one sentence saying why not."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = found[0]
    except socket.gaierror as err:
        raise EnvArenaError(f"cannot listen on '{host}': {err.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # a port in TIME_WAIT counts as free; one something listens on does not
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise EnvArenaError(
                f"port {port} on {host} is already in use; stop what holds it or pick another with --port"
            ) from None
        if err.errno == errno.EACCES:
            raise EnvArenaError(f"no permission to listen on port {port} on {host}; use a port above 1023") from None
        raise EnvArenaError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    return sock


class BackgroundServer:
    """An engine served over HTTP from a daemon thread of this process, while the process keeps
    the engine for itself: the trainer serves its policy to Ray workers this way and updates
    the same weights between rollouts. Nothing the server does touches the caller's event loop.
    """

    def __init__(self, engine: Any, served_name: str, *, host: str = "127.0.0.1", port: int = 0,
                 log: Callable[[str], None] | None = None, start_timeout_s: float = 60.0) -> None:  # fmt: skip
        import uvicorn

        self._sock = bind(host, port)
        bound_port = self._sock.getsockname()[1]
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}/v1"
        app = build_app(engine, served_name, log=log)
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=20))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True,
                                        name=f"envarena-serve-{bound_port}")  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise EnvArenaError(f"the policy server on {host}:{bound_port} did not start")
            time.sleep(0.01)

    def close(self) -> None:
        """Stop accepting requests, finish the open ones, and release the port."""
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()


def serve(
    model: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    device: str = "auto",
    dtype: str = "auto",
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until interrupted. `announce` gets the loading, ready and per-request lines."""
    import uvicorn

    from envarena.agents.hf import HFEngine

    sock = bind(host, port)
    try:
        bound_port = sock.getsockname()[1]  # --port 0: the free port the system picked
        url = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}/v1"
        announce(f"loading {model} (port {bound_port} is reserved)")
        engine = HFEngine(model, device=device, dtype=dtype)
        app = build_app(engine, model, log=announce)
        ready = f"ready: serving '{model}' at {url} (OpenAI-compatible; Ctrl-C stops)"
        _announcing_server(uvicorn.Config(app, log_level="warning"), lambda: announce(ready)).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C is how a server is stopped: not an error (uvicorn re-raises it)
        pass
    finally:
        sock.close()
    announce("stopped")


def _announcing_server(config: Any, on_ready: Callable[[], None]) -> Any:
    """uvicorn's server, saying when it accepts connections (uvicorn's own message is off with
    its info logs, which would also log every request a second time)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                on_ready()

    return Server(config)
