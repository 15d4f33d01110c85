"""Nothing outlives an execution: no process, no temp directory, whatever happened."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from envarena.sandbox import Limits, Sandbox

BACKENDS = ["bwrap", "process"]


def sandbox_processes() -> list[int]:
    """Every process on the machine that belongs to a sandbox (bwrap or worker)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"PR_SET_CHILD_SUBREAPER" in cmdline or b"ENVARENA_PRIVATE_PIDS" in cmdline:
                found.append(int(entry))
    return found


def temp_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("envarena-sandbox-*")}


def _settled(expected: list[int], timeout: float = 10) -> list[int]:
    """Wait until no sandbox process exists beyond `expected`; return `expected` then.
    (Processes from earlier tests may finish dying meanwhile: only new ones count.)"""
    deadline = time.monotonic() + timeout
    while True:
        extra = sorted(set(sandbox_processes()) - set(expected))
        if not extra or time.monotonic() > deadline:
            return expected if not extra else expected + extra
        time.sleep(0.05)


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "bwrap" and not __import__("shutil").which("bwrap"):
        pytest.skip("bubblewrap is not installed")
    return request.param


@pytest.mark.filterwarnings("ignore:the 'process' sandbox backend is NOT isolation")
@pytest.mark.parametrize("pooled", [False, True])
def test_nothing_left_after_normal_timeout_and_crash(backend, pooled):
    before_procs, before_dirs = sandbox_processes(), temp_dirs()
    with Sandbox(backend, pool_size=2 if pooled else 0) as box:
        assert box.run(code="print('fine')").stdout == "fine\n"
        assert box.run(code="while True: pass", limits=Limits(wall_seconds=0.5)).timed_out
        assert box.run(code="import os; os.abort()").exit_code != 0
        spawner = "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\nprint('spawned')"
        assert box.run(code=spawner).stdout == "spawned\n"
    assert _settled(before_procs) == before_procs
    assert temp_dirs() == before_dirs


@pytest.mark.filterwarnings("ignore:the 'process' sandbox backend is NOT isolation")
def test_cancelling_the_caller_kills_the_execution(backend):
    before = sandbox_processes()

    async def main() -> None:
        with Sandbox(backend, pool_size=1) as box:
            task = asyncio.create_task(box.arun(code="import time; time.sleep(60)", limits=Limits(wall_seconds=60)))
            await asyncio.sleep(1.0)
            assert len(sandbox_processes()) > len(before)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert _settled(before, timeout=5) == before  # before the pool is even closed
            assert (await box.arun(code="print(7)")).stdout == "7\n"

    asyncio.run(main())
    assert _settled(before) == before


@pytest.mark.skipif(__import__("shutil").which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_killed_caller_leaves_no_sandbox_behind(tmp_path):
    """Needs namespaces (--die-with-parent): the process backend promises no such thing."""
    backend = "bwrap"
    before = sandbox_processes()
    script = textwrap.dedent(f"""
        import warnings; warnings.simplefilter("ignore")
        from envarena.sandbox import Sandbox, Limits
        box = Sandbox({backend!r}, pool_size=2)
        print("ready", flush=True)
        box.run(code="import time; time.sleep(60)", limits=Limits(wall_seconds=60))
    """)
    caller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert caller.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    assert len(sandbox_processes()) > len(before)
    os.kill(caller.pid, signal.SIGKILL)
    caller.wait()
    assert _settled(before) == before
