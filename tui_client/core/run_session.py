"""A run's life cycle, without Textual: the client, where the stream is read, which run is the
latest, and what is saved to the history.

The UI starts a run with :meth:`RunSession.begin`, follows it with :meth:`RunSession.stream`
(the child process reads it; if that process cannot run, this process does, from then on),
ends it with :meth:`Run.end` and draws its end only if :meth:`RunSession.is_latest`.
Comparing servers (:attr:`RunSession.compare_with`), :meth:`RunSession.begin_compare` and
:meth:`RunSession.stream_compare` do the same for one run per server, all at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import replace

from tui_client.core.protocol.compare import CompareState, ServerGroup, ServerTarget, compare_configs, run_all
from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ClientError,
    ErrorKind,
    GenerationRequest,
    RunEvent,
    RunState,
    ServerInfo,
    Status,
    VLLMClient,
)
from tui_client.core.storage.history import HistoryStore
from tui_client.core.transport.stream_worker import StreamWorker, WorkerUnavailable

__all__ = ["WORKER_SLICE", "CompareRun", "Run", "RunSession"]

WORKER_SLICE = 0.005
"""Longest a run's reading holds the event loop before it lets other work in (seconds)."""


class Run:
    """One run: its serial number, its latest state (the protocol may hand over a new one) and
    the client it was begun with (it keeps it when the session is reconfigured)."""

    def __init__(self, serial: int, state: RunState, client: VLLMClient | None = None, *,
                 group: ServerGroup | None = None) -> None:
        self.serial = serial
        self.state = state
        self.client = client
        self.group = group
        """In a comparison: its server's group (kept pointing at the latest state)."""

    def fail(self, err: BaseException) -> None:
        """A bug in the client or the UI: the run fails, the app stays up."""
        if not self.state.status.done:
            self.state.finish(Status.FAILED, ClientError(ErrorKind.BAD_RESPONSE, f"internal error: {err!r}"))

    def end(self) -> RunState:
        """The run is over (ended, failed or cancelled): its final state."""
        if not self.state.status.done:  # cancelled before the server answered
            self.state.finish(Status.CANCELLED)
        return self.state


class CompareRun:
    """One comparison: a :class:`Run` per server (the first on the session's client) and their groups."""

    def __init__(self, serial: int, runs: list[Run], compare: CompareState) -> None:
        self.serial = serial
        self.runs = runs
        self.compare = compare

    @property
    def state(self) -> RunState:
        """The first server's state."""
        return self.runs[0].state

    def end(self) -> CompareState:
        for run in self.runs:
            run.end()
        return self.compare


