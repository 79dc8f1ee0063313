"""The scraper against hostile pages (issue 18): redirects out of scope, local addresses, huge
robots.txt, fractional Crawl-delay, non-text charsets. A real HTTP server on 127.0.0.1.

Most tests pass `allow_private=True` because the fixture server is on loopback, which a real
crawl refuses; the tests of that refusal leave it off.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest

from trafficking_ads.scrape import FetchConfig, FetchError, Fetcher, Source, crawl, iter_ads
from trafficking_ads.scrape.addresses import refusal
from trafficking_ads.scrape.extract import UndecodablePage, decode_html
from trafficking_ads.scrape.robots import Robots
from trafficking_ads.scrape.store import Store

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "scrape_fixture_server_h", ROOT / "tests" / "fixtures" / "site" / "server.py"
)
server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(server)
FixtureSite = server.FixtureSite


def cfg(**kw) -> FetchConfig:
    base = dict(delay=0.01, timeout=1.0, backoff=0.05, max_retries=0, allow_private=True)
    return FetchConfig(**{**base, **kw})


def fetch(url: str, config: FetchConfig, scope=None):
    async def go():
        async with Fetcher(config) as f:
            return await f.fetch(url, scope=scope)

    return asyncio.run(go())


def page_error(db: Path, url: str) -> str | None:
    with Store(db) as store:
        return store.page(url)["error"]


# ---------------------------------------------------------------- scope


def test_scope_checks_scheme_and_port():
    src = Source(name="kz", start_urls=["https://jobs.example.kz/list"])
    assert src.allows("https://jobs.example.kz/ad/1") and src.allows("https://a.jobs.example.kz:443/x")
    assert not src.allows("http://jobs.example.kz:6379/")
    assert not src.allows("https://jobs.example.kz:8443/")
    assert not src.allows("http://jobs.example.kz/")
    assert not src.allows("https://jobs.example.kz:99999999/")  # malformed port: out, not a crash
    plain = Source(name="p", start_urls=["http://board.example/"])
    assert plain.allows("https://board.example/ad")  # the usual upgrade redirect
    assert not plain.allows("http://board.example:8080/")


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:{port}/jobs/1.html",
        "http://127.0.0.1:{other}/jobs/1.html",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_redirect_out_of_scope_is_not_followed(tmp_path, target):
    with FixtureSite() as site, FixtureSite() as other:
        port = site.base.rsplit(":", 1)[1]
        to = target.format(port=port, other=other.base.rsplit(":", 1)[1])
        site.routes["/go"] = (302, {"Location": to}, b"")
        db = tmp_path / "c.sqlite"
        stats = crawl(db, [Source(name="s", start_urls=[site.base + "/go"])], cfg())
        assert stats.failed == 1 and list(iter_ads(db)) == []
        assert "leaves the crawl's scheme/host/port scope" in page_error(db, site.base + "/go")
        assert site.hits("/jobs/1.html") == 0 and other.hits("/jobs/1.html") == 0


def test_in_scope_redirect_still_followed():
    with FixtureSite() as site:
        src = Source(name="s", start_urls=[site.base + "/"])
        res = fetch(site.base + "/moved", cfg(), scope=src.allows)
        assert res.status == 200 and res.final_url == site.base + "/jobs/2.html"


@pytest.mark.parametrize(
    "address,why",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private network"),
        ("192.168.0.1", "private network"),
        ("169.254.169.254", "cloud metadata endpoint"),
        ("fd00:ec2::254", "cloud metadata endpoint"),
        ("100.100.100.200", "cloud metadata endpoint"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not a public address"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_non_public_addresses_are_refused(address, why):
    assert refusal(address) == why


@pytest.mark.parametrize("address", ["8.8.8.8", "2a00:1450:4001::1", "95.59.1.1"])
def test_public_addresses_pass(address):
    assert refusal(address) is None


def test_loopback_refused_without_allow_private(tmp_path):
    """By default nothing on loopback is fetched: not by IP, not by a name resolving to it."""
    with FixtureSite() as site:
        port = site.base.rsplit(":", 1)[1]
        for url in (site.base + "/jobs/1.html", f"http://localhost:{port}/jobs/1.html"):
            with pytest.raises(FetchError) as e:
                fetch(url, cfg(allow_private=False))
            assert e.value.kind == "address" and "resolves to" in str(e.value) and "loopback" in str(e.value)
        db = tmp_path / "c.sqlite"
        stats = crawl(db, [Source(name="s", start_urls=[site.base + "/jobs/1.html"])], cfg(allow_private=False))
        assert stats.failed == 1 and "--allow-private" in page_error(db, site.base + "/jobs/1.html")
        assert site.requests == []  # not even robots.txt


def test_cli_refuses_loopback_and_documents_allow_private(tmp_path):
    from typer.testing import CliRunner

    from trafficking_ads.cli import app

    res = CliRunner().invoke(app, ["scrape", "--help"], env={"COLUMNS": "200"})
    assert "--allow-private" in res.output
    with FixtureSite() as site:
        out = tmp_path / "ads.jsonl"
        res = CliRunner().invoke(app, ["scrape", site.base + "/jobs/1.html", "--out", str(out), "--delay", "0.01"])
        assert res.exit_code == 0 and out.read_text() == "" and site.requests == []
        res = CliRunner().invoke(
            app, ["scrape", site.base + "/jobs/1.html", "--out", str(out), "--delay", "0.01", "--allow-private"]
        )
        assert res.exit_code == 0 and len(out.read_text().splitlines()) == 1


# ---------------------------------------------------------------- robots.txt


def test_robots_over_512_kib_parsed_up_to_500_kib(tmp_path):
    filler = "".join(f"# padding line {i:06d} " + "x" * 80 + "\n" for i in range(6000))  # ~600 KiB
    robots = "User-agent: *\nDisallow: /private/\n" + filler + "Disallow: /jobs/\n"
    assert len(robots.encode()) > 512 * 1024
    with FixtureSite(robots=robots) as site:
        with pytest.raises(FetchError) as e:
            fetch(site.base + "/private/secret.html", cfg())
        assert e.value.kind == "robots" and site.hits("/private/secret.html") == 0
        # the rule after the first 500 KiB is not read (RFC 9309 lets crawlers stop there)
        assert fetch(site.base + "/jobs/1.html", cfg()).status == 200


@pytest.mark.parametrize(
    "value,expected", [("2.5", 2.5), ("0.2", 0.2), ("3", 3.0), (" 1.0 ", 1.0), ("soon", None), ("-1", None)]
)
def test_fractional_crawl_delay(value, expected):
    robots = Robots.from_response("https://a.kz", 200, f"User-agent: *\nCrawl-delay: {value}\nDisallow: /x\n")
    assert robots.crawl_delay() == expected


def test_crawl_delay_of_own_group_wins():
    text = "User-agent: *\nCrawl-delay: 5\n\nUser-agent: trafficking-ads\nCrawl-delay: 0.5\nDisallow:\n"
    assert Robots.from_response("https://a.kz", 200, text).crawl_delay() == 0.5


def test_fractional_crawl_delay_is_honoured(tmp_path):
    with FixtureSite(robots="User-agent: *\nCrawl-delay: 0.4\n") as site:
        src = Source(name="s", start_urls=[site.base + "/jobs/1.html", site.base + "/jobs/2.html"])
        crawl(tmp_path / "c.sqlite", [src], cfg(delay=0.01))
        t1, t2 = site.arrivals("/jobs/1.html")[0], site.arrivals("/jobs/2.html")[0]
        assert t2 - t1 >= 0.38


# ---------------------------------------------------------------- charsets


@pytest.mark.parametrize("charset", ["zlib", "base64", "rot13", "hex", "bz2"])
def test_non_text_charset_is_undecodable(charset):
    with pytest.raises(UndecodablePage, match="not a text encoding"):
        decode_html(b"<html><body>x</body></html>", f"text/html; charset={charset}")
    with pytest.raises(UndecodablePage):
        decode_html(f'<html><head><meta charset="{charset}"></head><body>x</body></html>'.encode(), "text/html")


def test_non_text_charset_page_is_reported_not_crashed(tmp_path, caplog):
    with FixtureSite() as site:
        site.routes["/z.html"] = (
            200,
            {"Content-Type": "text/html; charset=zlib"},
            b"<html><body><p>Work abroad</p></body></html>",
        )
        db = tmp_path / "c.sqlite"
        stats = crawl(db, [Source(name="s", start_urls=[site.base + "/z.html", site.base + "/jobs/1.html"])], cfg())
        assert stats.failed == 1 and stats.ads_new == 1
        assert page_error(db, site.base + "/z.html") == "undecodable: declared charset 'zlib' is not a text encoding"
        assert "Traceback" not in caplog.text and "LookupError" not in caplog.text


def test_cli_out_directory_refused_before_crawling(tmp_path):
    from typer.testing import CliRunner

    from trafficking_ads.cli import app

    with FixtureSite() as site:
        res = CliRunner().invoke(app, ["scrape", site.base + "/jobs/1.html", "--out", str(tmp_path), "--allow-private"])
        assert res.exit_code == 1 and "is a directory" in res.output and site.requests == []
