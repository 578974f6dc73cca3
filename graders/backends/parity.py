"""Score rows locally and on a remote ``/graders/run`` and say where they disagree.

The Python side of ``graders parity``: a user records golden results from a hosted
service (the ``remote`` response of every row is kept) and checks the local engine
against them. ``/run`` takes only ``model_sample``, so a row given as a full
``sample`` object is compared on its ``output_text`` on both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graders.backends.remote import RemoteRunner
from graders.backends.transport import JudgeRequestError
from graders.context import RunOptions
from graders.engine import arun
from graders.jsonl import Line
from graders.models import AnyGrader
from graders.rows import RowError, row_input


@dataclass
class RowComparison:
    line: int  # 1-based line number in the data file
    id: Any = None
    local_reward: float | None = None
    remote_reward: float | None = None
    local_flags: list[str] = field(default_factory=list)
    remote_flags: list[str] = field(default_factory=list)
    error: str | None = None  # why this row was not compared
    remote: dict[str, Any] | None = None  # the remote /run response, kept as a golden result

    @property
    def compared(self) -> bool:
        return self.error is None

    @property
    def delta(self) -> float | None:
        if self.local_reward is None or self.remote_reward is None:
            return None
        return abs(self.local_reward - self.remote_reward)

    @property
    def flags_differ(self) -> bool:
        return self.compared and sorted(self.local_flags) != sorted(self.remote_flags)

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "id": self.id,
            "local": None if self.local_reward is None else {"reward": self.local_reward, "flags": self.local_flags},
            "remote": self.remote,
            "delta": self.delta,
            "flags_differ": self.flags_differ,
            "error": self.error,
        }


async def compare_rows(
    grader: AnyGrader,
    lines: Iterable[Line],
    runner: RemoteRunner,
    options: RunOptions | None = None,
    *,
    concurrency: int = 8,
    sample_field: str | None = None,
) -> list[RowComparison]:
    """One comparison per line, in file order; a row that cannot be compared says why."""
    slots = asyncio.Semaphore(concurrency)

    async def compare(line: Line) -> RowComparison:
        if line.error is not None:
            return RowComparison(line.number, error=line.error)
        try:
            row = row_input(line.value, sample_field)
        except RowError as exc:
            return RowComparison(line.number, error=str(exc))
        text = row.model_sample if row.model_sample is not None else str((row.sample or {}).get("output_text") or "")
        result = RowComparison(line.number, id=row.id)
        async with slots:
            local, remote = await asyncio.gather(
                arun(grader, text, row.item, options=options),
                runner.arun(grader, text, row.item),
                return_exceptions=True,
            )
        if isinstance(local, BaseException):
            raise local  # a bug here, not a row problem: the engine turns row problems into flags
        result.local_reward = local.reward
        result.local_flags = local.metadata.errors.flags_set()
        if isinstance(remote, JudgeRequestError):
            result.error = f"remote: {remote.details}"
        elif isinstance(remote, BaseException):
            raise remote
        else:
            result.remote_reward = remote.reward
            result.remote_flags = remote.metadata.errors.flags_set()
            result.remote = remote.model_dump(mode="json")
        return result

    return list(await asyncio.gather(*(compare(line) for line in lines)))


def summarize(rows: list[RowComparison], tolerance: float = 1e-9, limit: int = 20) -> dict[str, Any]:
    """max/mean |Δ reward| over compared rows, the rows whose flags differ, the rows not compared."""
    compared = [r for r in rows if r.compared]
    deltas = [r.delta for r in compared if r.delta is not None]
    differ = [r for r in compared if r.flags_differ]
    beyond = [r for r in compared if (r.delta or 0.0) > tolerance]
    worst = sorted(beyond, key=lambda r: -(r.delta or 0.0))[:limit]
    failed = [r for r in rows if not r.compared]
    return {
        "rows": len(rows),
        "compared": len(compared),
        "max_abs_delta": max(deltas) if deltas else None,
        "mean_abs_delta": sum(deltas) / len(deltas) if deltas else None,
        "tolerance": tolerance,
        "rows_beyond_tolerance": len(beyond),
        "rows_with_different_flags": len(differ),
        "agree": not beyond and not differ and not failed,
        "flag_mismatches": [
            {"line": r.line, "id": r.id, "local_flags": r.local_flags, "remote_flags": r.remote_flags,
             "local_reward": r.local_reward, "remote_reward": r.remote_reward}
            for r in differ[:limit]
        ],
        "largest_deltas": [
            {"line": r.line, "id": r.id, "local_reward": r.local_reward, "remote_reward": r.remote_reward, "delta": r.delta}
            for r in worst
        ],
        "not_compared": [{"line": r.line, "error": r.error} for r in failed[:limit]],
        "not_compared_count": len(failed),
    }
