"""How long the scraper's CPU side takes per page: decode + parse + JobPosting/main-text/Telegram
extraction on the fixture pages (network excluded). Prints milliseconds per page by kind.

    .venv/bin/python benchmarks/scrape_extract.py [repeats]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from trafficking_ads.scrape.extract import HtmlPage
from trafficking_ads.scrape.telegram import parse_channel_page

SITE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "site"
PAGES = {
    "json-ld": SITE / "jobs" / "1.html",
    "microdata": SITE / "jobs" / "3.html",
    "main-text (trafilatura)": SITE / "jobs" / "4.html",
    "cp1251 main-text": SITE / "jobs" / "5.html",
    "telegram preview": SITE / "s" / "kzjobs.html",
}


def extract(kind: str, content: bytes) -> int:
    page = HtmlPage.parse(content, "https://example.kz/page", "text/html")
    if kind == "telegram preview":
        return len(parse_channel_page(page.tree, "https://t.me/s/kzjobs").messages)
    ads = page.structured_ads("bench")
    if not ads:
        ads = [a for a in [page.fallback_ad("bench")] if a]
    return len(ads)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    for kind, path in PAGES.items():
        content = path.read_bytes()
        n = extract(kind, content)  # warm-up (imports)
        t = time.perf_counter()
        for _ in range(repeats):
            extract(kind, content)
        ms = (time.perf_counter() - t) / repeats * 1000
        print(f"{kind:26s} {len(content):6d} bytes  {n} ad(s)  {ms:7.2f} ms/page")


if __name__ == "__main__":
    main()
