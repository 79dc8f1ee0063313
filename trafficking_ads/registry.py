"""The model registry: the versions in the user's models directory, their held-out metrics, and promotion.

A model is a directory `<models>/<name>/` holding `model.json` (kind, name, version and,
when a run wrote them, `created_at`, `parent`, `data`, `metrics`) and optionally
`metrics.json`, the result of `trafficking-ads evaluate --json <models>/<name>/metrics.json`.
`<models>` is the user's models directory (`model_dirs.user_models_dir`: --models-dir,
$TRAFFICKING_ADS_MODELS or the per-user data dir), never the installed package.
`<models>/default`, when there is one, is the one `score` uses; otherwise the shipped default.

Promotion copies `<models>/<name>` over `<models>/default` only if the candidate's held-out
PR-AUC is not lower than the current default's (the user's, else the shipped one) by more
than `tolerance` on the *same* held-out data (a PR-AUC on another set is not comparable, and
the gate says so). An old user default is kept as `<models>/<its name>-<its version>` (nothing
is lost; the shipped one stays where it is), and every promotion is appended to
`<models>/registry.json`. `force=True` skips the gate and is recorded as forced.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import atomic
from .errors import ModelCardError, ModelNotFoundError, TraffickingAdsError
from .model_card import ModelCard, load_card
from .model_dirs import shipped_models_dir, user_models_dir

DEFAULT = "default"
METRICS_FILE = "metrics.json"
REGISTRY_FILE = "registry.json"
DEFAULT_TOLERANCE = 0.01


class PromotionError(TraffickingAdsError, RuntimeError):
    """Promotion refused (gate failed, or the candidate cannot be promoted)."""


@dataclass
class HeldOut:
    """A model's held-out PR-AUC and what it was measured on."""

    pr_auc: float | None
    source: str  # where the number was read
    data: dict[str, Any] = field(default_factory=dict)  # path/split/n/positives/fingerprint

    def same_data(self, other: "HeldOut") -> tuple[bool, str]:
        """Whether two measurements are on the same held-out rows (fingerprint, else path/split/n/positives)."""
        a, b = self.data, other.data
        if a.get("fingerprint") and b.get("fingerprint"):
            same = a["fingerprint"] == b["fingerprint"]
            return (
                same,
                "same held-out fingerprint"
                if same
                else f"held-out fingerprints differ ({a['fingerprint'][:12]} vs {b['fingerprint'][:12]})",
            )
        keys = ("path", "split", "n", "positives")
        if not any(a.get(k) is not None for k in keys) or not any(b.get(k) is not None for k in keys):
            return False, "the held-out data of one measurement is not recorded"
        diff = [k for k in keys if a.get(k) != b.get(k)]
        if diff:
            return False, "held-out data differ in " + ", ".join(f"{k} ({a.get(k)!r} vs {b.get(k)!r})" for k in diff)
        return True, "same held-out path, split and counts"


@dataclass
class ModelEntry:
    """One model directory as the registry sees it."""

    dir_name: str
    path: Path
    kind: str | None
    name: str | None
    version: str | None
    created_at: str | None
    parent: Any
    data: Any
    held_out: HeldOut
    is_default: bool = False
    card: ModelCard | None = field(default=None, repr=False)
    #: Shipped with the package (read-only), not in the user's models directory.
    shipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d.pop("card")
        return d


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def held_out(path: Path, card: ModelCard | None = None) -> HeldOut:
    """A model's held-out PR-AUC: `metrics.json` (an `evaluate` result) first, then model.json `metrics`."""
    card = card if card is not None else load_card(path)
    m = _read_json(path / METRICS_FILE)
    if m is not None:
        overall = ((m.get("model") or {}).get("metrics") or {}).get("overall") or {}
        pr = _num(overall.get("pr_auc"))
        if pr is None:
            pr = _num(m.get("pr_auc"))
        if pr is not None:
            return HeldOut(pr, str(path / METRICS_FILE), dict(m.get("data") or {}))
    metrics = card.metrics
    if isinstance(metrics, dict):
        pr = _num(metrics.get("pr_auc"))
        if pr is None:
            pr = _num(
                ((metrics.get("overall") or {}) if isinstance(metrics.get("overall"), dict) else {}).get("pr_auc")
            )
        if pr is not None:
            return HeldOut(pr, f"{path / 'model.json'} metrics", dict(metrics.get("data") or card.held_out or {}))
    return HeldOut(None, "none (no metrics.json and no metrics in model.json)", {})


