"""``graders parity GRADER DATA.jsonl --remote-base-url URL``: local engine vs a remote /graders/run.

Every row ({"item": ..., "model_sample": ...}) is scored both ways; the summary JSON gives
max/mean |Δ reward| and the rows whose error flags differ. Exit 0 when every row was
compared and all agree (|Δ| ≤ --tolerance, same flags), 1 otherwise, 2 on usage errors.
``--details PATH`` writes one JSON line per row with the whole remote response: golden
results recorded from the hosted service.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from graders.commands.common import (
    EXIT_FAILED,
    fail_invalid,
    judge_options,
    print_json,
    python_limit_options,
    read_grader_source,
)
from graders.errors import GraderInvalid


@click.command("parity")
@click.argument("grader", metavar="GRADER")
@click.argument("data", metavar="DATA.jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--remote-base-url", required=True, metavar="URL",
              help="OpenAI-compatible base URL whose /fine_tuning/alpha/graders/run is the reference, "
                   "e.g. https://api.openai.com/v1.")
@click.option("--remote-api-key", metavar="KEY", default=None, help="API key of the remote (default: $OPENAI_API_KEY).")
@click.option("--remote-timeout", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              metavar="SECONDS", help="Timeout of one remote /run request (it is retried).")
@click.option("--remote-concurrency", type=click.IntRange(min=1), default=8, show_default=True, metavar="N",
              help="Rows scored at once (remote and local).")
@click.option("--tolerance", type=click.FloatRange(min=0), default=1e-9, show_default=True,
              help="Largest |Δ reward| that still counts as agreement.")
@click.option("--sample-field", metavar="DOTTED.PATH", default=None,
              help="Take the sample from this field of each row (the whole row is then the item).")
@click.option("--details", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one JSON line per row (local result, remote response, Δ) to this file.")
@python_limit_options
@judge_options
def command(grader: str, data: Path, remote_base_url: str, remote_api_key: str | None, remote_timeout: float,
            remote_concurrency: int, tolerance: float, sample_field: str | None, details: Path | None,
            python_limits: Any, judge: Any) -> None:
    """Score DATA.jsonl with GRADER locally and on a remote /graders/run; report where they differ."""
    from graders.backends import RemoteRunner
    from graders.backends.parity import compare_rows, summarize
    from graders.context import RunOptions
    from graders.engine import fill_defaults
    from graders.jsonl import iter_objects
    from graders.validation import parse_grader

    try:
        model = fill_defaults(parse_grader(read_grader_source(grader)))
    except GraderInvalid as exc:
        fail_invalid(exc)
    runner = RemoteRunner(base_url=remote_base_url, api_key=remote_api_key, timeout=remote_timeout,
                          concurrency=remote_concurrency)
    options = RunOptions(python_limits=python_limits, judge=judge)
    rows = asyncio.run(compare_rows(model, iter_objects(data), runner, options,
                                    concurrency=remote_concurrency, sample_field=sample_field))
    if details is not None:
        with open(details, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(row.to_json(), ensure_ascii=False) + "\n" for row in rows)
    summary = summarize(rows, tolerance)
    print_json(summary)
    if not summary["agree"]:
        click.echo(
            f"parity: {summary['rows_beyond_tolerance']} rows beyond tolerance, "
            f"{summary['rows_with_different_flags']} with different flags, "
            f"{summary['not_compared_count']} not compared",
            err=True,
        )
        sys.exit(EXIT_FAILED)
