"""A comparison in the history: one run with every server's result; files of the schema before open and migrate."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from damaged_history import history_at_version
from hostile_server import HostileServer

from tui_client.core.protocol import ClientConfig, GenerationRequest, SamplingParams, Status
from tui_client.core.protocol.compare import ServerTarget
from tui_client.core.run_session import RunSession
from tui_client.core.storage.export import run_document, to_markdown
from tui_client.core.storage.history import SCHEMA_VERSION, HistoryStore


async def compared(demo_url: str, other_url: str, path: Path, n: int = 3):
    """A real comparison (the demo server, and ``other_url``), ended and saved through the session."""
    session = RunSession(ClientConfig(url=demo_url), stream_worker=False, history_path=str(path))
    session.set_compare([ServerTarget("other", other_url)], label="demo")
    try:
        crun = session.begin_compare(GenerationRequest("The", SamplingParams(n=n, max_tokens=6, temperature=0.9,
                                                                             logprobs=1)))
        await session.stream_compare(crun, lambda: None, lambda err: None)
        compare = crun.end()
        assert session.worth_saving(compare.groups[0].state, compare)
        return compare, session.save(compare.groups[0].state, compare)
    finally:
        await session.aclose()


async def test_a_comparison_round_trips(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HostileServer("die-mid-stream") as dying:
        compare, run_id = await compared(demo_url, dying.url, path)
    demo, other = compare.groups
    assert demo.state.status is Status.FINISHED and other.state.status is Status.FAILED
    with HistoryStore(path) as store:
        stored = store.get(run_id)
        [summary] = store.list()
        assert store.list(search=other.state.candidates[0].text)  # the other server's text is searched too
    assert summary.servers == 2 and summary.status is Status.FINISHED and summary.url == demo.state.server.url
    assert stored is not None and [g.label for g in stored.groups] == ["demo", "other"]
    assert stored.groups[0].state is stored.state
    for saved, group in zip(stored.groups, compare.groups):
        assert saved.state.status is group.state.status and saved.state.server.url == group.state.server.url
        assert [(c.index, c.text, c.finish_reason, c.status) for c in saved.state.ordered()] == [
            (c.index, c.text, c.finish_reason, c.status) for c in group.state.ordered()]
        assert [c.token_texts for c in saved.state.ordered()] == [c.token_texts for c in group.state.ordered()]
    assert stored.groups[1].state.error is not None and str(stored.groups[1].state.error) == str(other.state.error)
    doc = json.loads(json.dumps(run_document(stored)))
    assert [s["label"] for s in doc["servers"]] == ["demo", "other"] and doc["servers"][1]["status"] == "failed"
    assert doc["servers"][1]["candidates"][0]["text"] == other.state.candidates[0].text
    md = to_markdown(stored)
    assert "## demo · Candidate 2" in md and "## other · Candidate 0" in md and "- **other:** `other · " in md
    with HistoryStore(path) as store:
        assert store.delete(run_id)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM run_servers").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM server_candidates").fetchone()[0] == 0
    db.close()


async def test_a_history_of_the_schema_before_migrates_and_then_takes_comparisons(demo_url: str,
                                                                                    tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    history_at_version(path, SCHEMA_VERSION - 1)
    with HistoryStore(path, read_only=True) as store:
        old = store.get(1)
        assert old is not None and old.candidates[0].text == " old text" and old.groups == []
        assert [(s.servers, s.prompt_preview) for s in store.list()] == [(1, "old prompt")]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    _, run_id = await compared(demo_url, demo_url, path, n=2)
    with HistoryStore(path) as store:
        stored = store.get(run_id)
        assert stored is not None and [len(g.state.candidates) for g in stored.groups] == [2, 2]
        assert [s.servers for s in store.list()] == [2, 1]
