"""The sandbox fork server: one per host process, one fresh process per grade.

Run by ``graders.sandbox.pool`` as ``python -I _server.py FD`` with a scrubbed
environment, stdin on /dev/null and no inherited descriptor but the control
socket FD. It imports nothing from the toolkit, so user code never shares a
process with it.

Four kinds of process, so that forking stays cheap (in a VM a copy-on-write
page fault costs ~5 us, and a Python process that forks pays one for every page
it writes afterwards):

* the *server* (this module's ``main``) isolates itself once, then supervises:
  it reads requests, owns every pipe, timeout and exit status. It never forks
  per grade, so its own work costs no copy-on-write faults;
* two *base zygotes*: a lean one, forked from the server at start (before any
  request), with only the modules the server itself needs (json, re, collections,
  math, random, ...), and a warm one, cloned from it, that has also imported the
  stdlib modules graders often use
  (``CONVENIENCE_MODULES``) and the preloaded packages (numpy). A grade whose
  source names one of the warm zygote's extra modules goes to the warm one; the
  rest go to the lean one, whose smaller address space makes each fork and exit
  cheaper (a grader that imports nothing costs ~10% less CPU). A zygote's loop
  does nothing but receive a grade's descriptors and fork, so it touches a handful
  of pages per grade. A base zygote never reads a source or a request; one that
  dies is replaced by a clone of the other (never a fork of the server, whose memory
  holds what is left of earlier requests), and with both gone the server exits so
  that the host starts a fresh one;
* *source zygotes*, cloned from a base zygote for each of the ``SOURCE_ZYGOTES``
  sources graded most recently: each compiles its one source (in a helper under
  limits) and clones that source's grades, which inherit the code object instead of
  compiling it again. A process holds no other grader's code, so nothing of one
  grader can be read from another's memory;
* the *grade* process, created by a zygote with ``clone(CLONE_PARENT)``: it is
  the server's child (the server reaps it and gets its status and rusage), PID 1
  of a new PID namespace (every process the grade starts dies with it) and owner
  of a new mount namespace where a tmpfs of ``disk_mb`` is its directory (freed
  by the kernel when the grade ends). It sets rlimits, drops to a per-grade uid
  (root) or drops all capabilities (user namespace), and runs
  ``grade(sample, item)`` exactly once.

At start the server isolates itself (Linux): new network, mount, IPC and UTS
namespaces (inside a new user namespace when not root), a read-only view of
every mount, and a private tmpfs on /tmp.

Wire format with the host, both ways: 4-byte big-endian length + a JSON object.
The server hands a grade its request as marshal data (it is the server's own
output), and the grade answers in JSON (it is the grade's, so parsed as untrusted).

Why the grade's path is written the way it is: every page a grade process writes
after the clone is a copy-on-write fault (~3 us in a VM), and Python writes a page
whenever it touches an object (reference counts). So the grade does as little
Python as it can: marshal instead of json, a hand-made JSON answer for the common
float result, no recompilation (source zygotes), and the short at-fork path of ``_clone``.
"""

from __future__ import annotations

import collections
import ctypes
import errno
import fcntl
import gc
import json
import linecache
import marshal
import math
import numbers
import os
import random  # also reseeded in each grade (see _clone)
import re
import resource
import select
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
import types
import typing

# Imported by the warm zygote besides the preloaded packages: stdlib modules that graders often
# import and that the server does not (json, re, collections, math and random it has already).
CONVENIENCE_MODULES = ("dataclasses", "datetime", "decimal", "difflib", "fractions", "statistics", "string")

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x1, 0x2, 0x4, 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 2
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY = 0x1
SYS_MOUNT_SETATTR = 442  # same number on x86_64 and aarch64
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine)
# clone(flags, 0, 0, 0, 0) behaves like fork(); only the raw syscall takes CLONE_PARENT.
SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine) if sys.platform.startswith("linux") else None
CLONE_PARENT = 0x00008000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

# Per-grade uids when the server runs as root: no passwd entry, far from real users.
UID_BASE, UID_SPAN = 1_500_000_000, 1 << 20
WORK_ROOT = "/tmp"
# Where each grade mounts its own tmpfs, inside its own mount namespace: the same path for every
# grade (so the environment is set once, in the zygote), and never written in the server's view.
GRADE_DIR = "/tmp/grade"
# Grades running at once, per core (GRADERS_SANDBOX_CONCURRENCY overrides the total).
GRADES_PER_CORE = 12
RESULT_FD = 3
RESULT_CAP = 1 << 20
TAIL_BYTES = 4096
TRACEBACK_LINES = 30
TRACEBACK_CHARS = 4000

_libc = ctypes.CDLL(None, use_errno=True)
# Holds the GIL across the call, like os.fork(): the clone()d child resumes with it held.
_pylibc = ctypes.PyDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- isolation, once


