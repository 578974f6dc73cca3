"""A persistent response cache: full request → response JSON, in one SQLite file.

SQLite because several processes (a batch on every core, a server) may share the
cache safely (WAL mode), and a lookup is one indexed read. All file I/O runs on one
private worker thread, so a lookup never blocks an event loop and the connection is
only ever used from the thread that opened it. Only successful (HTTP 200) answers
are stored; refusals and truncated answers are answers and are stored too.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


def default_cache_dir() -> Path:
    """``$GRADERS_CACHE_DIR``, else ``$XDG_CACHE_HOME/graders``, else ``~/.cache/graders``."""
    explicit = os.environ.get("GRADERS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "graders"


def request_key(base_url: str, endpoint: str, body: Any) -> str:
    """SHA-256 of the canonical JSON of everything that decides the answer (not the API key)."""
    canonical = json.dumps(
        {"v": SCHEMA_VERSION, "base_url": base_url, "endpoint": endpoint, "body": body},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """``await cache.get(key)`` / ``await cache.put(key, value)``; ``close()`` when done."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.path = self.directory / "judge.sqlite3"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graders-cache")
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False
        atexit.register(self.close)

    # Runs on the worker thread only.
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._conn = conn
        return self._conn

    def _get(self, key: str) -> Any:
        row = self._connection().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _put(self, key: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        self._connection().execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", (key, text))

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def get(self, key: str) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._get, key)

    async def put(self, key: str, value: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._put, key, value)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._executor.submit(self._close_connection).result()
        self._executor.shutdown(wait=True)
        atexit.unregister(self.close)
