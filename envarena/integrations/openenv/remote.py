"""`RemoteEnv`: an environment served elsewhere, used as a local `envarena.Env`.

`envarena.RemoteEnv("http://host:8000")` or `envarena.make("remote:http://host:8000")` opens
one OpenEnv WebSocket session on a server started with `envarena env-serve` and plays it
through the usual `reset` / `step` / `tools` / `close`, so the rollout engine and the trainer
use it unchanged. Every reward, outcome and message is computed by the server; this side only
carries them. openenv-core is needed (`pip install 'envarena[openenv]'`); it is imported when
the first remote environment is built, never by `import envarena`.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import gymnasium

from envarena.env import Env, coerce_action, render_messages
from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.registration import EnvSpec
from envarena.spaces import ChatActionSpace, ChatObservationSpace, Observation
from envarena.types import Message, Tool

__all__ = ["RemoteEnv", "http_url", "make_remote", "remote_spec", "validate_remote_options"]

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def http_url(address: str) -> str:
    """`host:port`, `http(s)://...` or `ws(s)://...` as the server's HTTP base URL."""
    url = address.strip().rstrip("/")
    if url.startswith("ws://"):
        url = "http://" + url[5:]
    elif url.startswith("wss://"):
        url = "https://" + url[6:]
    elif not url.startswith(("http://", "https://")):
        url = "http://" + url
    if not urllib.parse.urlsplit(url).hostname:
        raise InvalidOptionError(f"'{address}' is not a server address; use remote:http://HOST:PORT")
    return url


