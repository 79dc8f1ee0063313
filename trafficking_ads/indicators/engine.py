"""The indicator engine: an ad in, risk-indicator hits with evidence spans out.

`IndicatorEngine.extract(ad)` runs, over each text field of the ad:
pattern files (token patterns over lemmas/stems, plus regexes) for every language whose
script appears, and structured checks (contacts, salary, places, ages, employer). Every
hit carries evidence spans into the ORIGINAL field text: `getattr(ad, ev.field)[ev.start:
ev.end] == ev.text`, however the text was obfuscated. `features(hits)` turns hits into a
fixed-order feature vector for the transformer model.

Everything heavy (pattern files, matchers, lemmatizer, gazetteer) is built once per
engine; `default_engine()` shares one per process.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


from ..records import Ad, Evidence, IndicatorHit
from .ages import find_ages, minors, young_only
from .casefold import lowered
from .contacts import Contact, find_contacts
from .domains import NameDomains
from .employer import find_employer, find_license, legal_form_names
from .matcher import TokenMatcher
from .langid import detect_language, languages_present, script_counts
from .normalize import Normalized, normalize
from .patterns import PatternEntry, PatternError, compile_entry, load_pattern_file, register_stems, required_literals
from .places import Gazetteer, Place
from .salary import Pay, SalaryTable
from .scoring import Weights
from .tokens import StemIndex, Tokens, tokenize

DATA_DIR = Path(__file__).resolve().parent / "data"
#: Ad fields read for indicators, in order; evidence names the field it points into.
PATTERN_FIELDS = ("title", "text")
STRUCTURED_FIELDS = ("title", "text", "salary", "contacts", "location")
_TRIM = " \t\r\n.,;:!?-–—()[]{}\"'«»"
#: Most evidence spans kept per indicator (the hit's `evidence_total` keeps the full count):
#: an ad that repeats "Dubai" 300 times needs a few spans to show, not 300.
MAX_EVIDENCE = 20
#: Contact kinds whose text is an address, not prose: a place name inside one
#: ("uk" in jobs@farm.co.uk, "dubai" in dubai-jobs.ae) is not a destination.
_ADDRESS_KINDS = frozenset({"url", "email", "messenger", "social", "handle"})
#: A bare domain-like token ("fellsidehotel.co.uk/jobs") the contact finder may not take as a link.
_DOMAIN_RE = re.compile(r"(?<![\w@.-])(?:[A-Za-z0-9-]+\.)+[a-z]{2,24}(?:/\S*)?(?![\w-])")


@dataclass(slots=True)
class FieldView:
    """One field of an ad, normalized, with the findings in it."""

    name: str
    norm: Normalized
    contacts: list[Contact] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    pays: list[Pay] = field(default_factory=list)


@dataclass(slots=True)
class Analysis:
    """Everything the engine found in one ad (hits plus the facts behind them)."""

    hits: list[IndicatorHit]
    lang: str
    contacts: list[Contact]
    places: list[Place]
    pays: list[Pay]


class IndicatorEngine:
    """Pattern sets, gazetteer and tables for all languages, built and validated once."""

    def __init__(self, data_dir: str | Path | None = None, languages: Iterable[str] | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir else DATA_DIR
        self.weights = Weights.load(self.data_dir / "indicators.yaml")
        self.stems = StemIndex()
        pattern_dir = self.data_dir / "patterns"
        files = sorted(pattern_dir.glob("*.yaml"))
        if languages is not None:
            files = [f for f in files if f.stem in set(languages)]
        if not files:
            raise PatternError(f"{pattern_dir}: no pattern files (*.yaml)")
        self.entries: dict[str, list[PatternEntry]] = {}
        for f in files:
            entries = load_pattern_file(f, self.weights.categories)
            lang = entries[0].lang if entries else f.stem
            self.entries.setdefault(lang, []).extend(entries)
        for entries in self.entries.values():
            register_stems(entries, self.stems)
        for entries in self.entries.values():
            for e in entries:
                compile_entry(e, self.stems)
        # One matcher over all languages: each token is looked up once, and a pattern of
        # a language whose script is absent simply never matches.
        self.matcher = TokenMatcher([e for entries in self.entries.values() for e in entries])
        # Each regex with the literal strings one of which any match holds: when none is
        # in the (lowered) text, the regex is not run (it scanned every ad before).
        self._regexes: list[tuple[PatternEntry, re.Pattern[str], str | None, tuple[str, ...] | None]] = [
            (e, rx, "@" if "@" in rx.pattern else None, required_literals(rx))
            for entries in self.entries.values()
            for e in entries
            for rx in e.regexes
        ]
        self.gazetteer = Gazetteer(self.data_dir / "gazetteer.yaml")
        self.salary = SalaryTable(self.data_dir / "salary_market.yaml")
        # A rule set shipped before the table existed uses the package's.
        translit = self.data_dir / "translit.yaml"
        self.name_domains = NameDomains(translit if translit.is_file() else DATA_DIR / "translit.yaml")
        self._validate_examples()

    # -- patterns ---------------------------------------------------------------------

    def match_patterns(
        self, norm: Normalized, langs: Iterable[str], toks: Tokens | None = None
    ) -> list[tuple[PatternEntry, int, int]]:
        """(entry, normalized start, end) of every pattern match of the given languages."""
        langs = set(langs)
        if not langs:
            return []
        out: list[tuple[PatternEntry, int, int]] = []
        toks = toks or tokenize(norm, self.stems)
        words = toks.words
        for entry, s, e in self.matcher(toks):
            if entry.lang in langs and not _negated(words, s, e):
                out.append((entry, toks.starts[s], toks.ends[e - 1]))
        text = norm.text
        low: str | None | bool = False  # lowered text for cue tests, made on first need
        for entry, rx, needs, cues in self._regexes:
            if entry.lang not in langs or (needs and needs not in text):
                continue
            if cues:
                if low is False:
                    low = lowered(text)
                if low is not None and not any(c in low for c in cues):  # type: ignore[operator]
                    continue
            for m in rx.finditer(text):
                if m.end() > m.start():
                    out.append((entry, m.start(), m.end()))
        return out

    def _validate_examples(self) -> None:
        """Each entry's examples must match it and its counter-examples must not.

        All failures are collected into one `PatternError` (one line per entry)."""
        errors: list[str] = []
        for lang, entries in self.entries.items():
            for e in entries:
                for ex in e.examples:
                    keys = {m[0].key for m in self.match_patterns(normalize(ex), [lang])}
                    if e.key not in keys:
                        errors.append(f"{e.where()}: example does not match: {ex!r}")
                for ex in e.counter_examples:
                    keys = {m[0].key for m in self.match_patterns(normalize(ex), [lang])}
                    if e.key in keys:
                        errors.append(f"{e.where()}: counter_example matches: {ex!r}")
        if errors:
            raise PatternError("\n".join(errors))

    # -- extraction -------------------------------------------------------------------

    def extract(self, ad: Ad | str) -> list[IndicatorHit]:
        """Indicator hits of one ad, each with evidence spans into the original fields."""
        return self.analyze(ad).hits

    def extract_many(self, ads: Iterable[Ad | str]) -> Iterable[list[IndicatorHit]]:
        """Hits for each ad, lazily."""
        for ad in ads:
            yield self.extract(ad)

    def analyze(self, ad: Ad | str) -> Analysis:
        """Hits plus the language, contacts, places and pay the engine read."""
        if isinstance(ad, str):
            ad = Ad(text=ad)
        lang_text = " ".join(t for t in (ad.title, ad.text) if t)
        counts = script_counts(lang_text)
        lang = ad.language if ad.language in ("ru", "kk", "en") else detect_language(lang_text, counts)
        run_langs = languages_present(lang_text, lang, counts)
        acc = _Hits(self.weights)
        views: list[FieldView] = []
        for name in STRUCTURED_FIELDS:
            value = getattr(ad, name)
            if not value or not value.strip():
                continue
            view = FieldView(name, normalize(value))
            views.append(view)
            t = view.norm.text
            toks = tokenize(view.norm, self.stems) if name in PATTERN_FIELDS else None
            view.contacts = find_contacts(t, toks.words if toks is not None else None)
            view.pays = self.salary.find(t) if name != "contacts" else []
            view.places = (
                _outside_addresses(self.gazetteer.find(t, toks), view.contacts, t) if name != "contacts" else []
            )
            if toks is not None:
                for entry, s, e in self.match_patterns(view.norm, run_langs, toks):
                    acc.add(entry.id, view, s, e)
                for a in find_ages(t):
                    if minors(a):
                        acc.add("minor_targeted", view, a.start, a.end)
                    if (
                        a.high is not None
                        and a.high >= 18
                        and (young_only(a) or (a.low is not None and a.high - a.low <= 12))
                    ):
                        acc.add("appearance_age_gender", view, a.start, a.end)
            for s, e in find_employer(t):
                acc.add("employer_identified", view, s, e)
            for s, e in find_license(t):
                acc.add("agency_licensed", view, s, e)
        self._structured(ad, lang, views, acc)
        acc.resolve_conflicts()
        contacts = [c for v in views for c in v.contacts]
        places = [p for v in views for p in v.places]
        pays = [p for v in views for p in v.pays]
        return Analysis(acc.hits(), lang, contacts, places, pays)

    def _structured(self, ad: Ad, lang: str, views: list[FieldView], acc: "_Hits") -> None:
        """Indicators that combine findings: destinations, contacts, pay, employer."""
        home = self.gazetteer.home
        loc_country = self.gazetteer.country_of(ad.location)
        if loc_country and (lang == "en" or not self.gazetteer.high_risk.get(loc_country, False)):
            # The ad's own location is home, unless it is itself one of the guide's
            # high-risk destinations (a Kazakh-language ad "located" in Dubai is an offer abroad).
            home = loc_country
        # Legitimacy from structured fields.
        for fname in ("company_name", "company_website"):
            value = getattr(ad, fname)
            if value and value.strip():
                s = len(value) - len(value.lstrip())
                acc.add_raw("employer_identified", fname, value, s, len(value.rstrip()))
        profile = ad.company_profile
        if profile and len(profile.strip()) >= 40:
            s = len(profile) - len(profile.lstrip())
            acc.add_raw("employer_identified", "company_profile", profile, s, min(len(profile.rstrip()), s + 80))
        foreign: list[tuple[FieldView, Place]] = []
        for v in views:
            if v.name == "location" and lang == "en":
                continue
            foreign += [(v, p) for p in v.places if p.country != home]
        for v, p in foreign:
            acc.add("travel_abroad_offer", v, p.start, p.end)
        abroad = bool(foreign) or "travel_abroad_offer" in acc.ids
        compound = [(v, p) for v, p in foreign if p.country in self.gazetteer.compound]
        # Internal role signals become indicators only in context.
        for v, s, e in acc.pop_internal("_service_role"):
            if abroad:
                acc.add("high_risk_role", v, s, e)
        for v, s, e in acc.pop_internal("_scam_role"):
            if compound:
                acc.add("scam_compound_role", v, s, e)
                for cv, p in compound:
                    acc.add("scam_compound_role", cv, p.start, p.end)
        # Contacts.
        contacts = [(v, c) for v in views for c in v.contacts]
        websites = [c for _, c in contacts if c.kind == "url" and not c.shortener]
        for v, c in contacts:
            if c.kind == "url" and not c.shortener:
                acc.add("employer_identified", v, c.start, c.end)
            if (c.kind == "email" and c.free_mail) or c.shortener:
                acc.add("contact_free_email", v, c.start, c.end)
            if c.kind == "phone" and c.country and c.country != home and not (loc_country and c.country == loc_country):
                acc.add("contact_foreign_country", v, c.start, c.end)
        self._mail_domain_mismatch(ad, views, contacts, acc)
        identified = "employer_identified" in acc.ids or "agency_licensed" in acc.ids
        messengers = [(v, c) for v, c in contacts if c.kind in ("messenger", "handle")]
        company_mail = [c for _, c in contacts if c.kind == "email" and not c.free_mail]
        landline = [c for _, c in contacts if c.kind == "phone" and c.mobile is False]
        if messengers and not (websites or company_mail or landline or identified):
            for v, c in messengers:
                acc.add("contact_messenger_only", v, c.start, c.end)
        if not identified and not (websites or company_mail):
            # No name, registration, address or website: the only way to reach the
            # "employer" is an anonymous contact (the evidence), or nothing at all.
            anon = [(v, c) for v, c in contacts if c.kind in ("phone", "messenger", "handle", "email")]
            for v, c in anon:
                acc.add("employer_unidentified", v, c.start, c.end)
            # The hirer spoken of without a name ("the company pays the tickets",
            # «агентство набирает») is the evidence too. With neither, nothing in the ad
            # can be pointed at, so there is no hit: an indicator is shown with its
            # evidence or not at all.
            for v, s, e in acc.pop_internal("_anon_employer"):
                acc.add("employer_unidentified", v, s, e)
        acc.pop_internal("_anon_employer")
        # Pay against the market for the role and destination.
        pays = [(v, p) for v in views for p in v.pays]
        if pays:
            dest = next((p.country for _, p in foreign if p.high_risk), None) or (
                foreign[0][1].country if foreign else None
            )
            body = " ".join(v.norm.text for v in views if v.name in ("title", "text"))
            group = self.salary.role_group(body)
            for v, p in pays:
                # No destination named: the pay's currency says where (£ -> GB, € -> EU),
                # else the ad's own location or home (a tenge salary is judged in Kazakhstan).
                country = dest or self.salary.currency_country.get(p.currency) or loc_country or home
                if self.salary.unrealistic([p], country, group):
                    acc.add("pay_unrealistic", v, p.start, p.end)

    def _mail_domain_mismatch(
        self, ad: Ad, views: list[FieldView], contacts: list[tuple[FieldView, Contact]], acc: "_Hits"
    ) -> None:
        """`contact_free_email` on a company e-mail whose domain fits none of the company
        names the ad gives (its company_name field, names with a legal form in the title
        or text). Nothing without a name, or when a name is too short to compare."""
        mails = [(v, c) for v, c in contacts if c.kind == "email" and not c.free_mail]
        if not mails:
            return
        names = [ad.company_name] if ad.company_name and ad.company_name.strip() else []
        for v in views:
            if v.name in PATTERN_FIELDS:
                names += legal_form_names(v.norm.text)
        if not names:
            return
        for v, c in mails:
            if self.name_domains.mismatch(names, c.value.rsplit("@", 1)[-1]):
                acc.add("contact_free_email", v, c.start, c.end)

    # -- features ---------------------------------------------------------------------

    @property
    def feature_names(self) -> list[str]:
        """Names of `features()` in their fixed order."""
        return self.weights.feature_names

    def features(self, hits: list[IndicatorHit]) -> dict[str, float]:
        """A fixed-order feature vector: presence of each indicator plus summaries."""
        return self.weights.features(hits)


#: Words that, just before a match, deny it ("мы НЕ просим данные карты", "never asks for").
NEGATION_BEFORE = frozenset("не нет никогда никаких ни never not no don't dont doesn't won't ешқашан ешқандай".split())
#: Kazakh negates the verb after the object ("карта деректерін сұраМАЙМЫЗ").
_KK_NEG_AFTER = re.compile(r"(?:ма|ме|ба|бе|па|пе)(?:йды|йді|ймыз|йміз|ймын|ймін|йсыз|йсіз|ңыз|ңіз)$|^емес$")


#: word -> whether it is a Kazakh negative verb (a regex search per word and match was
#: a tenth of the matching time; words recur, so they are looked up once).
_NEG_AFTER_CACHE: dict[str, bool] = {}


def _outside_addresses(places: list[Place], contacts: list[Contact], text: str) -> list[Place]:
    """Places not inside an e-mail, link, handle or domain: domains are not destinations."""
    if not places:
        return places
    spans = [(c.start, c.end) for c in contacts if c.kind in _ADDRESS_KINDS]
    if "." in text:
        spans += [(m.start(), m.end()) for m in _DOMAIN_RE.finditer(text)]
    if not spans:
        return places
    return [p for p in places if not any(s < p.end and p.start < e for s, e in spans)]


def _negated(words: list[str], s: int, e: int) -> bool:
    """A match denied by a negation word just before it, or a Kazakh negative verb after it."""
    for w in words[max(0, s - 3) : s]:
        if w in NEGATION_BEFORE:
            return True
    for w in words[e : e + 2]:
        neg = _NEG_AFTER_CACHE.get(w)
        if neg is None:
            neg = _KK_NEG_AFTER.search(w) is not None
            if len(_NEG_AFTER_CACHE) < 200_000:
                _NEG_AFTER_CACHE[w] = neg
        if neg:
            return True
    return False


class _Hits:
    """Accumulates evidence per indicator id, mapped back to original offsets."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights
        self._ev: dict[str, dict[tuple[str, int, int], Evidence]] = {}
        self._internal: dict[str, list[tuple[FieldView, int, int]]] = {}

    @property
    def ids(self) -> set[str]:
        return set(self._ev)

    def add(self, ind: str, view: FieldView, start: int, end: int) -> None:
        if ind.startswith("_"):
            self._internal.setdefault(ind, []).append((view, start, end))
            return
        s, e = view.norm.span(start, end)
        self.add_raw(ind, view.name, view.norm.original, s, e)

    def add_raw(self, ind: str, fname: str, original: str, s: int, e: int) -> None:
        while s < e and original[s] in _TRIM:
            s += 1
        while e > s and original[e - 1] in _TRIM:
            e -= 1
        if e <= s:
            return
        bucket = self._ev.setdefault(ind, {})
        key = (fname, s, e)
        if key not in bucket:
            bucket[key] = Evidence(start=s, end=e, text=original[s:e], field=fname)

    def drop_overlapping(self, ind: str, by: str) -> None:
        """Remove `ind` evidence that overlaps `by` evidence (a fee matched inside
        "no fees are charged"); the indicator goes when none of its evidence is left."""
        mine, theirs = self._ev.get(ind), self._ev.get(by)
        if not mine or not theirs:
            return
        for key in [k for k in mine if any(k[0] == f and k[1] < e and s < k[2] for f, s, e in theirs)]:
            del mine[key]
        if not mine:
            del self._ev[ind]

    def resolve_conflicts(self) -> None:
        """Evidence for legitimacy that a risk pattern also read, resolved for legitimacy.

        - a fee phrase inside a no-fee statement ("we charge candidates no fees") is no fee;
        - a contract "signed after arrival" is a missing contract, not an offered one;
        - a passport phrase inside "you keep your passport" is not a retained passport;
        - a named scheme (EPS, Seasonal Worker) is `impersonated_scheme` only when the ad
          does not show the scheme's official channel, or when it also asks for a fee.
        """
        self.drop_overlapping("fee_upfront", "no_worker_fee")
        self.drop_overlapping("contract_offered", "contract_missing")  # "the contract is signed after arrival"
        self.drop_overlapping("documents_retained", "documents_kept")
        if "official_programme" in self._ev and "fee_upfront" not in self._ev:
            self._ev.pop("impersonated_scheme", None)

    def pop_internal(self, ind: str) -> list[tuple[FieldView, int, int]]:
        return self._internal.pop(ind, [])

    def hits(self) -> list[IndicatorHit]:
        out = []
        for ind in self.weights.order:
            bucket = self._ev.get(ind)
            if not bucket:  # an indicator is never shown without its evidence
                continue
            ev = _drop_nested(sorted(bucket.values(), key=lambda x: (x.field, x.start, -x.end)))
            total = len(ev) if len(ev) > MAX_EVIDENCE else None
            out.append(
                IndicatorHit(
                    id=ind,
                    category=self.weights.categories[ind],
                    weight=self.weights.weight[ind],
                    evidence=ev[:MAX_EVIDENCE],
                    evidence_total=total,
                )
            )
        return out


def _drop_nested(evs: list[Evidence]) -> list[Evidence]:
    """Drop evidence spans that lie inside another span of the same field."""
    out: list[Evidence] = []
    for ev in evs:
        if out and out[-1].field == ev.field and out[-1].start <= ev.start and ev.end <= out[-1].end:
            continue
        out.append(ev)
    return out


_DEFAULT: IndicatorEngine | None = None
_LOCK = threading.Lock()


def default_engine() -> IndicatorEngine:
    """The process-wide engine over the shipped data (built on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                _DEFAULT = IndicatorEngine()
    return _DEFAULT
