"""MCP (Model Context Protocol) both ways, with the official `mcp` SDK (`pip install
envarena[mcp]`): `McpToolset` gives an environment the tools of an MCP server, and
`serve_stdio` (the `envarena mcp-serve` command) serves an environment's tools as an MCP server.
The SDK is imported only when a server is started or connected to."""

from __future__ import annotations

from envarena.integrations.mcp.server import CONTROL_TOOLS, EnvSession, build_server, serve_stdio
from envarena.integrations.mcp.toolset import McpToolError, McpToolset

__all__ = ["CONTROL_TOOLS", "EnvSession", "McpToolError", "McpToolset", "build_server", "serve_stdio"]
