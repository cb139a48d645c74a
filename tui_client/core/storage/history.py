"""The run history: every ended run (finished, cancelled or failed) in a local SQLite file.

The file is ``history.sqlite3`` under ``platformdirs.user_data_dir("tui-client")``, or
under ``$TUI_CLIENT_DATA_DIR``. It holds what is needed to show, export and re-run a
run (the prompt, the system prompt, the parameters and the extra fields: the same body
again), and never a credential: the API key is not part of a :class:`RunState`, and the
user:password part of URLs (in the server URL, error and notes) is dropped before
anything is written.

The database is in WAL mode (several tui-client processes may write at once), its
schema version is ``PRAGMA user_version``, and listing reads the ``runs`` table
only (no candidate text, no logprobs), newest first through an index.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path

from tui_client.core.protocol import (
    Api,
    Candidate,
    ClientError,
    ErrorKind,
    GenerationRequest,
    Parent,
    RunState,
    SamplingParams,
    ServerInfo,
    Status,
    Turn,
    Usage,
)
from tui_client.core.protocol.compare import CompareState, ServerGroup
from tui_client.core.protocol.errors import without_userinfo
from tui_client.core.storage.paths import history_path
from tui_client.core.storage.token_blob import pack, unpack

__all__ = ["HistoryError", "HistoryStore", "RunSummary", "StoredRun", "TreeLine", "default_path"]

PREVIEW_CHARS = 200

# One tuple of statements per schema version; a database at version v runs MIGRATIONS[v:].
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            created REAL NOT NULL,          -- unix time the run started
            url TEXT NOT NULL,
            api TEXT,
            model TEXT,
            server_version TEXT,
            prompt TEXT NOT NULL,
            params TEXT NOT NULL,           -- JSON: SamplingParams.as_dict()
            stream INTEGER NOT NULL,
            n INTEGER NOT NULL,
            status TEXT NOT NULL,
            usage TEXT,                     -- JSON: Usage.to_json()
            first_text_at REAL,             -- seconds since the request was sent
            ended_at REAL,
            notes TEXT NOT NULL,            -- JSON list
            error TEXT                      -- JSON: ClientError.to_json()
        )""",
        "CREATE INDEX runs_by_created ON runs (created)",
        """CREATE TABLE candidates (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL,
            finish_reason TEXT,             -- JSON, as the server sent it
            stop_reason TEXT,               -- JSON: a string or a token id
            tokens INTEGER,
            first_text_at REAL,
            last_text_at REAL,
            PRIMARY KEY (run_id, idx)
        ) WITHOUT ROWID""",
    ),
    (  # --logprobs: all of a run's tokens in one blob (token_blob.py), read only when the run is opened
        """CREATE TABLE run_tokens (
            run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
            data BLOB NOT NULL
        )""",
    ),
    (  # the run tree (a run continued or forked from a candidate of another) and chat turns
        "ALTER TABLE runs ADD COLUMN parent_run INTEGER",  # kept when that run is deleted
        "ALTER TABLE runs ADD COLUMN parent_candidate INTEGER",
        "ALTER TABLE runs ADD COLUMN parent_offset INTEGER",  # NULL: its whole text
        "ALTER TABLE runs ADD COLUMN turns TEXT",  # JSON: [{"role", "content"}], the chat before the prompt
        "CREATE INDEX runs_by_parent ON runs (parent_run)",
    ),
    (  # --system, --param/--extra/[params]: the chat system prompt and the extra fields sent (a JSON object)
        "ALTER TABLE runs ADD COLUMN system TEXT",
        "ALTER TABLE runs ADD COLUMN extra TEXT NOT NULL DEFAULT '{}'",
    ),
    (  # compare servers: one run, one result per server; the runs row and candidates hold the first
        # server's (its status is the whole comparison's), run_servers every server's, server_candidates
        # the candidates of the others
        "ALTER TABLE runs ADD COLUMN servers INTEGER NOT NULL DEFAULT 1",
        """CREATE TABLE run_servers (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            pos INTEGER NOT NULL,           -- 0: the server of the runs row
            label TEXT NOT NULL,
            url TEXT NOT NULL,
            api TEXT,
            model TEXT,
            server_version TEXT,
            status TEXT NOT NULL,
            usage TEXT,
            first_text_at REAL,
            ended_at REAL,
            notes TEXT NOT NULL,
            error TEXT,
            tokens BLOB,                    -- pos > 0: its candidates' tokens (token_blob.py)
            PRIMARY KEY (run_id, pos)
        ) WITHOUT ROWID""",
        """CREATE TABLE server_candidates (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            pos INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL,
            finish_reason TEXT,
            stop_reason TEXT,
            tokens INTEGER,
            first_text_at REAL,
            last_text_at REAL,
            PRIMARY KEY (run_id, pos, idx)
        ) WITHOUT ROWID""",
    ),
)
TREE_TAIL_CHARS = 60
"""How much of the end of each run's prompt a tree line shows."""
TREE_MAX_DEPTH = 1000
"""A tree is followed this deep at most (a damaged file could make a loop)."""
SCHEMA_VERSION = len(MIGRATIONS)


