"""The crawl loop: take URLs from the persisted frontier, fetch politely, turn each response into
ads and/or more URLs, commit the page, repeat.

What a response yields is decided by what it is, not by where it was found: a sitemap index
yields sitemaps, a sitemap or a feed yields the pages it lists, a Telegram channel preview
yields one ad per message (and its older page), an HTML page yields its schema.org
JobPostings; a listing page (a start page with matching ad links, or a pagination page) yields
the ad links chosen by the source's rule and its next page; an ad page without structured
data yields its main text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from ..records import Ad
from .extract import HtmlPage, UndecodablePage, is_html, rel_links, select_links
from .feeds import parse_feed
from .fetch import FetchConfig, FetchError, Fetcher, check_url
from .robots import host_key
from .sitemaps import parse_sitemap
from .sources import Source
from .store import FrontierItem, Store, body_hash, now_iso
from .telegram import is_channel_page, parse_channel_page

log = logging.getLogger(__name__)

#: Roles a frontier URL can have: how it was found decides what we look for on it.
START, LISTING, AD, SITEMAP, TELEGRAM = "start", "listing", "ad", "sitemap", "telegram"


@dataclass
class CrawlStats:
    """What one crawl run did (the CLI prints it; tests assert on it)."""

    pages: int = 0  # responses processed (any status)
    not_modified: int = 0  # 304 answers to conditional requests
    failed: int = 0
    robots_blocked: int = 0
    duplicate_pages: int = 0
    ads_new: int = 0
    ads_updated: int = 0
    ads_duplicate: int = 0
    queued_left: int = 0
    requests: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Crawler:
    """Crawls `sources` into `store` with `fetcher`'s politeness. `max_pages` caps this run."""

    def __init__(
        self,
        store: Store,
        sources: Iterable[Source],
        fetcher: Fetcher,
        max_pages: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.store = store
        self.sources = {s.name: s for s in sources}
        self.fetcher = fetcher
        self.max_pages = max_pages
        hosts = {host_key(u) for s in self.sources.values() for u in s.start_urls} or {""}
        self.workers = workers or max(1, min(16, fetcher.config.concurrency * len(hosts)))
        self.stats = CrawlStats()
        self._claimed = 0
        self._inflight: set[str] = set()
        self._host_load: dict[str, int] = {}
        self._done_by_source = store.processed_by_source()
        self._changed: asyncio.Event | None = None

    def seed(self) -> int:
        """Queue every source's start URLs (already known URLs keep their state); returns how many are new."""
        with self.store.transaction():
            return sum(self.store.enqueue(u, s.name, START) for s in self.sources.values() for u in s.start_urls)

    async def run(self) -> CrawlStats:
        """Crawl until the frontier is empty or `max_pages` is reached."""
        self._changed = asyncio.Event()
        await asyncio.gather(*(self._worker() for _ in range(self.workers)))
        self.stats.queued_left = self.store.frontier_counts()["queued"]
        self.stats.requests = self.fetcher.requests_sent
        self.stats.bytes = self.fetcher.bytes_received
        return self.stats

    # ---------------------------------------------------------------- scheduling

    def _open_sources(self) -> set[str]:
        """Sources of this run below their page limit (other frontier rows stay queued for later runs)."""
        return {
            name
            for name, s in self.sources.items()
            if s.max_pages is None or self._done_by_source.get(name, 0) < s.max_pages
        }

    def _claim(self) -> FrontierItem | None:
        if self.max_pages is not None and self._claimed >= self.max_pages:
            return None
        # Take the oldest queued URL whose host has a free slot, so one slow host does not hold
        # every worker while other hosts wait.
        busy = {h for h, n in self._host_load.items() if n >= self.fetcher.config.concurrency}
        for item in self.store.next_queued(self._inflight, self._open_sources(), limit=64):
            host = host_key(item.url)
            if host in busy:
                continue
            self._claimed += 1
            self._done_by_source[item.source] = self._done_by_source.get(item.source, 0) + 1
            self._inflight.add(item.url)
            self._host_load[host] = self._host_load.get(host, 0) + 1
            return item
        return None

    async def _worker(self) -> None:
        assert self._changed is not None
        while True:
            item = self._claim()
            if item is None:
                if not self._inflight:
                    self._changed.set()
                    return
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                await self._process(item)
            except Exception as e:  # one bad page must not end the crawl; it is recorded and skipped
                log.exception("error processing %s", item.url)
                with self.store.transaction():
                    self.store.save_page(
                        item.url, source=item.source, fetched_at=now_iso(), error=f"{type(e).__name__}: {e}"
                    )
                    self.store.set_state(item.url, "failed", f"{type(e).__name__}: {e}")
                self.stats.failed += 1
            finally:
                self._inflight.discard(item.url)
                self._host_load[host_key(item.url)] -= 1
                self._changed.set()

    # ---------------------------------------------------------------- one page

    async def _process(self, item: FrontierItem) -> None:
        source = self.sources[item.source]
        prev = self.store.page(item.url)
        # Conditional request when we hold a good copy's validators: 304 then means "unchanged".
        fresh = prev is not None and prev["status"] in (200, 304) and prev["duplicate_of"] is None
        etag = prev["etag"] if fresh else None
        last_mod = prev["last_modified"] if fresh else None
        try:
            res = await self.fetcher.fetch(item.url, etag=etag, last_modified=last_mod, scope=source.allows)
        except FetchError as e:
            self.stats.pages += 1
            if e.kind == "robots":
                self.stats.robots_blocked += 1
            self.stats.failed += 1
            log.info("skip %s (%s)", item.url, e)
            with self.store.transaction():
                self.store.save_page(item.url, source=source.name, kind=item.role, fetched_at=now_iso(), error=str(e))
                self.store.set_state(item.url, "failed", str(e))
            return
        self.stats.pages += 1
        if res.not_modified and prev is not None:
            self.stats.not_modified += 1
            with self.store.transaction():
                self.store.touch_page(item.url)
                self.store.set_state(item.url, "done")
            return
        page_fields = dict(
            final_url=res.final_url,
            source=source.name,
            kind=item.role,
            fetched_at=now_iso(),
            checked_at=now_iso(),
            status=res.status,
            etag=res.headers.get("etag"),
            last_modified=res.headers.get("last-modified"),
            content_hash=body_hash(res.content),
            content_type=res.content_type,
            bytes=len(res.content),
            duplicate_of=None,
            ads=0,
            error=None,
        )
        if not res.ok:
            self.stats.failed += 1
            with self.store.transaction():
                self.store.save_page(item.url, **{**page_fields, "error": f"HTTP {res.status}"})
                self.store.set_state(item.url, "failed", f"HTTP {res.status}")
            return

        ads: list[Ad] = []
        links: list[tuple[str, str, bool]] = []  # (url, role, requeue)
        replace_page = False
        if not is_html(res.content, res.content_type):
            kind = self._xml(res.content, source, links)
            page_fields["kind"] = kind
        else:
            try:
                page = HtmlPage.parse(res.content, res.final_url, res.headers.get("content-type"))
            except UndecodablePage as e:
                self.stats.failed += 1
                log.info("skip %s (%s)", item.url, e)
                with self.store.transaction():
                    self.store.save_page(item.url, **{**page_fields, "error": f"undecodable: {e}"})
                    self.store.set_state(item.url, "failed", f"undecodable: {e}")
                return
            page_fields["canonical_url"] = page.canonical
            if is_channel_page(page.tree):
                page_fields["kind"] = TELEGRAM
                channel = parse_channel_page(page.tree, res.final_url)
                ads = [m.to_ad() for m in channel.messages]
                if channel.older and source.allows(channel.older):
                    links.append((channel.older, TELEGRAM, False))  # re-queued below if this page showed news
            else:
                listing = item.role in (START, LISTING)
                dup = self.store.duplicate_of(
                    item.url, page.canonical, page_fields["content_hash"], by_canonical=not listing
                )
                if dup is not None:
                    self.stats.duplicate_pages += 1
                    with self.store.transaction():
                        self.store.save_page(item.url, **{**page_fields, "duplicate_of": dup})
                        self.store.set_state(item.url, "done")
                    return
                ads = page.structured_ads(source.name)
                ad_links: list[str] = []
                if listing and source.ad_links is not None:
                    ad_links = [
                        u
                        for u in select_links(page.tree, page.url, source.ad_links.css, source.ad_links.regex)
                        if u != page.url
                    ]
                if listing and (ad_links or item.role == LISTING):
                    next_pages = self._next_pages(page, source)  # a link that is both is a listing page
                    links.extend((u, LISTING, False) for u in next_pages)
                    links.extend((u, AD, False) for u in ad_links if u not in next_pages)
                    page_fields["kind"] = LISTING
                elif not ads:
                    fallback = page.fallback_ad(source.name)
                    ads = [fallback] if fallback is not None else []
                    page_fields["kind"] = AD
                else:
                    page_fields["kind"] = AD
                replace_page = prev is not None

        with self.store.transaction():
            counts = self.store.save_ads(ads, item.url, replace_page=replace_page)
            for url, role, requeue in links:
                if not source.allows(url):
                    continue
                requeue = requeue or (role == TELEGRAM and counts.new + counts.updated > 0)
                self.store.enqueue(url, source.name, role, parent=item.url, requeue=requeue)
            self.store.save_page(item.url, **{**page_fields, "ads": len(ads)})
            self.store.set_state(item.url, "done")
        self.stats.ads_new += counts.new
        self.stats.ads_updated += counts.updated
        self.stats.ads_duplicate += counts.duplicate

    def _xml(self, content: bytes, source: Source, links: list[tuple[str, str, bool]]) -> str:
        """Sitemaps and feeds: queue what they list; returns the page kind."""
        rule = source.ad_links.regex if source.ad_links is not None else None
        try:
            sitemap = parse_sitemap(content)
        except ValueError as e:
            log.warning("unreadable sitemap: %s", e)
            sitemap = None
        if sitemap is not None:
            role = SITEMAP if sitemap.kind == "index" else AD
            for loc, _lastmod in sitemap.entries:
                url = _safe_url(loc)
                if url and (role == SITEMAP or rule is None or rule.search(url)):
                    links.append((url, role, False))
            return "sitemap-index" if sitemap.kind == "index" else "sitemap"
        feed = parse_feed(content)
        if feed is not None:
            for entry in feed.entries:
                url = _safe_url(entry.link)
                if url and (rule is None or rule.search(url)):
                    links.append((url, AD, False))
            return "feed"
        return "other"

    def _next_pages(self, page: HtmlPage, source: Source) -> list[str]:
        pag = source.pagination
        out: list[str] = []
        if pag.next_css or pag.pattern:
            out = select_links(page.tree, page.url, pag.next_css, re_or_none(pag.pattern))
        else:
            out = rel_links(page.tree, page.url, "next")
        return [u for u in out if u != page.url]


def re_or_none(pattern: str | None) -> re.Pattern[str] | None:
    """A compiled regex, or None for no pattern."""
    return re.compile(pattern) if pattern else None


def _safe_url(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return check_url(url)
    except FetchError:
        return None


async def crawl_async(
    db: str | Path,
    sources: Iterable[Source],
    config: FetchConfig | None = None,
    max_pages: int | None = None,
    recrawl: bool = False,
) -> CrawlStats:
    """Crawl `sources` into the store at `db` (created if missing; an existing one resumes its frontier).

    `recrawl` queues every known page again; unchanged pages then cost one conditional request.
    """
    sources = list(sources)
    config = config or FetchConfig()
    with Store(db) as store:
        if sources:
            store.save_sources((s.name, s.model_dump()) for s in sources)
        else:
            sources = [Source.model_validate(c) for c in store.load_sources()]
        if recrawl:
            store.requeue_for_recrawl()
        host_delays = {}
        for s in sources:
            if s.delay is not None:
                for u in s.start_urls:
                    host_delays[host_key(u)] = max(s.delay, host_delays.get(host_key(u), 0.0))
        async with Fetcher(config, host_delays=host_delays) as fetcher:
            crawler = Crawler(store, sources, fetcher, max_pages=max_pages)
            crawler.seed()
            return await crawler.run()


def crawl(
    db: str | Path,
    sources: Iterable[Source],
    config: FetchConfig | None = None,
    max_pages: int | None = None,
    recrawl: bool = False,
) -> CrawlStats:
    """Synchronous `crawl_async` for scripts and the CLI."""
    return asyncio.run(crawl_async(db, sources, config=config, max_pages=max_pages, recrawl=recrawl))
