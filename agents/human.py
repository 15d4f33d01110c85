"""The `human` agent: you, in the terminal.

Type a reply and press Enter. To call a tool, type `/call NAME {"arg": value}`; `/tools`
lists the tools. Observations are printed as they arrive.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from envarena.types import Message, Tool, ToolCall

_ROLE_STYLE = {"system": "dim", "user": "bold cyan", "tool": "magenta", "assistant": "green"}


class HumanAgent:
    def __init__(self, console: Console, read: Callable[[str], str]) -> None:
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
            line = await asyncio.to_thread(self.read, "> ")
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
    spec = "human"

    def __init__(self, console: Console | None = None, read: Callable[[str], str] = input) -> None:
        self.console = console or Console()
        self.read = read

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> HumanAgent:
        return HumanAgent(self.console, self.read)

    async def aclose(self) -> None:
        return None
