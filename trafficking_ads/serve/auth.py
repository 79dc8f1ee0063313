"""API keys: read from a file, checked in constant time, never logged.

The key file holds one key per line (blank lines and `#` comments ignored); several keys let
each client, or an old and a new key during rotation, have its own. A request carries a key
as `Authorization: Bearer KEY`, or as the password of HTTP Basic auth (any user name) — the
only scheme Label Studio offers for ML backends, and the one a browser prompts for on /docs.
Every configured key is compared, each through SHA-256 digests of equal length with
`hmac.compare_digest`, so the time taken says neither which key matched nor how much of one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from pathlib import Path

from ..errors import TraffickingAdsError

#: Shorter keys are refused when the file is read: they can be guessed.
MIN_KEY_CHARS = 16


class KeyFileError(TraffickingAdsError, ValueError):
    """The key file cannot be used (the message names the file and line, never a key)."""


def read_keys(path: str | Path) -> list[bytes]:
    """The keys of a key file; raises KeyFileError for a missing, empty or weak file."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise KeyFileError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError(f"{p}: cannot read ({type(e).__name__})") from None
    keys: list[bytes] = []
    for n, line in enumerate(lines, start=1):
        key = line.strip()
        if not key or key.startswith("#"):
            continue
        if len(key) < MIN_KEY_CHARS:
            raise KeyFileError(f"{p}, line {n}: key shorter than {MIN_KEY_CHARS} characters")
        if any(ch.isspace() for ch in key) or not key.isprintable():
            raise KeyFileError(f"{p}, line {n}: key holds white space or control characters")
        keys.append(key.encode("utf-8"))
    if not keys:
        raise KeyFileError(f"{p}: no keys (one key per line; '#' starts a comment)")
    return keys


def presented_key(authorization: str | None) -> bytes | None:
    """The key a request presents in its Authorization header (Bearer, or Basic's password)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value.encode("utf-8", "surrogateescape")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        _, sep, password = decoded.partition(b":")
        return password if sep else None
    return None


class KeyChecker:
    """Whether a request's Authorization header carries one of the configured keys."""

    def __init__(self, keys: list[bytes]) -> None:
        self._digests = [hashlib.sha256(k).digest() for k in keys]

    def __len__(self) -> int:
        return len(self._digests)

    def allows(self, authorization: str | None) -> bool:
        """Constant-time check of the header against every key."""
        key = presented_key(authorization)
        given = hashlib.sha256(key if key is not None else b"").digest()
        ok = False
        for d in self._digests:
            ok |= hmac.compare_digest(given, d)
        return ok and key is not None
