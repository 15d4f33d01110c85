"""The program that runs inside a sandbox and executes jobs (stdlib only, no envarena).

Started once per pooled sandbox, it reads length-prefixed JSON jobs on stdin and answers on
stdout. Each job runs in a freshly forked child: its own directory under /tmp, its own
rlimits, stdout/stderr on pipes with a byte cap, a wall clock. Afterwards every other
process in the sandbox's PID namespace is killed and /tmp is wiped, so nothing a job starts
or writes survives into the next job. Forking a warm interpreter instead of starting one is
what makes an execution cost milliseconds.

Run as `python -c <this source> [--once]`: with --once it executes exactly one job (the
cold path) and exits.
"""

import builtins
import ctypes
import gc
import io
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback

_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}

# Set by the launcher. Only inside bwrap is /tmp a private tmpfs and the PID namespace ours
# alone; the `process` backend gives a private temp root and no namespace, so there the
# worker must kill only the job's own descendants and wipe only its own folder.
TMP_ROOT = os.environ.get("ENVARENA_TMP_ROOT", "/tmp")
PRIVATE_PIDS = os.environ.get("ENVARENA_PRIVATE_PIDS") == "1"

try:
    _LIBC = ctypes.CDLL(None)  # loaded once here: doing it in every forked child costs ~0.3 ms
except OSError:
    _LIBC = None


def _read_message(stream):
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    return json.loads(stream.read(size))


def _write_message(stream, obj):
    data = json.dumps(obj).encode()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _harden():
    """Jobs run as the same user as this worker: make it impossible to ptrace (not
    dumpable), and adopt orphaned grandchildren (child subreaper) so they can be found."""
    if _LIBC is not None:
        _LIBC.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
        _LIBC.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER = 1


def _set_limits(limits, nproc_base):
    mb = 1024 * 1024
    cpu = max(1, int(limits["cpu_seconds"] + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb, limits["memory_mb"] * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size_mb"] * mb, limits["file_size_mb"] * mb))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    nproc = nproc_base + limits["max_processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(job, program, workdir, out_w, err_w, nproc_base):
    """In the forked child: become the job. Never returns."""
    try:
        os.setsid()
        if _LIBC is not None:  # die with the worker, even where no PID namespace takes all down
            _LIBC.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if job.get("stdin"):
            stdin_path = os.path.join(workdir, ".stdin")
            with open(stdin_path, "w") as f:
                f.write(job["stdin"])
            stdin_fd = os.open(stdin_path, os.O_RDONLY)
            os.unlink(stdin_path)
        else:
            stdin_fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 65536)
        os.chdir(workdir)
        _set_limits(job["limits"], nproc_base)
        if job.get("argv"):
            os.execvpe(job["argv"][0], job["argv"], {**_ENV, "HOME": workdir, "TMPDIR": workdir})
        os.environ.clear()
        os.environ.update(_ENV, HOME=workdir, TMPDIR=workdir)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r"), encoding="utf-8", errors="replace")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w"), encoding="utf-8", errors="replace", line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w"), encoding="utf-8", errors="replace", line_buffering=True)
        sys.argv = ["main.py"]
        sys.path[:] = [workdir] + [p for p in sys.path if p and p != os.getcwd()]
        code = 0
        try:
            if program is None:  # did not compile in the worker: compile here to raise the error
                program = compile(job["code"], "main.py", "exec")
            exec(program, {"__name__": "__main__", "__builtins__": builtins, "__file__": "main.py"})
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            kind, value, trace = sys.exc_info()
            traceback.print_exception(kind, value, trace.tb_next)  # hide this worker's frame
            code = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code & 0xFF)
    except BaseException:
        try:
            os.write(2, traceback.format_exc().encode())
        finally:
            os._exit(127)


