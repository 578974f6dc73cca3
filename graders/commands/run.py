"""``graders run GRADER --model-sample TEXT [--item JSON]``: /run on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from graders.commands.common import (
    fail_invalid,
    judge_options,
    print_json,
    python_limit_options,
    read_grader_source,
)
from graders.errors import GraderInvalid


def _item(value: str | None) -> Any:
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {value[1:]}: {exc.strerror}", param_hint="--item") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--item") from None


@click.command("run")
@click.argument("grader", metavar="GRADER")
@click.option("--model-sample", "model_sample", help="The model output to grade.")
@click.option(
    "--model-sample-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the model output from this file (as is, no trailing newline stripped).",
)
@click.option("--item", "item", metavar="JSON|@PATH", help="The dataset item, as JSON or @file.json.")
@python_limit_options
@judge_options
def command(
    grader: str,
    model_sample: str | None,
    model_sample_file: Path | None,
    item: str | None,
    python_limits: Any,
    judge: Any,
) -> None:
    """Grade one sample with GRADER and print the /run response JSON (exit 0 whatever the reward)."""
    if (model_sample is None) == (model_sample_file is None):
        raise click.UsageError("give exactly one of --model-sample or --model-sample-file")
    if model_sample_file is not None:
        model_sample = model_sample_file.read_text(encoding="utf-8")
    item_value = _item(item)
    from graders.context import RunOptions
    from graders.engine import run

    try:
        response = run(read_grader_source(grader), model_sample, item_value,
                       options=RunOptions(python_limits=python_limits, judge=judge))
    except GraderInvalid as exc:
        fail_invalid(exc)
    print_json(response.model_dump(mode="json"))
