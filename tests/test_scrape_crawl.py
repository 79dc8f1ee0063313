"""The scraper against a real HTTP server on 127.0.0.1 serving the fixture job board.

Nothing here leaves loopback: the fixture's off-site links are outside the allowed domains and
the Telegram ads' t.me URLs are only recorded, never fetched.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trafficking_ads.scrape import FetchConfig, FetchError, Fetcher, Source, crawl, iter_ads, sources_from_urls
from trafficking_ads.scrape.store import Store

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "scrape_fixture_server", ROOT / "tests" / "fixtures" / "site" / "server.py"
)
server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(server)
FixtureSite = server.FixtureSite

# allow_private: the fixture site is on 127.0.0.1, which a real crawl refuses to connect to.
FAST = dict(
    delay=0.01, timeout=1.0, backoff=0.05, max_retries=2, contact="https://ngo.example/crawler", allow_private=True
)


def fast(**kw) -> FetchConfig:
    return FetchConfig(**{**FAST, **kw})


@pytest.fixture()
def site():
    with FixtureSite() as s:
        yield s


def board(site) -> Source:
    return Source(
        name="board",
        start_urls=[site.base + "/jobs/index.html"],
        ad_links={"css": "a.vacancy"},
        pagination={"next_css": "a.next"},
    )


def fetch(url: str, config: FetchConfig, **kw):
    async def go():
        async with Fetcher(config) as f:
            return await f.fetch(url, **kw)

    return asyncio.run(go())


def ads_by_url(db) -> dict[str, dict]:
    return {ad.url: ad.to_dict() for ad in iter_ads(db)}


# ---------------------------------------------------------------- the job board


def test_board_crawl(site, tmp_path):
    db = tmp_path / "crawl.sqlite"
    stats = crawl(db, [board(site)], fast())
    b = site.base
    ads = ads_by_url(db)
    assert sorted(ads) == sorted(f"{b}/jobs/{n}.html" for n in (1, 2, 3, 4, 5, 6))

    one = ads[f"{b}/jobs/1.html"]  # JSON-LD inside @graph, HTML description
    assert one["title"] == "Официант в Дубае"
    assert (
        one["text"]
        == "Требуются девушки 18-25 лет для работы официантками в Дубае.\n\nБилеты и жильё за счёт компании.\nПаспорт оформим сами."
    )
    assert (one["company_name"], one["company_website"]) == ("Gulf Star Agency", "https://gulfstar.example")
    assert (one["location"], one["salary"], one["contacts"]) == (
        "Dubai, AE",
        "2000–3000 USD per MONTH",
        "+971 50 123 4567",
    )
    assert one["posted_at"] == "2024-05-02" and one["source"] == "board"
    assert one["meta"]["employment_type"] == "FULL_TIME" and one["meta"]["valid_through"] == "2024-06-30T00:00"
    two = ads[f"{b}/jobs/2.html"]
    assert two["location"] == "пр. Абая 10, Алматы, KZ" and two["salary"] == "350000 KZT per MONTH"
    three = ads[f"{b}/jobs/3.html"]  # microdata
    assert three["meta"]["extracted_from"] == "microdata"
    assert (three["title"], three["company_name"], three["location"], three["salary"]) == (
        "Hostess for international events",
        "Star Models Ltd",
        "Istanbul, TR",
        "1500 EUR",
    )
    four = ads[f"{b}/jobs/4.html"]  # no structured data: trafilatura main text + <title>
    assert four["meta"]["extracted_from"] == "main-text" and four["title"].startswith("Работа в Корее")
    assert "Паспорта сдаются координатору" in four["text"]
    five = ads[f"{b}/jobs/5.html"]  # Windows-1251 declared in <meta http-equiv>
    assert (
        "Требуется сиделка для пожилой женщины в Москве" in five["text"]
        and five["title"] == "Сиделка в Москве — объявление"
    )
    six = ads[f"{b}/jobs/6.html"]  # Windows-1251 declared only in the Content-Type header
    assert (
        six["title"] == "Повар в столовую"
        and six["company_name"] == "ТОО «Столовая №1»"
        and six["location"] == "Астана"
    )

    # robots.txt: fetched once, its Disallow obeyed; javascript: and off-site links never requested
    assert site.hits("/robots.txt") == 1
    assert site.hits("/private/secret.html") == 0
    assert all(not p.startswith("javascript") for p, _ in site.requests)
    assert stats.robots_blocked == 1
    # the copy with rel=canonical pointing at 1.html is fetched but gives no second ad
    assert site.hits("/jobs/dup.html") == 1 and stats.duplicate_pages == 1
    assert stats.ads_new == 6 and stats.queued_left == 0
    # every page once; the project's User-Agent with the contact URL on every request
    assert max(site.counters.values()) == 1
    assert {h["user-agent"] for _, h in site.requests} == {
        f"trafficking-ads/{__import__('trafficking_ads').__version__} (+https://ngo.example/crawler)"
    }

    with Store(db) as store:
        row = store.page(f"{b}/jobs/dup.html")
        assert row["duplicate_of"] == f"{b}/jobs/1.html" and row["canonical_url"] == f"{b}/jobs/1.html"
        row = store.page(f"{b}/jobs/2.html")
        assert (
            row["etag"]
            and row["last_modified"] == server.LAST_MODIFIED
            and row["status"] == 200
            and len(row["content_hash"]) == 64
        )
        assert store.frontier_counts() == {"queued": 0, "done": 9, "failed": 1}


def test_per_host_delay_and_concurrency(site, tmp_path):
    crawl(tmp_path / "c.sqlite", [board(site)], fast(delay=0.15, concurrency=1))
    times = site.arrivals()
    gaps = [b - a for a, b in zip(times, times[1:])]
    # measured where the requests arrive, so allow some scheduling jitter around the 0.15 s spacing
    assert len(gaps) >= 9 and min(gaps) >= 0.12 and sum(gaps) / len(gaps) >= 0.145


def test_robots_crawl_delay_raises_the_delay(tmp_path):
    with FixtureSite(robots="User-agent: *\nCrawl-delay: 1\n") as slow_site:
        src = Source(name="s", start_urls=[slow_site.base + "/jobs/1.html", slow_site.base + "/jobs/2.html"])
        crawl(tmp_path / "c.sqlite", [src], fast(delay=0.01))
        t1, t2 = slow_site.arrivals("/jobs/1.html")[0], slow_site.arrivals("/jobs/2.html")[0]
        assert t2 - t1 >= 0.95


def test_hosts_are_crawled_side_by_side(tmp_path):
    """Per-host politeness does not serialise the whole crawl: two hosts progress together."""
    with FixtureSite() as a, FixtureSite() as b:
        srcs = [
            Source(name=n, start_urls=[f"{s.base}/jobs/{i}.html" for i in (1, 2, 3)]) for n, s in (("a", a), ("b", b))
        ]
        crawl(tmp_path / "c.sqlite", srcs, fast(delay=0.3))
        assert b.arrivals("/jobs/1.html")[0] < a.arrivals("/jobs/3.html")[0]
        assert a.arrivals("/jobs/1.html")[0] < b.arrivals("/jobs/3.html")[0]


@pytest.mark.parametrize("concurrency", [1, 2])
def test_per_host_concurrency_limit(concurrency):
    with FixtureSite(slow_seconds=0.3) as s:

        async def go():
            async with Fetcher(fast(delay=0, concurrency=concurrency)) as f:
                return await asyncio.gather(*(f.fetch(f"{s.base}/slow?i={i}") for i in range(4)))

        assert [r.status for r in asyncio.run(go())] == [200] * 4
        assert s.max_in_flight == concurrency


# ---------------------------------------------------------------- fetch errors and retries


def test_429_retry_after_seconds(site):
    t = time.monotonic()
    res = fetch(site.base + "/limited", fast())
    assert res.status == 200 and res.retries == 1 and site.statuses("/limited") == [429, 200]
    a, b = site.arrivals("/limited")
    assert b - a >= 0.95 and time.monotonic() - t < 5


def test_503_retry_after_http_date(site):
    res = fetch(site.base + "/limited-date", fast())
    assert res.status == 200 and site.statuses("/limited-date") == [503, 200]
    a, b = site.arrivals("/limited-date")
    assert b - a >= 0.95  # an HTTP-date two seconds ahead, truncated to whole seconds: 1-2 s


def test_5xx_exponential_backoff(site):
    res = fetch(site.base + "/flaky", fast(backoff=0.2, max_retries=3))
    assert res.status == 200 and res.retries == 2 and site.statuses("/flaky") == [503, 503, 200]
    a, b, c = site.arrivals("/flaky")
    assert b - a >= 0.19 and c - b >= 0.39  # 0.2 s, then 0.4 s


def test_retries_are_capped(site):
    res = fetch(site.base + "/flaky", fast(backoff=0.01, max_retries=1))
    assert res.status == 503 and site.statuses("/flaky") == [503, 503]


def test_timeout(tmp_path):
    with FixtureSite(slow_seconds=1.5) as s:
        t = time.monotonic()
        with pytest.raises(FetchError) as e:
            fetch(s.base + "/slow", fast(timeout=0.3, max_retries=0))
        assert e.value.kind == "timeout" and time.monotonic() - t < 1.2


def test_size_limit_declared_and_while_streaming(site):
    with pytest.raises(FetchError) as e:
        fetch(site.base + "/big", fast(max_bytes=100_000))
    assert e.value.kind == "too_large" and "Content-Length" in str(e.value)
    with pytest.raises(FetchError) as e:
        fetch(site.base + "/big-stream", fast(max_bytes=100_000))
    assert e.value.kind == "too_large" and "stopped reading" in str(e.value)
    time.sleep(0.2)
    assert site.stream_bytes_sent < 20 * 1024 * 1024  # we hung up long before the 20 MiB body ended


def test_redirects(site):
    with pytest.raises(FetchError) as e:
        fetch(site.base + "/loop/a", fast())
    assert e.value.kind == "redirect_loop" and site.hits("/loop/a") == 1 and site.hits("/loop/b") == 1
    with pytest.raises(FetchError) as e:
        fetch(site.base + "/to-file", fast())
    assert e.value.kind == "scheme"
    res = fetch(site.base + "/moved", fast())
    assert (
        res.status == 200
        and res.final_url == site.base + "/jobs/2.html"
        and res.redirects == [site.base + "/jobs/2.html"]
    )
    with pytest.raises(FetchError) as e:
        fetch(site.base + "/moved", fast(max_redirects=0))
    assert e.value.kind == "too_many_redirects"


def test_robots_disallow_on_direct_fetch(site):
    with pytest.raises(FetchError) as e:
        fetch(site.base + "/private/secret.html", fast())
    assert e.value.kind == "robots" and site.hits("/private/secret.html") == 0


# ---------------------------------------------------------------- feeds, sitemaps, Telegram


def test_feeds_yield_the_pages_they_list(site, tmp_path):
    crawl(tmp_path / "rss.sqlite", sources_from_urls([site.base + "/feed.rss"]), fast())
    assert sorted(ads_by_url(tmp_path / "rss.sqlite")) == [site.base + "/jobs/1.html", site.base + "/jobs/2.html"]
    crawl(tmp_path / "atom.sqlite", sources_from_urls([site.base + "/feed.atom"]), fast())
    assert sorted(ads_by_url(tmp_path / "atom.sqlite")) == [site.base + "/jobs/3.html", site.base + "/jobs/4.html"]
    assert site.hits("/edit/3") == 0  # rel="edit" is not the entry's page


def test_sitemap_index_yields_sitemaps_then_pages(site, tmp_path):
    db = tmp_path / "c.sqlite"
    crawl(db, sources_from_urls([site.base + "/sitemap_index.xml"], follow=[r"/jobs/\d+\.html$"]), fast())
    assert site.hits("/sitemap-jobs.xml") == 1 and site.hits("/about.html") == 0  # --follow filters sitemap entries
    ads = ads_by_url(db)
    assert sorted(ads) == [site.base + "/jobs/1.html", site.base + "/jobs/5.html"]


def test_telegram_channel_with_older_pages(site, tmp_path):
    db = tmp_path / "c.sqlite"
    stats = crawl(db, sources_from_urls([site.base + "/s/kzjobs"]), fast())
    ads = {ad.id: ad for ad in iter_ads(db)}
    assert sorted(ads) == ["tg:kzjobs/100", "tg:kzjobs/101", "tg:kzjobs/103", "tg:kzjobs/99"]
    ad = ads["tg:kzjobs/99"]
    assert (
        ad.source == "telegram:kzjobs"
        and ad.url == "https://t.me/kzjobs/99"
        and ad.posted_at == "2024-05-01T07:00:00+00:00"
    )
    assert ad.text.startswith("Вакансия: упаковщики на склад в Польше")
    assert (
        site.hits("/s/kzjobs?before=101") == 1 and site.hits("/s/kzjobs?before=99") == 1
    )  # the empty page ends the walk
    assert stats.queued_left == 0
    # a re-crawl fetches the channel head again but does not walk back through unchanged history
    stats = crawl(db, [], fast(), recrawl=True)
    assert site.hits("/s/kzjobs") == 2 and site.hits("/s/kzjobs?before=101") == 1 and stats.ads_new == 0


# ---------------------------------------------------------------- re-crawl, resume


def test_recrawl_sends_conditional_requests(site, tmp_path):
    db = tmp_path / "c.sqlite"
    crawl(db, [board(site)], fast())
    before = ads_by_url(db)
    stats = crawl(db, [board(site)], fast(), recrawl=True)
    assert site.headers_for("/jobs/2.html")[1]["if-none-match"]
    assert site.headers_for("/jobs/2.html")[1]["if-modified-since"] == server.LAST_MODIFIED
    assert site.statuses("/jobs/2.html") == [200, 304]
    assert stats.not_modified == 8 and stats.ads_new == 0  # every fetched page but the robots-blocked one and the dup
    assert ads_by_url(db) == before

    # the page changes: the re-crawl replaces its ad; nothing else is re-read
    site.overrides["jobs/2.html"] = (
        (server.SITE / "jobs" / "2.html")
        .read_bytes()
        .replace("Ищем бухгалтера".encode(), "Срочно ищем бухгалтера".encode())
    )
    stats = crawl(db, [], fast(), recrawl=True)  # sources come from the store
    assert site.statuses("/jobs/2.html") == [200, 304, 200] and stats.not_modified == 7 and stats.ads_new == 1
    after = ads_by_url(db)
    assert after[site.base + "/jobs/2.html"]["text"].startswith("Срочно ищем бухгалтера") and len(after) == len(before)


def test_without_recrawl_a_finished_store_fetches_nothing(site, tmp_path):
    db = tmp_path / "c.sqlite"
    crawl(db, [board(site)], fast())
    n = len(site.requests)
    stats = crawl(db, [board(site)], fast())
    assert stats.pages == 0 and len(site.requests) == n


def test_max_pages_then_resume_equals_full_crawl(site, tmp_path):
    full = tmp_path / "full.sqlite"
    crawl(full, [board(site)], fast())
    part = tmp_path / "part.sqlite"
    stats = crawl(part, [board(site)], fast(), max_pages=3)
    assert stats.pages == 3 and stats.queued_left > 0
    stats = crawl(part, [board(site)], fast())
    assert stats.queued_left == 0 and stats.pages == 10 - 3
    assert ads_by_url(part) == _strip_times(ads_by_url(full), ads_by_url(part))


def _strip_times(full: dict, part: dict) -> dict:
    """`full` with the fetch times of `part` (the only field two crawls may differ in)."""
    out = {}
    for url, ad in full.items():
        ad = json.loads(json.dumps(ad))
        if url in part:
            ad["meta"]["fetched_at"] = part[url]["meta"]["fetched_at"]
        out[url] = ad
    return out


def _done(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM frontier WHERE state!='queued'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_killed_crawl_resumes(site, tmp_path):
    """A crawl SIGKILLed mid-way (a real process, a real kill) resumes and ends equal to a full crawl."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"""sources:
  - name: board
    start_urls: ["{site.base}/jobs/index.html"]
    ad_links: {{css: "a.vacancy", pattern: '/jobs/'}}
    pagination: {{next_css: "a.next"}}