def _descendants(root):
    """PIDs whose parent chain leads to `root` (for when there is no private namespace)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= frontier
    return found


def _kill_everything_else(job_pid):
    """Kill what the job left behind: in a private PID namespace, every process but its
    init (1) and this worker; otherwise the job's process group and its descendants."""
    me = os.getpid()
    if not PRIVATE_PIDS:
        try:
            os.killpg(job_pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for _ in range(5):
        if PRIVATE_PIDS:
            others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        else:
            others = sorted(_descendants(me))
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        time.sleep(0.001)


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _wipe_tmp():
    for entry in os.listdir(TMP_ROOT):
        path = os.path.join(TMP_ROOT, entry)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def run_job(job, nproc_base):
    limits = job["limits"]
    cap = limits["output_bytes"]
    workdir = tempfile.mkdtemp(prefix="job-", dir=TMP_ROOT)
    for name, content in (job.get("files") or {}).items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    program = None
    if job.get("code") is not None:
        try:  # compiling after the fork costs ~1 ms of copy-on-write faults; before, almost nothing
            program = compile(job["code"], "main.py", "exec")
        except (SyntaxError, ValueError):
            pass
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(err_r)
        _child(job, program, workdir, out_w, err_w, nproc_base)
    os.close(out_w)
    os.close(err_w)
    buffers = {out_r: bytearray(), err_r: bytearray()}
    truncated = False
    timed_out = False
    status = None
    deadline = start + limits["wall_seconds"]
    open_fds = [out_r, err_r]
    while True:
        if status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
        if status is not None and not open_fds:
            break
        now = time.monotonic()
        if now >= deadline:
            timed_out = status is None
            break
        wait = 0.0 if status is not None else min(0.05, deadline - now)
        ready, _, _ = select.select(open_fds, [], [], wait) if open_fds else ([], [], [])
        if not ready and status is not None:
            break  # the job ended; a straggler may hold the pipe open
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
                continue
            room = cap - len(buffers[fd])
            if room > 0:
                buffers[fd] += chunk[:room]
            if len(chunk) > room:
                truncated = True
        if not ready and time.monotonic() - start > 0.02:
            time.sleep(0)
    if status is None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _, status = os.waitpid(pid, 0)
    duration = time.monotonic() - start
    _kill_everything_else(pid)
    for fd in (out_r, err_r):
        os.close(fd)
    _wipe_tmp()
    if os.WIFSIGNALED(status):
        exit_code = -os.WTERMSIG(status)
    else:
        exit_code = os.WEXITSTATUS(status)
    stderr = buffers[err_r].decode("utf-8", errors="replace")
    cpu_killed = exit_code in (-signal.SIGXCPU, -signal.SIGKILL) and not timed_out and duration < limits["wall_seconds"]
    return {
        "stdout": buffers[out_r].decode("utf-8", errors="replace"),
        "stderr": stderr,
        "exit_code": exit_code,
        "timed_out": timed_out or exit_code == -signal.SIGXCPU,
        "memory_exceeded": "MemoryError" in stderr or ("Cannot allocate memory" in stderr and exit_code != 0),
        "output_truncated": truncated,
        "duration": duration,
        "cpu_killed": cpu_killed,
    }


# Modules generated code imports all the time; importing them once here makes the import in
# each forked job a dictionary lookup instead of milliseconds of work.
_PRELOAD = (
    "typing", "math", "re", "collections", "itertools", "functools", "heapq", "bisect", "string",
    "random", "statistics", "fractions", "decimal", "copy", "operator", "dataclasses", "hashlib", "datetime",
)


def _preload():
    import importlib

    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def main():
    _harden()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    once = "--once" in sys.argv
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    os.environ.clear()
    if not once:  # a one-job worker would pay the imports and never profit
        _preload()
    gc.freeze()  # keep the warm heap out of the collector: fewer copy-on-write faults per fork
    while True:
        job = _read_message(stdin)
        if job is None:
            return
        _write_message(stdout, run_job(job, int(job.get("nproc_base", 0))))
        if once:
            return


if __name__ == "__main__":
    main()
