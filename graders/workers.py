"""The process context of batch scoring's CPU workers, kept light to import.

``graders score`` starts the forkserver before its own heavy imports (pydantic, the
engine), so that the workers' preload runs on the other core meanwhile.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
from multiprocessing import forkserver

WORKER_PRELOAD = ["graders.batch", "metrics"]


def worker_context() -> multiprocessing.context.BaseContext:
    """forkserver: a clean, preloaded parent for workers (no fork of a threaded process)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_PRELOAD)
    return context


def start_early() -> None:
    """Start the forkserver now; it imports WORKER_PRELOAD while the caller goes on."""
    worker_context()
    forkserver.ensure_running()