def _served(url: str, timeout: float) -> dict[str, Any]:
    """What the server at `url` plays (its `/envarena/spec`)."""
    request = urllib.request.Request(f"{url}/envarena/spec", headers={"Accept": "application/json"})
    # A proxy between a client and a server on the same machine is never wanted.
    handlers = [urllib.request.ProxyHandler({})] if urllib.parse.urlsplit(url).hostname in _LOOPBACK else []
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise EnvArenaError(f"{url} is not an envarena environment server (start one with 'envarena env-serve ID')") from None
        raise EnvArenaError(f"the environment server at {url} answered HTTP {err.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise EnvArenaError(f"cannot reach an environment server at {url}: {reason}") from None


def _client_class() -> type:
    """OpenEnv's client for envarena servers; openenv-core is optional, so say how to get it."""
    try:
        from envarena.integrations.openenv.client import EnvArenaClient
    except ImportError as err:
        raise EnvArenaError(
            f"remote environments need openenv-core ({err}); install it with: pip install 'envarena[openenv]'"
        ) from None
    return EnvArenaClient


def remote_spec(address: str) -> EnvSpec:
    """The spec of the environment served at `address` (for `envarena.spec` / the registry).

    Also imports the client (seconds: openenv-core loads its whole server stack), so a rollout
    pays that when it checks its config rather than inside its first episodes' timings.
    """
    url = http_url(address)
    spec = EnvSpec.model_validate(_served(url, timeout=10.0)["spec"])
    _client_class()
    return spec.model_copy(update={"source": f"remote {url}"})


def validate_remote_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A remote environment takes no options: the server fixed them when it started."""
    if kwargs:
        raise InvalidOptionError(
            f"options of a remote environment are set where it is served ('envarena env-serve ID -e KEY=VALUE'), "
            f"not by the client (got '{sorted(kwargs)[0]}')"
        )
    return {}


def make_remote(address: str, **kwargs: Any) -> RemoteEnv:
    """`envarena.make("remote:URL")`."""
    validate_remote_options(kwargs)
    return RemoteEnv(address)


class _ServedSolver:
    """The `scripted` agent's solver for a remote environment: the server's reference action."""

    def __init__(self, env: RemoteEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> Message:
        if self.env._reference_action is None:
            raise RuntimeError(
                f"the server at {self.env.url} sends no reference actions; start it with 'envarena env-serve ... "
                "--expose-solver' to play the scripted agent remotely"
            )
        return self.env._reference_action


class RemoteEnv(gymnasium.Env[Observation, Message]):
    """An environment served by `envarena env-serve` (OpenEnv protocol), as a local `Env`.

    One instance holds one server session (opened at the first `reset`, released by `close`).
    Options are fixed by the server; `timeout` bounds the wait for each reply, in seconds.
    A client, not an environment with a task of its own: it forwards `reset` and `step` and
    writes none of the authoring hooks, so it is an `Env` by interface (registered as a
    virtual subclass below), as `VersusOpponent` is.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, url: str, *, timeout: float = 300.0, connect_timeout: float = 10.0) -> None:
        self.url = http_url(url)
        served = _served(self.url, timeout=connect_timeout)
        self._client_class = _client_class()
        self.served_id: str = served["env_id"]
        self.served_kwargs: dict[str, Any] = served["env_kwargs"]
        self._remote_tools = [
            Tool(name=t["function"]["name"], description=t["function"].get("description", ""),
                 parameters=t["function"].get("parameters") or {"type": "object", "properties": {}})
            for t in served["tools"]
        ]
        spec = served["spec"]
        self.reward_range = tuple(spec["reward_range"])
        self.max_turns: int = spec["max_turns"]
        self.render_mode: str | None = None
        self.observation_space = ChatObservationSpace()
        self.action_space = ChatActionSpace(t.name for t in self._remote_tools)
        self.transcript: list[Message] = []
        self.turn, self.outcome, self.done = 0, 0.0, False
        self._timeout, self._connect_timeout = timeout, connect_timeout
        self._session: Any = None  # openenv SyncEnvClient, one WebSocket session
        self._reference_action: Message | None = None

    def __repr__(self) -> str:
        return f"RemoteEnv({self.url!r}: {self.served_id})"

    @property
    def tools(self) -> list[Tool]:
        """The served environment's tools; calls go to the server, which runs them."""
        return list(self._remote_tools)

    def random_action(self, rng: Any) -> Message:
        """Random text or a random call of a served tool, as a local environment's default."""
        self.action_space.seed(int(rng.integers(1 << 31)))
        return self.action_space.sample()

    def render(self) -> str | None:  # type: ignore[override]
        return render_messages(self.transcript) if self.render_mode == "ansi" else None

    @classmethod
    def describe(cls) -> str:
        return "An environment served over the OpenEnv protocol by `envarena env-serve`."

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        gymnasium.Env.reset(self, seed=seed)
        data: dict[str, Any] = {}
        if seed is not None:
            data["seed"] = int(seed)  # numpy integers do not go through json
        if options:
            data["options"] = options
        result = self._call("reset", **data)
        observation = result.observation
        self.turn, self.outcome, self.done = 0, 0.0, False
        self.transcript = list(observation.messages)
        self._reference_action = observation.reference_action
        return Observation(observation.messages), dict(observation.info)

    def step(self, action: Message | str) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        if self.done:
            raise RuntimeError("the episode is over; call reset() first")
        if self._session is None:
            raise RuntimeError("call reset() before step()")
        message = coerce_action(action)
        from envarena.integrations.openenv.models import EnvArenaAction

        result = self._call("step", EnvArenaAction.from_message(message))
        observation = result.observation
        self.turn = int(observation.info.get("turn", self.turn + 1))
        self.transcript.extend([message, *observation.messages])
        self._reference_action = observation.reference_action
        terminated, truncated = observation.terminated, observation.truncated
        if terminated or truncated:
            self.done = True
            self.outcome = float(observation.outcome or 0.0)
        info = {**observation.info, "reward_components": dict(observation.reward_components)}
        return Observation(observation.messages), float(observation.reward or 0.0), terminated, truncated, info

    def reference_solver(self) -> _ServedSolver:
        """The server's reference solver, when it was started with `--expose-solver`."""
        return _ServedSolver(self)

    def close(self) -> None:
        self._drop_session()

    # ------------------------------------------------------------------ transport
    def _drop_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # the server may be gone already; the session is over either way
                pass

    def _connect(self) -> Any:
        if self._session is None:
            client = self._client_class(
                base_url=self.url, connect_timeout_s=self._connect_timeout, message_timeout_s=self._timeout
            )
            session = client.sync()
            try:
                session.connect()
            except Exception as err:
                session.close()
                raise EnvArenaError(f"cannot open a session on the environment server at {self.url}: {err}") from None
            self._session = session
        return self._session

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """One request on the session; a lost server becomes one clear error.

        A full server refuses a new session; the first request then waits for a place, up to
        `connect_timeout` seconds: sessions a client has just closed are released by the server
        a moment later, so a rollout as wide as the server is never refused for that race.
        """
        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + self._connect_timeout
        pause = 0.05
        while True:
            fresh = self._session is None
            session = self._connect()
            try:
                return getattr(session, method)(*args, **kwargs)
            except ConnectionClosed as err:
                self._drop_session()
                reason = f" ({err.rcvd.reason})" if err.rcvd is not None and err.rcvd.reason else ""
                raise EnvArenaError(f"the environment server at {self.url} closed the session{reason}") from None
            except (TimeoutError, OSError) as err:
                self._drop_session()
                raise EnvArenaError(f"no reply from the environment server at {self.url} ({type(err).__name__})") from None
            except RuntimeError as err:
                text = str(err).removeprefix("Server error: ")
                if "CAPACITY_REACHED" not in text:
                    raise RuntimeError(text) from None
                self._drop_session()
                if not fresh or time.monotonic() + pause > deadline:
                    raise EnvArenaError(f"the environment server at {self.url} is full: {text}") from None
                time.sleep(pause)
                pause = min(pause * 2, 1.0)


Env.register(RemoteEnv)
