"""Batch scoring: a JSONL file in, exactly one output line per input line out, in input order.

Output line ``N`` (0-based ``row``) is the ``/run`` response plus the row::

    {"row": N, "id": ..., "reward": ..., "metadata": {...}, "sub_rewards": {...},
     "model_grader_token_usage_per_model": {...}}

or, for a line that cannot be graded (bad JSON, not an object, missing ``item``, a
wrong type), ``{"row": N, "error": {"message": ..., "line": N + 1}}``. ``id`` is
carried whenever the input row has one.

Two pipelines, chosen by :func:`graders.engine.needs_io`:

* CPU graders (string_check, text_similarity, multi of those): chunks of *raw*
  lines go to worker processes, which parse, grade, serialise and summarise them;
  the parent only writes the returned bytes in order and adds up the chunk
  summaries. At most ``4 × jobs`` chunks are in flight, so memory is constant.
* Graders that wait on I/O (python, model graders, cosine, or a multi containing
  one): an asyncio loop in a background thread keeps ``concurrency`` rows in
  flight and hands results back in order through a bounded queue. The CPU parts
  of a mixed multi run as soon as the row starts (they never wait behind the
  judge), and the judge requests of other rows keep flowing meanwhile.

The output is appended and flushed as it goes; ``resume=True`` keeps the complete
lines already written, drops a torn last line and scores only what is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from graders.context import RunOptions
from graders.engine import arun_dict, needs_io, run_dict
from graders.workers import worker_context
from graders.jsonl import Line, decode_line, iter_raw
from graders.models import AnyGrader
from graders.rows import RowError, RowInput, row_input
from graders.summary import Summary, metric_names, metric_signatures
from graders.validation import parse_grader

CHUNK_SIZE = 500
DEFAULT_CONCURRENCY = 16
Progress = Callable[[int, int], None]


class ScoringInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`score_file`: every line in ``output`` is complete; resume to finish."""

    def __init__(self, output: Path, written: int, total: int) -> None:
        super().__init__(f"interrupted after {written:,} of {total:,} rows")
        self.output, self.written, self.total = output, written, total


class OutputMismatch(ValueError):
    """``resume`` found an output file that is not a partial output of this input."""


# ----- one row -----


