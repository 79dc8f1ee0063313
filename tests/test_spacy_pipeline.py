"""The `risk_indicators` spaCy component: spans equal the engine's evidence, in ru, kk, en."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from spacy import displacy

from trafficking_ads.indicators import default_engine
from trafficking_ads.indicators.spacy_pipeline import COMPONENT, RiskIndicators, engine_for, make_pipeline
from trafficking_ads.records import Ad

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "data" / "indicators" / "dev.jsonl"
PER_LANG = 4


def dev_texts(lang: str, k: int = PER_LANG) -> list[str]:
    """The first k development ads of a language (real, hand-labelled texts)."""
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows if r["lang"] == lang][:k]
    assert len(texts) == k, f"{DEV}: fewer than {k} {lang} ads"
    return texts


@pytest.fixture(scope="module")
def engine():
    return default_engine()


@pytest.fixture(scope="module")
def pipelines():
    return {lang: make_pipeline(lang) for lang in ("ru", "kk", "en")}


def check_doc(doc, engine) -> int:
    """Assert the doc's annotations are exactly the engine's; return the number of spans."""
    hits = engine.extract(Ad(text=doc.text))
    assert doc._.risk_hits == hits
    assert doc._.risk_score == pytest.approx(engine.weights.score(hits))
    evidence = [(h.id, ev) for h in hits for ev in h.evidence if ev.field == "text"]
    spans = list(doc.spans[COMPONENT])
    assert [s.label_ for s in spans] == [i for i, _ in evidence]
    for span, (_ind, ev) in zip(spans, evidence):
        assert doc.text[ev.start : ev.end] == ev.text
        # The span covers the evidence, and is its expansion to token boundaries only.
        assert span.start_char <= ev.start and ev.end <= span.end_char, (span, ev)
        first, last = doc[span.start], doc[span.end - 1]
        assert first.idx < ev.end and ev.start < first.idx + len(first.text), (span, ev)
        assert last.idx < ev.end and ev.start < last.idx + len(last.text), (span, ev)
        assert ev in span._.risk_evidence
    return len(spans)


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_spans_are_the_engines_evidence(lang, pipelines, engine):
    nlp = pipelines[lang]
    assert nlp.lang == lang and nlp.pipe_names == [COMPONENT]
    n_spans = 0
    for text in dev_texts(lang):
        doc = nlp(text)
        n_spans += check_doc(doc, engine)
        assert doc._.risk_lang == engine.analyze(Ad(text=text)).lang
        assert 0.0 < doc._.risk_score < 1.0
    assert n_spans >= PER_LANG  # deceptive dev ads: several indicators each


def test_span_expanded_to_tokens_keeps_exact_evidence(pipelines, engine):
    text = "Танцовщицы в ночной клуб в Бахрейн. Оплата от 3500$. Пишите в Телеграм"
    doc = pipelines["ru"](text)
    check_doc(doc, engine)
    pay = [s for s in doc.spans[COMPONENT] if s.label_ == "pay_unrealistic"]
    assert pay, [(s.label_, s.text) for s in doc.spans[COMPONENT]]
    # spaCy keeps "3500$." together; the engine's evidence stops before the full stop.
    assert [e.text for e in pay[0]._.risk_evidence] == ["3500$"]
    assert pay[0].text.startswith("3500$")


def test_obfuscated_phone_at_original_offsets(pipelines, engine):
    text = "Работа в Дубае для девушек, билеты за наш счёт. Пишите в WhatsApp +7 7O1 234 56 78"
    doc = pipelines["ru"](text)
    check_doc(doc, engine)
    start = text.index("+7 7O1")
    phone = [s for s in doc.spans[COMPONENT] if s.start_char == start]
    assert phone, [(s.label_, s.text) for s in doc.spans[COMPONENT]]
    assert {(s.end_char, s.text) for s in phone} == {(len(text), "+7 7O1 234 56 78")}
    labels = {s.label_ for s in doc.spans[COMPONENT]}
    assert {"travel_abroad_offer", "travel_costs_covered", "contact_messenger_only"} <= labels


def test_make_pipeline_languages():
    for lang in ("ru", "kk", "en"):
        assert make_pipeline(lang).lang == lang
    de = make_pipeline("de")
    assert de.lang == "xx" and de.pipe_names == [COMPONENT]
    assert spacy.blank("kk").lang == "kk"  # the blank Kazakh registered by the module


def test_add_pipe_by_name_to_existing_pipeline(engine):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    comp = nlp.add_pipe("risk_indicators")
    assert isinstance(comp, RiskIndicators) and comp.engine is engine
    text = dev_texts("en", 1)[0]
    doc = nlp(text)
    assert check_doc(doc, engine) > 0
    assert len(list(doc.sents)) >= 1  # earlier components still ran
    assert all(not t.lemma_ for t in doc)  # lemmas are set for Russian only


def test_pipe_many_texts(pipelines, engine):
    texts = dev_texts("ru", 2) + dev_texts("kk", 2) + dev_texts("en", 2) + ["", "Склад, график 5/2."]
    docs = list(pipelines["ru"].pipe(texts, batch_size=3))
    assert [d.text for d in docs] == texts
    for doc in docs:
        check_doc(doc, engine)
    # An empty text has no spans; a hit without evidence (an indicator of absence such as
    # employer_unidentified) stays in doc._.risk_hits only.
    assert len(docs[-2].spans[COMPONENT]) == 0
    assert all(not h.evidence for h in docs[-2]._.risk_hits)


def test_russian_lemmas_from_engine(pipelines):
    doc = pipelines["ru"]("Билеты оплачиваем, девушки приглашаются")
    assert [t.lemma_ for t in doc if t.is_alpha] == ["билет", "оплачивать", "девушка", "приглашаться"]


def test_displacy_and_disk_round_trip(tmp_path, pipelines, engine):
    text = dev_texts("kk", 1)[0]
    html = displacy.render(pipelines["kk"](text), style="span", options={"spans_key": COMPONENT})
    assert "travel_abroad_offer" in html
    pipelines["kk"].to_disk(tmp_path / "kk")
    nlp = spacy.load(tmp_path / "kk")
    assert nlp.lang == "kk" and nlp.pipe_names == [COMPONENT]
    check_doc(nlp(text), engine)


def test_bad_data_dir_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        engine_for(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a directory"):
        spacy.blank("en").add_pipe("risk_indicators", config={"data_dir": str(tmp_path / "missing")})