""",
        encoding="utf-8",
    )
    db, out = tmp_path / "crawl.sqlite", tmp_path / "ads.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "trafficking_ads",
        "scrape",
        "--sources",
        str(sources),
        "--db",
        str(db),
        "--delay",
        "0.25",
        "--timeout",
        "2",
        "--allow-private",
    ]  # the fixture site is on 127.0.0.1
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while _done(db) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = _done(db)
    assert 4 <= done_at_kill < 9, "the kill should land mid-crawl"
    hits_at_kill = dict(site.counters)

    res = subprocess.run(
        cmd + ["--resume", "--out", str(out), "--delay", "0.01"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(next(line for line in res.stderr.splitlines() if line.startswith('{"db"')))
    assert summary["queued_left"] == 0 and summary["pages"] <= 10 - done_at_kill + 1
    assert (
        site.counters["/jobs/index.html"] == hits_at_kill["/jobs/index.html"] == 1
    )  # done pages are not fetched again

    full = tmp_path / "full.sqlite"
    crawl(full, [board(site)], fast())
    resumed = {json.loads(line)["url"]: json.loads(line) for line in out.read_text("utf-8").splitlines()}
    assert resumed == _strip_times(ads_by_url(full), resumed)
    assert {ad.url for ad in iter_ads(db)} == set(resumed)


# ---------------------------------------------------------------- command line


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trafficking_ads", "scrape", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_cli_urls_follow_and_out(site, tmp_path):
    out = tmp_path / "ads.jsonl"
    res = _cli(
        site.base + "/jobs/index.html",
        site.base + "/s/kzjobs",
        "--follow",
        r"/jobs/\d\.html$",
        "--out",
        str(out),
        "--delay",
        "0.01",
        "--user-agent-contact",
        "mailto:team@ngo.example",
        "--allow-private",
    )
    assert res.returncode == 0, res.stderr
    ads = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    urls = {a["url"] for a in ads}
    assert site.base + "/jobs/1.html" in urls and "https://t.me/kzjobs/101" in urls
    assert site.hits("/jobs/page2.html") == 1  # rel=next pagination by default
    assert site.requests[0][1]["user-agent"].endswith("(+mailto:team@ngo.example)")


def test_cli_usage_errors(tmp_path):
    from typer.testing import CliRunner

    from trafficking_ads.cli import app

    def run(*args: str):
        res = CliRunner().invoke(app, ["scrape", *args])
        return res.exit_code, res.output + (res.stderr if res.stderr_bytes is not None else "")

    code, out = run("https://a.example/")
    assert code == 1 and "--db" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - name: a\n    start_urls: [javascript:alert(1)]\n", encoding="utf-8")
    code, out = run("--sources", str(bad), "--db", str(tmp_path / "c.sqlite"))
    assert code == 1 and f"{bad}: sources.0.start_urls" in out
    code, out = run("--resume", "--db", str(tmp_path / "missing.sqlite"))
    assert code == 1 and "--resume needs an existing --db" in out
    code, out = run("--db", str(tmp_path / "new.sqlite"))
    assert code == 1 and "nothing to crawl" in out
    assert not (tmp_path / "c.sqlite").exists()  # nothing was created for a bad command


def test_read_ads_reads_a_crawl_store(site, tmp_path):
    """`score crawl.sqlite` works because the readers hand .sqlite/.db inputs to `iter_ads`."""
    from trafficking_ads.readers import iter_records, read_ads

    db = tmp_path / "crawl.sqlite"
    crawl(db, sources_from_urls([site.base + "/s/kzjobs"]), fast())
    assert [ad.id for ad in read_ads(db)] == [ad.id for ad in iter_ads(db)] and len(list(iter_ads(db))) == 4
    not_a_store = tmp_path / "other.db"
    not_a_store.write_bytes(b"this is not sqlite at all" * 100)
    (bad,) = list(iter_records(not_a_store))
    assert bad.kind == "unreadable" and "not a trafficking-ads crawl store" in bad.reason
