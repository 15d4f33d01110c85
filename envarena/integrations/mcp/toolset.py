"""Tools from an MCP server: an environment lists them as its own and forwards the calls.

Environments are synchronous (`step` runs in a worker thread) while the MCP SDK is async, so
each connection keeps a private event loop in a daemon thread. The SDK's client is entered
and left in one task on that loop (anyio's cancel scopes require it); calls are sent to the
loop and waited for with a time limit, so a server that hangs costs a tool error, not a stalled
episode. This module depends only on `envarena.tools`, so catalog environments may use it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from envarena.errors import EnvArenaError
from envarena.tools import (
    MAX_TOOL_SECONDS_PER_TURN,
    Tool,
    ToolArgumentError,
    ToolConnection,
    ToolSource,
    cap_text,
)

__all__ = ["McpToolError", "McpToolset"]

logger = logging.getLogger(__name__)

#: Seconds a server may take to start and list its tools.
STARTUP_SECONDS = 60.0
#: JSON-RPC error code of a request the SDK gave up waiting for (`mcp_types.REQUEST_TIMEOUT`).
_REQUEST_TIMEOUT = -32001
#: Seconds allowed for a clean stop (the SDK closes stdin, waits 2 s, then terminates).
_STOP_SECONDS = 10.0


class McpToolError(ValueError):
    """A call the server answered with an error, or did not answer. A `ValueError`, so the
    environment answers it as a tool message with the server's own words."""


