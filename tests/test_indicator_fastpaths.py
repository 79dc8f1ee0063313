"""The indicator engine's fast paths give exactly what the plain regexes give.

Speed work (benchmarks/indicator_throughput.py) replaced regex scans by byte counting,
substring cues and case-sensitive twins on lowered text; each rests on a property of
Unicode or of a regex that is checked here, and the engine as a whole is compared with
its own slow paths (every fast path that depends on `casefold.lowered` switched off).
benchmarks/indicator_snapshot.py compares whole runs over ~5,000 ads.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import pytest

from trafficking_ads.indicators import default_engine
from trafficking_ads.indicators import ages, casefold, contacts, employer, engine as engine_mod, salary
from trafficking_ads.indicators.casefold import CASE_TRICKY, lowered, lowered_twin
from trafficking_ads.indicators.langid import _CYR, _KK, _LAT, script_counts
from trafficking_ads.indicators.normalize import _MIXED_PAIR, has_mixed_pair
from trafficking_ads.indicators.patterns import required_literals
from trafficking_ads.records import Ad

ROOT = Path(__file__).resolve().parents[1]
ALL = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
#: Characters with a case mapping: the only ones a case-insensitive match can treat
#: as another character.
CASED = "".join(c for c in ALL if c.lower() != c or c.upper() != c)
#: The letters twin patterns and cues may hold: lowercase Latin and Cyrillic.
LETTERS = [c for c in "abcdefghijklmnopqrstuvwxyz"] + [
    chr(i) for i in range(0x400, 0x500) if chr(i) == chr(i).lower() != chr(i).upper()
]


def test_case_tricky_lists_every_disagreement_between_ignorecase_and_lower():
    for p in LETTERS:
        by_regex = set(re.findall("(?i)" + re.escape(p), CASED)) | ({p} if p not in CASED else set())
        by_lower = {c for c in CASED if c.lower() == p} | {p}
        assert (by_regex ^ by_lower) <= set(CASE_TRICKY), (p, by_regex ^ by_lower)
    # lower() keeps length (so offsets) for every character but those listed
    assert {c for c in CASED if len(c.lower()) != 1} <= set(CASE_TRICKY)


def test_lowering_keeps_word_digit_and_space_classes():
    low = "".join(c.lower() if len(c.lower()) == 1 else c for c in ALL)
    for cls in (r"\w", r"\d", r"\s"):
        assert [m.start() for m in re.finditer(cls, ALL)] == [m.start() for m in re.finditer(cls, low)], cls


def test_lowered_refuses_tricky_text():
    assert lowered("Работа В Дубае") == "работа в дубае"
    assert all(lowered(f"abc{c}") is None for c in CASE_TRICKY)


def test_twins_only_for_patterns_they_can_promise():
    assert lowered_twin(re.compile("дубай", re.I)) is not None
    assert lowered_twin(re.compile("дубай")) is None  # not case-insensitive: nothing to gain
    assert lowered_twin(re.compile("Дубай", re.I)) is None  # uppercase letter
    assert lowered_twin(re.compile("[a-я]x", re.I)) is None  # a range spanning uppercase letters
    assert lowered_twin(re.compile(r"\x41b", re.I)) is None  # escaped letter
    assert lowered_twin(re.compile("a(?-i:b)", re.I)) is None  # scoped flags


@pytest.mark.parametrize(
    "rx",
    [
        ages.RANGE_RE,
        ages.UPPER_RE,
        ages.LOWER_RE,
        contacts.URL_RE,
        salary._AFTER_RE,
        salary._BEFORE_RE,
        salary._MULT_RE,
        salary.PERIOD_RE,
    ],
    ids=["age_range", "age_upper", "age_lower", "url", "pay_after", "pay_before", "pay_mult", "pay_period"],
)
def test_twins_find_the_same_spans(rx):
    twin = lowered_twin(rx)
    assert twin is not None
    rng = random.Random(3)
    pieces = [
        "от",
        "ДО",
        "18",
        "25",
        "лет",
        "ЖАСҚА ДЕЙІН",
        "aged",
        "Age",
        "-",
        "–",
        " ",
        "+",
        "$",
        "USD",
        "тыс",
        "К",
        "в Месяц",
        "PER DAY",
        "www.",
        "Site.KZ",
        "/Path",
        "http://",
        "Жас",
        "years OLD",
        "Ё",
        "ё",
        "ß",
        "Σ",
        ".",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        low = lowered(text)
        assert low is not None and len(low) == len(text)
        assert [(m.span(), tuple(g and g.lower() for g in m.groups()), m.lastgroup) for m in rx.finditer(text)] == [
            (m.span(), m.groups(), m.lastgroup) for m in twin.finditer(low)
        ], text


def test_script_counts_equal_the_regex_counts_for_every_code_point():
    for c in ALL[:0x1000]:  # one at a time where the blocks are
        assert script_counts(c) == (len(_CYR.findall(c)), len(_KK.findall(c)), len(_LAT.findall(c))), hex(ord(c))
    for i in range(0, len(ALL), 509):
        chunk = ALL[i : i + 509]
        assert script_counts(chunk) == (len(_CYR.findall(chunk)), len(_KK.findall(chunk)), len(_LAT.findall(chunk)))


def test_mixed_pair_test_equals_the_regex():
    near = (
        [chr(i) for i in range(0x20, 0x80)]
        + [chr(i) for i in range(0xB0, 0x260)]
        + [chr(i) for i in range(0x3F0, 0x560)]
        + ["😀", "\u200b", "中", "\U0001f1e6"]
    )
    rng = random.Random(5)
    for _ in range(60_000):
        s = rng.choice(near) + rng.choice(near) + (rng.choice(near) if rng.random() < 0.3 else "")
        assert has_mixed_pair(s) == bool(_MIXED_PAIR.search(s)), [hex(ord(c)) for c in s]


def test_required_literals():
    assert required_literals(re.compile(r"(?:7/0|24/7)(?![\d/])")) == ("24/7", "7/0")
    assert required_literals(re.compile(r"age[ds]?\s*1[0-7]", re.I)) == ("age",)
    assert required_literals(re.compile(r"ab?c")) == ("a",)  # b is optional
    assert required_literals(re.compile(r"(?:x|)yz")) == ("yz",)  # an empty branch needs nothing
    assert required_literals(re.compile(r"a*|b")) is None
    rx = re.compile(r"(?<![\w.])[\w.+-]+@(?:gmail\.com|mail\.ru|yandex\.(?:ru|kz))", re.I)
    cues = required_literals(rx)
    for text in ("x@GMAIL.com", "a.b@Yandex.KZ", "q@mail.ru"):
        assert rx.search(text) and any(c in text.lower() for c in cues)


def test_messenger_mentions_are_finditer_matches():
    rng = random.Random(9)
    pieces = [
        "WhatsApp",
        "ватсап",
        "Ватсапп",
        "вотсап",
        "telegram",
        "Телеге",
        "телеграмм",
        "insta",
        "Инсту",
        "директ",
        "line id",
        "вичат",
        "viber",
        "Вайбере",
        " ",
        "-",
        "x",
        "1",
        "Whats App",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        assert [m.span() for m in contacts._messenger_mentions(text, lowered(text))] == [
            m.span() for m in contacts.MESSENGER_RE.finditer(text)
        ], text


def _ads() -> list[Ad]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from indicator_throughput import make_ads

    rows = [
        json.loads(line)
        for line in (ROOT / "data" / "indicators" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    ads = [Ad(text=r["text"], title=r.get("title")) for r in rows]
    ads += [Ad(text=t) for t in make_ads(150, 1000, seed=11)]
    ads += [Ad(text=t.upper()) for t in make_ads(30, 400, seed=12)]  # upper case everywhere
    return ads


def test_engine_gives_the_same_hits_with_the_lowered_fast_paths_off(monkeypatch):
    eng = default_engine()
    ads = _ads()
    fast = [[(h.id, [(e.field, e.start, e.end, e.text) for e in h.evidence]) for h in eng.extract(a)] for a in ads]
    for mod in (ages, contacts, employer, engine_mod, salary):
        monkeypatch.setattr(mod, "lowered", lambda text: None)
    slow = [[(h.id, [(e.field, e.start, e.end, e.text) for e in h.evidence]) for h in eng.extract(a)] for a in ads]
    assert fast == slow
    assert casefold.lowered("x") == "x"  # the module itself untouched


def test_pay_numbers_from_digit_runs_are_the_regex_matches():
    rng = random.Random(1)
    pieces = [
        "1",
        "12",
        "123",
        "1234",
        " ",
        ".",
        ",",
        "\u00a0",
        "\u202f",
        "$",
        "x",
        "٣",
        "5 000",
        "12.5",
        "1,234,567",
        " 000",
    ]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        got, scan_end = [], 0
        for run in salary._DIGIT_RUN.finditer(text):  # as SalaryTable.find reads them
            if run.start() < scan_end:
                continue
            m = salary._NUMBER_RE.match(text, run.start())
            assert m is not None, text
            got.append(m.span())
            scan_end = m.end()
        assert got == [m.span() for m in salary._NUMBER_RE.finditer(text)], text