class Isolation:
    """What this server managed to set up; reported to the host (``graders doctor``)."""

    def __init__(self) -> None:
        self.root = os.geteuid() == 0
        self.features: dict[str, object] = {
            "platform": sys.platform,
            "running_as_root": self.root,
            "user_namespace": False,
            "network_namespace": False,
            "mount_namespace": False,
            "ipc_uts_namespaces": False,
            "readonly_filesystem": False,
            "private_tmp": False,
            "pid_namespace_per_grade": False,
            "tmpfs_disk_quota_per_grade": False,
            "uid_per_grade": False,
            "capabilities_dropped": False,
            "no_new_privs": True,
            "rlimits": ["RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_CORE"],
            "fd_closing": "close_range" if sys.version_info >= (3, 10) else "closerange",
            "stdin": "/dev/null",
            "environment": "allow-list (set by the host)",
            "preloaded": [],
        }
        self.warnings: list[str] = []
        self.covered: set[str] = set()
        self.grade_tmpfs = False

    def setup(self) -> None:
        # For tests and diagnosis: GRADERS_SANDBOX_DISABLE=pidns,tmpfs,... turns features off.
        self.disabled = set(os.environ.get("GRADERS_SANDBOX_DISABLE", "").split(","))
        if not sys.platform.startswith("linux") or "all" in self.disabled:
            self.warnings.append(f"no OS isolation on {sys.platform}: grades run with rlimits only, WITH network")
            return
        if "namespaces" not in self.disabled:
            self._namespaces()
        if self.features["mount_namespace"]:
            self._filesystem()
        if "pidns" not in self.disabled:
            self._pid_namespace()
        if self.root:
            # setresuid() to a non-zero uid clears every capability.
            self.features["uid_per_grade"] = True
            self.features["capabilities_dropped"] = True
        else:
            self.features["capabilities_dropped"] = bool(self.features["user_namespace"]) and SYS_CAPSET is not None

    def _namespaces(self) -> None:
        base = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
        uid, gid = os.getuid(), os.getgid()
        attempts = [base] if self.root else []
        attempts.append(base | CLONE_NEWUSER)
        error = None
        for flags in attempts:
            try:
                _unshare(flags)
            except OSError as exc:
                error = exc
                continue
            if flags & CLONE_NEWUSER:
                # Identity map: files keep their owners, and we keep our own uid.
                _write("/proc/self/setgroups", "deny")
                _write("/proc/self/uid_map", f"{uid} {uid} 1")
                _write("/proc/self/gid_map", f"{gid} {gid} 1")
                self.features["user_namespace"] = True
            self.features["network_namespace"] = True
            self.features["mount_namespace"] = True
            self.features["ipc_uts_namespaces"] = True
            return
        self.warnings.append(
            f"cannot create namespaces ({error}): python graders run WITH network access and a shared filesystem"
        )

    def _filesystem(self) -> None:
        try:
            _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
        except OSError as exc:
            self.warnings.append(f"cannot make mounts private: {exc}")
            return
        attr = struct.pack("QQQQ", MOUNT_ATTR_RDONLY, 0, 0, 0)
        buf = ctypes.create_string_buffer(attr, len(attr))
        rc = _libc.syscall(
            ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), b"/",
            ctypes.c_uint(AT_RECURSIVE), buf, ctypes.c_size_t(len(attr)),
        )
        if rc == 0:
            self.features["readonly_filesystem"] = True
        else:
            self.warnings.append(f"cannot make the filesystem read-only: {os.strerror(ctypes.get_errno())}")
        # A Python environment under /tmp (a CI checkout's .venv, say) must stay importable
        # once the private /tmp hides it: hold it open now, bind it back read-only after.
        kept = self._hold_python_paths_under(WORK_ROOT)
        try:
            _mount("tmpfs", WORK_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0711")
            self.features["private_tmp"] = True
        except OSError as exc:
            self.warnings.append(f"cannot mount a private /tmp: {exc}")
            for fd in kept.values():
                os.close(fd)
            return
        self._bind_back(kept)
        if self.root:
            self._expose_python()
        if "tmpfs" in self.disabled:
            return
        probe = os.path.join(WORK_ROOT, "probe")
        os.mkdir(probe)
        try:
            _mount("tmpfs", probe, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
            _libc.umount2(probe.encode(), MNT_DETACH)
            self.grade_tmpfs = SYS_CLONE is not None
        except OSError as exc:
            self.warnings.append(f"no tmpfs per grade ({exc}): disk is limited per file only (RLIMIT_FSIZE)")
        os.rmdir(probe)
        if self.grade_tmpfs:
            os.mkdir(GRADE_DIR, 0o755)  # stays empty here: grades mount over it in their own namespace
            self.features["tmpfs_disk_quota_per_grade"] = True

    @staticmethod
    def _hold_python_paths_under(root: str) -> dict[str, int]:
        """Open every import directory below ``root`` (not ``root`` itself): path -> fd."""
        held: dict[str, int] = {}
        for path in sorted({os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}):
            if path.startswith(root + "/") and not any(path.startswith(h + "/") for h in held):
                held[path] = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        return held

    def _bind_back(self, held: dict[str, int]) -> None:
        for path, fd in held.items():
            try:
                os.makedirs(path, mode=0o755, exist_ok=True)
                _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
                _mount("none", path, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
            except OSError as exc:
                self.warnings.append(f"cannot keep {path} importable under the private /tmp: {exc}")
            finally:
                os.close(fd)

    def _expose_python(self) -> None:
        """Let per-grade uids read the Python install even when it lives under /root (0700).

        A read-only tmpfs replaces the unreadable ancestor (hiding its other files) and only
        the install is bind-mounted back into it.
        """
        for path in sorted({os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}):
            blocked = _first_closed_ancestor(path)
            if blocked is None:
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
                if not os.path.ismount(blocked) or blocked not in self.covered:
                    _mount("tmpfs", blocked, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
                    self.covered.add(blocked)
                os.makedirs(path, exist_ok=True)
                _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
                _mount("none", path, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
                os.close(fd)
            except OSError as exc:
                self.warnings.append(f"cannot expose {path} to the sandbox uid: {exc}")

    def _pid_namespace(self) -> None:
        if SYS_CLONE is None:
            self.warnings.append("no PID namespace per grade (unknown architecture): stray processes are killed by group")
            return
        # The probe child runs no Python: it only checks that it is PID 1 of its namespace.
        pid = _pylibc.syscall(ctypes.c_long(SYS_CLONE), ctypes.c_ulong(CLONE_NEWPID | signal.SIGCHLD), 0, 0, 0, 0)
        if pid == 0:
            os._exit(0 if os.getpid() == 1 else 1)
        if pid < 0:
            err = ctypes.get_errno()
            self.warnings.append(f"no PID namespace per grade ({os.strerror(err)}): stray processes are killed by group")
            return
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            self.features["pid_namespace_per_grade"] = True
        else:
            self.warnings.append("no PID namespace per grade (probe failed): stray processes are killed by group")

    def clone_flags(self) -> int:
        """Namespaces each grade process gets at birth."""
        flags = CLONE_PARENT | signal.SIGCHLD
        if self.features["pid_namespace_per_grade"]:
            flags |= CLONE_NEWPID
        if self.grade_tmpfs:
            flags |= CLONE_NEWNS
        return flags


def _first_closed_ancestor(path: str) -> str | None:
    """The highest directory on ``path`` that "others" cannot traverse, if any."""
    current = "/"
    for part in path.strip("/").split("/"):
        current = os.path.join(current, part)
        if not os.stat(current).st_mode & 0o001:
            return current
    return None


def _vm_size() -> int:
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) << 10
    except OSError:
        pass
    return 0


def _preload(names: list[str]) -> list[str]:
    loaded = []
    for name in names:
        try:
            __import__(name.strip())
            loaded.append(name.strip())
        except Exception:
            pass
    return loaded


# ---------------------------------------------------------------- the grade child


def _drop_privileges(iso: Isolation, uid: int) -> None:
    # PR_SET_NO_NEW_PRIVS and setgroups([]) were done once, in the zygote.
    if iso.root:
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    elif iso.features["user_namespace"] and SYS_CAPSET is not None:
        header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
        data = bytes(24)  # two empty {effective, permitted, inheritable} sets
        _check(_libc.syscall(ctypes.c_long(SYS_CAPSET), header, data), "capset")


def _set_limits(limits: dict[str, typing.Any], iso: Isolation) -> None:
    setrlimit = resource.setrlimit
    cpu = max(1, math.ceil(float(limits["cpu_seconds"])))
    # Soft limit sends SIGXCPU (we report timeout); the hard one SIGKILLs a grade that ignores it.
    setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # The budget is the grade's own: on top of the address space its zygote already maps
    # (numpy alone reserves a few hundred MB of virtual memory it never touches).
    memory = (int(limits["memory_mb"]) << 20) + _BASELINE_VM
    setrlimit(resource.RLIMIT_AS, (memory, memory))
    disk = int(limits["disk_mb"]) << 20
    setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
    setrlimit(resource.RLIMIT_CORE, (0, 0))
    files = int(limits["max_open_files"])
    setrlimit(resource.RLIMIT_NOFILE, (files, files))
    nproc = int(limits["max_processes"])
    if not iso.root:
        # Counted per (user namespace, uid): shared by concurrent grades and the server.
        nproc += 256
    setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


_BASELINE_VM = 0  # the zygote's address space, set once it has imported everything


def _child(seq: int, code_object: types.CodeType | None, fds: list[int], iso: Isolation) -> None:
    """In the grade process (fresh from a zygote); never returns.

    ``fds`` = [request memfd, result pipe, output pipe]; ``seq`` = the grade's sequence number;
    ``code_object`` = the source compiled by the zygote, if it had it (else compiled here).
    Signal dispositions, stdin, the environment and no_new_privs were set in the zygote.
    """
    code = 0
    try:
        req_fd, w_res, w_out = fds
        # Move our descriptors out of the way before fds 1-3 are overwritten.
        req_fd = fcntl.fcntl(req_fd, fcntl.F_DUPFD, 20)
        w_res = fcntl.fcntl(w_res, fcntl.F_DUPFD, 20)
        w_out = fcntl.fcntl(w_out, fcntl.F_DUPFD, 20)
        os.dup2(w_res, RESULT_FD)
        os.dup2(w_out, 1)
        os.dup2(w_out, 2)
    except BaseException:
        os._exit(70)
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # marshal, written by the server: one C call, far fewer pages touched than json.
        req = marshal.loads(os.pread(req_fd, os.fstat(req_fd).st_size, 0))
        os.closerange(RESULT_FD + 1, 1 << 20)  # close_range(2) under the hood
        os.setsid()
        uid = UID_BASE + seq % UID_SPAN
        limits = req["limits"]
        owner = uid if iso.root else os.getuid()
        if iso.grade_tmpfs:
            # Our own mount namespace (CLONE_NEWNS): the kernel frees this tmpfs when the grade ends.
            workdir = GRADE_DIR
            _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV,
                   f"size={int(limits['disk_mb']) << 20},nr_inodes=100000,mode=0700,uid={owner},gid={owner}")
        else:
            workdir = os.path.join(WORK_ROOT, f"g{seq}")  # made by the server, removed by it afterwards
            os.chown(workdir, owner, owner)
            os.chmod(workdir, 0o700)
            os.environ["HOME"] = os.environ["TMPDIR"] = workdir
        os.chdir(workdir)
        _set_limits(limits, iso)
        _drop_privileges(iso, uid)
    except BaseException:
        _send_result({"kind": "start_failed", "details": traceback.format_exc()[-TRACEBACK_CHARS:]})
        os._exit(70)
    me = os.getpid()
    try:
        payload = _run(req, code_object)
    except BaseException:  # noqa: BLE001 - anything escaping _run is our bug, still report it
        payload = {"kind": "exception", "traceback": traceback.format_exc()[-TRACEBACK_CHARS:]}
    if os.getpid() != me:
        os._exit(0)  # a process the grader forked came back through here: only the grade answers
    try:
        _send_result(payload)
    except BaseException:
        code = 71
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(code)


def _child_env(workdir: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "NLTK_DATA") or k.endswith("_NUM_THREADS")}
    keep.update(HOME=workdir, TMPDIR=workdir, PYTHONDONTWRITEBYTECODE="1")
    return keep


def _send_result(payload: dict[str, typing.Any] | str) -> None:
    data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(RESULT_FD, view):]


def _run(req: dict[str, typing.Any], code_object: types.CodeType | None) -> dict[str, typing.Any] | str:
    source = req["source"]
    filename = "grader.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType("grader")
    module.__file__ = filename
    sys.modules["grader"] = module
    try:
        if code_object is None:
            # dont_inherit: the grader gets no __future__ flags from this module.
            code_object = compile(source, filename, "exec", dont_inherit=True)
        exec(code_object, module.__dict__)
        grade = module.__dict__.get("grade")
        if not callable(grade):
            return {"kind": "exception", "traceback": "the source defines no function grade(sample, item)"}
        result = grade(req["sample"], req["item"])
        return _describe(result)
    except MemoryError:
        return {"kind": "memory_limit", "details": "MemoryError"}
    except OSError as exc:
        if exc.errno in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT):
            return {"kind": "disk_limit", "details": f"{type(exc).__name__}: {exc}"}
        return {"kind": "exception", "traceback": _tail(exc)}
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too: the grader's doing
        return {"kind": "exception", "traceback": _tail(exc)}


