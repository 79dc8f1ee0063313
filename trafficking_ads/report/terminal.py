"""The terminal view of an `Explanation`, drawn with rich.

Ad text is untrusted: it is only ever placed in `rich.text.Text` objects (never parsed as
rich markup) and its control and bidi characters are shown as visible markers, so an ad
can neither restyle the view nor send escape sequences to the terminal.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .explain import Explanation, neutralize

BAND_STYLES = {"high": "bold white on red", "medium": "bold black on yellow", "low": "bold white on green"}

#: Highlight colours cycled over indicators, in the order they are listed.
PALETTE = (
    "on dark_red",
    "on dark_orange3",
    "on dark_magenta",
    "on blue3",
    "on dark_green",
    "on purple4",
    "on deep_pink4",
    "on dark_cyan",
)


def _styles(expl: Explanation) -> dict[str, str]:
    return {ind.id: PALETTE[n % len(PALETTE)] for n, ind in enumerate(expl.indicators)}


def highlighted(expl: Explanation, field_name: str) -> Text:
    """A field's text with every located evidence span in its indicator's colour."""
    styles = _styles(expl)
    out = Text()
    for piece, ids in expl.segments(field_name):
        style = styles.get(ids[0], "reverse") + " bold" if ids else ""
        out.append(neutralize(piece), style=style)
    return out


def _bar(value: float, width: int = 20) -> Text:
    n = max(0, min(width, round(abs(value) * width)))
    return Text("█" * n, style="red" if value > 0 else "green")


def render(expl: Explanation) -> RenderableType:
    """The whole view: verdict, highlighted text, indicators, components, network."""
    head = Text()
    head.append("Risk ", style="bold")
    head.append(f"{expl.risk:.3f}  ")
    head.append(f" {expl.band.upper()} ", style=BAND_STYLES.get(expl.band, "bold"))
    head.append("   Language ", style="bold")
    head.append(neutralize(expl.lang or "unknown"))
    head.append("   Model ", style="bold")
    head.append(neutralize(f"{expl.model.name} {expl.model.version}"))
    meta = Text()
    for label, value in (("Source", expl.source), ("URL", expl.url), ("Posted", expl.posted_at)):
        if value:
            meta.append(f"{label}: ", style="dim")
            meta.append(neutralize(value) + "\n")
    parts: list[RenderableType] = [head]
    if meta:
        parts.append(meta.rstrip() or meta)

    for name in expl.fields:
        body = highlighted(expl, name)
        parts.append(Panel(body, title=Text(name), title_align="left", border_style="dim"))

    if expl.indicators:
        styles = _styles(expl)
        table = Table(title="Indicators", title_justify="left", expand=True)
        table.add_column("indicator", no_wrap=True)
        table.add_column("category")
        table.add_column("weight", justify="right")
        table.add_column("evidence", ratio=1)
        for ind in expl.indicators:
            ev = Text()
            for n, e in enumerate(ind.evidence):
                if n:
                    ev.append(" · ", style="dim")
                ev.append("“" + neutralize(e.text) + "”")
                if e.field != "text":
                    ev.append(f" ({e.field})", style="dim")
                if not e.located:
                    ev.append(" [not found in ad]", style="italic yellow")
            table.add_row(
                Text(neutralize(ind.id), style=styles[ind.id]), Text(neutralize(ind.category)), f"{ind.weight:+.2f}", ev
            )
        parts.append(table)
    else:
        parts.append(Text("No indicators found.", style="italic"))

    comp = Table(title="How the risk was built", title_justify="left", expand=False)
    comp.add_column("part")
    comp.add_column("value", justify="right")
    comp.add_column("", no_wrap=True)
    if expl.contributions:
        for p in expl.contributions:
            comp.add_row(Text("contribution: " + neutralize(p.label)), f"{p.value:+.3f}", _bar(p.value))
    for p in expl.scores:
        comp.add_row(Text(neutralize(p.label)), f"{p.value:.3f}", "")
    comp.add_row(Text("indicator weights, total"), f"{expl.indicator_weight_total:+.2f}", "")
    parts.append(comp)
    if not expl.contributions:
        parts.append(
            Text("The model reported no per-part contributions (no contrib_* components).", style="dim italic")
        )

    if expl.network:
        net = Table(title="Network", title_justify="left", show_header=False)
        net.add_column("key", style="bold")
        net.add_column("value")
        for key, value in expl.network.items():
            net.add_row(Text(neutralize(str(key))), Text(neutralize(str(value))))
        parts.append(net)

    return Panel(Group(*parts), title=Text("Ad " + neutralize(expl.ad_id)), title_align="left")


def print_explanation(expl: Explanation, console: Console | None = None) -> None:
    """Print the view to `console` (default: stdout)."""
    (console or Console()).print(render(expl))
