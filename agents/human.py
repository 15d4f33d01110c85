"""The `human` agent: you, in the terminal.

Type a reply and press Enter. To call a tool, type `/call NAME {"arg": value}`; `/tools`
lists the tools. Observations are printed as they arrive.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from envarena.types import Message, Tool, ToolCall

_ROLE_STYLE = {"system": "dim", "user": "bold cyan", "tool": "magenta", "assistant": "green"}


class TerminalLines:
    """Lines typed on standard input, awaited on the event loop rather than read in a thread.

    A thread blocked in `input()` cannot be interrupted: on Ctrl-C, asyncio cancels the
    rollout but then waits for that thread, i.e. for Enter, before it exits. Waiting for stdin
    to become readable on the loop instead lets Ctrl-C end the game at once. Bytes are read
    from the descriptor into a buffer of our own, so lines already received (piped input)
    are never hidden in a reader's buffer that the loop cannot see.
    """

    def __init__(self, fd: int | None = None) -> None:
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._buffer = b""
        self._eof = False

    async def readline(self) -> str:
        while b"\n" not in self._buffer and not self._eof:
            await self._readable()
            chunk = os.read(self.fd, 65536)
            self._eof = not chunk
            self._buffer += chunk
        if not self._buffer:
            raise EOFError("standard input is closed")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace").removesuffix("\r")

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        try:
            loop.add_reader(self.fd, lambda: ready.done() or ready.set_result(None))
        except (PermissionError, NotImplementedError, ValueError):
            return  # a regular file (never blocks) or a loop without readers: just read
        try:
            await ready
        finally:
            loop.remove_reader(self.fd)


class HumanAgent:
    def __init__(self, console: Console, read: Callable[[str], Awaitable[str]]) -> None:
        self.console, self.read = console, read
        self.last_trace = None
        self._ids = itertools.count()

    def show(self, messages: Sequence[Message]) -> None:
        for m in messages:
            label = m.role if m.name is None else f"{m.role}:{m.name}"
            # Text, not markup: game boards and model output contain square brackets
            self.console.print(Text.assemble((label, _ROLE_STYLE.get(m.role, "")), " ", m.content), highlight=False)

    async def act(self, observation: list[Message], tools: Sequence[Tool]) -> Message:
        self.show(observation)
        while True:
            line = await self.read("> ")
            if line.strip() == "/tools":
                for t in tools:
                    self.console.print(json.dumps(t.openai_schema()["function"]), markup=False)
                continue
            if line.startswith("/call "):
                name, _, raw = line[len("/call ") :].strip().partition(" ")
                call = ToolCall.parse(f"call_{next(self._ids)}", name, raw or "{}")
                return Message.assistant(tool_calls=[call])
            return Message.assistant(line)


class HumanPolicy:
    """`human`: replies typed on standard input; `read` replaces it (a function from the prompt
    to a line, run in a worker thread)."""

    spec = "human"

    def __init__(self, console: Console | None = None, read: Callable[[str], str] | None = None) -> None:
        self.console = console or Console()
        self.read = read
        self._terminal: TerminalLines | None = None  # one buffer for every episode

    async def _read(self, prompt: str) -> str:
        if self.read is not None:
            return await asyncio.to_thread(self.read, prompt)
        if self._terminal is None:
            self._terminal = TerminalLines()
        self.console.print(prompt, end="", markup=False, highlight=False)
        return await self._terminal.readline()

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> HumanAgent:
        return HumanAgent(self.console, self._read)

    async def aclose(self) -> None:
        return None
