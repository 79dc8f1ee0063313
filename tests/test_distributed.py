"""Scoring and clustering on a local Ray instance: the same answers as a local run.

One Ray instance for the module (`ray.init(num_cpus=2)`, loopback only, no dashboard),
shut down at the end with a check that none of its processes is left. The shipped default
model scores on both sides; local references come from `score_file` / `cluster_files`.
"""

from __future__ import annotations

import json
import os
import time

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from trafficking_ads.batch import score_file
from trafficking_ads.cli import app
from trafficking_ads.networks.io import cluster_files
from trafficking_ads.networks.synthetic import generate
from trafficking_ads.scoring import load_scorer
from trafficking_ads.writers import json_line
from trafficking_ads.writers_parquet import read_scored_parquet

from trafficking_ads.distributed.session import LOCAL_ONLY_ENV  # noqa: E402

os.environ[LOCAL_ONLY_ENV] = "0"  # before Ray is imported: the local instance binds to loopback only
ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")

from trafficking_ads.distributed import connect, error_rows, iter_records, score_dataset, score_inputs, scored_rows  # noqa: E402
from trafficking_ads.distributed.cluster import cluster_inputs  # noqa: E402
from trafficking_ads.distributed.run import shard_files  # noqa: E402

BAD_LINES = [
    '{"id": "ok-1", "text": "Работа в Дубае для девушек 18-25, билеты за наш счёт. WhatsApp +7 701 234 56 78"}\n',
    "this is not json\n",
    '{"id": "no-text", "title": "Хостес"}\n',
    '{"id": "blank", "text": "   "}\n',
    '{"id": "typed", "text": 42}\n',
    '{"id": "ok-2", "text": "Junior accountant, Almaty office, official contract, salary 400 000 KZT. hr@kaspi.kz"}\n',
]


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray for this module; afterwards no Ray process of ours may remain."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    connect(num_cpus=2)
    yield
    ray.shutdown()
    deadline = time.monotonic() + 60
    left: list[psutil.Process] = []
    while time.monotonic() < deadline:
        left = [
            p
            for p in me.children(recursive=True)
            if p.pid not in before and p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        ]
        if not left:
            break
        time.sleep(0.5)
    assert not left, f"Ray left processes behind: {[p.name() for p in left]}"


@pytest.fixture(scope="module")
def scorer():
    return load_scorer()


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory, samples_path):
    """The sample ads, a file of bad records, and the samples again as Parquet (the project's reader)."""
    d = tmp_path_factory.mktemp("inputs")
    (d / "bad.jsonl").write_text("".join(BAD_LINES), encoding="utf-8")
    rows = [json.loads(line) for line in samples_path.read_text(encoding="utf-8").splitlines()][:12]
    pq.write_table(pa.Table.from_pylist(rows), d / "some.parquet")
    return [str(samples_path), str(d / "bad.jsonl"), str(d / "some.parquet")]


@pytest.fixture(scope="module")
def local_small(tmp_path_factory, small_inputs, scorer):
    """The local run on the small inputs: scored records and the errors file's lines."""
    d = tmp_path_factory.mktemp("local")
    score_file(small_inputs, d / "out.jsonl", scorer=scorer)
    read = lambda p: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]  # noqa: E731
    return read(d / "out.jsonl"), read(d / "out.jsonl.errors.jsonl")


def joined(directory) -> str:
    """The files of an annotated directory, concatenated in name (= input) order."""
    return "".join(f.read_text(encoding="utf-8") for f in sorted(directory.glob("*.jsonl")))


def assert_same_records(got: list[dict], want: list[dict], tol: float = 1e-6) -> None:
    """Same ads in the same order; risk and components within `tol`; everything else equal."""
    assert [r["ad_id"] for r in got] == [r["ad_id"] for r in want]
    for g, w in zip(got, want):
        assert abs(g["risk"] - w["risk"]) <= tol, g["ad_id"]
        assert g["components"].keys() == w["components"].keys()
        assert all(abs(g["components"][k] - w["components"][k]) <= tol for k in w["components"])
        rest = lambda r: {k: v for k, v in r.items() if k not in ("risk", "components")}  # noqa: E731
        assert rest(g) == rest(w), g["ad_id"]


