"""Progress and summaries that tell the truth: a live line while a model generates (episodes,
running mean reward, tokens/s, ETA), a plain line in logs, and a summary that labels latency
as latency next to throughput."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

from envarena.rollout.progress import RolloutProgress
from envarena.rollout.summary import busy_seconds, summarize
from envarena.types import Episode

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _run_in_terminal(args: list[str], cwd, timeout: float) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (where rich draws its live line), as in a
    user's shell; return the exit code, what the terminal showed and stdout."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "envarena", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not data:
            break
        shown += data
    os.close(master)
    stdout = process.stdout.read().decode()
    code = process.wait(timeout=60)
    return code, _ANSI.sub("", shown.decode(errors="replace")), stdout


def test_a_model_rollout_shows_a_live_line_while_the_model_generates(smollm2, tmp_path):
    code, shown, stdout = _run_in_terminal(
        ["rollout", "text/arithmetic-v0", "--agent", "hf:smollm2-135m", "-n", "2", "-e", "max_attempts=1",
         "-a", "max_new_tokens=64", "-a", "temperature=0", "--out", "r.jsonl"], tmp_path, timeout=600)
    assert code == 0, shown + stdout
    frames = [f.strip() for f in re.split(r"[\r\n]", shown) if f.strip()]
    # Before any episode has finished, the line already shows the tokens being generated...
    during = [f for f in frames if re.search(r"^episodes\b.*\b0/2 reward -\s+\d+\.\d tok/s\s+ETA -", f)]
    assert during, frames[-10:]
    # ...and at the end the episodes, their mean reward, the rate and a finished ETA.
    end = r"^episodes\b.*\b2/2 reward -?\d\.\d{3}\s+\d+\.\d tok/s\s+ETA 0:00:00"
    assert any(re.search(end, f) for f in frames), frames[-5:]
    assert "wrote 2 episodes" in stdout


def _episode(reward: float, start: float = 1000.0, duration: float = 1.0) -> Episode:
    return Episode(id=f"e{reward}{start}", env_id="text/arithmetic-v0", seed=0, agent="x", total_reward=reward,
                   started_at=start, duration_s=duration)


def test_in_a_log_the_progress_is_a_plain_line_every_interval():
    log = io.StringIO()  # not a terminal
    with RolloutProgress(True, total=4, already=1, stream=log, interval=0.05) as advance:
        advance(_episode(1.0))
        advance(_episode(0.0))
        time.sleep(0.3)
    lines = log.getvalue().splitlines()
    assert lines and "\x1b" not in log.getvalue()
    assert re.fullmatch(r"episodes 3/4  reward 0\.500  - tok/s  ETA 0:00:\d\d  elapsed 0:00:00", lines[-1]), lines
    assert sum("episodes 3/4" in line for line in lines) == 1  # a line again only when something moved


def test_busy_seconds_count_overlapping_episodes_once_and_skip_gaps():
    spans = [(0.0, 10.0), (5.0, 5.0), (12.0, 3.0), (100.0, 2.0)]  # two overlap; a resume much later
    episodes = [_episode(0.0, start=1000 + s, duration=d) for s, d in spans]
    assert busy_seconds(episodes) == 10.0 + 3.0 + 2.0
    (row,) = summarize(episodes)
    assert row.episodes_per_s == 4 / 15.0 and row.mean_seconds == (10 + 5 + 3 + 2) / 4


def test_the_summary_labels_latency_next_to_throughput(cli, tmp_path):
    result = cli("rollout", "text/arithmetic-v0", "--agent", "scripted", "-n", "3", "--out", "r.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "environment" in line)
    for column in ("s/ep", "ep/s", "tok/s"):
        assert column in header
    assert "latency" in result.stdout and "latency: mean seconds one episode takes" in result.stdout