def _describe(result: object) -> dict[str, typing.Any] | str:
    if type(result) is float and result - result == 0.0:
        # The common case, as JSON text by hand: json.dumps touches many more pages (each a
        # copy-on-write fault in a forked process). ``x - x == 0`` holds for finite x only.
        return f'{{"kind": "number", "value": {result!r}, "type": "float"}}'
    if isinstance(result, numbers.Real):
        try:
            value = float(result)
        except BaseException as exc:  # noqa: BLE001 - a user __float__
            return {"kind": "exception", "traceback": _tail(exc)}
        return {"kind": "number", "value": value, "type": type(result).__name__}
    try:
        shown = repr(result)[:200]
    except BaseException:  # noqa: BLE001
        shown = "<unrepresentable>"
    return {"kind": "not_number", "type": type(result).__name__, "repr": shown}


def _tail(exc: BaseException) -> str:
    tb = exc.__traceback__
    # Drop the frames of _run itself: the user's traceback starts at their module.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    try:
        lines = "".join(traceback.format_exception(type(exc), exc, tb)).splitlines()
    except BaseException:  # noqa: BLE001
        lines = [f"{type(exc).__name__}"]
    text = "\n".join(lines[-TRACEBACK_LINES:])
    return text[-TRACEBACK_CHARS:]


