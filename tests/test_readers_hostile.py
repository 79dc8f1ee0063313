"""Hostile input files (issue 18): every case is skipped and reported with file, line, field and
reason, never a traceback or a whole-run abort, and the good records around it are kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from trafficking_ads.readers import BadRecord, iter_records
from trafficking_ads.records import Ad


def split(records):
    ads = [r for r in records if isinstance(r, Ad)]
    bad = [r for r in records if isinstance(r, BadRecord)]
    return ads, bad


def read(path, **kw):
    return split(list(iter_records(path, **kw)))


RULES = Path(__file__).resolve().parents[1] / "models" / "indicators"  # the rule-based scorer (no transformer)
DEEP = '{"text": "deep", "a": ' + "[" * 1000 + "]" * 1000 + "}"  # depth 1,000 in a 2 KB line


# ---------------------------------------------------------------- deep nesting


@pytest.mark.parametrize(
    "name,body",
    [
        ("deep.jsonl", '{"text": "one"}\n' + DEEP + '\n{"text": "two"}\n'),
        ("deep.json", '[{"text": "one"},\n' + DEEP + ',\n{"text": "two"}]'),
        ("deep-no-suffix", '{"text": "one"}\n' + DEEP + '\n{"text": "two"}\n'),
        (
            "deep-export.json",
            json.dumps({"name": "c", "id": 1, "messages": [{"id": 1, "type": "message", "text": "one"}]})[:-2]
            + ', {"id": 2, "type": "message", "text": "x", "e": '
            + "[" * 1000
            + "]" * 1000
            + '}, {"id": 3, "type": "message", "text": "two"}]}',
        ),
    ],
)
def test_deep_nesting_is_one_bad_record(tmp_path, name, body):
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    ads, bad = read(p)
    assert [a.text for a in ads] == ["one", "two"]
    assert len(bad) == 1 and bad[0].kind == "invalid_json" and "nested deeper than 100 levels" in bad[0].reason
    assert bad[0].line in (1, 2) and bad[0].record == 2


def test_deep_single_object_and_deep_skipped_member(tmp_path):
    p = tmp_path / "one.json"
    p.write_text('{"text": "x", "meta": ' + "[" * 5000 + "]" * 5000 + "}", encoding="utf-8")
    ads, bad = read(p)
    assert ads == [] and len(bad) == 1 and bad[0].field == "meta" and "nested deeper" in bad[0].reason
    export = tmp_path / "result.json"  # a deep value in a part of an export that is skipped
    export.write_text(
        '{"name": "c", "id": 1, "about": '
        + "[" * 3000
        + "]" * 3000
        + ', "messages": [{"id": 1, "type": "message", "text": "kept"}]}',
        encoding="utf-8",
    )
    ads, bad = read(export)
    assert [a.text for a in ads] == ["kept"] and bad == []


# ---------------------------------------------------------------- Telegram export on one line


@pytest.mark.parametrize("name", ["result.json", "export-without-suffix"])
def test_one_line_telegram_export_over_1_mib(tmp_path, name):
    msgs = [
        {
            "id": i,
            "type": "message",
            "date": "2024-05-01T10:00:00",
            "text": f"Работа в Дубае, вакансия {i}, " + "x" * 40,
        }
        for i in range(20_000)
    ]
    p = tmp_path / name
    p.write_text(
        json.dumps({"name": "Jobs", "type": "public_channel", "id": 7, "messages": msgs}, ensure_ascii=False),
        encoding="utf-8",
    )
    assert p.stat().st_size > 1 << 20 and b"\n" not in p.read_bytes()
    ads, bad = read(p)
    assert len(ads) == 20_000 and bad == [] and ads[-1].id == "tg:7:19999"


def test_one_long_json_line_is_still_json_lines(tmp_path):
    p = tmp_path / "long"
    p.write_text(
        json.dumps({"text": "y" * (2 << 20), "messages_seen": 1}) + "\n" + json.dumps({"text": "z"}) + "\n",
        encoding="utf-8",
    )
    ads, bad = read(p)
    assert [len(a.text) for a in ads] == [2 << 20, 1] and bad == []


# ---------------------------------------------------------------- CSV quote that never closes


def test_unterminated_csv_quote_is_reported_and_the_rest_read(tmp_path):
    rows = "".join(f"ad number {i},title {i}\n" for i in range(1000))
    p = tmp_path / "ads.csv"
    p.write_text('text,title\n"first ad",t1\n"broken ad, it never closes,t2\n' + rows, encoding="utf-8")
    ads, bad = read(p)
    assert len(ads) == 1001 and ads[0].text == "first ad" and ads[-1].text == "ad number 999"
    assert len(bad) == 1 and bad[0].kind == "invalid_csv" and bad[0].line == 3 and "never closes" in bad[0].reason
    assert max(len(a.text) for a in ads) < 100  # nothing swallowed


def test_unterminated_quote_in_last_column_swallows_nothing(tmp_path):
    p = tmp_path / "ads.csv"
    p.write_text('title,text\nt1,"ok one"\nt2,"opens here\nt3,ok three\nt4,ok four\n', encoding="utf-8")
    ads, bad = read(p)
    assert [a.text for a in ads] == ["ok one", "ok three", "ok four"]
    assert len(bad) == 1 and bad[0].line == 3


def test_multiline_quoted_fields_still_work(tmp_path):
    p = tmp_path / "ads.csv"
    p.write_text('text,title\n"line one\nline two, ""quoted""",t1\nplain,t2\n', encoding="utf-8")
    ads, bad = read(p)
    assert [a.text for a in ads] == ['line one\nline two, "quoted"', "plain"] and bad == []


# ---------------------------------------------------------------- huge integers, UTF-16, surrogates


