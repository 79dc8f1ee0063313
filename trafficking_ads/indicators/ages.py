"""Age limits in an ad: ranges ("18–25", «от 18 до 23 лет», «жасы 20-35») and bounds
(«до 25 лет», «не старше 25», "aged 16+", «25 жасқа дейін»).

A range or upper bound of 35 or under (young people only) is `appearance_age_gender`;
an accepted age under 18 is `minor_targeted`. "от 18 лет" alone (a legal minimum) is
neither. An age context word (лет, год, жас, age, years, возраст) must be next to the
numbers so prices, dates and heights do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .casefold import lowered, lowered_twin

_N = r"(\d{1,2})"
_DASH = r"\s*(?:-|–|—|to|до|дейін|\.\.)\s*"
_AGE_AFTER = r"\s*(?:лет|года?|г\.|жас\w*|years?(?:\s*old)?|yrs?|y\.?o\.?)"
_AGE_BEFORE = r"(?:возраст\w*|жас\w*|age[ds]?|aged|ages|жасы|жастағы)\s*:?\s*(?:от|from|between)?\s*"

RANGE_RE = re.compile(
    rf"(?:{_AGE_BEFORE}{_N}{_DASH}{_N}(?:{_AGE_AFTER})?|(?:от|from|between)?\s*{_N}{_DASH}{_N}{_AGE_AFTER})",
    re.IGNORECASE,
)
BARE_RANGE_RE = re.compile(rf"(?<![\d.,])(1\d|2\d|3\d|4\d){_DASH}(1\d|2\d|3\d|4\d)(?![\d.,%$])")
_PEOPLE = re.compile(
    r"девуш|девочк|парн|юнош|подрост|школьн|teen|жасөспірім|оқушы|қыз|жігіт|girls?\b|boys?\b|wom[ae]n|ladies|female|male\b|женщин|мужчин|әйел|ер\s",
    re.I,
)
UPPER_RE = re.compile(
    rf"(?:жасы\s*{_N}\s*-?\s*(?:ке|ка|ге|га|қа|ға)?\s*дейін|(?:до|не\s+старше|under|below|up\s+to|not\s+older\s+than|max\.?)\s*{_N}{_AGE_AFTER}|{_N}{_AGE_AFTER}?\s*(?:жасқа\s+дейін|жасқа\s+шейін))",
    re.IGNORECASE,
)
LOWER_RE = re.compile(
    rf"(?:(?:от|с|from|over|старше|aged|age|жасы|возраст\w*\s*:?)\s*{_N}\s*(?:\+|{_AGE_AFTER})|{_N}\s*\+\s*(?:лет|жас|years)?|{_N}{_AGE_AFTER}?\s*(?:жастан|жастан\s+бастап)|{_N}\s*жастан)",
    re.IGNORECASE,
)


@dataclass(slots=True)
class AgeLimit:
    """An age span found: lowest and highest accepted age (None when unbounded)."""

    start: int
    end: int
    low: int | None
    high: int | None


def _nums(m: re.Match[str]) -> list[int]:
    return [int(g) for g in m.groups() if g is not None]


#: Runs of digits; those of one or two digits are the numbers an age can be. (The same as
#: finding r"(?<!\d)\d{1,2}(?!\d)", which has no leading character to scan for: 40% slower.)
_DIGIT_RUN = re.compile(r"\d+")
#: Words one of which every age expression has nearby (or a "16+"); substring tests.
_AGE_CUES = (
    "лет",
    "год",
    "жас",
    "age",
    "year",
    "yrs",
    "y.o",
    "возраст",
    "старше",
    "девуш",
    "девоч",
    "парн",
    "юнош",
    "подрост",
    "школьн",
    "teen",
    "girl",
    "boy",
    "lady",
    "ladies",
    "woman",
    "women",
    "female",
    "male",
    "женщин",
    "мужчин",
    "әйел",
    "қыз",
    "жігіт",
    "оқушы",
)
#: The cues as one (case-sensitive) alternation, searched in the lowered text.
_CUE_RE = re.compile("|".join(re.escape(c) for c in _AGE_CUES))
_PLUS_AGE = re.compile(r"\d\s*\+")
#: Characters around a number that an age expression can span.
_WINDOW = 40


def find_ages(text: str) -> list[AgeLimit]:
    """Age ranges and bounds in text (normalized), without overlaps.

    The age regexes run only in windows around one- or two-digit numbers (an age
    expression always holds one), which keeps this fast on long ads.
    """
    windows: list[list[int]] = []
    fast = lowered(text) if _TWINS else None
    low = fast if fast is not None else text.lower()
    for m in _DIGIT_RUN.finditer(text):
        if m.end() - m.start() > 2 or not 5 <= int(m.group()) <= 70:
            continue
        s, e = max(0, m.start() - _WINDOW), m.end() + _WINDOW
        # A cue wholly inside low[s:e]: one search bounded by pos/endpos, no slice.
        if not _CUE_RE.search(low, s, e) and not _PLUS_AGE.search(low, s, e):
            continue
        if windows and s <= windows[-1][1]:
            windows[-1][1] = e
        else:
            windows.append([s, e])
    found: list[AgeLimit] = []
    for s, e in windows:
        for a in _find_ages(text[s:e], fast[s:e] if fast is not None else None):
            a.start += s
            a.end += s
            if not any(b.start < a.end and a.start < b.end for b in found):
                found.append(a)
    found.sort(key=lambda a: a.start)
    return found


#: Case-sensitive copies of the case-insensitive age regexes, run on the lowered window
#: (twice as fast, same matches: see casefold.py); None if one cannot be made.
_TWINS = tuple(lowered_twin(rx) for rx in (RANGE_RE, UPPER_RE, LOWER_RE))
if not all(_TWINS):
    _TWINS = ()


def _find_ages(text: str, low: str | None = None) -> list[AgeLimit]:
    """Age limits in one window; `low` is `casefold.lowered(text)`, or None to use the
    case-insensitive regexes on `text` itself."""
    found: list[AgeLimit] = []
    if low is not None and _TWINS:
        range_re, upper_re, lower_re = _TWINS
        subject = low
    else:
        range_re, upper_re, lower_re = RANGE_RE, UPPER_RE, LOWER_RE
        subject = text

    def free(s: int, e: int) -> bool:
        return not any(a.start < e and s < a.end for a in found)

    for m in range_re.finditer(subject):
        lo, hi = _nums(m)[:2]
        if 10 <= hi <= 70 and 5 <= lo < hi:
            s, e = m.start(), m.end()
            while text[s].isspace():
                s += 1
            found.append(AgeLimit(s, e, lo, hi))
    for m in BARE_RANGE_RE.finditer(text):
        lo, hi = _nums(m)[:2]
        if lo < hi and free(m.start(), m.end()) and _PEOPLE.search(text[max(0, m.start() - 30) : m.end() + 30]):
            found.append(AgeLimit(m.start(), m.end(), lo, hi))
    for m in upper_re.finditer(subject):
        (hi,) = _nums(m)[:1]
        if 14 <= hi <= 60 and free(m.start(), m.end()):
            found.append(AgeLimit(m.start(), m.end(), None, hi))
    for m in lower_re.finditer(subject):
        (lo,) = _nums(m)[:1]
        if 10 <= lo <= 60 and free(m.start(), m.end()):
            # "16+" alone is an age only when an age context word is close by.
            if not re.search(r"лет|год|жас|age|year|возраст|от|с\b|from|over|старше", m.group(), re.I):
                ctx = text[max(0, m.start() - 25) : m.end() + 25].lower()
                if not re.search(r"лет|жас|age|year|возраст|девуш|қыз|girl|boy|парн|жігіт", ctx):
                    continue
            found.append(AgeLimit(m.start(), m.end(), lo, None))
    found.sort(key=lambda a: a.start)
    return found


def young_only(a: AgeLimit) -> bool:
    """An upper age limit of 35 or less: the ad wants young people only."""
    return a.high is not None and a.high <= 35


def minors(a: AgeLimit) -> bool:
    """Accepts people under 18."""
    return a.low is not None and a.low < 18