def default_path() -> Path:
    """Where the history lives: ``$TUI_CLIENT_DATA_DIR`` or the platform's data dir."""
    return history_path()


class HistoryError(Exception):
    """The history cannot be read or written; ``str()`` is one line naming the file."""


@dataclass(frozen=True)
class RunSummary:
    """One line of the history list (no candidate text is loaded for it)."""

    id: int
    created: datetime
    url: str
    api: str | None
    model: str | None
    n: int
    status: Status
    prompt_preview: str  # the first PREVIEW_CHARS characters of the prompt
    parent: int | None = None  # the run it was continued or forked from
    servers: int = 1  # how many servers it compared


@dataclass(frozen=True)
class TreeLine:
    """One run of a tree: how deep, the run, which of its parent's candidates, the prompt's end."""

    depth: int
    id: int
    candidate: int | None
    offset: int | None
    n: int
    status: str
    prompt_tail: str


@dataclass
class StoredRun:
    """A run read back: ``state`` is an ended :class:`RunState`, as it was when saved."""

    id: int
    created: datetime
    state: RunState
    groups: list[ServerGroup] = field(default_factory=list)
    """A comparison: every server's result (the first is ``state``); empty for a run of one server."""

    def request(self) -> GenerationRequest:
        """The request to run it again."""
        return self.state.request

    @property
    def candidates(self) -> list[Candidate]:
        return self.state.ordered()


