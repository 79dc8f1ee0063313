"""The `trafficking-ads` command line: a thin layer over the Python API.

Each command group lives in its own module with a `register(app)` function, so that the
commands of one stage never touch another's. Heavy imports (torch, spaCy) happen inside
commands, never at start-up.
"""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperGroup

try:  # recent typer vendors its own click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import UsageError


class _Group(TyperGroup):
    """Usage errors exit with 1, as documented; click's default 2 means an input error under --strict here."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[override]
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as e:
            e.exit_code = 1
            raise

    def invoke(self, ctx):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except UsageError as e:
            e.exit_code = 1
            raise


app = typer.Typer(
    cls=_Group,
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
COMMAND_MODULES = ("score", "schema", "explain", "report", "cluster", "data", "evaluate", "train", "label", "models", "scrape", "serve", "desk", "doctor")

for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    app()
