"""Shared pieces of the CLI commands: reading a grader, printing JSON, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from graders.errors import GraderInvalid, Problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def read_grader_source(spec: str) -> Any:
    """GRADER argument → grader JSON (dict). ``-`` reads stdin; ``*.py`` is a python grader's source."""
    if spec == "-":
        text = sys.stdin.read()
        return _decode(text, "<stdin>")
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {spec}: {exc.strerror}", param_hint="GRADER") from None
    if path.suffix == ".py":
        # Authoring from a .py file: the file is the source, its stem the name.
        return {"type": "python", "name": path.stem, "source": text}
    return _decode(text, spec)


def _decode(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise GraderInvalid([Problem("", f"malformed JSON in {where}: {exc}")]) from None


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def fail_invalid(exc: GraderInvalid) -> NoReturn:
    """The validate/run failure form: OpenAI's error JSON on stdout, every problem on stderr."""
    print_json(exc.to_openai_error())
    click.echo(f"grader is invalid ({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}):", err=True)
    for problem in exc.problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(EXIT_FAILED)
