"""`cluster_inputs`: the local `cluster` (template clusters, contact networks) on Ray.

1. Ray tasks read the scored files (one task per file, JSON Lines or Parquet shards) with
   the local parser (`scored.parse_scored_line`): bad lines are reported as locally.
2. `map_batches` computes each ad's `Member` (the networks package's normalisation,
   `networks.index.member_of`) and its MinHash signature (`networks.templates.signatures`)
   in parallel batches.
3. Groupings across the cluster: repeated ad ids (kept once, as locally), the LSH bands of
   every signature (the band split of the local `minhash.LSH`: pairs sharing a band whose
   estimated Jaccard reaches the threshold become template links) and the contact keys
   (ads sharing one are linked).
4. On the driver: connected components of those links (union-find), then only the ads in
   a component of two or more are replayed into a `NetworkIndex` in input order
   (`insert_linked`), whose `clusters()` gives the local clusters, ids and summaries.

The driver holds the links and the clustered ads' members, not the corpus: with 10
million ads and ~10% of them in clusters that is about a million members (a few GB).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from .. import minhash
from ..errors import NotFoundError
from ..networks.features import Member, thresholds
from ..networks.index import NetworkIndex, member_of
from ..networks.io import ClusterRun
from ..networks.templates import from_bytes, shingles, signatures, to_bytes
from ..records import Ad
from ..scored import Problem, parse_scored_line
from ..unionfind import UnionFind
from ..writers import json_line, write_jsonl_atomic
from .session import require_ray

#: Bits of `seq` (an ad's place: file index << LINE_BITS | line) that hold the line or row.
LINE_BITS = 40


def expand_scored(inputs: Iterable[str | Path]) -> list[str]:
    """Scored files in order: files as given, directories as their finished shards (else their
    `.jsonl`/`.parquet` files), globs expanded."""
    import glob

    from .run import shard_files

    out: list[str] = []
    for inp in inputs:
        p = Path(inp)
        if p.is_dir():
            files = shard_files(p, "parquet") + shard_files(p, "jsonl")
            files = files or sorted(f for f in p.iterdir() if f.suffix in (".jsonl", ".parquet"))
            if not files:
                raise NotFoundError(f"{p}: no scored files (.jsonl, .parquet) in this directory")
            out.extend(str(f) for f in sorted(files))
        elif p.is_file():
            out.append(str(p))
        else:
            matches = sorted(glob.glob(str(inp)))
            if not matches:
                raise NotFoundError(f"{inp}: no such file or directory")
            out.extend(matches)
    return out


def _lines(path: str) -> Iterator[tuple[int, str]]:
    if path.endswith(".parquet"):
        from ..writers_parquet import read_scored_parquet

        for n, record in enumerate(read_scored_parquet(path), 1):
            yield n, json_line(record)
        return
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                yield n, line


def read_scored_rows(row: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """`flat_map` function: one scored file -> a row per line: an ad to cluster or a bad line."""
    index, path = int(row["index"]), str(row["path"])
    for n, line in _lines(path):
        seq = (index << LINE_BITS) | n
        try:
            fields, assessment = parse_scored_line(line)
        except ValueError as e:
            yield {"seq": seq, "id": None, "where": f"{path}:{n}", "ad": None, "problem": str(e)}
            continue
        # the Ad as networks.index._pairs rebuilds it from a scored record
        ad = {"text": "", **{k: v for k, v in fields.items() if v is not None}, "id": assessment.ad_id}
        yield {
            "seq": seq,
            "id": assessment.ad_id,
            "where": f"{path}:{n}",
            "ad": json.dumps({"ad": ad, "lang": assessment.lang, "risk": assessment.risk}, ensure_ascii=False),
            "problem": None,
        }


@lru_cache(maxsize=1)
def _band_ranges() -> list[tuple[int, int]]:
    """The (start, end) hash ranges of the LSH bands, as the local index's `minhash.LSH` splits them."""
    th = thresholds()
    return minhash.band_ranges(th["template_jaccard"], th["num_perm"])


