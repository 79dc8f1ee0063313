"""Inputs of a Ray run: files split into shards of records, read by the project's readers.

Every input the local `score` reads is read here by the same code (`readers.iter_records`),
one Ray task per source file, so ads, ids and bad records (file, line, field, reason) are
exactly the local ones. Ray's own JSON/CSV readers stop at the first malformed line and
know no line numbers, so they are used through `score_dataset` only, where the caller
chooses them. A source's records are cut into shards of `shard_size` records; a shard is
the unit that is scored, written and skipped on a re-run.
"""

from __future__ import annotations

import glob
import hashlib
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..readers import InputError, iter_records
from ..readers.errors import BadRecord
from ..readers.textdir import text_files
from .adrows import ad_json, dumps

#: Files of a directory input that are read as sources (a directory of `.txt` files is one source).
DATA_SUFFIXES = (
    ".jsonl",
    ".ndjson",
    ".jsonlines",
    ".json",
    ".csv",
    ".tsv",
    ".tab",
    ".parquet",
    ".pq",
    ".sqlite",
    ".db",
)


def expand_inputs(inputs: Iterable[str | Path]) -> list[str]:
    """The sources of a run, in a stable order: files as given, globs expanded, directories
    split into their data files (a Telegram export folder or a folder of `.txt` ads stays one),
    URLs kept as they are (Ray lists and reads them).

    Raises InputError for stdin, a missing input or an empty directory.
    """
    out: list[str] = []
    for inp in inputs:
        s = str(inp)
        if is_url(s):
            out.append(s)  # listed and read by Ray (`read_binary_files`): files, prefixes, globs
            continue
        if s == "-":
            raise InputError("-: --engine ray reads files, not stdin (save the ads to a file first)")
        p = Path(s)
        if not p.exists() and any(c in s for c in "*?["):
            matches = sorted(glob.glob(s, recursive=True))
            if not matches:
                raise InputError(f"{s}: no file matches")
            out.extend(str(Path(m)) for m in matches)
        elif p.is_dir():
            txt = text_files(p)
            if (p / "result.json").is_file() and not txt:
                out.append(str(p))
                continue
            files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in DATA_SUFFIXES)
            if txt:
                out.append(str(p))
            out.extend(str(f) for f in files)
            if not files and not txt:
                raise InputError(f"{s}: no ads files in this directory ({', '.join(DATA_SUFFIXES)} or .txt)")
        elif p.exists():
            out.append(s)
        else:
            raise InputError(f"{s}: no such file or directory")
    return out


def is_url(inp: str | Path) -> bool:
    """An object-store or other filesystem URL (s3://, gs://, abfs://, file://): read by Ray."""
    return "://" in str(inp)


def shard_prefix(index: int, path: str) -> str:
    """Shard names of source `index` start with this: its place and a digest of its path."""
    name = path if is_url(path) or not Path(path).exists() else str(Path(path).resolve())
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"part-{index:05d}-{digest}-"


def read_shards(
    row: Mapping[str, Any],
    *,
    shard_size: int,
    done: frozenset[str],
    encoding: str | None = None,
    mapping: Any = None,
    input_format: str = "auto",
) -> Iterator[dict[str, Any]]:
    """`flat_map` function: one source (`{"index", "path"}`) -> its shards, skipping those in `done`.

    A shard row holds its ads and bad records as JSON text (`ads`, `bad`), in input order.
    """
    index, path = int(row["index"]), str(row["path"])
    name = str(row.get("name") or path)  # where the records came from (a URL read into a temp file)
    prefix = shard_prefix(index, name)
    chunk = 0
    ads: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []

    def shard() -> dict[str, Any]:
        return {"shard": f"{prefix}{chunk:06d}", "source": name, "ads": dumps(ads), "bad": dumps(bad)}

    try:
        records = iter_records(path, encoding=encoding, mapping=mapping, input_format=input_format)
        for rec in records:
            if isinstance(rec, BadRecord):
                if rec.source == path:
                    rec.source = name
                bad.append(rec.to_dict())
            else:
                ads.append(ad_json(rec))
            if len(ads) + len(bad) >= shard_size:
                if f"{prefix}{chunk:06d}" not in done:
                    yield shard()
                chunk, ads, bad = chunk + 1, [], []
    except InputError as e:  # a whole source unreadable: reported as one bad record, the run goes on
        bad.append(BadRecord(name, "unreadable", str(e).removeprefix(f"{path}: ")).to_dict())
    if (ads or bad or chunk == 0) and f"{prefix}{chunk:06d}" not in done:
        yield shard()


def read_url_shards(row: Mapping[str, Any], *, index: int, **options: Any) -> Iterator[dict[str, Any]]:
    """`flat_map` function after `ray.data.read_binary_files(URL, include_paths=True)`: one
    file's bytes -> its shards, read by the project's readers from a temporary copy."""
    import os
    import tempfile

    name = str(row["path"])
    fd, tmp = tempfile.mkstemp(suffix=Path(name).suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(row["bytes"])
        yield from read_shards({"index": index, "path": tmp, "name": name}, **options)
    finally:
        os.unlink(tmp)
