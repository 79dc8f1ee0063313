"""Readers: every format, every kind of bad record, encodings, streaming, the real datasets."""

from __future__ import annotations

import io
import json
import sys

import pytest

import trafficking_ads as ta
from trafficking_ads.readers import BadRecord, InputError, iter_records, parse_map
from trafficking_ads.readers.encoding import detect_encoding, plausible_cyrillic
from trafficking_ads.readers.jsonstream import JsonStream, JsonSyntaxError
from trafficking_ads.records import Ad

RU = "Требуются девушки 18-25 лет на работу в Дубае, билеты и проживание за счёт работодателя."
KK = "Дубайдағы қонақүйге қыздар қажет, ұшақ билеті жұмыс берушінің есебінен."


def split(records):
    ads = [r for r in records if isinstance(r, Ad)]
    bad = [r for r in records if isinstance(r, BadRecord)]
    return ads, bad


def write(path, data: str | bytes, encoding="utf-8"):
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


# -- JSON Lines ---------------------------------------------------------------------


def test_jsonl_bad_records_are_located_and_good_ones_kept(tmp_path):
    lines = [
        json.dumps({"id": "a1", "text": RU, "title": "Дубай"}, ensure_ascii=False),  # 1 good
        '{"id": "a2", "text": "unterminated',  # 2 invalid JSON
        json.dumps({"id": "a3", "title": "no text"}),  # 3 missing text
        json.dumps({"id": "a4", "text": "   \n"}),  # 4 empty text
        json.dumps({"id": "a5", "text": KK, "title": ["not", "a", "string"]}, ensure_ascii=False),  # 5 wrong type
        json.dumps({"id": "a6", "text": 42}),  # 6 wrong type (text)
        json.dumps(["an", "array"]),  # 7 not an object
        "",  # blank: ignored
        json.dumps({"id": "a8", "text": "label is odd", "label": "maybe"}),  # 9 wrong type (label)
        json.dumps({"job_id": 77, "text": "Courier wanted in Almaty", "label": 1}),  # 10 good, numeric id
    ]
    data = ("\n".join(lines) + "\n").encode() + b'{"id": "a11", "text": "caf\xe9 job"}\n'  # 11 undecodable
    p = write(tmp_path / "batch.jsonl", data)
    ads, bad = split(list(iter_records(p)))
    assert [a.id for a in ads] == ["a1", "77"]
    assert ads[0].text == RU and ads[0].title == "Дубай" and ads[1].label == 1
    got = [(b.line, b.kind, b.field) for b in bad]
    assert got == [
        (2, "invalid_json", None),
        (3, "missing_text", "text"),
        (4, "empty_text", "text"),
        (5, "wrong_type", "title"),
        (6, "wrong_type", "text"),
        (7, "not_an_object", None),
        (9, "wrong_type", "label"),
        (11, "undecodable", None),
    ]
    assert all(b.source == str(p) for b in bad)
    assert "\\xe9" in bad[-1].raw  # the bad byte is shown, not dropped or garbled
    assert bad[0].message().startswith(f"{p}, line 2, record 2:")


def test_jsonl_lone_surrogate_escape_is_reported(tmp_path):
    p = write(tmp_path / "s.jsonl", '{"text": "broken \\ud800 escape"}\n{"text": "fine"}\n')
    ads, bad = split(list(iter_records(p)))
    assert [a.text for a in ads] == ["fine"]
    assert bad[0].kind == "undecodable" and bad[0].field == "text" and bad[0].line == 1


def test_ids_from_input_or_content_hash(tmp_path):
    p = write(tmp_path / "ids.jsonl", '{"text": "same ad"}\n{"text": "same ad"}\n{"id": "x", "text": "same ad"}\n')
    ads = list(ta.read_ads(p))
    assert ads[0].id == ads[1].id == Ad(text="same ad").id and ads[0].id.startswith("sha256:")
    assert ads[2].id == "x"


