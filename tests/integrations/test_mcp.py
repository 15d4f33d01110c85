"""MCP both ways, against real processes and the official `mcp` SDK's own client and server.

An environment takes its tools from a stdio MCP server written here with the SDK's
`MCPServer` (FastMCP in SDK 1.x); `envarena mcp-serve` is driven by the SDK's stdio client.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

if os.environ.get("CI") == "true":  # CI installs the test extra: a missing SDK is a failure there
    import mcp  # noqa: F401
else:
    pytest.importorskip("mcp", reason="the MCP SDK is not installed (pip install 'envarena[mcp]')")

import anyio  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402

import envarena  # noqa: E402
from envarena import EnvArenaError, Message, Score, TaskEnv, ToolCall  # noqa: E402
from envarena.integrations.mcp import McpToolset  # noqa: E402
from envarena.registration import registry  # noqa: E402
from envarena.rewards import TOOL_ERROR_PENALTY  # noqa: E402
from envarena.rollout import RolloutConfig, run_rollout_sync  # noqa: E402
from envarena.tools import MAX_MESSAGE_CHARS  # noqa: E402

from ..conftest import REPO, run_cli  # noqa: E402

SERVER = '''
import os
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("test-tools")
calls = 0


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def tally() -> int:
    """How many times this server process has been asked."""
    global calls
    calls += 1
    return calls


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def refuse(reason: str) -> str:
    """Always fails, saying why."""
    raise ToolError(f"refused: {reason}")


@server.tool()
def nap(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "awake"


@server.tool()
def flood(chars: int) -> str:
    """A very long answer."""
    return "x" * chars


if __name__ == "__main__":
    server.run("stdio")
'''


@pytest.fixture(scope="module")
def server_script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mcp") / "tools_server.py"
    path.write_text(SERVER)
    return path


def sum_env_class(script: Path, **toolset: object) -> type[TaskEnv]:
    """A catalog-free environment whose tools all come from the MCP server process."""

    class _Solver:
        def __init__(self, env: TaskEnv) -> None:
            self.env = env

        def act(self, observation: list[Message]) -> Message:
            results = [m.content for m in observation if m.role == "tool"]
            if results:
                return Message.assistant(f"<answer>{results[-1]}</answer>")
            a, b = self.env.task
            return Message.assistant(tool_calls=[ToolCall(id="call_add", name="add", arguments={"a": a, "b": b})])

    class SumEnv(TaskEnv[tuple[int, int]]):
        """Add two numbers with the `add` tool of an MCP server."""

        server_tools = McpToolset([sys.executable, str(script)], **toolset)  # type: ignore[arg-type]
        tool_turns = 8

        def generate(self, rng: np.random.Generator) -> tuple[int, int]:
            return int(rng.integers(1000, 9999)), int(rng.integers(1000, 9999))

        def prompt(self, task: tuple[int, int]) -> str:
            return f"What is {task[0]} + {task[1]}? {self.answer_instructions}"

        def check(self, task: tuple[int, int], answer: str) -> Score:
            return Score(value=float(answer.strip() == str(sum(task))))

        def solution(self, task: tuple[int, int]) -> str:
            return str(sum(task))

        def reference_solver(self) -> _Solver:  # type: ignore[override]
            return _Solver(self)

    return SumEnv


def call(env: envarena.Env, name: str, **arguments: object) -> tuple[str, dict]:
    observation, _, _, _, info = env.step(
        Message.assistant(tool_calls=[ToolCall(id=f"call_{name}", name=name, arguments=arguments)])
    )
    (reply,) = observation
    assert reply.role == "tool" and reply.tool_call_id == f"call_{name}"
    return reply.content, info["reward_components"]


def servers_running(script: Path) -> list[int]:
    """PIDs of live processes running the server script (read from /proc, not from envarena)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(script).encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_tools_are_listed_with_the_servers_schemas_and_calls_reach_the_server(server_script):
    env = sum_env_class(server_script)()
    try:
        tools = {t.name: t for t in env.tools}
        assert set(tools) == {"add", "tally", "pid", "refuse", "nap", "flood"}
        add = tools["add"].openai_schema()["function"]
        assert add["description"] == "Add two integers."
        assert add["parameters"]["required"] == ["a", "b"]
        assert {k: v["type"] for k, v in add["parameters"]["properties"].items()} == {"a": "integer", "b": "integer"}

        env.reset(seed=0)
        assert call(env, "add", a=2, b=40) == ("42", {})
        # state lives in the server process, which is this environment's own
        assert [call(env, "tally")[0] for _ in range(2)] == ["1", "2"]
        server_pid = int(call(env, "pid")[0])
        assert server_pid != os.getpid() and server_pid in servers_running(server_script)
    finally:
        env.close()
    assert wait_until(lambda: server_pid not in servers_running(server_script)), "close() stops the server"