# ---------------------------------------------------------------- the zygotes


def _clone_args(flags: int) -> tuple[typing.Any, ...]:
    """The arguments of :func:`_clone`, built once: a zygote clones with the same ones each time."""
    assert SYS_CLONE is not None, "callers check SYS_CLONE first"
    return (ctypes.c_long(SYS_CLONE), ctypes.c_ulong(flags), 0, 0, 0, 0)


def _clone(args: tuple[typing.Any, ...], full_after_fork: bool) -> int:
    """fork() with namespace flags and CLONE_PARENT; the child gets 0. Raises OSError."""
    pid: int = _pylibc.syscall(*args)
    if pid == 0:
        if full_after_fork:
            # What os.fork() does in the child: reinitialise the GIL, locks and thread states
            # and run every at-fork hook registered in this process.
            ctypes.pythonapi.PyOS_AfterFork_Child()
        else:
            # A zygote that never started a thread and whose only at-fork hook is random's
            # (see _needs_full_after_fork): its locks and thread state are already right in
            # the child, so only that hook is due. Skipping the rest saves ~0.5 ms a grade.
            random.seed()
        return 0
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"clone: {os.strerror(err)}")
    return pid


def _prepare_for_grades(iso: Isolation, workdir_env: str) -> None:
    """What every grade process needs, done once in the process it is forked from."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    # Over the disk limit, write() fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if iso.root:
        os.setgroups([])
    env = _child_env(workdir_env)
    os.environ.clear()
    os.environ.update(env)


# Messages to a zygote: a sequence number. A grade: seq > 0, fds = [request, result, output].
# From base zygotes only: start a source zygote: seq = 0, fds = [source memfd, its socket];
# start a base zygote in place of one that died: seq = 0, fds = [its socket] (where the server
# then sends its preload list as JSON).
ZYGOTE_MESSAGE = struct.Struct("Q")
# Replies: (sequence number, pid or -errno) per grade; a source zygote first sends (0, its pid).
ZYGOTE_REPLY = struct.Struct("Qq")
SOURCE_ZYGOTES = 8  # source zygotes kept (least recently used first out)
# Larger sources are compiled by each grade: OpenAI refuses 256 kB and more, and a zygote's
# memory is copied (page tables) at every fork, so what it holds stays small.
CACHED_SOURCE_MAX = 256 * 1024
CACHED_CODE_MAX = 8 << 20
COMPILE_TIMEOUT = 10.0


def _needs_full_after_fork() -> bool:
    """Whether a clone()d child of this process must run all of PyOS_AfterFork_Child.

    Of the stdlib, only random, threading and logging register at-fork hooks, and only a
    process that started threads has thread state to repair. A third-party package may
    register hooks of its own, so any preloaded package asks for the full treatment.
    """
    packages = [name for name in _PRELOADED if name not in CONVENIENCE_MODULES]
    return bool(packages) or any(name in sys.modules for name in ("threading", "logging"))


_PRELOADED: list[str] = []


def _compile_isolated(source_fd: int) -> types.CodeType | None:
    """The grader source in ``source_fd``, compiled by a short-lived child of this process.

    compile() runs no user code, but a hostile source can still make it slow, hungry or (on
    some CPython versions) crash it: a child under limits takes that risk instead of the
    source zygote. None when it fails for any reason; the grade then compiles the source
    itself and reports the error as usual.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            resource.setrlimit(resource.RLIMIT_CPU, (int(COMPILE_TIMEOUT), int(COMPILE_TIMEOUT) + 1))
            memory = _BASELINE_VM + (1 << 30)
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            source = os.pread(source_fd, os.fstat(source_fd).st_size, 0).decode("utf-8")
            data = memoryview(marshal.dumps(compile(source, "grader.py", "exec", dont_inherit=True)))
            while data:
                data = data[os.write(w, data):]
            os._exit(0)
        except BaseException:
            os._exit(1)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + COMPILE_TIMEOUT
    try:
        while True:
            ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > CACHED_CODE_MAX:  # too big to keep: the grade compiles it
                os.kill(pid, signal.SIGKILL)
                chunks.clear()
                break
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    if status != 0 or not chunks:
        return None
    code = marshal.loads(b"".join(chunks))
    return code if isinstance(code, types.CodeType) else None


