"""Scraper parts that need no network: URLs, Retry-After, charsets, robots, sitemaps, feeds,
Telegram markup, JobPosting mapping, the sources file and the SQLite store."""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from pathlib import Path

import pytest

from trafficking_ads.records import Ad
from trafficking_ads.scrape.extract import (
    HtmlPage,
    decode_html,
    detect_charset,
    html_to_text,
    job_posting_to_ad,
    parse_html,
)
from trafficking_ads.scrape.feeds import parse_feed
from trafficking_ads.scrape.fetch import FetchConfig, FetchError, check_url, http_date, parse_retry_after
from trafficking_ads.scrape.robots import Robots
from trafficking_ads.scrape.sitemaps import parse_sitemap
from trafficking_ads.scrape.sources import SourceError, load_sources, sources_from_urls
from trafficking_ads.scrape.store import Store, ad_content_hash, iter_ads
from trafficking_ads.scrape.telegram import channel_from_url, is_channel_page, parse_channel_page

SITE = Path(__file__).resolve().parent / "fixtures" / "site"


# ---------------------------------------------------------------- URLs and headers


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "data:text/html,hi",
        "/relative/path",
        "http://",
    ],
)
def test_only_absolute_http_urls_are_fetched(url):
    with pytest.raises(FetchError) as e:
        check_url(url)
    assert e.value.kind == "scheme"


