"""Small pieces of wording shared by messages."""

from __future__ import annotations

__all__ = ["count_of"]


def count_of(k: int, noun: str, plural: str | None = None) -> str:
    """``1 character``, ``1,234 characters`` (``plural`` when not ``noun + "s"``)."""
    return f"{k:,} {noun if k == 1 else plural or noun + 's'}"
