"""Attacks a sandboxed program might try. Under bwrap each must be contained and reported,
without harming the caller; the pool must keep working afterwards."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from envarena.sandbox import Limits, Sandbox

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

FAST = Limits(wall_seconds=3, cpu_seconds=3)


@pytest.fixture(scope="module", params=["pooled", "cold"])
def sandbox(request):
    with Sandbox("bwrap", pool_size=2 if request.param == "pooled" else 0) as box:
        yield box


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1] if text.strip() else ""


def test_no_outbound_network(sandbox):
    result = sandbox.run(code="import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)", limits=FAST)
    assert result.exit_code != 0 and "Network is unreachable" in result.stderr


def test_cannot_read_the_users_home_or_host_files(sandbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    for path in [str(secret), os.path.expanduser("~/.bashrc"), "/etc/shadow", "/work"]:
        result = sandbox.run(code=f"print(open({path!r}).read())", limits=FAST)
        assert result.exit_code != 0 and "top secret" not in result.stdout, path
        assert "No such file" in result.stderr or "Permission denied" in result.stderr or "Is a directory" in result.stderr


def test_cannot_write_outside_tmp(sandbox):
    code = (
        "import os\nfor p in ['/usr/evil', '/evil', '/proc/evil', '/bin/evil']:\n"
        "    try:\n        open(p, 'w').write('x')\n        print('WROTE', p)\n    except OSError as e:\n        print('denied', p)\n"
        "open('/tmp/ok.txt', 'w').write('fine')\nprint('tmp ok')"
    )
    result = sandbox.run(code=code, limits=FAST)
    assert "WROTE" not in result.stdout and "tmp ok" in result.stdout
    assert not os.path.exists("/usr/evil") and not os.path.exists("/evil")


def test_fork_bomb_is_stopped(sandbox):
    started = time.monotonic()
    result = sandbox.run(code="import os\nwhile True:\n    os.fork()", limits=FAST)
    assert result.exit_code != 0 or result.timed_out
    assert time.monotonic() - started < 10
    assert sandbox.run(code="print('still alive')").stdout == "still alive\n"


def test_memory_bomb_is_stopped(sandbox):
    result = sandbox.run(code="blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024 * 1024))", limits=FAST)
    assert result.memory_exceeded and result.exit_code != 0


def test_infinite_loop_times_out(sandbox):
    result = sandbox.run(code="while True:\n    pass", limits=Limits(wall_seconds=1, cpu_seconds=5))
    assert result.timed_out and 0.9 < result.duration < 3


def test_cpu_limit_preempts_busy_code(sandbox):
    result = sandbox.run(code="while True:\n    pass", limits=Limits(wall_seconds=10, cpu_seconds=1))
    assert result.timed_out and result.duration < 5


def test_child_outliving_its_parent_is_killed(sandbox):
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        time.sleep(0.5)\n        open('/tmp/marker', 'w').write('survived')\n        time.sleep(60)\n"
        "    os._exit(0)\nprint('parent done')"
    )
    result = sandbox.run(code=code, limits=FAST)
    assert result.stdout == "parent done\n" and result.duration < 2
    time.sleep(1)
    later = sandbox.run(code="import os\nprint(sorted(os.listdir('/tmp')), len([p for p in os.listdir('/proc') if p.isdigit()]))")
    assert "marker" not in later.stdout


def test_huge_output_is_capped_and_marked(sandbox):
    result = sandbox.run(code="import sys\nsys.stdout.write('x' * (100 * 1024 * 1024))", limits=Limits(wall_seconds=20))
    assert result.output_truncated and len(result.stdout) == Limits().output_bytes


def test_secrets_in_the_callers_environment_are_invisible(sandbox, monkeypatch):
    monkeypatch.setenv("ENVARENA_TEST_SECRET", "hunter2")
    result = sandbox.run(code="import os\nprint(dict(os.environ))\nprint(open('/proc/1/environ', 'rb').read())")
    assert "hunter2" not in result.stdout + result.stderr
    assert "ENVARENA_TEST_SECRET" not in result.stdout


def test_a_job_cannot_read_another_jobs_tmp_files(sandbox):
    first = sandbox.run(code="import os\nopen('/tmp/leak.txt', 'w').write('secret')\nopen('leak2.txt', 'w').write('s')\nprint(os.getcwd())")
    assert first.exit_code == 0
    workdir = first.stdout.strip()
    for _ in range(3):  # whichever worker the next job lands on
        probe = sandbox.run(code=f"import os\nprint(os.path.exists('/tmp/leak.txt'), os.path.exists({workdir!r}))")
        assert probe.stdout.strip() == "False False"


def test_killing_the_worker_from_inside_is_survived(sandbox):
    result = sandbox.run(code="import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", limits=FAST)
    assert result.exit_code != 0
    assert sandbox.run(code="print(42)").stdout == "42\n"


def test_files_and_stdin_reach_the_job(sandbox):
    result = sandbox.run(code="import sys\nprint(open('data/in.txt').read(), sys.stdin.read())",
                         files={"data/in.txt": "file"}, stdin="input")
    assert result.stdout == "file input\n"
    with pytest.raises(ValueError, match="inside the sandbox"):
        sandbox.run(code="print(1)", files={"../escape": "x"})


def test_commands_run_too(sandbox):
    result = sandbox.run(["/bin/sh", "-c", "echo $HOME; id -u"], limits=FAST)
    assert result.exit_code == 0 and result.stdout.splitlines()[0].startswith("/tmp/")
