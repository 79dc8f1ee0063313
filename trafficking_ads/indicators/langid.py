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
_CYR = re.compile("[\u0400-\u052f]")
_KK = re.compile("[" + "".join(sorted(KAZAKH_LETTERS)) + "]")
_LAT = re.compile("[A-Za-z\u00c0-\u024f]")


def script_counts(text: str) -> tuple[int, int, int]:
    """(Cyrillic letters, Kazakh-specific letters, Latin letters) in text."""
    return len(_CYR.findall(text)), len(_KK.findall(text)), len(_LAT.findall(text))


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
