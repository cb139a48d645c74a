"""The run history's SQLite storage (`tui-client history`: tests/cli/test_cli_history.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from expected import request_for
from leaks import files_containing
from replay_server import OPENAI, Recording, ReplayServer
from runs import ended_run, logprob_run

from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ClientError,
    ErrorKind,
    GenerationRequest,
    RunState,
    SamplingParams,
    ServerInfo,
    Status,
    VLLMClient,
)
from tui_client.core.storage.history import MIGRATIONS, SCHEMA_VERSION, HistoryError, HistoryStore, default_path
from tui_client.demo.server import DemoServer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "h.sqlite3") as s:
        yield s


def test_a_saved_run_reads_back_the_same(store: HistoryStore) -> None:
    state = ended_run(error=ClientError(ErrorKind.DISCONNECTED, "server went away", url="http://h:8000/v1/completions"),
                      status=Status.FAILED)
    run_id = store.save(state)
    run = store.get(run_id)
    assert run is not None and run.id == run_id
    assert run.request() == state.request
    assert run.state.to_json() == state.to_json()  # candidates, usage, timing, server, status, notes, error
    assert [(c.index, c.text, c.status, c.stop_reason, c.tokens) for c in run.candidates] == [
        (0, " a time", Status.FAILED, "\n", 3), (1, " a mattress", Status.FAILED, "\n", 4)]
    assert run.state.server.version == "0.32.0"
    assert abs(run.created.timestamp() - time.time()) < 60


def test_whatever_a_server_sent_as_finish_or_stop_reason_is_kept(store: HistoryStore) -> None:
    state = ended_run()
    state.candidates[0].finish_reason, state.candidates[0].stop_reason = 5, ["odd", {"x": 1.5}]  # type: ignore[assignment]
    run = store.get(store.save(state))
    assert run is not None and run.state.to_json() == state.to_json()
    assert run.candidates[0].stop_reason == ["odd", {"x": 1.5}]


def test_list_is_newest_first_with_limit_and_search(store: HistoryStore) -> None:
    ids = [store.save(ended_run(f"prompt {i}", (f"text {i}", "100% sure_x"))) for i in range(5)]
    summaries = store.list()
    assert [s.id for s in summaries] == ids[::-1]
    assert summaries[0].prompt_preview == "prompt 4" and summaries[0].n == 2 and summaries[0].model == "m1"
    assert summaries[0].api == "completions" and summaries[0].status is Status.FINISHED
    assert [s.id for s in store.list(limit=2)] == ids[:2:-1]
    assert [s.id for s in store.list(search="PROMPT 1")] == [ids[1]]  # prompt, case-insensitive
    assert [s.id for s in store.list(search="text 3")] == [ids[3]]  # a candidate's text
    assert len(store.list(search="100% sure_")) == 5
    assert store.list(search="0%_s") == []  # % and _ are literal
    assert store.list(search="nowhere") == []


def test_search_of_any_length(store: HistoryStore) -> None:
    """SQLite's LIKE refuses a pattern over 50,000 bytes ("pattern too complex"): a pasted page is a search too."""
    long = "word " * 20_000  # 100,000 characters
    hit = store.save(ended_run("before " + long + "after", ("x",)))
    store.save(ended_run("short", ("y",)))
    assert [s.id for s in store.list(search=long)] == [hit]
    assert store.list(search=long + "!") == []


def test_list_reads_no_candidate_text_and_uses_the_index(store: HistoryStore) -> None:
    store.save(ended_run("p" * 5000))
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    [summary] = store.list()
    assert len(summary.prompt_preview) == 200
    assert statements and not any("candidates" in s for s in statements)
    plan = " ".join(str(row) for row in store._db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM runs ORDER BY created DESC, id DESC LIMIT 100"))
    assert "runs_by_created" in plan and "TEMP B-TREE" not in plan


def test_listing_a_big_history_is_fast(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        texts = tuple("word " * 400 for _ in range(8))
        for i in range(1500):
            store.save(ended_run(f"run {i}", texts))
    started = time.perf_counter()
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        assert len(store.list()) == 100
    assert time.perf_counter() - started < 1  # a few ms


def test_delete(store: HistoryStore) -> None:
    first, second = store.save(ended_run()), store.save(ended_run())
    assert store.delete(first) is True
    assert store.delete(first) is False
    assert store.get(first) is None
    assert [s.id for s in store.list()] == [second]
    assert store._db.execute("SELECT count(*) FROM candidates WHERE run_id = ?", (first,)).fetchone()[0] == 0


def test_a_running_run_is_not_saved(store: HistoryStore) -> None:
    state = RunState(GenerationRequest("x"), ServerInfo("http://h", Api.CHAT))
    with pytest.raises(ValueError, match="ended"):
        store.save(state)


def test_location_schema_version_and_wal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_CLIENT_DATA_DIR", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "history.sqlite3"
    with HistoryStore() as store:
        store.save(ended_run())
    db = sqlite3.connect(default_path())
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert default_path().stat().st_mode & 0o077 == 0  # private to the user
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="newer tui-client"):
        HistoryStore()


def test_a_corrupt_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError) as info:
        HistoryStore(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_concurrent_processes(tmp_path: Path) -> None:
    writer = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent.parent / "support")!r})
        from runs import ended_run
        from tui_client.core.storage.history import HistoryStore
        store = HistoryStore({str(tmp_path / "h.sqlite3")!r})
        for i in range(25):
            store.save(ended_run(f"{{sys.argv[1]}}-{{i}}"))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(w)]) for w in range(4)]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        runs = store.list(limit=1000)
    assert len(runs) == 100 and len({r.id for r in runs}) == 100
    assert {r.prompt_preview for r in runs} == {f"{w}-{i}" for w in range(4) for i in range(25)}


