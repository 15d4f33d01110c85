"""A tiny MCP server (official `mcp` SDK, stdio) with one tool: length unit conversion.

The README's MCP example gives an environment these tools with
`McpToolset([sys.executable, "examples/mcp/units_server.py"])`; any MCP client can use it too.
"""

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

METERS = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "yd": 0.9144, "mi": 1609.344}

server = MCPServer("units")


@server.tool()
def convert(value: float, unit_from: str, unit_to: str) -> float:
    """Convert a length between units: mm, cm, m, km, in, ft, yd, mi."""
    for unit in (unit_from, unit_to):
        if unit not in METERS:
            raise ToolError(f"unknown unit {unit!r}; known: {', '.join(METERS)}")
    return round(value * METERS[unit_from] / METERS[unit_to], 6)


if __name__ == "__main__":
    server.run("stdio")
