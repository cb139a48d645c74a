"""The stream child process: a run's stream is read and parsed in a second process and only
the changes reach the UI's, so parsing and drawing use two cores instead of taking turns on one
interpreter lock. :class:`StreamWorker` is the UI's side; :func:`main` is the child."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import struct
import sys
import time
from array import array
from collections import deque
from collections.abc import AsyncIterator
from itertools import chain
from operator import itemgetter
from typing import Any

from tui_client.core.protocol.client import ClientConfig, VLLMClient
from tui_client.core.protocol.errors import ClientError, ErrorKind
from tui_client.core.protocol.packed_alternatives import PackedAlternatives, StringTable
from tui_client.core.protocol.params import GenerationRequest
from tui_client.core.protocol.state import (
    CandidatesChanged,
    RunEnded,
    RunEvent,
    RunStarted,
    RunState,
    ServerInfo,
    Status,
)
from tui_client.core.protocol.token_logprobs import Alternatives

__all__ = ["FLUSH_INTERVAL", "StreamWorker", "WorkerUnavailable", "main"]

FLUSH_INTERVAL = 0.005
"""Longest the child holds changes before it sends them (seconds): well under a frame."""

CANCEL_GRACE = 0.5
"""How long a cancelled run waits for the child's last changes (seconds)."""

START_TIMEOUT = 30.0
"""How long a new child may take to say it is ready (seconds); then :class:`WorkerUnavailable`."""

CLOSE_TIMEOUT = 2.0
"""How long :meth:`StreamWorker.aclose` waits for the child to exit before killing it (seconds)."""

_PIPE_LIMIT = 2**26  # asyncio stream buffer limit on both ends of the pipes
_HEADER = struct.Struct(">I")
_STDERR_TAIL = 20  # lines of the child's stderr kept for the message if it dies

# Candidate fields sent with every change, in this order (after index, status, replace, text, tokens).
_FIELDS = ("finish_reason", "stop_reason", "tokens", "first_text_at", "last_text_at",
           "change", "forked_from", "fork_at", "pruned", "cumulative_logprob", "score")


_text, _value = itemgetter(0), itemgetter(1)


class WorkerUnavailable(Exception):
    """The child process could not be started (the caller can read the stream itself)."""


def _frame(message: object) -> bytes:
    """One message: its length, then a pickle (trusted: the same code on both ends of the pipe)."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def _read_message(reader: asyncio.StreamReader) -> Any:
    """The next message; raises :class:`asyncio.IncompleteReadError` at the end of the pipe."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return pickle.loads(await reader.readexactly(size))


def _error_fields(error: ClientError | None) -> tuple[object, ...] | None:
    if error is None:
        return None
    return (error.kind.value, error.message, error.url, error.status, error.field)


def _error_from(fields: tuple[Any, ...] | None) -> ClientError | None:
    if fields is None:
        return None
    kind, message, url, status, field = fields
    return ClientError(ErrorKind(kind), message, url=url, status=status, field=field)


# -- the child ----------------------------------------------------------------------------


