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


def python_limit_options(func: Any) -> Any:
    """Add ``--python-timeout`` / ``--python-memory-mb`` / ``--python-disk-mb`` to a command.

    The command receives one ``python_limits`` argument: a ``graders.sandbox.PythonLimits``
    (OpenAI's defaults for every flag not given), ready for ``RunOptions(python_limits=...)``.
    """
    import functools

    @click.option("--python-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
                  metavar="SECONDS", help="Wall-time limit of one python grade (default 120).")
    @click.option("--python-memory-mb", type=click.IntRange(min=16), default=None,
                  metavar="N", help="Memory limit of one python grade in MB (default 2048).")
    @click.option("--python-disk-mb", type=click.IntRange(min=1), default=None,
                  metavar="N", help="Disk a python grade may write, in MB (default 1024).")
    @functools.wraps(func)
    def wrapper(*args: Any, python_timeout: float | None, python_memory_mb: int | None,
                python_disk_mb: int | None, **kwargs: Any) -> Any:
        from graders.sandbox.limits import DEFAULT_LIMITS

        kwargs["python_limits"] = DEFAULT_LIMITS.with_(
            timeout=python_timeout, memory_mb=python_memory_mb, disk_mb=python_disk_mb
        )
        return func(*args, **kwargs)

    return wrapper


def python_import_warnings(model: Any) -> list[str]:
    """Image-parity warnings for every python grader in ``model`` (a multi's too), located."""
    from graders.models import MultiGrader, PythonGrader
    from graders.sandbox.image import import_warnings

    if isinstance(model, PythonGrader):
        return import_warnings(model.source, model.image_tag)
    if isinstance(model, MultiGrader):
        return [f"graders.{key}: {w}" for key, sub in model.graders.items() for w in python_import_warnings(sub)]
    return []
