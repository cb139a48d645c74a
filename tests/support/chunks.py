"""Cutting a byte stream into chunks at given points, for the re-chunking properties."""

from __future__ import annotations


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at each ``cut % (len(data) + 1)`` (in order, repeats ignored)."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points + [len(data)]:
        pieces.append(data[last:p])
        last = p
    return pieces
