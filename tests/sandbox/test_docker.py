"""The docker backend, where a Docker daemon answers (none does on the CI machine)."""

from __future__ import annotations

import pytest

from envarena.sandbox import Limits, Sandbox, probe_backends

available, reason = probe_backends()["docker"]
pytestmark = pytest.mark.skipif(not available, reason=f"docker backend unavailable: {reason}")


def test_docker_runs_code_without_network_and_within_limits():
    with Sandbox("docker") as box:
        assert box.run(code="print(6 * 7)").stdout == "42\n"
        net = box.run(code="import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)")
        assert net.exit_code != 0
        assert box.run(code="while True: pass", limits=Limits(wall_seconds=1)).timed_out
        assert box.run(code="x = bytearray(4 * 1024**3)").exit_code != 0
