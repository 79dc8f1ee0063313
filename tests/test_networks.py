"""Recruitment networks: template clusters, contact links, incremental index, CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.networks import NetworkIndex, annotate
from trafficking_ads.indicators.contacts import contact_keys
from trafficking_ads.networks.templates import find_cities, template_tokens
from trafficking_ads.networks.synthetic import generate, obfuscate_phones, pair_scores
from trafficking_ads.records import Ad, Assessment, ModelInfo, scored_record

DUBAI = "🔥 Работа в {city} для девушек 18-{b} лет, хостес. Зарплата от {pay}$ в неделю! Билеты за наш счёт. Пишите в WhatsApp {phone}"
OFFICE = "ТОО «Кайнар Логистик» (БИН 123456789012) ищет бухгалтера в офис в Алматы. Оклад 450 000 тг, официальное оформление. hr@kainar.kz"
BAKERY = "В пекарню на Абая требуется пекарь, график 2/2, опыт от года, обучение на месте. Звоните 8 727 300 40 50"


def _pair(ad: Ad, risk: float = 0.5) -> tuple[dict, Assessment]:
    a = Assessment(ad_id=ad.id, risk=risk, band="medium", indicators=[], lang="ru", model=ModelInfo("test", "0"))
    return scored_record(ad, a)["ad"], a


def _clusters_by_kind(index: NetworkIndex) -> dict[str, list]:
    out: dict[str, list] = {"template": [], "contact": []}
    for c in index.clusters():
        out[c.kind].append(c)
    return out


def test_template_survives_changed_numbers_cities_emoji_and_phones():
    reposts = [
        Ad(DUBAI.format(city=city, b=b, pay=pay, phone=phone), id=f"r{i}", location=city)
        for i, (city, b, pay, phone) in enumerate(
            [
                ("Дубае", 25, 3000, "+7 701 111 22 33"),
                ("Стамбуле", 23, 2500, "+7 702 444 55 66"),
                ("Сеуле", 27, 4000, "+90 532 123 45 67"),
            ]
        )
    ]
    index = NetworkIndex()
    index.add((ad, None) for ad in reposts + [Ad(OFFICE, id="office"), Ad(BAKERY, id="bakery")])
    templates = _clusters_by_kind(index)["template"]
    assert [sorted(c.members) for c in templates] == [["r0", "r1", "r2"]]
    assert templates[0].cities == ["Dubai", "Istanbul", "Seoul"]
    assert "{city}" in templates[0].template and "девушек" in templates[0].template


def test_tokens_hide_what_varies():
    tokens = template_tokens("Работа в Дубае 🔥 от 3000$, пишите @dubai_job или +7 7О1 234 56 78")
    assert tokens == ["работа", "в", "‹city›", "от", "‹num›", "пишите", "‹contact›", "или", "‹num›"]
    assert find_cities("Оралда жұмыс, оралман емес; ошибка") == ["Uralsk"]


@pytest.mark.parametrize(
    "a, b",
    [
        ("звоните +7 7О1 234 56 78", "тел. 87012345678"),  # Cyrillic О for zero, leading 8
        ("WhatsApp: wa.me/77012345678", "+7 (701) 234-56-78"),
        ("пишите в t.me/Dubai_Work", "Telegram @dubai_work"),
        ("CV to HR.Team@Gmail.com", "hr.team@gmail.com"),
    ],
)
def test_contact_keys_meet_across_obfuscation(a, b):
    assert contact_keys(a) & contact_keys(b)


#: One recruiter's number as reposts write it to dodge filters (the indicator engine reads all four).
OBFUSCATED_PHONES = [
    "+7 701 234 56 78",
    "восемь семь ноль один два три четыре пять шесть семь восемь",
    "8 7D1 234 5б 78",
    "8\ufe0f\u20e37\ufe0f\u20e30\ufe0f\u20e31\ufe0f\u20e32\ufe0f\u20e33\ufe0f\u20e34\ufe0f\u20e35\ufe0f\u20e36\ufe0f\u20e37\ufe0f\u20e38\ufe0f\u20e3",
]


def test_obfuscated_reposts_of_one_recruiter_form_one_network(tmp_path):
    from trafficking_ads.networks.io import cluster_files

    assert OBFUSCATED_PHONES[3].startswith("8️⃣7️⃣0️⃣1️⃣")  # keycap digits
    cities = ["Дубае", "Стамбуле", "Сеуле", "Алматы"]
    ads = [
        Ad(DUBAI.format(city=c, b=25, pay=3000, phone=p), id=f"o{i}")
        for i, (c, p) in enumerate(zip(cities, OBFUSCATED_PHONES))
    ]
    ads += [
        Ad(OFFICE, id="office"),
        Ad(BAKERY, id="bakery"),
        Ad("Водители в Корею, звоните +7 702 999 88 77", id="other"),
    ]
    scored = tmp_path / "scored.jsonl"
    scored.write_text(
        "".join(json.dumps(scored_record(ad, _pair(ad)[1]), ensure_ascii=False) + "\n" for ad in ads), encoding="utf-8"
    )

    run = cluster_files([scored], tmp_path / "clusters.jsonl", annotate_out=tmp_path / "annotated.jsonl")
    assert not run.bad and run.n_records == len(ads)
    contact = [c for c in run.clusters if c.kind == "contact"]
    assert [sorted(c.members) for c in contact] == [["o0", "o1", "o2", "o3"]]
    assert contact[0].contacts == ["phone:+77012345678"]
    # the spelled-out phone is a number slot too, so the four are also one template
    template = [c for c in run.clusters if c.kind == "template"]
    assert [sorted(c.members) for c in template] == [["o0", "o1", "o2", "o3"]]
    rows = {
        r["ad_id"]: r for r in map(json.loads, (tmp_path / "annotated.jsonl").read_text(encoding="utf-8").splitlines())
    }
    assert rows["o1"]["network"]["contact_size"] == 4 and rows["other"]["network"] is None


def test_contact_graph_links_ads_and_counts_employers():
    ads = [
        Ad("Нужны водители в Корею, пишите +7 7О1 234 56 78", id="a", company_name="Альфа"),
        Ad("Упаковщики на завод, тел. 87012345678, t.me/korea_jobs", id="b", company_name="Бета"),
        Ad("Швеи в Турцию, @korea_jobs", id="c", company_name="Гамма"),
        Ad(BAKERY, id="d"),
    ]
    index = NetworkIndex()
    index.add((ad, None) for ad in ads)
    (network,) = _clusters_by_kind(index)["contact"]
    assert sorted(network.members) == ["a", "b", "c"]
    assert network.employers == ["альфа", "бета", "гамма"]
    assert "contact_many_employers" in network.flags
    assert network.contacts == ["phone:+77012345678", "tg:korea_jobs"]


def test_planted_corpus_recovered_and_fillers_untouched():
    corpus = generate(n_networks=20, n_fillers=200, seed=3)
    index = NetworkIndex()
    index.add((ad, None) for ad in corpus.ads)
    clusters = _clusters_by_kind(index)
    templates = pair_scores(corpus.template_truth, {m: c.id for c in clusters["template"] for m in c.members})
    contacts = pair_scores(corpus.truth, {m: c.id for c in clusters["contact"] for m in c.members})
    assert templates["fillers_merged"] == 0 and contacts["fillers_merged"] == 0
    assert templates["pair_precision"] >= 0.95 and templates["pair_recall"] >= 0.9
    assert contacts["pair_precision"] >= 0.95 and contacts["pair_recall"] >= 0.95


def test_planted_networks_recovered_with_obfuscated_phones():
    corpus = obfuscate_phones(generate(n_networks=20, n_fillers=200, seed=3))
    assert any("восемь" in ad.text or "\u20e3" in ad.text for ad in corpus.ads)
    index = NetworkIndex()
    index.add((ad, None) for ad in corpus.ads)
    contacts = pair_scores(corpus.truth, {m: c.id for c in index.clusters() if c.kind == "contact" for m in c.members})
    assert contacts["fillers_merged"] == 0
    assert contacts["pair_precision"] >= 0.95 and contacts["pair_recall"] >= 0.95


def test_incremental_index_equals_batch(tmp_path):
    corpus = generate(n_networks=10, n_fillers=60, seed=5)
    half = len(corpus.ads) // 2
    batch = NetworkIndex()
    batch.add((ad, None) for ad in corpus.ads)

    first = NetworkIndex()
    first.add((ad, None) for ad in corpus.ads[:half])
    first.save(tmp_path / "idx")
    loaded = NetworkIndex.load(tmp_path / "idx")
    assert len(loaded) == half
    assert loaded.add((ad, None) for ad in corpus.ads) == len(corpus.ads) - half  # old ads are skipped

    def shape(index: NetworkIndex) -> list:
        return sorted((c.kind, c.id, tuple(c.members), c.template) for c in index.clusters())

    assert shape(loaded) == shape(batch)


def test_annotate_sets_network_on_members():
    ads = [
        Ad(DUBAI.format(city=c, b=25, pay=3000, phone="+7 701 111 22 33"), id=f"x{i}")
        for i, c in enumerate(["Дубае", "Алматы", "Астане", "Шымкенте", "Таразе"])
    ]
    records = [_pair(ad, risk=0.2 + 0.1 * i) for i, ad in enumerate(ads)] + [_pair(Ad(OFFICE, id="office"), 0.1)]
    annotate(records)
    net = records[0][1].network
    assert net["template_size"] == 5 and net["template_cities"] == 5
    assert net["flags"] == ["template_many_cities", "contact_many_ads"]
    assert net["reasons"] == ["the same template is posted in 5 cities", "its contact appears in 5 ads"]
    assert net["cluster_max_risk"] == pytest.approx(0.6)
    assert records[-1][1].network is None


def test_cluster_cli_writes_clusters_annotations_and_index(tmp_path):
    corpus = generate(n_networks=6, n_fillers=30, seed=11)
    scored = tmp_path / "scored.jsonl"
    lines = [json.dumps(scored_record(ad, _pair(ad)[1]), ensure_ascii=False) for ad in corpus.ads]
    scored.write_text("\n".join(lines[:-1] + ["{not json"] + lines[-1:]) + "\n", encoding="utf-8")
    out, annotated, index = tmp_path / "clusters.jsonl", tmp_path / "annotated.jsonl", tmp_path / "idx"

    result = CliRunner().invoke(
        app, ["cluster", str(scored), "-o", str(out), "--annotate", str(annotated), "--index", str(index)]
    )
    assert result.exit_code == 0, result.output
    assert f"scored.jsonl, line {len(lines)}: not JSON" in result.output and "1 bad lines skipped" in result.output
    assert f"{len(lines)} ads ({len(lines)} new to the index, {len(lines)} in it)" in result.output
    clusters = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert clusters and all(c["size"] >= 2 for c in clusters)
    assert {"template", "contact"} == {c["kind"] for c in clusters}
    rows = [json.loads(line) for line in annotated.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(corpus.ads)
    members = {m for c in clusters for m in c["members"]}
    assert all((r["network"] is not None) == (r["ad_id"] in members) for r in rows)

    strict = CliRunner().invoke(app, ["cluster", str(scored), "-o", str(out), "--strict"])
    assert strict.exit_code == 2


def test_score_cluster_fills_network_in_the_scored_file(tmp_path):
    ads = [
        {"id": f"d{i}", "text": DUBAI.format(city=c, b=25, pay=3000, phone="+7 701 111 22 33")}
        for i, c in enumerate(["Дубае", "Стамбуле", "Сеуле"])
    ]
    ads.append({"id": "office", "text": OFFICE})
    inp, out = tmp_path / "ads.jsonl", tmp_path / "scored.jsonl"
    inp.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in ads) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["score", str(inp), "-o", str(out), "--cluster", "-q"])
    assert result.exit_code == 0, result.output
    rows = {r["ad_id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert rows["d0"]["network"]["template_size"] == 3 and rows["office"]["network"] is None
    clusters = [
        json.loads(x) for x in (tmp_path / "scored.jsonl.clusters.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert {c["kind"] for c in clusters} == {"template", "contact"}
