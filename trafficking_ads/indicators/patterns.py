"""Pattern files: loading, validating, and compiling to token slots for the matcher.

One YAML file per language (`data/patterns/<lang>.yaml`):

    lang: ru
    entries:
      - id: travel_costs_covered          # an indicator id of data/indicators.yaml
        pattern: "билет|перелет ..3 оплачивать|оплата"   # or a list of such strings
        example: "Билеты оплачиваем"      # must match (string or list)
        counter_example: "Билеты за свой счёт"   # must not match (string or list)

A pattern is a token sequence; each token is one of
`word` (same lemma: Russian words are lemmatized, so "оплачивать" matches "оплачиваем"),
`=word` (this exact lowercase form), `stem*` (starts with stem: Kazakh suffixes,
Russian stems), `a|b*|=c` (any of them), `(phrase one|phrase two)` (any of these
token sequences), `?tok` (optional), `..N` (up to N tokens of any
kind), `<num>` (a number). A pattern starting with `re:` is a regular expression over
the normalized text (case-insensitive) for what tokens do not fit.
Every file is validated when loaded: a bad entry raises `PatternError` naming the file
and the entry, so a broken pattern file never silently matches nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import TraffickingAdsError
from .tokens import StemIndex, fold, lemma_of

#: Most phrase variants one pattern may expand to.
MAX_EXPANSION = 256
_HYPHENATED = re.compile(r"\w-\w")
_GAP = re.compile(r"^\.\.(\d{1,2})$")


class PatternError(TraffickingAdsError, ValueError):
    """A pattern file or entry that cannot be used; the message names file and entry."""


@dataclass(slots=True)
class PatternEntry:
    """One entry of a pattern file."""

    id: str
    category: str
    lang: str
    index: int
    source: str
    patterns: list[str]
    examples: list[str]
    counter_examples: list[str]
    weight: float | None = None
    token_patterns: list[list["Slot"]] = field(default_factory=list)
    regexes: list[re.Pattern[str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The Matcher key of this entry: unique across languages."""
        return f"{self.lang}:{self.index}:{self.id}"

    def where(self) -> str:
        return f"{self.source}: entry {self.index} ({self.id})"


def _as_list(value: Any, what: str, where: str, required: bool) -> list[str]:
    if value is None:
        if required:
            raise PatternError(f"{where}: missing field '{what}'")
        return []
    items = value if isinstance(value, list) else [value]
    for v in items:
        if not isinstance(v, str) or not v.strip():
            raise PatternError(f"{where}: field '{what}' must be a non-empty string or a list of them")
    return items