def member_rows(batch: Any) -> dict[str, list[Any]]:
    """`map_batches` function: ads -> their `Member` (JSON), signature bytes, LSH band keys, contact keys."""
    from ..records import Assessment, ModelInfo

    th = thresholds()
    members = []
    for text in batch["ad"].to_pylist():
        d = json.loads(text)
        a = Assessment(
            d["ad"]["id"], d["risk"], "low", [], d["lang"], ModelInfo("", "")
        )  # member_of reads lang and risk
        members.append(member_of(Ad.from_dict(d["ad"]), a))
    sigs = signatures((shingles(m.tokens.split(), th["shingle_words"]) for m in members), th["num_perm"])
    ranges = _band_ranges()
    return {
        "seq": batch["seq"].to_pylist(),
        "id": [m.id for m in members],
        "member": [json.dumps({k: getattr(m, k) for k in Member.__slots__}, ensure_ascii=False) for m in members],
        "sig": [to_bytes(s) for s in sigs],
        # ads without template tokens join no template (as locally: they are never put in the LSH)
        "bands": [
            [f"{i}:{to_bytes_slice(s, a, b)}" for i, (a, b) in enumerate(ranges)] if m.tokens else []
            for m, s in zip(members, sigs)
        ],
        "contacts": [m.contacts for m in members],
    }


def to_bytes_slice(sig: Any, start: int, end: int) -> str:
    """One band of a signature as hex text (a group-by key)."""
    return np.asarray(sig[start:end], dtype=np.uint32).tobytes().hex()


def _duplicates(group: Any) -> dict[str, list[Any]]:
    """Every repeat of an ad id after its first place, with that first place."""
    seqs = group["seq"].to_pylist()
    where = dict(zip(seqs, group["where"].to_pylist()))
    first = min(seqs)
    later = sorted(s for s in seqs if s != first)
    ad_id = group["id"][0].as_py()
    return {
        "seq": later,
        "where": [where[s] for s in later],
        "first": [where[first]] * len(later),
        "id": [ad_id] * len(later),
    }


def _band_links(group: Any, threshold: float) -> dict[str, list[int]]:
    seqs = group["seq"].to_pylist()
    if len(seqs) < 2:
        return {"a": [], "b": []}
    sigs = [from_bytes(s) for s in group["sig"].to_pylist()]
    order = sorted(range(len(seqs)), key=seqs.__getitem__)
    a_out, b_out = [], []
    for j_pos, j in enumerate(order):
        for i in order[:j_pos]:
            if minhash.jaccard(sigs[j], sigs[i]) >= threshold:  # the local index's confirmation of an LSH candidate
                a_out.append(seqs[i])
                b_out.append(seqs[j])
    return {"a": a_out, "b": b_out}


def _contact_links(group: Any) -> dict[str, list[int]]:
    seqs = sorted(group["seq"].to_pylist())
    return {"a": seqs[:1] * (len(seqs) - 1), "b": seqs[1:]}


def annotated_name(index: int, path: str) -> str:
    """The annotated copy of scored file `index` (a shard directory's files keep their order)."""
    return f"{index:05d}-{Path(path).stem}.jsonl"


def _annotate_file(row: Mapping[str, Any], *, outdir: str, networks: Any, skip: frozenset[int]) -> list[dict[str, Any]]:
    import ray

    from ..records import scored_record_from

    index, path = int(row["index"]), str(row["path"])
    nets = ray.get(networks)

    def records() -> Iterator[dict[str, Any]]:
        for n, line in _lines(path):
            if (index << LINE_BITS) | n in skip:
                continue
            fields, assessment = parse_scored_line(line)
            assessment.network = nets.get(assessment.ad_id)
            yield scored_record_from(fields, assessment)

    count = write_jsonl_atomic(Path(outdir) / annotated_name(index, path), records())
    return [{"path": path, "records": count}]


def annotate_files(sources: list[str], outdir: Path, networks: dict[str, Any], skip: frozenset[int]) -> None:
    """Write each scored file again under `outdir` with `network` set (one Ray task per file)."""
    import ray
    import ray.data

    outdir.mkdir(parents=True, exist_ok=True)
    ref = ray.put(networks)
    ds = ray.data.from_items([{"index": i, "path": p} for i, p in enumerate(sources)], override_num_blocks=len(sources))
    ds.flat_map(
        _annotate_file, fn_kwargs={"outdir": str(outdir.resolve()), "networks": ref, "skip": skip}
    ).materialize()


