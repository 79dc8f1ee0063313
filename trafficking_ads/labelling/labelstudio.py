"""Label Studio exchange: tasks with pre-annotations out, the annotated JSON export back in.

Export follows Label Studio's "Basic Label Studio JSON format" for import with
pre-annotations: a JSON list of tasks, each `{"id", "data": {...}, "predictions":
[{"model_version", "score", "result": [...]}]}`, where a result item is a region
`{"id", "from_name", "to_name", "type", "value"}` — `choices` for the verdict and the
indicator list, `labels` (`value: {start, end, text, labels}`) for evidence spans over the
text. The labelling configuration (`<View>` XML) is written beside the tasks with exactly
the control names the results use, so Label Studio accepts the pre-annotations as they are.

Import reads Label Studio's JSON export (tasks with `annotations`: `completed_by`,
`created_at`, `updated_at`, `result`, `was_cancelled`) and validates each annotation:
a verdict must be chosen, every choice and span label must be in the vocabulary, and every
span's offsets must select its text; every field must have its type in the task format.
A bad annotation is reported (file, task id, field, what is wrong) and skipped; under strict
mode the first one raises `DataError`. Exports are streamed task by task.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence
from xml.sax.saxutils import quoteattr

from ..errors import TraffickingAdsError
from ..problems import DataError, Problems
from ..atomic import write_json as atomic_write_json, write_text as atomic_write_text
from ..readers.jsonstream import JsonStream, JsonSyntaxError, JsonValueError
from .select import Candidate
from .vocab import Vocabulary, vocabulary


def config_path_for(tasks_path: str | os.PathLike) -> Path:
    """Where the labelling config goes: `tasks.json` -> `tasks.config.xml`, beside it."""
    p = Path(tasks_path)
    return p.with_name(p.stem + ".config.xml")


def labelling_config(vocab: Vocabulary | None = None) -> str:
    """The Label Studio labelling configuration (XML) matching the exported pre-annotations.

    The span labels and the indicator choices both list every indicator id; the verdict is
    a required single choice.
    """
    v = vocab or vocabulary()
    labels = "\n".join(f"    <Label value={quoteattr(i)}/>" for i in v.indicators)
    inds = "\n".join(f"    <Choice value={quoteattr(i)}/>" for i in v.indicators)
    verdicts = "\n".join(f"    <Choice value={quoteattr(x)}/>" for x in v.verdicts)
    t = quoteattr(v.text_control)
    return f"""<View>
  <Header value="$title"/>
  <Labels name={quoteattr(v.spans_control)} toName={t}>
{labels}
  </Labels>
  <Text name={t} value="$text" granularity="symbol"/>
  <Header value="Verdict: is this deceptive recruitment?"/>
  <Choices name={quoteattr(v.verdict_control)} toName={t} choice="single" required="true" showInLine="true">
{verdicts}
  </Choices>
  <Header value="Indicators present in the ad"/>
  <Choices name={quoteattr(v.indicators_control)} toName={t} choice="multiple">
{inds}
  </Choices>
