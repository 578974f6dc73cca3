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

    if isinstance(model, PythonGrader):
        from graders.sandbox.image import import_warnings  # only then: it loads the sandbox package

        return import_warnings(model.source, model.image_tag)
    if isinstance(model, MultiGrader):
        return [f"graders.{key}: {w}" for key, sub in model.graders.items() for w in python_import_warnings(sub)]
    return []


def judge_options(func: Any) -> Any:
    """Add the judge flags to a command; it receives ``judge`` (a Judge, or None when unconfigured).

    --judge-base-url / --judge-api-key default to OPENAI_BASE_URL / OPENAI_API_KEY. The
    judge is closed when the command returns.
    """
    import functools

    @click.option("--judge-base-url", metavar="URL", default=None,
                  help="OpenAI-compatible base URL of the judge, e.g. http://localhost:8000/v1 "
                       "(default: $OPENAI_BASE_URL, else OpenAI).")
    @click.option("--judge-api-key", metavar="KEY", default=None,
                  help="API key of the judge (default: $OPENAI_API_KEY; none needed for a local server).")
    @click.option("--judge-timeout", type=click.FloatRange(min=0, min_open=True), default=60.0,
                  show_default=True, metavar="SECONDS", help="Timeout of one judge request (it is retried).")
    @click.option("--judge-concurrency", type=click.IntRange(min=1), default=16, show_default=True,
                  metavar="N", help="Judge requests in flight at once.")
    @click.option("--embedding-model", default="text-embedding-3-large", show_default=True,
                  help="Embeddings model of text_similarity 'cosine'.")
    @click.option("--no-cache", is_flag=True, help="Always ask the judge; do not read or write the response cache.")
    @click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Directory of the judge response cache (default: $GRADERS_CACHE_DIR, else ~/.cache/graders).")
    @functools.wraps(func)
    def wrapper(*args: Any, judge_base_url: str | None, judge_api_key: str | None, judge_timeout: float,
                judge_concurrency: int, embedding_model: str, no_cache: bool, cache_dir: Path | None,
                **kwargs: Any) -> Any:
        judge = make_judge(base_url=judge_base_url, api_key=judge_api_key, timeout=judge_timeout,
                           concurrency=judge_concurrency, embedding_model=embedding_model,
                           cache=not no_cache, cache_dir=cache_dir)
        try:
            return func(*args, judge=judge, **kwargs)
        finally:
            if judge is not None:
                judge.close()

    return wrapper


def make_judge(**settings: Any) -> Any:
    """The RunOptions.judge for these settings (JudgeConfig fields), or None when nothing is configured.

    None lets a model grader report model_grader_server_error with a message saying how to
    configure one, rather than the command failing before any row is graded.
    """
    from graders.backends import Judge, JudgeConfig

    config = JudgeConfig(**{k: v for k, v in settings.items() if v is not None})
    return Judge(config) if config.configured else None
