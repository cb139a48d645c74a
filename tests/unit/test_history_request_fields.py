"""The system prompt and the extra fields in the history: saved with the run, read back, exported,
and a history file from before them (schema 2) opens and migrates."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

from damaged_history import history_at_version
from runs import ended_run

from tui_client.core.storage.export import run_document, to_markdown
from tui_client.core.storage.history import SCHEMA_VERSION, HistoryStore

EXTRA = {"min_p": 0.05, "ignore_eos": True, "structured_outputs": {"choice": [" yes", " no"]}, "note": "0.5"}


def with_fields(system: str | None = "You answer in three words.\nAlways.", extra: dict | None = None):
    state = ended_run()
    state.request = replace(state.request, system=system, extra=EXTRA if extra is None else extra)
    return state


def test_the_system_prompt_and_extra_fields_read_back_the_same(tmp_path: Path) -> None:
    state = with_fields()
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        run = store.get(store.save(state))
        plain = store.get(store.save(with_fields(system=None, extra={})))
    assert run is not None and plain is not None
    assert run.request() == state.request
    assert run.request().system == "You answer in three words.\nAlways."
    assert run.request().extra == EXTRA and type(run.request().extra["min_p"]) is float
    assert plain.request().system is None and plain.request().extra == {}


def test_the_json_document_and_markdown_carry_them() -> None:
    state = with_fields()
    doc = json.loads(json.dumps(run_document(state)))
    assert doc["system"] == "You answer in three words.\nAlways." and doc["extra"] == EXTRA
    md = to_markdown(state)
    assert "## System prompt\n\n```text\nYou answer in three words.\nAlways.\n```\n\n## Prompt" in md
    assert '| min_p | `0.05` |' in md and '| structured_outputs | `{"choice": [" yes", " no"]}` |' in md
    assert '| note | `"0.5"` |' in md  # a string that looks like a number shows as the string sent
    plain = run_document(with_fields(system=None, extra={}))
    assert plain["system"] is None and plain["extra"] == {} and "System prompt" not in to_markdown(ended_run())


def test_a_history_from_before_them_opens_migrates_and_takes_them(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    history_at_version(path, 2)
    with HistoryStore(path, read_only=True) as store:  # an older schema is opened to be migrated
        old = store.get(1)
        assert old is not None and old.candidates[0].text == " old text"
        assert old.request().system is None and old.request().extra == {}
        assert [s.prompt_preview for s in store.list()] == ["old prompt"]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    assert {row[1] for row in db.execute("PRAGMA table_info(runs)")} >= {"system", "extra"}
    db.close()
    with HistoryStore(path) as store:
        new = store.get(store.save(with_fields()))
    assert new is not None and new.request().extra == EXTRA
