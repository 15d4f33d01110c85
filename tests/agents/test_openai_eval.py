"""`envarena eval` with the `openai:` agent against a real `envarena serve` on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from envarena import InvalidOptionError
from envarena.agents import load_policy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory):
    """`envarena serve` on a tiny saved model (seconds to start on a busy CPU, nothing to download)."""
    from envarena.train.tiny import build_tiny

    folder = tmp_path_factory.mktemp("tiny") / "model"
    model, tokenizer = build_tiny()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "envarena", "serve", str(folder), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    try:
        while True:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "envarena serve did not start"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        yield str(folder), f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_eval_keeps_one_openai_policy_open_across_environments(tiny_server, cli, tmp_path):
    model, base = tiny_server
    result = cli("eval", "text/copy-v0", "text/arithmetic-v0", "--agent", f"openai:{model}@{base}", "-n", "2",
                 "-a", "max_new_tokens=4", "-a", "timeout=60", "--out-dir", "ev", cwd=tmp_path, timeout=300)
    files = sorted((tmp_path / "ev").glob("*.jsonl"))
    errors = {f.name: [json.loads(line)["error"] for line in f.read_text().splitlines()] for f in files}
    assert len(files) == 2 and all(e == [None, None] for e in errors.values()), errors
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert [r["errors"] for r in report["environments"]] == [0, 0]


def test_eval_exits_nonzero_when_episodes_error(cli, tmp_path):
    down = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    result = cli("eval", "text/copy-v0", "--agent", f"openai:m@{down}", "-n", "2", "-a", "max_retries=0",
                 "-a", "timeout=5", "-a", "endpoint=chat", "--out-dir", "ev", cwd=tmp_path, timeout=300)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "2 of 2 on text/copy-v0" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "ev" / "report.json").exists(), "the report is still written"


def test_openai_agent_without_a_server_address_refuses_to_start(cli, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(InvalidOptionError, match="needs the server's address"):
        load_policy("openai:gpt-4o")
    result = cli("rollout", "text/copy-v0", "--agent", "openai:gpt-4o", "-n", "1")
    assert result.returncode == 2 and "openai:gpt-4o@URL" in result.stderr and "OPENAI_BASE_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # named by the environment: accepted
    assert load_policy("openai:gpt-4o", endpoint="chat").base_url == "http://127.0.0.1:9/v1"
