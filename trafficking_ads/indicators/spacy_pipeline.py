"""The indicator engine as a spaCy pipeline component (`risk_indicators`).

Matching itself is not done by spaCy: compiled faithfully from the engine's ~1,550 token
patterns (form / lemma / stem alternatives, gaps), spaCy's `Matcher` finds the same
matches at about 20 ads/s of 1,000 characters (matching alone), two orders of magnitude
below the engine's first-token-indexed `TokenMatcher`: it tries every pattern at every
token, so its cost grows with the number of patterns (`benchmarks/spacy_matcher.py`
measures both on the same tokens). This module exposes the engine inside spaCy
pipelines for users who work in spaCy: hits become labelled spans in
`doc.spans["risk_indicators"]` (usable by `displacy`, `Span` operations and later
components), with the hits and the indicator score as Doc extensions.

    from trafficking_ads.indicators.spacy_pipeline import make_pipeline
    nlp = make_pipeline("ru")                # spacy.blank("ru") + risk_indicators
    doc = nlp("Работа в Дубае, билеты за наш счёт. WhatsApp +7 7O1 234 56 78")
    [(s.label_, s.text) for s in doc.spans["risk_indicators"]]
    doc._.risk_score, doc._.risk_hits

Or add it to any pipeline by name once this module is imported:
`nlp.add_pipe("risk_indicators", config={"data_dir": None})`.

Spans are the engine's evidence expanded to spaCy token boundaries (spaCy keeps "3500$."
as one token where the evidence is "3500$"); `span._.risk_evidence` gives the
exact character evidence behind a span. Hits without a span (an indicator of absence,
e.g. `employer_unidentified` with no contact) are in `doc._.risk_hits` only.

spaCy 3.8 has no Kazakh language; importing this module registers a minimal blank
`kk` language (spaCy's base tokenizer rules) so `spacy.blank("kk")` works offline.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import spacy
from spacy.language import BaseDefaults, Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import registry, set_lang_class

from ..errors import InvalidValueError
from ..records import Ad, Evidence, IndicatorHit
from .engine import IndicatorEngine, default_engine
from .tokens import fold, lemma_of

#: Languages with their own blank pipeline; any other code gets the multi-language "xx".
PIPELINE_LANGS = ("ru", "kk", "en")
#: The factory name and the default `doc.spans` key.
COMPONENT = "risk_indicators"


class KazakhDefaults(BaseDefaults):
    """spaCy's language-independent tokenizer rules (prefixes, suffixes, infixes, emoji)."""

    writing_system = {"direction": "ltr", "has_case": True, "has_letters": True}


class Kazakh(Language):
    """Blank Kazakh (no lemmatizer: the engine matches Kazakh by stems, not lemmas)."""

    lang = "kk"
    Defaults = KazakhDefaults


def _register_kazakh() -> None:
    """Register the blank Kazakh unless spaCy ships one or one is registered already."""
    if "kk" in registry.languages:
        return
    try:
        importlib.import_module("spacy.lang.kk")
        return
    except ImportError:
        set_lang_class("kk", Kazakh)


_register_kazakh()

for _name in ("risk_hits", "risk_score", "risk_lang"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


def _span_evidence(span: Span) -> list[Evidence]:
    """The exact character evidence behind a span (its label's evidence inside it)."""
    hits = span.doc._.risk_hits or []
    return [
        ev
        for h in hits
        if h.id == span.label_
        for ev in h.evidence
        if ev.field == "text" and span.start_char <= ev.start and ev.end <= span.end_char
    ]


if not Span.has_extension("risk_evidence"):
    Span.set_extension("risk_evidence", getter=_span_evidence)

_ENGINES: dict[str, IndicatorEngine] = {}
_LOCK = threading.Lock()


def engine_for(data_dir: str | Path | None) -> IndicatorEngine:
    """The shared default engine, or one engine per data directory (built once)."""
    if data_dir is None or str(data_dir) == "":
        return default_engine()
    if not Path(data_dir).is_dir():
        raise InvalidValueError(
            f"{COMPONENT}: data_dir {str(data_dir)!r} is not a directory (patterns/, indicators.yaml, ...)"
        )
    key = str(Path(data_dir).resolve())
    with _LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            eng = _ENGINES[key] = IndicatorEngine(key)
    return eng


class RiskIndicators:
    """Runs the indicator engine over `doc.text`; sets spans, hits, score and language.

    `doc.spans[spans_key]`: one span per piece of text evidence, label = indicator id,
    in the engine's order (indicators in `indicators.yaml` order, evidence by offset).
    `doc._.risk_hits`: `engine.extract(Ad(text=doc.text))`; `doc._.risk_score`: the
    engine's indicator score (`Weights.score`, the logistic combination of
    `scoring.py`); `doc._.risk_lang`: the language the engine read the text as. With
    `set_lemmas`, Russian-read docs get pymorphy3 lemmas on tokens that have none yet.
    """

    def __init__(self, nlp: Language, name: str, engine: IndicatorEngine, spans_key: str, set_lemmas: bool) -> None:
        self.name = name
        self.engine = engine
        self.spans_key = spans_key
        self.set_lemmas = set_lemmas

    def __call__(self, doc: Doc) -> Doc:
        """Annotate one Doc (the engine reads its text as the body of an ad)."""
        analysis = self.engine.analyze(Ad(text=doc.text))
        hits: list[IndicatorHit] = analysis.hits
        spans: list[Span] = []
        for hit in hits:
            for ev in hit.evidence:
                if ev.field != "text":
                    continue
                span = doc.char_span(ev.start, ev.end, label=hit.id, alignment_mode="expand")
                if span is None:  # evidence is trimmed of whitespace, so this is a bug
                    raise InvalidValueError(
                        f"{self.name}: evidence {ev.text!r} [{ev.start}:{ev.end}] of {hit.id} "
                        "does not cover any spaCy token"
                    )
                spans.append(span)
        doc.spans[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans)
        doc._.risk_hits = hits
        doc._.risk_score = self.engine.weights.score(hits)
        doc._.risk_lang = analysis.lang
        if self.set_lemmas and analysis.lang == "ru":
            for tok in doc:
                if not tok.lemma and tok.is_alpha:
                    tok.lemma_ = lemma_of(fold(tok.text))
        return doc


@Language.factory(
    COMPONENT,
    default_config={"data_dir": None, "spans_key": COMPONENT, "set_lemmas": True},
    assigns=["doc.spans", "doc._.risk_hits", "doc._.risk_score", "doc._.risk_lang", "token.lemma"],
)
def make_risk_indicators(
    nlp: Language, name: str, data_dir: str | None, spans_key: str, set_lemmas: bool
) -> RiskIndicators:
    """spaCy factory: the shared default engine, or an engine over `data_dir` (patterns, weights)."""
    return RiskIndicators(nlp, name, engine_for(data_dir), spans_key, set_lemmas)


def make_pipeline(lang: str, data_dir: str | Path | None = None, set_lemmas: bool = True) -> Language:
    """`spacy.blank(lang)` for ru, kk and en (else the multi-language "xx") plus `risk_indicators`."""
    nlp = spacy.blank(lang if lang in PIPELINE_LANGS else "xx")
    nlp.add_pipe(
        COMPONENT,
        config={"data_dir": str(data_dir) if data_dir is not None else None, "set_lemmas": set_lemmas},
    )
    return nlp
