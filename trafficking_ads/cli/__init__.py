"""The `trafficking-ads` command line: a thin layer over the Python API.

Each command group lives in its own module with a `register(app)` function, so that the
commands of one stage never touch another's. Heavy imports (torch, spaCy) happen inside
commands, never at start-up.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer
from typer.core import TyperGroup

try:  # recent typer vendors its own click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import UsageError


class _Group(TyperGroup):
    """Usage errors exit with 1, as documented; click's default 2 means an input error under --strict here.
    A library error (TraffickingAdsError: a missing model, extra or input) that no command handled
    is printed as one line, without a traceback, and exits with 1."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[override]
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as e:
            e.exit_code = 1
            raise

    def invoke(self, ctx):  # type: ignore[override]
        from ..errors import TraffickingAdsError

        try:
            return super().invoke(ctx)
        except UsageError as e:
            e.exit_code = 1
            raise
        except TraffickingAdsError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        except ModuleNotFoundError as e:  # an optional dependency group that is not installed
            from ..extras import missing_extra

            err = missing_extra(e, feature=f"`{ctx.invoked_subcommand or ctx.info_name}`")
            if err is None:
                raise
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    name="trafficking-ads",
    help="Find deceptive recruitment (trafficking-risk job and modelling ads). Exit codes: 0 done, 1 usage error, 2 input error under --strict, 3 nothing scored (score), 130 interrupted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


#: The library's logger: INFO lines say what a first run prepares (e.g. building the
#: serving runtime's cached model) and how long it took.
LOGGER = "trafficking_ads"


class _StderrHandler(logging.StreamHandler):
    """Plain messages on whatever `sys.stderr` is now (a live progress display redirects it,
    and tests capture it), not on the stream that was there at start-up."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging() -> None:
    """One stderr handler on the `trafficking_ads` logger, INFO and up, plain message."""
    log = logging.getLogger(LOGGER)
    log.setLevel(logging.INFO)
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.propagate = False


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    """Find deceptive recruitment in job and modelling ads (Russian, Kazakh, English)."""
    setup_logging()
    if version:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


#: Command modules, in the order their commands appear in --help.
COMMAND_MODULES = (
    "score",
    "schema",
    "explain",
    "report",
    "cluster",
    "data",
    "evaluate",
    "train",
    "label",
    "models",
    "scrape",
    "serve",
    "desk",
    "doctor",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main() -> None:
    """Console-script entry point.

    After Ctrl-C (exit code 130) the command has already kept and closed its output; the
    process then ends at once with `os._exit`, instead of waiting at interpreter exit for a
    worker thread to finish native work it cannot be asked to drop (a model's batch)."""
    try:
        app()
    except SystemExit as e:
        if e.code == 130:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise
    except KeyboardInterrupt:  # Ctrl-C outside a command's own handling (e.g. while starting)
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(130)