def test_a_prefix_and_a_selection_of_the_servers_tools(server_script):
    env = sum_env_class(server_script, prefix="calc_", include=["add"])()
    try:
        assert [t.name for t in env.tools] == ["calc_add"]
        env.reset(seed=0)
        assert call(env, "calc_add", a=1, b=2) == ("3", {}), "the prefixed name calls the server's `add`"
    finally:
        env.close()


def test_errors_are_tool_messages_like_any_tool_error(server_script):
    env = sum_env_class(server_script, timeout=1.0)()
    try:
        env.reset(seed=0)
        text, components = call(env, "add", a="two", b=2)
        assert text == "Error: invalid arguments to 'add': a: 'two' is not of type 'integer'."
        assert components == {"tool_error": TOOL_ERROR_PENALTY}
        text, components = call(env, "add", a=1)
        assert "'b' is a required property" in text and components == {"tool_error": TOOL_ERROR_PENALTY}

        text, components = call(env, "refuse", reason="not today")
        assert text.startswith("Error: 'refuse' failed: ") and text.endswith("refused: not today"), text
        assert components == {"tool_error": TOOL_ERROR_PENALTY}

        text, components = call(env, "no_such_tool")
        assert text.startswith("Error: unknown tool 'no_such_tool'. Available tools: add, flood, nap")

        start = time.monotonic()
        text, components = call(env, "nap", seconds=30)
        assert time.monotonic() - start < 5, "a hung server costs the call's time limit, not the episode"
        assert text == "Error: 'nap' failed: the MCP server did not answer within 1 s"
        assert components == {"tool_error": TOOL_ERROR_PENALTY}
        assert call(env, "add", a=1, b=1) == ("2", {}), "the session survives a timed-out call"

        text, _ = call(env, "flood", chars=200_000)
        assert len(text) <= MAX_MESSAGE_CHARS and text.endswith("more characters not shown]")
    finally:
        env.close()


def test_each_environment_runs_its_own_server_and_the_reference_solver_wins(server_script, tmp_path):
    env_class = sum_env_class(server_script)
    envarena.register("test/mcp-sum-v0")(env_class)
    try:
        first, second = env_class(), env_class()
        pids = set()
        for env in (first, second):
            env.reset(seed=0)
            pids.add(int(call(env, "pid")[0]))
            env.close()
        assert len(pids) == 2

        result = run_rollout_sync(
            RolloutConfig(env_id="test/mcp-sum-v0", agent="scripted", n=3, concurrency=3, out=str(tmp_path / "r.jsonl")),
            keep_episodes=True,
        )
        assert [e.outcome for e in result.episodes] == [1.0, 1.0, 1.0]
        assert all(e.error is None for e in result.episodes)
        recorded = {t["function"]["name"] for t in result.episodes[0].tools or []}
        assert recorded == {"add", "tally", "pid", "refuse", "nap", "flood"}, "episodes record the tools offered"
        assert wait_until(lambda: not servers_running(server_script)), "no server outlives its episode"
    finally:
        registry.remove("test/mcp-sum-v0", missing_ok=True)


class _OneTask(TaskEnv[int]):
    """The smallest complete task; the tests below only vary its tool server."""

    def generate(self, rng):
        return 1

    def prompt(self, task):
        return "Say 1."

    def check(self, task, answer):
        return Score(value=float(answer.strip() == "1"))

    def solution(self, task):
        return "1"


