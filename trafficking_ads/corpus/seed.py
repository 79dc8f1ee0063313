"""The project's own labelled seed set: `data/seed/<lang>.jsonl`.

No public labelled Russian or Kazakh trafficking-recruitment data exists, so the project
writes its own: each line is one ad with its label, the indicator ids it shows, the
template family it belongs to (so splits keep a family together) and whether it is a hard
negative (a legitimate ad that looks risky). Format, one JSON object per line::

    {"id": "seed-ru-0001", "lang": "ru", "label": 0|1, "title": "...", "text": "...",
     "indicators": ["travel_abroad_offer"], "template": "ru-dubai-hostess",
     "hard_negative": false, "style": "telegram"}

`parallel.tsv` beside the files links templates written as translations of each other
(`en_template<TAB>kk_template<TAB>relation`): a translation is the same ad, so both share
one template family, or a cross-lingual model would meet test ads in training.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..problems import DataError, Problems, json_object_lines
from ..checkout import checkout_path, missing_checkout_data
from ..records import Ad
from .loaders import binary_label

SEED_LANGS = ("ru", "kk", "en")


def default_seed_dir() -> Path:
    """`data/seed` in the checkout (checkout-only: a wheel does not carry it)."""
    return checkout_path("data", "seed")


def written_ad_row(p: Path, i: int, d: dict, problems: Problems, langs: tuple[str, ...], seen: set[str]) -> Ad | None:
    """The fields every written ad file shares (seed and hard set): text, label, lang, a unique
    id, an optional title and a list of indicator ids. A bad field is reported and gives None;
    the Ad is returned without source or meta, for the caller to complete."""
    text = d.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.report(p, i, "text", "missing or empty text")
        return None
    label = binary_label(p, i, d, problems)
    if label is None:
        return None
    lang = d.get("lang")
    if lang not in langs:
        problems.report(p, i, "lang", f"lang must be one of {langs}, got {lang!r}")
        return None
    ad_id = d.get("id")
    if not isinstance(ad_id, str) or not ad_id.strip():
        problems.report(p, i, "id", "missing id")
        return None
    if ad_id in seen:
        problems.report(p, i, "id", f"duplicate id {ad_id!r}")
        return None
    indicators = d.get("indicators") or []
    if not isinstance(indicators, list) or not all(isinstance(x, str) for x in indicators):
        problems.report(p, i, "indicators", "indicators must be a list of indicator ids")
        return None
    title = d.get("title")
    return Ad(
        text=text.strip(),
        id=ad_id,
        title=title.strip() if isinstance(title, str) and title.strip() else None,
        language=lang,
        label=int(label),
        meta={"indicators": indicators},
    )


def load_seed_file(path: str | os.PathLike, *, problems: Problems | None = None) -> list[Ad]:
    """One seed JSONL file as Ads (source "seed"; indicators/template/hard_negative/style in meta)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    problems = problems if problems is not None else Problems()
    ads: list[Ad] = []
    seen: set[str] = set()
    for i, d in json_object_lines(p, problems):
        ad = written_ad_row(p, i, d, problems, SEED_LANGS, seen)
        if ad is None:
            continue
        seen.add(ad.id)
        template = d.get("template")
        ad.source = "seed"
        ad.meta.update(
            {
                "template": str(template) if template not in (None, "") else None,
                "hard_negative": bool(d.get("hard_negative", False)),
                "style": d.get("style"),
                "seed_file": p.name,
            }
        )
        ads.append(ad)
    return ads


def load_seed(seed_dir: str | os.PathLike | None = None, *, problems: Problems | None = None) -> list[Ad]:
    """All `*.jsonl` seed files in a directory (default `data/seed`), in file-name order.

    A missing directory raises MissingDataError (a corpus silently built without its seeds
    would be another corpus). Ids must be unique across files; later duplicates are skipped
    and reported.
    """
    d = Path(seed_dir) if seed_dir else default_seed_dir()
    problems = problems if problems is not None else Problems()
    if not d.is_dir():
        raise missing_checkout_data(d, "the seed set (data/seed)", "seed_dir= (--seed-dir)")
    ads: list[Ad] = []
    seen: set[str] = set()
    for f in sorted(d.glob("*.jsonl")):
        for ad in load_seed_file(f, problems=problems):
            if ad.id in seen:
                problems.report(f, None, "id", f"id {ad.id!r} already used in another seed file")
                continue
            seen.add(ad.id)
            ads.append(ad)
    families = template_families(d / "parallel.tsv")
    for ad in ads:
        own = ad.meta.get("template")
        if own in families:
            ad.meta["seed_template"] = own
            ad.meta["template"] = families[own]
    return ads


def template_families(path: Path) -> dict[str, str]:
    """Template id -> its family id (the first template of its row) from `parallel.tsv`."""
    if not path.is_file():
        return {}
    parent: dict[str, str] = {}

    def find(t: str) -> str:
        while parent.setdefault(t, t) != t:
            t = parent[t]
        return t

    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        cells = [c.strip() for c in line.split("\t")]
        if i == 0 and cells[:2] == ["en_template", "kk_template"]:
            continue
        if len(cells) >= 2 and cells[0] and cells[1]:
            a, b = find(cells[0]), find(cells[1])
            if a != b:
                parent[b] = a
    return {t: find(t) for t in parent}