def load_pattern_file(path: Path, categories: dict[str, str]) -> list[PatternEntry]:
    """Read and check the structure of one pattern file (not yet the examples)."""
    src = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise PatternError(f"{src}: not valid YAML: {e}") from e
    except OSError as e:
        raise PatternError(f"{src}: cannot read: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise PatternError(f"{src}: expected a mapping with 'lang' and a list 'entries'")
    lang = data.get("lang")
    if not isinstance(lang, str) or not lang:
        raise PatternError(f"{src}: missing 'lang'")
    entries: list[PatternEntry] = []
    for i, raw in enumerate(data["entries"], start=1):
        where = f"{src}: entry {i}"
        if not isinstance(raw, dict):
            raise PatternError(f"{where}: expected a mapping")
        ind = raw.get("id")
        if not isinstance(ind, str) or not ind:
            raise PatternError(f"{where}: missing field 'id'")
        where = f"{src}: entry {i} ({ind})"
        if ind not in categories:
            raise PatternError(f"{where}: unknown indicator id {ind!r}")
        category = raw.get("category", categories[ind])
        if category != categories[ind]:
            raise PatternError(f"{where}: category {category!r} != {categories[ind]!r} of indicator {ind}")
        unknown = set(raw) - {"id", "category", "pattern", "example", "counter_example", "weight", "note"}
        if unknown:
            raise PatternError(f"{where}: unknown field(s) {sorted(unknown)}")
        weight = raw.get("weight")
        if weight is not None and not isinstance(weight, (int, float)):
            raise PatternError(f"{where}: 'weight' must be a number")
        entries.append(
            PatternEntry(
                id=ind,
                category=category,
                lang=lang,
                index=i,
                source=src,
                patterns=_as_list(raw.get("pattern"), "pattern", where, True),
                examples=_as_list(raw.get("example"), "example", where, True),
                counter_examples=_as_list(raw.get("counter_example"), "counter_example", where, True),
                weight=float(weight) if weight is not None else None,
            )
        )
    return entries


def register_stems(entries: list[PatternEntry], stems: StemIndex) -> None:
    """Add every `stem*` of the entries to the stem index (before compiling)."""
    for e in entries:
        for p in e.patterns:
            if p.startswith("re:"):
                continue
            for tok in re.split(r"[\s()\-]+", p):
                for alt in tok.lstrip("?").split("|"):
                    if alt.endswith("*") and len(alt) > 2:
                        stems.add(fold(alt[:-1]))


def compile_entry(entry: PatternEntry, stems: StemIndex) -> None:
    """Turn the entry's pattern strings into Matcher patterns or regexes."""
    for p in entry.patterns:
        if p.startswith("re:"):
            try:
                entry.regexes.append(re.compile(p[3:].strip(), re.IGNORECASE))
            except re.error as e:
                raise PatternError(f"{entry.where()}: bad regex {p[3:].strip()!r}: {e}") from e
            continue
        variants = _expand_groups(_group_hyphenated(p), entry)
        for v in variants:
            entry.token_patterns.extend(_compile_tokens(v, entry, stems))
        if len(entry.token_patterns) > MAX_EXPANSION * 4:
            raise PatternError(f"{entry.where()}: pattern {p!r} expands to too many variants")


def _group_hyphenated(p: str) -> str:
    """Rewrite `a|go-go|b` as the phrase group `(a|go =- go|b)` (text splits at hyphens).

    Tokens inside a phrase group are left alone: each phrase is split into tokens later.
    """
    out = []
    depth = 0
    for tok in p.split():
        if (
            depth == 0
            and "|" in tok
            and "(" not in tok
            and ")" not in tok
            and not tok.startswith("?")
            and _HYPHENATED.search(tok)
        ):
            alts = [re.sub(r"(?<=\w)-(?=\w)", " =- ", a) for a in tok.split("|")]
            tok = "(" + "|".join(alts) + ")"
        else:
            depth += tok.count("(") - tok.count(")")
        out.append(tok)
    return " ".join(out)


_GROUP = re.compile(r"\(([^()]*)\)")


def _expand_groups(p: str, entry: PatternEntry) -> list[str]:
    """Expand phrase groups: "(за рубеж*|за границ*) работ*" -> two patterns."""
    if p.count("(") != p.count(")"):
        raise PatternError(f"{entry.where()}: unbalanced parentheses in pattern {p!r}")
    m = _GROUP.search(p)
    if not m:
        return [p]
    out: list[str] = []
    for alt in m.group(1).split("|"):
        alt = alt.strip()
        if not alt:
            raise PatternError(f"{entry.where()}: empty phrase alternative in pattern {p!r}")
        out.extend(_expand_groups(p[: m.start()] + " " + alt + " " + p[m.end() :], entry))
        if len(out) > MAX_EXPANSION:
            raise PatternError(f"{entry.where()}: pattern {p!r} expands to too many variants")
    return out


@dataclass(frozen=True, slots=True)
class Slot:
    """One position of a token pattern: a token test, or a gap of up to `gap` tokens.

    A token passes when its form is in `orth`, its lemma in `lemma`, its stem key in
    `norm`, or (with `num`) it is a number.
    """

    orth: frozenset[str] = frozenset()
    lemma: frozenset[str] = frozenset()
    norm: frozenset[str] = frozenset()
    num: bool = False
    optional: bool = False
    gap: int = 0

    def test(self, orth: str, lemma: str, norm: str) -> bool:
        return orth in self.orth or lemma in self.lemma or norm in self.norm or (self.num and orth.isdigit())


def _compile_tokens(p: str, entry: PatternEntry, stems: StemIndex) -> list[list[Slot]]:
    toks = []
    for tok in p.split():
        # Text is tokenized at hyphens, so "колл-центр*" means three tokens: колл, -, центр*.
        if "|" not in tok and _HYPHENATED.search(tok):
            parts = tok.split("-")
            for j, part in enumerate(parts):
                if j:
                    toks.append("=-")
                toks.append(part)
        elif _HYPHENATED.search(tok):
            raise PatternError(
                f"{entry.where()}: hyphenated word inside alternatives {tok!r} of pattern {p!r}; "
                "write it as its own pattern"
            )
        else:
            toks.append(tok)
    if not toks:
        raise PatternError(f"{entry.where()}: empty pattern")
    slots: list[Slot] = []
    for tok in toks:
        gap = _GAP.match(tok)
        if gap:
            slots.append(Slot(gap=int(gap.group(1))))
            continue
        optional = tok.startswith("?")
        body = tok[1:] if optional else tok
        if not body:
            raise PatternError(f"{entry.where()}: bad token {tok!r} in pattern {p!r}")
        orth: set[str] = set()
        lemma: set[str] = set()
        norm: set[str] = set()
        num = False
        for alt in body.split("|"):
            if not alt:
                raise PatternError(f"{entry.where()}: empty alternative in {tok!r} of pattern {p!r}")
            if alt == "<num>":
                num = True
            elif alt.startswith("="):
                orth.add(fold(alt[1:]))
            elif alt.endswith("*"):
                stem = fold(alt[:-1])
                if len(stem) < 2 or "*" in stem:
                    raise PatternError(f"{entry.where()}: bad stem {alt!r} in pattern {p!r}")
                norm.update(stems.expand(stem))
            elif "*" in alt or "?" in alt:
                raise PatternError(f"{entry.where()}: bad token {alt!r} in pattern {p!r}")
            else:
                lemma.add(lemma_of(fold(alt)))
        slots.append(Slot(frozenset(orth), frozenset(lemma), frozenset(norm), num, optional))
    while slots and slots[-1].gap:
        slots.pop()
    if not slots or slots[0].gap:
        raise PatternError(f"{entry.where()}: pattern {p!r} may not start with a gap")
    if slots[0].optional:
        # An optional first token: one variant with it required, one without it.
        first = slots[0]
        with_first = [Slot(first.orth, first.lemma, first.norm, first.num, False)] + slots[1:]
        rest = slots[1:]
        out = [with_first]
        if rest and not rest[0].gap:
            out += _expand_optional_head(rest, entry, p)
        return out
    return [slots]


def _expand_optional_head(slots: list[Slot], entry: PatternEntry, p: str) -> list[list[Slot]]:
    if not slots[0].optional:
        return [slots]
    first = slots[0]
    out = [[Slot(first.orth, first.lemma, first.norm, first.num, False)] + slots[1:]]
    if len(slots) > 1 and not slots[1].gap:
        out += _expand_optional_head(slots[1:], entry, p)
    return out


# -- literal cues of regexes ------------------------------------------------------------

try:  # the regex parser behind `re` (private; without it regexes simply get no cues)
    from re import _constants as _sre_c, _parser as _sre_p
except ImportError:  # pragma: no cover - other Python versions
    _sre_c = _sre_p = None  # type: ignore[assignment]

#: Letters a cue may hold: lowercasing them is one character for one, whatever the context.
_CUE_CHAR = re.compile(r"[\x20-\x7e\u0400-\u04ff]")


def required_literals(rx: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lowercase strings one of which every match of `rx` contains, or None if unknown.

    Read from the parsed regex: a run of literal characters is required, a group or a
    repeat at least once passes on its inner requirement, a branch needs one of its
    branches' requirements (all branches must have one); the longest choice is kept.
    Used as a prefilter: when none of the strings is in the lowered text, `rx` cannot
    match there (for a case-insensitive regex too, see `casefold.lowered`), and
    the search over the whole text is skipped.
    """
    if _sre_p is None:
        return None
    try:
        parsed = _sre_p.parse(rx.pattern, rx.flags)
    except Exception:  # noqa: BLE001 - any parser difference: no prefilter
        return None
    found = _required(list(parsed))
    return tuple(sorted(found)) if found else None


def _required(items: list) -> frozenset[str] | None:
    c = _sre_c
    cands: list[frozenset[str]] = []
    run = ""
    for op, av in items:
        if op is c.LITERAL and _CUE_CHAR.fullmatch(chr(av)):
            run += chr(av).lower()
            continue
        if run:
            cands.append(frozenset([run]))
            run = ""
        inner: frozenset[str] | None = None
        if op is c.SUBPATTERN:
            inner = _required(list(av[-1]))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)) and av[0] >= 1:
            inner = _required(list(av[2]))
        elif op is c.BRANCH:
            alts = [_required(list(b)) for b in av[1]]
            if all(alts):
                inner = frozenset().union(*alts)  # type: ignore[arg-type]
        if inner:
            cands.append(inner)
    if run:
        cands.append(frozenset([run]))
    if not cands:
        return None
    return max(cands, key=lambda s: (min(map(len, s)), -len(s)))
