"""``graders score GRADER DATA.jsonl -o OUT.jsonl``: batch-score a dataset (see graders.batch)."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from graders.commands import common
from graders.commands.common import fail_invalid, read_grader_source
from graders.errors import GraderInvalid

EXIT_INTERRUPTED = 130


def _options(shared: dict[str, Any]) -> Any:
    """RunOptions from what the shared option decorators passed (python limits, judge)."""
    from graders.context import RunOptions

    return RunOptions(python_limits=shared.get("python_limits"), judge=shared.get("judge"))


class _Progress:
    """A rich progress bar (rows/s, ETA) on a terminal; a plain line every few seconds otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None
        self.started = time.monotonic()
        self.last_line = 0.0
        self.first: int | None = None

    def __enter__(self) -> _Progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("scoring"),
                BarColumn(),
                TaskProgressColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.__enter__()
        return self

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first, self.started, self.last_line = done, now, now
        rate = (done - self.first) / (now - self.started) if now > self.started else 0.0
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task("score", total=total, completed=done, rate="-")
            self.bar.update(self.task, completed=done, rate=f"{rate:,.0f}")
        elif done > self.first and (now - self.last_line >= 5.0 or done == total):
            self.last_line = now
            click.echo(f"scored {done:,}/{total:,} rows ({rate:,.0f} rows/s)", err=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _resume_command() -> str:
    args = list(sys.argv[1:])
    if "--resume" not in args:
        args.append("--resume")
    return "graders " + " ".join(shlex.quote(a) for a in args)


@click.command("score")
@click.argument("grader", metavar="GRADER")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output JSONL: one line per input line, in order.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run: keep complete lines, score the rest.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for CPU graders (default: every core).")
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True,
              help="Rows in flight for graders that wait on I/O (python, model graders).")
@click.option("--threshold", type=float, default=None, help="Report the pass rate at reward >= X.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a self-contained HTML report here.")
@click.option("--summary-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the summary as JSON here.")
@click.option("--sample-field", metavar="PATH", default=None,
              help="Rows are flat items; the sample is at this dotted path in each row.")
@common.python_limit_options
@common.judge_options
def command(
    grader: str,
    data: Path,
    output: Path,
    resume: bool,
    jobs: int | None,
    concurrency: int,
    threshold: float | None,
    report: Path | None,
    summary_json: Path | None,
    sample_field: str | None,
    **shared: Any,
) -> None:
    """Score every row of DATA.jsonl with GRADER (a JSON file or a .py python grader) into OUTPUT.

    Rows are {"item": {...}, "model_sample": "..."} or {"item": {...}, "sample": {...}}, with an
    optional "id". Prints a summary; exit 0 when every row was processed (unreadable rows are
    reported in the output and the summary), 130 when interrupted (re-run with --resume).
    """
    if jobs != 1:
        from graders.workers import start_early

        start_early()  # the workers' imports overlap with ours (for I/O graders it stays idle)
    from graders.batch import OutputMismatch, ScoringInterrupted, score_file
    from graders.summary import render_text

    try:
        source = read_grader_source(grader)
        with _Progress() as progress:
            summary = score_file(
                source,
                data,
                output,
                resume=resume,
                jobs=jobs,
                concurrency=concurrency,
                threshold=threshold,
                sample_field=sample_field,
                options=_options(shared),
                report=report,
                summary_json=summary_json,
                progress=progress,
            )
    except GraderInvalid as exc:
        fail_invalid(exc)
    except OutputMismatch as exc:
        raise click.ClickException(str(exc)) from None
    except ScoringInterrupted as exc:
        click.echo(
            f"\ninterrupted: {exc.written:,} of {exc.total:,} rows are in {exc.output} (every line complete).\n"
            f"continue with: {_resume_command()}",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    click.echo(render_text(summary))
    click.echo(f"wrote {output}" + (f", {report}" if report else "") + (f", {summary_json}" if summary_json else ""))

