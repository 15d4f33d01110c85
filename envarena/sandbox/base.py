"""What a sandboxed execution takes (`Limits`) and gives back (`ExecResult`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

__all__ = ["Backend", "ExecResult", "Job", "Limits", "SandboxUnavailable"]


class SandboxUnavailable(RuntimeError):
    """A backend cannot run on this machine; the message says why."""


class Limits(BaseModel):
    """Resource limits applied to every execution (rlimits, plus a wall clock)."""

    cpu_seconds: float = Field(default=10.0, gt=0)
    wall_seconds: float = Field(default=10.0, gt=0)
    memory_mb: int = Field(default=512, ge=32)
    max_processes: int = Field(default=32, ge=1)
    file_size_mb: int = Field(default=16, ge=1)
    open_files: int = Field(default=64, ge=8)
    output_bytes: int = Field(default=1 << 20, ge=1024)


class Job(BaseModel):
    """One execution: Python source (`code`) or a command (`argv`), with input files."""

    code: str | None = None
    argv: list[str] | None = None
    stdin: str = ""
    files: dict[str, str] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)


class ExecResult(BaseModel):
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    timed_out: bool = False
    memory_exceeded: bool = False
    output_truncated: bool = False
    duration: float = 0.0
    backend: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.memory_exceeded


class Backend(Protocol):
    name: str

    def run(self, job: Job) -> ExecResult: ...

    def close(self) -> None: ...


def make_job(
    command: Sequence[str] | None,
    code: str | None,
    stdin: str,
    files: Mapping[str, str] | None,
    limits: Limits | None,
) -> Job:
    if (command is None) == (code is None):
        raise ValueError("give exactly one of command= or code=")
    for name in files or {}:
        if name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"file name '{name}' must be relative and stay inside the sandbox")
    return Job(
        code=code,
        argv=list(command) if command is not None else None,
        stdin=stdin,
        files=dict(files or {}),
        limits=limits or Limits(),
    )
