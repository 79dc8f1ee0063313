"""Polite HTTP fetching: robots.txt, per-host delay and concurrency, retries, size and redirect limits.

Why httpx (not Scrapy): one small pure-Python dependency with an async client, which lets a
library call `crawl()` without taking over the process with a Twisted reactor; it streams
responses (so the size limit is enforced while reading), and it talks to a loopback test
server like to any other. Redirects are followed here, by hand, so that every hop is checked
against robots.txt, the scheme whitelist, the crawl's scope and the loop detector. Connections
go only to public addresses (checked after DNS resolution, see `addresses`) unless
`allow_private` is set.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from ..errors import TraffickingAdsError
from .. import __version__
from .addresses import AddressRefused, guard_transport
from .robots import Robots, host_key, robots_url

#: Where site owners can read who is crawling them and why. The project has no public page to
#: point at, so by default the User-Agent names only the project; operators should set their own
#: contact URL (--user-agent-contact or `user_agent_contact:` in the sources file).
DEFAULT_CONTACT = ""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Statuses worth retrying: rate limiting and server trouble (501 Not Implemented will not change).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
#: RFC 9309 §2.5: crawlers must parse at least the first 500 KiB of a robots.txt; a longer file
#: is cut there (at the last whole line), not treated as missing.
ROBOTS_MAX_BYTES = 500 * 1024


@dataclass
class FetchConfig:
    """Politeness and safety limits. Defaults suit crawling someone else's site; tests shrink them."""

    delay: float = 1.0  # seconds between request starts to one host (robots Crawl-delay can raise it)
    concurrency: int = 1  # requests in flight per host
    timeout: float = 30.0  # seconds for a whole response (connect + headers + body)
    max_bytes: int = 5 * 1024 * 1024  # a response body larger than this is abandoned mid-stream
    max_redirects: int = 10
    max_retries: int = 3  # on 429, 5xx, timeouts and connection errors
    backoff: float = 1.0  # first back-off in seconds, doubled on each retry
    max_backoff: float = 60.0
    max_retry_after: float = 300.0  # a Retry-After longer than this makes us give up on the URL
    contact: str = DEFAULT_CONTACT
    obey_robots: bool = True
    #: Connect to loopback/private/link-local/metadata addresses too (a local site, or tests on 127.0.0.1).
    allow_private: bool = False

    @property
    def user_agent(self) -> str:
        """`trafficking-ads/<version> (+<contact URL>)`: names the project and how to reach its operator."""
        return f"trafficking-ads/{__version__} (+{self.contact})" if self.contact else f"trafficking-ads/{__version__}"


class FetchError(TraffickingAdsError):
    """A URL that could not be fetched; `kind` says why (robots, scheme, scope, address, too_large,
    redirect_loop, too_many_redirects, timeout, network)."""

    def __init__(self, kind: str, url: str, message: str) -> None:
        super().__init__(f"{kind}: {url}: {message}")
        self.kind = kind
        self.url = url


@dataclass
class FetchResult:
    """One fetched URL after redirects and retries. `status` 304 means "unchanged since last time"."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    redirects: list[str] = field(default_factory=list)
    retries: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def check_url(url: str) -> str:
    """Return `url` without its fragment if it is an absolute http(s) URL; raise FetchError otherwise.

    Rejects file:, ftp:, javascript:, data: and friends: a crawler fed untrusted links must never
    read local files or run anything.
    """
    url = urldefrag(url.strip())[0]
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(
            "scheme", url, f"only http and https URLs are fetched, not {parts.scheme or 'a relative URL'!r}"
        )
    if not parts.hostname:
        raise FetchError("scheme", url, "URL has no host")
    return url


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now_ts = time.time() if now is None else now
    return max(0.0, when.timestamp() - now_ts)


class _Host:
    """Per-origin politeness state: a semaphore for concurrency and the earliest next request time."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self.sem = asyncio.Semaphore(max(1, concurrency))
        self.lock = asyncio.Lock()
        self.delay = delay
        self.next_at = 0.0
        self.robots: Robots | None = None
        self.robots_lock = asyncio.Lock()

    async def turn(self) -> None:
        """Wait until this host may receive the next request, then book the slot after it."""
        loop = asyncio.get_running_loop()
        async with self.lock:
            wait = self.next_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.next_at = loop.time() + self.delay

    def hold_off(self, seconds: float) -> None:
        """Push this host's next request back (Retry-After, back-off): the whole host slows down."""
        loop = asyncio.get_running_loop()
        self.next_at = max(self.next_at, loop.time() + seconds)


