"""The report's overview: counts by band, language and source, a risk histogram, the most
frequent indicators and the largest networks, drawn as static HTML with inline SVG.

Computed once in Python over all ads, so the page needs no script to show it. Every
string that came from an ad or a file is escaped here (and its bidi/control characters
made visible) before it reaches markup.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .explain import Explanation, neutralize

BANDS = ("low", "medium", "high")
HIST_BINS = 20


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute, with bidi controls neutralized."""
    return html.escape(neutralize(str(value)), quote=True)


@dataclass
class Overview:
    """Running totals over the ads of a report."""

    n: int = 0
    bands: Counter = field(default_factory=Counter)
    langs: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    indicators: Counter = field(default_factory=Counter)
    categories: dict[str, str] = field(default_factory=dict)
    hist: list[list[int]] = field(default_factory=lambda: [[0, 0, 0] for _ in range(HIST_BINS)])
    clusters: dict[tuple[str, str], dict[str, Any]] = field(
        default_factory=lambda: defaultdict(
            lambda: {"ads": 0, "max_risk": 0.0, "high": 0, "reported_size": 0, "notes": {}}
        )
    )
    models: Counter = field(default_factory=Counter)
    against: set[str] = field(default_factory=set)  # indicators seen with negative weight

    def add(self, expl: Explanation) -> None:
        self.n += 1
        band = BANDS.index(expl.band)
        self.bands[expl.band] += 1
        self.langs[expl.lang or "unknown"] += 1
        self.sources[expl.source or "unknown"] += 1
        self.models[f"{expl.model.name} {expl.model.version}"] += 1
        self.hist[min(HIST_BINS - 1, int(expl.risk * HIST_BINS))][band] += 1
        for ind in {i.id: i for i in expl.indicators}.values():
            self.indicators[ind.id] += 1
            self.categories.setdefault(ind.id, ind.category)
            if ind.weight < 0:
                self.against.add(ind.id)
        for kind, value in (expl.network or {}).items():
            if not kind.endswith("_cluster") or value is None or isinstance(value, (dict, list)):
                continue
            c = self.clusters[(kind, str(value))]
            c["ads"] += 1
            c["max_risk"] = max(c["max_risk"], expl.risk)
            c["high"] += expl.band == "high"
            net = expl.network or {}
            # the clustering stage writes <kind>_size (template_size, contact_size); older files cluster_size
            size = net.get(kind[: -len("_cluster")] + "_size", net.get("cluster_size"))
            if isinstance(size, (int, float)) and not isinstance(size, bool):
                c["reported_size"] = max(c["reported_size"], int(size))
            notes = net.get("shared_contacts") if kind == "contact_cluster" else None
            for note in [*(notes or [])[:3], *(net.get("reasons") or [])]:
                if isinstance(note, str) and len(c["notes"]) < 4:
                    c["notes"][note] = None

    # ---- rendering -------------------------------------------------------------------

    def html(self, top: int = 15) -> str:
        """The overview section's inner HTML."""
        parts = [self._cards(), '<div class="charts">', self._histogram()]
        parts.append(self._bars("By language", self.langs, top, "lang"))
        parts.append(self._bars("By source", self.sources, top, "src"))
        parts.append(self._bars("Most frequent indicators", self.indicators, 20, "ind", self.categories))
        parts.append("</div>")
        parts.append(self._networks(top))
        return "".join(parts)

    def _cards(self) -> str:
        out = [f'<div class="cards"><div class="card"><span class="num">{self.n:,}</span> ads</div>']
        for band in reversed(BANDS):
            k = self.bands[band]
            pct = 100 * k / self.n if self.n else 0
            out.append(
                f'<button type="button" class="card band-{band}" data-filter="band" data-value="{band}">'
                f'<span class="num">{k:,}</span> {band} <span class="pct">{pct:.1f}%</span></button>'
            )
        out.append("</div>")
        return "".join(out)

    def _histogram(self) -> str:
        w, h, pad_l, pad_b, pad_t = 420, 190, 34, 30, 10
        bw = (w - pad_l - 6) / HIST_BINS
        peak = max((sum(b) for b in self.hist), default=0) or 1
        out = [
            f'<figure class="chart"><figcaption>Risk histogram</figcaption>'
            f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="Risk histogram">'
        ]
        ch = h - pad_b - pad_t
        for tick in (0, peak // 2, peak):
            y = pad_t + ch - ch * tick / peak
            out.append(
                f'<line class="grid" x1="{pad_l}" x2="{w - 4}" y1="{y:.1f}" y2="{y:.1f}"/>'
                f'<text class="axis" x="{pad_l - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>'
            )
        for i, counts in enumerate(self.hist):
            x = pad_l + i * bw
            y = pad_t + ch
            for band, k in zip(BANDS, counts):
                if not k:
                    continue
                bh = ch * k / peak
                y -= bh
                lo, hi = i / HIST_BINS, (i + 1) / HIST_BINS
                out.append(
                    f'<rect class="bar band-{band}" x="{x + 1:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}">'
                    f"<title>risk {lo:.2f}–{hi:.2f}, {band}: {k:,}</title></rect>"
                )
        for v in (0, 0.25, 0.5, 0.75, 1.0):
            x = pad_l + v * HIST_BINS * bw
            out.append(f'<text class="axis" x="{x:.1f}" y="{h - pad_b + 16}" text-anchor="middle">{v:g}</text>')
        out.append(f'<text class="axis" x="{w / 2:.0f}" y="{h - 2}" text-anchor="middle">risk</text></svg></figure>')
        return "".join(out)

    def _bars(self, title: str, counter: Counter, top: int, filt: str, notes: dict[str, str] | None = None) -> str:
        items = counter.most_common(top)
        rest = sum(counter.values()) - sum(k for _, k in items)
        out = [f'<figure class="chart"><figcaption>{esc(title)}</figcaption>']
        if not items:
            return out[0] + '<p class="empty">none</p></figure>'
        peak = items[0][1] or 1
        row_h, label_w, w = 20, 190, 420
        h = row_h * len(items) + 4
        out.append(f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{esc(title)}">')
        for n, (name, k) in enumerate(items):
            y = n * row_h + 2
            bar = (w - label_w - 60) * k / peak
            label = name if len(name) <= 28 else name[:27] + "…"
            tip = f"{name} ({notes[name]})" if notes and name in notes else name
            neg = filt == "ind" and name in self.against
            tip += " (evidence against risk)" if neg else ""
            out.append(
                f'<g class="row" data-filter="{filt}" data-value="{esc(name)}" tabindex="0" role="button">'
                f"<title>{esc(tip)}: {k:,}</title>"
                f'<text class="label" x="{label_w - 6}" y="{y + 14}" text-anchor="end">{esc(label)}</text>'
                f'<rect class="bar{" against" if neg else ""}" x="{label_w}" y="{y + 3}" width="{max(bar, 1):.1f}" height="{row_h - 6}"/>'
                f'<text class="value" x="{label_w + bar + 4:.1f}" y="{y + 14}">{k:,}</text></g>'
            )
        out.append("</svg>")
        if rest > 0:
            out.append(f'<p class="more">and {rest:,} more in {len(counter) - len(items):,} others</p>')
        out.append("</figure>")
        return "".join(out)

    def _networks(self, top: int) -> str:
        if not self.clusters:
            return (
                '<section class="networks"><h3>Networks</h3><p class="empty">No cluster data in these files '
                "(run <code>trafficking-ads cluster</code> to add it).</p></section>"
            )
        ranked = sorted(self.clusters.items(), key=lambda kv: (-kv[1]["ads"], -kv[1]["max_risk"], kv[0]))[:top]
        out = [
            '<section class="networks"><h3>Networks: largest clusters</h3><table class="clusters"><thead><tr>'
            "<th>cluster</th><th>ads here</th><th>size (reported)</th><th>high</th><th>max risk</th>"
            "<th>shared contacts, reasons</th><th></th>"
            "</tr></thead><tbody>"
        ]
        for (kind, value), c in ranked:
            out.append(
                f"<tr><td>{esc(kind.replace('_cluster', ''))} <bdi>{esc(value)}</bdi></td><td>{c['ads']:,}</td>"
                f"<td>{c['reported_size']:,}</td><td>{c['high']:,}</td><td>{c['max_risk']:.3f}</td>"
                f'<td class="notes">{"; ".join(f"<bdi>{esc(n)}</bdi>" for n in c["notes"])}</td>'
                f'<td><button type="button" class="show-cluster" data-kind="{esc(kind)}" data-value="{esc(value)}">'
                f"show ads</button></td></tr>"
            )
        out.append(f'</tbody></table><p class="more">{len(self.clusters):,} clusters in all</p></section>')
        return "".join(out)
