"""Rows a newer tui-client (or a damaged disk) could leave in the history, written with sqlite3 directly."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

UNKNOWN_STATUS = "from-the-future"


def add_damaged_rows(db: Path, like: int = 1) -> dict[str, int]:
    """Copies of run ``like`` with one thing each a reader cannot take; their ids by what is wrong."""
    ids: dict[str, int] = {}
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(runs)") if row[1] != "id"]
        row = dict(zip(columns, conn.execute(f"SELECT {', '.join(columns)} FROM runs WHERE id = ?", (like,)).fetchone()))
        params = json.loads(row["params"])
        damaged = {
            "status": {"status": UNKNOWN_STATUS},
            "error_kind": {"status": "failed", "error": json.dumps({"kind": "quantum", "message": "m", "url": None})},
            "json": {"params": "{not json"},
            "huge_max_tokens": {"params": json.dumps({**params, "max_tokens": 10**20})},  # before values were bounded
        }
        for what, changes in damaged.items():
            values = {**row, **changes, "created": row["created"] + len(ids) + 1}
            cursor = conn.execute(f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                                  list(values.values()))
            ids[what] = cursor.lastrowid  # type: ignore[assignment]
    return ids