class McpToolset(ToolSource):
    """The tools of an MCP server reached over stdio, for use as an `Env` class attribute.

    >>> class NotesEnv(envarena.TaskEnv[str]):
    ...     notes = McpToolset([sys.executable, "notes_server.py"])

    Every environment instance starts its own server process (so a server that keeps state
    starts each episode clean) and stops it in `close()`. Tools keep the server's names and
    input schemas (`prefix` is prepended to each name, to avoid clashes); arguments are
    checked against the schema before they are sent; a call the server reports as an error,
    or does not answer within `timeout` seconds, is answered to the agent as a tool error.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        prefix: str = "",
        include: Sequence[str] | None = None,
        timeout: float = MAX_TOOL_SECONDS_PER_TURN,
        startup_timeout: float = STARTUP_SECONDS,
    ) -> None:
        if isinstance(command, str) or not command:
            raise ValueError("command must be a non-empty list: the program and its arguments")
        if timeout <= 0 or startup_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.command = [str(part) for part in command]
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.prefix = prefix
        self.include = None if include is None else set(include)
        self.timeout = timeout
        self.startup_timeout = startup_timeout

    def connect(self) -> McpConnection:
        return McpConnection(self)

    def __repr__(self) -> str:
        return f"McpToolset({self.command!r})"


class McpConnection(ToolConnection):
    """One running server and the session to it, owned by one environment instance."""

    def __init__(self, toolset: McpToolset) -> None:
        self.toolset = toolset
        self._client: Any = None
        self._stop = asyncio.Event()  # set (from the loop) to end the session
        self._task: asyncio.Task[None] | None = None
        self._finished = threading.Event()  # the session is over and the server stopped
        self._closed = False
        self._errlog = _server_errlog()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="envarena-mcp", daemon=True)
        self._thread.start()
        ready: concurrent.futures.Future[list[Any]] = concurrent.futures.Future()
        self._session = asyncio.run_coroutine_threadsafe(self._hold_session(ready), self._loop)
        try:
            listed = ready.result(timeout=toolset.startup_timeout)
        except BaseException as err:
            self.close()
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                raise
            reason = "it did not list its tools in time" if isinstance(err, TimeoutError) else _describe(err)
            raise EnvArenaError(f"could not start the MCP server {' '.join(toolset.command)!r}: {reason}") from None
        self._tools = [self._as_tool(t) for t in listed if toolset.include is None or t.name in toolset.include]

    @property
    def tools(self) -> list[Tool]:
        return list(self._tools)

    # ------------------------------------------------------------------ the session's task
    async def _hold_session(self, ready: concurrent.futures.Future[list[Any]]) -> None:
        """Open the session, list the tools, then keep the session open until `close()`."""
        from mcp import Client, StdioServerParameters
        from mcp.client.stdio import stdio_client

        self._task = asyncio.current_task()
        toolset = self.toolset
        server = StdioServerParameters(
            command=toolset.command[0], args=toolset.command[1:], env=toolset.env, cwd=toolset.cwd
        )
        try:
            async with Client(stdio_client(server, errlog=self._errlog)) as client:
                listed: list[Any] = []
                cursor = None
                while True:
                    page = await client.list_tools(cursor=cursor)
                    listed.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
                self._client = client
                ready.set_result(listed)
                await self._stop.wait()
        except BaseException as err:
            if not ready.done():
                ready.set_exception(err)
            elif not self._closed:
                logger.warning("the MCP server %s stopped: %s", toolset.command, _describe(err))
            if not isinstance(err, Exception):
                raise
        finally:
            self._client = None
            self._finished.set()

    # ------------------------------------------------------------------ tools
    def _as_tool(self, listed: Any) -> Tool:
        schema = dict(listed.input_schema or {"type": "object", "properties": {}})
        name = self.toolset.prefix + listed.name
        validator = _validator(schema)

        def call(**arguments: Any) -> str:
            if validator is not None:
                problems = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
                if problems:
                    where = lambda e: ".".join(str(p) for p in e.absolute_path) or "arguments"  # noqa: E731
                    details = "; ".join(f"{where(e)}: {e.message}" for e in problems[:5])
                    raise ToolArgumentError(f"invalid arguments to '{name}': {cap_text(details, 1000)}")
            return self.call(listed.name, arguments)

        return Tool(name=name, description=listed.description or listed.title or "", parameters=schema, fn=call)

    def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Forward one call; the result as text, or `McpToolError` with the server's reason."""
        client = self._client
        if client is None:
            raise McpToolError("the MCP server is not running")
        timeout = self.toolset.timeout
        future = asyncio.run_coroutine_threadsafe(
            client.call_tool(name, arguments, read_timeout_seconds=timeout), self._loop
        )
        late = McpToolError(f"the MCP server did not answer within {timeout:g} s")
        try:
            result = future.result(timeout=timeout + 1.0)  # the SDK's own time limit comes first
        except (TimeoutError, concurrent.futures.TimeoutError):
            future.cancel()
            raise late from None
        except Exception as err:
            if getattr(err, "code", None) == _REQUEST_TIMEOUT:
                raise late from None
            raise McpToolError(f"the MCP server failed: {_describe(err)}") from None
        text = result_text(result)
        if result.is_error:
            raise McpToolError(text or "the MCP server reported an error")
        return text

    # ------------------------------------------------------------------ shutdown
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._finished.is_set() and self._loop.is_running():
            # A running session ends by its own hand; one still starting is cancelled. Either way
            # the SDK's shielded shutdown stops the server process before the session finishes.
            self._loop.call_soon_threadsafe(self._stop.set if self._client is not None else self._cancel)
            if not self._finished.wait(_STOP_SECONDS):
                logger.warning("the MCP server %s did not stop within %g s", self.toolset.command, _STOP_SECONDS)
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_STOP_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()
        if self._errlog is not sys.stderr:
            self._errlog.close()


    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        else:  # not started yet: it will see the stop at once
            self._session.cancel()
            self._finished.set()


def result_text(result: Any) -> str:
    """An MCP tool result as the text of one tool message: its text blocks, a note for each
    block that is not text, or the structured content as JSON when nothing else was sent."""
    parts: list[str] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(block.resource.text)
        elif kind == "resource":
            parts.append(f"[binary resource {block.resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
        else:
            parts.append(f"[{kind} content: {getattr(block, 'mime_type', None) or 'unknown type'}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content))
    return cap_text("\n".join(parts))


def _validator(schema: dict[str, Any]) -> Any:
    """A JSON-schema validator for the tool's input, or None when the schema itself is bad (the
    server then judges the arguments alone)."""
    import jsonschema

    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except jsonschema.SchemaError:
        logger.warning("an MCP tool's input schema is not valid JSON schema; its arguments go unchecked")
        return None
    return cls(schema)


def _server_errlog() -> TextIO:
    """Where the server's stderr goes: ours when it is a real file, else nowhere (the SDK hands
    it to the child process, which needs a file descriptor)."""
    try:
        sys.stderr.fileno()
        return sys.stderr
    except (AttributeError, OSError, ValueError):
        return open(os.devnull, "w")  # noqa: SIM115 - closed by McpConnection.close


def _describe(err: BaseException) -> str:
    """One line for an error, looking inside the exception groups anyio raises."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
