"""Why an ad got its risk: an `Explanation` built from an `Assessment` and its `Ad`.

This module only rearranges what the scorer already decided; it never re-scores. It
checks each evidence span against the ad (scorers, files and hand edits can disagree),
relocates a span whose offsets drifted, and splits the model's `components` into
per-part contributions (keys starting with `contrib_`) and the raw scores, so that the
terminal view, `--json` and the HTML report all show the same facts.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from ..records import Ad, Assessment, ModelInfo

#: Ad fields an explanation carries for display, in display order.
DISPLAY_FIELDS = ("title", "company_name", "location", "contacts", "text")

#: Human labels for component keys the scorers are known to write; others show as-is.
COMPONENT_LABELS = {
    "indicator_score": "indicator score",
    "transformer_prob": "transformer probability",
    "fused": "fused score",
    "calibrated": "calibrated risk",
    "bias": "bias / intercept",
    "transformer": "transformer",
    "indicators": "indicators",
    "network": "network signals",
    "lexical": "lexical model",
    "lexical_prob": "lexical model probability",
    "metadata": "metadata flags",
    "baseline": "baseline (intercept, centring)",
}

#: Contribution keys of single indicators: `contrib_ind_<indicator id>` (see model/signals.py).
INDICATOR_PART = "ind_"

#: Prefix of component keys that hold one part's contribution to the fused risk.
CONTRIB_PREFIX = "contrib_"

#: Characters that can reorder or hide displayed text (bidi controls) or drive a terminal
#: (C0/C1 controls other than tab and newline). Views show them as visible markers.
UNSAFE_CHARS = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def char_marker(ch: str) -> str:
    """The visible stand-in for an unsafe character, e.g. ``[U+202E]``."""
    return f"[U+{ord(ch):04X}]"


def neutralize(text: str) -> str:
    """Replace bidi and control characters with visible markers (for display only)."""
    return UNSAFE_CHARS.sub(lambda m: char_marker(m.group()), text)


@dataclass(slots=True)
class EvidenceView:
    """One evidence span as checked against the ad.

    `located` is False when the span's text is not in the ad's field at all; it is then
    listed but not highlighted. `moved` is True when the offsets were corrected.
    """

    field: str
    start: int
    end: int
    text: str
    located: bool = True
    moved: bool = False


@dataclass(slots=True)
class IndicatorView:
    """One indicator with its evidence; negative weight = evidence against risk."""

    id: str
    category: str
    weight: float
    evidence: list[EvidenceView] = field(default_factory=list)


@dataclass(slots=True)
class Part:
    """One named number from the assessment's components."""

    key: str
    label: str
    value: float


