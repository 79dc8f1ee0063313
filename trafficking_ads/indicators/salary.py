"""Advertised pay: amount, currency, period, and whether it is plausible.

Amounts are read with a regex over the normalized text ("3000$", "от 500 000 тг в месяц",
"€2,500/month", "айына 800 мың теңге", "$150 per day"), converted to USD per month with
the rates of data/salary_market.yaml and compared with the upper bound of a normal offer
for the ad's role group and destination country (same file, with its sources).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .casefold import lowered, lowered_twin

#: Letter codes need a word start before them: "cad289401987349" is an id, not CAD 289,401,987,349.
_CUR_BEFORE = r"(?P<cb>\$|€|£|₸|₽|¥|\b(?:usd|eur|us\$|gbp|cad|c\$|chf|jpy|qar|pln|czk|gel|myr|aed|krw))"
_CUR_AFTER = (
    r"(?P<ca>\$|€|£|₸|₽|usd|eur|euro|евро|канадск\w*\s+доллар\w*|канада\s+доллар\w*|canadian\s+dollars?|"
    r"долл\w*|доллар\w*|dollars?|бакс\w*|у\.?\s?е\.?|"
    r"тг|тнг|тенге|теңге|kzt|руб\w*|р\.|rub|aed|дирхам\w*|dirhams?|лир\w*|try|tl|вон\w*|won|krw|сом\w*|"
    r"gbp|фунт\w*|pounds?|cad|chf|франк\w*|jpy|иен\w*|йен\w*|yen|qar|риал\w*|riyals?|pln|злот\w*|zloty|"
    r"czk|крон\w*|gel|лари|myr|ringgit)"
)
_NUM = r"(?P<NX>\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+|\d+(?:[.,]\d{1,2})?)"
_MULT = r"(?:\s*(?P<MX>k\b|к\b|тыс\.?|тысяч\w*|мың\w*|млн\.?|миллион\w*|million|mln))?"
AMOUNT_RE = re.compile(
    rf"(?:{_CUR_BEFORE}\s?{_NUM.replace('NX', 'n1')}{_MULT.replace('MX', 'm1')}|"
    rf"{_NUM.replace('NX', 'n2')}{_MULT.replace('MX', 'm2')}\s?{_CUR_AFTER})(?!\w)",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)")
_DIGIT_RUN = re.compile(r"\d+")
_MULT_RE = re.compile(r"\s*(?P<mult>k\b|к\b|тыс\.?|тысяч\w*|мың\w*|млн\.?|миллион\w*|million|mln)", re.IGNORECASE)
_AFTER_RE = re.compile(
    rf"(?:\s*(?P<mult>k\b|к\b|тыс\.?|тысяч\w*|мың\w*|млн\.?|миллион\w*|million|mln))?\s?{_CUR_AFTER.replace('?P<ca>', '?P<cur>')}(?!\w)",
    re.IGNORECASE,
)
_BEFORE_RE = re.compile(rf"{_CUR_BEFORE.replace('?P<cb>', '?P<cur>')}\s?$", re.IGNORECASE)
#: A cheap test for any currency mark before the full amount regex runs.
_CURRENCY_HINT = re.compile(
    r"[$€£₸₽¥]|(?i:usd|eur|евро|долл|доллар|dollar|бакс|у\.е|тг|тнг|тенге|теңге|kzt|руб|rub|aed|дирхам|dirham|лир|try|\btl\b|вон|won|krw|сом|gbp|фунт|pound|cad|chf|франк|jpy|иен|йен|yen|qar|риал|riyal|pln|злот|zloty|czk|крон|gel|лари|myr|ringgit)"
)
PERIOD_RE = re.compile(
    r"(?P<month>в\s*месяц|/\s*мес|мес\b|месяц|month|/\s*mo\b|monthly|айына|айлық|ай\s+сайын|/\s*ай\b)|"
    r"(?P<day>в\s*день|/\s*день|в\s*сутки|сутки|/\s*day|per\s+day|a\s+day|daily|күніне|тәулігіне|/\s*күн)|"
    r"(?P<shift>за\s*смену|/\s*смен|смена|per\s+shift|ауысым\w*)|"
    r"(?P<week>в\s*неделю|/\s*нед|week|weekly|аптасына|апта\w*)|"
    r"(?P<hour>в\s*час|/\s*час|/\s*ч\b|per\s+hour|an\s+hour|/\s*h(?:ou)?r?\b|hourly|сағатына|сағ\w*)|"
    r"(?P<year>в\s*год|per\s+year|a\s+year|/\s*yr|/\s*year|annual\w*|жылына)",
    re.IGNORECASE,
)
_CURRENCY = [
    (r"c\$|cad|канад|canad", "CAD"),
    (r"\$|usd|us\$|долл|доллар|dollar|бакс|у\.?\s?е", "USD"),
    (r"€|eur|euro|евро", "EUR"),
    (r"£|gbp|фунт|pound", "GBP"),
    (r"chf|франк", "CHF"),
    (r"jpy|¥|иен|йен|yen", "JPY"),
    (r"qar|риал|riyal", "QAR"),
    (r"pln|злот|zloty", "PLN"),
    (r"czk|крон", "CZK"),
    (r"gel|лари", "GEL"),
    (r"myr|ringgit", "MYR"),
    (r"₸|тг|тнг|тенге|теңге|kzt", "KZT"),
    (r"₽|руб|р\.|rub", "RUB"),
    (r"aed|дирхам|dirham", "AED"),
    (r"лир|try|tl", "TRY"),
    (r"вон|won|krw", "KRW"),
    (r"сом", "KGS"),
]

#: The currency table compiled once (`re.match` with a string looked each up in re's cache).
_CURRENCY_RES = [(re.compile(rx), c) for rx, c in _CURRENCY]
#: Case-sensitive twins (casefold.py) of the regexes run around each number; () if any is missing.
_TWINS = tuple(lowered_twin(rx) for rx in (_AFTER_RE, _BEFORE_RE, _MULT_RE, PERIOD_RE))
if not all(_TWINS):
    _TWINS = ()


@dataclass(slots=True)
class Pay:
    """One pay amount: normalized span, value, currency, period, USD per month."""

    start: int
    end: int
    amount: float
    currency: str
    period: str
    usd_month: float | None


class SalaryTable:
    """Exchange rates, period multipliers and market ranges (data/salary_market.yaml)."""

    def __init__(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.factor = float(data["factor"])
        self.rates: dict[str, float] = data["usd_per_unit"]
        self.per_month: dict[str, float] = data["per_month"]
        self.ranges: dict[str, dict[str, float]] = data["ranges_usd_month"]
        #: Where a currency is paid when the ad names no destination (GBP -> GB, EUR -> EU).
        self.currency_country: dict[str, str] = data.get("currency_country") or {}
        self.groups = [
            (name, re.compile(r"(?<!\w)(?:" + "|".join(stems) + ")", re.IGNORECASE), _cues(stems))
            for name, stems in data["role_groups"].items()
        ]

    def role_group(self, text: str) -> str:
        """The first role group whose words appear (else 'general').

        A group's regex runs only when one of its stems' literal beginnings occurs in
        the lowered text (a case-insensitive regex search cost ~60 us an ad).
        """
        low = lowered(text)
        for name, rx, cues in self.groups:
            if low is not None and cues is not None and not any(c in low for c in cues):
                continue
            if rx.search(text):
                return name
        return "general"

    def upper_bound(self, country: str, group: str) -> float:
        row = self.ranges.get(country) or self.ranges["default"]
        return float(row.get(group, row["general"]))

    def find(self, text: str) -> list[Pay]:
        """Every pay amount with a currency in text.

        Numbers are found first (a regex that starts with a digit, so the scan is fast),
        then a currency is looked for right after (with "k"/"тыс"/"мың" multipliers) or
        right before each one.
        """
        out: list[Pay] = []
        last_end = -1
        # Currency, multiplier and period are read case-insensitively; on the lowered
        # text the case-sensitive twins of those regexes find the same spans faster.
        low = lowered(text) if _TWINS else None
        if low is not None:
            after_re, before_re, mult_re, period_re = _TWINS
            subject = low
        else:
            after_re, before_re, mult_re, period_re = _AFTER_RE, _BEFORE_RE, _MULT_RE, PERIOD_RE
            subject = text
        scan_end = 0
        for run in _DIGIT_RUN.finditer(text):
            # What _NUMBER_RE.finditer(text) gives, found faster: its matches end before a
            # non-digit, and at the start of a run of digits it always matches (the whole
            # run, at least), so its matches are those at the run starts not inside the
            # previous one.
            if run.start() < scan_end:
                continue
            m = _NUMBER_RE.match(text, run.start())
            scan_end = m.end()  # type: ignore[union-attr]
            if m.start() < last_end:  # type: ignore[union-attr]
                continue
            if len(m.group()) >= 10 and m.group().isdigit():  # type: ignore[union-attr]
                continue  # ten digits in a row are an id or a phone ("cad289401987349"), not pay
            after = after_re.match(subject, m.end())
            if after:
                cur_raw, mult, end = after.group("cur"), after.group("mult") or "", after.end()
                start = m.start()
            else:
                before = before_re.search(subject, max(0, m.start() - 5), m.start())
                if not before:
                    continue
                tail = mult_re.match(subject, m.end())
                cur_raw, mult = before.group("cur"), (tail.group("mult") if tail else "")
                start, end = before.start(), (tail.end() if tail else m.end())
            cur_low = cur_raw.lower()
            currency = next((c for rx, c in _CURRENCY_RES if rx.match(cur_low)), None)
            amount = _number(m.group())
            if currency is None or amount is None or amount <= 0:
                continue
            mult = mult.lower()
            if mult.startswith(("k", "к", "тыс", "мың")):
                amount *= 1000
            elif mult.startswith(("млн", "милл", "mill", "mln")):
                amount *= 1_000_000
            pm = period_re.search(subject, end, end + 25)
            period = pm.lastgroup if pm and pm.start() - end <= 6 else None
            if period is None:
                # The period word nearest before the amount ("30 сағат, айына 280 €" is a month).
                pb = None
                for _pb in period_re.finditer(subject, max(0, start - 15), start):
                    pass
                period = pb.lastgroup if pb else "month"
            rate = self.rates.get(currency)
            usd = amount * rate * self.per_month.get(period, 1.0) if rate else None
            out.append(Pay(start, end, amount, currency, period, usd))
            last_end = end
        return out

    def unrealistic(self, pays: list[Pay], country: str, group: str) -> list[Pay]:
        """The amounts above factor x the normal upper bound for the group and country."""
        limit = self.factor * self.upper_bound(country, group)
        return [p for p in pays if p.usd_month is not None and p.usd_month > limit]


_REGEX_META = re.compile(r"[\\\[\](){}.*+?|^$]")


def _cues(stems: list[str]) -> tuple[str, ...] | None:
    """Lowercase literal beginnings of regex stems, one of which any match holds.

    Each stem's text up to its first regex character, less the character a quantifier
    makes optional ("call[- ]?cent" -> "call", "ab?c" -> "a"); None (no prefilter) when
    some stem starts with regex syntax or holds an alternation.
    """
    out = []
    for stem in stems:
        if "|" in stem:
            return None
        m = _REGEX_META.search(stem)
        lit = stem if m is None else stem[: m.start()]
        if m is not None and m.group() in "?*{" and lit:
            lit = lit[:-1]
        if not lit:
            return None
        out.append(lit.lower())
    return tuple(out)


def _number(s: str) -> float | None:
    s = s.replace("\u00a0", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d{1,3}(?:[ .,]\d{3})+", s):
        return float(re.sub(r"[ .,]", "", s))
    try:
        return float(s.replace(",", "."))
    except ValueError:
        return None
