"""Signs of an identifiable employer or a licensed agency (evidence *against* risk).

A company name with a legal form (ТОО, АО, ИП, ЖШС, ООО, LLP, LLC, Ltd ...), a Kazakhstan
BIN (12 digits), a street address, a company website, a recruitment-agency licence number.
Each returns normalized-text spans; the engine turns them into `employer_identified` and
`agency_licensed` hits with negative weights.
"""

from __future__ import annotations

import re

from .casefold import lowered

_FORMS = r"ТОО|АО|ИП|ЖШС|АҚ|ЖК|ООО|ОАО|ЗАО|ПАО|LLP|LLC|Ltd\.?|Inc\.?|GmbH|JSC|PLC|Corp\.?|Co\.,?\s?Ltd\.?"
#: A legal form and the name after it (ТОО «Ромашка»), or a name and the form after it
#: (Acme Logistics LLP); LEGAL_FORM_RE is either.
_FORM_FIRST = rf"(?<!\w)(?:{_FORMS})\s*(?:[«\"“„'][^»\"”'\n]{{2,50}}[»\"”']|[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][\w&\-]+(?:\s[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][\w&\-]+){{0,3}})"
_FORM_LAST = rf"(?:[«\"“][^»\"”\n]{{2,50}}[»\"”]|(?<!\w)[A-Z][\w&\-]+(?:\s[A-Z][\w&\-]+){{0,3}}),?\s(?:{_FORMS})(?!\w)"
LEGAL_FORM_RE = re.compile(_FORM_FIRST + "|" + _FORM_LAST)
#: Either reading at every position (overlapping): company names for the e-mail check.
_FORM_NAMES_RES = (re.compile(f"(?=({_FORM_FIRST}))"), re.compile(f"(?=({_FORM_LAST}))"))
_ORG_NOUNS = (
    r"гостиниц\w*|отел[ьяюе]\w*|компани\w*|кафе|ресторан\w*|магазин\w*|клиник\w*|салон\w*|завод\w*|"
    r"қонақүй\w*|мейрамхана\w*|дүкен\w*|зауыт\w*|hotel|company|restaurant|cafe|clinic|store|factory"
)
#: A quoted name next to what it is: «Рахат» қонақүйі, гостиница «Казжол», "Rahat Palace" hotel.
ORG_NAME_RE = re.compile(
    rf"(?i:(?<!\w)(?:{_ORG_NOUNS}))\s+[«\"“][^»\"”\n]{{2,40}}[»\"”]|[«\"“][^»\"”\n]{{2,40}}[»\"”]\s+(?i:{_ORG_NOUNS})"
    r"|(?<!\w)[A-Z][\w&\-]+(?:\s[A-Z][\w&\-]+){0,3}\s(?:Hotel|Group|Company|Corporation|Bank|Clinic|Restaurant"
    r"|Hospital|Care Home|Resort(?: & Spa)?|University|College)(?!\w)"
)
BIN_RE = re.compile(r"(?<!\d)(?:(?:БИН|BIN|БСН|ЖСН|ИИН|ИНН)\s*[:№#]?\s*)(\d{12}|\d{10})(?!\d)", re.IGNORECASE)
ADDRESS_RE = re.compile(
    r"(?i)(?<!\w)(?:ул\.|улица|көш\.|көшесі|пр\.|пр-т|проспект|даңғылы|мкр\.?|микрорайон|ы?шағын\s?аудан|"
    r"бизнес[- ]центр|бц\s|офис\s*№?\s*\d|кабинет\s*\d|street|st\.|avenue|ave\.|suite\s*\d|office\s*\d|floor\s*\d|"
    r"\d+\s*(?:этаж|қабат)|к-сі|ш/а)[^\n,;]{0,40}?(?:,\s?)?\d+"
    # number first: "101 Tole Bi Street", "12 Crown Street"; a UK postcode: "Leeds LS10 1RS"
    r"|(?-i:(?<!\w)\d{1,4}[A-Za-z]?\s+(?:[A-Z][\w\-]+\s){1,3}(?:St|Street|Ave|Avenue|Road|Rd|Lane|Square)\b)"
    r"|(?-i:(?<![\w-])[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}(?![\w-]))"
)
LICENSE_RE = re.compile(
    r"(?i)(?<!\w)(?:лицензи\w*|license|licence|лицензиясы|уведомлени\w*(?:\s+мтсзн)?|хабарлама\w*|notification)\s*(?:на\s+[^\n№]{0,60}?)?"
    r"(?:№|no\.?|number|#|номер)\s*[\w/\-.]*\d[\w/\-.]*"
)
GOV_REGISTRY_RE = re.compile(
    r"(?i)(?:включен\w*\s+в\s+реестр\s+частных\s+агентств\s+занятости|реестр\w*\s+частн\w+\s+агентств|"
    r"жекеагенттіктер\w*\s+тізілім\w*|registered\s+(?:recruitment|employment)\s+agency)"
)


