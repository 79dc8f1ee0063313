"""The `trafficking-ads` command line: a thin layer over the Python API.

Each command group lives in its own module with a `register(app)` function, so that the
commands of one stage never touch another's. Heavy imports (torch, spaCy) happen inside
commands, never at start-up.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="trafficking-ads",
    help="Find deceptive recruitment (trafficking-risk job and modelling ads). Exit codes: 0 done, 1 usage error, 2 input error under --strict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    """Find deceptive recruitment in job and modelling ads (Russian, Kazakh, English)."""
    if version:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


#: Command modules, in the order their commands appear in --help.
COMMAND_MODULES = ("score", "schema", "explain", "report", "cluster", "data", "evaluate", "train", "label", "models", "scrape")

for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    app()