def test_five_megabyte_ad_in_every_format(tmp_path):
    big = ("Работа за рубежом, билеты оплачены. " * 150_000)[: 5 * 1024 * 1024]
    assert len(big.encode()) > 5_000_000
    write(tmp_path / "big.jsonl", json.dumps({"text": big}, ensure_ascii=False) + "\n" + '{"text": "small"}\n')
    write(tmp_path / "big.json", json.dumps([{"text": big}, {"text": "small"}], ensure_ascii=False))
    write(tmp_path / "big.csv", 'text,title\n"' + big + '",t\nsmall,t2\n')
    d = tmp_path / "txt"
    d.mkdir()
    write(d / "a.txt", big)
    write(d / "b.txt", "small")
    for inp in ("big.jsonl", "big.json", "big.csv", "txt"):
        ads, bad = split(list(iter_records(tmp_path / inp)))
        assert not bad, (inp, bad)
        assert [len(a.text) for a in ads] == [len(big), 5], inp
        assert ads[0].text == big


# -- JSON documents -------------------------------------------------------------------


def test_json_array_streams_and_matches_json_load(tmp_path):
    items = [{"id": f"i{i}", "text": f"объявление {i} " + "x" * (i * 37 % 200), "label": i % 2} for i in range(300)]
    doc = json.dumps(items, ensure_ascii=False, indent=1)
    js = JsonStream(io.StringIO(doc), chunk=7)  # tiny window: every value spans refills
    got = []
    for _ in js.items():
        got.append(js.value()[0])
    assert got == json.loads(doc) and js.at_end()
    ads = list(ta.read_ads(write(tmp_path / "a.json", doc)))
    assert [a.id for a in ads] == [f"i{i}" for i in range(300)] and ads[5].label == 1


def test_json_reader_is_lazy(tmp_path):
    """The first ad of a 20 MB array arrives after reading a small part of the file."""
    p = tmp_path / "large.json"
    with open(p, "w", encoding="utf-8") as f:
        f.write("[")
        for i in range(40_000):
            f.write(("," if i else "") + json.dumps({"text": f"ad {i} " + "word " * 100}))
        f.write("]")
    size = p.stat().st_size
    consumed = [0]
    it = iter_records(p, on_bytes=lambda n: consumed.__setitem__(0, consumed[0] + n))
    first = next(it)
    assert isinstance(first, Ad) and first.text.startswith("ad 0 ")
    assert size > 20_000_000 and consumed[0] < 2_000_000
    assert sum(1 for _ in it) == 39_999
    assert consumed[0] == size


def test_json_array_syntax_error_keeps_earlier_items(tmp_path):
    p = write(tmp_path / "broken.json", '[\n{"text": "one"},\n{"text": "two"},\n{"text": oops},\n{"text": "four"}\n]')
    ads, bad = split(list(iter_records(p)))
    assert [a.text for a in ads] == ["one", "two"]
    assert len(bad) == 1 and bad[0].kind == "invalid_json" and bad[0].line == 4 and bad[0].record == 3


def test_jsonstream_reports_truncated_document():
    js = JsonStream(io.StringIO('[{"text": "a"}, {"text": "b'), chunk=4)
    with pytest.raises(JsonSyntaxError):
        for _ in js.items():
            js.value()


def test_json_single_object_and_bom(tmp_path):
    p = write(tmp_path / "one.json", "\ufeff" + json.dumps({"text": RU, "title": "t"}, ensure_ascii=False, indent=2))
    (ad,) = ta.read_ads(p)
    assert ad.text == RU and ad.title == "t"


def test_scored_output_reads_back_as_ads(tmp_path):
    line = {
        "ad_id": "tg:1:2",
        "risk": 0.9,
        "band": "high",
        "indicators": [],
        "lang": "ru",
        "model": {"name": "m", "version": "1"},
        "components": {},
        "network": None,
        "ad": {"text": RU, "title": "Дубай"},
    }
    (ad,) = ta.read_ads(write(tmp_path / "scored.jsonl", json.dumps(line, ensure_ascii=False) + "\n"))
    assert ad.id == "tg:1:2" and ad.text == RU and ad.title == "Дубай"