def encode(out: Mapping[str, Any]) -> bytes:
    """One output line. orjson for speed; json for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(out) + b"\n"
    except TypeError:
        return json.dumps(out, ensure_ascii=False).encode("utf-8") + b"\n"


def error_line(line: Line, message: str) -> dict[str, Any]:
    out: dict[str, Any] = {"row": line.index}
    if isinstance(line.value, dict) and "id" in line.value:
        out["id"] = line.value["id"]
    out["error"] = {"message": message, "line": line.number}
    return out


def _prepare(line: Line, sample_field: str | None) -> RowInput | dict[str, Any]:
    if line.error is not None:
        return error_line(line, line.error)
    try:
        return row_input(line.value, sample_field)
    except RowError as exc:
        return error_line(line, str(exc))


def _finish(line: Line, response: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"row": line.index}
    if "id" in line.value:
        out["id"] = line.value["id"]
    out.update(response)
    return out


def score_line(
    model: AnyGrader, line: Line, sample_field: str | None = None, options: RunOptions | None = None
) -> dict[str, Any]:
    """The output object of one line, for a grader without I/O."""
    row = _prepare(line, sample_field)
    if isinstance(row, dict):
        return row
    return _finish(line, run_dict(model, row.model_sample, row.item, sample=row.sample, options=options))


async def ascore_line(
    model: AnyGrader, line: Line, sample_field: str | None = None, options: RunOptions | None = None
) -> dict[str, Any]:
    """The output object of one line, for any grader."""
    row = _prepare(line, sample_field)
    if isinstance(row, dict):
        return row
    response = await arun_dict(model, row.model_sample, row.item, sample=row.sample, options=options)
    return _finish(line, response)


# ----- CPU pipeline: worker processes fed with raw lines -----

_WORKER: tuple[AnyGrader, str | None, Summary] | None = None


def warm_up(model: AnyGrader) -> None:
    """Import what the grader's metrics import lazily, so that row 0's execution_time is not an import."""
    from metrics import METRICS

    for name in metric_names(model):
        metric = METRICS.get(name)
        if metric is not None:
            try:
                metric("warm up", "warm up")
            except Exception:  # a metric that cannot run here fails again, as a flag, on each row
                pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")  # a killed parent not yet reaped is a zombie: dead
    except FileNotFoundError:
        return False
    except (OSError, IndexError):  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _watch(pid: int) -> None:
    """Exit when the scoring process is gone.

    Workers hang off the forkserver, not the scoring process, and wait on their task
    queue: after a ``kill -9`` of ``graders score`` nothing else would ever stop them.
    """
    while _alive(pid):
        time.sleep(0.5)
    os._exit(1)


def _init_worker(model: AnyGrader, sample_field: str | None, template: Summary, parent: int) -> None:
    # Ctrl-C is the parent's to handle: it stops feeding and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(parent,), name="graders-parent-watch", daemon=True).start()
    global _WORKER
    _WORKER = (model, sample_field, template)
    warm_up(model)


# Digits -> b"9", everything else -> b" ": a 19-digit run is then a plain substring search,
# several times cheaper per line than a regex scan.
_DIGITS_ONLY = bytes(0x39 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"9" * 19


def fast_decode(index: int, raw: bytes) -> Line:
    """:func:`graders.jsonl.decode_line`, with orjson first; anything orjson refuses (bad JSON,
    NaN, integers beyond 64 bits, non-UTF-8) goes through json for the same value or message."""
    if _LONG_RUN not in raw.translate(_DIGITS_ONLY):  # orjson reads integers beyond 64 bits as floats
        try:
            return Line(index, orjson.loads(raw))
        except orjson.JSONDecodeError:
            pass
    return decode_line(index, raw)


def _score_chunk(first: int, raws: list[bytes]) -> tuple[bytes, Summary]:
    assert _WORKER is not None, "worker not initialised"
    model, sample_field, template = _WORKER
    outs = [score_line(model, fast_decode(first + offset, raw), sample_field) for offset, raw in enumerate(raws)]
    summary = template.empty_copy()
    summary.add_many(outs)
    return b"".join([encode(out) for out in outs]), summary


def _chunked(raws: Iterable[tuple[int, bytes]], size: int) -> Iterator[tuple[int, list[bytes]]]:
    first, chunk = -1, list[bytes]()
    for index, raw in raws:
        if not chunk:
            first = index
        chunk.append(raw)
        if len(chunk) >= size:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


def _cpu_chunks(
    model: AnyGrader,
    raws: Iterable[tuple[int, bytes]],
    template: Summary,
    *,
    jobs: int,
    chunk_size: int,
    sample_field: str | None,
) -> Iterator[tuple[bytes, Summary]]:
    if jobs <= 1:
        global _WORKER
        saved, _WORKER = _WORKER, (model, sample_field, template)
        try:
            for first, chunk in _chunked(raws, chunk_size):
                yield _score_chunk(first, chunk)
        finally:
            _WORKER = saved
        return
    context = worker_context()
    window = 4 * jobs
    pending: deque[Future[tuple[bytes, Summary]]] = deque()
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_init_worker,
        initargs=(model, sample_field, template, os.getpid()),
    ) as pool:
        try:
            for first, chunk in _chunked(raws, chunk_size):
                pending.append(pool.submit(_score_chunk, first, chunk))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


# ----- I/O pipeline: asyncio in a background thread, results handed back in order -----

_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _io_outputs(
    model: AnyGrader,
    lines: Iterable[Line],
    *,
    concurrency: int,
    sample_field: str | None,
    options: RunOptions | None,
) -> Iterator[dict[str, Any]]:
    handoff: queue.Queue[Any] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    async def produce() -> None:
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(concurrency)

        async def one(line: Line) -> dict[str, Any]:
            async with slots:
                return await ascore_line(model, line, sample_field, options)

        async def emit_ready(block: bool) -> None:
            batch = [await window.popleft()] if block else []
            while window and window[0].done():
                batch.append(window.popleft().result())
            if batch:
                await loop.run_in_executor(None, put, batch)

        window: deque[asyncio.Future[dict[str, Any]]] = deque()
        try:
            for line in lines:
                if stop.is_set():
                    return
                window.append(asyncio.ensure_future(one(line)))
                if len(window) >= 4 * concurrency:
                    await emit_ready(block=True)
                elif window[0].done():
                    await emit_ready(block=False)
                await asyncio.sleep(0)  # let started rows progress while reading
            while window and not stop.is_set():
                await emit_ready(block=True)
        finally:
            # Stopped or failed: cancel the rows still in flight and collect their outcomes,
            # so that no task is left with an exception nobody retrieved.
            for task in window:
                task.cancel()
            await asyncio.gather(*window, return_exceptions=True)

    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[None]]] = []

    async def main() -> None:
        task = asyncio.ensure_future(produce())
        running.append((asyncio.get_running_loop(), task))
        try:
            await task
        except asyncio.CancelledError:
            if not stop.is_set():
                raise

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))
        else:
            put(_DONE)

    thread = threading.Thread(target=run, name="graders-batch-io", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield from item
    finally:
        stop.set()
        for loop, task in running:  # do not wait for slow requests in flight: cancel them
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop has already finished
                pass
        thread.join()


# ----- public API -----


def load(grader: Any) -> AnyGrader:
    """A grader dict, model or path (JSON file, or ``.py`` python grader) → the parsed model."""
    if isinstance(grader, str | Path):
        path = Path(grader)
        text = path.read_text(encoding="utf-8")
        grader = {"type": "python", "name": path.stem, "source": text} if path.suffix == ".py" else json.loads(text)
    return parse_grader(grader)


def score_rows(
    grader: Any,
    rows: Iterable[Any],
    *,
    sample_field: str | None = None,
    options: RunOptions | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Iterator[dict[str, Any]]:
    """Grade in-memory rows (already parsed JSON values), yielding one output object per row, in order.

    Each row is ``{"item": ..., "model_sample": ...}``, ``{"item": ..., "sample": {...}}`` or, with
    ``sample_field``, a flat item holding the sample. Outputs are the objects :func:`score_file`
    writes (``row`` counts from 0). Feed them to :func:`summarize` for the summary.
    """
    model = load(grader)
    lines = (Line(index, value) for index, value in enumerate(rows))
    if needs_io(model):
        yield from _io_outputs(model, lines, concurrency=concurrency, sample_field=sample_field, options=options)
    else:
        for line in lines:
            yield score_line(model, line, sample_field, options)


def summarize(grader: Any, outputs: Iterable[Mapping[str, Any]], threshold: float | None = None) -> Summary:
    """The summary of output objects (from :func:`score_rows` or an output file)."""
    model = load(grader)
    summary = Summary.for_grader(model, threshold)
    summary.metric_signatures = metric_signatures(model)
    for out in outputs:
        summary.add(out)
    return summary


def count_lines(path: str | Path) -> int:
    """Lines as ``for line in file`` counts them (a last line without newline counts)."""
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def recover(output_path: str | Path, summary: Summary | None = None) -> int:
    """Keep the complete output lines of an interrupted run; return how many rows they cover.

    Truncates after the last complete line (a torn line from a crash is dropped) and
    adds the kept lines to ``summary``. Raises :class:`OutputMismatch` when a line is
    not the next row, i.e. the file is not a partial output of a run.
    """
    keep = size = 0
    with open(output_path, "rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                out = orjson.loads(raw)
            except orjson.JSONDecodeError:
                try:
                    out = json.loads(raw)  # what encode() writes when orjson refuses
                except ValueError:
                    break
            if not isinstance(out, dict) or out.get("row") != keep:
                raise OutputMismatch(
                    f"{output_path}: line {keep + 1} is not row {keep} of a batch output; "
                    "it cannot be resumed (score without --resume to start over)"
                )
            if summary is not None:
                summary.add(out)
            keep += 1
            size += len(raw)
    with open(output_path, "r+b") as handle:
        handle.truncate(size)
    return keep


def score_file(
    grader: Any,
    input_path: str | Path,
    output_path: str | Path,
    *,
    resume: bool = False,
    jobs: int | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    threshold: float | None = None,
    sample_field: str | None = None,
    options: RunOptions | None = None,
    report: str | Path | None = None,
    summary_json: str | Path | None = None,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Summary:
    """Score every line of ``input_path`` into ``output_path`` and return the :class:`Summary`.

    ``grader`` is a dict, a model or a path. ``jobs`` worker processes grade CPU graders
    (default: every core); ``concurrency`` rows are in flight for graders that wait on I/O.
    ``resume`` continues an interrupted output instead of starting over. ``progress(done, total)``
    is called as rows are written. Ctrl-C raises :class:`ScoringInterrupted` (a
    ``KeyboardInterrupt``) with every written line complete.
    """
    model = load(grader)
    input_path, output_path = Path(input_path), Path(output_path)
    summary = Summary.for_grader(model, threshold)
    summary.metric_signatures = metric_signatures(model)
    total = count_lines(input_path)
    done = recover(output_path, summary) if resume and output_path.exists() else 0
    if done > total:
        raise OutputMismatch(f"{output_path} has {done} rows but {input_path} only {total} lines")
    jobs = max(1, jobs or os.cpu_count() or 1)
    if total - done <= chunk_size:
        jobs = 1  # one chunk: starting workers would cost more than it saves
    if jobs == 1 or needs_io(model):  # metrics computed in this process
        warm_up(model)
    started = time.perf_counter()
    before = done
    if progress:
        progress(done, total)
    with open(output_path, "ab" if done else "wb") as out:
        synced = time.monotonic()

        def wrote(rows: int) -> None:
            nonlocal done, synced
            out.flush()
            done += rows
            if time.monotonic() - synced > 2.0:  # survive power loss too, without an fsync per chunk
                os.fsync(out.fileno())
                synced = time.monotonic()
            if progress:
                progress(done, total)

        try:
            raws = iter_raw(input_path, skip=done)
            if needs_io(model):
                lines = (decode_line(index, raw) for index, raw in raws)
                for item in _io_outputs(
                    model, lines, concurrency=concurrency, sample_field=sample_field, options=options
                ):
                    out.write(encode(item))
                    summary.add(item)
                    wrote(1)
            else:
                chunks = _cpu_chunks(
                    model, raws, summary.empty_copy(), jobs=jobs, chunk_size=chunk_size, sample_field=sample_field
                )
                for blob, part in chunks:
                    out.write(blob)
                    summary.merge(part)
                    wrote(part.rows)
        except KeyboardInterrupt:
            out.flush()
            raise ScoringInterrupted(output_path, done, total) from None
    summary.elapsed = time.perf_counter() - started
    summary.timed_rows = done - before
    if summary_json is not None:
        Path(summary_json).write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
    if report is not None:
        from graders.report import write_report

        write_report(summary, model, input_path, report, sample_field=sample_field)
    return summary
