"""Readers for the public job-ad formats the project trains on: one function per format.

Users bring the same formats from the original sources (the Kaggle "Real or Fake Job
Posting" CSV, its preprocessed derivatives, the DIFrauD benchmark, superjob/hh.ru exports),
so these are a feature, not only a build step. Each returns `Ad`s with `label`, `source`,
`language` and the source's structured fields in `ad.meta`; rows that cannot be used are
skipped and reported through `Problems` (or raise `DataError` under strict).
"""

from __future__ import annotations

import ast
import csv
import html
import json
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from ..checkout import checkout_root
from ..errors import MissingDataError
from ..problems import DataError, Problems, json_object_lines
from ..records import Ad


def binary_label(path: Path, row: int, d: dict[str, Any], problems: Problems) -> int | None:
    """The row's "label" if it is 0 or 1 (not a bool); otherwise reported, and None."""
    label = d.get("label")
    if label not in (0, 1) or isinstance(label, bool):
        problems.report(path, row, "label", f"label must be 0 or 1, got {label!r}")
        return None
    return label


SHARED_DATA_ENV = "TRAFFICKING_ADS_SHARED_DATA"

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

#: EMSCAD columns copied to `ad.meta` (the Kaggle spelling; `function.` is read as `function`).
EMSCAD_META = (
    "department",
    "employment_type",
    "required_experience",
    "required_education",
    "industry",
    "function",
    "telecommuting",
    "has_company_logo",
    "has_questions",
)
EMSCAD_FLAGS = ("telecommuting", "has_company_logo", "has_questions")

#: Meta note on ads that carry label 0 only because a platform published them.
UNVERIFIED_NOTE = "platform ad, unverified"

_HIGHLIGHT = re.compile(r"</?highlighttext>")


def default_shared_data() -> Path:
    """`$TRAFFICKING_ADS_SHARED_DATA`, else `../shared/data` beside the checkout (or the current directory)."""
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return Path(env)
    root = checkout_root()
    return (root.parent if root is not None else Path(".")) / "shared" / "data"


@lru_cache(maxsize=1)
def _language_data() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "data" / "languages.json").read_text(encoding="utf-8"))


def cyrillic_language(text: str) -> str:
    """`kk` when Kazakh-only letters make up enough of the Cyrillic letters, else `ru`.

    A cheap, deterministic check for the ru/kk platform ads; it needs no model.
    """
    data = _language_data()
    kk = set(data["kk_letters"])
    cyr = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    if not cyr:
        return "ru"
    share = sum(1 for ch in text if ch in kk) / cyr
    return "kk" if share >= data["kk_min_share"] else "ru"