class _ChangeSender:
    """The child's side of one run: collects changed candidates and sends them in batches, at most
    every :data:`FLUSH_INTERVAL`: each one's new text (or all of it, if replaced), its new tokens
    (``--logprobs``: they only grow) and status fields."""

    def __init__(self, run_id: int, write: Any) -> None:
        self.run_id = run_id
        self._write = write
        self._sent: dict[int, str] = {}  # the text object last sent per candidate
        self._sent_tokens: dict[int, int] = {}  # how many of its tokens were sent
        self._table = StringTable()  # the alternatives' strings, for all candidates
        self._sent_strings = 0  # how many of them were sent
        self._dirty: set[int] = set()
        self._last_flush = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.state: RunState | None = None

    def changed(self, state: RunState, indices: frozenset[int]) -> None:
        self.state = state
        self._dirty |= indices
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_INTERVAL:
            self.flush()
        elif self._timer is None:
            # The stream may pause now: send what is pending once the interval is over.
            delay = FLUSH_INTERVAL - (now - self._last_flush)
            self._timer = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self, kind: str = "changes") -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        state = self.state
        if state is None:
            self._write((kind, self.run_id, None))
            return
        if kind == "ended":
            self._dirty |= set(state.candidates)
        if not self._dirty and kind == "changes":
            return
        changes = []
        tops: list[list[Alternatives]] = []  # the new tokens' alternatives, change by change
        for index in sorted(self._dirty):
            cand = state.candidates.get(index)
            if cand is None:
                continue
            text = cand.text
            sent = self._sent.get(index, "")
            if text is sent:
                replace, piece = False, ""
            elif text.startswith(sent):
                replace, piece = False, text[len(sent):]
            else:
                replace, piece = True, text
            self._sent[index] = text
            tokens = None
            count, sent_tokens = len(cand.token_texts), self._sent_tokens.get(index, 0)
            if count > sent_tokens:
                tokens = (cand.token_texts[sent_tokens:], cand.token_logprobs[sent_tokens:])
                tops.append(cand.token_tops.tail(sent_tokens))
                self._sent_tokens[index] = count
            changes.append((index, cand.status.value, replace, piece, tokens, *(getattr(cand, f) for f in _FIELDS)))
        self._dirty.clear()
        run = (state.status.value, state.first_text_at, state.ended_at, state.usage, tuple(state.notes),
               _error_fields(state.error), state.bytes_received, state.body_ended_at, state.started, state.server,
               state.beam_step)
        self._write((kind, self.run_id, (run, changes, self._alternatives(tops) if tops else None)))
        self._last_flush = time.monotonic()

    def _alternatives(self, tops: list[list[Alternatives]]) -> tuple[list[str], bytes, bytes, bytes]:
        """The changes' new alternatives, packed at once: (the strings new to the UI's table,
        the string ids, logprobs and counts, as native ``array`` bytes)."""
        per_token = list(chain.from_iterable(tops))
        pairs = list(chain.from_iterable(per_token))
        text_ids = self._table.ids_of(map(_text, pairs))
        strings = self._table.strings[self._sent_strings:]
        self._sent_strings += len(strings)
        return (strings, text_ids.tobytes(), array("d", map(_value, pairs)).tobytes(),
                array("I", map(len, per_token)).tobytes())


class _Child:
    """The child process: each run in a task, keyed by its id; ``cancel`` stops one. A run sent
    ``alongside`` (a server compared) leaves the others going; any other stops them first."""

    def __init__(self, out_fd: int) -> None:
        self._out_fd = out_fd
        self._clients: dict[ClientConfig, VLLMClient] = {}
        self._tasks: dict[int, tuple[asyncio.Task[None], ClientConfig]] = {}

    def write(self, message: object) -> None:
        data = memoryview(_frame(message))
        while data:
            written = os.write(self._out_fd, data)
            data = data[written:]

    async def serve(self, reader: asyncio.StreamReader) -> None:
        self.write(("ready", os.getpid()))
        try:
            while True:
                try:
                    message = await _read_message(reader)
                except asyncio.IncompleteReadError:
                    return  # the UI process went away
                if message[0] == "run":
                    _, run_id, config, request, server, alongside = message
                    if not alongside:
                        await self._stop(*self._tasks)
                    in_use = {config, *(used for task, used in self._tasks.values() if not task.done())}
                    for other in [c for c in self._clients if c not in in_use]:  # the UI switched API or model
                        await self._clients.pop(other).aclose()
                    task = asyncio.create_task(self._run(run_id, config, request, server))
                    self._tasks[run_id] = (task, config)
                    task.add_done_callback(lambda _, run_id=run_id: self._tasks.pop(run_id, None))
                elif message[0] == "cancel":
                    await self._stop(message[1])
        finally:
            await self._stop(*self._tasks)
            for client in self._clients.values():
                await client.aclose()

    async def _stop(self, *run_ids: int) -> None:
        tasks = [entry[0] for entry in (self._tasks.pop(run_id, None) for run_id in list(run_ids)) if entry]
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _client(self, config: ClientConfig, server: ServerInfo | None) -> VLLMClient:
        client = self._clients.get(config)
        if client is None:
            client = self._clients[config] = VLLMClient(config)
        if server is not None:
            client.assume_server(server)
        return client

    async def _run(self, run_id: int, config: ClientConfig, request: GenerationRequest,
                   server: ServerInfo | None) -> None:
        sender = _ChangeSender(run_id, self.write)
        try:
            client = self._client(config, server)
        except ClientError as err:  # e.g. a CA bundle that cannot be read
            state = RunState(request, ServerInfo(config.url, config.api, config.model))
            state.finish(Status.FAILED, err)
            sender.state = state
            sender.flush("ended")
            return
        try:
            async for event in client.generate(request):
                if isinstance(event, RunStarted):
                    sender.state = event.state
                    self.write(("started", run_id, (event.state.started, event.state.server)))
                elif isinstance(event, CandidatesChanged):
                    sender.changed(event.state, event.indices)
                elif isinstance(event, RunEnded):
                    sender.state = event.state
            sender.flush("ended")
        except asyncio.CancelledError:
            # generate() marked the state cancelled; send it with the text parsed so far.
            sender.flush("ended")
            raise
        except Exception as err:  # noqa: BLE001 - a bug here must end the run, not the child
            state = sender.state or RunState(request, client.describe())
            if not state.status.done:
                state.finish(Status.FAILED, ClientError(ErrorKind.BAD_RESPONSE, f"internal error: {err!r}"))
            sender.state = state
            sender.flush("ended")