@dataclass(slots=True)
class Explanation:
    """Everything an analyst needs to see why an ad was scored as it was."""

    ad_id: str
    risk: float
    band: str
    lang: str | None
    model: ModelInfo
    indicators: list[IndicatorView]
    contributions: list[Part]
    scores: list[Part]
    network: dict[str, Any] | None
    fields: dict[str, str]
    url: str | None = None
    source: str | None = None
    posted_at: str | None = None

    @property
    def indicator_weight_total(self) -> float:
        """Sum of indicator weights (what the rule side alone adds up to)."""
        return sum(i.weight for i in self.indicators)

    @property
    def unlocated(self) -> list[tuple[str, EvidenceView]]:
        """(indicator id, evidence) pairs whose text was not found in the ad."""
        return [(i.id, e) for i in self.indicators for e in i.evidence if not e.located]

    def highlights(self, field_name: str) -> list[tuple[int, int, str]]:
        """Located (start, end, indicator id) spans in one field, sorted."""
        spans = [
            (e.start, e.end, i.id)
            for i in self.indicators
            for e in i.evidence
            if e.located and e.field == field_name and e.end > e.start
        ]
        return sorted(spans)

    def segments(self, field_name: str) -> list[tuple[str, tuple[str, ...]]]:
        """The field's text cut at evidence boundaries: (piece, ids of indicators covering it).

        Overlapping spans are handled: each piece lists every indicator that covers it.
        """
        text = self.fields.get(field_name) or ""
        return segment(text, self.highlights(field_name))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what `trafficking-ads explain --json` prints)."""
        d = asdict(self)
        d["indicator_weight_total"] = self.indicator_weight_total
        return d


def segment(text: str, spans: Iterable[tuple[int, int, str]]) -> list[tuple[str, tuple[str, ...]]]:
    """Cut `text` at span boundaries; each piece carries the labels of spans covering it."""
    spans = [(max(0, s), min(len(text), e), label) for s, e, label in spans if e > s]
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out: list[tuple[str, tuple[str, ...]]] = []
    for a, b in zip(cuts, cuts[1:]):
        if b <= a:
            continue
        labels = tuple(dict.fromkeys(label for s, e, label in spans if s <= a and b <= e))
        if out and out[-1][1] == labels:
            out[-1] = (out[-1][0] + text[a:b], labels)
        else:
            out.append((text[a:b], labels))
    return out


def locate(value: str | None, start: int, end: int, text: str) -> tuple[int, int, bool, bool]:
    """Check a span against its field: (start, end, located, moved).

    Offsets that do not match are corrected to the occurrence of `text` nearest `start`
    (case-insensitively as a last resort), because files get edited and scorers disagree.
    """
    if not value or not text:
        return start, end, False, False
    if 0 <= start <= end <= len(value) and value[start:end] == text:
        return start, end, True, False
    for hay, needle in ((value, text), (value.casefold(), text.casefold())):
        if len(hay) != len(value):  # casefold changed lengths: offsets would be wrong
            continue
        hits = [m.start() for m in re.finditer(re.escape(needle), hay)]
        if hits:
            best = min(hits, key=lambda h: abs(h - start))
            return best, best + len(text), True, True
    return start, end, False, False


def _ad_from(ad: Ad | Mapping[str, Any] | str, ad_id: str) -> Ad:
    if isinstance(ad, Ad):
        return ad
    if isinstance(ad, str):
        return Ad(text=ad, id=ad_id)
    d = dict(ad)
    d.setdefault("id", ad_id)
    d["text"] = d.get("text") or ""
    return Ad.from_dict(d)


def split_components(components: Mapping[str, float]) -> tuple[list[Part], list[Part]]:
    """(contributions, scores): `contrib_*` keys are per-part contributions, the rest scores."""
    contributions, scores = [], []
    for key, value in components.items():
        if key.startswith(CONTRIB_PREFIX):
            name = key[len(CONTRIB_PREFIX) :]
            label = (
                f"indicator {name[len(INDICATOR_PART) :]}"
                if name.startswith(INDICATOR_PART)
                else COMPONENT_LABELS.get(name, name.replace("_", " "))
            )
            contributions.append(Part(key, label, float(value)))
        else:
            scores.append(Part(key, COMPONENT_LABELS.get(key, key.replace("_", " ")), float(value)))
    contributions.sort(key=lambda p: -abs(p.value))
    return contributions, scores


def explain(ad: Ad | Mapping[str, Any] | str, assessment: Assessment) -> Explanation:
    """Build the explanation of `assessment` for `ad` (an Ad, a scored line's "ad" dict, or text)."""
    ad = _ad_from(ad, assessment.ad_id)
    indicators = []
    for hit in sorted(assessment.indicators, key=lambda h: -h.weight):
        views = []
        for ev in hit.evidence:
            value = getattr(ad, ev.field, None) if ev.field in Ad.__slots__ else None
            value = value if isinstance(value, str) else None
            start, end, located, moved = locate(value, ev.start, ev.end, ev.text)
            views.append(EvidenceView(ev.field, start, end, ev.text, located, moved))
        indicators.append(IndicatorView(hit.id, hit.category, hit.weight, views))
    contributions, scores = split_components(assessment.components)
    fields = {name: getattr(ad, name) for name in DISPLAY_FIELDS if getattr(ad, name)}
    for ind in indicators:  # evidence may point at fields not displayed by default
        for ev in ind.evidence:
            value = getattr(ad, ev.field, None) if ev.field in Ad.__slots__ else None
            if ev.located and isinstance(value, str):
                fields.setdefault(ev.field, value)
    return Explanation(
        ad_id=assessment.ad_id,
        risk=assessment.risk,
        band=assessment.band,
        lang=assessment.lang,
        model=assessment.model,
        indicators=indicators,
        contributions=contributions,
        scores=scores,
        network=assessment.network,
        fields=fields,
        url=ad.url,
        source=ad.source,
        posted_at=ad.posted_at,
    )
