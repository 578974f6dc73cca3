"""``graders serve``: OpenAI's /run and /validate endpoints on a local port, for any client."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from graders.commands.common import EXIT_USAGE, judge_options, python_limit_options

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(value: str) -> int:
    """``10MB``, ``512k``, ``1048576`` → bytes (binary units)."""
    match = _SIZE.match(value)
    if not match:
        raise click.BadParameter(f"{value!r} is not a size such as 10MB, 512KB or 1048576")
    unit = (match.group(2) or "").lower()[:1]
    return int(match.group(1)) * _UNITS[unit]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--api-key",
    envvar="GRADERS_API_KEY",
    default=None,
    help="Require 'Authorization: Bearer KEY' on every request (env GRADERS_API_KEY).",
)
@click.option(
    "--allow-public-without-key",
    is_flag=True,
    help="Allow listening on a non-loopback address with no API key.",
)
@click.option(
    "--max-body-size",
    default="10MB",
    show_default=True,
    help="Largest request body accepted; bigger ones get 413.",
)
@click.option(
    "--max-concurrency",
    default=8,
    show_default=True,
    type=click.IntRange(1),
    help="Python/model grades running at once (CPU graders are not limited).",
)
@click.option(
    "--max-queue",
    default=256,
    show_default=True,
    type=click.IntRange(0),
    help="Python/model grades that may wait for a slot; beyond this a request gets 429.",
)
@click.option(
    "--shutdown-timeout",
    default=150,
    show_default=True,
    type=click.IntRange(0),
    help="Seconds to let in-flight requests finish after SIGINT/SIGTERM.",
)
@click.option("--log-json", is_flag=True, help="Write the access log as one JSON object per line.")
@click.option("--no-access-log", is_flag=True, help="Do not log each request.")
@python_limit_options
@judge_options
def command(
    host: str,
    port: int,
    api_key: str | None,
    allow_public_without_key: bool,
    max_body_size: str,
    max_concurrency: int,
    max_queue: int,
    shutdown_timeout: int,
    log_json: bool,
    no_access_log: bool,
    python_limits: Any,
    judge: Any,
) -> None:
    """Serve POST /v1/fine_tuning/alpha/graders/run and /validate (also under /openai/v1) and GET /health.

    Point the official client at it: OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=KEY).
    """
    import uvicorn

    from graders.context import RunOptions
    from graders.server import AccessLog, ServerConfig, bind_refusal, configure_logging, create_app

    api_key = api_key or None  # an empty GRADERS_API_KEY means no key
    refusal = bind_refusal(host, api_key, allow_public_without_key)
    if refusal is not None:
        click.echo(f"graders serve: {refusal}", err=True)
        sys.exit(EXIT_USAGE)
    config = ServerConfig(
        api_key=api_key,
        max_body_bytes=parse_size(max_body_size),
        max_io_concurrency=max_concurrency,
        max_io_queue=max_queue,
        options=RunOptions(python_limits=python_limits, judge=judge),
        access_log=None if no_access_log else AccessLog(as_json=log_json),
    )
    configure_logging(as_json=log_json)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"graders serve: base_url http://{shown}:{port}/v1 (also /openai/v1); "
        f"{'API key required' if api_key else 'no API key'}; "
        f"python/model grades: {max_concurrency} at once, {max_queue} queued",
        err=True,
    )
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        access_log=False,  # ours carries the request id, grader type and reward
        log_level="info",
        server_header=False,
        timeout_graceful_shutdown=shutdown_timeout,
        # Keep-alive connections from a load of clients are cheap; don't drop them at 5 s.
        timeout_keep_alive=30,
    )
