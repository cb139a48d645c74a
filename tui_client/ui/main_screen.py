"""The main view: the controls, the candidate panels, the run summary; its keys and actions.

A run is a ``@work(exclusive=True, group="run")`` worker that follows the
:class:`~tui_client.core.run_session.RunSession`'s events and only notes that the state
changed (:meth:`FramePacer.mark_dirty`); the app's pacer then calls :meth:`MainScreen.draw`
at a bounded, adaptive rate. Each panel redraws only when its candidate changed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import TextArea

from tui_client.core.protocol import (
    ClientError,
    ErrorKind,
    GenerationRequest,
    RunState,
    ServerInfo,
    Status,
)
from tui_client.core.protocol.compare import CompareState
from tui_client.core.protocol.continuation import ParentLink
from tui_client.core.protocol.token_facts import token_facts
from tui_client.core.storage.export import describe_parent
from tui_client.core.storage.history import HistoryError, StoredRun
from tui_client.core.text.inert_text import make_inert
from tui_client.core.text.wording import count_of
from tui_client.core.transport.stream_worker import WorkerUnavailable
from tui_client.ui.commands import main_commands
from tui_client.ui.compare_view import CompareView
from tui_client.ui.divergence_marks import DivergenceMarks, comparison_refused
from tui_client.ui.export_action import export_run
from tui_client.ui.go_on import plan_go_on
from tui_client.ui.keys import bindings_for, help_sections, key_of
from tui_client.ui.panel_order import PanelOrder, sort_refused
from tui_client.ui.rendering.frame_budget import FrameBudget
from tui_client.ui.rendering.tuning import (
    CLOCK_INTERVAL,
    PROBABILITY_LEVELS,
    RESERVE_DELAY,
    SAVE_WAIT_FOR_PAINT,
)
from tui_client.ui.screens.help_screen import HelpScreen
from tui_client.ui.screens.history_screen import HistoryChoice, HistoryScreen
from tui_client.ui.screens.server_screen import ServerScreen
from tui_client.ui.server_polling import ServerPolling
from tui_client.ui.server_switch import ServerSwitch, describe_choice
from tui_client.ui.textual_compat import app_is_exiting, stylesheet_mentions
from tui_client.ui.widgets.candidates.grid import CandidateGrid
from tui_client.ui.widgets.candidates.panel import CandidatePanel
from tui_client.ui.widgets.candidates.token_inspector import PartingToken, TokenInspector
from tui_client.ui.widgets.chrome.connection_banner import ConnectionBanner
from tui_client.ui.widgets.chrome.footer import AppFooter
from tui_client.ui.widgets.chrome.run_summary import RunSummary, probability_legend
from tui_client.ui.widgets.chrome.server_bar import ServerBar
from tui_client.ui.widgets.chrome.waiting_notice import WaitingNotice
from tui_client.ui.widgets.controls.server_choice import ServerChoice
from tui_client.ui.widgets.controls.sidebar import ControlsSidebar

if TYPE_CHECKING:
    from tui_client.ui.app import TuiClientApp

NARROW_WIDTH = 100
"""Below this many columns the layout tightens (narrower controls, no app name)."""

UNREACHABLE = (ErrorKind.CONNECT, ErrorKind.DNS, ErrorKind.TLS)
"""Failures that mean "nothing answers there": they raise the connection banner."""


class MainScreen(Screen[None]):
    """The app's default screen; other screens (help, history) on top disable its keys."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("main")

    app: TuiClientApp  # type: ignore[assignment]

    CSS_PATH = "main_screen.tcss"

    def __init__(self, request: GenerationRequest, server: ServerInfo, *, note: str | None = None) -> None:
        super().__init__(id="_default")
        # The widgets the workers and the pacer update (made here: they exist before mount).
        self.server_bar = ServerBar(server, note=note, id="server-bar")
        self.banner = ConnectionBanner(id="connection-banner")
        self.sidebar = ControlsSidebar(request, id="controls", api=server.api, model=server.model)
        self.switch = ServerSwitch(self)
        """The API and model of the next run: switched in place."""
        self.summary = RunSummary(id="run-summary")
        self.waiting = WaitingNotice(id="waiting")
        self.grid = CandidateGrid(id="candidates")
        self.inspector = TokenInspector(id="token-inspector")
        self._inspected: CandidatePanel | None = None  # the panel whose token cursor the inspector shows
        self._legend: tuple[object, Content] | None = None  # (the shades it was made from, the key)
        self.running = False
        self._last_panel: CandidatePanel | None = None
        self._clock: Timer | None = None
        self._reserve_timer: Timer | None = None
        self._running_in_css: bool | None = None
        self.frame_budget = FrameBudget()
        """How many panels in view a frame may draw (learnt from the frames before)."""
        self.marks = DivergenceMarks()
        self.order = PanelOrder()
        """``s``: the panels by index or most likely first."""
        # History: the run shown came from it (loaded_run), or was saved as run_history_id.
        self.loaded_run: StoredRun | None = None
        self.run_history_id: int | None = None
        self._late_parent: tuple[GenerationRequest, ParentLink] | None = None
        self.server_polling = ServerPolling(self)
        """F5's facts and the header's server line (asked while the panel is open or a run goes)."""
        self.compare = CompareView(self)
        """Comparing servers: a group of panels per server, ``x``, the palette's entries."""

    # -- layout -------------------------------------------------------------------------

    def main_widgets(self) -> ComposeResult:
        """The view's widgets. The app composes them (Textual mounts ``App.compose`` into the
        default screen before the app's on_mount); a screen's own compose would run later, on
        its own queue, after the app counts as ready."""
        yield self.server_bar
        yield self.banner
        with Horizontal(id="main"):
            yield self.sidebar
            with Vertical(id="results"):
                yield self.summary
                yield self.waiting
                yield self.grid
                yield self.inspector
        yield AppFooter(compact=True)

    def start(self) -> None:
        """Focus, hints, the first connection check: called from the app's on_mount, which runs
        once this screen is mounted (its own Mount is handled later, on its own queue)."""
        self.prompt = self.query_one("#prompt", TextArea)
        """The prompt field (made by the controls column)."""

        session = self.app.session
        self.sidebar.set_api(session.describe().api)  # None: known once connected
        self.set_narrow(self.app.size.width)
        self.prompt.focus()
        self.prompt.move_cursor(self.prompt.document.end)
        self.summary.show_idle(self.key_of("run"))
        self.grid.empty_hint.update(self._empty_hint())
        self.sidebar.validate()
        self.compare.show_in_header()
        self._clock = self.set_interval(CLOCK_INTERVAL, self._clock_tick, pause=True)
        self.call_after_refresh(self.reserve_panels)
        if session.client is not None:
            self.run_worker(self._start_stream_worker(), group="stream-worker", exit_on_error=False)
            self.check_connection(refresh=False)
        else:
            assert session.client_error is not None
            self._show_unreachable(session.config.url, str(session.client_error))
            self.server_bar.set_connection("failed")

    def set_narrow(self, width: int) -> None:
        """Tighten the layout below :data:`NARROW_WIDTH` columns (the app calls it on every resize)."""
        self.set_class(width < NARROW_WIDTH, "-narrow")

    def key_of(self, action: str) -> str:
        """How the first key bound to main-screen action ``action`` is displayed, keymap applied."""
        return key_of(self.app, self.BINDINGS, action)

    def key_sections(self) -> list[tuple[str, list[tuple[str, ...]]]]:
        """The help screen's key list, from the bindings themselves."""
        return help_sections(self.app, self.key_of("history"))

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

    def commands(self) -> Iterable[SystemCommand]:
        """The palette's entries for this view."""
        return main_commands(self)

    # -- connection ---------------------------------------------------------------------

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def check_connection(self, refresh: bool = True) -> None:
        """Ask the server what it speaks; show the banner when nothing answers."""
        client = self.app.session.client
        if client is None:
            return
        bar = self.server_bar
        bar.set_connection("connecting")
        self.switch.fetch_models()
        try:
            info = await client.connect(refresh=refresh)
        except ClientError as err:
            bar.set_connection("failed")
            bar.set_server(client.describe())
            self._show_unreachable(client.base_url, str(err))
            return
        except Exception as err:  # noqa: BLE001 - never let a surprise take the app down
            bar.set_connection("failed")
            self._show_unreachable(client.base_url, f"unexpected error: {err!r}")
            return
        self._connected(info)

    def _connected(self, info: ServerInfo) -> None:
        self.app.server_info = info
        self.sidebar.set_api(info.api)
        self.sidebar.server_choice.show_detected(info.model)
        self.server_bar.set_server(info)
        self.server_bar.set_connection("connected")
        self.banner.hide()
        self.server_polling.connected()

    def _show_unreachable(self, url: str, message: str) -> None:
        self.banner.show_problem(url, message, retry_key=self.key_of("reconnect"))

    async def _start_stream_worker(self) -> None:
        err = await self.app.session.start_worker()
        if err is not None:
            self._stream_worker_failed(err)

    def _stream_worker_failed(self, err: WorkerUnavailable) -> None:
        """From now on runs read their stream in this process (slower under fast streams)."""
        self.notify(make_inert(f"{err}. Streams are read in the UI process instead (slower at high n)."),
                    title="No stream worker process", severity="warning", markup=False, timeout=10)

    # -- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            # Shown dimmed while idle, not hidden: the footer keeps its keys when a run
            # starts or ends (building them again lays out the whole screen).
            return True if self.running else None
        if not self.is_active:
            return False  # another screen is on top: the footer behind it shows none of these keys
        if action in ("divergence", "tails"):
            # Shown disabled while there is nothing to compare (pressing it says why).
            return True if self._comparison_refused() is None or self.marks.is_on(action) else None
        if action == "sort":
            return True if self.order.likely or (sort_refused(self.app.run_state) is None
                                                 and self.compare.shown is None) else None
        return True

    def explain_refusal(self, action: str) -> bool:
        """A disabled divergence key still answers, with why it is disabled: True when it did."""
        if action in ("divergence", "tails"):
            reason = self._comparison_refused()
            if reason is not None and not self.marks.is_on(action):
                self.notify(reason, title="Nothing to compare", severity="warning", markup=False)
                return True
        if action == "sort":
            return self._sort_refusal_said()
        return False

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
        if not request.prompt.strip() and not request.continues_reply:
            self.notify("Type a prompt first", severity="warning", markup=False)
            self._show_controls()
            self.prompt.focus()
            return
        session = self.app.session
        if session.client is None:
            self.notify(make_inert(str(session.client_error)), title="Cannot run", severity="error", markup=False)
            return
        source = sidebar.parent_source()
        # Saved in the background: a run gone on from one that just ended learns its parent's id when it is saved.
        self._late_parent = (request, source) if isinstance(source, ParentLink) and request.parent is None else None
        self.run_generation(request)

    def action_cancel(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "run")

    def action_reconnect(self) -> None:
        session = self.app.session
        if session.client is None:
            self.notify(make_inert(str(session.client_error)), severity="error", markup=False)
            return
        self.check_connection(refresh=True)

    def action_compare_across(self) -> None:
        """``x``: comparing servers, candidate 0 of each side by side."""
        self.compare.action_across()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.key_sections()))

    def action_divergence(self) -> None:
        """Toggle the marks: shared prefix dimmed, each candidate's unique word highlighted."""
        self._toggle_view("divergence")

    def action_tails(self) -> None:
        """Toggle tails: every panel hides the shared prefix behind a one-line marker."""
        self._toggle_view("tails")

    def action_probabilities(self) -> None:
        """Toggle the probability view: every token shaded by how probable it was."""
        grid = self.grid
        grid.set_probability_view(not grid.probability_view)
        state = self.app.run_state
        if grid.probability_view and state is not None and state.candidates and not any(
                c.token_texts for c in state.candidates.values()):
            self.notify("The run shown has no logprobs: set logprobs (1-20) and run again; tokens are shaded then",
                        title="Probability view on", severity="warning", markup=False)
        self.app.pacer.mark_dirty()  # the summary's key

    def _probability_legend(self) -> Content | None:
        """The probability view's key for the summary (built again only when the shades change)."""
        panel = self.grid.panel(0)
        if not self.grid.probability_view or panel is None:
            return None
        shades = panel.probability_shades()
        if self._legend is None or self._legend[0] is not shades:
            self._legend = (shades, probability_legend(shades, PROBABILITY_LEVELS))
        return self._legend[1]

    # -- the token inspector --------------------------------------------------------------

    @on(CandidatePanel.TokenCursor)
    def _token_cursor(self, event: CandidatePanel.TokenCursor) -> None:
        panel = event.panel
        if panel.token_cursor is None:
            if panel is self._inspected:
                self._inspected = None
                self.inspector.close()
            return
        if self._inspected is not None and self._inspected is not panel:
            self._inspected.close_tokens(quiet=True)
        self._inspected = panel
        self._show_token()

    def _show_token(self) -> None:
        """The inspector, for the inspected panel's cursor as it is now."""
        panel = self._inspected
        cand = panel.candidate if panel is not None else None
        if panel is None or cand is None or panel.token_cursor is None:
            return
        index = min(panel.token_cursor, len(cand.token_texts) - 1)
        parting: list[PartingToken] = []
        parted_at: int | None = None
        state = self.app.run_state
        k = state.request.params.logprobs if state is not None else None
        if self.marks.marking:
            shared, _unique = panel.divergence_marks
            parted_at = shared
            for other in self.grid.panels:
                at = other.token_at(shared) if other.candidate is not None else None
                parting.append((other.index, None if at is None else token_facts(other.candidate, at, k)))  # type: ignore[arg-type]
        keys = ("←/→ token · ↑/↓ line · ] / [ same place, next / previous panel · a / A pick an alternative · "
                "enter forks there with it · escape closes")
        self.inspector.show_token(panel.name_shown, cand, index, k=k, parting=parting, parted_at=parted_at,
                                  keys=keys)

    # -- going on from a candidate -------------------------------------------------------

    @on(CandidatePanel.GoOn)
    def _go_on(self, event: CandidatePanel.GoOn) -> None:
        """enter on a panel: continue it; with the token cursor on: fork at that token."""
        panel, fork = event.panel, None
        refused = self.compare.refused("Going on from a candidate")
        if refused is not None:
            self.notify(refused, severity="warning", markup=False)
            return
        if event.fork:
            facts, alternative = self.inspector.facts, self.inspector.chosen_alternative
            if facts is None or alternative is None:
                self.notify("No alternative to fork with here (the server sent none for this token)",
                            severity="warning", markup=False)
                return
            fork = (facts.offset, alternative)
        plan = plan_go_on(self.app.run_state, panel.index, fork=fork, next_api=self.app.session.describe().api)
        if isinstance(plan, str):
            self.notify(plan, severity="warning", markup=False)
            return
        panel.close_tokens()
        self.sidebar.go_on(plan.request, plan.source)
        if plan.run_now:
            self.action_run()
            return
        self._show_controls()
        self.prompt.focus()
        self.notify(f"Candidate {panel.index} is the model's turn now: type your reply, then {self.key_of('run')} "
                    f"({self.key_of('cut_turn')} takes it back)", markup=False)

    @on(CandidatePanel.PickAlternative)
    def _pick_alternative(self, event: CandidatePanel.PickAlternative) -> None:
        if event.panel is self._inspected and not self.inspector.pick(event.step):
            self.notify("No other alternative for this token", severity="warning", markup=False)

    def action_cut_turn(self) -> None:
        if not self.sidebar.cut_turn():
            self.notify("No conversation to cut back (chat: enter on a candidate starts one)", markup=False)

    def action_new_chat(self) -> None:
        if self.sidebar.new_chat():
            self.notify("A new conversation: the turns so far are forgotten", markup=False)

    def _inspect_focused(self, panel: CandidatePanel) -> None:
        """The token cursor is on and focus moved to ``panel``: the cursor goes with it, to the
        same place in the text."""
        previous = self._inspected
        if previous is None or previous is panel or previous.token_cursor is None:
            return
        offset = previous.token_span(previous.token_cursor)[0]
        previous.close_tokens(quiet=True)
        self._inspected = None
        if not panel.open_tokens(offset):
            self.inspector.close()
    def action_sort(self) -> None:
        """Toggle the panels' order: by index, or most likely first (by mean token logprob)."""
        if self._sort_refusal_said():
            return
        self.order.likely = not self.order.likely
        self.order.apply(self.grid, self.app.run_state)
        self.refresh_bindings()
        self.app.pacer.mark_dirty()  # the summary says it

    def _sort_refusal_said(self) -> bool:
        """The mode cannot go on for the run shown: say why (True), else False."""
        reason = None if self.order.likely else (self.compare.refused("Sorting the panels")
                                                 or sort_refused(self.app.run_state))
        if reason is not None:
            self.notify(reason, title="Cannot sort", severity="warning", markup=False)
        return reason is not None

    def action_history(self) -> None:
        self.app.push_screen(HistoryScreen(self.app.session.history), self._history_chosen)

    def action_server(self) -> None:
        """F5: the server panel (version, models, load, its last minute)."""
        self.app.push_screen(ServerScreen(self.server_polling))

    def action_export(self, fmt: str) -> None:
        """Write the run shown to ``tui-client-run-<id or time>.<fmt>`` in the current directory."""
        state = self.app.run_state
        compare = self.compare.shown
        if state is None or not (state.candidates or compare is not None):
            self.notify("No run to export yet", severity="warning", markup=False)
            return
        if compare is not None and (self.run_history_id is None or not compare.done):
            self.notify("A comparison is exported once it has ended and is saved: every server's result then",
                        severity="warning", markup=False)
            return
        try:
            path = export_run(state, fmt, loaded=self.loaded_run, history_id=self.run_history_id,
                              groups=compare.groups if compare is not None else ())
        except OSError as err:
            self.notify(make_inert(f"Cannot write the export: {err}"), title="Export failed", severity="error",
                        markup=False)
            return
        note = " (still running: the text so far)" if not state.status.done else ""
        self.notify(make_inert(f"Exported the run to {path}{note}"), title="Exported", markup=False)

    def action_copy_all(self) -> None:
        state = self.app.run_state
        compare = self.compare.shown
        if state is None or not state.candidates and compare is None:
            self.notify("No candidates to copy", severity="warning", markup=False)
            return
        groups = [(f"{g.label} · ", g.state) for g in compare.groups] if compare is not None else [("", state)]
        pieces = [f"=== {label}Candidate {c.index} ===\n{c.text}" for label, group in groups for c in group.ordered()]
        text = "\n\n".join(pieces)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {count_of(len(pieces), 'candidate')} ({count_of(len(text), 'character')})", markup=False)

    def action_toggle_controls(self) -> None:
        controls = self.sidebar
        if controls.display:
            focused = self.focused
            controls.display = False
            if focused is not None and controls in focused.ancestors:
                self._focus_panel()
        else:
            self._show_controls()

    def action_switch_pane(self) -> None:
        if isinstance(self.focused, CandidatePanel):
            self._show_controls()
            self.prompt.focus()
        elif not self._focus_panel():
            self.notify("No candidate panels yet: run first", severity="warning", markup=False)

    # -- focus and controls ---------------------------------------------------------------

    def _show_controls(self) -> None:
        self.sidebar.display = True

    def _focus_panel(self) -> bool:
        panels = [p for p in self.grid.panels_in_order if p.display]
        if not panels or not self.grid.display:
            return False
        target = self._last_panel if self._last_panel in panels else panels[0]
        target.focus()
        return True

    @on(events.DescendantFocus)
    def _remember_panel(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, CandidatePanel):
            self._last_panel = event.widget
            self._inspect_focused(event.widget)
        elif self._inspected is not None:  # focus left the panels: the cursor goes
            self._inspected.close_tokens()

    @on(ServerChoice.Chosen)
    async def _server_chosen(self, event: ServerChoice.Chosen) -> None:
        await self.switch.apply(event.api, event.model)

    @on(ControlsSidebar.Changed)
    def _controls_changed(self) -> None:
        self.refresh_bindings()
        if self._reserve_timer is not None:
            self._reserve_timer.stop()
        self._reserve_timer = self.set_timer(RESERVE_DELAY, self.reserve_panels)

    def reserve_panels(self) -> None:
        """Mount the panels the chosen n needs (for each server compared), hidden, while idle:
        a run then starts at once."""
        self._reserve_timer = None
        if self._ui_alive():
            n, servers = self.sidebar.n, 1 + len(self.app.session.compare_with)
            self.run_worker(self.grid.reserve(n * servers, group=n if servers > 1 else 0), group="reserve",
                            exit_on_error=False)

    # -- divergence -----------------------------------------------------------------------

    def _comparison_refused(self) -> str | None:
        """Why there is nothing to compare now, or None when there is."""
        return comparison_refused(len(self.grid.panels))

    def _toggle_view(self, action: str) -> None:
        on = not self.marks.is_on(action)
        reason = self._comparison_refused()
        if on and reason is not None:
            self.notify(reason, title="Nothing to compare", severity="warning", markup=False)
            return
        self.marks.set(action, on)
        self.refresh_bindings()
        self.app.pacer.mark_dirty()

    # -- the run --------------------------------------------------------------------------

    @work(exclusive=True, group="run", exit_on_error=False)
    async def run_generation(self, request: GenerationRequest) -> None:
        """Follow one run; the pacer draws. Cancelled by a new run or escape."""
        session, pacer = self.app.session, self.app.pacer
        if session.compare_with:
            await self.compare.run(request)
            return
        run = session.begin(request)  # until the server answers: waiting, no candidates
        self._set_running(True)
        try:
            await self._start_view(request)
            await session.stream(run, pacer.mark_dirty, self._stream_worker_failed)
        except Exception as err:  # noqa: BLE001 - a bug must not take the app down
            run.fail(err)
        finally:
            state = run.end()
            if session.is_latest(run):
                self._end_view(state, switched=run.client is not session.client)
            self._save_run(state)

    async def _start_view(self, request: GenerationRequest, *, groups: tuple[str, ...] = ()) -> None:
        grid = self.grid
        self.frame_budget.reset()  # n and sizes may differ
        self.loaded_run = self.run_history_id = None
        self.marks.reset()
        self.order.unsort(grid)  # while it streams; sorted again when it ends
        if request.stream:
            self.waiting.stop()
            grid.display = True
        else:
            grid.display = False
            self.waiting.start(request.params.n * max(len(groups), 1))
        if groups:
            await grid.prepare(request.params.n, groups=groups)
        else:
            await grid.prepare(request.params.n)
        self.refresh_bindings()  # divergence needs n of 2 or more
        self.app.pacer.flush()

    def _end_view(self, state: RunState, *, switched: bool = False) -> None:
        if not self._ui_alive():
            return
        self._set_running(False)
        self.waiting.stop()
        self.grid.display = True
        self.order.apply(self.grid, state)
        self.app.pacer.flush()
        if state.status is Status.FINISHED:
            if self.server_bar.connection != "connected" and not switched:  # switched: the header shows the next run's
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
        # Restyling the app restyles every widget: only when a rule uses the class.
        self.app.set_class(running, "-running", update=self._running_styled())
        if running:
            self.app.pacer.pause_gc()
        else:
            self.app.pacer.resume_gc()
        if self._clock is not None:
            if running:
                self._clock.resume()
            else:
                self._clock.pause()
        self.server_polling.running_changed(running)
        self.refresh_bindings()

    def _running_styled(self) -> bool:
        """True when some loaded CSS mentions the ``-running`` class (none does at the moment)."""
        if self._running_in_css is None:
            self._running_in_css = stylesheet_mentions(self.app, "-running")
        return self._running_in_css

    def _clock_tick(self) -> None:
        self.waiting.tick()
        self.app.pacer.mark_dirty()

    def _ui_alive(self) -> bool:
        """False once the app is shutting down (late worker and timer callbacks do nothing)."""
        return self.app.is_running and not app_is_exiting(self.app) and self.grid.is_attached

    def draw(self) -> None:
        """Draw the latest state: the panels whose candidate changed, and the summary."""
        session = self.app.session
        state, request = session.state, session.request
        if state is None or request is None or not self._ui_alive():
            return
        compare = session.compare
        if compare is not None:
            origin = f"from history #{self.loaded_run.id}" if self.loaded_run is not None else None
            self.compare.draw(compare, origin)
            return
        shared = None
        if request.stream or state.status.done:
            # The final state is drawn whole: it restyles every panel in view (new border
            # colours), and a restyle lays the screen out again and repaints it all, once
            # per frame however many panels it restyles: split, it would cost that each time.
            pacer = self.app.pacer
            limit = None if state.status.done else self.frame_budget.panels_per_frame(pacer.last_frame_work)
            self.frame_budget.drawn = self.grid.show(state, limit)
            if self.grid.pending:
                pacer.mark_dirty()  # the panels left out come first in the next frame
            shared = self.marks.update(self.grid.panels)
        origin = (f"from history #{self.loaded_run.id} ({describe_choice(state.server)})"
                  if self.loaded_run is not None else None)
        if request.parent is not None:
            came = f"↳ {describe_parent(request.parent)}"
            origin = f"{origin} · {came}" if origin else came
        self.summary.show_state(state, stream=request.stream, origin=origin, shared=shared,
                                legend=self._probability_legend(), order=self.order.summary(state))
        if self._inspected is not None:
            self._show_token()  # the text may have grown (token n of m), or the marks moved

    # -- history --------------------------------------------------------------------------

    def _history_chosen(self, choice: HistoryChoice | None) -> None:
        if choice is None:
            return
        run, request = choice.run, choice.run.request()
        self.sidebar.set_request(request)
        if choice.action == "load":
            self.app.session.supersede()  # a run still going is cancelled (and saved); its end draws nothing
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
        compare = CompareState(run.groups) if run.groups else None
        self.app.session.show(state, compare)
        self.loaded_run, self.run_history_id = run, run.id
        self.marks.reset()
        self.waiting.stop()
        self.grid.display = True
        if compare is not None:
            self.order.unsort(self.grid)
            await self.grid.prepare(state.request.params.n, groups=tuple(g.label for g in compare.groups))
        else:
            await self.grid.prepare(max(state.request.params.n, len(state.candidates)))
            self.order.apply(self.grid, state)
        self.app.pacer.flush()
        self.refresh_bindings()
        self._focus_panel()  # d, t, c and the arrows work at once

    def _save_run(self, state: RunState, compare: CompareState | None = None) -> None:
        """Save an ended run (``compare``: with every server's result) to the history: in a thread, a
        failure is a warning."""
        session = self.app.session
        if self._late_parent is not None and self._late_parent[0] == state.request:
            parent = self._late_parent[1].resolve()
            if parent is not None:
                state.request = replace(state.request, parent=parent)
            self._late_parent = None
        if not session.worth_saving(state, compare):
            return
        if self._ui_alive():
            # The thread shares the interpreter lock with the UI: it starts once the run's
            # final frame is on screen.
            painted = threading.Event()
            self.call_after_refresh(painted.set)
            self.run_worker(lambda: self._save_in_thread(state, after=painted, compare=compare), thread=True,
                            group="history-save", exit_on_error=False)
        else:  # shutting down mid-run: save right away, quietly
            try:
                session.save(state, compare)
            except HistoryError:
                pass

    def _save_in_thread(self, state: RunState, after: threading.Event | None = None,
                        compare: CompareState | None = None) -> None:
        if after is not None:
            after.wait(SAVE_WAIT_FOR_PAINT)  # not forever: a closing app paints no more
        try:
            run_id: int | str = self.app.session.save(state, compare)
        except HistoryError as err:
            run_id = str(err)
        try:
            self.app.call_from_thread(self._saved, state, run_id)
        except RuntimeError:  # the app closed meanwhile
            pass

    def _saved(self, state: RunState, result: int | str) -> None:
        if isinstance(result, str):
            self.notify(make_inert(result), title="Run not saved to the history", severity="warning", markup=False)
        elif state is self.app.run_state:
            self.run_history_id = result
