"""Host side of the sandbox: starts the fork server and talks to it.

One :class:`Pool` per host process (``get_pool``), started lazily and again after
``os.fork`` (batch workers), because a pool's socket and reader thread belong to
the process that made them. Thread-safe: any thread may ``submit``; one reader
thread resolves the futures. ``grade`` blocks the calling thread; ``agrade``
awaits without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import itertools
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from graders.sandbox.limits import DEFAULT_LIMITS, PythonLimits
from graders.sandbox.outcome import SandboxResult, interpret, server_error  # noqa: F401

SERVER_SCRIPT = Path(__file__).with_name("_server.py")
# Modules the fork server imports before forking (besides the stdlib ones it always has).
DEFAULT_PRELOAD = ("numpy",)
# Variables the sandbox may see. Nothing else of the host's environment crosses.
ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "NLTK_DATA")
# Slack on top of the wall limit before the host gives up on the server itself.
HOST_GRACE = 30.0


class SandboxWarning(RuntimeWarning):
    """An isolation feature is missing on this machine (e.g. no network namespace)."""


class Pool:
    """A started fork server. Use :func:`get_pool` rather than building one."""

    def __init__(self, *, preload: tuple[str, ...] | None = None, env_allow: tuple[str, ...] = ()) -> None:
        self.pid = os.getpid()
        self._send_lock = threading.Lock()
        self._pending: dict[int, concurrent.futures.Future[dict[str, Any]]] = {}
        self._pending_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False
        self.dead: str | None = None
        preload = DEFAULT_PRELOAD if preload is None else preload
        env = {k: os.environ[k] for k in (*ENV_ALLOW, *env_allow) if k in os.environ}
        for name in ("GRADERS_SANDBOX_DISABLE", "GRADERS_SANDBOX_CONCURRENCY"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.setdefault("LANG", "C.UTF-8")
        # BLAS libraries would start threads at import: a forking server must stay single-threaded.
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   GRADERS_SANDBOX_PRELOAD=",".join(preload), PYTHONDONTWRITEBYTECODE="1",
                   # Resolve every symbol once in the server, not lazily again in each grade process.
                   LD_BIND_NOW="1")
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", str(SERVER_SCRIPT), str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=None if os.environ.get("GRADERS_SANDBOX_DEBUG") else subprocess.DEVNULL,
                start_new_session=True,
                cwd="/",
            )
        finally:
            theirs.close()
        self._sock = ours
        ours.settimeout(60)
        try:
            hello = _read_frame(ours)
        except (OSError, ValueError) as exc:
            hello = None
            reason = str(exc)
        else:
            reason = "the sandbox server exited during start-up"
        if not hello or "hello" not in hello:
            self.close()
            raise RuntimeError(f"cannot start the python sandbox: {reason}")
        ours.settimeout(None)
        self.features: dict[str, Any] = hello["hello"]
        self.server_pid: int = hello.get("pid", self.process.pid)
        self.warnings: list[str] = list(hello.get("warnings", []))
        for message in self.warnings:
            warnings.warn(f"python sandbox: {message}", SandboxWarning, stacklevel=3)
        self._reader = threading.Thread(target=self._read_loop, name="graders-sandbox-reader", daemon=True)
        self._reader.start()

    # -- submitting

    def submit(
        self, source: str, sample: Any, item: Any, limits: PythonLimits = DEFAULT_LIMITS
    ) -> concurrent.futures.Future[dict[str, Any]]:
        """Start one grade; the future gets the server's raw report (see :func:`interpret`)."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        gid = next(self._ids)
        request = {"id": gid, "source": source, "sample": sample, "item": item, "limits": limits.to_wire()}
        data = json.dumps(request, ensure_ascii=False).encode("utf-8")
        with self._pending_lock:
            if self.dead:
                raise ConnectionError(self.dead)
            self._pending[gid] = future
        try:
            with self._send_lock:
                self._sock.sendall(struct.pack(">I", len(data)) + data)
        except OSError as exc:
            with self._pending_lock:
                self._pending.pop(gid, None)
            self._die(f"the sandbox server is gone: {exc}")
            raise ConnectionError(self.dead) from None
        return future

    def _read_loop(self) -> None:
        try:
            while True:
                frame = _read_frame(self._sock)
                if frame is None:
                    break
                with self._pending_lock:
                    future = self._pending.pop(int(frame.get("id", -1)), None)
                if future is not None and not future.done():
                    future.set_result(frame)
        except (OSError, ValueError) as exc:
            self._die(f"lost the sandbox server: {exc}")
            return
        self._die("the sandbox server exited")

    def _die(self, reason: str) -> None:
        with self._pending_lock:
            if self.dead is None:
                self.dead = reason
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_result({"outcome": "server_gone", "details": reason})

    # -- lifecycle

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if os.getpid() != self.pid:
            return  # a forked copy: the server belongs to the parent
        try:
            self._sock.close()  # the server sees EOF, kills its grades and exits
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def alive(self) -> bool:
        return self.dead is None and not self._closed and self.process.poll() is None