def cluster_inputs(
    scored: Iterable[str | Path],
    clusters_out: str | Path,
    *,
    min_size: int = 2,
    annotate_dir: str | Path | None = None,
    batch_size: int = 2000,
) -> ClusterRun:
    """Cluster scored files on the connected Ray cluster; write clusters as the local `cluster` does.

    With `annotate_dir`, every scored file is written again there (`NNNNN-<name>.jsonl`, in
    input order) with each record's `network` filled in, as the local `--annotate` writes
    them (bad and repeated lines left out). Returns the same `ClusterRun` (clusters, bad
    lines, counts) as `networks.io.cluster_files`.
    """
    require_ray()  # a missing extra fails here with a message naming it
    import ray.data

    sources = expand_scored(scored)
    th = thresholds()
    rows = ray.data.from_items(
        [{"index": i, "path": p} for i, p in enumerate(sources)], override_num_blocks=len(sources)
    )
    rows = rows.flat_map(read_scored_rows).materialize()
    bad_rows = rows.filter(lambda r: r["problem"] is not None).take_all()
    good = rows.filter(lambda r: r["problem"] is None)

    dups = good.groupby("id").map_groups(_duplicates, batch_format="pyarrow").take_all()
    bad = {}
    for r in bad_rows:
        path, n = r["where"].rsplit(":", 1)
        bad[r["seq"]] = Problem(path, "not_scored", r["problem"], line=int(n))
    for r in dups:
        path, n = r["where"].rsplit(":", 1)
        bad[r["seq"]] = Problem(
            path, "duplicate_id", f"duplicate ad_id {r['id']!r} (first at {r['first']}); skipped", line=int(n)
        )
    if dups:
        dropped = frozenset(r["seq"] for r in dups)
        good = good.filter(lambda r: r["seq"] not in dropped)

    members = good.map_batches(member_rows, batch_size=batch_size, batch_format="pyarrow").materialize()
    n_records = members.count()
    threshold = float(th["template_jaccard"])
    band_rows = members.flat_map(lambda r: [{"key": k, "seq": r["seq"], "sig": r["sig"]} for k in r["bands"]])
    template_links = (
        band_rows.groupby("key")
        .map_groups(_band_links, fn_kwargs={"threshold": threshold}, batch_format="pyarrow")
        .take_all()
    )
    contact_rows = members.flat_map(lambda r: [{"key": c, "seq": r["seq"]} for c in r["contacts"]])
    contact_links = contact_rows.groupby("key").map_groups(_contact_links, batch_format="pyarrow").take_all()

    # connected components on the driver: which ads are in any group of two or more
    links: dict[int, set[int]] = {}
    uf = UnionFind()
    for r in template_links:
        links.setdefault(r["b"], set()).add(r["a"])
        uf.union(str(r["a"]), str(r["b"]))
    for r in contact_links:
        uf.union(str(r["a"]), str(r["b"]))
    needed = frozenset(int(n) for group in uf.groups().values() if len(group) >= 2 for n in group)
    clustered = sorted(members.filter(lambda r: r["seq"] in needed).take_all(), key=lambda r: r["seq"])
    ids = {r["seq"]: r["id"] for r in clustered}
    index = NetworkIndex()
    for r in clustered:
        member = Member(**json.loads(r["member"]))
        edges = [ids[a] for a in sorted(links.get(r["seq"], ()))]
        index.insert_linked(member, from_bytes(r["sig"]), edges)
    every = index.clusters()
    clusters = [c for c in every if c.size >= min_size]
    write_jsonl_atomic(clusters_out, (c.to_dict() for c in clusters))
    if annotate_dir is not None:
        annotate_files(sources, Path(annotate_dir), index.network_of(every), frozenset(bad))
    problems = [bad[s] for s in sorted(bad)]
    return ClusterRun(clusters, problems, n_records, n_records, n_records)