def main() -> None:
    """The child: read requests on stdin, write changes on stdout (``python -m tui_client.core.transport.stream_worker``)."""
    # Keep the real stdout for messages; anything printed by mistake goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_PIPE_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
        await _Child(out_fd).serve(reader)

    asyncio.run(serve())


# -- the UI's side ------------------------------------------------------------------------


class StreamWorker:
    """Runs generations in one reused child process; :meth:`generate` mirrors :meth:`VLLMClient.generate`.

    A child that dies fails its run (the text so far is kept, its stderr's tail names why) and
    the next run starts a new one; the child's stderr is never printed over the screen."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Task[asyncio.subprocess.Process] | None = None
        self._runs: dict[int, asyncio.Queue[tuple[Any, ...]]] = {}
        self._next_run = 0
        self._stderr: deque[str] = deque(maxlen=_STDERR_TAIL)
        self._readers: list[asyncio.Task[None]] = []
        self.pid: int | None = None
        """The child's process id once it is up (for tools that measure it)."""

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        """Start the child if it is not running; raises :class:`WorkerUnavailable`."""
        if self.running:
            return
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._spawn())
        try:
            await asyncio.shield(self._starting)
        except WorkerUnavailable:
            raise
        except Exception as err:  # noqa: BLE001
            raise WorkerUnavailable(f"{type(err).__name__}: {err}") from None

    async def _spawn(self) -> asyncio.subprocess.Process:
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tui_client.core.transport.stream_worker",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                limit=_PIPE_LIMIT,
            )
        except OSError as err:
            raise WorkerUnavailable(f"cannot start {sys.executable}: {err}") from None
        assert proc.stdout is not None and proc.stderr is not None
        self._stderr.clear()
        try:
            ready = await asyncio.wait_for(_read_message(proc.stdout), START_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, pickle.UnpicklingError, struct.error):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            tail = (await proc.stderr.read()).decode("utf-8", "replace").strip().splitlines()[-1:]
            raise WorkerUnavailable(f"the worker process did not start{': ' + tail[0] if tail else ''}") from None
        self.pid = ready[1]
        self._proc = proc
        self._readers = [asyncio.ensure_future(self._read(proc)), asyncio.ensure_future(self._keep_stderr(proc))]
        return proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                message = await _read_message(proc.stdout)
                queue = self._runs.get(message[1])
                if queue is not None:  # else a run that was given up on
                    queue.put_nowait(message)
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError, EOFError):
            pass
        code = await proc.wait()
        if self._proc is proc:
            self._proc = None
        await asyncio.sleep(0)  # let the stderr reader take the last lines
        tail = self._stderr[-1] if self._stderr else ""
        for queue in self._runs.values():
            queue.put_nowait(("lost", code, tail))

    async def _keep_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        with contextlib.suppress(Exception):
            async for line in proc.stderr:
                text = line.decode("utf-8", "replace").strip()
                if text:
                    self._stderr.append(text)

    def _send(self, message: object) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            raise WorkerUnavailable("the worker process is not running")
        proc.stdin.write(_frame(message))

    async def generate(
        self,
        config: ClientConfig,
        request: GenerationRequest,
        *,
        server: ServerInfo | None = None,
        describe: ServerInfo | None = None,
        alongside: bool = False,
    ) -> AsyncIterator[RunEvent]:
        """Run one generation in the child; yield events; the last one is :class:`RunEnded`.
        Closing it early cancels the run (the child closes the HTTP request) and keeps the text.

        ``server``: the protocol and model already detected (the child then skips
        detection); ``describe``: what to show before the server answers; ``alongside``: the other
        runs go on (a comparison's servers), else the child stops them. Raises
        :class:`WorkerUnavailable` before the first event if the child cannot start.
        """
        state = RunState(request, describe or server or ServerInfo(config.url, config.api, config.model))
        await self.start()
        self._next_run += 1
        run_id = self._next_run
        queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        table = StringTable()  # the alternatives' strings the child sent, for all candidates
        self._runs[run_id] = queue
        try:
            self._send(("run", run_id, config, request, server, alongside))
            while True:
                message = await queue.get()
                kind = message[0]
                if kind == "started":
                    state.started, state.server = message[2]
                    yield RunStarted(state)
                elif kind == "changes":
                    indices = _apply(state, message[2], table)
                    if indices:
                        yield CandidatesChanged(state, indices)
                elif kind == "ended":
                    _apply(state, message[2], table, ended=True)
                    yield RunEnded(state)
                    return
                else:  # "lost": the child died
                    self._fail_lost(state, message[1], message[2])
                    yield RunEnded(state)
                    return
        finally:
            if not state.status.done:  # closed before the end: cancel, keep what the child has
                await self._cancel(run_id, queue, state, table)
            self._runs.pop(run_id, None)

    async def _cancel(self, run_id: int, queue: asyncio.Queue[tuple[Any, ...]], state: RunState,
                      table: StringTable) -> None:
        try:
            self._send(("cancel", run_id))
            async with asyncio.timeout(CANCEL_GRACE):
                while True:
                    message = await queue.get()
                    if message[0] == "changes":
                        _apply(state, message[2], table)
                    elif message[0] == "ended":
                        _apply(state, message[2], table, ended=True)
                        break
                    elif message[0] != "started":
                        break
        except (WorkerUnavailable, TimeoutError, asyncio.CancelledError):
            pass
        finally:
            if not state.status.done:
                state.finish(Status.CANCELLED)

    def _fail_lost(self, state: RunState, code: int | None, tail: str) -> None:
        why = f" ({tail})" if tail else ""
        state.finish(
            Status.FAILED,
            ClientError(
                ErrorKind.DISCONNECTED,
                f"the stream reader process ended unexpectedly (exit code {code}){why}; "
                "the text so far is kept, the next run starts a new one",
                url=state.server.url,
            ),
        )

    async def aclose(self) -> None:
        """Stop the child (it also stops by itself when this process goes away)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), CLOSE_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for task in self._readers:
            task.cancel()
        self._readers = []


def _apply(state: RunState, payload: tuple[Any, Any, Any] | None, table: StringTable, *,
           ended: bool = False) -> frozenset[int]:
    """Bring the mirror ``state`` up to the child's; returns the candidates that changed."""
    if payload is None:  # the child had no state yet (the run ended before the request went out)
        if ended and not state.status.done:
            state.finish(Status.CANCELLED)
        return frozenset()
    run, changes, alternatives = payload
    if alternatives is not None:
        text_ids, values, counts = array("I"), array("d"), array("I")
        table.strings += alternatives[0]
        text_ids.frombytes(alternatives[1])
        values.frombytes(alternatives[2])
        counts.frombytes(alternatives[3])
        token_at = alt_at = 0
    (status, state.first_text_at, ended_at, state.usage, notes, error, state.bytes_received, state.body_ended_at,
     state.started, state.server, state.beam_step) = run
    indices = []
    for index, cand_status, replace, piece, tokens, *fields in changes:
        cand = state.candidate(index)
        if replace:
            cand.text = piece
        elif piece:
            cand.append(piece)
        if tokens is not None:
            texts, logprobs = tokens
            cand_counts = counts[token_at : token_at + len(texts)]
            end = alt_at + sum(cand_counts)
            if not cand.token_tops and cand.token_tops.table is not table:
                cand.token_tops = PackedAlternatives(table=table)  # its ids are the table's
            # (its cumulative logprob is then the child's, below)
            if cand.token_tops.table is table:
                cand.add_token_rows(texts, logprobs, text_ids[alt_at:end], values[alt_at:end], cand_counts)
            else:  # (tokens it had from elsewhere: never, as it is)
                rows = PackedAlternatives(table=table)
                rows.add_rows(text_ids[alt_at:end], values[alt_at:end], cand_counts)
                cand.add_tokens(texts, logprobs, rows)
            token_at, alt_at = token_at + len(texts), end
        cand.status = Status(cand_status)
        for name, value in zip(_FIELDS, fields, strict=True):
            setattr(cand, name, value)
        indices.append(index)
    state.notes[:] = notes
    state.status = Status(status)
    if ended:
        state.error = _error_from(error)
        state.ended_at = ended_at
    state.version += 1
    return frozenset(indices)


if __name__ == "__main__":
    main()