</View>
"""


def _region_id(*parts: Any) -> str:
    """A stable short region id (Label Studio uses ids to tie result items to regions)."""
    return hashlib.sha1("\x00".join(map(str, parts)).encode("utf-8")).hexdigest()[:10]


def prediction_result(
    cand: Candidate, threshold: float, vocab: Vocabulary | None = None, problems: Problems | None = None
) -> list[dict[str, Any]]:
    """The pre-annotation of one scored ad: verdict by threshold, indicator choices, evidence spans.

    Evidence on fields other than the body text (e.g. the title) appears in the indicator
    choices but not as a span, since spans index the text. Evidence whose offsets do not
    select its text is reported and left out.
    """
    v = vocab or vocabulary()
    text = cand.text
    to = v.text_control
    verdict = "deceptive" if cand.risk >= threshold else "legitimate"
    result: list[dict[str, Any]] = [
        {
            "id": _region_id(cand.ad_id, "verdict"),
            "from_name": v.verdict_control,
            "to_name": to,
            "type": "choices",
            "value": {"choices": [verdict]},
        }
    ]
    ids = [h.id for h in cand.assessment.indicators if h.id in v.indicators]
    if ids:
        result.append(
            {
                "id": _region_id(cand.ad_id, "indicators"),
                "from_name": v.indicators_control,
                "to_name": to,
                "type": "choices",
                "value": {"choices": sorted(set(ids))},
            }
        )
    seen: set[tuple[int, int, str]] = set()
    for hit in cand.assessment.indicators:
        if hit.id not in v.indicators:
            continue
        for ev in hit.evidence:
            if ev.field != "text":
                continue
            if not (0 <= ev.start < ev.end <= len(text)) or text[ev.start : ev.end] != ev.text:
                if problems is not None:
                    problems.report(
                        "scored",
                        cand.line,
                        f"indicators.{hit.id}.evidence",
                        f"ad {cand.ad_id}: offsets {ev.start}-{ev.end} do not select {ev.text!r}; span left out",
                    )
                continue
            key = (ev.start, ev.end, hit.id)
            if key in seen:
                continue
            seen.add(key)
            result.append(
                {
                    "id": _region_id(cand.ad_id, *key),
                    "from_name": v.spans_control,
                    "to_name": to,
                    "type": "labels",
                    "value": {"start": ev.start, "end": ev.end, "text": ev.text, "labels": [hit.id]},
                }
            )
    return result


def task_for(
    cand: Candidate, task_id: int, threshold: float, vocab: Vocabulary | None = None, problems: Problems | None = None
) -> dict[str, Any]:
    """One Label Studio task with the scoring model's pre-annotation."""
    a = cand.assessment
    data = {
        "text": cand.text,
        "title": cand.ad.get("title") or "",
        "url": cand.ad.get("url") or "",
        "ad_id": cand.ad_id,
        "source": cand.ad.get("source") or "",
        "location": cand.ad.get("location") or "",
        "posted_at": cand.ad.get("posted_at") or "",
        "risk": round(a.risk, 4),
        "band": a.band,
        "lang": a.lang or "",
    }
    return {
        "id": task_id,
        "data": data,
        "predictions": [
            {
                "model_version": f"{a.model.name}@{a.model.version}",
                "score": round(a.risk, 4),
                "result": prediction_result(cand, threshold, vocab, problems),
            }
        ],
    }


def export_tasks(
    candidates: Sequence[Candidate],
    out_path: str | os.PathLike,
    threshold: float,
    *,
    problems: Problems | None = None,
    start_id: int = 1,
) -> tuple[Path, Path]:
    """Write the tasks JSON and its labelling config (`<stem>.config.xml`) atomically; returns both paths."""
    vocab = vocabulary()
    tasks = [task_for(c, start_id + k, threshold, vocab, problems) for k, c in enumerate(candidates)]
    out = atomic_write_json(out_path, tasks)
    cfg = atomic_write_text(config_path_for(out), labelling_config(vocab))
    return out, cfg


# ---------------------------------------------------------------- import


@dataclass
class Annotation:
    """One validated annotation of one ad, with its provenance."""

    ad_id: str
    text: str
    title: str | None
    verdict: str
    indicators: list[str]
    spans: list[dict[str, Any]]
    annotator: str
    created_at: str | None
    updated_at: str | None
    task_id: Any
    annotation_id: Any
    source_file: str
    lead_time: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        """Who labelled it, when, where: what a label-store record keeps per annotation."""
        return {
            "annotator": self.annotator,
            "verdict": self.verdict,
            "indicators": self.indicators,
            "spans": self.spans,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "task_id": self.task_id,
            "annotation_id": self.annotation_id,
            "source_file": self.source_file,
            "lead_time": self.lead_time,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _annotator(completed_by: Any) -> str:
    """A readable annotator id: Label Studio exports a user id (int) or a user object."""
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or completed_by.get("username") or f"user:{completed_by.get('id')}")
    if completed_by is None or completed_by == "":
        return "unknown"
    return f"user:{completed_by}" if isinstance(completed_by, int) else str(completed_by)


def _iso(ts: Any) -> str | None:
    """A Label Studio timestamp as ISO-8601 UTC (None if absent; unparseable ones kept as given)."""
    if not ts:
        return None
    try:
        dt = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return str(ts)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class _Invalid(TraffickingAdsError):
    pass


