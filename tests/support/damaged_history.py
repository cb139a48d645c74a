"""Rows a newer tui-client (or a damaged disk) could leave in the history, and history files
of an older schema, written with sqlite3 directly."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tui_client.core.storage.history import MIGRATIONS

UNKNOWN_STATUS = "from-the-future"


def add_damaged_rows(db: Path, like: int = 1, *, extra: bool = False) -> dict[str, int]:
    """Copies of run ``like`` with one thing each a reader cannot take; their ids by what is wrong
    (with ``extra``, also one whose extra fields are not a JSON object)."""
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
        if extra:
            damaged["extra"] = {"extra": "[1, 2]"}
        for what, changes in damaged.items():
            values = {**row, **changes, "created": row["created"] + len(ids) + 1}
            cursor = conn.execute(f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                                  list(values.values()))
            ids[what] = cursor.lastrowid  # type: ignore[assignment]
    return ids


def history_at_version(db: Path, version: int, prompt: str = "old prompt") -> None:
    """A history file as tui-client left it at schema ``version`` (2: before the system prompt and
    the extra fields), holding one finished completions run of one candidate, " old text"."""
    with sqlite3.connect(db) as conn:
        for statements in MIGRATIONS[:version]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("INSERT INTO runs (id, created, url, api, model, server_version, prompt, params, stream, n, status,"
                     " usage, first_text_at, ended_at, notes, error) VALUES (1, 1700000000.0, 'http://h', 'completions',"
                     " 'm', NULL, ?, '{\"n\": 1, \"temperature\": 0.5}', 1, 1, 'finished', NULL, 0.1, 0.5, '[]', NULL)",
                     (prompt,))
        conn.execute("INSERT INTO candidates VALUES (1, 0, ' old text', 'finished', '\"stop\"', 'null', 2, 0.1, 0.4)")
        conn.execute(f"PRAGMA user_version = {version}")