def _created_at(path: Path, card: ModelCard) -> str:
    if card.created_at:
        return card.created_at
    t = _dt.datetime.fromtimestamp((path / "model.json").stat().st_mtime, _dt.timezone.utc)
    return t.isoformat(timespec="seconds").replace("+00:00", "Z") + " (file time)"


def _fingerprint(path: Path) -> str:
    """sha256 over the files of a model directory (names and contents): equal dirs, equal prints."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(b"\x00")
        with open(f, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def model_entry(path: str | os.PathLike, *, is_default: bool = False, shipped: bool = False) -> ModelEntry:
    """The registry entry of one model directory (ModelNotFoundError without model.json,
    ModelCardError if it is invalid)."""
    p = Path(path)
    if not (p / "model.json").is_file():
        raise ModelNotFoundError(f"{p}: no model.json")
    card = load_card(p)
    return ModelEntry(
        dir_name=p.name,
        path=p,
        kind=card.kind,
        name=card.name,
        version=card.version,
        created_at=_created_at(p, card),
        parent=card.parent,
        data=card.data,
        held_out=held_out(p, card),
        is_default=is_default,
        card=card,
        shipped=shipped,
    )


def list_models(root: str | os.PathLike | None = None, *, problems: list[str] | None = None) -> list[ModelEntry]:
    """Every model directory under `root`, default first. Without `root`: the user's models
    directory, then the shipped models (a user `default` replaces the shipped one as default).
    A directory whose model.json is invalid is left out and its message appended to `problems`."""
    roots = [(Path(root), False)] if root is not None else [(user_models_dir(), False), (shipped_models_dir(), True)]
    out: list[ModelEntry] = []
    seen_default = False
    for r, shipped in roots:
        if not r.is_dir():
            continue
        for p in sorted(r.iterdir()):
            if p.is_dir() and not p.name.startswith(".") and (p / "model.json").is_file():
                is_default = p.name == DEFAULT and not seen_default
                try:
                    out.append(model_entry(p, is_default=is_default, shipped=shipped))
                except ModelCardError as e:
                    if problems is not None:
                        problems.append(str(e))
                    continue
                seen_default = seen_default or is_default
    out.sort(key=lambda e: (not e.is_default, e.shipped, e.dir_name))
    return out


@dataclass
class GateDecision:
    """Whether the candidate may replace the default, and the numbers behind the answer."""

    ok: bool
    reason: str
    candidate_pr_auc: float | None
    default_pr_auc: float | None
    tolerance: float
    baseline_source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _baseline_from_comparison(cand: ModelEntry, current: ModelEntry) -> HeldOut | None:
    """The current default's PR-AUC on the candidate's own held-out set, if the candidate's run measured it.

    `retrain` evaluates the model it started from on the new held-out set and records it in
    model.json `comparison.parent`; that number is like for like with the candidate's.
    """
    comp = cand.card.comparison if cand.card is not None else None
    if not isinstance(comp, dict):
        return None
    parent = comp.get("parent") or {}
    if parent.get("name") != current.name or str(parent.get("version")) != str(current.version):
        return None
    pr = _num(parent.get("pr_auc"))
    if pr is None:
        return None
    return HeldOut(pr, f"{cand.path / 'model.json'} comparison.parent", dict(comp.get("held_out") or {}))


def gate(candidate: ModelEntry, current: ModelEntry | None, tolerance: float = DEFAULT_TOLERANCE) -> GateDecision:
    """The PR-AUC gate: pass iff candidate >= default - tolerance on the same held-out data."""
    c = candidate.held_out
    if current is None:
        return GateDecision(True, "no current default: nothing to compare against", c.pr_auc, None, tolerance)
    if c.pr_auc is None:
        return GateDecision(
            False, f"{candidate.dir_name} has no held-out PR-AUC ({c.source}); evaluate it first", None, None, tolerance
        )
    base = _baseline_from_comparison(candidate, current)
    if base is not None:
        same, why = c.same_data(base)
        if not same and base.data and c.data:
            base = None  # the comparison was measured on other rows than metrics.json
    if base is None:
        base = current.held_out
        if base.pr_auc is None:
            return GateDecision(
                False,
                f"the current default has no held-out PR-AUC ({base.source}); evaluate it on the candidate's held-out data first",
                c.pr_auc,
                None,
                tolerance,
            )
        same, why = base.same_data(c)
        if not same:
            return GateDecision(
                False, f"not comparable (default vs candidate): {why}", c.pr_auc, base.pr_auc, tolerance, base.source
            )
    drop = base.pr_auc - c.pr_auc
    if drop > tolerance:
        return GateDecision(
            False,
            f"held-out PR-AUC dropped by {drop:.4f} ({base.pr_auc:.4f} -> {c.pr_auc:.4f}), more than the tolerance {tolerance}",
            c.pr_auc,
            base.pr_auc,
            tolerance,
            base.source,
        )
    return GateDecision(
        True,
        f"held-out PR-AUC {base.pr_auc:.4f} -> {c.pr_auc:.4f} (change {-drop:+.4f}, tolerance {tolerance})",
        c.pr_auc,
        base.pr_auc,
        tolerance,
        base.source,
    )


@dataclass
class PromoteResult:
    """What a promotion did."""

    promoted: str
    decision: GateDecision
    forced: bool
    archived_as: str | None
    registry: Path


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _archive_name(root: Path, entry: ModelEntry) -> tuple[str, bool]:
    """(dir name for the old default, whether an identical copy already exists there)."""
    base = _SAFE.sub("-", f"{entry.name or 'model'}-{entry.version or 'unversioned'}").strip("-.") or "model"
    if base == DEFAULT:
        base = "previous-default"
    fp = None
    name, k = base, 1
    while (root / name).exists():
        fp = fp or _fingerprint(entry.path)
        if _fingerprint(root / name) == fp:
            return name, True
        k += 1
        name = f"{base}-{k}"
    return name, False


def _append_registry(root: Path, event: dict[str, Any]) -> Path:
    path = root / REGISTRY_FILE
    reg = _read_json(path) or {}
    reg.setdefault("promotions", []).append(event)
    return atomic.write_json(path, reg)


def verify_loads(path: Path) -> None:
    """Load the model with `load_scorer` and score one ad: a model that cannot score is never promoted."""
    from .scoring import load_scorer

    try:
        scorer = load_scorer(path)
        a = scorer.score("Test ad: waiter wanted, official contract.")
    except Exception as exc:  # any failure to load or score means: do not promote
        raise PromotionError(f"{path}: the model does not load or score ({type(exc).__name__}: {exc})") from None
    if not 0.0 <= a.risk <= 1.0:
        raise PromotionError(f"{path}: the model scored a risk outside [0, 1] ({a.risk})")


#: What a model directory may hold: regular files with these suffixes, at its top level
#: (weights as safetensors, configuration and metrics as JSON, the card as Markdown).
MODEL_FILE_SUFFIXES = (".json", ".safetensors", ".md", ".txt")


def check_candidate_files(path: Path) -> list[Path]:
    """The files of a candidate model directory, or PromotionError naming the first entry that is
    a symlink, a special file (FIFO, socket, device), a subdirectory or an unexpected file type:
    promotion copies the directory, and must never copy what a link points at (a system file, a
    certificate directory) or hang reading a FIFO."""
    if path.is_symlink():
        raise PromotionError(f"{path}: the candidate directory is a symbolic link; promote the real directory")
    files = []
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        where = Path(path) / entry.name
        if entry.is_symlink():
            raise PromotionError(f"{where}: a symbolic link in the candidate; models/default takes only regular files")
        if entry.is_dir(follow_symlinks=False):
            raise PromotionError(f"{where}: a subdirectory in the candidate; a model directory holds only files")
        if not entry.is_file(follow_symlinks=False):
            raise PromotionError(f"{where}: a special file (FIFO, socket or device) in the candidate")
        if not entry.name.endswith(MODEL_FILE_SUFFIXES) or entry.name.startswith("."):
            raise PromotionError(
                f"{where}: unexpected file in a model directory (allowed: {', '.join(MODEL_FILE_SUFFIXES)}, not hidden)"
            )
        files.append(where)
    return files


def _copy_regular(src: Path, dst: Path) -> None:
    """Copy one regular file without following a symlink at `src` (O_NOFOLLOW)."""
    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fin:
        if not stat.S_ISREG(os.fstat(fin.fileno()).st_mode):
            raise PromotionError(f"{src}: not a regular file")
        with open(dst, "xb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    shutil.copystat(src, dst, follow_symlinks=False)


def promote(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    force: bool = False,
    verify: bool = True,
) -> PromoteResult:
    """Make `<root>/<name>` (or the directory `name`) the default in `root` if it passes the
    gate (or `force`); raises PromotionError if refused. `root`: the user's models directory.
    Without a default in `root` the gate compares against the shipped default.

    With `verify` the candidate must load and score an ad first (even under `force`). A
    candidate holding symlinks, special files, subdirectories or unexpected files is refused
    (see `check_candidate_files`). The candidate is copied to a temporary directory beside `default`, the old default is
    renamed to its archive name, and the copy is renamed to `default` (rolled back on error).
    """
    r = Path(root) if root is not None else user_models_dir()
    src = Path(name) if Path(name).is_absolute() or os.sep in name else r / name
    if src.name == DEFAULT and src.parent.resolve() == r.resolve():
        raise PromotionError("the default is already the default; name another model directory")
    if not (src / "model.json").is_file():
        raise PromotionError(f"{src}: no model here (expected model.json)")
    check_candidate_files(src)
    try:
        cand = model_entry(src)
    except ModelCardError as e:
        raise PromotionError(f"{src}: the model does not load (invalid model.json: {e})") from None
    cur_path = r / DEFAULT
    current = model_entry(cur_path, is_default=True) if (cur_path / "model.json").is_file() else None
    compare_to = current
    if current is None and root is None and (shipped_models_dir() / DEFAULT / "model.json").is_file():
        compare_to = model_entry(shipped_models_dir() / DEFAULT, is_default=True, shipped=True)
    decision = gate(cand, compare_to, tolerance)
    if not decision.ok and not force:
        raise PromotionError(f"refused to promote {cand.dir_name}: {decision.reason} (use --force to override)")
    if verify:
        verify_loads(src)

    archived_as = None
    r.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{DEFAULT}.new.", dir=r))
    try:
        for f in check_candidate_files(src):  # again: the directory may have changed while it was verified
            _copy_regular(f, tmp / f.name)
        if current is not None:
            archived_as, exists = _archive_name(r, current)
            # keep the old default as its archive, unless an archive of that name exists already
            atomic.replace_dir(tmp, cur_path, keep_old_as=None if exists else r / archived_as)
        else:
            os.replace(tmp, cur_path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    event = {
        "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "promoted": cand.dir_name,
        "name": cand.name,
        "version": cand.version,
        "previous": None
        if current is None
        else {"name": current.name, "version": current.version, "archived_as": archived_as},
        "gate": decision.to_dict(),
        "forced": bool(force and not decision.ok),
    }
    reg = _append_registry(r, event)
    return PromoteResult(cand.dir_name, decision, bool(force and not decision.ok), archived_as, reg)
