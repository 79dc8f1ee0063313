"""A polite scraper for job boards, classifieds, feeds, sitemaps and Telegram channel previews.

Stages, one module each: `fetch` (politeness, retries, limits) with `robots` and `addresses`
(no connections to loopback/private/metadata addresses unless allowed), then `sitemaps`,
`feeds`, `telegram` and `extract` (JSON-LD/microdata JobPosting, else main text) to read what
was fetched, `store` (the resumable SQLite crawl store), `crawl` (frontier + loop) and `sources`
(what to crawl)::

    from trafficking_ads.scrape import crawl, sources_from_urls, iter_ads
    stats = crawl("crawl.sqlite", sources_from_urls(["https://t.me/s/some_channel"]))
    for ad in iter_ads("crawl.sqlite"): ...
"""

from .crawl import CrawlStats, crawl, crawl_async
from .fetch import FetchConfig, FetchError, Fetcher
from .sources import Source, SourceError, load_sources, sources_from_urls
from .store import Store, iter_ads

__all__ = [
    "CrawlStats",
    "crawl",
    "crawl_async",
    "FetchConfig",
    "FetchError",
    "Fetcher",
    "Source",
    "SourceError",
    "load_sources",
    "sources_from_urls",
    "Store",
    "iter_ads",
]
