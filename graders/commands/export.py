"""``graders export my_grader.py``: the PythonGrader JSON to paste into a fine-tuning job."""

from __future__ import annotations

import click

from graders.commands.common import fail_invalid, print_json, python_import_warnings, read_grader_source
from graders.errors import GraderInvalid


@click.command("export")
@click.argument("grader", metavar="GRADER")
@click.option("--name", default=None, help="The grader's name (default: the file's stem).")
@click.option("--image-tag", default=None, help="Set image_tag, e.g. 2025-05-08.")
def command(grader: str, name: str | None, image_tag: str | None) -> None:
    """Print GRADER (a .py grader source, or grader JSON) as the grader JSON a job accepts.

    The grader is validated as /validate would (exit 1 with every problem when it is
    refused); imports that OpenAI's image lacks are warned about on stderr.
    """
    from graders.engine import accepted_json, validate

    data = read_grader_source(grader)
    if isinstance(data, dict) and data.get("type") == "python":
        if name is not None:
            data["name"] = name
        if image_tag is not None:
            data["image_tag"] = image_tag
    try:
        model = validate(data)
    except GraderInvalid as exc:
        fail_invalid(exc)
    print_json(accepted_json(model))
    for warning in python_import_warnings(model):
        click.echo(f"warning: {warning}", err=True)
