"""Corpus loaders on the real shared files: row counts from the data README, labels, fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trafficking_ads.errors import MissingDataError

from trafficking_ads.corpus.loaders import (
    SHARED_FILES,
    cyrillic_language,
    load_difraud,
    load_emscad_preprocessed,
    load_emscad_raw,
    load_hh,
    load_shared,
    load_superjob,
)
from trafficking_ads.problems import DataError, Problems
from trafficking_ads.corpus.seed import load_seed, load_seed_file


def readme_counts(shared_data) -> dict[str, tuple[int, int | None]]:
    """file name -> (rows, fraudulent) parsed from the shared data README's tables."""
    text = (shared_data / "README.md").read_text(encoding="utf-8")
    out: dict[str, tuple[int, int | None]] = {}
    for m in re.finditer(r"^\| (\S+\.(?:csv|jsonl)) \| (\d+)(?: \((\d+)\))? \|", text, re.M):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)) if m.group(3) else None)
    m = re.search(r"validation\.jsonl, (\d+) rows \((\d+) deceptive\)", text)
    out["validation.jsonl"] = (int(m.group(1)), int(m.group(2)))
    return out


@pytest.fixture(scope="module")
def loaded(shared_data):
    problems = Problems()
    return load_shared(shared_data, problems=problems), problems


def test_counts_match_readme(shared_data, loaded):
    data, problems = loaded
    assert not problems, [str(p) for p in problems]
    counts = readme_counts(shared_data)
    assert len(counts) == len(SHARED_FILES)
    for f in SHARED_FILES:
        name = f.path.rsplit("/", 1)[-1]
        rows, frauds = counts[name]
        ads = data[f.path]
        assert len(ads) == rows == f.rows, name
        assert sum(a.label for a in ads) == (frauds or 0) == f.positives, name
        assert all(a.label in (0, 1) and (a.text.strip() or a.title) for a in ads), name
        assert len({a.id for a in ads}) == len(ads), f"duplicate ids in {name}"


def test_emscad_raw_fields(loaded):
    data, _ = loaded
    jae = data["emscad/jae1654_fraudulent.csv"]
    a = jae[0]
    assert a.id == "emscad:13139" and a.source == "emscad:jae1654_fraudulent.csv" and a.language == "en"
    assert a.title == "Principal Engineer" and a.location == "US, TX, Houston"
    assert a.company_profile.startswith("Aker Solutions is a global provider")
    assert a.text.startswith("Corporate overview")
    assert "Qualifications & personal attributes" in a.text  # requirements joined, &amp; unescaped
    assert a.meta["function"] == "Engineering" and a.meta["industry"] == "Oil & Energy"
    assert a.meta["has_company_logo"] == 1 and a.meta["telecommuting"] == 0
    ishita = data["emscad/ishita1604_first_499.csv"]
    assert all(x.location is None for x in ishita)  # that copy has no location column
    assert any(x.salary for x in data["emscad/r_dube_fj_small.csv"])


def test_preprocessed_and_difraud(loaded):
    data, _ = loaded
    em = data["emscad/eric_miao_test_balanced.csv"]
    assert all(a.meta == {"preprocessed": True} and a.text == a.text.lower() for a in em)
    dif = data["difraud/job_scams/validation.jsonl"]
    assert dif[0].text.startswith("Do you have a passion for mud") and dif[0].label == 0
    assert {a.source for a in dif} == {"difraud:job_scams"}


def test_ru_vacancies(loaded):
    data, _ = loaded
    hh = data["ru_vacancies/hh_astana_vacancies.csv"]
    a = hh[0]
    assert a.id == "hh:131040079" and a.title == "Водитель-испытатель" and a.company_name == "OEM LAB"
    assert a.salary == "от 450000 KZT" and a.label == 0 and a.location
    assert a.meta["label_note"] == "platform ad, unverified" and a.meta["professional_roles"] == ["Водитель"]
    assert all("highlighttext" not in x.text for x in hh)
    assert {x.language for x in hh} <= {"ru", "kk"}
    sj = data["ru_vacancies/superjob_ru_vacancies.csv"]
    assert all(x.source == "superjob:superjob_ru_vacancies.csv" and x.label == 0 for x in sj)
    assert sj[3].salary == "35000—100000₽" and sj[3].url.startswith("https://www.superjob.ru/")
    assert sj[3].id == "superjob:31620189"


def test_cyrillic_language():
    assert cyrillic_language("Требуется бухгалтер в офис") == "ru"
    assert cyrillic_language("Дубайда қыздарға жұмыс, тәжірибе керек емес") == "kk"


