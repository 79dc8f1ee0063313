"""`trafficking-ads desk`: open the analyst's desk (the page `serve` serves at `/`) in the browser."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

import typer


def _up(url: str) -> bool:
    """Whether a trafficking-ads service answers /healthz at `url`."""
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def register(app: typer.Typer) -> None:
    """Add the `desk` command to the app."""

    @app.command()
    def desk(
        port: int = typer.Option(
            8080, "--port", help="Port of the service on 127.0.0.1 (started there if nothing answers)."
        ),
        model: Optional[str] = typer.Option(
            None, "--model", help="Model for a service this command starts (default: serve's)."
        ),
        label_dir: Optional[Path] = typer.Option(
            None,
            "--label-dir",
            help="For a service this command starts: let the page label ads into DIR/labels.jsonl (see `serve --label-dir`).",
        ),
        no_browser: bool = typer.Option(
            False, "--no-browser", help="Print the address instead of opening the default browser."
        ),
        wait: float = typer.Option(120.0, "--wait", help="Seconds to wait for a started service to answer."),
    ) -> None:
        """Open the analyst's desk: check an ad, read its evidence, in a local web page.

        Example: `trafficking-ads desk`. Uses a `serve` already running on 127.0.0.1:PORT, else starts
        one (it stops with this command: Ctrl+C). The page works offline; nothing leaves this machine.
        """
        url = f"http://127.0.0.1:{port}"
        proc = None
        if not _up(url):
            args = [sys.executable, "-m", "trafficking_ads", "serve", "--host", "127.0.0.1", "--port", str(port)]
            if model:
                args += ["--model", model]
            if label_dir:
                args += ["--label-dir", str(label_dir)]
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
            end = time.monotonic() + wait
            while not _up(url):
                if proc.poll() is not None:
                    typer.echo(f"error: serve exited with {proc.returncode}; see its messages above", err=True)
                    raise typer.Exit(1)
                if time.monotonic() > end:
                    proc.terminate()
                    typer.echo(f"error: serve did not answer on {url} in {wait:.0f} s", err=True)
                    raise typer.Exit(1)
                time.sleep(0.2)
        typer.echo(f"the analyst's desk: {url}/ (the model may take a minute to load on first start)")
        if not no_browser:
            import webbrowser

            webbrowser.open(url + "/")
        if proc is not None:
            try:
                raise typer.Exit(proc.wait())
            except KeyboardInterrupt:
                proc.terminate()
                raise typer.Exit(proc.wait())