def _require(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    return p


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(1-based data row number, row) pairs; `None` cells become ''."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        for i, row in enumerate(reader, start=1):
            yield i, {(k or "").strip(): (v if isinstance(v, str) else "") for k, v in row.items()}


def _label(value: str, path: Path, row: int, field: str, problems: Problems) -> int | None:
    v = (value or "").strip()
    if v in ("0", "1"):
        return int(v)
    if v in ("0.0", "1.0"):
        return int(float(v))
    problems.report(path, row, field, f"label must be 0 or 1, got {v!r}")
    return None


def _join(*parts: str | None) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _clean(value: str | None) -> str | None:
    """Unescape HTML entities (EMSCAD keeps `&amp;`) and strip; '' becomes None."""
    if value is None:
        return None
    v = html.unescape(value).strip()
    return v or None


def load_emscad_raw(path: str | os.PathLike, *, problems: Problems | None = None) -> list[Ad]:
    """The raw EMSCAD CSV (Kaggle "Real or Fake Job Posting" columns).

    text = description + requirements + benefits; label = `fraudulent`. Files without a
    `location` column (some copies drop it) and the `function.` spelling are accepted.
    """
    p = _require(path)
    problems = problems if problems is not None else Problems()
    source = f"emscad:{p.name}"
    ads: list[Ad] = []
    for i, row in _csv_rows(p):
        if "function." in row and "function" not in row:
            row["function"] = row.pop("function.")
        label = _label(row.get("fraudulent", ""), p, i, "fraudulent", problems)
        if label is None:
            continue
        text = _join(*(_clean(row.get(k)) for k in ("description", "requirements", "benefits")))
        title = _clean(row.get("title"))
        if not text and not title:
            problems.report(p, i, "description", "no description, requirements, benefits or title")
            continue
        meta: dict[str, Any] = {}
        for k in EMSCAD_META:
            v = _clean(row.get(k))
            if v is None:
                continue
            meta[k] = int(v) if k in EMSCAD_FLAGS and v in ("0", "1") else v
        job_id = (row.get("job_id") or "").strip()
        ads.append(
            Ad(
                text=text,
                id=f"emscad:{job_id}" if job_id else f"emscad:{p.stem}:{i}",
                title=title,
                company_profile=_clean(row.get("company_profile")),
                location=_clean(row.get("location")),
                salary=_clean(row.get("salary_range")),
                source=source,
                language="en",
                label=label,
                meta=meta,
            )
        )
    return ads


def load_emscad_preprocessed(path: str | os.PathLike, *, problems: Problems | None = None) -> list[Ad]:
    """EMSCAD as `text,fraudulent` with lowercased, stop-word-stripped text (e.g. Eric-Miao's files).

    Such text has lost its wording, so `meta["preprocessed"]` is set and deduplication
    prefers a raw copy of the same ad when one exists.
    """
    p = _require(path)
    problems = problems if problems is not None else Problems()
    ads: list[Ad] = []
    for i, row in _csv_rows(p):
        label = _label(row.get("fraudulent", ""), p, i, "fraudulent", problems)
        if label is None:
            continue
        text = (row.get("text") or "").strip()
        if not text:
            problems.report(p, i, "text", "empty text")
            continue
        ads.append(
            Ad(
                text=text,
                id=f"emscad:{p.stem}:{i}",
                source=f"emscad:{p.name}",
                language="en",
                label=label,
                meta={"preprocessed": True},
            )
        )
    return ads


def load_difraud(path: str | os.PathLike, *, problems: Problems | None = None, domain: str | None = None) -> list[Ad]:
    """A DIFrauD split: `{"text": ..., "label": 0|1}` per line (label 1 = deceptive)."""
    p = _require(path)
    problems = problems if problems is not None else Problems()
    domain = domain or p.parent.name
    ads: list[Ad] = []
    for i, d in json_object_lines(p, problems):
        label = binary_label(p, i, d, problems)
        if label is None:
            continue
        text = d.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.report(p, i, "text", "missing or empty text")
            continue
        ads.append(
            Ad(
                text=text.strip(),
                id=f"difraud:{domain}:{p.stem}:{i}",
                source=f"difraud:{domain}",
                language="en",
                label=int(label),
            )
        )
    return ads


def _literal(value: str, path: Path, row: int, field: str, problems: Problems) -> Any:
    """Parse a Python-literal cell (hh.ru API dumps) safely; None when empty or unreadable."""
    v = (value or "").strip()
    if not v:
        return None
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        problems.report(path, row, field, "not a Python literal (dict/list) string")
        return None


def _names(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    return [str(x["name"]) for x in value if isinstance(x, dict) and x.get("name")]


def hh_salary(s: Any) -> str | None:
    """An hh.ru salary dict as text: `450000–600000 KZT`, `от 450000 KZT`, `до 300000 KZT`."""
    if not isinstance(s, dict):
        return None
    lo, hi, cur = s.get("from"), s.get("to"), s.get("currency") or ""
    if lo and hi:
        text = f"{lo}–{hi}"
    elif lo:
        text = f"от {lo}"
    elif hi:
        text = f"до {hi}"
    else:
        return None
    return f"{text} {cur}".strip()


def load_hh(path: str | os.PathLike, *, problems: Problems | None = None) -> list[Ad]:
    """hh.ru / hh.kz API search results saved as CSV (dict-valued columns as Python literals).

    Platform ads carry label 0 with `meta["label_note"]` = "platform ad, unverified": they
    are real, mostly legitimate vacancies, useful as negatives and for false-positive rates.
    """
    p = _require(path)
    problems = problems if problems is not None else Problems()
    ads: list[Ad] = []
    for i, row in _csv_rows(p):
        snippet = _literal(row.get("snippet", ""), p, i, "snippet", problems) or {}
        if not isinstance(snippet, dict):
            snippet = {}
        text = _join(*(_HIGHLIGHT.sub("", str(snippet.get(k) or "")) for k in ("responsibility", "requirement")))
        title = _clean(row.get("name"))
        if not text and not title:
            problems.report(p, i, "snippet", "no snippet text and no name")
            continue
        employer = _literal(row.get("employer", ""), p, i, "employer", problems)
        area = _literal(row.get("area", ""), p, i, "area", problems)
        address = _literal(row.get("address", ""), p, i, "address", problems)
        location = None
        if isinstance(address, dict) and address.get("raw"):
            location = str(address["raw"])
        elif isinstance(area, dict) and area.get("name"):
            location = str(area["name"])
        meta: dict[str, Any] = {"label_note": UNVERIFIED_NOTE}
        for k in ("schedule", "experience", "employment"):
            names = _names(_literal(row.get(k, ""), p, i, k, problems))
            if names:
                meta[k] = names[0]
        roles = _names(_literal(row.get("professional_roles", ""), p, i, "professional_roles", problems))
        if roles:
            meta["professional_roles"] = roles
        vid = (row.get("id") or "").strip()
        ads.append(
            Ad(
                text=text,
                id=f"hh:{vid}" if vid else f"hh:{p.stem}:{i}",
                title=title,
                company_name=str(employer["name"]) if isinstance(employer, dict) and employer.get("name") else None,
                location=location,
                salary=hh_salary(_literal(row.get("salary", ""), p, i, "salary", problems)),
                url=_clean(row.get("alternate_url")) or _clean(row.get("url")),
                source=f"hh:{p.name}",
                posted_at=_clean(row.get("published_at")),
                language=cyrillic_language(f"{title or ''} {text}"),
                label=0,
                meta=meta,
            )
        )
    return ads


def load_superjob(path: str | os.PathLike, *, problems: Problems | None = None) -> list[Ad]:
    """superjob.ru vacancies CSV (name, address, categories, duties, requirements, conditions, salary, url).

    Label 0 with `meta["label_note"]` = "platform ad, unverified", as for hh.ru.
    """
    p = _require(path)
    problems = problems if problems is not None else Problems()
    ads: list[Ad] = []
    for i, row in _csv_rows(p):
        text = _join(*(_clean(row.get(k)) for k in ("duties", "requirements", "conditions")))
        title = _clean(row.get("name"))
        if not text and not title:
            problems.report(p, i, "duties", "no duties, requirements, conditions or name")
            continue
        meta: dict[str, Any] = {"label_note": UNVERIFIED_NOTE}
        for k in ("categories", "employment", "experience"):
            v = _clean(row.get(k))
            if v:
                meta[k] = v
        url = _clean(row.get("url"))
        m = re.search(r"-(\d+)\.html", url or "")
        ads.append(
            Ad(
                text=text,
                id=f"superjob:{m.group(1)}" if m else f"superjob:{p.stem}:{i}",
                title=title,
                location=_clean(row.get("address")),
                salary=_clean(row.get("salary")),
                url=url,
                source=f"superjob:{p.name}",
                language=cyrillic_language(f"{title or ''} {text}"),
                label=0,
                meta=meta,
            )
        )
    return ads


@dataclass(frozen=True, slots=True)
class SharedFile:
    """One file of the shared data folder: where it is, how to read it, what it should hold."""

    path: str
    loader: Callable[..., list[Ad]]
    rows: int
    positives: int


#: The shared data files, with the row and fraud counts their README states.
SHARED_FILES: tuple[SharedFile, ...] = (
    SharedFile("emscad/jae1654_fraudulent.csv", load_emscad_raw, 209, 209),
    SharedFile("emscad/r_dube_fj_small.csv", load_emscad_raw, 271, 11),
    SharedFile("emscad/ishita1604_first_499.csv", load_emscad_raw, 372, 7),
    SharedFile("emscad/eric_miao_train_balanced.csv", load_emscad_preprocessed, 1114, 526),
    SharedFile("emscad/eric_miao_test_balanced.csv", load_emscad_preprocessed, 372, 176),
    SharedFile("difraud/job_scams/validation.jsonl", load_difraud, 1301, 47),
    SharedFile("ru_vacancies/superjob_ru_vacancies.csv", load_superjob, 345, 0),
    SharedFile("ru_vacancies/hh_astana_vacancies.csv", load_hh, 650, 0),
)


def load_shared(
    shared_data: str | os.PathLike | None = None, *, problems: Problems | None = None
) -> dict[str, list[Ad]]:
    """Every known file of the shared data folder, keyed by its path inside the folder.

    Files that are absent are skipped and reported (a user may hold only some of them); a
    folder that does not exist raises MissingDataError.
    """
    root = Path(shared_data) if shared_data else default_shared_data()
    if not root.is_dir():
        raise MissingDataError(
            f"{root}: shared data folder not found; set ${SHARED_DATA_ENV} or pass shared_data= (--shared-data)"
        )
    problems = problems if problems is not None else Problems()
    out: dict[str, list[Ad]] = {}
    for f in SHARED_FILES:
        path = root / f.path
        if not path.is_file():
            problems.report(path, None, None, "file not found; source skipped")
            continue
        out[f.path] = f.loader(path, problems=problems)
    return out
