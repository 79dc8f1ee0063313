"""The report's embedded data: every ad as a compact row, strings interned in tables.

A 50,000-ad report must stay small and parse fast, so each ad is a JSON array (positions
in `COLUMNS`, mirrored in the page script) and repeated strings (indicator ids, languages,
sources, component names, fields, models) are indexes into shared lists. Evidence offsets
are converted to UTF-16 code units, because JavaScript strings index that way and ads are
full of emoji.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..records import Assessment
from .explain import Explanation, explain

#: Row layout (the page script reads rows by these positions).
COLUMNS = (
    "id",
    "risk",
    "band",
    "lang",
    "source",
    "title",
    "text",
    "url",
    "linkable",
    "posted_at",
    "hits",
    "components",
    "network",
    "extra",
    "model",
)
#: Lone surrogates (not UTF-8 encodable) and bidi/C1 controls (which would reorder the
#: file's text in an editor) are written as \u escapes.
_ESCAPE_MORE = re.compile("[\ud800-\udfff\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BANDS = ("low", "medium", "high")
#: Ad fields besides title and text that the per-ad view shows (and evidence may point at).
EXTRA_FIELDS = ("company_name", "location", "contacts")


def is_web_url(url: str | None) -> bool:
    """Only http(s) URLs with a host become links; `javascript:`, `data:` and the rest stay text."""
    if not url or any(c in url for c in "\x00\r\n\t") or url != url.strip():
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def utf16_index(text: str):
    """A function mapping code-point offsets in `text` to UTF-16 offsets (identity if no astral chars)."""
    if text.isascii() or max(text) <= "\uffff":
        return lambda i: i
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return lambda i: prefix[max(0, min(i, len(text)))]


class Interner:
    """A list of distinct strings and their indexes."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._index: dict[Any, int] = {}

    def __call__(self, value: Any) -> int:
        idx = self._index.get(value)
        if idx is None:
            idx = self._index[value] = len(self.items)
            self.items.append(value)
        return idx


@dataclass
class ReportData:
    """Accumulates ads into rows; `to_json()` is what the page embeds."""

    max_text: int = 100_000
    rows: list[list[Any]] = field(default_factory=list)
    indicators: Interner = field(default_factory=Interner)
    categories: dict[str, str] = field(default_factory=dict)
    langs: Interner = field(default_factory=Interner)
    sources: Interner = field(default_factory=Interner)
    fields: Interner = field(default_factory=Interner)
    components: Interner = field(default_factory=Interner)
    models: Interner = field(default_factory=Interner)
    labels: dict[str, str] = field(default_factory=dict)
    truncated: int = 0

    def add(self, ad: Mapping[str, Any], assessment: Assessment) -> Explanation:
        """Add one scored ad; returns its explanation (the overview reuses it)."""
        expl = explain(ad, assessment)
        texts = {name: value for name, value in expl.fields.items()}
        cut = {}
        for name, value in texts.items():
            if self.max_text and len(value) > self.max_text:
                cut[name] = self.max_text
                texts[name] = value[: self.max_text]
                self.truncated += 1
        to16 = {name: utf16_index(value) for name, value in texts.items()}
        hits = []
        for ind in expl.indicators:
            idx = self.indicators(ind.id)
            self.categories.setdefault(ind.id, ind.category)
            spans: list[list[Any]] = []
            for ev in ind.evidence:
                limit = cut.get(ev.field)
                if ev.located and ev.field in to16 and not (limit and ev.end > limit):
                    conv = to16[ev.field]
                    spans.append([self.fields(ev.field), conv(ev.start), conv(ev.end)])
                else:
                    spans.append([-1, ev.text])
            hits.append([idx, round(ind.weight, 4), spans])
        comps = []
        for part in (*expl.contributions, *expl.scores):
            self.labels.setdefault(part.key, part.label)
            comps.append([self.components(part.key), round(part.value, 5)])
        extra = {name: texts[name] for name in texts if name not in ("title", "text")}
        for name, limit in cut.items():
            extra.setdefault("_truncated", {})[name] = len(expl.fields[name]) - limit
        url = expl.url or ""
        self.rows.append(
            [
                expl.ad_id,
                round(expl.risk, 4),
                BANDS.index(expl.band),
                self.langs(expl.lang or ""),
                self.sources(expl.source or ""),
                texts.get("title", ""),
                texts.get("text", ""),
                url,
                1 if is_web_url(url) else 0,
                expl.posted_at or "",
                hits,
                comps,
                {k: v for k, v in expl.network.items() if v is not None and v != [] and v != {}}
                if expl.network
                else None,
                extra or 0,
                self.models(f"{expl.model.name} {expl.model.version}"),
            ]
        )
        return expl

    def to_obj(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "meta": dict(meta),
            "columns": COLUMNS,
            "bands": BANDS,
            "indicators": self.indicators.items,
            "categories": [self.categories[i] for i in self.indicators.items],
            "langs": self.langs.items,
            "sources": self.sources.items,
            "fields": self.fields.items,
            "components": self.components.items,
            "component_labels": [self.labels[k] for k in self.components.items],
            "models": self.models.items,
            "ads": self.rows,
        }


def script_safe_json(obj: Any) -> str:
    """JSON that cannot end a `<script>` block or break a JS parser, whatever the strings hold.

    `<`, `>` and `&` become \\u escapes (so no `</script>` or `<!--`), as do U+2028/U+2029;
    so do lone surrogates (the output is always valid UTF-8) and bidi controls.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return _ESCAPE_MORE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
