"""An environment served as an MCP server over stdio (`envarena mcp-serve ID`).

An MCP host (an agent framework, a chat app) then plays the environment through tool calls:
`reset` starts an episode and returns its opening, each of the environment's own tools steps
it with that one call, and `respond` steps it with a text reply (an answer, a guess, a move),
which is how most catalog tasks are answered. Results are MCP tool results: the environment's
words as text, and the step's reward, components and outcome as structured content.
"""

from __future__ import annotations

import itertools
from typing import Any

import anyio

from envarena.env import render_messages
from envarena.errors import EnvArenaError
from envarena.registration import registry
from envarena.types import Message, ToolCall
from envarena.version import __version__

__all__ = ["CONTROL_TOOLS", "EnvSession", "build_server", "serve_stdio"]

#: Tools the server adds to the environment's own.
CONTROL_TOOLS = ("reset", "respond")

_RESET_SCHEMA = {
    "type": "object",
    "properties": {"seed": {"type": ["integer", "null"], "description": "Task seed; omitted: the next seed."}},
}
_RESPOND_SCHEMA = {
    "type": "object",
    "properties": {"message": {"type": "string", "description": "Your reply, exactly as the task asks for it."}},
    "required": ["message"],
}


class EnvSession:
    """One environment played by one MCP client. Steps are synchronous and may be slow (a
    sandboxed test run), so they run in a worker thread, one at a time."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None, *, seed: int = 0) -> None:
        env = registry.make_single_agent(env_id, **dict(env_kwargs or {}))  # a game: its built-in opponent
        self.env_id = env_id
        self.env = env
        clash = sorted(set(CONTROL_TOOLS) & {t.name for t in env.tools})
        if clash:
            env.close()
            raise EnvArenaError(f"{env_id} has a tool named {clash[0]!r}, which mcp-serve needs for itself")
        self.next_seed = seed
        self.opening: list[Message] = []
        self._call_ids = itertools.count()
        self._lock = anyio.Lock()

    # ------------------------------------------------------------------ synchronous core
    def reset(self, seed: int | None = None) -> dict[str, Any]:
        seed = self.next_seed if seed is None else seed
        self.next_seed = seed + 1
        observation, _ = self.env.reset(seed=seed)
        self.opening = list(observation)
        return {
            "text": render_messages(self.opening),
            "structured": {
                "seed": seed,
                "messages": [m.openai_format() for m in self.opening],
                "tools": [t.name for t in self.env.tools],
            },
            "error": False,
        }

    def step(self, action: Message) -> dict[str, Any]:
        if self.env.done:
            return {
                "text": f"The episode is over (outcome {self.env.outcome:g}); call reset to start a new one.",
                "structured": None,
                "error": True,
            }
        observation, reward, terminated, truncated, info = self.env.step(action)
        text = "\n\n".join(m.content for m in observation)
        if terminated or truncated:
            how = "solved" if info.get("success") else "ended" if terminated else "out of turns"
            text += f"\n\n[episode over ({how}): outcome {info['outcome']:g}; call reset to play again]"
        components = info.get("reward_components", {})
        return {
            "text": text.strip(),
            "structured": {
                "messages": [m.openai_format() for m in observation],
                "reward": reward,
                "reward_components": components,
                "terminated": terminated,
                "truncated": truncated,
                "outcome": info.get("outcome"),
                "success": info.get("success"),
            },
            "error": bool(action.tool_calls) and "tool_error" in components,
        }

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """One MCP tool call, answered the way the environment answers its agent."""
        if name == "reset":
            seed = arguments.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                return {"text": "seed must be an integer", "structured": None, "error": True}
            return self.reset(seed)
        if name == "respond":
            message = arguments.get("message")
            if not isinstance(message, str):
                return {"text": "respond takes a string 'message'", "structured": None, "error": True}
            return self.step(Message.assistant(message))
        call = ToolCall(id=f"mcp_{next(self._call_ids)}", name=name, arguments=arguments)
        return self.step(Message.assistant(tool_calls=[call]))

    def close(self) -> None:
        self.env.close()

    # ------------------------------------------------------------------ what the client sees
    def tool_listing(self) -> list[dict[str, Any]]:
        own = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in self.env.tools
        ]
        return [
            {
                "name": "reset",
                "description": "Start a new episode (a new task) and return its opening messages.",
                "input_schema": _RESET_SCHEMA,
            },
            {
                "name": "respond",
                "description": "Send a text reply (an answer, a guess, a move) and return the environment's answer.",
                "input_schema": _RESPOND_SCHEMA,
            },
            *own,
        ]

    def instructions(self) -> str:
        spec = registry[self.env_id]
        lines = [
            f"envarena environment {self.env_id}: {spec.description}",
            "Call `respond` with your reply and the environment's own tools as the task needs; "
            "`reset` starts a new episode.",
        ]
        if self.opening:
            lines += ["The current episode opened with:", render_messages(self.opening)]
        return "\n".join(lines)

    async def handle(self, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
        async with self._lock:
            return await anyio.to_thread.run_sync(self.call, name, dict(arguments or {}))


def build_server(session: EnvSession) -> Any:
    """The MCP server (the SDK's low-level `Server`, which takes JSON schemas as they are)."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    known = {"reset", "respond", *(t.name for t in session.env.tools)}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(**t) for t in session.tool_listing()])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name not in known:
            text = f"Unknown tool {params.name!r}. Available tools: {', '.join(sorted(known))}."
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
        answer = await session.handle(params.name, params.arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=answer["text"])],
            structured_content=answer["structured"],
            is_error=answer["error"],
        )

    return Server(
        "envarena",
        version=__version__,
        instructions=session.instructions(),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(env_id: str, env_kwargs: dict[str, Any] | None = None, *, seed: int = 0) -> None:
    """Serve one environment over this process's stdin/stdout until the client hangs up.
    The first episode starts (with `seed`) before the server answers, so tools work at once."""
    from mcp.server.stdio import stdio_server

    session = EnvSession(env_id, env_kwargs, seed=seed)
    try:
        await anyio.to_thread.run_sync(session.reset)
        server = build_server(session)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        session.close()