def _zygote(sock: socket.socket, preload: list[str], iso: Isolation) -> None:
    """A base zygote, forked from the server at start (before any request) or cloned from the
    other base zygote to replace one that died; never returns.

    It never reads a request or a source: every grade cloned from it, and every source zygote,
    holds nothing of any other grade.
    """
    global _BASELINE_VM
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        fd = sock.fileno()
        os.closerange(3, fd)
        os.closerange(fd + 1, 1 << 20)
        _prepare_for_grades(iso, GRADE_DIR)
        loaded = _preload(preload)
        # A replacement cloned from the warm zygote has its packages too (for the at-fork path).
        _PRELOADED[:] = sorted({*_PRELOADED, *loaded})
        _BASELINE_VM = _vm_size()
        sock.send(json.dumps({"preloaded": loaded, "vm": _BASELINE_VM, "pid": os.getpid()}).encode())
        full_after_fork = _needs_full_after_fork()
        # Objects made so far are never freed: keep the collector off their pages, so that a
        # grade process does not copy them (copy-on-write) when it collects.
        gc.collect()
        gc.freeze()
    except BaseException:
        os._exit(1)
    _grade_loop(sock, iso, full_after_fork, None)


def _source_zygote(base: socket.socket, fds: list[int], iso: Isolation, full_after_fork: bool) -> None:
    """A zygote for one source, cloned from a base zygote; never returns.

    It compiles the source once (in a helper under limits) and clones that source's grades,
    which inherit the code object instead of compiling it again. It holds that source only:
    a grade never shares a process image with another grader's code.
    """
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # our parent is the server
        base.close()
        source_fd, sock_fd = fds
        sock = socket.socket(fileno=sock_fd)
        sock.send(ZYGOTE_REPLY.pack(0, os.getpid()))
        code_object = _compile_isolated(source_fd)
        os.close(source_fd)
        gc.freeze()
    except BaseException:
        os._exit(1)
    _grade_loop(sock, iso, full_after_fork, code_object)


def _grade_loop(sock: socket.socket, iso: Isolation, full_after_fork: bool, code_object: types.CodeType | None) -> None:
    """A zygote's loop: one clone per grade message, until the server closes the socket.

    ``code_object``: the compiled source of a source zygote (None: a base zygote, whose grades
    compile their source and which can start source zygotes).
    """
    # Everything the loop uses is bound here: each object it touches after a clone is a page
    # copied (the grades share them), so the loop allocates and looks up as little as it can.
    recvmsg, send, close = sock.recvmsg, sock.send, os.close
    unpack, reply = ZYGOTE_MESSAGE.unpack, ZYGOTE_REPLY.pack
    fds_room = socket.CMSG_SPACE(3 * 4)
    clone_args = _clone_args(iso.clone_flags())
    # A source zygote is the server's child too (CLONE_PARENT), in the zygote's namespaces.
    spawn_args = _clone_args(CLONE_PARENT | signal.SIGCHLD) if code_object is None else None
    while True:
        try:
            message, ancillary, _, _ = recvmsg(64, fds_room)
        except OSError:
            os._exit(1)
        if not message:
            os._exit(0)
        # The only ancillary data the server sends: SCM_RIGHTS, a packed array of C ints.
        fds = memoryview(ancillary[0][2]).cast("i").tolist() if ancillary else []
        (seq,) = unpack(message)
        if seq == 0:
            if spawn_args is not None and len(fds) in (1, 2):
                try:
                    pid = _clone(spawn_args, full_after_fork)
                except OSError:
                    pid = -1  # the server sees the new zygote's socket close
                if pid == 0 and len(fds) == 2:
                    _source_zygote(sock, fds, iso, full_after_fork)
                if pid == 0:
                    sock.close()
                    new = socket.socket(fileno=fds[0])
                    _zygote(new, json.loads(new.recv(1 << 16)), iso)
            for fd in fds:
                close(fd)
            continue
        try:
            pid = _clone(clone_args, full_after_fork)
        except OSError as exc:
            pid = -(exc.errno or 1)
        if pid == 0:
            _child(seq, code_object, fds, iso)
        for fd in fds:
            close(fd)
        try:
            send(reply(seq, pid))
        except OSError:
            os._exit(1)


