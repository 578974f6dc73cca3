"""One module per CLI command; ``cli.py`` imports a command's module only when it runs."""
