"""The HTML report as a file: escaping, CSP, embedded data, overview, inputs, CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.records import Ad, Assessment, Evidence, IndicatorHit, ModelInfo, scored_record
from trafficking_ads.report import ScoredInputError, render_report, write_report
from trafficking_ads.report.dataset import is_web_url, script_safe_json, utf16_index
from trafficking_ads.report.html import asset

HOSTILE = (
    '<script>window.__pwned=1;document.title="PWNED"</script> "><img src=x onerror="window.__pwned=2"> '
    "</script><script>window.__pwned=3</script> <!-- \u202eevil\u202c & \u2028 ok"
)
MODEL = ModelInfo("fusion-test", "1.0")


def record(text: str, risk: float, band: str, hits=(), **ad_fields) -> str:
    ad = Ad(text=text, **ad_fields)
    a = Assessment(
        ad.id,
        risk,
        band,
        list(hits),
        ad_fields.pop("language", None) or "ru",
        MODEL,
        {"transformer_prob": risk, "contrib_transformer": risk / 2},
    )
    return json.dumps(scored_record(ad, a), ensure_ascii=False)


def hit(text: str, part: str, ind: str = "travel_abroad_offer", cat: str = "overseas travel") -> IndicatorHit:
    s = text.index(part)
    return IndicatorHit(ind, cat, 1.0, [Evidence(s, s + len(part), part)])


def page_data(page: str) -> dict:
    m = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_script_safe_json_cannot_close_the_script_block():
    obj = {"t": HOSTILE + "</SCRIPT><!--\u2029", "lone": "\udc80x"}
    text = script_safe_json(obj)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    text.encode("utf-8")  # always valid UTF-8, even with a lone surrogate
    assert json.loads(text) == obj


def test_hostile_ads_are_escaped_everywhere(tmp_path):
    src = tmp_path / "s.jsonl"
    lines = [
        record(
            HOSTILE,
            0.9,
            "high",
            [hit(HOSTILE, "evil", "fee<b>_upfront", "debt <i>fees")],
            title="<b>title</b>\u202e",
            url="javascript:alert(1)",
            source='"><svg onload=alert(1)>',
            language="<img src=x>",
        ),
        record("ok", 0.1, "low", url="https://example.kz/a?b=1&c=2"),
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    write_report([src], out)
    page = out.read_text(encoding="utf-8")
    assert page.count("<script") == 2 and page.lower().count("</script") == 2
    assert "<img" not in page
    for raw in ("<svg onload", "<b>title", "fee<b>", "<i>fees", "\u202e", "<!-- "):
        assert raw not in page, raw
    assert "&quot;&gt;&lt;svg onload=alert(1)&gt;" in page  # the source name, escaped, in the overview
    data = page_data(page)
    assert data["ads"][0][data["columns"].index("text")] == HOSTILE  # the data keeps the text exactly
    cols = data["columns"]
    linkable = {row[cols.index("url")]: row[cols.index("linkable")] for row in data["ads"]}
    assert linkable == {"javascript:alert(1)": 0, "https://example.kz/a?b=1&c=2": 1}


def test_csp_allows_only_the_inline_script_and_style():
    page, _ = render_report([])
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    assert page.index("Content-Security-Policy") < page.index("<style") < page.index("<script")
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    for src, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(src.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp
    # nothing external: no src/href attributes in the page at all
    markup = page.replace(script, "")
    assert not re.search(r"\s(src|href|action|srcset)\s*=", markup)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_page_script_uses_dom_apis_only():
    js = asset("report.js")
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert banned not in js


def test_web_urls_only():
    assert is_web_url("https://example.kz/x") and is_web_url("HTTP://a.b")
    for bad in (
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " https://x.kz",
        "data:text/html,x",
        "vbscript:x",
        "//evil.com",
        "https:///nohost",
        "http://a.b/\nx",
        None,
        "",
    ):
        assert not is_web_url(bad), bad


def test_evidence_offsets_become_utf16_for_the_page():
    text = "😀😀 Работа в Дубае 🇦🇪 билеты"
    page, _ = render_report(
        [
            (
                Ad(text=text).to_dict(),
                Assessment(
                    "x", 0.5, "medium", [hit(text, "в Дубае"), hit(text, "билеты", "travel_costs_covered")], "ru", MODEL
                ),
            )
        ]
    )
    data = page_data(page)
    spans = [h[2][0] for h in data["ads"][0][data["columns"].index("hits")]]
    units = text.encode("utf-16-le")
    got = [units[2 * s : 2 * e].decode("utf-16-le") for _, s, e in spans]
    assert got == ["в Дубае", "билеты"]
    conv = utf16_index("a😀b")
    assert [conv(i) for i in range(4)] == [0, 1, 3, 4]


def test_overview_counts_and_networks(tmp_path):
    recs = []
    for i in range(30):
        band = ("low", "medium", "high")[i % 3]
        ad = Ad(text=f"Работа в Дубае {i}", source="olx" if i < 20 else "telegram")
        a = Assessment(
            ad.id,
            (i % 3) * 0.4 + 0.05,
            band,
            [hit(ad.text, "в Дубае")] if i % 2 else [],
            "kk" if i < 5 else "ru",
            MODEL,
            {},
            {"template_cluster": i % 4, "contact_cluster": None, "cluster_size": 40} if i < 24 else None,
        )
        recs.append((ad.to_dict(), a))
    page, data = render_report(recs)
    assert len(data.rows) == 30
    assert re.search(r'<span class="num">10</span> high <span class="pct">33.3%</span>', page)
    assert "<title>olx: 20</title>" in page and "<title>telegram: 10</title>" in page
    assert "<title>ru: 25</title>" in page and "<title>kk: 5</title>" in page
    assert "<title>travel_abroad_offer (overseas travel): 15</title>" in page
    # 24 ads in 4 template clusters of 6; contact_cluster None is ignored
    assert page.count('class="show-cluster" data-kind="template_cluster"') == 4
    assert "contact_cluster" not in page.split('id="ads"')[0]
    assert "4 clusters in all" in page
    # histogram: the high ads (risk 0.85) sit in bin 17
    assert "<title>risk 0.85–0.90, high: 10</title>" in page


def test_no_network_data_says_so():
    page, _ = render_report([(Ad(text="x").to_dict(), Assessment("x", 0.1, "low", [], "en", MODEL))])
    assert "No cluster data" in page


def test_long_fields_are_capped(tmp_path):
    text = "а" * 5000 + " в Дубае"
    page, data = render_report(
        [(Ad(text=text).to_dict(), Assessment("x", 0.5, "medium", [hit(text, "в Дубае")], "ru", MODEL))], max_text=1000
    )
    d = page_data(page)
    row = d["ads"][0]
    assert len(row[d["columns"].index("text")]) == 1000
    assert row[d["columns"].index("extra")]["_truncated"] == {"text": 4008}
    assert row[d["columns"].index("hits")][0][2][0] == [-1, "в Дубае"]  # beyond the cut: listed, not highlighted
    assert data.truncated == 1


def test_bad_lines_are_skipped_and_reported(tmp_path):
    src = tmp_path / "s.jsonl"
    good = record("Работа в Дубае", 0.7, "high")
    src.write_text(
        "\n".join(
            [
                good,
                "{oops",
                '{"ad_id": "a", "risk": 0.5, "band": "weird", "model": {"name": "m", "version": "1"}}',
                '{"risk": 0.5}',
                good,
                "",
                good.replace('"transformer_prob": 0.7', '"transformer_prob": NaN').replace(
                    Ad(text="Работа в Дубае").id, "other"
                ),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "r.html"
    res = write_report([src], out)
    assert res.ads == 1
    assert [(p.line, p.reason.split(" ")[0]) for p in res.problems] == [
        (2, "not"),
        (3, "field"),
        (4, "not"),
        (5, "duplicate"),
        (7, "component"),
    ]
    assert "unknown band 'weird'" in str(res.problems[1]) and str(res.problems[0]).startswith(f"{src}, line 2:")
    assert "is not a finite number" in str(res.problems[4])
    assert "5 input line(s) skipped" in out.read_text(encoding="utf-8")
    out.write_text("previous", encoding="utf-8")
    with pytest.raises(ScoredInputError, match=r"s\.jsonl, line 2: not JSON"):
        write_report([src], out, strict=True)
    assert out.read_text(encoding="utf-8") == "previous"  # nothing written under strict failure
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*.tmp"))


def test_cli_report(tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_text(record("Работа в Дубае", 0.7, "high") + "\nnot json\n", encoding="utf-8")
    runner = CliRunner()
    out = tmp_path / "sub" / "r.html"
    res = runner.invoke(app, ["report", str(src), "-o", str(out), "--title", "Batch <7>"])
    assert res.exit_code == 0, res.output
    assert "1 ads" in res.output and "s.jsonl, line 2" in res.output
    assert "<title>Batch &lt;7&gt;</title>" in out.read_text(encoding="utf-8")
    assert runner.invoke(app, ["report", str(src), "-o", str(out), "--strict"]).exit_code == 2
    assert runner.invoke(app, ["report", str(tmp_path / "missing.jsonl"), "-o", str(out)]).exit_code == 1