def test_a_server_that_does_not_start_is_one_clear_error(tmp_path):
    class Broken(_OneTask):
        server_tools = McpToolset([sys.executable, "-c", "import sys; sys.exit(3)"])

    with pytest.raises(EnvArenaError, match=r"^could not start the MCP server '.*sys.exit\(3\)': "):
        Broken()

    class Missing(_OneTask):
        server_tools = McpToolset([str(tmp_path / "no-such-program")])

    with pytest.raises(EnvArenaError, match="could not start the MCP server .*no-such-program"):
        Missing()
    with pytest.raises(ValueError, match="a non-empty list"):
        McpToolset("python server.py")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- envarena as an MCP server
def serve(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "envarena", "mcp-serve", *args], cwd=str(REPO))


def test_mcp_serve_plays_a_catalog_environment_through_the_sdk_client():
    local = envarena.make("tools/calculator-v0", difficulty="easy")
    opening, _ = local.reset(seed=5)
    task = local.task

    async def play() -> None:
        async with Client(serve("tools/calculator-v0", "-e", "difficulty=easy", "--seed", "5")) as client:
            assert "tools/calculator-v0" in (client.instructions or "")
            assert task.story in (client.instructions or ""), "the first episode's opening is in the instructions"
            listed = {t.name: t for t in (await client.list_tools()).tools}
            assert set(listed) == {"reset", "respond", "calculate"}
            assert listed["calculate"].input_schema == local.tools[0].parameters

            early = await client.call_tool("respond", {"message": f"<answer>{task.value}</answer>"})
            assert not early.is_error and "Use the calculate tool" in early.content[0].text
            assert early.structured_content["reward_components"]["format"] < 0

            bad = await client.call_tool("calculate", {"expr": "1"})
            assert bad.is_error and "invalid arguments to 'calculate'" in bad.content[0].text

            result = await client.call_tool("calculate", {"expression": task.expression})
            assert not result.is_error and result.content[0].text == str(task.value)
            done = await client.call_tool("respond", {"message": f"<answer>{task.value}</answer>"})
            assert done.structured_content["outcome"] == 1.0 and done.structured_content["success"] is True
            assert done.structured_content["terminated"] and "episode over (solved)" in done.content[0].text

            over = await client.call_tool("calculate", {"expression": "1 + 1"})
            assert over.is_error and "call reset" in over.content[0].text
            again = await client.call_tool("reset", {"seed": 5})
            assert again.content[0].text == envarena.env.render_messages(list(opening))
            assert again.structured_content["seed"] == 5
            unknown = await client.call_tool("fly", {})
            assert unknown.is_error and "Unknown tool 'fly'" in unknown.content[0].text

    anyio.run(play)


def test_mcp_serve_rejects_bad_input_in_one_sentence():
    for args, message in [
        (["nope/none-v0"], "unknown environment 'nope/none-v0'"),
        (["tools/calculator-v0", "-e", "bogus=1"], "has no option 'bogus'"),
    ]:
        done = run_cli("mcp-serve", *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert re.fullmatch(rf"error: .*{re.escape(message)}.*\n", done.stderr), done.stderr


# ---------------------------------------------------------------------- the README's examples
def _readme_block(marker: str) -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(re.escape(marker) + r"\s*```python\n(.*?)```", readme, re.DOTALL)
    assert match, f"no python block after {marker!r}"
    return match.group(1)


def test_readme_mcp_examples_run(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)  # the examples name files under examples/
    try:
        exec(compile(_readme_block("<!-- example: mcp-tools -->"), "README.md", "exec"), {"__name__": "readme_mcp"})
    finally:
        registry.remove("demo/units-v0", missing_ok=True)
    exec(compile(_readme_block("<!-- example: mcp-serve -->"), "README.md", "exec"), {"__name__": "readme_mcp"})
    assert wait_until(lambda: not servers_running(REPO / "examples" / "mcp" / "units_server.py"))