class HistoryStore:
    """``HistoryStore(path=None)``: open (creating if needed) the history database.

    One store per thread. Every method raises :class:`HistoryError` when the
    database cannot be used (unreadable, corrupt, written by a newer tui-client).
    """

    def __init__(self, path: Path | str | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.skipped: list[str] = []
        """Why :meth:`list` left rows out (unknown status, damaged), one line each."""
        if read_only and self._open_read_only():
            return
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # private; WAL files follow
            self._db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            with self._errors():
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._db.execute("PRAGMA foreign_keys = ON")
                self._migrate()
        except HistoryError:
            self._db.close()
            raise

    def _open_read_only(self) -> bool:
        """Open for reading only (``mode=ro``: a read-only file system or file will do); False
        when the file must be opened read-write first (an older schema to migrate)."""
        if not self.path.exists():  # nothing saved yet: an empty history, created nowhere
            self._db = sqlite3.connect(":memory:", isolation_level=None)
            with self._errors():
                self._migrate()
            return True
        uri = self.path.resolve().as_uri()
        with self._errors():
            try:
                self._db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=10, isolation_level=None)
                version = self._version()
            except sqlite3.OperationalError as err:  # WAL without its -shm file where none can be made
                if getattr(err, "sqlite_errorname", "") != "SQLITE_CANTOPEN":
                    raise
                self._db.close()
                self._db = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
                version = self._version()
        if version > SCHEMA_VERSION:
            self._db.close()
            raise HistoryError(f"{self.path}: written by a newer tui-client (schema {version}); not touching it")
        if version < SCHEMA_VERSION:
            self._db.close()
            return False
        return True

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def save(self, state: RunState, compare: CompareState | None = None) -> int:
        """Store an ended run; returns its id. With ``compare`` (whose first group is ``state``) every
        server's result, as one run."""
        if not state.status.done:
            raise ValueError(f"only an ended run can be saved (this one is {state.status.value})")
        if compare is not None and not compare.done:
            raise ValueError("only an ended comparison can be saved")
        request, server = state.request, state.server
        status = compare.status if compare is not None else state.status
        parent = request.parent
        created = time.time() - (time.monotonic() - state.started)
        with self._errors(), self._transaction():
            run_id = self._db.execute(
                "INSERT INTO runs (created, url, api, model, server_version, prompt, params, stream, n, status,"
                " usage, first_text_at, ended_at, notes, error, system, extra, parent_run, parent_candidate,"
                " parent_offset, turns, servers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    created,
                    without_userinfo(server.url),
                    server.api.value if server.api else None,
                    server.model,
                    server.version,
                    request.prompt,
                    json.dumps(request.params.as_dict()),
                    request.stream,
                    request.params.n,
                    status.value,
                    json.dumps(state.usage.to_json()) if state.usage else None,
                    state.first_text_at,
                    state.ended_at,
                    json.dumps([without_userinfo(note) for note in state.notes]),
                    json.dumps(_error_json(state.error)) if state.error else None,
                    request.system or None,
                    json.dumps(dict(request.extra)),
                    parent.run if parent else None,
                    parent.candidate if parent else None,
                    parent.offset if parent else None,
                    json.dumps([turn.to_json() for turn in request.turns]) if request.turns else None,
                    len(compare.groups) if compare is not None else 1,
                ),
            ).lastrowid
            self._db.executemany(
                "INSERT INTO candidates (run_id, idx, text, status, finish_reason, stop_reason, tokens,"
                " first_text_at, last_text_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, *_candidate_row(c)) for c in state.ordered()],
            )
            blob = pack(state.ordered())
            if blob is not None:
                self._db.execute("INSERT INTO run_tokens (run_id, data) VALUES (?, ?)", (run_id, blob))
            if compare is not None:
                self._save_groups(run_id, compare)
        assert run_id is not None
        return run_id

    def _save_groups(self, run_id: int, compare: CompareState) -> None:
        for pos, group in enumerate(compare.groups):
            state, server = group.state, group.state.server
            self._db.execute(
                "INSERT INTO run_servers (run_id, pos, label, url, api, model, server_version, status, usage,"
                " first_text_at, ended_at, notes, error, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, pos, group.label, without_userinfo(server.url), server.api.value if server.api else None,
                 server.model, server.version, state.status.value,
                 json.dumps(state.usage.to_json()) if state.usage else None, state.first_text_at, state.ended_at,
                 json.dumps([without_userinfo(note) for note in state.notes]),
                 json.dumps(_error_json(state.error)) if state.error else None,
                 pack(state.ordered()) if pos else None),
            )
            if pos:
                self._db.executemany(
                    "INSERT INTO server_candidates (run_id, pos, idx, text, status, finish_reason, stop_reason,"
                    " tokens, first_text_at, last_text_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, pos, *_candidate_row(c)) for c in state.ordered()],
                )

    def list(self, limit: int = 100, search: str | None = None) -> list[RunSummary]:
        """The newest runs first; ``search`` keeps runs whose prompt or a candidate
        contains it (case-insensitive for ASCII)."""
        where, args = "", []
        if search:
            # instr, not LIKE: no pattern characters to escape, and no length limit (LIKE refuses a
            # pattern over 50,000 bytes: "LIKE or GLOB pattern too complex"). lower() folds ASCII only.
            where = (
                "WHERE instr(lower(prompt), lower(?)) > 0 OR id IN "
                "(SELECT run_id FROM candidates WHERE instr(lower(text), lower(?)) > 0) OR id IN "
                "(SELECT run_id FROM server_candidates WHERE instr(lower(text), lower(?)) > 0)"
            )
            args = [search, search, search]
        with self._errors():
            rows = self._db.execute(
                f"SELECT id, created, url, api, model, n, status, substr(prompt, 1, {PREVIEW_CHARS}), parent_run, servers"
                f" FROM runs {where} ORDER BY created DESC, id DESC LIMIT ?",
                [*args, limit],
            ).fetchall()
        self.skipped = []
        summaries = []
        for id_, created, url, api, model, n, status, preview, parent, servers in rows:
            try:
                summaries.append(RunSummary(id_, _local_time(created), url, api, model, int(n), Status(status), preview,
                                            parent if isinstance(parent, int) else None, _servers(servers)))
            except _DAMAGE as err:
                self.skipped.append(f"run {id_} skipped: {_damage(err)}")
        return summaries

    def get(self, run_id: int) -> StoredRun | None:
        """The whole run, or None when there is no run with this id."""
        with self._errors():
            row = self._db.execute(
                "SELECT created, url, api, model, server_version, prompt, params, stream, status, usage,"
                " first_text_at, ended_at, notes, error, system, extra, parent_run, parent_candidate, parent_offset,"
                " turns, servers FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                return None
            cand_rows = self._db.execute(
                "SELECT idx, text, status, finish_reason, stop_reason, tokens, first_text_at, last_text_at"
                " FROM candidates WHERE run_id = ? ORDER BY idx",
                (run_id,),
            ).fetchall()
            blob = self._db.execute("SELECT data FROM run_tokens WHERE run_id = ?", (run_id,)).fetchone()
            server_rows, group_cands = [], []
            if row[-1] != 1:
                server_rows = self._db.execute(
                    "SELECT pos, label, url, api, model, server_version, status, usage, first_text_at, ended_at, notes,"
                    " error, tokens FROM run_servers WHERE run_id = ? ORDER BY pos", (run_id,)).fetchall()
                group_cands = self._db.execute(
                    "SELECT pos, idx, text, status, finish_reason, stop_reason, tokens, first_text_at, last_text_at"
                    " FROM server_candidates WHERE run_id = ? ORDER BY pos, idx", (run_id,)).fetchall()
        try:
            stored = self._stored_run(run_id, row[:-1], cand_rows, blob)
            if server_rows:
                stored.groups = _groups(stored.state, server_rows, group_cands)
            return stored
        except _DAMAGE as err:
            raise HistoryError(f"history {self.path}: run {run_id} cannot be read: {_damage(err)}") from None

    @staticmethod
    def _stored_run(run_id: int, row: tuple, cand_rows: list[tuple], blob: tuple | None) -> StoredRun:
        (created, url, api, model, version, prompt, params, stream, status,
         usage, first_text_at, ended_at, notes, error, system, extra, parent_run, parent_candidate, parent_offset,
         turns) = row
        parent = Parent(parent_run, parent_candidate, parent_offset) if parent_run is not None else None
        state = RunState(
            request=GenerationRequest(prompt, _params(json.loads(params)), stream=bool(stream), system=system,
                                      extra=_extra(json.loads(extra)),
                                      turns=_turns(json.loads(turns)) if turns else (), parent=parent),
            server=ServerInfo(url, Api(api) if api else None, model, version),
            status=Status(status),
            usage=Usage.from_json(json.loads(usage)) if usage else None,
            error=_error(json.loads(error)) if error else None,
            notes=json.loads(notes),
            first_text_at=first_text_at,
            ended_at=ended_at,
        )
        _fill(state, cand_rows, blob[0] if blob is not None else None)
        state.history_id = run_id
        return StoredRun(run_id, _local_time(created), state)

    def children(self, run_id: int) -> list[RunSummary]:
        """The runs continued or forked from ``run_id``, oldest first."""
        with self._errors():
            ids = [row[0] for row in self._db.execute(
                "SELECT id FROM runs WHERE parent_run = ? ORDER BY created, id", (run_id,)).fetchall()]
        return [summary for summary in (self.summary(i) for i in ids) if summary is not None]

    def summary(self, run_id: int) -> RunSummary | None:
        """One run's list line (None: no such run)."""
        with self._errors():
            row = self._db.execute(
                f"SELECT id, created, url, api, model, n, status, substr(prompt, 1, {PREVIEW_CHARS}), parent_run,"
                " servers FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        try:
            return RunSummary(row[0], _local_time(row[1]), row[2], row[3], row[4], int(row[5]), Status(row[6]), row[7],
                              row[8] if isinstance(row[8], int) else None, _servers(row[9]))
        except _DAMAGE as err:
            raise HistoryError(f"history {self.path}: run {run_id} cannot be read: {_damage(err)}") from None

    def tree(self, run_id: int) -> list[TreeLine]:
        """``run_id`` and its descendants, depth first, children oldest first (empty: no such run)."""
        with self._errors():
            rows = self._db.execute(
                """WITH RECURSIVE tree (id, depth, path) AS (
                       SELECT id, 0, printf('%020d', id) FROM runs WHERE id = ?
                       UNION ALL
                       SELECT runs.id, tree.depth + 1, tree.path || '/' || printf('%020d', runs.id)
                       FROM runs JOIN tree ON runs.parent_run = tree.id
                       WHERE tree.depth < ?
                   )
                   SELECT tree.depth, runs.id, runs.parent_candidate, runs.parent_offset, runs.n, runs.status,
                          substr(runs.prompt, -?) FROM tree JOIN runs ON runs.id = tree.id ORDER BY tree.path""",
                (run_id, TREE_MAX_DEPTH, TREE_TAIL_CHARS),
            ).fetchall()
        return [TreeLine(depth, id_, cand, offset, n, status, tail or "") for depth, id_, cand, offset, n, status, tail in rows]

    def root_of(self, run_id: int) -> int:
        """The oldest ancestor of ``run_id`` still in the history (itself when it has none)."""
        seen = {run_id}
        with self._errors():
            while True:
                row = self._db.execute("SELECT parent_run FROM runs WHERE id = ?", (run_id,)).fetchone()
                parent = row[0] if row else None
                if not isinstance(parent, int) or parent in seen:
                    return run_id
                if self._db.execute("SELECT 1 FROM runs WHERE id = ?", (parent,)).fetchone() is None:
                    return run_id  # deleted: the tree starts here
                seen.add(parent)
                run_id = parent

    def delete(self, run_id: int) -> bool:
        """Remove a run; False when there was none with this id."""
        with self._errors(), self._transaction():
            return self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

    def _migrate(self) -> None:
        if self._version() == SCHEMA_VERSION:
            return
        with self._transaction():  # BEGIN IMMEDIATE: one process migrates, the others wait
            version = self._version()
            if version > SCHEMA_VERSION:
                raise HistoryError(f"{self.path}: written by a newer tui-client (schema {version}); not touching it")
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError, UnicodeError) as err:
            raise HistoryError(f"history {self.path}: {' '.join(str(err).split())}") from None


def _candidate_row(c: Candidate) -> tuple[object, ...]:
    return (c.index, c.text, c.status.value, json.dumps(c.finish_reason), json.dumps(c.stop_reason), c.tokens,
            c.first_text_at, c.last_text_at)


def _fill(state: RunState, cand_rows: list[tuple], blob: bytes | None) -> None:
    """Put the stored candidates (and their tokens) into ``state``."""
    for idx, text, c_status, finish, stop, tokens, c_first, c_last in cand_rows:
        state.candidates[idx] = Candidate(
            idx, Status(c_status), json.loads(finish), json.loads(stop), tokens, c_first, c_last
        )
        state.candidates[idx].text = text
    if blob is not None:
        try:
            unpacked = unpack(blob)
        except (ValueError, IndexError, zlib.error, struct.error, UnicodeDecodeError) as err:
            state.notes.append(f"its logprobs could not be read from the history ({err})")
            unpacked = {}
        for idx, (texts, values, tops) in unpacked.items():
            if idx in state.candidates:
                state.candidates[idx].add_tokens(texts, values, tops)


def _groups(first: RunState, server_rows: list[tuple], cand_rows: list[tuple]) -> list[ServerGroup]:
    """A comparison's groups: the first is ``first`` (its own status now: the row held the comparison's)."""
    groups = []
    for pos, label, url, api, model, version, status, usage, first_at, ended_at, notes, error, blob in server_rows:
        server = ServerInfo(url, Api(api) if api else None, model, version)
        if pos == 0:
            state = first
            state.status, state.error = Status(status), _error(json.loads(error)) if error else None
        else:
            state = RunState(first.request, server, status=Status(status),
                             usage=Usage.from_json(json.loads(usage)) if usage else None,
                             error=_error(json.loads(error)) if error else None, notes=json.loads(notes),
                             first_text_at=first_at, ended_at=ended_at)
            _fill(state, [row[1:] for row in cand_rows if row[0] == pos], blob)
            state.history_id = first.history_id
        groups.append(ServerGroup(str(label), state))
    return groups


def _servers(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 1


def _error_json(error: ClientError) -> dict[str, object]:
    doc = error.to_json()
    doc["message"] = without_userinfo(error.message)
    if error.url:
        doc["url"] = without_userinfo(error.url)
    return doc


_DAMAGE = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, OSError, RecursionError)
"""What reading a row written by a newer tui-client, or damaged, raises (json, enums, dates; JSON nested past
Python's recursion limit)."""


def _damage(err: Exception) -> str:
    reason = " ".join(str(err).split()) or type(err).__name__
    return f"{reason} (written by a newer tui-client, or damaged)"


def _error(doc: dict[str, object]) -> ClientError:
    url, status = doc.get("url"), doc.get("status")
    return ClientError(
        ErrorKind(doc["kind"]),
        str(doc["message"]),
        url=url if isinstance(url, str) else None,
        status=status if isinstance(status, int) else None,
    )


def _turns(doc: object) -> tuple[Turn, ...]:
    if not isinstance(doc, list):
        raise TypeError("turns is not a list")
    turns = []
    for item in doc:
        if not (isinstance(item, dict) and isinstance(item.get("role"), str) and isinstance(item.get("content"), str)):
            raise TypeError("a turn is not {role, content}")
        turns.append(Turn(item["role"], item["content"]))
    return tuple(turns)


def _params(doc: dict[str, object]) -> SamplingParams:
    known = {f.name for f in fields(SamplingParams)}
    values = {k: v for k, v in doc.items() if k in known}
    values["stop"] = tuple(values.get("stop") or ())  # type: ignore[arg-type]
    return SamplingParams(**values)  # type: ignore[arg-type]


def _extra(doc: object) -> dict[str, object]:
    if not isinstance(doc, dict):
        raise ValueError(f"its extra fields are not a JSON object but {type(doc).__name__}")
    return doc


def _local_time(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp).astimezone()