class Zygote:
    """The server's handle on one zygote process (a base zygote, or a source zygote)."""

    def __init__(self, name: str, sock: socket.socket, pid: int | None) -> None:
        self.name, self.sock, self.pid = name, sock, pid  # a source zygote's pid comes in its first reply
        self.gone = False
        self.preloaded: list[str] = []
        self.baseline_vm = 0
        sock.setblocking(False)

    @classmethod
    def start_base(cls, name: str, preload: list[str], iso: Isolation, clone_from: Zygote | None) -> Zygote:
        """A base zygote: cloned from ``clone_from`` (another base zygote, which holds nothing of
        any request) or, at start, forked from the server (which then holds none yet either)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            if clone_from is not None:
                socket.send_fds(clone_from.sock, [ZYGOTE_MESSAGE.pack(0)], [theirs.fileno()])
                ours.send(json.dumps(preload).encode())
            elif os.fork() == 0:
                ours.close()
                _zygote(theirs, preload, iso)
        finally:
            theirs.close()
        ours.settimeout(60)  # its preload imports (numpy) take a moment
        try:
            ready = ours.recv(1 << 16)
        except OSError:
            ready = b""
        if not ready:
            ours.close()
            raise RuntimeError(f"the {name} zygote exited during start-up")
        info = json.loads(ready)
        z = cls(name, ours, info["pid"])
        z.preloaded, z.baseline_vm = info["preloaded"], info["vm"]
        return z


# ---------------------------------------------------------------- the server loop


class Grade:
    __slots__ = ("id", "seq", "pid", "zygote", "deadline", "r_res", "r_out", "result", "out_count", "tail",
                 "reason", "status", "rusage", "workdir", "started", "max_output")

    def __init__(self, gid: int, seq: int, deadline: float, r_res: int, r_out: int, workdir: str | None,
                 max_output: int):
        self.id, self.seq, self.deadline = gid, seq, deadline
        self.pid: int | None = None  # known once the zygote has cloned the grade process
        self.zygote: Zygote | None = None
        self.r_res, self.r_out, self.workdir = r_res, r_out, workdir
        self.result = bytearray()
        self.out_count = 0
        self.tail = b""
        self.reason: str | None = None
        self.status: int | None = None
        self.rusage: typing.Any = None
        self.started = time.monotonic()
        self.max_output = max_output


class Server:
    def __init__(self, sock: socket.socket, iso: Isolation, preload: list[str]) -> None:
        self.sock = sock
        self.iso = iso
        self.sel = selectors.DefaultSelector()
        self.inbuf = bytearray()
        self.grades: dict[int, Grade] = {}  # by sequence number
        self.by_pid: dict[int, Grade] = {}
        # Grade processes reaped before their zygote told us their pid (the two race).
        self.early: dict[int, tuple[int, typing.Any]] = {}
        self.queue: collections.deque[dict[str, typing.Any]] = collections.deque()
        # A grade spends part of its wall time off-CPU (namespace teardown waits for RCU grace
        # periods), so a few more grades than cores keep the cores busy.
        self.max_running = max(1, int(os.environ.get("GRADERS_SANDBOX_CONCURRENCY")
                                      or GRADES_PER_CORE * (os.cpu_count() or 1)))
        self.counter = 0
        self.pristine = True  # no request has reached this process yet (see zygote)
        self.earliest = math.inf  # no running grade's deadline is earlier (see serve)
        # Source zygotes by (base kind, source), least recently used first.
        self.sources: collections.OrderedDict[tuple[str, str], Zygote] = collections.OrderedDict()
        self.zygote_by_pid: dict[int, Zygote] = {}
        # Hashes of (kind, source) graded once without a source zygote (see source_zygote).
        self.seen_once: collections.OrderedDict[int, None] = collections.OrderedDict()
        self.preload = preload
        # The warm zygote's extra modules, as words: a source that names one goes there.
        warm_only = [name for name in (*CONVENIENCE_MODULES, *preload) if name not in sys.modules]
        words = "|".join(map(re.escape, warm_only))
        self.warm_pattern = re.compile(rf"\b(?:{words})\b") if warm_only else None
        self.zygotes: dict[str, Zygote | None] = {"lean": None, "warm": None}
        self.local = SYS_CLONE is None  # no raw clone(): the server forks each grade itself
        if self.local:
            loaded = _preload([*CONVENIENCE_MODULES, *preload])
            self.preloaded, self.baseline_vm = loaded, _vm_size()
        else:
            self.zygote("lean")
            warm = self.zygote("warm")
            self.preloaded, self.baseline_vm = warm.preloaded, warm.baseline_vm
        self.sig_r, sig_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(self.sig_r, False)
        signal.set_wakeup_fd(sig_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel.register(self.sock, selectors.EVENT_READ, "control")
        self.sel.register(self.sig_r, selectors.EVENT_READ, "signal")

    def zygote(self, kind: str) -> Zygote:
        """The zygote of that kind, started (again) if needed."""
        z = self.zygotes[kind]
        if z is None:
            # A replacement is cloned from the other base zygote: forked from the server, it would
            # inherit what is left in the server's memory of earlier requests.
            alive = [other for other in self.zygotes.values() if other is not None and not other.gone]
            if not alive and not self.pristine:
                # Nothing clean left to clone: exit, and the host starts a fresh fork server.
                raise SystemExit("both base zygotes are gone; the fork server restarts")
            preload = [*CONVENIENCE_MODULES, *self.preload] if kind == "warm" else []
            z = Zygote.start_base(kind, preload, self.iso, alive[0] if alive else None)
            self.zygotes[kind] = z
            assert z.pid is not None
            self.zygote_by_pid[z.pid] = z
            self.sel.register(z.sock, selectors.EVENT_READ, z)
        return z

    def source_zygote(self, kind: str, source: str) -> Zygote | None:
        """The zygote of this source (started from the base zygote ``kind`` if new), or None
        for a source it would not hold (not UTF-8 text, or over CACHED_SOURCE_MAX) or that is
        graded for the first time (a one-off grade compiles faster than a zygote starts)."""
        key = (kind, source)
        z = self.sources.get(key)
        if z is not None:
            self.sources.move_to_end(key)
            return z
        seen = hash(key)
        if seen not in self.seen_once:
            self.seen_once[seen] = None
            if len(self.seen_once) > 8 * SOURCE_ZYGOTES:
                self.seen_once.popitem(last=False)
            return None
        try:
            data = source.encode("utf-8")
        except UnicodeEncodeError:
            return None
        if len(data) > CACHED_SOURCE_MAX:
            return None
        base = self.zygote(kind)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = os.memfd_create("grader-source", os.MFD_CLOEXEC)
        try:
            _write_all(fd, data)
            socket.send_fds(base.sock, [ZYGOTE_MESSAGE.pack(0)], [fd, theirs.fileno()])
        except OSError:
            ours.close()
            return None
        finally:
            os.close(fd)
            theirs.close()
        z = Zygote(f"{kind} source", ours, None)
        self.sel.register(ours, selectors.EVENT_READ, z)
        self.sources[key] = z
        if len(self.sources) > SOURCE_ZYGOTES:
            _, oldest = self.sources.popitem(last=False)
            # It clones the grades already sent to it, sees EOF, and exits (then zygote_gone).
            try:
                oldest.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        return z

    def route(self, source: str) -> str:
        # A grade that may import one of the warm zygote's modules forks from it. Matching
        # words anywhere (comments too) errs on the warm side; a miss only costs the import.
        if self.warm_pattern is not None and self.warm_pattern.search(source):
            return "warm"
        return "lean"

    def send(self, message: dict[str, typing.Any]) -> None:
        data = json.dumps(message).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def serve(self) -> None:
        while True:
            # self.earliest may be stale (its grade finished): then we wake early and recompute.
            timeout = None if self.earliest == math.inf else max(0.0, self.earliest - time.monotonic())
            for key, _ in self.sel.select(timeout):
                what = key.data
                if what == "control":
                    if not self.read_control():
                        return
                elif what == "signal":
                    try:
                        while os.read(self.sig_r, 4096):
                            pass
                    except BlockingIOError:
                        pass
                    self.reap()
                elif isinstance(what, Zygote):
                    self.read_zygote(what)
                else:
                    self.read_pipe(*what)
            self.reap()
            now = time.monotonic()
            if now >= self.earliest:  # a deadline has passed: sweep, and find the next one
                self.earliest = math.inf
                for grade in list(self.grades.values()):
                    if grade.status is None and grade.reason is None:
                        if now >= grade.deadline:
                            self.kill(grade, "timeout")
                        else:
                            self.earliest = min(self.earliest, grade.deadline)

    def read_control(self) -> bool:
        data = self.sock.recv(1 << 20)
        if not data:
            return False
        self.pristine = False
        self.inbuf += data
        while len(self.inbuf) >= 4:
            (size,) = struct.unpack(">I", self.inbuf[:4])
            if len(self.inbuf) < 4 + size:
                break
            frame = bytes(self.inbuf[4:4 + size])
            del self.inbuf[:4 + size]
            self.queue.append(json.loads(frame))
        self.start_queued()
        return True

    def start_queued(self) -> None:
        while self.queue and len(self.grades) < self.max_running:
            self.start(self.queue.popleft())

    def start(self, req: dict[str, typing.Any]) -> None:
        self.counter += 1
        seq = self.counter
        limits = req["limits"]
        workdir = None if self.iso.grade_tmpfs else os.path.join(WORK_ROOT, f"g{seq}")
        fds: list[int] = []
        try:
            if workdir:
                os.mkdir(workdir, 0o700)
            r_res, w_res = os.pipe2(os.O_CLOEXEC)
            fds += (r_res, w_res)
            r_out, w_out = os.pipe2(os.O_CLOEXEC)
            fds += (r_out, w_out)
            # The request travels in a memfd: no size limit, and the grade reads it at its own pace.
            req_fd = os.memfd_create("grade-request", os.MFD_CLOEXEC)
            fds.append(req_fd)
            _write_all(req_fd, marshal.dumps(
                {"source": req["source"], "sample": req["sample"], "item": req["item"], "limits": limits}))
        except (OSError, ValueError) as exc:  # ValueError: marshal refuses a too deeply nested item
            for fd in fds:
                os.close(fd)
            if workdir:
                _remove_tree(workdir)
            self.send({"id": req["id"], "outcome": "start_failed", "details": str(exc)})
            return
        grade = Grade(req["id"], seq, time.monotonic() + float(limits["timeout"]), r_res, r_out, workdir,
                      int(limits["max_output_bytes"]))
        error = None
        if self.local:
            try:
                pid = os.fork()
            except OSError as exc:
                error = f"fork: {exc}"
            else:
                if pid == 0:
                    global _BASELINE_VM
                    _prepare_for_grades(self.iso, WORK_ROOT)
                    _BASELINE_VM = self.baseline_vm
                    _child(seq, None, [req_fd, w_res, w_out], self.iso)
                grade.pid = pid
                self.by_pid[pid] = grade
        else:
            try:
                kind = self.route(req["source"])
                z = self.source_zygote(kind, req["source"]) or self.zygote(kind)
                socket.send_fds(z.sock, [ZYGOTE_MESSAGE.pack(seq)], [req_fd, w_res, w_out])
                grade.zygote = z
            except (OSError, RuntimeError) as exc:
                error = f"cannot reach the zygote: {exc}"
        for fd in (req_fd, w_res, w_out):
            os.close(fd)
        if error is not None:
            os.close(r_res)
            os.close(r_out)
            if workdir:
                _remove_tree(workdir)
            self.send({"id": req["id"], "outcome": "start_failed", "details": error})
            return
        os.set_blocking(r_res, False)
        os.set_blocking(r_out, False)
        self.grades[seq] = grade
        self.earliest = min(self.earliest, grade.deadline)
        self.sel.register(r_res, selectors.EVENT_READ, (grade, "res"))
        self.sel.register(r_out, selectors.EVENT_READ, (grade, "out"))

    def read_zygote(self, z: Zygote) -> None:
        """(sequence number, pid or -errno) for each grade process the zygote cloned."""
        while True:
            try:
                data = z.sock.recv(64)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.zygote_gone(z)
                return
            seq, pid = ZYGOTE_REPLY.unpack(data)
            if seq == 0:  # a source zygote's first word: its pid
                z.pid = pid
                if self.early.pop(pid, None) is None:  # else it has exited already: EOF follows
                    self.zygote_by_pid[pid] = z
                continue
            grade = self.grades.get(seq)
            if grade is None:
                continue
            if pid < 0:
                self.abandon(grade, f"clone: {os.strerror(-pid)}")
                continue
            grade.pid = pid
            self.by_pid[pid] = grade
            if grade.reason is not None:
                self.kill(grade, grade.reason)
            if pid in self.early:
                grade.status, grade.rusage = self.early.pop(pid)
                self.by_pid.pop(pid, None)
                self.finish(grade)
                self.start_queued()

    def zygote_gone(self, z: Zygote) -> None:
        if z.gone:
            return
        z.gone = True
        if self.zygotes.get(z.name) is z:
            self.zygotes[z.name] = None
        for key, source_zygote in list(self.sources.items()):
            if source_zygote is z:
                del self.sources[key]
        if z.pid is not None:
            self.zygote_by_pid.pop(z.pid, None)
        try:
            self.sel.unregister(z.sock)
        except (KeyError, ValueError):
            pass
        z.sock.close()
        for grade in list(self.grades.values()):
            if grade.zygote is z and grade.pid is None:
                self.abandon(grade, f"the {z.name} zygote exited")
        self.start_queued()

    def abandon(self, grade: Grade, details: str) -> None:
        """A grade whose process was never created."""
        self.grades.pop(grade.seq, None)
        for fd in (grade.r_res, grade.r_out):
            if fd >= 0:
                self.sel.unregister(fd)
                os.close(fd)
        grade.r_res = grade.r_out = -1
        if grade.workdir:
            _remove_tree(grade.workdir)
        self.send({"id": grade.id, "outcome": "start_failed", "details": details})

    def read_pipe(self, grade: Grade, which: str, *, draining: bool = False) -> bool:
        """Take what one of the grade's pipes holds; False once it is closed.

        ``draining``: the grade is gone, so an empty pipe is as good as closed.
        """
        fd = grade.r_res if which == "res" else grade.r_out
        if fd < 0:
            return False
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            if not draining:
                return True
            data = b""
        if not data:
            self.sel.unregister(fd)
            os.close(fd)
            if which == "res":
                grade.r_res = -1
            else:
                grade.r_out = -1
            return False
        if which == "res":
            if len(grade.result) < RESULT_CAP:
                grade.result += data
        else:
            grade.out_count += len(data)
            grade.tail = (grade.tail + data)[-TAIL_BYTES:]
            if grade.out_count > grade.max_output and grade.reason is None and grade.status is None:
                self.kill(grade, "output_limit")
        return True

    def kill(self, grade: Grade, reason: str) -> None:
        grade.reason = reason
        if grade.pid is None:
            return  # killed as soon as the zygote reports it
        try:
            os.kill(grade.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def reap(self) -> None:
        while True:
            try:
                pid, status, rusage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            grade = self.by_pid.pop(pid, None)
            if grade is not None:
                grade.status, grade.rusage = status, rusage
                self.finish(grade)
                self.start_queued()
                continue
            z = self.zygote_by_pid.get(pid)
            if z is not None:
                # Its last replies (the pids of grades it cloned) may still be unread: read
                # them, up to the end of the socket, which then retires it (zygote_gone).
                self.read_zygote(z)
            else:
                self.early[pid] = (status, rusage)

    def finish(self, grade: Grade) -> None:
        self.grades.pop(grade.seq, None)
        if not self.iso.features["pid_namespace_per_grade"] and grade.pid:
            try:
                os.killpg(grade.pid, signal.SIGKILL)
            except OSError:
                pass
        # PID 1 of the grade's namespace is gone, so are its descendants: drain what is left.
        for which in ("res", "out"):
            while self.read_pipe(grade, which, draining=True):
                pass
        if grade.workdir:
            _remove_tree(grade.workdir)
        status = grade.status or 0
        result = None
        if grade.result:
            try:
                result = json.loads(bytes(grade.result))
            except Exception:  # noqa: BLE001 - hostile bytes (deep nesting -> RecursionError)
                result = {"kind": "garbled", "details": bytes(grade.result[:200]).decode("utf-8", "replace")}
        self.send({
            "id": grade.id,
            "outcome": grade.reason or ("result" if result is not None else "no_result"),
            "result": result,
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "output_tail": grade.tail.decode("utf-8", "replace"),
            "output_bytes": grade.out_count,
            "elapsed": time.monotonic() - grade.started,
            "cpu": (grade.rusage.ru_utime + grade.rusage.ru_stime) if grade.rusage else None,
            "maxrss_kb": grade.rusage.ru_maxrss if grade.rusage else None,
        })

    def shutdown(self) -> None:
        for grade in list(self.grades.values()):
            if grade.pid is not None:
                try:
                    os.kill(grade.pid, signal.SIGKILL)
                except OSError:
                    pass
        for z in [*self.zygotes.values(), *self.sources.values()]:
            if z is not None:
                z.sock.close()  # the zygote sees EOF and exits


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _remove_tree(path: str) -> None:
    # Only reached with the tmpfs unmounted or not used: a plain directory the grade wrote to.
    try:
        os.rmdir(path)
        return
    except OSError:
        pass
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    fd = int(sys.argv[1])
    sock = socket.socket(fileno=fd)
    sock.set_inheritable(False)
    iso = Isolation()
    iso.setup()
    preload = [n.strip() for n in os.environ.get("GRADERS_SANDBOX_PRELOAD", "").split(",") if n.strip()]
    server = Server(sock, iso, preload)
    iso.features["preloaded"] = server.preloaded
    iso.features["memory_baseline_mb"] = server.baseline_vm >> 20
    iso.features["zygotes"] = (
        "none (the server forks each grade)" if server.local
        else f"lean + warm (preloaded), and one per source for the {SOURCE_ZYGOTES} latest sources"
    )
    server.send({"hello": iso.features, "warnings": iso.warnings, "pid": os.getpid()})
    try:
        server.serve()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
