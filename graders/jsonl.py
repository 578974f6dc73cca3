"""Reading JSONL with line numbers: every line is either a row or a located error.

Shared by batch scoring, preflight and ``graders test`` so that a malformed line
is reported the same way everywhere and never stops the other lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Line:
    """Line ``number`` (1-based, as an editor shows it) of a JSONL file.

    ``index`` counts lines from 0 (the ``row`` of batch output). Exactly one of
    ``value`` / ``error`` is meaningful: ``error`` is None when the line parsed.
    """

    index: int
    value: Any
    error: str | None = None

    @property
    def number(self) -> int:
        return self.index + 1


def parse_line(index: int, raw: bytes | str) -> Line:
    try:
        return Line(index, json.loads(raw))
    except ValueError as exc:
        return Line(index, None, f"invalid JSON: {exc}")


def decode_line(index: int, raw: bytes | str) -> Line:
    """One raw line (as :func:`iter_raw` gives it) → a :class:`Line`; a blank line is an error."""
    if not raw.strip():
        return Line(index, None, "empty line")
    return parse_line(index, raw)


def iter_raw(path: str | Path, *, skip: int = 0) -> Iterator[tuple[int, bytes]]:
    """``(index, raw bytes)`` of every line, unparsed: for callers that parse elsewhere (worker processes)."""
    with open(path, "rb") as handle:
        for index, raw in enumerate(handle):
            if index >= skip:
                yield index, raw


def iter_lines(path: str | Path, *, skip: int = 0) -> Iterator[Line]:
    """Every line of ``path`` in order (blank lines included, as errors), streaming.

    ``skip`` lines are passed over without being parsed (resume).
    """
    for index, raw in iter_raw(path, skip=skip):
        yield decode_line(index, raw)


def iter_objects(path: str | Path) -> Iterator[Line]:
    """Like :func:`iter_lines`, with a line that is not a JSON object turned into an error."""
    for line in iter_lines(path):
        if line.error is None and not isinstance(line.value, dict):
            yield Line(line.index, None, f"expected a JSON object, got {type(line.value).__name__}")
        else:
            yield line