@pytest.mark.slow
def test_cli_ray_score_matches_local(ray_local, tmp_path, small_inputs, local_small):
    out = tmp_path / "out"
    samples, bad, parquet = small_inputs
    url = f"file://{bad}"  # a URL input goes through Ray's reader (read_binary_files), as s3:// would
    result = CliRunner().invoke(
        app, ["score", samples, url, parquet, "-o", str(out), "--engine", "ray", "--actors", "2", "--format", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    want, want_errors = local_small
    got = [json.loads(line) for f in shard_files(out, "jsonl") for line in f.read_text(encoding="utf-8").splitlines()]
    assert_same_records(got, want)
    errors = [
        json.loads(line)
        for f in sorted((out / "errors").glob("*.jsonl"))
        for line in f.read_text(encoding="utf-8").splitlines()
    ]
    assert errors == want_errors and len(errors) == 4
    assert f"scored {len(want)} ads" in result.output
    assert "skipped 4: " in result.output and "invalid JSON 1" in result.output
    assert "bad.jsonl, line 2, record 2: invalid JSON" in result.output


def test_ray_listens_on_loopback_only(ray_local):
    ray.data.range(4).map_batches(lambda b: b).take_all()  # start some workers too
    loopback = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
    listening = [
        (p.name(), c.laddr.ip)
        for p in psutil.Process().children(recursive=True)
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(ip in loopback for _, ip in listening), listening


def test_cli_ray_usage_errors(ray_local, tmp_path, samples_path):
    runner = CliRunner()
    r = runner.invoke(app, ["score", str(samples_path), "--engine", "ray"])
    assert r.exit_code == 1 and "-o OUTDIR" in r.output
    r = runner.invoke(app, ["score", "-", "-o", str(tmp_path / "o"), "--engine", "ray"])
    assert r.exit_code == 1 and "not stdin" in r.output
    r = runner.invoke(app, ["score", str(samples_path), "-o", str(tmp_path / "o"), "--engine", "ray", "--strict"])
    assert r.exit_code == 1 and "--strict not available" in r.output


def test_score_dataset_matches_local(ray_local, tmp_path, samples_path, local_small):
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"id": "blank", "text": "   ", "title": "x"}\n', encoding="utf-8")
    ds = ray.data.read_json([str(samples_path), str(extra)])
    result = score_dataset(ds, actors=1).materialize()
    want = local_small[0][:30]  # the samples file comes first in the local run
    assert_same_records(list(iter_records(scored_rows(result))), want)
    (err,) = error_rows(result).take_all()
    assert (err["kind"], err["field"], err["reason"]) == ("empty_text", "text", "text is empty")


@pytest.fixture(scope="module")
def generated(tmp_path_factory, scorer):
    """~2,000 generated ads with planted networks, scored locally (the reference) and clustered."""
    d = tmp_path_factory.mktemp("generated")
    corpus = generate(n_networks=100, n_fillers=1100, seed=11)
    with open(d / "ads.jsonl", "w", encoding="utf-8") as f:
        for ad in corpus.ads:
            f.write(json_line(ad.to_dict(raw=False)))
    score_file([d / "ads.jsonl"], d / "local.jsonl", scorer=scorer)
    cluster_files([d / "local.jsonl"], d / "local.clusters.jsonl", annotate_out=d / "local.net.jsonl")
    return d


@pytest.mark.slow
def test_interrupted_run_resumes_and_parquet_round_trips(ray_local, generated):
    d = generated
    want = [json.loads(line) for line in (d / "local.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(want) > 1800
    out = d / "ray"
    seen: list[str] = []

    def stop_after_two(name, counts):
        seen.append(name)
        if len(seen) == 2:
            raise KeyboardInterrupt  # as Ctrl-C in the driver

    with pytest.raises(KeyboardInterrupt):
        score_inputs([d / "ads.jsonl"], out, actors=2, shard_size=256, on_shard=stop_after_two)
    written = shard_files(out)
    n_shards = -(-len(want) // 256)
    assert 2 <= len(written) < n_shards, "the interrupted run should have left some shards, not all"
    summary = score_inputs([d / "ads.jsonl"], out, actors=2, shard_size=256)
    assert summary.shards_resumed == len(written)
    assert summary.resumed + summary.scored == len(want)
    assert summary.shards + summary.shards_resumed == n_shards
    got = [r for f in shard_files(out) for r in read_scored_parquet(f)]
    assert_same_records(got, want)
    # the Parquet shard directory clusters as the local JSON Lines file does
    cluster_inputs([out], d / "ray.clusters.jsonl")
    assert (d / "ray.clusters.jsonl").read_text(encoding="utf-8") == (d / "local.clusters.jsonl").read_text(
        encoding="utf-8"
    )


@pytest.mark.slow
def test_cli_ray_cluster_matches_local(ray_local, generated, tmp_path):
    d = generated
    local = (d / "local.clusters.jsonl").read_text(encoding="utf-8")
    assert local.count("\n") > 100  # planted networks were found
    result = CliRunner().invoke(
        app,
        [
            "cluster",
            str(d / "local.jsonl"),
            "-o",
            str(tmp_path / "ray.jsonl"),
            "--engine",
            "ray",
            "--annotate",
            str(tmp_path / "net"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ray.jsonl").read_text(encoding="utf-8") == local
    assert joined(tmp_path / "net") == (d / "local.net.jsonl").read_text(encoding="utf-8")
    # with a repeated and a broken line, as the local run reports them
    lines = (d / "local.jsonl").read_text(encoding="utf-8").splitlines(True)
    (tmp_path / "more.jsonl").write_text(lines[3] + "{broken\n", encoding="utf-8")
    inputs = [d / "local.jsonl", tmp_path / "more.jsonl"]
    run_local = cluster_files(inputs, tmp_path / "l2.jsonl", annotate_out=tmp_path / "l2.net.jsonl")
    run_ray = cluster_inputs(inputs, tmp_path / "r2.jsonl", annotate_dir=tmp_path / "r2.net")
    assert joined(tmp_path / "r2.net") == (tmp_path / "l2.net.jsonl").read_text(encoding="utf-8")
    assert [str(p) for p in run_ray.bad] == [str(p) for p in run_local.bad] and len(run_ray.bad) == 2
    assert (tmp_path / "r2.jsonl").read_text(encoding="utf-8") == (tmp_path / "l2.jsonl").read_text(encoding="utf-8")
