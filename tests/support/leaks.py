"""Finding a secret on disk: the tests that check an API key or password is never written."""

from __future__ import annotations

from pathlib import Path


def files_containing(directory: Path, secret: str) -> list[str]:
    """The names of the files under ``directory`` whose bytes contain ``secret``."""
    return [p.name for p in directory.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
