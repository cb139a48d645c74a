"""The full-screen client: a prompt, n candidates streaming side by side.

Data flow: a ``@work(exclusive=True, group="run")`` worker consumes the protocol's
events and only notes that the run's state changed (:meth:`FramePacer.mark_dirty`).
A :class:`FramePacer` draws the latest state at a bounded, adaptive rate: it draws,
waits until the screen is painted, then stays idle at least as long as that took
(and at least 1/30 s). Each panel redraws only when its candidate changed, and
wraps only the text that arrived since its last draw. So the event loop stays
free for keys however fast the server streams, and n can be 64.

Divergence (``d`` / ``t``): while it is on, each frame hands the panels' texts to a
:class:`~tui_client.core.text.divergence.DivergenceTracker` (it compares only what grew) and
passes each panel its shared-prefix length and unique-word offset; panels apply them
when they render their visible rows, so nothing is re-wrapped.

History: every run that ends is saved (a thread worker writes SQLite); F2 browses
it (:class:`~tui_client.ui.screens.history_screen.HistoryScreen`), and a run loaded
from it is drawn like a finished one, marked "from history #id".
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widgets import Static, TextArea

from tui_client.core.defaults import TUI_DEFAULTS
from tui_client.core.protocol import (
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
from tui_client.core.protocol.params import request_from
from tui_client.core.storage.export import FORMATS
from tui_client.core.storage.history import HistoryError, HistoryStore, StoredRun
from tui_client.core.storage.ui_state import load_ui_state, save_ui_state
from tui_client.core.text.divergence import DivergenceTracker, DivergenceView
from tui_client.core.text.inert_text import make_inert
from tui_client.core.transport.stream_worker import StreamWorker, WorkerUnavailable
from tui_client.ui.rendering.frame_budget import FrameBudget
from tui_client.ui.rendering.pacer import FramePacer
from tui_client.ui.rendering.tuning import (
    CLOCK_INTERVAL,
    RESERVE_DELAY,
    SAVE_WAIT_FOR_PAINT,
    WORKER_SLICE,
)
from tui_client.ui.screens.confirm_screen import ConfirmScreen
from tui_client.ui.screens.help_screen import HelpScreen
from tui_client.ui.screens.history_screen import HistoryChoice, HistoryScreen, RunTable
from tui_client.ui.textual_compat import app_is_exiting, app_keymap, stylesheet_mentions
from tui_client.ui.widgets.candidates.grid import CandidateGrid
from tui_client.ui.widgets.candidates.panel import (
    CANCELLED,
    FAILED,
    FINISHED,
    MISSING,
    CandidatePanel,
)
from tui_client.ui.widgets.chrome.connection_banner import ConnectionBanner
from tui_client.ui.widgets.chrome.footer import AppFooter
from tui_client.ui.widgets.chrome.run_summary import RunSummary
from tui_client.ui.widgets.chrome.server_bar import ServerBar
from tui_client.ui.widgets.chrome.waiting_notice import WaitingNotice
from tui_client.ui.widgets.controls.n_slider import NSlider
from tui_client.ui.widgets.controls.sidebar import ControlsSidebar

UI_DIR = Path(__file__).parent
CSS_FILES = [
    UI_DIR / "app.tcss",
    UI_DIR / "widgets" / "controls" / "n_slider.tcss",
    UI_DIR / "widgets" / "candidates" / "panel.tcss",
    UI_DIR / "widgets" / "controls" / "sidebar.tcss",
    UI_DIR / "screens" / "help_screen.tcss",
    UI_DIR / "screens" / "history_screen.tcss",
]

DEFAULT_REQUEST = request_from(TUI_DEFAULTS)
"""What the controls show when no request is passed in."""

NARROW_WIDTH = 100
"""Below this many columns the layout tightens (narrower controls, no app name)."""

# Failures that mean "nothing answers there": they raise the connection banner.
UNREACHABLE = (ErrorKind.CONNECT, ErrorKind.DNS, ErrorKind.TLS)

ENDED_PANELS = (FINISHED, CANCELLED, FAILED, MISSING)
"""Panel states whose text cannot grow any more."""

END_OF_TEXT = "\0"
"""Appended to an ended candidate's text for the divergence tracker: a candidate that
stopped differs, from there on, from one that went on (the displayed text never holds
a NUL: it is drawn as ␀)."""

EXPORT_NAME = "tui-client-run-{}.{}"
"""Export file name: the history id (or a timestamp) and the format."""


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
        Binding("d,f3", "divergence", "Divergence", id="app.divergence",
                tooltip="Dim the prefix all candidates share; highlight where each one differs from all others"),
        Binding("t,f4", "tails", "Tails", id="app.tails", show=False,
                tooltip="Show only the differing tails (hide the shared prefix in every panel)"),
        Binding("f2", "history", "History", id="app.history", tooltip="Browse, search, load, re-run or delete past runs"),
        Binding("ctrl+s", "export('md')", "Export md", id="app.export_markdown", show=False,
                tooltip="Export the run as Markdown to a file in the current directory"),
        Binding("ctrl+t", "export('json')", "Export JSON", id="app.export_json", show=False,
                tooltip="Export the run as JSON to a file in the current directory"),
        Binding("C", "copy_all", "Copy all", id="app.copy_all", show=False,
                tooltip="Copy every candidate's text, with headers"),
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
        theme: str | None = None,
        keymap: Mapping[str, str] | None = None,
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
        self._reserve_timer: Timer | None = None
        self.frame_budget = FrameBudget()
        """How many panels in view a frame may draw (learnt from the frames before)."""
        self.stream_worker: StreamWorker | None = StreamWorker()
        """Reads and parses the runs' streams in a child process; None: in this process."""
        self.pacer = FramePacer(self, self._draw)
        self._running_in_css: bool | None = None
        # Divergence view (d: marks, t: tails).
        self.divergence_on = False
        self.tails_on = False
        self._tracker = DivergenceTracker()
        self._divergence_view: DivergenceView | None = None
        self._divergence_shared: int | None = None
        self._marks_shown = False  # some panel may carry marks
        self._ended_texts: dict[int, tuple[str, str]] = {}  # index -> (text, text + END_OF_TEXT)
        # History: the run shown came from it (loaded_run), or was saved as run_history_id.
        self.loaded_run: StoredRun | None = None
        self.run_history_id: int | None = None
        # Theme: the config file's wins; else the one last chosen in the palette.
        self.config_theme = theme
        saved = load_ui_state().get("theme")
        for name in (theme, saved):
            if isinstance(name, str) and name in self.available_themes:
                self.theme = name
                break
        self._theme_seen = self.theme
        if keymap:
            self.set_keymap(dict(keymap))

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ServerBar(self._described_server(), note=self.demo_url_note, id="server-bar")
        yield ConnectionBanner(id="connection-banner")
        with Horizontal(id="main"):
            yield ControlsSidebar(self.initial_request, id="controls")
            with Vertical(id="results"):
                yield RunSummary(id="run-summary")
                yield WaitingNotice(id="waiting")
                yield CandidateGrid(id="candidates")
        yield AppFooter(compact=True)

    def _described_server(self) -> ServerInfo:
        if self.client is not None:
            return self.client.describe()
        return ServerInfo(self.config.url, self.config.api, self.config.model)

    def on_resize(self, event: events.Resize) -> None:
        self.default_screen.set_class(event.size.width < NARROW_WIDTH, "-narrow")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self.running:
            self.pacer.key_pressed()  # its effect goes on screen before the next frame
        await super().on_event(event)

    def on_mount(self) -> None:
        # The widgets the workers and the pacer update (queried once, not per frame).
        self.server_bar = self.query_one(ServerBar)
        self.banner = self.query_one(ConnectionBanner)
        self.sidebar = self.query_one(ControlsSidebar)
        self.grid = self.query_one(CandidateGrid)
        self.summary = self.query_one(RunSummary)
        self.waiting = self.query_one(WaitingNotice)
        self.empty_hint = self.grid.empty_hint
        self.prompt = self.query_one("#prompt", TextArea)

        self.default_screen.set_class(self.size.width < NARROW_WIDTH, "-narrow")
        self.prompt.focus()
        self.prompt.move_cursor(self.prompt.document.end)
        self.summary.show_idle(self.key_of("run"))
        self.empty_hint.update(self._empty_hint())
        self.sidebar.validate()
        self._clock = self.set_interval(CLOCK_INTERVAL, self._clock_tick, pause=True)
        self.call_after_refresh(self._reserve_panels)
        if self.client is not None:
            self.run_worker(self._start_stream_worker(), group="stream-worker", exit_on_error=False)
        if self.client is None:
            assert self.client_error is not None
            self._show_unreachable(self.config.url, str(self.client_error))
            self.server_bar.set_connection("failed")
        else:
            self.check_connection(refresh=False)
        if self.run_on_start:
            self.call_after_refresh(self.action_run)
        self._theme_seen = self.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        unknown = sorted(set(app_keymap(self)) - known_binding_ids())
        if unknown:
            self.notify(
                make_inert(f"Unknown binding id{'s' if len(unknown) > 1 else ''} in the config file's [keys]: "
                           f"{', '.join(unknown)}. The ids are listed in the help ({self.key_of('help')})."),
                title="Keys not remapped", severity="warning", markup=False, timeout=10,
            )

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
        """How the first key bound to app action ``action`` is displayed (e.g. ``^j``), keymap applied."""
        for binding in self.bindings_with_keymap(self.BINDINGS):
            if binding.action == action:
                return self.get_key_display(binding)
        return action

    def bindings_with_keymap(self, bindings: Iterable[BindingType]) -> list[Binding]:
        """``bindings`` with the keys the keymap (config ``[keys]``) gives their ids."""
        keymap = app_keymap(self)
        out: list[Binding] = []
        remapped: set[str] = set()
        for binding in Binding.make_bindings(bindings):
            keys = keymap.get(binding.id) if binding.id else None
            if keys is None:
                out.append(binding)
            elif binding.id not in remapped:
                remapped.add(binding.id)  # type: ignore[arg-type]
                out += [binding.with_key(key.strip(), key_display=None) for key in keys.split(",") if key.strip()]
        return out

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
            # Shown dimmed while idle, not hidden: the footer keeps its keys when a run
            # starts or ends (building them again lays out the whole screen).
            return True if self.running else None
        on_main = self.screen is self.default_screen
        if action in ("run", "switch_pane", "toggle_controls", "reconnect", "help", "history", "export", "copy_all"):
            return on_main
        if action in ("divergence", "tails"):
            if not on_main:
                return False
            # Shown disabled while there is nothing to compare (pressing it says why).
            return True if self._comparison_refused() is None or self._view_on(action) else None
        return True

    async def run_action(self, action: object, default_namespace: object = None, namespaces: object = None) -> bool:
        # A disabled divergence binding still answers: with why it is disabled.
        if action in ("divergence", "tails") and self.screen is self.default_screen:
            reason = self._comparison_refused()
            if reason is not None and not self._view_on(str(action)):
                self.notify(reason, title="Nothing to compare", severity="warning", markup=False)
                return True
        return await super().run_action(action, default_namespace, namespaces)  # type: ignore[arg-type]

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

    # -- divergence ---------------------------------------------------------------------

    def _comparison_refused(self) -> str | None:
        """Why there is nothing to compare now, or None when there is."""
        grid = getattr(self, "grid", None)  # None before mount
        count = len(grid.panels) if grid is not None else 0
        if count >= 2:
            return None
        if count == 0:
            return "Divergence compares the candidates of a run: run first (n of 2 or more)"
        return "Divergence needs at least two candidates: this run has one (raise n and run again)"

    def _view_on(self, action: str) -> bool:
        return self.divergence_on if action == "divergence" else self.tails_on

    def action_divergence(self) -> None:
        """Toggle the marks: shared prefix dimmed, each candidate's unique word highlighted."""
        self._toggle_view("divergence")

    def action_tails(self) -> None:
        """Toggle tails: every panel hides the shared prefix behind a one-line marker."""
        self._toggle_view("tails")

    def _toggle_view(self, action: str) -> None:
        on = not self._view_on(action)
        reason = self._comparison_refused()
        if on and reason is not None:
            self.notify(reason, title="Nothing to compare", severity="warning", markup=False)
            return
        if action == "divergence":
            self.divergence_on = on
        else:
            self.tails_on = on
        self._divergence_view = None  # hand every panel its marks again
        self.refresh_bindings()
        self.pacer.mark_dirty()

    def _reset_divergence(self) -> None:
        """A new run (or a run from the history): compare from scratch."""
        self._tracker = DivergenceTracker()
        self._divergence_view = None
        self._divergence_shared = None
        self._ended_texts.clear()

    def _update_divergence(self) -> int | None:
        """Once per frame: feed the tracker, hand the panels what changed; the shared length."""
        panels = self.grid.panels
        if not (self.divergence_on or self.tails_on) or len(panels) < 2:
            if self._marks_shown:
                for panel in panels:
                    panel.set_divergence(0, None, marking=False, tails=False)
                self._marks_shown = False
            self._divergence_shared = None
            return None
        self._marks_shown = True
        texts: dict[int, str] = {}
        for panel in panels:
            text = panel.display_text
            if panel.panel_state in ENDED_PANELS:
                if not text:
                    continue  # empty or never answered: it takes no part
                cached = self._ended_texts.get(panel.index)
                if cached is None or cached[0] is not text:
                    cached = self._ended_texts[panel.index] = (text, text + END_OF_TEXT)
                text = cached[1]
            texts[panel.index] = text
        view = self._tracker.update(texts)
        if view is self._divergence_view:
            return self._divergence_shared
        self._divergence_view = view
        shared = min(view.shared_prefix_len, min((len(p.display_text) for p in panels if p.index in texts), default=0))
        for panel in panels:
            panel.set_divergence(shared, view.unique_at.get(panel.index), marking=self.divergence_on, tails=self.tails_on)
        self._divergence_shared = shared
        return shared

    # -- history ------------------------------------------------------------------------

    def action_history(self) -> None:
        self.push_screen(HistoryScreen(), self._history_chosen)

    def _history_chosen(self, choice: HistoryChoice | None) -> None:
        if choice is None:
            return
        run, request = choice.run, choice.run.request()
        self.sidebar.set_request(request)
        if choice.action == "load":
            self._run_serial += 1  # a run still going is cancelled (and saved); its end draws nothing
            self.show_stored_run(run)
        elif choice.action == "rerun":
            self.action_run()
        else:
            self._show_controls()
            self.prompt.focus()
            self.notify(f"Run #{run.id}'s prompt and parameters are in the controls: edit, then "
                        f"{self.key_of('run')} to run", markup=False)

    @work(exclusive=True, group="run", exit_on_error=False)
    async def show_stored_run(self, run: StoredRun) -> None:
        """Draw a run from the history in the panels, like a finished one (read-only)."""
        self._set_running(False)
        state = run.state
        self.run_state, self.run_request = state, state.request
        self.loaded_run, self.run_history_id = run, run.id
        self._reset_divergence()
        self.waiting.stop()
        self.grid.display = True
        await self.grid.prepare(max(state.request.params.n, len(state.candidates)))
        self.pacer.flush()
        self.refresh_bindings()
        self._focus_panel()  # d, t, c and the arrows work at once

    def _save_run(self, state: RunState) -> None:
        """Save an ended run to the history: in a thread, a failure is a warning."""
        if state.status is Status.FAILED and not any(c.text for c in state.candidates.values()):
            return  # nothing came back: not worth a history entry
        if self._ui_alive():
            # The thread shares the interpreter lock with the UI: it starts once the run's
            # final frame is on screen (saving 64 candidates took ~30 ms off that frame).
            painted = threading.Event()
            self.call_after_refresh(painted.set)
            self.run_worker(lambda: self._save_in_thread(state, after=painted), thread=True,
                            group="history-save", exit_on_error=False)
        else:  # shutting down mid-run: save right away, quietly
            try:
                with HistoryStore() as store:
                    store.save(state)
            except HistoryError:
                pass

    def _save_in_thread(self, state: RunState, after: threading.Event | None = None) -> None:
        if after is not None:
            after.wait(SAVE_WAIT_FOR_PAINT)  # not forever: a closing app paints no more
        try:
            with HistoryStore() as store:
                run_id: int | str = store.save(state)
        except HistoryError as err:
            run_id = str(err)
        try:
            self.call_from_thread(self._saved, state, run_id)
        except RuntimeError:  # the app closed meanwhile
            pass

    def _saved(self, state: RunState, result: int | str) -> None:
        if isinstance(result, str):
            self.notify(make_inert(result), title="Run not saved to the history", severity="warning", markup=False)
        elif state is self.run_state:
            self.run_history_id = result

    # -- export -------------------------------------------------------------------------

    def action_export(self, fmt: str) -> None:
        """Write the run shown to ``tui-client-run-<id or time>.<fmt>`` in the current directory."""
        state = self.run_state
        if state is None or not state.candidates:
            self.notify("No run to export yet", severity="warning", markup=False)
            return
        run: StoredRun | RunState = state
        if self.loaded_run is not None and self.loaded_run.state is state:
            run = self.loaded_run
        elif self.run_history_id is not None:  # saved: the file says which run it is
            started = time.time() - (time.monotonic() - state.started)
            run = StoredRun(self.run_history_id, datetime.fromtimestamp(started).astimezone(), state)
        text = FORMATS[fmt](run)
        stem = str(self.run_history_id) if self.run_history_id is not None else datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            path = _write_new_file(Path.cwd(), EXPORT_NAME.format(stem, fmt), text)
        except OSError as err:
            self.notify(make_inert(f"Cannot write the export: {err}"), title="Export failed", severity="error",
                        markup=False)
            return
        note = " (still running: the text so far)" if not state.status.done else ""
        self.notify(make_inert(f"Exported the run to {path}{note}"), title="Exported", markup=False)

    # -- theme --------------------------------------------------------------------------

    def _theme_changed(self, theme: Theme) -> None:
        """A theme picked in the palette: remember it for the next start."""
        if theme.name == self._theme_seen:
            return
        self._theme_seen = theme.name
        try:
            save_ui_state(theme=theme.name)
        except OSError as err:
            self.notify(make_inert(f"The theme choice was not saved: {err}"), severity="warning", markup=False)
            return
        if self.config_theme is not None and self.config_theme != theme.name:
            self.notify(make_inert(f"Saved, but the config file's theme ({self.config_theme}) is used at startup"),
                        markup=False)

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
        if self._reserve_timer is not None:
            self._reserve_timer.stop()
        self._reserve_timer = self.set_timer(RESERVE_DELAY, self._reserve_panels)

    def _reserve_panels(self) -> None:
        """Mount the panels the chosen n needs, hidden, while idle: a run then starts at once."""
        self._reserve_timer = None
        if self._ui_alive():
            self.run_worker(self.grid.reserve(self.sidebar.n), group="reserve", exit_on_error=False)

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
        latest = [state]  # the run's state, as the events hand it over
        self._set_running(True)
        try:
            await self._start_view(request)
            try:
                await self._consume(self._events(request), latest)
            except WorkerUnavailable as err:  # no child process: read the stream here
                self._stream_worker_failed(err)
                await self._consume(self.client.generate(request), latest)
        except Exception as err:  # noqa: BLE001 - a bug must not take the app down
            state = latest[0]
            if not state.status.done:
                state.finish(Status.FAILED, ClientError(ErrorKind.BAD_RESPONSE, f"internal error: {err!r}"))
        finally:
            state = latest[0]
            if not state.status.done:  # cancelled before the server answered
                state.finish(Status.CANCELLED)
            if serial == self._run_serial:
                self._end_view(state)
            self._save_run(state)

    def _events(self, request: GenerationRequest) -> AsyncIterator[RunEvent]:
        """The run's events: read and parsed in the stream worker process, unless it failed."""
        assert self.client is not None
        if self.stream_worker is None:
            return self.client.generate(request)
        return self.stream_worker.generate(
            self.client.config, request, server=self.client.server, describe=self.client.describe()
        )

    async def _consume(self, run: AsyncIterator[RunEvent], latest: list[RunState]) -> None:
        """Follow one run's events to the end, its state in ``latest[0]`` (the pacer draws it)."""
        async with aclosing(run) as events:  # type: ignore[type-var]
            slice_started = time.perf_counter()
            async for event in events:
                if event.state is not latest[0]:
                    latest[0] = self.run_state = event.state
                self.pacer.mark_dirty()
                if time.perf_counter() - slice_started > WORKER_SLICE:
                    # Buffered data does not suspend the read: let keys and frames in.
                    await asyncio.sleep(0)
                    slice_started = time.perf_counter()

    async def _start_stream_worker(self) -> None:
        if self.stream_worker is None:
            return
        try:
            await self.stream_worker.start()
        except WorkerUnavailable as err:
            self._stream_worker_failed(err)

    def _stream_worker_failed(self, err: WorkerUnavailable) -> None:
        """From now on runs read their stream in this process (slower under fast streams)."""
        if self.stream_worker is None:
            return
        self.stream_worker = None
        self.notify(make_inert(f"{err}. Streams are read in the UI process instead (slower at high n)."),
                    title="No stream worker process", severity="warning", markup=False, timeout=10)

    async def _start_view(self, request: GenerationRequest) -> None:
        grid = self.grid
        self.frame_budget.reset()  # n and sizes may differ
        self.loaded_run = self.run_history_id = None
        self._reset_divergence()
        if request.stream:
            self.waiting.stop()
            grid.display = True
        else:
            grid.display = False
            self.waiting.start(request.params.n)
        await grid.prepare(request.params.n)
        self.refresh_bindings()  # divergence needs n of 2 or more
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
        # Restyling the app restyles every widget (~0.1 s with 64 panels): only when a rule uses the class.
        self.set_class(running, "-running", update=self._running_styled())
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

    def _running_styled(self) -> bool:
        """True when some loaded CSS mentions the ``-running`` class (none does at the moment)."""
        if self._running_in_css is None:
            self._running_in_css = stylesheet_mentions(self, "-running")
        return self._running_in_css

    def _clock_tick(self) -> None:
        self.waiting.tick()
        self.pacer.mark_dirty()

    def _ui_alive(self) -> bool:
        """False once the app is shutting down (late worker and timer callbacks do nothing)."""
        return self.is_running and not app_is_exiting(self) and self.grid.is_attached

    def _draw(self) -> None:
        """Draw the latest state: the panels whose candidate changed, and the summary."""
        state, request = self.run_state, self.run_request
        if state is None or request is None or not self._ui_alive():
            return
        shared = None
        if request.stream or state.status.done:
            # The final state is drawn whole: it restyles every panel in view (new border
            # colours), and a restyle lays the screen out again and repaints it all, once
            # per frame however many panels it restyles: split, it would cost that each time.
            limit = None if state.status.done else self.frame_budget.panels_per_frame(self.pacer.last_frame_work)
            self.frame_budget.drawn = self.grid.show(state, limit)
            if self.grid.pending:
                self.pacer.mark_dirty()  # the panels left out come first in the next frame
            shared = self._update_divergence()
        origin = f"from history #{self.loaded_run.id}" if self.loaded_run is not None else None
        self.summary.show_state(state, stream=request.stream, origin=origin, shared=shared)

    # -- keys and commands --------------------------------------------------------------

    def key_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The key list of the help screen, from the bindings themselves."""

        def rows(bindings: Iterable[BindingType], *, skip: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
            grouped: dict[str, list[str]] = {}
            descriptions: dict[str, tuple[str, str]] = {}
            for binding in self.bindings_with_keymap(bindings):
                if binding.action in skip:
                    continue
                grouped.setdefault(binding.action, []).append(self.get_key_display(binding))
                descriptions[binding.action] = (binding.tooltip or binding.description, binding.id or "")
            return [(" / ".join(keys), *descriptions[action]) for action, keys in grouped.items()]

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
            ("History (" + self.key_of("history") + ")", [
                *rows(RunTable.BINDINGS),
                *rows(HistoryScreen.BINDINGS),
                ("down / enter", "From the search field to the list"),
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
            yield SystemCommand("Copy all candidates", "Every candidate's text, with headers (C)", self.action_copy_all)
        on = "on" if self.divergence_on else "off"
        yield SystemCommand(f"Divergence: highlight where candidates differ ({on})",
                            "Dim the shared prefix, highlight each candidate's first unique word (d)",
                            self.action_divergence)
        on = "on" if self.tails_on else "off"
        yield SystemCommand(f"Divergence: only the differing tails ({on})",
                            "Hide the prefix every candidate shares (t)", self.action_tails)
        yield SystemCommand("History", "Browse, search, load, re-run or delete past runs (F2)", self.action_history)
        if self.run_state is not None and self.run_state.candidates:
            yield SystemCommand("Export run as JSON", "Write tui-client-run-….json in the current directory",
                                lambda: self.action_export("json"))
            yield SystemCommand("Export run as Markdown", "Write tui-client-run-….md in the current directory",
                                lambda: self.action_export("md"))

    def action_copy_all(self) -> None:
        state = self.run_state
        if state is None or not state.candidates:
            self.notify("No candidates to copy", severity="warning", markup=False)
            return
        text = "\n\n".join(f"=== Candidate {c.index} ===\n{c.text}" for c in state.ordered())
        self.copy_to_clipboard(text)
        self.notify(f"Copied {len(state.candidates)} candidates ({len(text):,} characters)", markup=False)

    async def on_unmount(self) -> None:
        self.pacer.resume_gc(now=True)
        if self.stream_worker is not None:
            await self.stream_worker.aclose()
        if self.client is not None:
            await self.client.aclose()


def _write_new_file(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``folder/name``, or ``name-2``, ``name-3``… when it exists (never overwrites)."""
    stem, dot, ext = name.rpartition(".")
    for attempt in range(1, 1000):
        path = folder / (name if attempt == 1 else f"{stem}-{attempt}{dot}{ext}")
        try:
            with path.open("x", encoding="utf-8") as out:
                out.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"too many exports named {folder / name}")


def known_binding_ids() -> set[str]:
    """Every binding id the app defines (what the config file's ``[keys]`` may remap)."""
    classes = (TuiClientApp, CandidatePanel, NSlider, HelpScreen, HistoryScreen, RunTable, ConfirmScreen)
    return {b.id for cls in classes for b in Binding.make_bindings(cls.BINDINGS) if b.id}
