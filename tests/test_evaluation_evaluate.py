"""The evaluate protocol end to end: shipped indicator model vs the TF-IDF baseline on a real corpus subset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from trafficking_ads import load_scorer
from trafficking_ads.cli import app
from trafficking_ads.corpus.build import build_corpus, load_corpus, row_to_ad
from trafficking_ads.corpus.loaders import SHARED_FILES
from trafficking_ads.evaluation import evaluate, markdown, write_markdown
from trafficking_ads.evaluation.baseline import BaselineScorer
from trafficking_ads.model.lexical import TfidfLogReg
from trafficking_ads.evaluation.evaluate import load_eval_ads, model_threshold
from trafficking_ads.records import Ad
from trafficking_ads.evaluation.metrics import binary_metrics

SEED = [
    ("ru", 1, "Хостес в Дубай, девушки 18-25, билеты и жильё за наш счёт, опыт не нужен, пишите в WhatsApp {n}"),
    ("ru", 0, "ТОО «Астана Строй» приглашает бухгалтера: договор по ТК РК, оклад 350 000 тенге, офис Кенесары {n}"),
    ("kk", 1, "Дубайда қыздарға жұмыс, 18-25 жас, билет пен тұрғын үй біздің есептен, Telegram @kz{n}"),
    ("kk", 0, "«Қазақтелеком» АҚ есепшіні шақырады, ресми жұмысқа орналастыру, жалақы 300 000 теңге, мекенжайы {n}"),
]


@pytest.fixture(scope="module")
def corpus_dir(shared_data, tmp_path_factory) -> Path:
    """A corpus built from the first rows of every real shared file plus a small seed set."""
    tmp = tmp_path_factory.mktemp("evalcorpus")
    small = tmp / "shared"
    for f in SHARED_FILES:
        out = small / f.path
        out.parent.mkdir(parents=True, exist_ok=True)
        n = 240 if f.path.endswith(".jsonl") else 80
        with (
            (shared_data / f.path).open(encoding="utf-8", newline="") as fh,
            out.open("w", encoding="utf-8", newline="") as oh,
        ):
            if f.path.endswith(".jsonl"):
                oh.write("".join(line for _, line in zip(range(n), fh)))
            else:
                w = csv.writer(oh)
                for _, row in zip(range(n + 1), csv.reader(fh)):
                    w.writerow(row)
    seed = tmp / "seed"
    seed.mkdir()
    rows = []
    for t, (lang, label, text) in enumerate(SEED):
        for k in range(5):
            rows.append(
                {
                    "id": f"seed-{t}-{k}",
                    "lang": lang,
                    "label": label,
                    "text": text.format(n=100 + 7 * k),
                    "template": f"t{t}",
                }
            )
    (seed / "all.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    build_corpus(tmp / "corpus", shared_data=small, seed_dir=seed, write_repo_card=False)
    return tmp / "corpus"


def test_evaluate_split_model_vs_baseline(corpus_dir):
    r = evaluate(corpus_dir, split="test", model="indicators", train=corpus_dir)
    test = [row_to_ad(x) for x in load_corpus(corpus_dir)["test"]]
    m = r["model"]
    assert m["threshold"] == 0.35 and m["threshold_source"] == "model.json thresholds.medium"
    assert r["data"]["n"] == len(test) == m["metrics"]["overall"]["n"]
    # the protocol's numbers are the metrics of the scorer's own risks
    scores = [a.risk for a in load_scorer("indicators").score_many(test)]
    direct = binary_metrics([a.label for a in test], scores, 0.35)
    assert m["metrics"]["overall"]["pr_auc"] == pytest.approx(direct["pr_auc"])
    assert m["metrics"]["overall"]["confusion"] == direct["confusion"]
    real = [a for a in test if a.source.startswith(("hh:", "superjob:"))]
    assert m["metrics"]["real_vacancies"]["n"] == len(real) > 0
    b = r["baseline"]
    assert b["name"] == "tfidf-logreg" and b["eval_rows_in_train"] == 0 and b["train_n"] > 100
    assert set(b["metrics"]["by_language"]) == set(m["metrics"]["by_language"])
    assert 0.0 <= b["metrics"]["overall"]["roc_auc"] <= 1.0
    md = markdown(r)
    assert "| F1 |" in md and "tfidf-logreg (baseline)" in md and "FPR on real RU/KZ vacancies" in md


def test_cli_evaluate_jsonl(corpus_dir, tmp_path):
    rows = [
        {"text": r["text"], "title": r["title"], "label": r["label"], "lang": r["lang"], "source": r["source"]}
        for r in load_corpus(corpus_dir)["test"]
    ]
    data = tmp_path / "labelled.jsonl"
    data.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in rows) + '\n{"text": "no label"}\n', encoding="utf-8"
    )
    runner = CliRunner()
    args = [
        "evaluate",
        "--data",
        str(data),
        "--model",
        "indicators",
        "--no-baseline",
        "--json",
        str(tmp_path / "r.json"),
        "--md",
        str(tmp_path / "r.md"),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert out["data"]["n"] == len(rows) and out["data"]["skipped_rows"] == 1
    assert "record" in out["data"]["skipped_examples"][0] and "label" in out["data"]["skipped_examples"][0]
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("# Evaluation")
    assert runner.invoke(app, args + ["--strict"]).exit_code == 2
    assert runner.invoke(app, ["evaluate", "--data", str(tmp_path / "missing.jsonl")]).exit_code == 1


def test_evaluate_with_a_scorer_object_and_baseline_json(corpus_dir, tmp_path):
    dd = load_corpus(corpus_dir)
    train = [row_to_ad(r) for r in dd["train"]]
    model = TfidfLogReg().fit(train, [a.label for a in train])
    model.save(tmp_path / "baseline.json")
    again = TfidfLogReg.load(tmp_path / "baseline.json")
    test = [row_to_ad(r) for r in dd["test"]]
    assert np.allclose(model.predict_proba(test), again.predict_proba(test))
    assert (tmp_path / "baseline.json").read_text(encoding="utf-8").startswith("{")
    r = evaluate(corpus_dir, scorer=BaselineScorer(again), threshold=0.5, baseline=False)
    assert (
        r["model"]["name"] == "tfidf-logreg"
        and r["model"]["threshold_source"] == "given by the caller"
        and "baseline" not in r
    )
    write_markdown(r, tmp_path / "x.md")
    assert "| recall at 5% FPR |" in (tmp_path / "x.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("view,chars", [("canonical", 0), ("raw", 5000)])
def test_fast_lexical_scoring_equals_sklearn_transform(corpus_dir, view, chars):
    """The scorer's TF-IDF shortcut (per-word n-gram cache, counts -> sublinear tf-idf -> l2 ->
    dot) gives sklearn's `transform(...) @ coef` on real held-out ads and on edge cases, in
    both text views (the canonical one, word n-grams only, is the shipped lexical model's)."""
    from scipy.sparse import hstack

    from trafficking_ads.model.lexical import ad_text

    dd = load_corpus(corpus_dir)
    train = [row_to_ad(r) for r in dd["train"]]
    model = TfidfLogReg(max_word_features=3000, max_char_features=chars, view=view).fit(train, [a.label for a in train])
    texts = [a.text for a in (row_to_ad(r) for r in dd["test"])] + [
        "",
        "   ",
        "zzzz qqqq",
        "a",
        "Хостес  в\tДубай\n\nWhatsApp",
        "ВАКАНСИЯ  вакансия\u00a0Вакансия",
        "x y",
    ]
    seen = [ad_text(t, view) for t in texts]
    X = hstack([v.transform(seen) for v in (model.word, model.char) if v is not None]).tocsr()
    want = 1 / (1 + np.exp(-(X @ model.coef + model.intercept)))
    for _ in range(2):  # the second pass reads the per-word cache
        got = model.predict_proba(texts)
        assert np.abs(got - want).max() < 1e-12
    assert got[len(texts) - 6] == pytest.approx(1 / (1 + np.exp(-model.intercept)))  # no features: intercept alone


def test_canonical_view_reads_formats_alike():
    """The lexical model must not learn a source's formatting: the raw and the lowercased,
    stop-word-stripped copies of one ad (both are in the shared data) read the same."""
    from trafficking_ads.model.lexical import ad_text

    raw = "Data Entry Clerk! Work from HOME, earn $500/week. Apply at #URL_ab12cd#."
    preprocessed = "data entry clerk work home earn 500 week apply"
    assert ad_text(raw) == ad_text(preprocessed) == "data entry clerk work home earn 500 week apply"
    assert ad_text(raw, "raw") == raw


def test_model_threshold_sources(tmp_path):
    (tmp_path / "model.json").write_text(
        json.dumps({"kind": "indicators", "thresholds": {"medium": 0.4, "high": 0.7}, "operating_threshold": 0.55})
    )
    assert model_threshold(tmp_path) == (0.55, "model.json operating_threshold")
    (tmp_path / "model.json").write_text(json.dumps({"kind": "indicators"}))
    assert model_threshold(tmp_path)[0] == 0.5


def test_jsonl_with_parts_is_evaluated_on_the_asked_part(tmp_path):
    """The hard set's `fit` half chose the bands: only its `test` half may measure them."""
    p = tmp_path / "hard.jsonl"
    rows = [
        {"id": f"h{i}", "text": f"ad {i}", "label": i % 2, "lang": "ru", "part": "fit" if i < 4 else "test"}
        for i in range(10)
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert [a.id for a in load_eval_ads(p, "test")] == [f"h{i}" for i in range(4, 10)]
    assert [a.id for a in load_eval_ads(p, "fit")] == [f"h{i}" for i in range(4)]


def test_protocol_folds_never_share_a_group():
    from trafficking_ads.evaluation.protocols import cross_source_folds, group_folds

    ads = [
        Ad(id=f"a{i}", text="x", label=i % 2, language="en", source=("difraud:x" if i < 20 else "emscad:y.csv"))
        for i in range(80)
    ]
    groups = [f"g{i // 3}" for i in range(80)]  # groups of three; g6 holds a19 (DIFrauD) and a20 (EMSCAD)
    for fold in group_folds(ads, groups, "group", (13, 14)) + cross_source_folds(ads, groups):
        train_groups = {groups[i] for i in fold.train}
        assert fold.test and not train_groups & {groups[i] for i in fold.test}, fold.name
    xs = {f.name: f for f in cross_source_folds(ads, groups)}
    assert (
        20 not in xs["-> difraud"].train and 20 not in xs["-> difraud"].test
    )  # shares a group with the held-out family
