"""``graders test GRADER CASES.jsonl``: unit tests for a grader (see :mod:`graders.testing`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from graders.commands.common import EXIT_FAILED, EXIT_OK, fail_invalid, print_json, read_grader_source
from graders.errors import GraderInvalid


@click.command("test")
@click.argument("grader", metavar="GRADER")
@click.argument("cases", metavar="CASES.jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every case result and the summary as JSON.")
def command(grader: str, cases: Path, as_json: bool) -> None:
    """Run the cases of CASES.jsonl against GRADER. Each case has item, model_sample (or
    sample), an optional name and expect: a number, {"reward", "tol"}, {"min", "max"} or
    {"error": "<flag>"}. Prints one line per failing case and a summary; exit 1 on any failure."""
    from graders.testing import run_cases

    try:
        result = run_cases(read_grader_source(grader), cases)
    except GraderInvalid as exc:
        fail_invalid(exc)
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "passed": len(result.results) - len(result.failed),
                "failed": len(result.failed),
                "cases": [r.to_json() for r in result.results],
            }
        )
    else:
        for failure in result.failed:
            click.echo(f"FAIL {cases}:{failure.line}{_name(failure.name)}: expected {failure.expected}, got {failure.got}")
        if not result.results:
            click.echo(f"{cases}: no cases")
        click.echo(result.summary())
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def _name(name: str | None) -> str:
    return f" [{json.dumps(name, ensure_ascii=False)[1:-1]}]" if name else ""
