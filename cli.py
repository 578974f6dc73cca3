"""The ``graders`` command. Each command lives in ``graders/commands/<name>.py`` and is
imported only when it runs, so that ``graders validate`` starts fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> module under graders.commands exposing ``command`` (a click.Command).
COMMANDS: dict[str, str] = {
    "validate": "validate",
    "run": "run",
    "export": "export",
    "doctor": "doctor",
    "serve": "serve",
    "preflight": "preflight",
    "test": "test",
    "score": "score",
    "parity": "parity",
    "metrics": "metrics",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command: Any = importlib.import_module(f"graders.commands.{module}").command
        return command  # type: ignore[no-any-return]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="graders-toolkit")
def main() -> None:
    """Run OpenAI-style graders locally: validate, run, score, serve."""


if __name__ == "__main__":
    main()