# -- Telegram -----------------------------------------------------------------------

TELEGRAM = {
    "name": "Работа за границей 🌍",
    "type": "public_channel",
    "id": 1234567890,
    "messages": [
        {"id": 1, "type": "service", "date": "2024-03-01T09:00:00", "action": "create_channel", "text": ""},
        {
            "id": 2,
            "type": "message",
            "date": "2024-03-01T10:15:00",
            "from": "Работа за границей 🌍",
            "text": [
                "Работа в ",
                {"type": "bold", "text": "Дубае"},
                " для девушек 18-25! Пишите ",
                {"type": "mention", "text": "@dubai_hr"},
                " или ",
                {"type": "text_link", "text": "сюда", "href": "https://t.me/dubai_hr"},
            ],
        },
        {"id": 3, "type": "message", "date": "2024-03-02T11:00:00", "photo": "photos/p.jpg", "text": ""},
        {
            "id": 4,
            "type": "message",
            "date": "2024-03-03T12:00:00",
            "text": KK,
            "text_entities": [{"type": "plain", "text": KK}],
        },
        {"id": 5, "type": "message", "date": "2024-03-04T12:00:00", "text": {"oops": 1}},
    ],
}


def test_telegram_export_with_entity_lists(tmp_path):
    p = write(tmp_path / "result.json", json.dumps(TELEGRAM, ensure_ascii=False, indent=1))
    ads, bad = split(list(iter_records(p)))
    assert [a.id for a in ads] == ["tg:1234567890:2", "tg:1234567890:4"]
    assert ads[0].text == "Работа в Дубае для девушек 18-25! Пишите @dubai_hr или сюда"
    assert ads[0].posted_at == "2024-03-01T10:15:00" and ads[0].source == "telegram"
    assert ads[0].meta["chat"] == "Работа за границей 🌍" and ads[0].meta["links"] == ["https://t.me/dubai_hr"]
    assert ads[1].text == KK
    assert len(bad) == 1 and bad[0].kind == "wrong_type" and bad[0].record == 5 and bad[0].field == "text"
    # the export folder works too
    folder = tmp_path / "ChatExport_2024-03-05"
    folder.mkdir()
    (folder / "result.json").write_bytes(p.read_bytes())
    assert [a.id for a in ta.read_ads(folder, on_error="skip")] == ["tg:1234567890:2", "tg:1234567890:4"]


def test_telegram_full_account_export(tmp_path):
    export = {
        "about": "export",
        "chats": {
            "about": "chats",
            "list": [
                {
                    "name": "A",
                    "type": "private_group",
                    "id": 11,
                    "messages": [{"id": 1, "type": "message", "date": "2024-01-01T00:00:00", "text": "first"}],
                },
                {
                    "name": "B",
                    "type": "public_channel",
                    "id": 22,
                    "messages": [{"id": 7, "type": "message", "date": "2024-01-02T00:00:00", "text": ["second"]}],
                },
            ],
        },
    }
    ads = list(ta.read_ads(write(tmp_path / "result.json", json.dumps(export))))
    assert [(a.id, a.text, a.meta["chat"]) for a in ads] == [("tg:11:1", "first", "A"), ("tg:22:7", "second", "B")]


# -- CSV / TSV ----------------------------------------------------------------------


def test_csv_in_windows_1251_is_detected(tmp_path):
    rows = "id;title;text\n1;Официантка;" + RU + "\n2;Водитель;Требуется водитель категории С, Алматы.\n"
    p = write(tmp_path / "export.csv", rows, encoding="cp1251")
    ads, bad = split(list(iter_records(p)))
    assert not bad and [a.title for a in ads] == ["Официантка", "Водитель"] and ads[0].text == RU
    explicit = list(ta.read_ads(p, encoding="cp1251"))
    assert [a.text for a in explicit] == [a.text for a in ads]