class RunSession:
    """``RunSession(config)``: the client, the stream worker and the runs of one app.

    ``client`` is None when the URL cannot be used at all (``client_error`` says why);
    ``stream_worker`` is None when streams are read in this process.
    """

    def __init__(self, config: ClientConfig, *, stream_worker: bool = True,
                 history_path: str | None = None) -> None:
        self.config = config
        self.client: VLLMClient | None = None
        self.client_error: ClientError | None = None
        try:
            self.client = VLLMClient(config)
        except ClientError as err:
            self.client_error = err
        self.stream_worker: StreamWorker | None = StreamWorker() if stream_worker else None
        """Reads and parses the runs' streams in a child process; None: in this process."""
        self.history_path = history_path
        self.state: RunState | None = None
        """The state of the current or last run (the live object the protocol mutates)."""
        self.request: GenerationRequest | None = None
        self.serial = 0
        self._active: set[Run] = set()  # begun, not yet done streaming: their clients stay open
        self._retired: list[VLLMClient] = []  # replaced by reconfigure, closed once no run uses them
        self.label = "A"
        """The label of this session's own server in a comparison."""
        self.compare_with: list[tuple[ServerTarget, VLLMClient]] = []
        """The other servers each run is also sent to (empty: no comparison), each with its client."""
        self.compare: CompareState | None = None
        """The current or last comparison (None: the last run was of one server)."""

    # -- the client and the stream worker -----------------------------------------------

    def describe(self) -> ServerInfo:
        """The server as configured (or as the client learnt it)."""
        if self.client is not None:
            return self.client.describe()
        return ServerInfo(self.config.url, self.config.api, self.config.model)

    async def reconfigure(self, *, api: Api | None, model: str | None) -> bool:
        """The next runs use ``api`` (None: detect) and ``model`` (None: the first listed), through a
        new client that detects again; a run going keeps its client, which is closed once no run uses
        it. The stream worker stays. False when nothing changed."""
        config = replace(self.config, api=api, model=model)
        if config == self.config:
            return False
        old, self.config = self.client, config
        try:
            self.client = old.with_choice(api=api, model=model) if old is not None else VLLMClient(config)
            self.client_error = None
        except ClientError as err:
            self.client, self.client_error = None, err
        if old is not None:
            self._retired.append(old)
        await self._close_idle()
        return True

    def set_compare(self, targets: list[ServerTarget], *, label: str | None = None) -> None:
        """Compare with ``targets`` from the next run on (empty: stop comparing); this server is ``label``
        (default: the first letter not taken). Their protocol and model are detected; the API key, timeout,
        TLS and limits are this server's. Raises ``ClientError`` (nothing changed) on a URL that cannot be used.
        The clients replaced are closed once no run uses them."""
        configs = compare_configs(self.config, label, targets)
        clients = [(target, VLLMClient(config)) for target, (_, config) in zip(targets, configs[1:])]
        self.label = configs[0][0]
        old, self.compare_with = self.compare_with, clients
        self._retired += [client for _, client in old]

    async def _close_idle(self) -> None:
        """Close the replaced clients no run uses any more."""
        busy = {id(run.client) for run in self._active}
        idle = [client for client in self._retired if id(client) not in busy]
        self._retired = [client for client in self._retired if id(client) in busy]
        for client in idle:
            await client.aclose()

    async def start_worker(self) -> WorkerUnavailable | None:
        """Start the stream worker process; the reason it cannot run (it is then dropped), or None."""
        if self.stream_worker is None:
            return None
        try:
            await self.stream_worker.start()
        except WorkerUnavailable as err:
            return err if self.drop_worker() else None
        return None

    def drop_worker(self) -> bool:
        """From now on streams are read in this process; False when they already were."""
        if self.stream_worker is None:
            return False
        self.stream_worker = None
        return True

    # -- runs ---------------------------------------------------------------------------

    def begin(self, request: GenerationRequest) -> Run:
        """A new run: the latest from now on, its state a stand-in until the server answers."""
        assert self.client is not None
        self.serial += 1
        state = RunState(request, self.client.describe())
        self.state, self.request, self.compare = state, request, None
        run = Run(self.serial, state, self.client)
        self._active.add(run)
        return run

    def begin_compare(self, request: GenerationRequest) -> CompareRun:
        """A new run on this server and each of :attr:`compare_with`: the latest from now on; the
        session's state is the first server's."""
        assert self.client is not None
        self.serial += 1
        clients = [(self.label, self.client), *((target.label, client) for target, client in self.compare_with)]
        groups = [ServerGroup(label, RunState(request, client.describe())) for label, client in clients]
        runs = [Run(self.serial, group.state, client, group=group) for group, (_, client) in zip(groups, clients)]
        self.state, self.request = runs[0].state, request
        self.compare = CompareState(groups)
        self._active.update(runs)
        return CompareRun(self.serial, runs, self.compare)

    async def stream_compare(self, crun: CompareRun, changed: Callable[[], object],
                             worker_failed: Callable[[WorkerUnavailable], object]) -> None:
        """Follow every server's run at once (see :meth:`stream`); a run that breaks fails alone;
        cancelling this cancels them all."""

        async def one(run: Run) -> None:
            try:
                await self._stream(run, changed, worker_failed, alongside=True)
            except Exception as err:  # noqa: BLE001 - a bug in one server's run ends that run only
                run.fail(err)

        await run_all([one(run) for run in crun.runs])

    def show(self, state: RunState, compare: CompareState | None = None) -> None:
        """A stored run is shown (``compare``: a comparison, ``state`` its first server's): it is the state
        from now on (see :meth:`supersede`)."""
        self.state, self.request, self.compare = state, state.request, compare

    def supersede(self) -> None:
        """Whatever run is going will not draw its end (a run from the history is shown)."""
        self.serial += 1

    def is_latest(self, run: Run) -> bool:
        return run.serial == self.serial

    async def stream(self, run: Run, changed: Callable[[], object],
                     worker_failed: Callable[[WorkerUnavailable], object]) -> None:
        """Follow ``run``'s events to the end, calling ``changed`` after each.

        Read in the stream worker process, unless it is unavailable: then here (and
        ``worker_failed`` is told, once).
        """
        await self._stream(run, changed, worker_failed)

    async def _stream(self, run: Run, changed: Callable[[], object],
                      worker_failed: Callable[[WorkerUnavailable], object], *, alongside: bool = False) -> None:
        client = run.client or self.client
        assert client is not None
        request = run.state.request
        try:
            try:
                await self._consume(self._events(client, request, alongside), run, changed)
            except WorkerUnavailable as err:  # no child process: read the stream here
                if self.drop_worker():
                    worker_failed(err)
                await self._consume(client.generate(request), run, changed)
        finally:
            self._active.discard(run)
            await self._close_idle()

    def _events(self, client: VLLMClient, request: GenerationRequest, alongside: bool = False) -> AsyncIterator[RunEvent]:
        if self.stream_worker is None:
            return client.generate(request)
        return self.stream_worker.generate(client.config, request, server=client.server, describe=client.describe(),
                                           alongside=alongside)

    async def _consume(self, events: AsyncIterator[RunEvent], run: Run, changed: Callable[[], object]) -> None:
        async with aclosing(events) as stream:  # type: ignore[type-var]
            slice_started = time.perf_counter()
            async for event in stream:
                if event.state is not run.state:
                    run.state = event.state
                    if run.group is not None:
                        run.group.state = event.state
                    if run.group is None or (self.compare is not None and run.group is self.compare.groups[0]):
                        self.state = event.state
                changed()
                if time.perf_counter() - slice_started > WORKER_SLICE:
                    # Buffered data does not suspend the read: let keys and frames in.
                    await asyncio.sleep(0)
                    slice_started = time.perf_counter()

    # -- the history --------------------------------------------------------------------

    @staticmethod
    def worth_saving(state: RunState, compare: CompareState | None = None) -> bool:
        """A failed run with no text is not saved (nothing came back; from no server, comparing)."""
        states = [g.state for g in compare.groups] if compare is not None else [state]
        return not all(s.status is Status.FAILED and not any(c.text for c in s.candidates.values()) for s in states)

    def history(self) -> HistoryStore:
        """The history store, opened now for the calling thread (SQLite: one connection per thread)."""
        return HistoryStore(self.history_path)

    def save(self, state: RunState, compare: CompareState | None = None) -> int:
        """Save an ended run (from any thread), with ``compare`` every server's result; its history id.
        Raises ``HistoryError``."""
        with self.history() as store:
            state.history_id = store.save(state, compare)
            if compare is not None:
                for group in compare.groups:
                    group.state.history_id = state.history_id
            return state.history_id

    async def aclose(self) -> None:
        """Stop the stream worker and close the client."""
        if self.stream_worker is not None:
            await self.stream_worker.aclose()
        if self.client is not None:
            await self.client.aclose()
        for client in [*self._retired, *(client for _, client in self.compare_with)]:
            await client.aclose()
        self._retired, self.compare_with = [], []
