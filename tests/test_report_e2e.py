"""The report from the real pipeline: `trafficking-ads score --cluster` output, networks included."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.report import write_report

TEMPLATE = (
    "Работа в Турции для девушек до 25 лет, официантки и аниматоры. Виза не нужна, билеты за наш счёт. "
    "Пишите только в Telegram @rabota_antalya_girls. Город: {city}."
)


def test_report_over_scored_and_clustered_ads(tmp_path):
    raw = tmp_path / "ads.jsonl"
    ads = [
        {"id": f"t-{i}", "text": TEMPLATE.format(city=c), "location": c, "source": "telegram"}
        for i, c in enumerate(["Алматы", "Астана", "Шымкент", "Караганда"])
    ]
    ads.append(
        {
            "id": "legit",
            "text": "Бухгалтер в ТОО «Ромашка», Алматы, оклад 400 000 тг, официальное трудоустройство.",
            "source": "hh.kz",
        }
    )
    raw.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ads), encoding="utf-8")
    scored = tmp_path / "scored.jsonl"
    res = CliRunner().invoke(app, ["score", str(raw), "--cluster", "-o", str(scored)])
    assert res.exit_code == 0, res.output
    out = write_report([scored], tmp_path / "report.html")
    assert out.ads == 5 and not out.problems
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    overview = page.split('id="ads"')[0]
    buttons = re.findall(r'class="show-cluster" data-kind="(\w+)" data-value="([^"]*)"', overview)
    assert buttons, "the four copies of one template should form at least one cluster"
    # the largest cluster holds the four copies
    first = re.search(r"<tbody><tr><td>[^<]*<bdi>[^<]*</bdi></td><td>(\d+)</td>", overview.split("Networks")[1])
    assert first and int(first.group(1)) == 4
    assert "rabota_antalya_girls" in overview  # shared contact shown for the contact cluster
