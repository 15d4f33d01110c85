"""The seccomp filter every sandboxed job runs under, compiled by libseccomp.

A job needs none of the kernel's namespace, mount, tracing, keyring or BPF interfaces, and
each is either a way out (a new user namespace hands back capabilities, ptrace reads another
process) or state that outlives the job (keys in the user keyring are shared by every job of
a worker). Denying them costs nothing at run time. The filter is compiled here, on the
trusted side, with the system's libseccomp (Debian's `libseccomp2`, which apt itself depends
on), and handed to the worker as raw BPF: the worker loads it in each job with one prctl,
after the job's namespaces are set up and before any job code runs.

Without libseccomp `job_filter()` returns None and jobs run without a filter (the bwrap
backend still disables nested user namespaces itself).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import tempfile

__all__ = ["DENIED_SYSCALLS", "job_filter"]

# Denied with EPERM, as if the job lacked the privilege (it does: this is defence in depth).
DENIED_SYSCALLS = (
    # namespaces and mounts: the job's isolation must stay as the worker set it up
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    # reading or steering other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # kernel keyrings: the user keyring is shared by every job of a worker
    "add_key", "keyctl", "request_key",
    # large kernel attack surfaces a Python job has no use for
    "bpf", "userfaultfd", "perf_event_open", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "quotactl", "quotactl_fd",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "acct", "swapon", "swapoff", "reboot", "syslog", "vhangup", "iopl", "ioperm",
)  # fmt: skip

# clone() may not create namespaces either; clone3() passes its flags in memory a filter
# cannot read, so it answers ENOSYS and the C library falls back to clone().
_CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)

_ACT_ALLOW = 0x7FFF0000
_CMP_MASKED_EQ = 7


def _act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def _load_libseccomp() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCmp)
    ]  # fmt: skip
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _check(result: int, what: str) -> None:
    if result < 0:
        raise OSError(-result, f"libseccomp: {what}: {os.strerror(-result)}")


@functools.cache
def job_filter() -> bytes | None:
    """The compiled filter (an array of `struct sock_filter`), or None without libseccomp."""
    lib = _load_libseccomp()
    if lib is None:
        return None
    ctx = lib.seccomp_init(_ACT_ALLOW)
    if not ctx:
        raise OSError("libseccomp: seccomp_init failed")
    try:
        deny = _act_errno(errno.EPERM)
        for name in DENIED_SYSCALLS:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue  # not a system call on this architecture
            _check(lib.seccomp_rule_add_array(ctx, deny, number, 0, None), name)
        clone = lib.seccomp_syscall_resolve_name(b"clone")
        for flag in _CLONE_NAMESPACE_FLAGS:
            rule = (_ArgCmp * 1)(_ArgCmp(0, _CMP_MASKED_EQ, flag, flag))
            _check(lib.seccomp_rule_add_array(ctx, deny, clone, 1, rule), "clone")
        clone3 = lib.seccomp_syscall_resolve_name(b"clone3")
        if clone3 >= 0:
            _check(lib.seccomp_rule_add_array(ctx, _act_errno(errno.ENOSYS), clone3, 0, None), "clone3")
        with tempfile.TemporaryFile() as out:
            _check(lib.seccomp_export_bpf(ctx, out.fileno()), "export")
            out.seek(0)
            program = out.read()
    finally:
        lib.seccomp_release(ctx)
    if not program or len(program) % 8:
        raise OSError("libseccomp exported no usable filter")
    return program