def _read_frame(sock: socket.socket) -> dict[str, Any] | None:
    header = _read_exactly(sock, 4)
    if header is None:
        return None
    (size,) = struct.unpack(">I", header)
    body = _read_exactly(sock, size)
    if body is None:
        return None
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("malformed frame from the sandbox server")
    return value


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


# ---------------------------------------------------------------- one pool per process

_POOL: Pool | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> Pool:
    """This process's pool, started on first use (and restarted if its server died)."""
    global _POOL
    pool = _POOL
    if pool is not None and pool.pid == os.getpid() and pool.alive:
        return pool
    with _POOL_LOCK:
        pool = _POOL
        if pool is None or pool.pid != os.getpid() or not pool.alive:
            if pool is not None and pool.pid == os.getpid():
                pool.close()
            pool = Pool()
            _POOL = pool
        return pool


def shutdown() -> None:
    """Stop this process's fork server (it is started again on the next grade)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None and pool.pid == os.getpid():
        pool.close()


def _forget_after_fork() -> None:
    # The child must not use, or close, the parent's server connection.
    global _POOL, _POOL_LOCK
    _POOL = None
    _POOL_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(shutdown)


# ---------------------------------------------------------------- grading


def _submit(source: str, sample: Any, item: Any, limits: PythonLimits) -> concurrent.futures.Future[dict[str, Any]] | SandboxResult:
    for attempt in range(2):
        try:
            return get_pool().submit(source, sample, item, limits)
        except (TypeError, ValueError) as exc:
            return SandboxResult.runtime_error(f"sample and item must be JSON values: {exc}")
        except (ConnectionError, RuntimeError) as exc:
            if attempt:
                return server_error("start_failed", str(exc))
    raise AssertionError("unreachable")


def grade(source: str, sample: Any, item: Any, limits: PythonLimits | None = None) -> SandboxResult:
    """Run ``grade(sample, item)`` from ``source`` in a fresh sandboxed process; blocks."""
    limits = limits or DEFAULT_LIMITS
    started = _submit(source, sample, item, limits)
    if isinstance(started, SandboxResult):
        return started
    try:
        report = started.result(timeout=limits.timeout + HOST_GRACE)
    except concurrent.futures.TimeoutError:
        return server_error("timeout", "the sandbox server did not answer in time")
    return interpret(report, cpu_limit=limits.effective_cpu_seconds)


async def agrade(source: str, sample: Any, item: Any, limits: PythonLimits | None = None) -> SandboxResult:
    """:func:`grade` for asyncio: waits on the result without blocking the event loop."""
    limits = limits or DEFAULT_LIMITS
    pool = _POOL
    if pool is None or pool.pid != os.getpid() or not pool.alive:
        # Starting the server takes a moment: not on the event loop's thread.
        await asyncio.to_thread(get_pool)
    started = _submit(source, sample, item, limits)
    if isinstance(started, SandboxResult):
        return started
    try:
        report = await asyncio.wait_for(asyncio.wrap_future(started), limits.timeout + HOST_GRACE)
    except asyncio.TimeoutError:
        return server_error("timeout", "the sandbox server did not answer in time")
    return interpret(report, cpu_limit=limits.effective_cpu_seconds)


def isolation_report() -> dict[str, Any]:
    """Which isolation features the fork server has on this machine, and its warnings."""
    pool = get_pool()
    return {"features": dict(pool.features), "warnings": list(pool.warnings), "python": sys.executable}
