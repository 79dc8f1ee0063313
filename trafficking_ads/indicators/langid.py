"""Language identification for ads: Russian, Kazakh, English (and a few neighbours).

Uses lingua (a real n-gram detector) restricted to the languages ads here are written
in, built once, lazily, in low-accuracy mode (fast, and ads are long enough). Kazakh-
specific letters (ә ғ қ ң ө ұ ү һ і) are checked first: they settle Kazakh vs Russian
without the detector in most ads. Codes are ISO 639-1; anything else is "xx".
"""

from __future__ import annotations

import re
import threading

from .normalize import KAZAKH_LETTERS

_LOCK = threading.Lock()
_DETECTOR = None
#: Languages the detector chooses among (lingua Language names).
LANGUAGES = ("RUSSIAN", "KAZAKH", "ENGLISH", "TURKISH", "UKRAINIAN", "KYRGYZ", "MONGOLIAN", "AZERBAIJANI")
_NON_LETTER = re.compile(r"[\W\d_]+")
#: Characters of an ad the detector reads; more adds time, not accuracy.
SAMPLE_CHARS = 240


def _detector():
    """Build the lingua detector on first use (kept for the life of the process)."""
    global _DETECTOR
    if _DETECTOR is None:
        with _LOCK:
            if _DETECTOR is None:
                from lingua import Language, LanguageDetectorBuilder

                langs = [getattr(Language, name) for name in LANGUAGES if hasattr(Language, name)]
                _DETECTOR = (
                    LanguageDetectorBuilder.from_languages(*langs)
                    .with_low_accuracy_mode()
                    .with_preloaded_language_models()
                    .build()
                )
    return _DETECTOR


_TURKIC_LATIN = re.compile("[ğşıöüçəĞŞİÖÜÇƏ]")
#: What script_counts counts, as regexes (the reference its byte-level counting is tested against).
_CYR = re.compile("[\u0400-\u052f]")
_KK = re.compile("[" + "".join(sorted(KAZAKH_LETTERS)) + "]")
_LAT = re.compile("[A-Za-z\u00c0-\u024f]")


_KK_LIST = tuple(sorted(KAZAKH_LETTERS))
#: UTF-8 lead bytes of U+0400..U+04FF (all Cyrillic but the U+0500 supplement).
_CYR_LEAD = bytes([0xD0, 0xD1, 0xD2, 0xD3])
#: ASCII letters and the UTF-8 lead bytes of U+00C0..U+023F (Latin-1 letters, Latin Extended-A/B).
_LAT_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" + bytes([0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8])
_CYR_SUPPLEMENT = re.compile("[\u0500-\u052f]")  # lead byte D4, shared with Armenian
_LAT_TAIL = re.compile("[\u0240-\u024f]")  # lead byte C9, shared with IPA


def script_counts(text: str) -> tuple[int, int, int]:
    """(Cyrillic letters, Kazakh-specific letters, Latin letters) in text.

    Counted on the UTF-8 bytes (one C-level `translate` per script: a character's lead
    byte says its block), five times faster than three regex `findall`s; the two blocks
    whose lead byte is shared with another block are counted by regex, only when present.
    The same numbers as `len(re.findall("[\u0400-\u052f]", text))` etc. (tested over
    every code point).
    """
    b = text.encode("utf-8", "surrogatepass")
    n = len(b)
    cyr = n - len(b.translate(None, _CYR_LEAD))
    lat = n - len(b.translate(None, _LAT_BYTES))
    if b"\xd4" in b:
        cyr += len(_CYR_SUPPLEMENT.findall(text))
    if b"\xc9" in b:
        lat += len(_LAT_TAIL.findall(text))
    kk = sum(map(text.count, _KK_LIST)) if cyr else 0
    return cyr, kk, lat


def detect_language(text: str, counts: tuple[int, int, int] | None = None) -> str:
    """ISO code of the ad's main language: "ru", "kk", "en", another code, or "xx".

    `counts` (from `script_counts`) may be passed when the caller has them already.
    """
    cyr, kk, lat = counts or script_counts(text)
    if cyr + lat < 3:
        return "xx"
    if cyr >= lat:
        # Kazakh letters make up ~10% of Kazakh text and ~0 of Russian (bar place names).
        if cyr and kk / cyr >= 0.03:
            return "kk"
        if kk == 0 and cyr >= 150 and lat < cyr / 4:
            # A long Cyrillic text without a single letter of Kazakh, Kyrgyz, Mongolian or
            # Ukrainian (і ө ү ң ...) is Russian; the detector is not needed.
            return "ru"
    if cyr == 0 and not _TURKIC_LATIN.search(text):
        # Latin letters only, none of Turkish/Azerbaijani's own (ğ ş ı ç ö ü ə): among the
        # detector's languages only English remains, so it need not run.
        return "en"
    sample = _NON_LETTER.sub(" ", text[: SAMPLE_CHARS * 2])[:SAMPLE_CHARS]
    lang = _detector().detect_language_of(sample)
    if lang is None:
        return "xx" if cyr < lat else "ru"
    code = lang.iso_code_639_1.name.lower()
    if code == "kk" and cyr and kk == 0 and len(sample) > 60:
        # Long Cyrillic text without a single Kazakh letter is not Kazakh.
        return "ru"
    return code


def languages_present(text: str, main: str, counts: tuple[int, int, int] | None = None) -> list[str]:
    """Pattern sets to run: the main language plus any whose script appears.

    Ads mix languages (a Russian ad with an English headline, Kazakh with Russian
    phrases), so every set whose letters appear is run; the sets do not conflict.
    """
    cyr, kk, lat = counts or script_counts(text)
    langs: list[str] = []
    if cyr:
        langs += ["ru", "kk"]
    if lat >= 3:
        langs.append("en")
    if main in ("ru", "kk", "en") and main not in langs:
        langs.append(main)
    return langs