def test_check_url_drops_fragment():
    assert check_url(" https://Example.kz/a?b=1#apply ") == "https://Example.kz/a?b=1"


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("120") == 120.0
    now = time.time()
    assert parse_retry_after(http_date(now + 30), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(http_date(now - 30), now=now) == 0.0  # a date in the past: no wait
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_user_agent_names_project_and_contact():
    cfg = FetchConfig(contact="https://ngo.example/crawler")
    assert cfg.user_agent.startswith("trafficking-ads/")
    assert cfg.user_agent.endswith("(+https://ngo.example/crawler)")


# ---------------------------------------------------------------- charsets


RU = "Требуется сиделка, оплата 60 000 рублей"


def test_charset_from_header_beats_meta():
    body = f'<meta charset="utf-8"><p>{RU}</p>'.encode("cp1251")
    assert detect_charset(body, "text/html; charset=windows-1251") == "cp1251"
    assert RU in decode_html(body, "text/html; charset=windows-1251")


def test_charset_from_meta_http_equiv_and_meta_charset():
    body = f'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251"><p>{RU}</p>'.encode("cp1251")
    assert RU in decode_html(body, "text/html")
    body = f'<meta charset="koi8-r"><p>{RU}</p>'.encode("koi8-r")
    assert RU in decode_html(body, None)


def test_undeclared_charset_utf8_else_cp1251():
    assert detect_charset(RU.encode("utf-8")) == "utf-8"
    assert decode_html(RU.encode("cp1251")) == RU
    assert decode_html(b"\xef\xbb\xbf" + RU.encode("utf-8"), "text/html; charset=cp1251") == RU  # BOM wins


# ---------------------------------------------------------------- robots


def test_robots_rules_and_crawl_delay():
    r = Robots.from_response(
        "https://a.kz", 200, "User-agent: *\nDisallow: /private/\nCrawl-delay: 3\nSitemap: https://a.kz/s.xml\n"
    )
    assert r.allowed("https://a.kz/jobs/1")
    assert not r.allowed("https://a.kz/private/x")
    assert r.crawl_delay() == 3.0
    assert r.sitemaps() == ["https://a.kz/s.xml"]
    specific = Robots.from_response(
        "https://a.kz", 200, "User-agent: trafficking-ads\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    assert not specific.allowed("https://a.kz/jobs/1")


def test_robots_unavailable():
    assert Robots.from_response("https://a.kz", 404, "").allowed("https://a.kz/x")  # no robots.txt: no rules
    assert not Robots.from_response("https://a.kz", 503, "").allowed("https://a.kz/x")  # server trouble: stay away
    assert not Robots.from_response("https://a.kz", 0, "").allowed("https://a.kz/x")  # unreachable


# ---------------------------------------------------------------- sitemaps and feeds


def test_sitemap_index_urlset_and_gzip():
    index = parse_sitemap((SITE / "sitemap_index.xml").read_bytes())
    assert index.kind == "index" and index.entries == [("{{BASE}}/sitemap-jobs.xml", "2024-05-03")]
    urlset = (SITE / "sitemap-jobs.xml").read_bytes()
    parsed = parse_sitemap(gzip.compress(urlset))
    assert parsed.kind == "urlset"
    assert [loc for loc, _ in parsed.entries] == ["{{BASE}}/jobs/1.html", "{{BASE}}/jobs/5.html", "{{BASE}}/about.html"]
    assert parse_sitemap(b"<html><body>not a sitemap</body></html>") is None
    assert parse_sitemap((SITE / "feed.rss").read_bytes()) is None


def test_sitemap_parser_does_not_expand_external_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = f'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file://{secret}">]><urlset><url><loc>https://a.kz/&x;</loc></url></urlset>'
    parsed = parse_sitemap(xml.encode())
    assert all("TOP-SECRET" not in loc for loc, _ in (parsed.entries if parsed else []))


def test_feeds_and_sitemaps_served_as_html_are_recognised():
    from trafficking_ads.scrape.extract import is_html

    for name in ("feed.rss", "feed.atom", "sitemap_index.xml", "sitemap-jobs.xml"):
        assert not is_html((SITE / name).read_bytes(), "text/html")
    assert is_html((SITE / "jobs" / "1.html").read_bytes(), "text/html")
    assert is_html(b"<!doctype html><p>x</p>", "")
    assert not is_html(b"%PDF-1.4", "application/pdf")


def test_rss_and_atom_feeds():
    rss = parse_feed((SITE / "feed.rss").read_bytes())
    assert rss.kind == "rss" and [e.link for e in rss.entries] == ["{{BASE}}/jobs/1.html", "{{BASE}}/jobs/2.html"]
    assert rss.entries[0].title == "Официант в Дубае" and rss.entries[0].published.startswith("Thu, 02 May 2024")
    atom = parse_feed((SITE / "feed.atom").read_bytes())
    assert atom.kind == "atom" and [e.link for e in atom.entries] == ["{{BASE}}/jobs/3.html", "{{BASE}}/jobs/4.html"]
    assert atom.entries[0].summary == "Young attractive girls wanted"
    assert parse_feed((SITE / "sitemap_index.xml").read_bytes()) is None


# ---------------------------------------------------------------- Telegram


def test_telegram_channel_page():
    url = "https://t.me/s/kzjobs"
    tree = parse_html((SITE / "s" / "kzjobs.html").read_text("utf-8"), url)
    assert is_channel_page(tree) and channel_from_url(url) == "kzjobs"
    page = parse_channel_page(tree, url)
    assert [m.id for m in page.messages] == [101, 103]  # 102 is a photo without caption
    first, second = page.messages
    assert first.text.splitlines() == [
        "🔥 Работа в Сеуле для девушек 18-25 лет",
        "Зарплата от 3000$",
        "Билеты за наш счёт",
        "Пишите: @manager_kz",
    ]
    assert first.date == "2024-05-10T08:15:00+00:00" and first.views == "1.2K"
    assert second.text == "Ещё 5 мест в Дубай, танцовщицы.\nЖильё бесплатно."  # the quoted reply is not part of it
    assert second.forwarded_from == "Vacancies Dubai"
    assert page.older == "https://t.me/s/kzjobs?before=101"
    ad = first.to_ad()
    assert (ad.id, ad.source, ad.url, ad.posted_at) == (
        "tg:kzjobs/101",
        "telegram:kzjobs",
        "https://t.me/kzjobs/101",
        "2024-05-10T08:15:00+00:00",
    )


def test_telegram_page_without_more_link_pages_back_by_oldest_id():
    url = "https://t.me/s/kzjobs?before=101"
    page = parse_channel_page(parse_html((SITE / "s" / "kzjobs.before-101.html").read_text("utf-8"), url), url)
    assert [m.id for m in page.messages] == [99, 100]
    assert page.older == "https://t.me/s/kzjobs?before=99"
    empty = parse_channel_page(parse_html('<section class="tgme_channel_history"></section>', url), url)
    assert empty.messages == [] and empty.older is None


# ---------------------------------------------------------------- JobPosting mapping


def test_job_posting_mapping_variants():
    item = {
        "@type": "JobPosting",
        "title": "Модель",
        "description": "&lt;p&gt;Работа моделью&lt;/p&gt;&lt;ul&gt;&lt;li&gt;Турция&lt;/li&gt;&lt;/ul&gt;",
        "hiringOrganization": "Star Models",
        "jobLocationType": "TELECOMMUTE",
        "baseSalary": {
            "@type": "MonetaryAmount",
            "currency": "KZT",
            "value": {"minValue": 300000, "unitText": "MONTH"},
        },
        "validThrough": "2024-07-01",
        "employmentType": "PART_TIME",
    }
    ad = job_posting_to_ad(item, "https://a.kz/j/1", "a.kz", "json-ld")
    assert ad.text == "Работа моделью\n\nТурция"
    assert ad.company_name == "Star Models" and ad.location == "remote"
    assert ad.salary == "from 300000 KZT per MONTH"
    assert ad.meta["valid_through"] == "2024-07-01" and ad.meta["employment_type"] == "PART_TIME"
    assert job_posting_to_ad({**item, "baseSalary": 150000.0}, "https://a.kz/j/1", None, "json-ld").salary == "150000"
    assert html_to_text("a<br>b") == "a\nb"


def test_page_without_structured_data_falls_back_to_main_text():
    page = HtmlPage.parse((SITE / "jobs" / "4.html").read_bytes(), "https://a.kz/jobs/4.html", "text/html")
    assert page.structured_ads("a.kz") == []
    ad = page.fallback_ad("a.kz")
    assert ad.title == "Работа в Корее на заводе — Доска объявлений"
    assert "Паспорта сдаются координатору" in ad.text and "Все права защищены" not in ad.text
    assert ad.language == "ru" and ad.meta["extracted_from"] == "main-text"


def test_broken_json_ld_and_missing_description():
    filler = "<p>" + "Работа в Дубае для девушек, жильё бесплатно, билеты за наш счёт. " * 6 + "</p>"
    broken = f'<html><head><title>T</title><script type="application/ld+json">{{bad json, "@type": </script></head><body>{filler}</body></html>'
    page = HtmlPage.parse(broken.encode(), "https://a.kz/x", "text/html; charset=utf-8")
    assert page.structured_ads("a.kz") == [] and page.fallback_ad("a.kz").text.startswith("Работа в Дубае")
    bare = f'<html><head><script type="application/ld+json">{{"@type": "JobPosting", "title": "Модель"}}</script></head><body>{filler}</body></html>'
    (ad,) = HtmlPage.parse(bare.encode(), "https://a.kz/y", "text/html").structured_ads("a.kz")
    assert ad.title == "Модель" and ad.text.startswith("Работа в Дубае") and ad.meta["extracted_from"] == "json-ld"


# ---------------------------------------------------------------- sources file


def test_sources_file(tmp_path):
    f = tmp_path / "sources.yaml"
    f.write_text(
        """
delay: 2
user_agent_contact: https://ngo.example/about-crawler
sources:
  - name: board
    start_urls: [https://jobs.example.kz/vacancies]
    ad_links: {css: "a.vacancy", pattern: '/vacancy/\\d+'}
    pagination: {next_css: "a.next"}
    max_pages: 50
  - name: tg
    start_urls: [https://t.me/s/kzjobs]
""",
        encoding="utf-8",
    )
    cfg = load_sources(f)
    board, tg = cfg.sources
    assert cfg.delay == 2 and cfg.user_agent_contact.endswith("about-crawler")
    assert (
        board.allowed_domains == ["jobs.example.kz"]
        and board.allows("https://m.jobs.example.kz/x")
        and not board.allows("https://evil.kz/")
    )
    assert board.ad_links.regex.search("https://jobs.example.kz/vacancy/12") and board.max_pages == 50
    assert tg.allowed_domains == ["t.me"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("sources:\n  - name: a\n    start_urls: [file:///etc/passwd]\n", "sources.0.start_urls"),
        (
            "sources:\n  - name: a\n    start_urls: [https://a.kz]\n    ad_links: {pattern: '(['}\n",
            "sources.0.ad_links.pattern",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [https://a.kz]\n    pagination: {next_css: 'a[['}\n",
            "not a valid CSS selector",
        ),
        ("sources:\n  - name: a\n    start_urls: [https://a.kz]\n    delay: -1\n", "sources.0.delay"),
        ("sources:\n  - name: a\n    start_url: [https://a.kz]\n", "sources.0.start_url"),
        ("sources: [\n", "line"),
    ],
)
def test_bad_sources_file_names_file_and_field(tmp_path, text, message):
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as e:
        load_sources(f)
    assert str(f) in str(e.value) and message in str(e.value)


def test_sources_from_urls_group_by_host():
    srcs = sources_from_urls(
        ["https://a.kz/jobs", "https://a.kz/feed.xml", "https://t.me/s/kzjobs"], follow=[r"/job/\d+", r"/vac/\d+"]
    )
    assert [s.name for s in srcs] == ["a.kz", "t.me"]
    assert srcs[0].ad_links.regex.search("https://a.kz/vac/7")
    with pytest.raises(SourceError):
        sources_from_urls(["ftp://a.kz/x"])
    with pytest.raises(SourceError):
        sources_from_urls(["https://a.kz"], follow=["(["])


# ---------------------------------------------------------------- store


def test_store_dedupes_ads_and_iter_ads_reads_them(tmp_path):
    db = tmp_path / "c.sqlite"
    a = Ad(text="Работа в Дубае", title="Официант", url="https://a.kz/1", source="a.kz")
    same_text_other_url = Ad(text="Работа  в Дубае", title="Официант", url="https://a.kz/1?utm=x", source="a.kz")
    b = Ad(text="Бухгалтер", url="https://a.kz/2", source="a.kz")
    assert ad_content_hash(a) == ad_content_hash(same_text_other_url)
    with Store(db) as store:
        assert store.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with store.transaction():
            c = store.save_ads([a, same_text_other_url, b], "https://a.kz/list")
        assert (c.new, c.duplicate) == (2, 1)
        edited = Ad(text="Бухгалтер, оклад 300 000", id=b.id, url=b.url, source="a.kz")
        with store.transaction():
            c = store.save_ads([edited], "https://a.kz/2")
        assert (c.new, c.updated) == (0, 1)
        n = store.export_jsonl(tmp_path / "out" / "ads.jsonl")
    ads = list(iter_ads(db))
    assert [x.text for x in ads] == ["Работа в Дубае", "Бухгалтер, оклад 300 000"]
    assert ads[0].meta["fetched_at"]
    lines = (tmp_path / "out" / "ads.jsonl").read_text("utf-8").splitlines()
    assert n == 2 and [json.loads(x)["id"] for x in lines] == [x.id for x in ads]
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_iter_ads_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(iter_ads(tmp_path / "missing.sqlite"))
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ValueError, match="not a trafficking-ads crawl store"):
        list(iter_ads(other))