def test_undecodable_file_is_refused_not_garbled(tmp_path):
    p = write(tmp_path / "latin.csv", 'text\n"Café crème à Genève, déjà prêt, très élégant"\n', encoding="latin-1")
    ads, bad = split(list(iter_records(p)))
    assert not ads and len(bad) == 1 and bad[0].kind == "undecodable" and "--encoding" in bad[0].reason
    assert [a.text for a in ta.read_ads(p, encoding="latin-1")] == ["Café crème à Genève, déjà prêt, très élégant"]


def test_encoding_detection_rules():
    assert detect_encoding(RU.encode("utf-8"), True) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbf" + RU.encode("utf-8"), True) == "utf-8-sig"
    assert detect_encoding(RU.encode("cp1251"), True) == "cp1251"
    assert detect_encoding("\ufefftext\n".encode("utf-16"), True) == "utf-16"
    # a UTF-8 file with one corrupt byte stays UTF-8 (that record is reported)
    assert detect_encoding((RU * 20).encode() + b"\xff" + (RU * 20).encode(), True) == "utf-8"
    # UTF-8 cut in the middle of a character at the sniffing window's end is still UTF-8
    assert detect_encoding(RU.encode()[:-1], False) == "utf-8"
    assert plausible_cyrillic("Работа в Дубае для девушек")
    assert not plausible_cyrillic("cafй crиme")  # latin-1 read as cp1251
    assert not plausible_cyrillic("пРИВЕТ рАБОТА дУБАЕ дЛЯ дЕВУШЕК")  # KOI8-R read as cp1251
    with pytest.raises(InputError):
        detect_encoding(bytes(range(128, 256)) * 4, True)


def test_csv_bom_tsv_and_semicolons(tmp_path):
    bom = write(tmp_path / "bom.csv", "\ufeffjob_id,title,description,fraudulent\n5,Nanny,Live-in nanny abroad,1\n")
    (ad,) = ta.read_ads(bom)
    assert ad.id == "5" and ad.title == "Nanny" and ad.label == 1
    tsv = write(tmp_path / "ads.tsv", "title\ttext\tlocation\nDriver\tNeed a driver, Astana\tAstana\n")
    (ad,) = ta.read_ads(tsv)
    assert (ad.title, ad.text, ad.location) == ("Driver", "Need a driver, Astana", "Astana")
    semi = write(tmp_path / "semi.csv", 'text;salary\n"Продавец; график 5/2";250 000\n')
    (ad,) = ta.read_ads(semi)
    assert ad.text == "Продавец; график 5/2" and ad.salary == "250 000"


def test_csv_bad_rows_are_located(tmp_path):
    data = 'id,title,text\n1,ok,"multi\nline text"\n2,short\n3,empty,\n4,fine,"Продавец, Алматы"\n'
    p = write(tmp_path / "rows.csv", data.encode() + b'5,bytes,"caf\xe9"\n')
    ads, bad = split(list(iter_records(p)))
    assert [a.id for a in ads] == ["1", "4"] and ads[0].text == "multi\nline text"
    assert [(b.record, b.line, b.kind) for b in bad] == [
        (2, 4, "invalid_csv"),
        (3, 5, "empty_text"),
        (5, 7, "undecodable"),
    ]


def test_csv_without_text_column_says_how_to_map(tmp_path):
    p = write(tmp_path / "cols.csv", "name,duties\nКассир,Работа с кассой\n")
    ads, bad = split(list(iter_records(p)))
    assert not ads and bad[0].kind == "missing_text" and "--map text=COLUMN" in bad[0].reason
    (ad,) = ta.read_ads(p, mapping="text=duties,title=name")
    assert (ad.text, ad.title) == ("Работа с кассой", "Кассир")


def test_map_option_parsing():
    assert parse_map("text=description+requirements,title=name") == {
        "text": ("description", "requirements"),
        "title": ("name",),
    }
    assert parse_map(["text=a", "url=b"]) == {"text": ("a",), "url": ("b",)}
    for bad in ("nonsense", "colour=x", "title=a+b", "text="):
        with pytest.raises(ValueError):
            parse_map(bad)


