"""``graders doctor``: which isolation features the python sandbox has on this machine."""

from __future__ import annotations

import click

from graders.commands.common import print_json

# Without these a hostile grader can reach the network or the host: say so loudly.
ESSENTIAL = ("network_namespace", "pid_namespace_per_grade", "readonly_filesystem")


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def command(as_json: bool) -> None:
    """Start the python sandbox and report its isolation (exit 1 if network isolation is missing)."""
    import warnings

    from graders.sandbox import SandboxWarning, isolation_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)  # reported below instead
        try:
            report = isolation_report()
        except RuntimeError as exc:
            click.echo(f"python sandbox: cannot start: {exc}", err=True)
            raise SystemExit(1) from None
    features = report["features"]
    if as_json:
        print_json(report)
    else:
        click.echo(f"python sandbox ({report['python']})")
        for key, value in features.items():
            if isinstance(value, bool):
                mark = "yes" if value else ("NO " if key in ESSENTIAL else "no ")
                click.echo(f"  {mark:4} {key.replace('_', ' ')}")
            else:
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                click.echo(f"       {key.replace('_', ' ')}: {shown}")
    for warning in report["warnings"]:
        click.echo(f"WARNING: {warning}", err=True)
    if not features.get("network_namespace"):
        click.echo("WARNING: python graders are NOT cut off from the network on this machine", err=True)
        raise SystemExit(1)
