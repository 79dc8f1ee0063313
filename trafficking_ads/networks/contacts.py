"""Contact keys that link ads: the same phone, messenger handle, e-mail or URL.

Keys are normalized so that the forms recruiters use to dodge filters meet: a phone as
E.164 whatever its spacing, look-alike letters ("7О1" with a Cyrillic О) or a leading 8;
`t.me/name`, `@name` and `telegram: name` as one handle; `wa.me/<digits>` as the phone.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import phonenumbers

_DIGIT_LOOKALIKE = str.maketrans({"О": "0", "о": "0", "O": "0", "o": "0", "З": "3", "l": "1", "I": "1", "І": "1"})
_PHONE_CANDIDATE = re.compile(r"(?<![\w])\+?[\dОоOoЗlIІ][\dОоOoЗlIІ ()\-.]{8,18}[\dОоOoЗlIІ](?![\w])")
_TG_LINK = re.compile(r"(?:https?://)?(?:t|telegram)\.me/(?:s/)?([A-Za-z][\w]{3,})", re.I)
_WA_LINK = re.compile(r"(?:https?://)?(?:wa\.me|api\.whatsapp\.com/send\?phone=)/?\+?(\d{8,15})", re.I)
_HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z][\w]{3,})")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')]+", re.I)
_SKIP_HOSTS = {"t.me", "telegram.me", "wa.me", "api.whatsapp.com"}


def _phone_key(raw: str, region: str) -> str | None:
    digits = raw.translate(_DIGIT_LOOKALIKE)
    digits = re.sub(r"[^\d+]", "", digits)
    if len(digits.lstrip("+")) < 9:
        return None
    try:
        num = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    return "phone:" + phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def contact_keys(text: str, region: str = "KZ") -> set[str]:
    """Every normalized contact in `text`: `phone:+7...`, `tg:name`, `email:...`, `url:host/path`.

    `region` is the country assumed for numbers written without a country code.
    """
    keys: set[str] = set()
    for m in _WA_LINK.finditer(text):
        key = _phone_key("+" + m.group(1), region)
        if key:
            keys.add(key)
    stripped = _WA_LINK.sub(" ", text)
    for m in _TG_LINK.finditer(stripped):
        keys.add("tg:" + m.group(1).lower())
    stripped = _TG_LINK.sub(" ", stripped)
    for m in _EMAIL.finditer(stripped):
        keys.add("email:" + m.group(0).lower())
    stripped = _EMAIL.sub(" ", stripped)
    for m in _HANDLE.finditer(stripped):
        keys.add("tg:" + m.group(1).lower())
    for m in _URL.finditer(stripped):
        parts = urlsplit(m.group(0) if "://" in m.group(0) else "http://" + m.group(0))
        host = (parts.hostname or "").lower().removeprefix("www.")
        if host and host not in _SKIP_HOSTS:
            keys.add("url:" + host + parts.path.rstrip("/").lower())
    stripped = _URL.sub(" ", stripped)
    for m in _PHONE_CANDIDATE.finditer(stripped):
        key = _phone_key(m.group(0), region)
        if key:
            keys.add(key)
    return keys
