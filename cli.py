"""Runs the trafficking-ads CLI from a checkout: `python cli.py score ...`."""

from trafficking_ads.cli import main

if __name__ == "__main__":
    main()
