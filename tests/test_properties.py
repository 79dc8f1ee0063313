"""Property-based tests (hypothesis) for everything that reads untrusted input or writes for a
spreadsheet: every reader, the Label Studio import, the CSV writer, and the indicator engine's
offset mapping (`text[start:end] == evidence.text` for every span).

Bounded by default (CI); run more with `TRAFFICKING_ADS_HYPOTHESIS_EXAMPLES=2000 pytest
tests/test_properties.py`. Hypothesis keeps no database here: a failing example it finds is
added by hand to tests/fixtures/property_regressions.json, which `test_regressions` replays on
every run (as an xfail while the bug it shows is open).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from trafficking_ads.problems import DataError, Problems
from trafficking_ads.readers import BadRecord, KINDS, iter_records
from trafficking_ads.records import Ad, Assessment, ModelInfo, scored_record

EXAMPLES = int(os.environ.get("TRAFFICKING_ADS_HYPOTHESIS_EXAMPLES", "40"))
settings.register_profile(
    "trafficking-ads",
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("trafficking-ads")

REGRESSIONS = Path(__file__).resolve().parent / "fixtures" / "property_regressions.json"

# ---------------------------------------------------------------- strategies

#: Pieces of text that stress the readers and the normaliser: Cyrillic and Kazakh letters, Latin
#: look-alikes, zero-width and bidi marks, combining marks, emoji, lone surrogates, quotes,
#: separators and line breaks of every kind.
ALPHABET = st.one_of(
    st.sampled_from(list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЕКМНОРСТХәғқңөұүһіӘҒҚҢӨҰҮҺІ")),
    st.sampled_from(list("aceopxyABEKMHOPCTX0123456789+@=-.,;:|\t\"'{}[]\\/ ")),
    st.sampled_from(
        [
            "\u200b",
            "\u200c",
            "\u200d",
            "\u2060",
            "\ufeff",
            "\u202e",
            "\u0301",
            "\u00a0",
            "\r",
            "\n",
            "\r\n",
            "\u2028",
            "\x00",
            "\x1b",
            "7\ufe0f\u20e3",
            "\U0001f600",
            "\U0001f1f0\U0001f1ff",
            "ß",
            "ﬁ",
            "Ⅻ",
            "²",
            "\ud800",
            "\udfff",
        ]
    ),
    st.characters(),
)
TEXT = st.lists(ALPHABET, max_size=60).map("".join)
CLEAN_TEXT = TEXT.map(lambda t: "".join(c for c in t if not "\ud800" <= c <= "\udfff"))
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
AD_KEYS = st.sampled_from(
    ["text", "title", "id", "url", "company", "location", "salary", "label", "meta", "description", "messages", "date"]
)
AD_LIKE = st.dictionaries(AD_KEYS, JSON, max_size=6)


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "surrogatepass")


def _check_records(records: list[Any], source: str) -> None:
    """What every reader promises: Ads whose every field can be written, or BadRecords that
    name the source and a known kind."""
    for rec in records:
        if isinstance(rec, BadRecord):
            assert rec.kind in KINDS and rec.reason and rec.source.startswith(source[:40])
            rec.message().encode("utf-8")
            json.dumps(rec.to_dict(), ensure_ascii=False).encode("utf-8")
        else:
            assert isinstance(rec, Ad) and isinstance(rec.text, str) and rec.text.strip()
            json.dumps(rec.to_dict(), ensure_ascii=False).encode("utf-8")  # writable: no lone surrogate anywhere


def _read_bytes(data: bytes, name: str, **kw) -> list[Any]:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(data)
        out = list(iter_records(p, **kw))
        _check_records(out, str(p))
        return out


# ---------------------------------------------------------------- readers


@pytest.mark.parametrize("name", ["ads.jsonl", "ads.json", "ads.csv", "ads.tsv", "ad.txt", "result.json", "sniffed"])
@given(data=st.binary(max_size=400))
def test_any_bytes_in_any_format(name, data):
    _read_bytes(data, name)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "cp1251"])
@given(objs=st.lists(st.one_of(AD_LIKE, JSON), max_size=5), cut=st.integers(0, 3))
def test_json_lines_of_any_values(encoding, objs, cut):
    body = "".join(json.dumps(o, ensure_ascii=encoding != "utf-8") + "\n" for o in objs)
    data = body.encode("utf-16") if encoding == "utf-16" else body.encode(encoding, "replace")
    _read_bytes(data[: len(data) - cut] if cut else data, "ads.jsonl")


@given(objs=st.lists(AD_LIKE, max_size=5), ascii_=st.booleans())
def test_json_array_of_any_objects(objs, ascii_):
    _read_bytes(json.dumps(objs, ensure_ascii=ascii_).encode("utf-8", "surrogatepass"), "ads.json")


@given(
    messages=st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "id": st.integers(),
                    "type": st.sampled_from(["message", "service"]),
                    "text": st.one_of(
                        TEXT,
                        st.lists(st.one_of(TEXT, st.fixed_dictionaries({"type": TEXT, "text": JSON})), max_size=3),
                        JSON,
                    ),
                }
            ),
            JSON,
        ),
        max_size=5,
    ),
    chat=st.dictionaries(TEXT, JSON_SCALARS, max_size=3),
    one_line=st.booleans(),
)
def test_telegram_export_of_any_messages(messages, chat, one_line):
    doc = {**chat, "name": "c", "id": 1, "messages": messages}
    text = json.dumps(doc, ensure_ascii=True, indent=None if one_line else 1)
    out = _read_bytes(text.encode("utf-8"), "result.json")
    assert sum(1 for r in out if isinstance(r, (Ad, BadRecord))) <= max(1, len(messages))


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@given(rows=st.lists(st.lists(TEXT, min_size=1, max_size=4), max_size=6), raw_tail=TEXT)
def test_csv_of_any_cells(delimiter, rows, raw_tail):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(["text", "title", "url", "label"])
    for r in rows:
        w.writerow(r)
    body = buf.getvalue() + raw_tail  # a hand-made tail: stray quotes, short rows
    _read_bytes(_encode(body, "utf-8"), "ads.tsv" if delimiter == "\t" else "ads.csv")


@given(text=TEXT, encoding=st.sampled_from(["utf-8", "utf-16", "cp1251", "utf-8-sig"]), cut=st.integers(0, 2))
def test_text_file_in_any_encoding(text, encoding, cut):
    data = text.encode(encoding, "replace") if encoding == "cp1251" else _encode(text, encoding)
    _read_bytes(data[: len(data) - cut] if cut else data, "ad.txt")


# ---------------------------------------------------------------- Label Studio import


def _ls_task(tid: Any, result: Any, data: Any = None) -> dict[str, Any]:
    return {
        "id": tid,
        "data": data if data is not None else {"text": "Работа в Дубае. Пишите в WhatsApp.", "ad_id": f"a{tid}"},
        "annotations": [{"id": 1, "completed_by": 1, "result": result, "created_at": "2026-11-28T10:00:00Z"}],
    }


REGION = st.fixed_dictionaries(
    {
        "from_name": st.one_of(st.sampled_from(["verdict", "indicators", "indicator_spans"]), JSON),
        "type": st.one_of(st.sampled_from(["choices", "labels"]), JSON),
        "value": st.one_of(
            st.fixed_dictionaries(
                {
                    "choices": st.one_of(
                        st.lists(st.one_of(st.sampled_from(["deceptive", "legitimate", "urgency"]), JSON), max_size=3),
                        JSON,
                    )
                }
            ),
            st.fixed_dictionaries(
                {
                    "start": st.one_of(st.integers(-3, 40), JSON),
                    "end": st.one_of(st.integers(-3, 40), JSON),
                    "text": st.one_of(TEXT, JSON),
                    "labels": st.one_of(st.lists(st.one_of(st.just("urgency"), JSON), max_size=2), JSON),
                }
            ),
            JSON,
        ),
    }
)


@given(
    tasks=st.lists(
        st.one_of(
            st.builds(
                _ls_task,
                st.one_of(st.integers(), JSON),
                st.one_of(st.lists(REGION, max_size=4), JSON),
                st.one_of(
                    st.none(),
                    st.dictionaries(st.sampled_from(["text", "ad_id", "title", "url", "lang"]), JSON, max_size=5),
                ),
            ),
            JSON,
        ),
        max_size=4,
    ),
    ascii_=st.booleans(),
)
def test_label_studio_import_of_any_export(tasks, ascii_):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "export.json"
        p.write_bytes(json.dumps(tasks, ensure_ascii=ascii_).encode("utf-8", "surrogatepass"))
        _check_export(p)


@given(data=st.binary(max_size=300))
def test_label_studio_import_of_any_bytes(data):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "export.json"
        p.write_bytes(data)
        _check_export(p)


def _check_export(p: Path) -> None:
    from trafficking_ads.labelling.labelstudio import read_export

    problems = Problems()
    try:
        anns = read_export(p, problems=problems)
    except DataError:
        return  # not JSON at all: one clear error for the file
    for a in anns:
        json.dumps(a.to_dict(), ensure_ascii=False).encode("utf-8")
        assert (
            isinstance(a.ad_id, str) and isinstance(a.text, str) and a.verdict in ("deceptive", "legitimate", "unsure")
        )
        for s in a.spans:
            assert a.text[s["start"] : s["end"]] == s["text"]
    for prob in problems:
        assert "task" in (prob.field or "") and prob.reason


# ---------------------------------------------------------------- CSV writer


@given(cells=st.lists(st.tuples(TEXT, CLEAN_TEXT, CLEAN_TEXT), min_size=1, max_size=5))
def test_csv_writer_round_trip_and_neutralisation(cells):
    _check_csv_round_trip(cells)


def _check_csv_round_trip(cells: list[tuple[str, str, str]]) -> None:
    """Cells written by RecordWriter read back exactly (after `unneutralise_cell`), none
    starting with a formula character."""
    from trafficking_ads.writers import FORMULA_START, RecordWriter, unneutralise_cell

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "s.csv"
        written = []
        with RecordWriter(out, "csv", ("text", "title")) as w:
            for i, (ad_id, text, title) in enumerate(cells):
                ad_id = f"{i}{ad_id}".encode("utf-8", "replace").decode("utf-8")  # ids are unique strings
                a = Assessment(ad_id=ad_id, risk=0.25, band="low", indicators=[], lang="ru", model=ModelInfo("m", "1"))
                rec = scored_record(Ad(text=text or "x", id=ad_id, title=title or None), a, ("text", "title"))
                w.write(rec)
                written.append((ad_id, text or "x", title))
        with open(out, encoding="utf-8-sig", newline="") as f:  # newline="": a CR inside a cell stays a CR
            rows = list(csv.reader(f))
        assert len(rows) == len(cells) + 1
        for row, (ad_id, text, title) in zip(rows[1:], written):
            assert all(not c or c[0] not in FORMULA_START for c in row)
            assert (
                unneutralise_cell(row[0]) == ad_id
                and unneutralise_cell(row[-2]) == text
                and unneutralise_cell(row[-1]) == title
            )
        w2 = RecordWriter(out, "csv", ("text", "title"), resume=False)  # a fresh run starts over cleanly
        w2.abort()


# ---------------------------------------------------------------- indicator engine offsets

_ENGINE = None


def _engine():
    global _ENGINE
    if _ENGINE is None:
        from trafficking_ads.indicators import default_engine

        _ENGINE = default_engine()
    return _ENGINE


def check_offsets(ad: Ad) -> None:
    """Every evidence span selects exactly its text in the field it names."""
    for hit in _engine().extract(ad):
        for ev in hit.evidence:
            value = getattr(ad, ev.field) or ""
            assert 0 <= ev.start <= ev.end <= len(value), (hit.id, ev)
            assert value[ev.start : ev.end] == ev.text, (hit.id, ev, value[ev.start : ev.end])


SEED_PHRASES = st.sampled_from(
    [
        "Работа в Дубае для девушек 18-25, билеты и жильё за наш счёт",
        "Пишите в WhatsApp +7 701 123 45 67",
        "паспорт оформим сами",
        "Жұмыс Кореяда, виза тегін",
        "Waitress in Dubai, free visa, contact on Telegram @jobs",
        "зарплата 3000$ в месяц",
        "без опыта, срочно!",
        "телеграм: @rabota_dubai",
        "восемь семь ноль один",
        "+7 7O1 1２3 45 67",
    ]
)
AD_TEXT = st.lists(st.one_of(SEED_PHRASES, TEXT), min_size=1, max_size=6).map(" ".join)


@given(text=AD_TEXT, title=st.one_of(st.none(), AD_TEXT), contacts=st.one_of(st.none(), TEXT))
def test_indicator_evidence_offsets_select_their_text(text, title, contacts):
    check_offsets(Ad(text=text, title=title, contacts=contacts))


# ---------------------------------------------------------------- regressions found above


def _regressions() -> list[Any]:
    cases = json.loads(REGRESSIONS.read_text(encoding="utf-8")) if REGRESSIONS.exists() else []
    out = []
    for c in cases:
        marks = [pytest.mark.xfail(reason=c["xfail"], strict=True)] if c.get("xfail") else []
        out.append(pytest.param(c, marks=marks, id=c["id"]))
    return out


@pytest.mark.parametrize("case", _regressions())
def test_regressions(case):
    """Replays the failing examples found by the property tests and the issue 18 audit (inputs
    as JSON, `bytes_hex` for bytes; `ads`: how many ads the input must give)."""
    kind = case["target"]
    if kind == "reader":
        out = _read_bytes(bytes.fromhex(case["bytes_hex"]), case["name"])
        if "ads" in case:  # and nothing good was lost
            assert sum(isinstance(r, Ad) for r in out) == case["ads"]
    elif kind == "label_studio":
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "export.json"
            p.write_bytes(bytes.fromhex(case["bytes_hex"]))
            _check_export(p)
    elif kind == "csv_writer":
        _check_csv_round_trip([tuple(c) for c in case["cells"]])
    elif kind == "indicator_offsets":
        check_offsets(Ad(**case["ad"]))
    else:
        raise AssertionError(f"unknown regression target {kind!r}")
