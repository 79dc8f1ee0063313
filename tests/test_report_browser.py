"""The HTML report in a real headless Chromium: it loads cleanly, paginates, filters,
opens the per-ad view with evidence highlighted, and no injected script ever runs.

Needs Debian's `chromium` and `chromium-driver` (CI installs them). Without them these
tests FAIL with a message saying what to install: they are never skipped.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from trafficking_ads.records import Ad, Assessment, Evidence, IndicatorHit, ModelInfo, scored_record
from trafficking_ads.report import write_report

N_ADS = 250
HOSTILE = (
    'Hostile <script>window.__pwned=1;document.title="PWNED"</script> "><img src=x onerror="window.__pwned=2;document.title=\'PWNED\'"> '
    '</script><script>window.__pwned=3</script> \u202eevil\u202c and <svg onload="window.__pwned=4"> end'
)
EMOJI_TEXT = "😀😀🇰🇿 Работа в Дубае для девушек, билеты за наш счёт"
MODEL = ModelInfo("fusion-test", "1.0")


def find(text: str, part: str) -> Evidence:
    s = text.index(part)
    return Evidence(s, s + len(part), part)


def build_scored(path: Path) -> dict:
    """N_ADS scored ads: two hostile ones, one with emoji before its evidence, the rest varied."""
    facts = {"high": 0, "with_fee": 0}
    lines = []
    for i in range(N_ADS):
        risk = round((i * 37 % 100) / 100, 2)
        band = "high" if risk >= 0.7 else "medium" if risk >= 0.4 else "low"
        text, url, hits, title = (
            f"Работа в Дубае для девушек номер {i}, билеты за наш счёт.",
            f"https://example.kz/ad/{i}",
            [],
            None,
        )
        if i == 0:
            text, url, title = HOSTILE, "javascript:window.__pwned=5", '<img src=x onerror="window.__pwned=6">'
            hits = [IndicatorHit("fee_upfront", "debt / fees", 1.0, [find(text, "evil")])]
        elif i == 1:
            text, url = EMOJI_TEXT, "https://example.kz/vacancy?id=1&ref=<x>"
            hits = [
                IndicatorHit("travel_abroad_offer", "overseas travel", 1.2, [find(text, "в Дубае")]),
                IndicatorHit("appearance_age_gender", "targeting", 0.9, [find(text, "для девушек")]),
            ]
        else:
            hits = [IndicatorHit("travel_abroad_offer", "overseas travel", 1.2, [find(text, "в Дубае")])]
            if i % 5 == 0:
                hits.append(IndicatorHit("fee_upfront", "debt / fees", 1.0, [find(text, "билеты")]))
        facts["high"] += band == "high"
        facts["with_fee"] += any(h.id == "fee_upfront" for h in hits)
        ad = Ad(
            text=text,
            title=title,
            url=url,
            source=("olx", "telegram", "hh.kz")[i % 3],
            posted_at=f"2026-11-{1 + i % 28:02d}",
        )
        network = {"template_cluster": i % 9, "cluster_size": 30} if i % 2 == 0 else None
        a = Assessment(
            ad.id,
            risk,
            band,
            hits,
            ("ru", "kk", "en")[i % 3],
            MODEL,
            {
                "transformer_prob": risk,
                "indicator_score": 0.5,
                "contrib_transformer": risk / 2,
                "contrib_indicators": 0.2,
            },
            network,
        )
        lines.append(json.dumps(scored_record(ad, a), ensure_ascii=False))
        facts.setdefault("ids", []).append(ad.id)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    facts["cluster0"] = sum(1 for i in range(N_ADS) if i % 2 == 0 and i % 9 == 0)
    return facts


def require_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver; FAILS (never skips) when either is missing."""
    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_bin:
        pytest.fail(
            "the report browser tests need headless Chromium: install Debian packages `chromium` and "
            "`chromium-driver` (apt-get install -y chromium chromium-driver); CI's .ci/run does this",
            pytrace=False,
        )
    return chromium, driver_bin


def test_missing_chromium_fails_loudly(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium chromium-driver"):
        require_chromium()


@pytest.fixture(scope="module")
def browser():
    chromium, driver_bin = require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_bin), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory, browser):
    d = tmp_path_factory.mktemp("report")
    facts = build_scored(d / "scored.jsonl")
    write_report([d / "scored.jsonl"], d / "report.html")
    browser.get((d / "report.html").as_uri())
    wait_for(lambda: browser.execute_script("return document.documentElement.getAttribute('data-ready')") == "1")
    facts["console"] = browser.get_log("browser")
    return facts


def wait_for(cond, timeout: float = 5.0):
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.05)


def by_id(drv, id_):
    from selenium.webdriver.common.by import By

    return drv.find_element(By.ID, id_)


def rows(drv):
    from selenium.webdriver.common.by import By

    return drv.find_elements(By.CSS_SELECTOR, "#rows tbody tr")


def select(drv, id_, label_start: str):
    from selenium.webdriver.support.ui import Select

    sel = Select(by_id(drv, id_))
    sel.select_by_visible_text(next(o.text for o in sel.options if o.text.startswith(label_start)))


def reset(drv):
    by_id(drv, "reset").click()
    assert wait_for(lambda: by_id(drv, "count").text == f"Showing 1–100 of {N_ADS} ads")


def test_html_string_sinks_are_blocked_by_trusted_types(browser, report):
    """Defence in depth: even page code could not assign HTML strings (CSP Trusted Types)."""
    blocked = browser.execute_script(
        "try { document.createElement('div').innerHTML = '<b>x</b>'; return false; } catch (e) { return e instanceof TypeError; }"
    )
    assert blocked is True
    browser.get_log("browser")  # the violation report is expected here; drain it