async def _run(config: ClientConfig) -> RunState:
    async with VLLMClient(config) as client:
        async for event in client.generate(GenerationRequest("Tell me", SamplingParams(n=2, max_tokens=8))):
            state = event.state
    return state


async def test_the_api_key_is_never_written(tmp_path: Path) -> None:
    key, password = "sk-never-on-disk-4242", "pw-never-on-disk-77"
    with DemoServer(token_delay=0.0, api_key=key) as demo:
        ok = await _run(ClientConfig(url=demo.url, api_key=key))
        # A password in the URL (Basic auth) replaces the bearer token: the server refuses.
        refused = await _run(ClientConfig(url=demo.url.replace("http://", f"http://someone:{password}@"), api_key=key))
    assert ok.status is Status.FINISHED and ok.candidates
    assert refused.status is Status.FAILED and refused.error is not None
    # The protocol layer already keeps the password out of URLs and messages.
    assert password not in refused.server.url + str(refused.error.url) + refused.error.message
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        store.save(ok)
        stored = store.get(store.save(refused))
    assert stored is not None and stored.state.server.url == demo.url and stored.state.error is not None
    assert files_containing(tmp_path, key) == [] and files_containing(tmp_path, password) == []
    assert files_containing(tmp_path, "Tell me")  # the check does find what is stored


def tokens_of(state: RunState) -> dict[int, tuple[object, ...]]:
    # NaN != NaN: compare the logprobs as their repr
    return {c.index: (c.token_texts, repr(c.token_logprobs), c.token_tops, repr(c.cumulative_logprob),
                      repr(c.mean_logprob)) for c in state.ordered()}


@pytest.mark.parametrize("name", ["completions-stream-logprobs-n2", "chat-stream-logprobs-n2", None])
async def test_logprobs_read_back_the_same(store: HistoryStore, name: str | None) -> None:
    if name is None:
        state = logprob_run()
    else:
        rec = Recording.load(OPENAI / f"{name}.json")
        with ReplayServer(rec) as server:
            async with VLLMClient(ClientConfig(url=server.url, api=Api.CHAT if "chat" in name else None)) as client:
                async for event in client.generate(request_for(rec)):
                    state = event.state
    run = store.get(store.save(state))
    assert run is not None and run.request().params.logprobs == state.request.params.logprobs
    assert tokens_of(run.state) == tokens_of(state) and all(c.token_texts for c in run.candidates)
    assert json.dumps(run.state.to_json()) == json.dumps(state.to_json())
    assert store.delete(run.id) and store._db.execute("SELECT count(*) FROM run_tokens").fetchone()[0] == 0


def test_a_history_file_from_before_logprobs_opens_and_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("INSERT INTO runs VALUES (1, 1700000000.0, 'http://h', 'completions', 'm', NULL, 'old prompt',"
               " '{\"n\": 1, \"temperature\": 0.5}', 1, 1, 'finished', NULL, 0.1, 0.5, '[]', NULL)")
    db.execute("INSERT INTO candidates VALUES (1, 0, ' old text', 'finished', '\"stop\"', 'null', 2, 0.1, 0.4)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with HistoryStore(path) as store:
        assert [(s.id, s.prompt_preview) for s in store.list()] == [(1, "old prompt")]
        old = store.get(1)
        assert old is not None and old.candidates[0].text == " old text" and old.candidates[0].token_texts == []
        assert old.request().params.logprobs is None and "logprobs" not in old.state.to_json()["candidates"][0]
        new = store.get(store.save(logprob_run()))
        assert new is not None and new.candidates[1].token_texts == [" 日", "本"]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_listing_never_reads_the_logprobs(store: HistoryStore) -> None:
    store.save(logprob_run())
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.list()
    store.list(search="日本")
    assert statements and not any("run_tokens" in s for s in statements)


def test_unreadable_logprobs_cost_a_note_not_the_run(store: HistoryStore) -> None:
    run_id = store.save(logprob_run())
    store._db.execute("UPDATE run_tokens SET data = ? WHERE run_id = ?", (b"TLP1 not really", run_id))
    run = store.get(run_id)
    assert run is not None and run.candidates[0].text == " a | `b`" and run.candidates[0].token_texts == []
    assert run.state.notes[-1].startswith("its logprobs could not be read from the history (")


def test_a_big_logprob_run_keeps_the_history_quick(tmp_path: Path) -> None:
    """64 x 1024 tokens x 5 alternatives (figures: benchmarks/notes/core.md)."""
    words = [f" w{i}" for i in range(500)]
    state = ended_run(texts=("",) * 64)
    for cand in state.ordered():
        texts = [words[(cand.index * 7 + k) % 500] for k in range(1024)]
        cand.text = "".join(texts)
        cand.add_tokens(texts, [-1.5] * 1024, [tuple((words[(k + j) % 500], -1.0 - j) for j in range(5)) for k in range(1024)])
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        run_id = store.save(state)
        store.save(ended_run())
    started = time.perf_counter()
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        assert len(store.list()) == 2
        listed = time.perf_counter() - started
        run = store.get(run_id)
    opened = time.perf_counter() - started - listed
    assert run is not None and run.candidates[63].token_tops[1023] == state.candidates[63].token_tops[1023]
    assert listed < 0.5 and opened < 5  # a few ms and about 0.3 s on a busy 2-core machine
