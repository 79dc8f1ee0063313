"""One-line messages on stderr, shared by the local and the Ray `score` paths."""

from __future__ import annotations

#: At most this many bad records are printed to stderr; the errors file has them all.
MAX_PRINTED_ERRORS = 20


def say(console, message: str) -> None:
    """Print `message` as plain text (untrusted input: no rich markup, no highlighting)."""
    console.print(message, markup=False, highlight=False, soft_wrap=True)