#: Literal cues, one of which each regex needs: substring tests skip most texts cheaply.
_CUES = (
    (
        LEGAL_FORM_RE,
        (
            "ТОО",
            "АО",
            "ИП",
            "ЖШС",
            "АҚ",
            "ЖК",
            "ООО",
            "ЗАО",
            "ПАО",
            "LLP",
            "LLC",
            "Ltd",
            "Inc",
            "GmbH",
            "JSC",
            "PLC",
            "Corp",
            "Co.",
        ),
        False,
    ),
    (
        ORG_NAME_RE,
        (
            "«",
            '"',
            "“",
            "Hotel",
            "Group",
            "Company",
            "Corporation",
            "Bank",
            "Clinic",
            "Restaurant",
            "Hospital",
            "Care Home",
            "Resort",
            "University",
            "College",
        ),
        False,
    ),
    (BIN_RE, ("бин", "bin", "бсн", "жсн", "иин", "инн"), True),
    (
        ADDRESS_RE,
        (
            "ул.",
            "улиц",
            "көш",
            "пр.",
            "пр-т",
            "проспект",
            "даңғыл",
            "мкр",
            "микрорайон",
            "аудан",
            "бизнес",
            "бц",
            "офис",
            "кабинет",
            "street",
            "st.",
            "avenue",
            "ave.",
            "suite",
            "office",
            "floor",
            "этаж",
            "қабат",
            "к-сі",
            "ш/а",
            " st",
            " ave",
            " road",
            " rd",
            " lane",
            " square",
        ),
        True,
    ),
)


def _windows(text: str, cues: tuple[str, ...], before: int, after: int) -> list[tuple[int, int]]:
    """Merged [start, end) windows around every occurrence of the cue substrings."""
    hits = []
    for c in cues:
        i = text.find(c)
        while i >= 0:
            hits.append((max(0, i - before), min(len(text), i + len(c) + after)))
            i = text.find(c, i + 1)
    hits.sort()
    merged: list[list[int]] = []
    for s, e in hits:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def find_employer(text: str) -> list[tuple[int, int]]:
    """Spans identifying the employer: legal-form names, quoted names, BIN, address.

    Each regex runs only in windows around the literal cues it needs (legal forms,
    quotes, "БИН", "ул." ...), found with plain substring search: most of an ad is
    never scanned by the (slow) alternation regexes.
    """
    spans: set[tuple[int, int]] = set()
    low = text.lower()
    for rx, cues, lower in _CUES:
        for s, e in _windows(low if lower else text, cues, 60, 60):
            for m in rx.finditer(text, s, e):
                spans.add((m.start(), m.end()))
    return sorted(spans)


def legal_form_names(text: str) -> list[str]:
    """Company names written with a legal form ("ТОО «АлматыЛогистик»", "Acme Logistics LLP"),
    as they stand in the text (form and quotes included); found as `find_employer` finds
    them, around the legal-form cues, but overlapping readings are all kept: "Acme LLP
    ТОО «Ромашка»" gives "ТОО «Ромашка»" too, not only "Acme LLP ТОО"."""
    names: list[str] = []
    for s, e in _windows(text, _CUES[0][1], 60, 60):
        for rx in _FORM_NAMES_RES:
            names += [m.group(1) for m in rx.finditer(text, s, e)]
    return names


#: Substrings (lowercase) one of which every LICENSE_RE or GOV_REGISTRY_RE match holds.
_LICENSE_CUES = ("лиценз", "licen", "реестр", "тізілім", "registered", "уведомл", "хабарлама", "notification")


def find_license(text: str) -> list[tuple[int, int]]:
    """Spans naming a recruitment licence or notification number (Kazakhstan registers
    private employment agencies by notification, «уведомление МТСЗН № …»), or the register.

    Substring tests on the lowered text skip the two regexes in nearly every ad (a
    case-insensitive regex search over the whole text cost ~80 us an ad).
    """
    low = lowered(text)
    if low is not None and not any(c in low for c in _LICENSE_CUES):
        return []
    return sorted((m.start(), m.end()) for rx in (LICENSE_RE, GOV_REGISTRY_RE) for m in rx.finditer(text))
