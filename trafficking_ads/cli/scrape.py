"""`trafficking-ads scrape`: crawl job boards, feeds, sitemaps and Telegram channels into a store."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer


def scrape(
    urls: Optional[list[str]] = typer.Argument(
        None, help="Start URLs: an ad page, a listing page, a sitemap, a feed or https://t.me/s/<channel>."
    ),
    sources: Optional[Path] = typer.Option(
        None, "--sources", help="YAML sources file (start URLs, allowed domains, ad-link rules, pagination, limits)."
    ),
    db: Optional[Path] = typer.Option(None, "--db", help="SQLite crawl store; an existing one continues its frontier."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write every stored ad as JSON lines here (atomic)."),
    follow: Optional[list[str]] = typer.Option(
        None, "--follow", help="Regex choosing the ad links on listing pages (repeatable)."
    ),
    delay: Optional[float] = typer.Option(
        None,
        "--delay",
        min=0,
        help="Seconds between requests to one host (default 1.0; a robots.txt Crawl-delay can raise it).",
    ),
    concurrency: Optional[int] = typer.Option(
        None, "--concurrency", min=1, help="Requests in flight per host (default 1)."
    ),
    max_pages: Optional[int] = typer.Option(
        None, "--max-pages", min=1, help="Stop after this many pages in this run (resume later)."
    ),
    max_bytes: int = typer.Option(
        5 * 1024 * 1024, "--max-bytes", min=1024, help="Abandon responses larger than this (enforced while streaming)."
    ),
    timeout: float = typer.Option(30.0, "--timeout", min=0.01, help="Seconds allowed for one whole response."),
    retries: int = typer.Option(
        3, "--retries", min=0, help="Retries on 429, 5xx, timeouts and connection errors (exponential back-off)."
    ),
    contact: Optional[str] = typer.Option(
        None, "--user-agent-contact", help="Contact URL put in the User-Agent: trafficking-ads/<version> (+URL)."
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue the frontier of an existing --db (the default with an existing db; this flag requires one).",
    ),
    recrawl: bool = typer.Option(
        False,
        "--recrawl",
        help="Check every known page again with conditional requests; only new or changed pages are re-read.",
    ),
    allow_private: bool = typer.Option(
        False,
        "--allow-private",
        help="Also connect to loopback, private-network, link-local and cloud-metadata addresses (refused by default, after DNS resolution, redirects included). For crawling a site on your own network, and for tests against a server on 127.0.0.1.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each skipped or failed URL."),
) -> None:
    """Scrape ads politely (robots.txt, per-host delay, back-off) into --db and/or --out.

    A URL is understood by what it serves: a sitemap or feed yields the ad pages it lists, an ad page its ad (schema.org JobPosting, else main text), a listing page the ad pages it links to (choose them with --follow), a Telegram channel preview (https://t.me/s/<channel>) one ad per message.

    A crawl killed halfway continues when run again with the same --db; --recrawl re-checks known pages with conditional requests.

    Every request, redirects included, stays within its source's scheme, host (or allowed domains) and port; names that resolve to loopback, private, link-local or metadata addresses are refused unless --allow-private is given.
    """
    import logging

    from ..scrape import FetchConfig, SourceError, crawl, load_sources, sources_from_urls
    from ..scrape.store import Store

    def fail(msg: str) -> None:
        typer.echo(f"error: {msg}", err=True)
        raise typer.Exit(1)

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr
    )
    if db is None and out is None:
        fail("give --db (a resumable crawl store) and/or --out (JSON lines)")
    if resume and (db is None or not db.exists()):
        fail(f"--resume needs an existing --db; {db} does not exist" if db else "--resume needs --db")
    if out is not None:
        from ..writers import OutputError, check_output_path

        try:
            check_output_path(out)  # a directory at --out is found now, not after the crawl
        except OutputError as e:
            fail(str(e))
    if contact is not None and (not contact.strip() or re.search(r"[\x00-\x1f\x7f]", contact)):
        fail("--user-agent-contact must be a URL without control characters")

    srcs = []
    file_cfg = None
    try:
        if sources is not None:
            file_cfg = load_sources(sources)
            srcs.extend(file_cfg.sources)
        if urls:
            srcs.extend(sources_from_urls(list(urls), follow=list(follow or []) or None))
    except SourceError as e:
        fail(str(e))
    names = [s.name for s in srcs]
    if len(set(names)) != len(names):
        fail(
            f"a URL's host names the same source as the sources file: {sorted({n for n in names if names.count(n) > 1})}"
        )
    if not srcs and (db is None or not db.exists()):
        fail("nothing to crawl: give URLs, --sources, or an existing --db to resume")

    config = FetchConfig(
        delay=delay if delay is not None else (file_cfg.delay if file_cfg and file_cfg.delay is not None else 1.0),
        concurrency=concurrency or (file_cfg.concurrency if file_cfg and file_cfg.concurrency else 1),
        timeout=timeout,
        max_bytes=max_bytes,
        max_retries=retries,
        allow_private=allow_private,
    )
    if contact or (file_cfg and file_cfg.user_agent_contact):
        config.contact = contact or file_cfg.user_agent_contact  # type: ignore[union-attr]
    if max_pages is None and file_cfg is not None:
        max_pages = file_cfg.max_pages

    tmp = None
    if db is None:
        tmp = tempfile.TemporaryDirectory(prefix="trafficking-ads-crawl-")
        db = Path(tmp.name) / "crawl.sqlite"
    try:
        try:
            stats = crawl(db, srcs, config=config, max_pages=max_pages, recrawl=recrawl)
        except KeyboardInterrupt:
            typer.echo(
                f"interrupted; run the same command again to resume from {db}" if tmp is None else "interrupted",
                err=True,
            )
            raise typer.Exit(130)
        typer.echo(json.dumps({"db": str(db) if tmp is None else None, **stats.as_dict()}), err=True)
        if stats.pages == 0 and stats.queued_left == 0 and not recrawl and tmp is None:
            typer.echo("nothing queued: every known page is done (use --recrawl to check them for changes)", err=True)
        if out is not None:
            with Store(db) as store:
                n = store.export_jsonl(out)
            typer.echo(f"wrote {n} ads to {out}", err=True)
    finally:
        if tmp is not None:
            tmp.cleanup()


def register(app: typer.Typer) -> None:
    """Add the `scrape` command to the app."""
    app.command("scrape")(scrape)
