"""Contacts in an ad: phone numbers (also obfuscated), messenger handles, e-mail, links.

Phones are parsed with `phonenumbers` (country, mobile or not) after undoing the usual
obfuscation: letters standing for digits ("7O1", "6ОЗ"), spaced digits, digits spelled
out in Russian, Kazakh or English ("восемь семь ноль ..."), emoji keycaps (removed by
normalization). All spans are offsets into the normalized text; the engine maps them
back to the original.

`contact_keys` turns the contacts of any raw text into canonical keys (`phone:+E164`,
`tg:handle`, `email:...`, `url:host/path`): the one contact normaliser that indicators,
recruitment networks and corpus deduplication share, so an obfuscated repost of a
recruiter links to the plain one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence
from urllib.parse import urlsplit

import phonenumbers
from phonenumbers import PhoneNumberType

from .casefold import lowered, lowered_twin
from .normalize import normalize

#: Characters that stand for digits inside a phone number.
DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "О": "0",
        "о": "0",
        "D": "0",
        "l": "1",
        "I": "1",
        "|": "1",
        "і": "1",
        "І": "1",
        "З": "3",
        "з": "3",
        "б": "6",
        "Б": "6",
        "B": "8",
        "S": "5",
        "s": "5",
        "Ч": "4",
        "ч": "4",
    }
)
_DIGITISH = "0-9OoОоlI|іІЗзбБBSsЧчD"
_DIGIT_PAIR = re.compile(r"\d\d")
PHONE_RE = re.compile(rf"(?<![\w/.])\+?\(?[{_DIGITISH}](?:[ \t\-().]{{0,3}}[{_DIGITISH}]){{6,14}}(?![\w])")
#: Spoken digits (Russian, Kazakh, English).
NUMBER_WORDS = {
    "ноль": "0",
    "нуль": "0",
    "один": "1",
    "одна": "1",
    "два": "2",
    "две": "2",
    "три": "3",
    "четыре": "4",
    "пять": "5",
    "шесть": "6",
    "семь": "7",
    "восемь": "8",
    "девять": "9",
    "нөл": "0",
    "бір": "1",
    "екі": "2",
    "үш": "3",
    "төрт": "4",
    "бес": "5",
    "алты": "6",
    "жеті": "7",
    "сегіз": "8",
    "тоғыз": "9",
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "плюс": "+",
    "plus": "+",
}
_NW = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
SPELLED_RE = re.compile(rf"(?<!\w)(?:(?:{_NW}|\d{{1,3}})(?:[\s,.\-]+|$)){{7,}}", re.IGNORECASE)
_WORDS = re.compile(r"[^\W\d_]+")
_SPELLED_PART = re.compile(rf"{_NW}|\d+", re.IGNORECASE)

EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
URL_RE = re.compile(r"(?i)\b(?:https?://)?((?:[a-z0-9-]+\.)+(?:[a-z]{2,12}|рф|қаз))(/[^\s<>\"'()]*)?")
_URL_TWIN = lowered_twin(URL_RE)
#: A registration or licence number label just before a digit run: "БИН 200640012345" is a
#: company number, not a (foreign) phone.
_REGISTRATION_BEFORE = re.compile(
    r"(?:бин|bin|бсн|жсн|иин|инн|огрн|кбе|iban|ssm|kraz|лицензи\w*|licen[cs]e|registration|рег\.?)"
    r"\s*(?:no\.?|№|#|номер|number)?\s*[:№#]?\s*$",
    re.IGNORECASE,
)
HANDLE_RE = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_]{3,31})\b")
MESSENGER_RE = re.compile(
    r"(?i)(?<!\w)(whats\s?app\w*|ват\s?с?\s?ап+\w*|вот\s?с?\s?ап+\w*|уатсап+\w*|вацап+\w*|"
    r"viber|вайбер\w*|telegram|телеграм+\w*|телег[аиуе]|instagram|инстаграм+\w*|insta|инст[аеуы]|"
    r"директ[еуа]?|wechat|вичат|line\s?id)(?!\w)"
)
#: Substrings (lowercase) one of which every MESSENGER_RE match starts with.
_MESSENGER_CUES = (
    "whats",
    "ват",
    "вот",
    "уатс",
    "вац",
    "viber",
    "вайбер",
    "telegram",
    "телег",
    "instagram",
    "инстаграм",
    "insta",
    "инст",
    "директ",
    "wechat",
    "вичат",
    "line",
)
FREE_MAIL = frozenset(
    "gmail.com googlemail.com mail.ru bk.ru inbox.ru list.ru internet.ru yandex.ru yandex.kz "
    "ya.ru yandex.com rambler.ru outlook.com hotmail.com live.com yahoo.com ymail.com "
    "icloud.com me.com aol.com proton.me protonmail.com gmx.com gmx.net mail.kz zoho.com".split()
)
SHORTENERS = frozenset(
    "bit.ly tinyurl.com clck.ru goo.gl cutt.ly t.co is.gd ow.ly rb.gy tiny.cc shorturl.at "
    "u.to vk.cc bitly.com s.id lnkd.in taplink.cc linktr.ee".split()
)
MESSENGER_DOMAINS = {
    "t.me": "telegram",
    "telegram.me": "telegram",
    "wa.me": "whatsapp",
    "api.whatsapp.com": "whatsapp",
    "chat.whatsapp.com": "whatsapp",
    "instagram.com": "instagram",
    "www.instagram.com": "instagram",
    "viber.click": "viber",
    "invite.viber.com": "viber",
}
SOCIAL_DOMAINS = frozenset("vk.com facebook.com fb.com ok.ru tiktok.com www.tiktok.com youtube.com".split())
#: Country calling codes of the region for ads without a "+" (Kazakh numbers start 8 7xx / 7 7xx).
DEFAULT_REGION = "KZ"


@dataclass(slots=True)
class Contact:
    """One contact found in the normalized text."""

    kind: str  # phone | messenger | handle | email | url
    value: str
    start: int
    end: int
    country: str | None = None  # ISO region of a phone number
    mobile: bool | None = None
    free_mail: bool = False
    shortener: bool = False
    messenger: str | None = None  # whatsapp | telegram | ...
    obfuscated: bool = False


@lru_cache(maxsize=65_536)
def parse_phone(digits: str) -> tuple[str, str | None, bool] | None:
    """(E.164, region, mobile) of a digit string ("+" allowed), or None if not a valid number.

    Numbers without "+" are tried as international first, then as Kazakhstan numbers
    (8 7xx ... / 7xx ...). Cached: the same number recurs across a corpus.
    """
    plus = digits.startswith("+")
    only = re.sub(r"\D", "", digits)
    if not 7 <= len(only) <= 15:
        return None
    cands = ["+" + only] if plus else ["+" + only, only]
    for cand in cands:
        try:
            num = phonenumbers.parse(cand, None if cand.startswith("+") else DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(num):
            continue
        region = phonenumbers.region_code_for_number(num)
        ntype = phonenumbers.number_type(num)
        mobile = ntype in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), region, mobile
    return None


def _phone(digits: str, start: int, end: int, obfuscated: bool) -> Contact | None:
    parsed = parse_phone(re.sub(r"[^\d+]", "", digits))
    if parsed is None:
        return None
    e164, region, mobile = parsed
    return Contact("phone", e164, start, end, country=region, mobile=mobile, obfuscated=obfuscated)


def messenger_kind(name: str) -> str:
    """Which messenger a mention names (whatsapp, telegram, viber, instagram, ...)."""
    n = name.lower()
    if n.startswith(("wh", "ват", "вот", "уат", "вац")):
        return "whatsapp"
    if n.startswith(("te", "те")):
        return "telegram"
    if n.startswith(("vi", "вай")):
        return "viber"
    if n.startswith(("in", "ин", "ди")):
        return "instagram"
    return n


def find_phones(text: str, words: Sequence[str] | None = None) -> list[Contact]:
    """Phone numbers, with digit look-alikes and spelled-out digits undone.

    `words`, the text's token forms (`tokens.Tokens.words`) when the caller has them,
    make the test for spelled-out digits cheaper.
    """
    found: list[Contact] = []
    taken: list[tuple[int, int]] = []
    # The phone regex runs only around pairs of digits (found by a fast digit-first scan).
    windows: list[list[int]] = []
    for d in _DIGIT_PAIR.finditer(text):
        s, e = max(0, d.start() - 24), min(len(text), d.end() + 40)
        if windows and s <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], e)
        else:
            windows.append([s, e])
    matches = []
    for s, e in windows:
        for m in PHONE_RE.finditer(text, s, e):
            if not matches or m.start() >= matches[-1].end():
                matches.append(m)
    for m in matches:
        raw = m.group()
        real = sum(c.isdigit() for c in raw)
        if real < 6 or _REGISTRATION_BEFORE.search(text, max(0, m.start() - 24), m.start()):
            continue
        digits = raw.translate(DIGIT_LOOKALIKES)
        c = _phone(digits, m.start(), m.end(), obfuscated=real != sum(c.isdigit() for c in digits))
        if c:
            found.append(c)
            taken.append((m.start(), m.end()))
    # Spelled-out digits need five number words. The token forms are the letter runs
    # of the lowered text (İ aside, which lowers to two characters) with ё folded to е,
    # so they never count fewer number words; fewer than five there settles it.
    if words is not None and "İ" not in text and sum(map(NUMBER_WORDS.__contains__, words)) < 5:
        return found
    if sum(1 for w in _WORDS.findall(text.lower()) if w in NUMBER_WORDS) < 5:
        return found
    for m in SPELLED_RE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        parts = _SPELLED_PART.findall(m.group())
        if sum(1 for p in parts if not p.isdigit()) < 3:
            continue
        digits = "".join(NUMBER_WORDS.get(p.lower(), p) for p in parts)
        end = m.end()
        while end > m.start() and not text[end - 1].isalnum():
            end -= 1
        c = _phone(digits, m.start(), end, obfuscated=True)
        if c:
            found.append(c)
    return found


def find_contacts(text: str, words: Sequence[str] | None = None) -> list[Contact]:
    """All contacts of a (normalized) text, in order of appearance (`words`: see find_phones)."""
    out = find_phones(text, words)
    emails = []
    for m in EMAIL_RE.finditer(text) if "@" in text else ():
        dom = m.group(1).lower()
        emails.append((m.start(), m.end()))
        out.append(Contact("email", m.group(), m.start(), m.end(), free_mail=dom in FREE_MAIL))
    low = lowered(text)
    # The case-sensitive twin on the lowered text: same matches, twice as fast.
    for m in _URL_TWIN.finditer(low) if low is not None and _URL_TWIN else URL_RE.finditer(text):
        if any(s <= m.start() < e for s, e in emails):
            continue
        host = m.group(1).lower()
        path = m.group(2) or ""
        # A bare "word.word" is a URL only with a known TLD-like ending and no spaces.
        if not m.group().lower().startswith("http") and "." not in host.strip("."):
            continue
        if re.fullmatch(r"[\d.]+", host) or host.replace("www.", "").count(".") == 0:
            continue
        if not m.group().lower().startswith(("http", "www")) and host.split(".")[-1] not in _TLDS:
            continue
        c = Contact("url", text[m.start() : m.end()], m.start(), m.end())
        bare = host[4:] if host.startswith("www.") else host
        if bare in MESSENGER_DOMAINS or host in MESSENGER_DOMAINS:
            c.kind = "messenger"
            c.messenger = MESSENGER_DOMAINS.get(bare) or MESSENGER_DOMAINS.get(host)
        elif bare in SHORTENERS:
            c.shortener = True
        elif bare in SOCIAL_DOMAINS:
            c.kind = "social"
        out.append(c)
        del path
    for m in HANDLE_RE.finditer(text) if "@" in text else ():
        if any(s <= m.start() < e for s, e in emails):
            continue
        out.append(Contact("handle", m.group(), m.start(), m.end(), messenger="telegram"))
    for m in _messenger_mentions(text, low):
        name = m.group(1).lower()
        kind = messenger_kind(name)
        out.append(Contact("messenger", m.group(), m.start(), m.end(), messenger=kind))
    out.sort(key=lambda c: c.start)
    return out


def _messenger_mentions(text: str, low: str | None) -> list[re.Match[str]]:
    """MESSENGER_RE's matches, as `finditer` gives them, tried only where a cue starts.

    Every alternative of MESSENGER_RE begins with one of `_MESSENGER_CUES`, so a match can
    only start where a cue occurs (found by substring search in the lowered text); the
    regex is tried there, left to right, skipping starts inside the previous match, which
    is what `finditer` returns. A full scan cost ~75 us an ad; this a fifth of it.
    `low` is `casefold.lowered(text)`.
    """
    if low is None:  # case-variant letters lower() does not fold: as before
        low = text.lower()
        return list(MESSENGER_RE.finditer(text)) if any(c in low for c in _MESSENGER_CUES) else []
    starts: set[int] = set()
    for cue in _MESSENGER_CUES:
        i = low.find(cue)
        while i >= 0:
            starts.add(i)
            i = low.find(cue, i + 1)
    out: list[re.Match[str]] = []
    last = 0
    for i in sorted(starts):
        if i < last:
            continue
        m = MESSENGER_RE.match(text, i)
        if m:
            out.append(m)
            last = max(m.end(), i + 1)
    return out


_TLDS = frozenset(
    "com net org kz ru uz kg tj info biz io me co uk de tr ae kr cc su рф қаз by ua pl cz eu us "
    "ly gl gd at cn jp th kh la mm in pro online site club shop work jobs app link "
    "ie ca fi ge my ch nl fr dk pt gr cy il qa sa om bh sg ph vn au nz tw hk".split()
)


_WA_PHONE = re.compile(r"(?i)^(?:https?://)?(?:wa\.me/|api\.whatsapp\.com/send/?\?phone=)\+?(\d{7,15})")
_TG_NAME = re.compile(r"(?i)^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?([A-Za-z]\w{3,})")


def contact_key(c: Contact, bare_urls: bool = False) -> str | None:
    """The canonical key of one contact, or None when it names no one (a bare "WhatsApp").

    A phone is its E.164 form, a wa.me link the phone it opens, a t.me link and an @handle
    the same `tg:` name, an e-mail lowercased; a web link is `url:host/path`, and counts
    only when written as one (`http...` or `www.`) unless `bare_urls` (a bare "site.kz" is
    often a job board: only a caller that discounts keys many ads share should take it).
    """
    if c.kind == "phone":
        return "phone:" + c.value
    if c.kind == "email":
        return "email:" + c.value.lower()
    if c.kind == "handle":
        return "tg:" + c.value.lstrip("@").lower()
    if c.kind not in ("messenger", "url", "social"):
        return None
    value = c.value
    m = _WA_PHONE.match(value)
    if m:
        parsed = parse_phone("+" + m.group(1))
        return "phone:" + parsed[0] if parsed else None
    m = _TG_NAME.match(value)
    if m:
        return "tg:" + m.group(1).lower()
    if c.kind == "messenger" and c.messenger and "." not in value:
        return None  # a mention of the messenger, not an address
    if not bare_urls and not value.lower().startswith(("http://", "https://", "www.")):
        return None
    parts = urlsplit(value if "://" in value else "http://" + value)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or host in MESSENGER_DOMAINS:
        return None
    return "url:" + host + parts.path.rstrip("/").lower()


def contact_keys(text: str, bare_urls: bool = False) -> set[str]:
    """Every contact of a raw text as a canonical key (see `contact_key`, also for `bare_urls`).

    The text is normalized first (NFKC, invisible characters and keycaps removed,
    look-alike letters folded), then contacts are found as the indicator engine finds
    them: plain, spaced, look-alike-digit ("8 7D1 234 5б 78") and spelled-out
    ("восемь семь ноль ...") phones all give the same `phone:+77012345678`.
    """
    if not text:
        return set()
    return {k for c in find_contacts(normalize(text).text) if (k := contact_key(c, bare_urls))}