def test_bad_rows_skipped_and_reported(tmp_path):
    p = tmp_path / "fj.csv"
    p.write_text(
        "job_id,title,description,fraudulent\n1,Clerk,Filing work,0\n2,Agent,Easy money,yes\n3,,,1\n",
        encoding="utf-8",
    )
    problems = Problems()
    ads = load_emscad_raw(p, problems=problems)
    assert [a.id for a in ads] == ["emscad:1"]
    assert [(x.record, x.field) for x in problems] == [(2, "fraudulent"), (3, "description")]
    assert "fj.csv, record 2: field 'fraudulent'" in str(problems[0])
    with pytest.raises(DataError, match="record 2"):
        load_emscad_raw(p, problems=Problems(strict=True))
    pre = tmp_path / "pre.csv"
    pre.write_text("text,fraudulent\nsome text,1\n,0\n", encoding="utf-8")
    problems = Problems()
    assert len(load_emscad_preprocessed(pre, problems=problems)) == 1 and problems[0].field == "text"
    dj = tmp_path / "d.jsonl"
    dj.write_text('{"text": "a", "label": 1}\nnot json\n{"text": "b", "label": 3}\n', encoding="utf-8")
    problems = Problems()
    assert len(load_difraud(dj, problems=problems)) == 1 and [x.record for x in problems] == [2, 3]
    with pytest.raises(DataError, match="no such file"):
        load_superjob(tmp_path / "missing.csv")


def test_hh_cells_are_parsed_as_literals_never_evaluated(tmp_path):
    p = tmp_path / "hh.csv"
    p.write_text(
        "id,name,employer,snippet,salary\n"
        "1,Кассир,\"{'name': 'ТОО Ромашка'}\",\"{'requirement': 'Опыт', 'responsibility': 'Работа с кассой'}\",\"__import__('os').getcwd()\"\n",
        encoding="utf-8",
    )
    problems = Problems()
    (ad,) = load_hh(p, problems=problems)
    assert ad.company_name == "ТОО Ромашка" and ad.salary is None and "Работа с кассой" in ad.text
    assert [(x.record, x.field) for x in problems] == [(1, "salary")]


def test_seed_loader(tmp_path):
    rows = [
        {
            "id": "seed-ru-0001",
            "lang": "ru",
            "label": 1,
            "title": "Хостес",
            "text": "Работа в Дубае",
            "indicators": ["travel_abroad_offer"],
            "template": "ru-t1",
            "hard_negative": False,
            "style": "telegram",
        },
        {
            "id": "seed-ru-0002",
            "lang": "ru",
            "label": 0,
            "text": "Бухгалтер в ТОО",
            "template": "ru-t2",
            "hard_negative": True,
        },
        {"id": "seed-ru-0002", "lang": "ru", "label": 0, "text": "повтор id"},
        {"id": "seed-ru-0003", "lang": "de", "label": 0, "text": "Sprache falsch"},
        {"id": "seed-ru-0004", "lang": "ru", "label": 1, "text": "  "},
    ]
    (tmp_path / "ru.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{oops\n", encoding="utf-8"
    )
    problems = Problems()
    ads = load_seed(tmp_path, problems=problems)
    assert [a.id for a in ads] == ["seed-ru-0001", "seed-ru-0002"]
    a = ads[0]
    assert a.source == "seed" and a.language == "ru" and a.label == 1 and a.title == "Хостес"
    assert (
        a.meta["indicators"] == ["travel_abroad_offer"]
        and a.meta["template"] == "ru-t1"
        and a.meta["style"] == "telegram"
    )
    assert ads[1].meta["hard_negative"] is True
    assert [(x.record, x.field) for x in problems] == [(3, "id"), (4, "lang"), (5, "text"), (6, None)]
    with pytest.raises(MissingDataError, match="seed set"):  # never a corpus silently built without seeds
        load_seed(tmp_path / "absent")
    with pytest.raises(DataError):
        load_seed_file(tmp_path / "ru.jsonl", problems=Problems(strict=True))


def test_shared_data_location(monkeypatch, tmp_path):
    import trafficking_ads
    from trafficking_ads.corpus.loaders import SHARED_DATA_ENV, default_shared_data

    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    assert default_shared_data() == Path(trafficking_ads.__file__).resolve().parents[1].parent / "shared" / "data"
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert default_shared_data() == tmp_path
    problems = Problems()
    assert load_shared(problems=problems) == {}  # an empty folder: every source reported, none loaded
    assert len(problems) == len(SHARED_FILES) and "file not found" in problems[0].reason
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "absent"))
    with pytest.raises(MissingDataError, match="shared data folder not found"):
        load_shared()


def test_translated_seed_templates_share_one_family(tmp_path):
    """A kk ad and its en translation (parallel.tsv) must land in one template family."""
    from trafficking_ads.corpus.seed import load_seed

    (tmp_path / "en.jsonl").write_text(
        json.dumps(
            {
                "id": "seed-en-1",
                "lang": "en",
                "label": 1,
                "text": "Girls 18-25 wanted in Dubai, tickets paid",
                "template": "en-t1",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "kk.jsonl").write_text(
        json.dumps(
            {
                "id": "seed-kk-1",
                "lang": "kk",
                "label": 1,
                "text": "Дубайға 18-25 жастағы қыздар керек, билет тегін",
                "template": "kk-t9",
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "parallel.tsv").write_text(
        "en_template\tkk_template\trelation\nen-t1\tkk-t9\ttranslation\n", encoding="utf-8"
    )
    ads = {a.id: a for a in load_seed(tmp_path)}
    assert ads["seed-en-1"].meta["template"] == ads["seed-kk-1"].meta["template"] == "en-t1"
    assert ads["seed-kk-1"].meta["seed_template"] == "kk-t9"