def test_loads_without_console_errors_and_nothing_injected_runs(browser, report):
    assert [e for e in report["console"] if e["level"] in ("SEVERE", "WARNING")] == []
    assert browser.execute_script("return window.__pwned") is None
    assert browser.title == "trafficking-ads report"
    assert by_id(browser, "count").text == f"Showing 1–100 of {N_ADS} ads"
    assert len(rows(browser)) == 100
    assert by_id(browser, "page").text == "Page 1 of 3"


def test_pagination(browser, report):
    reset(browser)
    by_id(browser, "next").click()
    assert by_id(browser, "count").text == f"Showing 101–200 of {N_ADS} ads"
    by_id(browser, "next").click()
    assert len(rows(browser)) == 50 and by_id(browser, "next").get_attribute("disabled") == "true"
    by_id(browser, "prev").click()
    assert len(rows(browser)) == 100


def test_search_band_and_indicator_filters(browser, report):
    reset(browser)
    by_id(browser, "q").send_keys("hostile")
    assert wait_for(lambda: by_id(browser, "count").text == f"Showing 1–1 of 1 ads (filtered from {N_ADS})")
    assert len(rows(browser)) == 1 and "<script>window.__pwned=1" in rows(browser)[0].text
    reset(browser)
    select(browser, "f-band", "high")
    n = report["high"]
    assert wait_for(
        lambda: by_id(browser, "count").text == f"Showing 1–{min(n, 100)} of {n} ads (filtered from {N_ADS})"
    )
    assert all("high" in r.text for r in rows(browser))
    reset(browser)
    select(browser, "f-lang", "kk")
    n = sum(1 for i in range(N_ADS) if i % 3 == 1)
    assert wait_for(
        lambda: by_id(browser, "count").text == f"Showing 1–{min(n, 100)} of {n} ads (filtered from {N_ADS})"
    )
    select(browser, "f-src", "telegram")  # telegram ads are the kk ones too (both i % 3 == 1)
    assert wait_for(
        lambda: by_id(browser, "count").text == f"Showing 1–{min(n, 100)} of {n} ads (filtered from {N_ADS})"
    )
    select(browser, "f-src", "olx")
    assert wait_for(lambda: by_id(browser, "count").text == f"No ads match (of {N_ADS})")
    reset(browser)
    select(browser, "f-ind", "fee_upfront")
    n = report["with_fee"]
    assert wait_for(lambda: by_id(browser, "count").text == f"Showing 1–{n} of {n} ads (filtered from {N_ADS})")
    by_id(browser, "q").send_keys("no such words anywhere")
    assert wait_for(lambda: by_id(browser, "count").text == f"No ads match (of {N_ADS})")
    assert rows(browser) == []


def test_sorting(browser, report):
    from selenium.webdriver.common.by import By

    reset(browser)
    first = [float(r.find_element(By.CSS_SELECTOR, "td").text) for r in rows(browser)]
    assert first == sorted(first, reverse=True) and first[0] == 0.99
    browser.find_element(By.CSS_SELECTOR, 'th button[data-sort="risk"]').click()
    asc = [float(r.find_element(By.CSS_SELECTOR, "td").text) for r in rows(browser)]
    assert asc == sorted(asc) and asc[0] == 0.0


def test_cluster_button_filters_the_table(browser, report):
    from selenium.webdriver.common.by import By

    reset(browser)
    browser.find_element(By.CSS_SELECTOR, 'button.show-cluster[data-value="0"]').click()
    n = report["cluster0"]
    assert wait_for(lambda: by_id(browser, "count").text == f"Showing 1–{n} of {n} ads (filtered from {N_ADS})")


def test_per_ad_view_shows_hostile_text_as_text_and_no_link(browser, report):
    from selenium.webdriver.common.by import By

    reset(browser)
    by_id(browser, "q").send_keys("hostile")
    assert wait_for(lambda: len(rows(browser)) == 1)
    rows(browser)[0].click()
    detail = by_id(browser, "detail")
    assert detail.is_displayed()
    text = detail.find_element(By.CSS_SELECTOR, ".f-text .field-text").text
    assert '<script>window.__pwned=1;document.title="PWNED"</script>' in text
    assert 'onerror="window.__pwned=2' in text and "<svg onload=" in text
    assert "[U+202E]evil[U+202C]" in text  # the bidi override is shown, not obeyed
    assert [m.text for m in detail.find_elements(By.CSS_SELECTOR, "mark")] == ["evil"]
    assert detail.find_element(By.CSS_SELECTOR, ".f-title .field-text").text == '<img src=x onerror="window.__pwned=6">'
    assert detail.find_elements(By.CSS_SELECTOR, "a") == []  # javascript: URL stays text
    assert "javascript:window.__pwned=5 (not a web link)" in detail.text
    assert detail.find_elements(By.CSS_SELECTOR, "img, svg[onload], script") == []
    assert browser.execute_script("return window.__pwned") is None and browser.title == "trafficking-ads report"


def test_per_ad_view_highlights_after_emoji_and_links_safely(browser, report):
    from selenium.webdriver.common.by import By

    reset(browser)
    by_id(browser, "q").send_keys("🇰🇿")
    assert wait_for(lambda: len(rows(browser)) == 1)
    rows(browser)[0].click()
    detail = by_id(browser, "detail")
    assert [m.text for m in detail.find_elements(By.CSS_SELECTOR, "mark")] == ["в Дубае", "для девушек"]
    link = detail.find_element(By.CSS_SELECTOR, "a.source-link")
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert link.get_attribute("href") == "https://example.kz/vacancy?id=1&ref=%3Cx%3E"
    assert "contribution: transformer" in detail.text and "transformer probability" in detail.text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
