"""Corpus build on the real shared data: group-aware splits, the saved DatasetDict, the card, the CLI."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.corpus.build import COLUMNS, build_corpus, load_corpus, row_to_ad
from trafficking_ads.corpus.loaders import SHARED_FILES
from trafficking_ads.corpus.splits import check_group_disjoint, split_groups

SEED_ROWS = {
    "ru": [
        ("Хостес в Дубай, девушки 18-25, билеты и жильё за наш счёт, опыт не нужен, пишите в WhatsApp {n}", 1),
        ("Работа в Корее на заводе, виза не нужна, паспорт сдаёте нам на оформление, перелёт из зарплаты, тел {n}", 1),
        ("ТОО «Астана Строй» приглашает бухгалтера: договор по ТК РК, оклад 350 000 тенге, офис Кенесары {n}", 0),
    ],
    "kk": [
        ("Дубайда қыздарға жұмыс, 18-25 жас, билет пен тұрғын үй біздің есептен, Telegram @kz{n}", 1),
        ("«Қазақтелеком» АҚ есепшіні шақырады, ресми жұмысқа орналастыру, жалақы 300 000 теңге, мекенжайы {n}", 0),
    ],
    "en": [
        ("Models wanted for hostess work in Dubai, girls 18-24, flights and visa paid, no experience, DM {n}", 1),
        ("Licensed agency (licence {n}) hires nurses for NHS trusts; no fees, contract signed before departure", 0),
    ],
}


def write_seed(d: Path, per_template: int = 4, bad_line: bool = False) -> Path:
    """A small seed set in the data/seed format: one template family per sentence above."""
    d.mkdir(parents=True, exist_ok=True)
    for lang, rows in SEED_ROWS.items():
        lines = []
        for t, (text, label) in enumerate(rows):
            for k in range(per_template):
                lines.append(
                    {
                        "id": f"seed-{lang}-{len(lines) + 1:04d}",
                        "lang": lang,
                        "label": label,
                        "text": text.format(n=1000 + 37 * k),
                        "indicators": [],
                        "template": f"{lang}-t{t}",
                        "hard_negative": label == 0,
                        "style": "telegram",
                    }
                )
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\n"
        if bad_line:
            text += '{"id": "x", "lang": "ru", "label": 5, "text": "bad"}\n'
        (d / f"{lang}.jsonl").write_text(text, encoding="utf-8")
    return d


def write_small_shared(src: Path, dst: Path, rows: int = 60) -> Path:
    """The first `rows` rows of every shared file, under the same names (a fast, real subset)."""
    for f in SHARED_FILES:
        out = dst / f.path
        out.parent.mkdir(parents=True, exist_ok=True)
        if f.path.endswith(".jsonl"):
            with (src / f.path).open(encoding="utf-8") as fh:
                out.write_text("".join(line for _, line in zip(range(rows * 3), fh)), encoding="utf-8")
            continue
        with (src / f.path).open(encoding="utf-8", newline="") as fh, out.open("w", encoding="utf-8", newline="") as oh:
            reader = csv.reader(fh)
            writer = csv.writer(oh)
            for _, row in zip(range(rows + 1), reader):
                writer.writerow(row)
    return dst


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    seed_dir = write_seed(tmp / "seed")
    corpus = build_corpus(tmp / "out", seed_dir=seed_dir, shared_data=shared_data, seed=13, write_repo_card=False)
    return corpus, tmp / "out"


def test_no_template_family_in_two_splits(built):
    corpus, _ = built
    groups, splits, templates = [], [], defaultdict(set)
    for sp, ds in corpus.dataset.items():
        for row in ds:
            groups.append(row["group"])
            splits.append(sp)
            t = json.loads(row["meta"]).get("template")
            if t:
                templates[t].add(sp)
    assert check_group_disjoint(groups, splits) == []
    assert templates and all(len(s) == 1 for s in templates.values())
    ids = [r for ds in corpus.dataset.values() for r in ds["id"]]
    assert len(ids) == len(set(ids))


def test_split_shares_and_strata(built):
    corpus, _ = built
    n = {sp: len(ds) for sp, ds in corpus.dataset.items()}
    total = sum(n.values())
    assert abs(n["train"] / total - 0.70) < 0.05 and abs(n["test"] / total - 0.15) < 0.04
    for sp in ("train", "dev", "test"):
        ds = corpus.dataset[sp]
        assert sum(ds["label"]) > 20, sp
        real = [s for s in ds["source"] if s.startswith(("hh:", "superjob:"))]
        assert len(real) > 50, sp  # real RU/KZ vacancies reach every split, test included
    card = corpus.card
    assert card["dedup"]["exact_duplicates_removed"] > 0 and card["dedup"]["near_duplicates_removed"] > 500
    assert card["dedup"]["template_groups"] == sum(card["groups_per_split"].values())
    assert card["build_seconds"] < 60


def test_saved_corpus_and_card(built):
    corpus, out = built
    dd = load_corpus(out)
    assert set(dd) == {"train", "dev", "test"} and tuple(dd["train"].column_names) == COLUMNS
    assert [len(dd[s]) for s in dd] == [len(corpus.dataset[s]) for s in dd]
    card = json.loads((out / "card.json").read_text(encoding="utf-8"))
    md = (out / "CARD.md").read_text(encoding="utf-8")
    assert f"| train | {card['splits']['train']['ads']} |" in md and "near duplicates removed" in md
    removed = (out / "dedup_removed.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(removed) == card["dedup"]["exact_duplicates_removed"] + card["dedup"]["near_duplicates_removed"]
    ad = row_to_ad(dd["train"][0])
    assert ad.text == dd["train"][0]["text"] and ad.label in (0, 1) and isinstance(ad.meta, dict)
    hh = next(r for r in dd["test"] if r["source"].startswith("hh:"))
    assert json.loads(hh["meta"])["label_note"] == "platform ad, unverified" and hh["company_name"]


def test_split_is_seeded(built):
    corpus, _ = built
    ads = [row_to_ad(r) for ds in corpus.dataset.values() for r in ds]
    groups = [a.id if i % 3 else "g0" for i, a in enumerate(ads[:600])]
    a = split_groups(ads[:600], groups, seed=13)
    assert a == split_groups(ads[:600], groups, seed=13)
    assert a != split_groups(ads[:600], groups, seed=14)
    assert check_group_disjoint(groups, a) == []
    with pytest.raises(ValueError):
        split_groups(ads[:10], groups[:10], fractions=(0.5, 0.5, 0.5))


def test_cli_build_and_strict(shared_data, tmp_path):
    small = write_small_shared(shared_data, tmp_path / "shared")
    runner = CliRunner()
    out = tmp_path / "c"
    r = runner.invoke(
        app,
        [
            "data",
            "build",
            "-o",
            str(out),
            "--shared-data",
            str(small),
            "--seed-dir",
            str(write_seed(tmp_path / "seed")),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output and (out / "dataset" / "dataset_dict.json").is_file()
    bad = write_seed(tmp_path / "badseed", bad_line=True)
    r = runner.invoke(
        app, ["data", "build", "-o", str(tmp_path / "c2"), "--shared-data", str(small), "--seed-dir", str(bad)]
    )
    assert r.exit_code == 0 and "label must be 0 or 1" in r.output
    r = runner.invoke(
        app,
        ["data", "build", "-o", str(tmp_path / "c3"), "--shared-data", str(small), "--seed-dir", str(bad), "--strict"],
    )
    assert r.exit_code == 2 and "label must be 0 or 1" in r.output
    assert not (tmp_path / "c3").exists()


def test_cross_source_split_holds_out_a_family_with_every_group_it_touches():
    from trafficking_ads.corpus.splits import cross_source_split
    from trafficking_ads.records import Ad

    ads = [Ad(id=f"d{i}", text="x", label=i % 2, source="difraud:job_scams", language="en") for i in range(6)]
    ads += [Ad(id=f"e{i}", text="x", label=i % 2, source="emscad:a.csv", language="en") for i in range(40)]
    groups = (
        [f"g{i}" for i in range(6)] + ["g0", "g1"] + [f"h{i}" for i in range(38)]
    )  # e0, e1 share groups with DIFrauD
    where = cross_source_split(ads, groups, "difraud", seed=1)
    assert all(w == "test" for a, w in zip(ads, where) if a.source.startswith("difraud"))
    assert where[6] == where[7] == "test"  # EMSCAD ads sharing a DIFrauD group are held out with it
    assert {w for w in where[8:]} == {"train", "dev"}
    with pytest.raises(ValueError, match="no ads of source family"):
        cross_source_split(ads, groups, "seed")