def repair_offsets(text: str, start: int, end: int, want: str, window: int = 8) -> tuple[int, int, str] | None:
    """Code-point offsets for a span whose offsets do not select its text, or None.

    Label Studio counts offsets in UTF-16 code units in some versions (an emoji before the
    span shifts it by one) and may count a Windows line break as one character; both are
    frequent in messenger ads. We accept a span only if its own text is found exactly:
    at the UTF-16 offsets, or within `window` characters of the given start.
    """
    if not want:
        return None
    units = text.encode("utf-16-le")
    if 0 <= start < end <= len(units) // 2:
        try:
            piece = units[2 * start : 2 * end].decode("utf-16-le")
            prefix = units[: 2 * start].decode("utf-16-le")
        except UnicodeDecodeError:
            piece = prefix = None
        if piece == want:
            return len(prefix), len(prefix) + len(want), "utf-16 offsets"
    best = None
    lo = max(0, start - window)
    i = text.find(want, lo)
    while i != -1 and i <= start + window:
        if best is None or abs(i - start) < abs(best - start):
            best = i
        i = text.find(want, i + 1)
    if best is not None:
        return best, best + len(want), f"shifted by {best - start:+d}"
    return None


def _kind(v: Any) -> str:
    """A JSON type name for messages: string, integer, number, boolean, list, object, null."""
    return {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(v), type(v).__name__)


def _str_or_none(v: Any, where: str) -> str | None:
    if v is None or isinstance(v, str):
        return v
    raise _Invalid(f"{where}: expected a string, got {_kind(v)}")


def _choices(value: dict[str, Any], where: str, allowed, what: str, hint: str) -> list[str]:
    """A choices control's list, every choice a string in `allowed` (else `_Invalid` naming `what`)."""
    choices = value.get("choices")
    if not isinstance(choices, list):
        raise _Invalid(
            f"{where}: no 'choices' list"
            if choices is None
            else f"{where}: 'choices' is {_kind(choices)}, expected a list of strings"
        )
    for i, c in enumerate(choices):
        if not isinstance(c, str):
            raise _Invalid(f"{where}: choices[{i}] is {_kind(c)}, expected a string")
        if c not in allowed:
            raise _Invalid(f"{where}: unknown {what} {c!r} {hint}")
    return choices


def _parse_result(result: Any, text: str, vocab: Vocabulary) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(verdict, indicator ids, spans) of one annotation's result list; raises _Invalid saying what is wrong."""
    if not isinstance(result, list):
        raise _Invalid(f"'result' is {type(result).__name__}, expected a list of regions")
    verdicts: list[str] = []
    indicators: list[str] = []
    spans: list[dict[str, Any]] = []
    for k, item in enumerate(result):
        if not isinstance(item, dict):
            raise _Invalid(f"result[{k}] is not an object")
        name = _str_or_none(item.get("from_name"), f"result[{k}].from_name")
        kind = _str_or_none(item.get("type"), f"result[{k}].type")
        value = item.get("value")
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise _Invalid(f"result[{k}] ({name}): 'value' is {_kind(value)}, expected an object")
        if name == vocab.verdict_control:
            verdicts += _choices(
                value,
                f"result[{k}] ({name})",
                vocab.verdicts,
                "verdict",
                f"(expected one of {', '.join(vocab.verdicts)})",
            )
        elif name == vocab.indicators_control:
            choices = _choices(
                value, f"result[{k}] ({name})", vocab.indicators, "indicator", "(not in the labelling vocabulary)"
            )
            indicators += [c for c in choices if c not in indicators]
        elif name == vocab.spans_control:
            if kind not in (None, "labels"):
                raise _Invalid(f"result[{k}] ({name}): type {kind!r}, expected 'labels'")
            labels = value.get("labels")
            if not isinstance(labels, list) or not labels:
                raise _Invalid(f"result[{k}] ({name}): span without labels")
            for lab in labels:
                if not isinstance(lab, str):
                    raise _Invalid(f"result[{k}] ({name}): labels hold {_kind(lab)}, expected strings")
                if lab not in vocab.indicators:
                    raise _Invalid(
                        f"result[{k}] ({name}): unknown span label {lab!r} (not in the labelling vocabulary)"
                    )
            start, end = value.get("start"), value.get("end")
            if (
                not isinstance(start, int)
                or not isinstance(end, int)
                or isinstance(start, bool)
                or isinstance(end, bool)
            ):
                raise _Invalid(f"result[{k}] ({name}): span offsets must be integers, got start={start!r} end={end!r}")
            want = _str_or_none(value.get("text"), f"result[{k}] ({name}): span text")
            inside = 0 <= start < end <= len(text)
            got = text[start:end] if inside else None
            repaired = None
            if want is not None and got != want:
                fixed = repair_offsets(text, start, end, want)
                if fixed is None:
                    if not inside:
                        raise _Invalid(
                            f"result[{k}] ({name}): span {start}-{end} outside the text (length {len(text)})"
                        )
                    raise _Invalid(
                        f"result[{k}] ({name}): span {start}-{end} selects {got!r}, but the annotation says {want!r}"
                    )
                start, end, repaired = fixed
                got = text[start:end]
            elif not inside:
                raise _Invalid(f"result[{k}] ({name}): span {start}-{end} outside the text (length {len(text)})")
            for lab in labels:
                span = {"start": start, "end": end, "text": got, "label": lab}
                if repaired:
                    span["repaired"] = repaired
                spans.append(span)
                if lab not in indicators:
                    indicators.append(lab)
        else:
            known = ", ".join((vocab.verdict_control, vocab.indicators_control, vocab.spans_control))
            raise _Invalid(f"result[{k}]: unknown control {name!r} (the labelling config has {known})")
    if not verdicts:
        raise _Invalid(f"no verdict: choose one of {', '.join(vocab.verdicts)} in '{vocab.verdict_control}'")
    if len(set(verdicts)) > 1:
        raise _Invalid(f"more than one verdict chosen: {verdicts}")
    return verdicts[0], indicators, spans


