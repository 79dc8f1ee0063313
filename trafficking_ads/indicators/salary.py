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

_CUR_BEFORE = r"(?P<cb>\$|€|£|₸|₽|usd|eur|us\$)"
_CUR_AFTER = (
    r"(?P<ca>\$|€|£|₸|₽|usd|eur|euro|евро|долл\w*|доллар\w*|dollars?|бакс\w*|у\.?\s?е\.?|"
    r"тг|тнг|тенге|теңге|kzt|руб\w*|р\.|rub|aed|дирхам\w*|dirhams?|лир\w*|try|tl|вон\w*|won|krw|сом\w*)"
)
_NUM = r"(?P<NX>\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+|\d+(?:[.,]\d{1,2})?)"
_MULT = r"(?:\s*(?P<MX>k\b|к\b|тыс\.?|тысяч\w*|мың\w*|млн\.?|миллион\w*|million|mln))?"
AMOUNT_RE = re.compile(
    rf"(?:{_CUR_BEFORE}\s?{_NUM.replace('NX', 'n1')}{_MULT.replace('MX', 'm1')}|"
    rf"{_NUM.replace('NX', 'n2')}{_MULT.replace('MX', 'm2')}\s?{_CUR_AFTER})(?!\w)",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)")
_MULT_RE = re.compile(r"\s*(?P<mult>k\b|к\b|тыс\.?|тысяч\w*|мың\w*|млн\.?|миллион\w*|million|mln)", re.IGNORECASE)
_AFTER_RE = re.compile(rf"(?:\s*(?P<mult>k\b|к\b|тыс\.?|тысяч\w*|мың\w*|млн\.?|миллион\w*|million|mln))?\s?{_CUR_AFTER.replace('?P<ca>', '?P<cur>')}(?!\w)", re.IGNORECASE)
_BEFORE_RE = re.compile(rf"{_CUR_BEFORE.replace('?P<cb>', '?P<cur>')}\s?$", re.IGNORECASE)
#: A cheap test for any currency mark before the full amount regex runs.
_CURRENCY_HINT = re.compile(r"[$€£₸₽]|(?i:usd|eur|евро|долл|доллар|dollar|бакс|у\.е|тг|тнг|тенге|теңге|kzt|руб|rub|aed|дирхам|dirham|лир|try|\btl\b|вон|won|krw|сом)")
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
    (r"\$|usd|us\$|долл|доллар|dollar|бакс|у\.?\s?е", "USD"), (r"€|eur|euro|евро", "EUR"), (r"£", "GBP"),
    (r"₸|тг|тнг|тенге|теңге|kzt", "KZT"), (r"₽|руб|р\.|rub", "RUB"), (r"aed|дирхам|dirham", "AED"),
    (r"лир|try|tl", "TRY"), (r"вон|won|krw", "KRW"), (r"сом", "KGS"),
]


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
        self.groups = [
            (name, re.compile(r"(?<!\w)(?:" + "|".join(stems) + ")", re.IGNORECASE))
            for name, stems in data["role_groups"].items()
        ]

    def role_group(self, text: str) -> str:
        """The first role group whose words appear (else 'general')."""
        for name, rx in self.groups:
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
        for m in _NUMBER_RE.finditer(text):
            if m.start() < last_end:
                continue
            after = _AFTER_RE.match(text, m.end())
            if after:
                cur_raw, mult, end = after.group("cur"), after.group("mult") or "", after.end()
                start = m.start()
            else:
                before = _BEFORE_RE.search(text, max(0, m.start() - 5), m.start())
                if not before:
                    continue
                tail = _MULT_RE.match(text, m.end())
                cur_raw, mult = before.group("cur"), (tail.group("mult") if tail else "")
                start, end = before.start(), (tail.end() if tail else m.end())
            currency = next((c for rx, c in _CURRENCY if re.match(rx, cur_raw.lower())), None)
            amount = _number(m.group())
            if currency is None or amount is None or amount <= 0:
                continue
            mult = mult.lower()
            if mult.startswith(("k", "к", "тыс", "мың")):
                amount *= 1000
            elif mult.startswith(("млн", "милл", "mill", "mln")):
                amount *= 1_000_000
            pm = PERIOD_RE.search(text, end, end + 25)
            period = pm.lastgroup if pm and pm.start() - end <= 6 else None
            if period is None:
                pb = PERIOD_RE.search(text, max(0, start - 15), start)
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


def _number(s: str) -> float | None:
    s = s.replace("\u00a0", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d{1,3}(?:[ .,]\d{3})+", s):
        return float(re.sub(r"[ .,]", "", s))
    try:
        return float(s.replace(",", "."))
    except ValueError:
        return None