@pytest.mark.parametrize(
    "name,body",
    [
        ("big.jsonl", '{"text": "one"}\n{"text": "x", "n": ' + "9" * 5000 + '}\n{"text": "two"}\n'),
        ("big.json", '[{"text": "one"}, {"text": "x", "n": -' + "9" * 5000 + '}, {"text": "two"}]'),
    ],
)
def test_integer_over_4300_digits(tmp_path, name, body):
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    ads, bad = read(p)
    assert [a.text for a in ads] == ["one", "two"]
    assert len(bad) == 1 and bad[0].field == "n" and "5000 digits" in bad[0].reason and bad[0].record == 2


@pytest.mark.parametrize(
    "name,data,good",
    [
        ("odd.jsonl", '{"text": "один"}\n{"text": "два"}\n'.encode("utf-16") + b"\x00", ["один", "два"]),
        ("cut.csv", "text\nРабота\nещё\n".encode("utf-16")[:-1], ["Работа"]),
        ("cut.txt", "Работа за границей".encode("utf-16")[:-1], []),
        ("cut.json", '[{"text": "один"}, {"text": "два"}]'.encode("utf-16")[:-3], ["один"]),
    ],
)
def test_cut_or_odd_length_utf16(tmp_path, name, data, good):
    p = tmp_path / name
    p.write_bytes(data)
    ads, bad = read(p)
    assert [a.text for a in ads] == good
    assert len(bad) == 1 and bad[0].source == str(p)
    assert bad[0].kind in ("undecodable", "invalid_json")


def test_lone_surrogate_in_any_field_is_reported_at_read_time(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text(
        '{"text": "ok"}\n'
        '{"text": "x", "meta": {"note": "\\ud800"}}\n'
        '{"text": "x", "\\udc00key": "v"}\n'
        '{"text": "x", "company": "\\udfff"}\n'
        '{"text": "x", "tags": ["a", "\\ud83d"]}\n'
        '{"text": "emoji \\ud83d\\ude00 is fine"}\n',
        encoding="utf-8",
    )
    ads, bad = read(p)
    assert [a.text for a in ads] == ["ok", "emoji \U0001f600 is fine"]
    assert [(b.line, b.field, b.kind) for b in bad] == [
        (2, "meta.note", "undecodable"),
        (3, "\\udc00key", "undecodable"),
        (4, "company", "undecodable"),
        (5, "tags[1]", "undecodable"),
    ]


def test_lone_surrogate_in_telegram_message_meta(tmp_path):
    p = tmp_path / "result.json"
    p.write_text(
        '{"name": "c", "id": 1, "messages": [{"id": 1, "type": "message", "text": "one", "from": "\\ud800"},'
        ' {"id": 2, "type": "message", "text": "two"}]}',
        encoding="utf-8",
    )
    ads, bad = read(p)
    assert [a.text for a in ads] == ["two"] and bad[0].field == "from" and bad[0].record == 1


def test_scoring_a_file_with_a_lone_surrogate_writes_the_rest(tmp_path):
    """The writer is never reached by a record it cannot encode (it used to fail after scoring)."""
    from trafficking_ads.batch import score_records
    from trafficking_ads.scoring import load_scorer
    from trafficking_ads.writers import RecordWriter

    p = tmp_path / "s.jsonl"
    p.write_text(
        '{"text": "Работа в Дубае"}\n{"text": "x", "meta": {"a": "\\ud800"}}\n{"text": "Job in Poland"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    with RecordWriter(out) as w:
        summary = score_records(iter_records(p), load_scorer(RULES), w)
    assert summary.scored == 2 and summary.skipped == {"undecodable": 1}
    assert len(out.read_text("utf-8").splitlines()) == 2


# ---------------------------------------------------------------- crawl store rows


def test_bad_crawl_store_rows_are_skipped_and_reported(tmp_path):
    from trafficking_ads.scrape.store import Store, iter_ads

    db = tmp_path / "crawl.sqlite"
    with Store(db) as store:
        with store.transaction():
            store.save_ads([Ad(text=f"ad {i}", url=f"https://a.kz/{i}") for i in range(6)], "https://a.kz/")
    con = sqlite3.connect(db)
    rowids = [r[0] for r in con.execute("SELECT rowid FROM ads ORDER BY rowid")]
    con.execute("UPDATE ads SET ad = CAST(? AS TEXT) WHERE rowid = ?", (b"\xff\xfe not utf-8", rowids[1]))
    con.execute("UPDATE ads SET ad = ? WHERE rowid = ?", ("[1, 2]", rowids[2]))
    con.execute("UPDATE ads SET ad = ? WHERE rowid = ?", ('{"text": 5}', rowids[3]))
    con.execute("UPDATE ads SET ad = ? WHERE rowid = ?", ('{"text": "x", "title": {"a": 1}}', rowids[4]))
    con.commit()
    con.close()
    ads, bad = read(db)
    assert [a.text for a in ads] == ["ad 0", "ad 5"]
    assert [b.record for b in bad] == rowids[1:5] and all(b.kind == "unreadable" and b.source == str(db) for b in bad)
    assert "not UTF-8" in bad[0].reason and "expected a JSON object, got list" in bad[1].reason
    assert bad[2].field == "text" and bad[3].field == "title"
    assert [a.text for a in iter_ads(db)] == ["ad 0", "ad 5"]  # the scraper's own iterator skips them too
    with Store(db) as store:  # and so does `scrape --out`
        assert store.export_jsonl(tmp_path / "ads.jsonl") == 2
    assert [json.loads(line)["text"] for line in (tmp_path / "ads.jsonl").read_text("utf-8").splitlines()] == [
        "ad 0",
        "ad 5",
    ]