# -- text, directories, stdin ----------------------------------------------------------


def test_text_directory(tmp_path):
    d = tmp_path / "ads"
    (d / "sub").mkdir(parents=True)
    write(d / "b.txt", RU)
    write(d / "a.txt", "\ufeff" + KK)
    write(d / "sub" / "c.txt", "Вахта 15/15, проживание и питание за счёт компании", encoding="cp1251")
    write(d / "empty.txt", "  \n")
    write(d / "notes.md", "ignored")
    ads, bad = split(list(iter_records(d)))
    assert [a.meta["file"] for a in ads] == ["a.txt", "b.txt", "sub/c.txt"]
    assert ads[0].text == KK and ads[2].text.startswith("Вахта")
    assert len(bad) == 1 and bad[0].kind == "empty_text" and bad[0].source.endswith("empty.txt")


def test_literal_text_and_single_txt(tmp_path):
    ads, bad = split(list(iter_records(text=[RU, " "])))
    assert [a.text for a in ads] == [RU] and bad[0].kind == "empty_text" and bad[0].source == "--text"
    (ad,) = ta.read_ads(write(tmp_path / "one.txt", KK))
    assert ad.text == KK


@pytest.mark.parametrize(
    "payload, expected",
    [
        ('{"text": "a"}\n{"text": "b"}\n', ["a", "b"]),
        ('[{"text": "a"}, {"text": "b"}]', ["a", "b"]),
        ("title,text\nt,a\nu,b\n", ["a", "b"]),
        (RU + "\nвторая строка того же объявления\n", [RU + "\nвторая строка того же объявления\n"]),
    ],
)
def test_stdin_format_is_sniffed(monkeypatch, payload, expected):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(payload.encode("utf-8"))))
    assert [a.text for a in ta.read_ads("-")] == expected


def test_missing_input_and_on_error_modes(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(iter_records(tmp_path / "nope.jsonl"))
    p = write(tmp_path / "x.jsonl", '{"text": "ok"}\nnot json\n')
    with pytest.raises(InputError, match="line 2"):
        list(ta.read_ads(p, on_error="raise"))
    seen = []
    assert [a.text for a in ta.read_ads(p, on_error=seen.append)] == ["ok"]
    assert seen[0].kind == "invalid_json"


# -- the real shared datasets ------------------------------------------------------------


@pytest.mark.parametrize(
    "name, rows, frauds, empty",
    [
        ("emscad/r_dube_fj_small.csv", 271, 11, 0),
        ("emscad/ishita1604_first_499.csv", 372, 7, 0),
        ("emscad/jae1654_fraudulent.csv", 208, 208, 1),
        ("emscad/eric_miao_train_balanced.csv", 1114, 526, 0),
        ("emscad/eric_miao_test_balanced.csv", 372, 176, 0),
        ("difraud/job_scams/validation.jsonl", 1301, 47, 0),
    ],
)
def test_real_datasets_parse(shared_data, name, rows, frauds, empty):
    ads, bad = split(list(iter_records(shared_data / name)))
    assert len(ads) == rows and sum(a.label for a in ads) == frauds
    assert len(bad) == empty and all(b.kind == "empty_text" for b in bad)  # jae1654 row 3 has no text at all


def test_emscad_layout_fields(shared_data):
    ads = list(ta.read_ads(shared_data / "emscad" / "jae1654_fraudulent.csv", on_error="skip"))
    ad = ads[0]
    assert ad.id == "13139" and ad.title == "Principal Engineer" and ad.location == "US, TX, Houston"
    assert ad.company_profile.startswith("Aker Solutions") and ad.label == 1
    assert ad.meta["has_company_logo"] in (0, 1) and "function" in ad.meta and "function." not in ad.meta
    import csv

    row = next(csv.DictReader(open(shared_data / "emscad" / "jae1654_fraudulent.csv", encoding="utf-8")))
    assert ad.text == "\n\n".join(x for x in (row["description"], row["requirements"], row["benefits"]) if x.strip())
