"""The analyst HTML report: one self-contained file that works offline.

The page is the template in `assets/` with its CSS and script inlined, the overview
rendered here as static HTML/SVG, and every ad embedded once as JSON in a
`<script type="application/json">` block that the page script renders with DOM APIs.
A Content-Security-Policy meta (`default-src 'none'`) allows only that exact inline
script and style, by their SHA-256 hashes: nothing can be fetched and no injected
script or handler can run even if escaping were ever to fail.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import atomic
from ..records import Assessment
from .dataset import ReportData, script_safe_json
from ..scored import Problem, iter_scored
from .overview import Overview, esc

PAGE_SIZE = 100
SNIPPET_CHARS = 160


def asset(name: str) -> str:
    """The text of a file shipped in `trafficking_ads/report/assets/`."""
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def csp_hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline script or style."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(script: str, style: str) -> str:
    """Nothing but the report's own inline script and style; no fetches, frames, forms or base.

    Trusted Types with no policy make every HTML-string sink (innerHTML and the like) throw,
    so the page script can only build the DOM node by node.
    """
    return (
        f"default-src 'none'; script-src {csp_hash(script)}; style-src {csp_hash(style)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
    )


@dataclass
class ReportResult:
    """What `write_report` did: ads written, lines skipped, output size."""

    path: Path
    ads: int
    problems: list[Problem] = field(default_factory=list)
    bytes: int = 0
    truncated_fields: int = 0


def render_report(
    records: Iterable[tuple[Mapping[str, Any], Assessment]],
    title: str = "trafficking-ads report",
    sources: Iterable[str] = (),
    problems: list[Problem] | None = None,
    max_text: int = 100_000,
    networks: list[dict[str, Any]] | None = None,
) -> tuple[str, ReportData]:
    """The report page for (ad fields, Assessment) pairs, as a string.

    `problems` (skipped input lines) are listed in the footer; `max_text` caps each
    embedded field (0 = no cap) so one giant ad cannot bloat the file. `networks` (graphs
    from `trafficking_ads.networks.picture.network_graphs`) adds the network picture, drawn
    offline from embedded data.
    """
    data = ReportData(max_text=max_text)
    overview = Overview()
    for ad, assessment in records:
        overview.add(data.add(ad, assessment))
    problems = problems or []
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    files = list(sources)
    meta = {"title": title, "generated": generated, "files": files, "page_size": PAGE_SIZE, "snippet": SNIPPET_CHARS}
    script, style = asset("report.js"), asset("report.css")
    net_html = ""
    if networks:
        script, style = asset("netgraph.js") + "\n" + script, style + "\n" + asset("netgraph.css")
        net_html = (
            '<section id="networks" aria-labelledby="networks-h"><h2 id="networks-h">Networks</h2>'
            '<div class="netcols"><ol id="netlist"></ol><div><svg id="graph" viewBox="0 0 600 420" role="img" '
            'aria-label="network graph"></svg><p class="note">Circles: ads (colour = band); squares: contacts; '
            'diamonds: templates. Click or press Enter on a node.</p><ul id="nodeads"></ul></div></div>'
            f'<script id="network-data" type="application/json">{script_safe_json(networks)}</script></section>\n'
        )
    models = ", ".join(f"{esc(m)} ({k:,})" for m, k in overview.models.most_common())
    subtitle = f"{overview.n:,} ads from {len(files)} file(s), generated {generated}" + (
        f" · models: {models}" if models else ""
    )
    footer = [
        "<p>Made by trafficking-ads. A risk score is a lead for an analyst to check, not a finding. Files: ",
        ", ".join(f"<bdi>{esc(f)}</bdi>" for f in files) or "none",
        "</p>",
    ]
    if problems:
        footer.append(f"<details><summary>{len(problems):,} input line(s) skipped</summary><ul>")
        footer.extend(f"<li><bdi>{esc(p)}</bdi></li>" for p in problems[:200])
        if len(problems) > 200:
            footer.append(f"<li>… and {len(problems) - 200:,} more</li>")
        footer.append("</ul></details>")
    if data.truncated:
        footer.append(f"<p>{data.truncated:,} very long field(s) were cut to {max_text:,} characters.</p>")
    parts = {
        "CSP": content_security_policy(script, style),
        "TITLE": esc(title),
        "SUBTITLE": subtitle,
        "STYLE": style,
        "SCRIPT": script,
        "OVERVIEW": overview.html(),
        "FOOTER": "".join(footer),
        "NETWORKS": net_html,
        "DATA": script_safe_json(data.to_obj(meta)),
    }
    # One pass over the template: text substituted in is never scanned for placeholders again.
    page = re.sub(r"__([A-Z]+)__", lambda m: parts[m.group(1)], asset("report.html"))
    return page, data


def write_report(
    inputs: Iterable[str | os.PathLike],
    output: str | os.PathLike,
    title: str = "trafficking-ads report",
    strict: bool = False,
    max_text: int = 100_000,
    networks: bool = False,
) -> ReportResult:
    """Build the report from scored JSONL files and write it atomically to `output`.

    Bad lines are skipped and returned in `problems`; under `strict` the first raises
    `ScoredInputError` and nothing is written. `networks` clusters the ads (as `score --cluster`)
    and adds the network picture.
    """
    inputs = [Path(p) for p in inputs]
    problems: list[Problem] = []
    records: Iterable = iter_scored(inputs, problems, strict)
    graphs = None
    if networks:
        from ..networks import annotate
        from ..networks.picture import network_graphs

        records = list(records)
        graphs = network_graphs(records, annotate(records))
    page, data = render_report(
        records, title=title, sources=[p.name for p in inputs], problems=problems, max_text=max_text, networks=graphs
    )
    out = Path(output)
    atomic.write_text(out, page)
    size = len(page.encode("utf-8"))
    return ReportResult(out, len(data.rows), problems, size, data.truncated)