#: Task data fields kept with an annotation; each must be a string (or null) when present.
_DATA_STR_FIELDS = ("title", "url", "source", "location", "posted_at", "lang")
#: Task members read; the rest (predictions, drafts, ...) is skipped without being decoded.
_TASK_KEYS = ("id", "data", "annotations", "verdict")


def read_export(path: str | os.PathLike, *, problems: Problems | None = None) -> list[Annotation]:
    """Validated annotations from a Label Studio JSON export (cancelled/skipped annotations are ignored).

    Problems name the file, the task id and the field that is wrong; the bad annotation (or
    task) is skipped, or `DataError` is raised when `problems.strict`. See `iter_export`.
    """
    return list(iter_export(path, problems=problems))


def iter_export(path: str | os.PathLike, *, problems: Problems | None = None) -> Iterator[Annotation]:
    """Stream the validated annotations of an export, one task at a time: memory holds one
    task (its predictions are skipped unread), not the whole file (a 262 MB export used to
    take 1 GB). Every field is checked against the task format; a value of the wrong type,
    nesting over 100 levels or a lone surrogate is a problem naming the task and the field.
    A file that is not JSON raises `DataError`."""
    p = Path(path)
    problems = problems if problems is not None else Problems()
    vocab = vocabulary()
    try:
        fh = open(p, encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    except OSError as exc:
        raise DataError(f"{p}: cannot read ({exc.strerror or exc})") from None
    with fh:
        js = JsonStream(fh)
        try:
            c = js.skip_ws()
            if c == "[":
                for k in js.items():
                    yield from _task_annotations(js, k - 1, p, problems, vocab)
            elif c == "{":
                yield from _task_annotations(js, 0, p, problems, vocab)
            else:
                raise DataError(f"{p}: expected a JSON list of tasks (Label Studio 'JSON' export)")
            if not js.at_end():
                raise DataError(f"{p}: not JSON (extra data after the list of tasks, line {js.line})")
        except JsonSyntaxError as exc:
            raise DataError(f"{p}: not JSON ({exc})") from None


def _task_annotations(js: JsonStream, k: int, p: Path, problems: Problems, vocab: Vocabulary) -> Iterator[Annotation]:
    """The annotations of the task the stream is at (read member by member)."""
    if js.skip_ws() != "{":
        js.skip_value()
        problems.report(p, None, f"task #{k}", "not an object")
        return
    task: dict[str, Any] = {}
    bad: tuple[str, JsonValueError] | None = None
    for key in js.members():
        if key in _TASK_KEYS:
            try:
                task[key], _ = js.value()
            except JsonValueError as exc:
                bad = bad or (key, exc)
        else:
            js.skip_value()
    tid = task.get("id", f"#{k}")
    if not isinstance(tid, (int, str)) or isinstance(tid, bool):
        problems.report(p, None, f"task #{k} id", f"expected an integer or a string, got {_kind(tid)}")
        return
    where = f"task {tid}"
    if bad is not None:
        key, exc = bad
        field = key if not exc.field else (key + exc.field if exc.field.startswith("[") else f"{key}.{exc.field}")
        problems.report(p, None, f"{where} {field}", exc.reason)
        return
    data = task.get("data")
    if not isinstance(data, dict):
        problems.report(p, None, where, "no 'data' object")
        return
    ad_id, text = data.get("ad_id"), data.get("text")
    if not ad_id:
        problems.report(p, None, f"{where} data.ad_id", "missing: the task was not exported by `label export`")
        return
    if not isinstance(ad_id, (str, int)) or isinstance(ad_id, bool):
        problems.report(p, None, f"{where} data.ad_id", f"expected a string, got {_kind(ad_id)}")
        return
    if not isinstance(text, str) or not text:
        problems.report(
            p, None, f"{where} data.text", "missing or empty" if not text else f"expected a string, got {_kind(text)}"
        )
        return
    for name in _DATA_STR_FIELDS:
        if not isinstance(data.get(name), (str, type(None))):
            problems.report(p, None, f"{where} data.{name}", f"expected a string, got {_kind(data[name])}")
            return
    anns = task.get("annotations")
    if anns is None and "verdict" in task:
        problems.report(p, None, where, "this is a JSON-MIN export; export as 'JSON' from Label Studio")
        return
    if not isinstance(anns, list):
        problems.report(p, None, f"{where} annotations", "missing (export with annotations as 'JSON')")
        return
    for j, ann in enumerate(anns):
        aid = ann.get("id", j) if isinstance(ann, dict) else j
        awhere = f"{where} annotation {aid if isinstance(aid, (int, str)) and not isinstance(aid, bool) else j}"
        if not isinstance(ann, dict):
            problems.report(p, None, awhere, "not an object")
            continue
        try:
            if not isinstance(aid, (int, str)) or isinstance(aid, bool):
                raise _Invalid(f"id: expected an integer or a string, got {_kind(aid)}")
            if not isinstance(ann.get("was_cancelled"), (bool, type(None))):
                raise _Invalid(f"was_cancelled: expected a boolean, got {_kind(ann['was_cancelled'])}")
            if ann.get("was_cancelled"):
                continue
            _check_annotation_fields(ann)
            verdict, indicators, spans = _parse_result(ann.get("result"), text, vocab)
        except _Invalid as exc:
            problems.report(p, None, awhere, str(exc))
            continue
        lead = ann.get("lead_time")
        yield Annotation(
            ad_id=str(ad_id),
            text=text,
            title=data.get("title") or None,
            verdict=verdict,
            indicators=indicators,
            spans=spans,
            annotator=_annotator(ann.get("completed_by")),
            created_at=_iso(ann.get("created_at")),
            updated_at=_iso(ann.get("updated_at") or ann.get("created_at")),
            task_id=tid,
            annotation_id=aid,
            source_file=p.name,
            lead_time=float(lead) if isinstance(lead, (int, float)) else None,
            extra={k2: data[k2] for k2 in ("url", "source", "location", "posted_at", "lang") if data.get(k2)},
        )


def _check_annotation_fields(ann: dict[str, Any]) -> None:
    """Types of an annotation's provenance fields (who, when, how long); `_Invalid` names the field."""
    who = ann.get("completed_by")
    if isinstance(who, dict):
        for key in ("email", "username"):
            _str_or_none(who.get(key), f"completed_by.{key}")
        if not isinstance(who.get("id"), (int, str, type(None))) or isinstance(who.get("id"), bool):
            raise _Invalid(f"completed_by.id: expected an integer or a string, got {_kind(who.get('id'))}")
    elif not isinstance(who, (int, str, type(None))) or isinstance(who, bool):
        raise _Invalid(f"completed_by: expected a user id or object, got {_kind(who)}")
    for key in ("created_at", "updated_at"):
        _str_or_none(ann.get(key), key)
    lead = ann.get("lead_time")
    if lead is not None and (not isinstance(lead, (int, float)) or isinstance(lead, bool)):
        raise _Invalid(f"lead_time: expected a number, got {_kind(lead)}")
