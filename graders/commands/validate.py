"""``graders validate GRADER``: /validate on the command line."""

from __future__ import annotations

import click

from graders.commands.common import fail_invalid, print_json, read_grader_source
from graders.errors import GraderInvalid


@click.command("validate")
@click.argument("grader", metavar="GRADER")
def command(grader: str) -> None:
    """Check GRADER (a JSON file, a .py python grader, or - for stdin).

    Prints {"grader": {...}} and exits 0 when valid; prints OpenAI's error JSON,
    lists every problem on stderr and exits 1 when not.
    """
    from graders.engine import accepted_json, validate

    try:
        model = validate(read_grader_source(grader))
    except GraderInvalid as exc:
        fail_invalid(exc)
    print_json({"grader": accepted_json(model)})
    # Image parity: imports OpenAI's python image lacks are warnings, not problems.
    from graders.commands.common import python_import_warnings

    for warning in python_import_warnings(model):
        click.echo(f"warning: {warning}", err=True)
