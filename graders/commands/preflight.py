"""``graders preflight JOB.json [--training-file PATH] [--validation-file PATH] [--sample-field PATH]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from graders.commands.common import EXIT_FAILED, EXIT_OK, print_json


@click.command("preflight")
@click.argument("job", metavar="JOB.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--training-file", type=click.Path(dir_okay=False, path_type=Path), help="Local JSONL of the job's training_file.")
@click.option(
    "--validation-file", type=click.Path(dir_okay=False, path_type=Path), help="Local JSONL of the job's validation_file."
)
@click.option(
    "--sample-field",
    metavar="PATH",
    help="Dry run: grade each row with the sample at this dotted path of the row (e.g. a reference answer).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Dry run at most this many rows per file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def command(
    job: Path,
    training_file: Path | None,
    validation_file: Path | None,
    sample_field: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Check a fine-tuning job before it is submitted: the body (a create request or a
    fine_tuning.job object), the JSONL files it names, the grader against the rows, and
    optionally a dry run of the grader. Errors and warnings each carry a JSON path or
    file:line. Exit 0 when there is no error, 1 otherwise."""
    from graders.preflight import preflight

    report = preflight(
        job,
        training_file=training_file,
        validation_file=validation_file,
        sample_field=sample_field,
        limit=limit,
    )
    if as_json:
        print_json(report.to_json())
    else:
        click.echo(report.to_text())
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)
