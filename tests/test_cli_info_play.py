"""`envarena info` shows the options in effect; Ctrl-C ends `envarena play` at once."""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time

import pytest


def _options_line(stdout: str) -> dict:
    (line,) = [line for line in stdout.splitlines() if line.startswith("options: ")]
    return json.loads(line.removeprefix("options: "))


def test_info_prints_the_options_given_merged_with_the_defaults(cli):
    default = cli("info", "games/wordle-v0")
    assert default.returncode == 0, default.stderr
    assert _options_line(default.stdout)["difficulty"] == "medium" and "max turns: 10;" in default.stdout
    easy = cli("info", "games/wordle-v0", "-e", "difficulty=easy")
    assert easy.returncode == 0, easy.stderr
    assert _options_line(easy.stdout) == {**_options_line(default.stdout), "difficulty": "easy"}
    assert "max turns: 12;" in easy.stdout and "at most 8 guesses" in easy.stdout  # the env built with them
    seat = cli("info", "games/tictactoe-v0", "-e", "seat=o", "-e", "difficulty=hard")
    assert seat.returncode == 0, seat.stderr
    assert _options_line(seat.stdout)["seat"] == "o" and _options_line(seat.stdout)["difficulty"] == "hard"
    bad = cli("info", "games/wordle-v0", "-e", "difficulty=impossible")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and not bad.stdout


def _read_until(fd: int, token: bytes, seen: bytearray, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while token not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                return token in seen
            if not chunk:
                break
            seen += chunk
    return token in seen


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a Linux pseudo-terminal")
def test_ctrl_c_at_the_play_prompt_ends_the_game_at_once():
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: `envarena play` on the pseudo-terminal, as a person runs it
        os.execv(sys.executable, [sys.executable, "-m", "envarena", "play", "games/mastermind-v0"])
    seen, status = bytearray(), None
    try:
        assert _read_until(fd, b"> ", seen, timeout=120), seen.decode(errors="replace")
        os.write(fd, b"\x03")  # Ctrl-C, typed: the terminal sends SIGINT to the game
        deadline = time.monotonic() + 15
        while status is None and time.monotonic() < deadline:
            _read_until(fd, b"\0", seen, timeout=0.2)  # keep draining the terminal
            done, raw = os.waitpid(pid, os.WNOHANG)
            status = os.waitstatus_to_exitcode(raw) if done else None
        assert status is not None, "play still waits after Ctrl-C: " + seen.decode(errors="replace")[-300:]
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    text = seen.decode(errors="replace")
    assert status == 130
    assert "game abandoned" in text and "Traceback" not in text and "re-run resumes" not in text
