"""`python -m trafficking_ads` runs the CLI."""

from .cli import main

main()