class Fetcher:
    """An async fetcher shared by a crawl. Use as `async with Fetcher(config) as f: await f.fetch(url)`.

    `log` collects (url, status or error) of every request actually sent, robots.txt included,
    which is what tests and the CLI summary count.
    """

    def __init__(self, config: FetchConfig | None = None, host_delays: dict[str, float] | None = None) -> None:
        self.config = config or FetchConfig()
        self._host_delays = {host_key(k) if "://" in k else k: v for k, v in (host_delays or {}).items()}
        self._hosts: dict[str, _Host] = {}
        self._client: httpx.AsyncClient | None = None
        self.requests_sent = 0
        self.bytes_received = 0

    async def __aenter__(self) -> "Fetcher":
        cfg = self.config
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(cfg.timeout),
            headers={
                "User-Agent": cfg.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "ru, kk;q=0.9, en;q=0.8",
            },
            trust_env=False,  # no proxies from the environment: we talk to exactly the host named
            transport=None if cfg.allow_private else guard_transport(httpx.AsyncHTTPTransport(trust_env=False)),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _host(self, url: str) -> _Host:
        key = host_key(url)
        host = self._hosts.get(key)
        if host is None:
            delay = max(self.config.delay, self._host_delays.get(key, 0.0))
            host = self._hosts[key] = _Host(self.config.concurrency, delay)
        return host

    async def robots(self, url: str) -> Robots:
        """The robots.txt rules for `url`'s origin, fetched once per origin and cached."""
        host = self._host(url)
        async with host.robots_lock:
            if host.robots is None:
                origin = host_key(url)
                try:
                    # robots.txt may redirect within the origin's host (RFC 9309 §2.3.1.2), not elsewhere
                    res = await self._follow(
                        robots_url(url),
                        {},
                        max_bytes=ROBOTS_MAX_BYTES,
                        obey_robots=False,
                        scope=lambda u: urlsplit(u).hostname == urlsplit(origin).hostname,
                        truncate=True,
                    )
                    status, text = res.status, res.content.decode("utf-8", "replace")
                    if len(res.content) >= ROBOTS_MAX_BYTES:
                        text = text.rsplit("\n", 1)[0]  # the last line may be cut mid-rule
                except FetchError as e:
                    if e.kind == "address":
                        raise FetchError("address", url, str(e).split(": ", 2)[-1]) from None
                    status, text = 0, ""
                host.robots = Robots.from_response(origin, status, text)
                delay = host.robots.crawl_delay()
                if delay is not None and delay > host.delay:
                    host.delay = delay
            return host.robots

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url` (always True when robots are switched off)."""
        if not self.config.obey_robots:
            return True
        return (await self.robots(url)).allowed(url)

    async def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        scope: Callable[[str], bool] | None = None,
    ) -> FetchResult:
        """GET `url` politely; conditional when `etag`/`last_modified` are given (then 304 = unchanged).

        `scope(url)` says whether a URL is inside the crawl (a source's `allows`): every redirect
        target is checked with it, so a redirect never leaves the crawl. Raises FetchError for URLs
        we will not or cannot fetch; HTTP error statuses that remain after retries come back as a
        FetchResult with that status.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        url = check_url(url)
        if scope is not None and not scope(url):
            raise FetchError("scope", url, "outside the crawl's scheme/host/port scope")
        return await self._follow(
            url, headers, max_bytes=self.config.max_bytes, obey_robots=self.config.obey_robots, scope=scope
        )

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        obey_robots: bool,
        scope: Callable[[str], bool] | None = None,
        truncate: bool = False,
    ) -> FetchResult:
        chain = [url]
        current = url
        retries = 0
        for _ in range(self.config.max_redirects + 1):
            if obey_robots and not (await self.robots(current)).allowed(current):
                raise FetchError("robots", current, "disallowed by robots.txt")
            status, resp_headers, body, tries = await self._with_retries(current, headers, max_bytes, truncate)
            retries += tries
            location = resp_headers.get("location")
            if status in REDIRECT_STATUSES and location:
                nxt = check_url(urljoin(current, location))
                if scope is not None and not scope(nxt):
                    raise FetchError("scope", url, f"redirect to {nxt} leaves the crawl's scheme/host/port scope")
                if nxt in chain:
                    raise FetchError("redirect_loop", url, "redirect loop: " + " -> ".join(chain + [nxt]))
                chain.append(nxt)
                current = nxt
                continue
            return FetchResult(url, current, status, resp_headers, body, chain[1:], retries)
        raise FetchError("too_many_redirects", url, f"more than {self.config.max_redirects} redirects")

    async def _with_retries(
        self, url: str, headers: dict[str, str], max_bytes: int, truncate: bool = False
    ) -> tuple[int, dict[str, str], bytes, int]:
        cfg = self.config
        host = self._host(url)
        for attempt in range(cfg.max_retries + 1):
            last = attempt == cfg.max_retries
            try:
                status, resp_headers, body = await self._once(host, url, headers, max_bytes, truncate)
            except AddressRefused as e:
                raise FetchError("address", url, str(e)) from None
            except FetchError as e:
                if e.kind != "timeout" or last:
                    raise
                host.hold_off(min(cfg.max_backoff, cfg.backoff * 2**attempt))
                continue
            except httpx.TransportError as e:
                if last:
                    raise FetchError("network", url, f"{type(e).__name__}: {e}") from e
                host.hold_off(min(cfg.max_backoff, cfg.backoff * 2**attempt))
                continue
            except httpx.HTTPError as e:  # e.g. a body that fails to decompress: retrying will not help
                raise FetchError("network", url, f"{type(e).__name__}: {e}") from e
            except httpx.InvalidURL as e:
                raise FetchError("scheme", url, f"invalid URL: {e}") from e
            if status in RETRY_STATUSES and not last:
                wait = parse_retry_after(resp_headers.get("retry-after"))
                if wait is not None and wait > cfg.max_retry_after:
                    return status, resp_headers, body, attempt  # the site asks for a pause longer than we wait
                if wait is None:
                    wait = min(cfg.max_backoff, cfg.backoff * 2**attempt)
                host.hold_off(wait)
                continue
            return status, resp_headers, body, attempt
        raise AssertionError("unreachable")

    async def _once(
        self, host: _Host, url: str, headers: dict[str, str], max_bytes: int, truncate: bool = False
    ) -> tuple[int, dict[str, str], bytes]:
        """One GET; a body over `max_bytes` is refused, or with `truncate` cut to its first `max_bytes`."""
        assert self._client is not None, "use Fetcher as an async context manager"
        async with host.sem:
            await host.turn()
            self.requests_sent += 1
            try:
                async with asyncio.timeout(self.config.timeout):
                    async with self._client.stream("GET", url, headers=headers) as resp:
                        declared = resp.headers.get("content-length", "")
                        if declared.isdigit() and int(declared) > max_bytes and not truncate:
                            raise FetchError(
                                "too_large", url, f"Content-Length {declared} exceeds the limit of {max_bytes} bytes"
                            )
                        buf = bytearray()
                        async for chunk in resp.aiter_bytes():
                            buf += chunk
                            if len(buf) > max_bytes and truncate:
                                del buf[max_bytes:]
                                break
                            if len(buf) > max_bytes:
                                raise FetchError(
                                    "too_large", url, f"body exceeds the limit of {max_bytes} bytes (stopped reading)"
                                )
                        self.bytes_received += len(buf)
                        return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, bytes(buf)
            except (TimeoutError, httpx.TimeoutException) as e:
                raise FetchError("timeout", url, f"no complete response within {self.config.timeout:g} s") from e


def http_date(ts: float | None = None) -> str:
    """An RFC 9110 HTTP-date (used by tests and for Retry-After round trips)."""
    return email.utils.format_datetime(
        datetime.fromtimestamp(ts if ts is not None else time.time(), timezone.utc), usegmt=True
    )
