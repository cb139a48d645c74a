"""The full-screen client: a prompt, n candidates streaming side by side.

Data flow: a ``@work(exclusive=True, group="run")`` worker consumes the protocol's
events and only notes that the run's state changed (:meth:`FramePacer.mark_dirty`).
A :class:`FramePacer` draws the latest state at a bounded, adaptive rate: it draws,
waits until the screen is painted, then stays idle at least as long as that took
(and at least 1/30 s). Each panel redraws only when its candidate changed, and
wraps only the text that arrived since its last draw. So the event loop stays
free for keys however fast the server streams, and n can be 64.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterable
from contextlib import aclosing
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static, TextArea

from ..inert_text import make_inert
from ..protocol import (
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
from .screens.help_screen import HelpScreen
from .widgets.candidate_grid import CandidateGrid
from .widgets.candidate_panel import CandidatePanel
from .widgets.connection_banner import ConnectionBanner
from .widgets.controls_sidebar import ControlsSidebar
from .widgets.n_slider import NSlider
from .widgets.run_summary import RunSummary
from .widgets.server_bar import ServerBar
from .widgets.waiting_notice import WaitingNotice

UI_DIR = Path(__file__).parent
CSS_FILES = [
    UI_DIR / "app.tcss",
    UI_DIR / "widgets" / "n_slider.tcss",
    UI_DIR / "widgets" / "candidate_panel.tcss",
    UI_DIR / "widgets" / "controls_sidebar.tcss",
    UI_DIR / "screens" / "help_screen.tcss",
]

DEFAULT_REQUEST = GenerationRequest("", SamplingParams(n=4, temperature=0.8, max_tokens=128), stream=True)
"""What the controls show when no request is passed in."""

FRAME_INTERVAL = 1 / 30
"""Shortest time between two frames (seconds)."""

NARROW_WIDTH = 100
"""Below this many columns the layout tightens (narrower controls, no app name)."""

WORKER_SLICE = 0.005
"""Longest the run worker holds the event loop before it lets other work in (seconds)."""

CLOCK_INTERVAL = 0.25
"""How often elapsed times move while a run is active (seconds)."""

# Failures that mean "nothing answers there": they raise the connection banner.
UNREACHABLE = (ErrorKind.CONNECT, ErrorKind.DNS, ErrorKind.TLS)


class FramePacer:
    """Calls ``draw`` after changes, never more often than the screen can keep up with.

    After a frame is drawn and painted, the pacer stays idle for as long as the
    frame took (at least ``min_interval`` per frame in all): a slow frame halves the
    frame rate instead of piling up work, so keys stay responsive.
    """

    def __init__(self, app: App[object], draw: Callable[[], None], *, min_interval: float = FRAME_INTERVAL) -> None:
        self._app = app
        self._draw = draw
        self.min_interval = min_interval
        self._dirty = False
        self._busy = False  # a frame is scheduled, being painted, or the idle gap after it runs
        self.frames = 0
        self.last_frame_seconds = 0.0
        self._gc_paused = False

    def mark_dirty(self) -> None:
        """Something changed: a frame will come (now if idle, else after the current one)."""
        self._dirty = True
        if not self._busy:
            self._busy = True
            self._app.call_later(self._frame)

    def flush(self) -> None:
        """Draw now (the final state of a run), whatever the schedule."""
        self._dirty = False
        self._draw()

    def _frame(self) -> None:
        self._dirty = False
        started = time.perf_counter()
        try:
            self._draw()
        finally:
            if not self._app.call_after_refresh(self._painted, started):
                self._busy = False

    def _painted(self, started: float) -> None:
        took = time.perf_counter() - started
        self.frames += 1
        self.last_frame_seconds = took
        if self._gc_paused:
            gc.collect(1)  # young objects only: a few ms, instead of a 100 ms full pass mid-stream
        self._app.set_timer(max(self.min_interval - took, took), self._idle_over)

    def pause_gc(self) -> None:
        """While a run streams: no automatic (full) collections, a young one per frame.

        A full collection over the objects a busy stream creates takes ~100 ms and
        would freeze the screen and the keys every few frames (Textual pauses the GC
        for smooth scrolling for the same reason).
        """
        if not self._gc_paused and gc.isenabled():
            gc.disable()
            self._gc_paused = True

    def resume_gc(self) -> None:
        if self._gc_paused:
            self._gc_paused = False
            gc.enable()

    def _idle_over(self) -> None:
        if self._dirty:
            self._frame()
        else:
            self._busy = False


class TuiClientApp(App[None]):
    """``TuiClientApp(config, request, run_on_start=False, demo_url_note=None).run()``."""

    TITLE = "tui-client"
    CSS_PATH: ClassVar[list[str | Path]] = CSS_FILES  # type: ignore[assignment]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j,ctrl+enter", "run", "Run", id="app.run", priority=True,
                tooltip="Start a run with the prompt and settings (cancels a running one)"),
        Binding("escape", "cancel", "Cancel", id="app.cancel", tooltip="Stop the running generation; text so far is kept"),
        Binding("ctrl+r", "reconnect", "Reconnect", id="app.reconnect", tooltip="Check the server again"),
        Binding("ctrl+o", "switch_pane", "Panels", id="app.switch_pane",
                tooltip="Move focus between the prompt and the candidate panels"),
        Binding("ctrl+b", "toggle_controls", "Controls", id="app.toggle_controls",
                tooltip="Hide or show the controls column (more room for panels)"),
        Binding("f1,question_mark", "help", "Help", id="app.help", tooltip="List every key"),
    ]

    # Set in on_mount: the widgets that workers and the pacer update.
    server_bar: ServerBar
    banner: ConnectionBanner
    sidebar: ControlsSidebar
    grid: CandidateGrid
    summary: RunSummary
    waiting: WaitingNotice
    empty_hint: Static
    prompt: TextArea

    def __init__(
        self,
        config: ClientConfig | None = None,
        request: GenerationRequest | None = None,
        *,
        run_on_start: bool = False,
        demo_url_note: str | None = None,
    ) -> None:
        super().__init__()
        self.config = config or ClientConfig()
        self.initial_request = request or DEFAULT_REQUEST
        self.run_on_start = run_on_start
        self.demo_url_note = demo_url_note
        self.client: VLLMClient | None = None
        self.client_error: ClientError | None = None
        try:
            self.client = VLLMClient(self.config)
        except ClientError as err:  # a URL that cannot be used at all
            self.client_error = err
        self.server_info: ServerInfo | None = None
        self.run_state: RunState | None = None
        """The state of the current or last run (the live object the protocol mutates)."""
        self.run_request: GenerationRequest | None = None
        self.running = False
        self._run_serial = 0
        self._last_panel: CandidatePanel | None = None
        self._clock: Timer | None = None
        self.pacer = FramePacer(self, self._draw)

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ServerBar(self._described_server(), note=self.demo_url_note, id="server-bar")
        yield ConnectionBanner(id="connection-banner")
        with Horizontal(id="main"):
            yield ControlsSidebar(self.initial_request, id="controls")
            with Vertical(id="results"):
                yield RunSummary(id="run-summary")
                yield Static(id="empty-hint")
                yield WaitingNotice(id="waiting")
                yield CandidateGrid(id="candidates")
        yield Footer(compact=True)

    def _described_server(self) -> ServerInfo:
        if self.client is not None:
            return self.client.describe()
        return ServerInfo(self.config.url, self.config.api, self.config.model)

    def on_resize(self, event: events.Resize) -> None:
        self.default_screen.set_class(event.size.width < NARROW_WIDTH, "-narrow")

    def on_mount(self) -> None:
        # The widgets the workers and the pacer update (queried once, not per frame).
        self.server_bar = self.query_one(ServerBar)
        self.banner = self.query_one(ConnectionBanner)
        self.sidebar = self.query_one(ControlsSidebar)
        self.grid = self.query_one(CandidateGrid)
        self.summary = self.query_one(RunSummary)
        self.waiting = self.query_one(WaitingNotice)
        self.empty_hint = self.query_one("#empty-hint", Static)
        self.prompt = self.query_one("#prompt", TextArea)

        self.default_screen.set_class(self.size.width < NARROW_WIDTH, "-narrow")
        self.prompt.focus()
        self.prompt.move_cursor(self.prompt.document.end)
        self.summary.show_idle(self.key_of("run"))
        self.empty_hint.update(self._empty_hint())
        self.sidebar.validate()
        self._clock = self.set_interval(CLOCK_INTERVAL, self._clock_tick, pause=True)
        if self.client is None:
            assert self.client_error is not None
            self._show_unreachable(self.config.url, str(self.client_error))
            self.server_bar.set_connection("failed")
        else:
            self.check_connection(refresh=False)
        if self.run_on_start:
            self.call_after_refresh(self.action_run)

    def _empty_hint(self) -> Content:
        keys = [
            (self.key_of("run"), "run"),
            (self.key_of("cancel"), "cancel"),
            ("tab", "next control"),
            (self.key_of("switch_pane"), "prompt ⇄ panels"),
            (self.key_of("help"), "all keys"),
        ]
        lines = [Content.assemble((key.rjust(8), "bold"), "  ", (what, "dim")) for key, what in keys]
        title = Content.styled("No candidates yet", "bold")
        body = Content("Type a prompt on the left, choose n and press run.\nCandidates appear here side by side.\n")
        return Content("\n").join([title, body, *lines])

    def key_of(self, action: str) -> str:
        """How the first key bound to app action ``action`` is displayed (e.g. ``^j``)."""
        for binding in Binding.make_bindings(self.BINDINGS):
            if binding.action == action:
                return self.get_key_display(binding)
        return action

    # -- connection ---------------------------------------------------------------------

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def check_connection(self, refresh: bool = True) -> None:
        """Ask the server what it speaks; show the banner when nothing answers."""
        if self.client is None:
            return
        bar = self.server_bar
        bar.set_connection("connecting")
        try:
            info = await self.client.connect(refresh=refresh)
        except ClientError as err:
            bar.set_connection("failed")
            bar.set_server(self.client.describe())
            self._show_unreachable(self.client.base_url, str(err))
            return
        except Exception as err:  # noqa: BLE001 - never let a surprise take the app down
            bar.set_connection("failed")
            self._show_unreachable(self.client.base_url, f"unexpected error: {err!r}")
            return
        self._connected(info)

    def _connected(self, info: ServerInfo) -> None:
        self.server_info = info
        self.server_bar.set_server(info)
        self.server_bar.set_connection("connected")
        self.banner.hide()

    def _show_unreachable(self, url: str, message: str) -> None:
        self.banner.show_problem(url, message, retry_key=self.key_of("reconnect"))

    # -- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action in ("run", "switch_pane", "toggle_controls", "reconnect", "help"):
            return not isinstance(self.screen, HelpScreen) and not self.screen.is_modal
        return True

    def action_run(self) -> None:
        """Start a run with what the controls say (a running one is cancelled)."""
        sidebar = self.sidebar
        request, problems = sidebar.read_request()
        sidebar.validate()
        if problems:
            name, message = next(iter(problems.items()))
            self.notify(make_inert(message), title="Cannot run yet", severity="error", markup=False)
            if sidebar.display:
                sidebar.focus_field(name)
            return
        if not request.prompt.strip():
            self.notify("Type a prompt first", severity="warning", markup=False)
            self._show_controls()
            self.prompt.focus()
            return
        if self.client is None:
            self.notify(make_inert(str(self.client_error)), title="Cannot run", severity="error", markup=False)
            return
        self.run_generation(request)

    def action_cancel(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "run")

    def action_reconnect(self) -> None:
        if self.client is None:
            self.notify(make_inert(str(self.client_error)), severity="error", markup=False)
            return
        self.check_connection(refresh=True)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_sections()))

    def action_toggle_controls(self) -> None:
        controls = self.sidebar
        if controls.display:
            focused = self.focused
            controls.display = False
            if focused is not None and controls in focused.ancestors:
                self._focus_panel()
        else:
            self._show_controls()

    def _show_controls(self) -> None:
        self.sidebar.display = True

    def action_switch_pane(self) -> None:
        if isinstance(self.focused, CandidatePanel):
            self._show_controls()
            self.prompt.focus()
        elif not self._focus_panel():
            self.notify("No candidate panels yet: run first", severity="warning", markup=False)

    def _focus_panel(self) -> bool:
        panels = [p for p in self.grid.panels if p.display]
        if not panels or not self.grid.display:
            return False
        target = self._last_panel if self._last_panel in panels else panels[0]
        target.focus()
        return True

    @on(events.DescendantFocus)
    def _remember_panel(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, CandidatePanel):
            self._last_panel = event.widget

    @on(ControlsSidebar.Changed)
    def _controls_changed(self) -> None:
        self.refresh_bindings()

    # -- the run ------------------------------------------------------------------------

    @work(exclusive=True, group="run", exit_on_error=False)
    async def run_generation(self, request: GenerationRequest) -> None:
        """Consume one run's events; the pacer draws. Cancelled by a new run or escape."""
        assert self.client is not None
        self._run_serial += 1
        serial = self._run_serial
        # Until the server answers, draw a stand-in state (waiting, no candidates).
        state = RunState(request, self.client.describe())
        self.run_state, self.run_request = state, request
        self._set_running(True)
        try:
            await self._start_view(request)
            async with aclosing(self.client.generate(request)) as events:
                slice_started = time.perf_counter()
                async for event in events:
                    if event.state is not state:
                        state = self.run_state = event.state
                    self.pacer.mark_dirty()
                    if time.perf_counter() - slice_started > WORKER_SLICE:
                        # Buffered data does not suspend the read: let keys and frames in.
                        await asyncio.sleep(0)
                        slice_started = time.perf_counter()
        except Exception as err:  # noqa: BLE001 - a bug must not take the app down
            if not state.status.done:
                state.finish(Status.FAILED, ClientError(ErrorKind.BAD_RESPONSE, f"internal error: {err!r}"))
        finally:
            if not state.status.done:  # cancelled before the server answered
                state.finish(Status.CANCELLED)
            if serial == self._run_serial:
                self._end_view(state)

    async def _start_view(self, request: GenerationRequest) -> None:
        grid = self.grid
        self.empty_hint.display = False
        if request.stream:
            self.waiting.stop()
            grid.display = True
        else:
            grid.display = False
            self.waiting.start(request.params.n)
        await grid.prepare(request.params.n)
        self.pacer.flush()

    def _end_view(self, state: RunState) -> None:
        if not self._ui_alive():
            return
        self._set_running(False)
        self.waiting.stop()
        self.grid.display = True
        self.pacer.flush()
        if state.status is Status.FINISHED:
            if self.server_bar.connection != "connected":
                self._connected(state.server)
            for note in state.notes:
                self.notify(make_inert(note), severity="warning", markup=False)
        elif state.status is Status.CANCELLED:
            self.notify("Cancelled: the text so far is kept", severity="warning", markup=False)
        elif state.error is not None:
            error = state.error
            self.notify(make_inert(str(error)), title="Run failed", severity="error", markup=False, timeout=10)
            if error.kind in UNREACHABLE:
                self.server_bar.set_connection("failed")
                self._show_unreachable(error.url or state.server.url, str(error))

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.set_class(running, "-running")
        if running:
            self.pacer.pause_gc()
        else:
            self.pacer.resume_gc()
        if self._clock is not None:
            if running:
                self._clock.resume()
            else:
                self._clock.pause()
        self.refresh_bindings()

    def _clock_tick(self) -> None:
        self.waiting.tick()
        self.pacer.mark_dirty()

    def _ui_alive(self) -> bool:
        """False once the app is shutting down (late worker and timer callbacks do nothing)."""
        return self.is_running and not self._exit and self.grid.is_attached

    def _draw(self) -> None:
        """Draw the latest state: the panels whose candidate changed, and the summary."""
        state, request = self.run_state, self.run_request
        if state is None or request is None or not self._ui_alive():
            return
        if request.stream or state.status.done:
            self.grid.show(state)
        self.summary.show_state(state, stream=request.stream)

    # -- keys and commands --------------------------------------------------------------

    def key_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The key list of the help screen, from the bindings themselves."""

        def rows(bindings: Iterable[BindingType], *, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
            grouped: dict[str, list[str]] = {}
            descriptions: dict[str, str] = {}
            for binding in Binding.make_bindings(bindings):
                if binding.action in skip:
                    continue
                grouped.setdefault(binding.action, []).append(self.get_key_display(binding))
                descriptions[binding.action] = binding.tooltip or binding.description
            return [(" / ".join(keys), descriptions[action]) for action, keys in grouped.items()]

        return [
            ("Anywhere", [
                *rows(self.BINDINGS),
                ("tab / shift+tab", "Next / previous control: prompt, n, stream, fields, panels"),
                ("^p", "Command palette (every action, themes)"),
                ("^q", "Quit"),
            ]),
            ("Prompt", [
                ("enter", "New line (the prompt may span lines)"),
                ("^a / ^e", "Start / end of line"),
                ("^z / ^y", "Undo / redo"),
            ]),
            ("n slider", rows(NSlider.BINDINGS)),
            ("Candidate panels", [
                ("up / down", "Scroll a line"),
                ("pageup / pagedown", "Scroll a page"),
                ("home", "Top of the text (stops following the end)"),
                *rows(CandidatePanel.BINDINGS),
                ("click", "Focus a panel; wheel scrolls it"),
            ]),
        ]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Run", "Generate the candidates (ctrl+j)", self.action_run)
        if self.running:
            yield SystemCommand("Cancel run", "Stop the running generation, keep its text", self.action_cancel)
        yield SystemCommand("Reconnect", "Check the server again", self.action_reconnect)
        yield SystemCommand("Toggle controls", "Hide or show the controls column", self.action_toggle_controls)
        yield SystemCommand("Help: keys", "List every key", self.action_help)
        for panel in self.grid.panels:
            if panel.raw_text:
                yield SystemCommand(f"Copy candidate {panel.index}", "Copy its text to the clipboard", panel.action_copy,
                                    discover=False)
        if self.run_state is not None and self.run_state.candidates:
            yield SystemCommand("Copy all candidates", "Every candidate's text, with headers", self.action_copy_all)

    def action_copy_all(self) -> None:
        state = self.run_state
        if state is None or not state.candidates:
            self.notify("No candidates to copy", severity="warning", markup=False)
            return
        text = "\n\n".join(f"=== Candidate {c.index} ===\n{c.text}" for c in state.ordered())
        self.copy_to_clipboard(text)
        self.notify(f"Copied {len(state.candidates)} candidates ({len(text):,} characters)", markup=False)

    async def on_unmount(self) -> None:
        self.pacer.resume_gc()
        if self.client is not None:
            await self.client.aclose()
