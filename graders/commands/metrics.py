"""``graders metrics``: list the text_similarity metrics with their signatures."""

from __future__ import annotations

import click


@click.command("metrics")
@click.option("--json", "as_json", is_flag=True, help="Print {metric: signature} as JSON.")
def command(as_json: bool) -> None:
    """List every evaluation_metric computed locally with its signature: the library call it
    reproduces, the library version, tokenizer and options (and where METEOR finds WordNet)."""
    from metrics import SIGNATURES
    from metrics.wordnet import WordNetMissing, find_source

    if as_json:
        from graders.commands.common import print_json

        print_json(dict(SIGNATURES))
        return
    for name, sig in SIGNATURES.items():
        click.echo(sig)
    click.echo("cosine|embeddings backend (text-embedding-3-large by default); not computed locally")
    try:
        source = find_source()
        click.echo(f"# meteor WordNet 3.0: {source.describe()}")
    except WordNetMissing as exc:
        click.echo(f"# meteor unavailable: {exc.details}")
