"""Case-insensitive regexes without the IGNORECASE cost: lowered text, exact results.

Python's `re` runs a case-insensitive pattern several times slower than a case-sensitive
one (every character is lowered while matching, and the scan cannot skip ahead by the
pattern's first characters). For Latin and Cyrillic letters, matching a lowercase pattern
case-sensitively against `text.lower()` gives the same matches at the same offsets, with
one exception: a few characters that `re` treats as case variants of a Latin or Cyrillic
letter although `str.lower()` does not map them onto it (Turkish İ and ı, the long s, the
old Cyrillic letter forms U+1C80..U+1C88; İ is also the one character whose lowercase is
two characters long). `lowered(text)` returns None for a text holding any of them, and
callers then run the original regex as before.

The tests check `CASE_TRICKY` against every cased character of Unicode.
"""

from __future__ import annotations

import re

#: Characters for which a case-insensitive regex and `str.lower()` disagree about a
#: Latin (a-z) or Cyrillic (U+0400..U+04FF) letter.
CASE_TRICKY = "İıſᲀᲁᲂᲃᲄᲅᲆᲇᲈ"

#: Escapes a twin pattern may hold: character classes that do not depend on case, and
#: escaped punctuation.
_ESCAPE = re.compile(r"\\(.)", re.S)
_CLASS_ESCAPES = frozenset("wWdDsSbBAZntr")
_GROUP_NAME = re.compile(r"\(\?P<\w+>")


def lowered(text: str) -> str | None:
    """`text.lower()` when it can stand in for `text` under case-insensitive matching.

    Same length, same offsets; None when the text holds a `CASE_TRICKY` character.
    """
    for ch in CASE_TRICKY:
        if ch in text:
            return None
    return text.lower()


def lowered_twin(rx: re.Pattern[str]) -> re.Pattern[str] | None:
    """A case-sensitive copy of a case-insensitive regex, to run on `lowered(text)`.

    Its matches on the lowered text have the offsets and groups (lowercased) of `rx`'s
    on the text. None when that cannot be promised from the pattern's source: not
    IGNORECASE, a cased letter that is not lowercase Latin or Cyrillic (an uppercase
    letter would match nothing in lowered text), an escape other than a case-independent
    class or punctuation (\\x41, \\N{...}), or a scoped flag change.
    """
    if not rx.flags & re.IGNORECASE:
        return None
    src = rx.pattern
    if src.startswith("(?i)"):
        src = src[4:]
    if "(?" in src.replace("(?:", "").replace("(?=", "").replace("(?!", "").replace("(?<=", "").replace(
        "(?<!", ""
    ).replace("(?P<", ""):
        return None  # inline flags or other constructs this check does not read
    for m in _ESCAPE.finditer(src):
        if m.group(1).isalnum() and m.group(1) not in _CLASS_ESCAPES:
            return None
    bare = _GROUP_NAME.sub("(", _ESCAPE.sub("", src))
    for ch in bare:
        if ch.lower() != ch.upper() and not (ch == ch.lower() and ("a" <= ch <= "z" or "\u0400" <= ch <= "\u04ff")):
            return None
    twin = re.compile(src, rx.flags & ~re.IGNORECASE)
    if not _ranges_lowercase(twin):
        return None
    return twin


def _ranges_lowercase(rx: re.Pattern[str]) -> bool:
    """No character range of rx spans an uppercase letter.

    A range such as "[a-я]" holds uppercase letters; case-insensitively it also matches
    their lowercase partners, which lowered text cannot show the same way.
    """
    try:
        from re import _constants as c, _parser as p
    except ImportError:  # pragma: no cover - other Python versions
        return False

    def upper_range(obj: object) -> bool:
        if isinstance(obj, p.SubPattern):
            return any(upper_range(x) for x in obj.data)
        if isinstance(obj, tuple) and len(obj) == 2 and obj[0] is c.RANGE:
            lo, hi = obj[1]
            return any(chr(i) != chr(i).lower() for i in range(lo, hi + 1))
        if isinstance(obj, (list, tuple)):
            return any(upper_range(x) for x in obj)
        return False

    return not upper_range(p.parse(rx.pattern, rx.flags))
