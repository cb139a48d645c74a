"""Comparing servers in the main view: the same request to each server, one labelled group of n
panels per server (``A · Candidate 0``), one summary line per server, ``x`` for candidate 0 of each
side by side, and the palette's "Compare with a server…" / "Stop comparing". The session does the
streaming (:meth:`~tui_client.core.run_session.RunSession.stream_compare`); this only draws."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from tui_client.core.protocol import GenerationRequest, Status
from tui_client.core.protocol.compare import CompareState, ServerTarget
from tui_client.core.protocol.errors import without_userinfo
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.screens.compare_across_screen import CompareAcrossScreen
from tui_client.ui.screens.compare_url_screen import CompareUrlScreen

if TYPE_CHECKING:
    from tui_client.ui.main_screen import MainScreen

NOT_FOR_COMPARISON = "{what} is for a run of one server; this run compared servers (stop comparing in the palette, ctrl+p, then run)"
"""The one line an action that works on one server's run says when a comparison is shown."""


class CompareView:
    """``CompareView(main)``: the main view's part of comparing servers."""

    def __init__(self, main: MainScreen) -> None:
        self.main = main

    @property
    def comparing(self) -> bool:
        """The next run goes to more than one server."""
        return bool(self.main.app.session.compare_with)

    @property
    def shown(self) -> CompareState | None:
        """The comparison shown (running, ended or from the history), or None."""
        return self.main.app.session.compare

    def labels(self) -> list[str]:
        session = self.main.app.session
        return [session.label, *(target.label for target, _ in session.compare_with)]

    def show_in_header(self) -> None:
        """The header names every server compared (nothing more when not comparing)."""
        session = self.main.app.session
        self.main.server_bar.set_compare(session.label, [(t.label, t.url) for t, _ in session.compare_with])

    def refused(self, what: str) -> str | None:
        """Why ``what`` (an action on one server's run) cannot go on now, or None."""
        return NOT_FOR_COMPARISON.format(what=what) if self.shown is not None else None

    # -- a run ------------------------------------------------------------------------------

    async def run(self, request: GenerationRequest) -> None:
        """Follow one comparison to its end (the body of the main view's run worker)."""
        main, session = self.main, self.main.app.session
        crun = session.begin_compare(request)
        main._set_running(True)
        try:
            await main._start_view(request, groups=tuple(self.labels()))
            await session.stream_compare(crun, main.app.pacer.mark_dirty, main._stream_worker_failed)
        except Exception as err:  # noqa: BLE001 - a bug must not take the app down
            for run in crun.runs:
                run.fail(err)
        finally:
            compare = crun.end()
            if session.serial == crun.serial:
                self._end_view(compare)
            main._save_run(crun.state, compare)

    def _end_view(self, compare: CompareState) -> None:
        main = self.main
        if not main._ui_alive():
            return
        main._set_running(False)
        main.waiting.stop()
        main.grid.display = True
        main.app.pacer.flush()
        if compare.status is Status.CANCELLED:
            main.notify("Cancelled every server: the text so far is kept", severity="warning", markup=False)
        for group in compare.groups:
            if group.state.status is Status.FAILED:
                main.notify(make_inert(f"{group.label}: {group.state.error or 'failed'}"),
                            title=f"Server {group.label} failed", severity="error", markup=False, timeout=10)
            for note in group.state.notes:
                main.notify(make_inert(f"{group.label}: {note}"), severity="warning", markup=False)

    def draw(self, compare: CompareState, origin: str | None) -> None:
        """One frame of a comparison: each server's panels, then a summary line per server."""
        main = self.main
        session = main.app.session
        state, request = session.state, session.request
        assert state is not None and request is not None
        if request.stream or compare.done:
            pacer = main.app.pacer
            limit = None if compare.done else main.frame_budget.panels_per_frame(pacer.last_frame_work)
            main.frame_budget.drawn = main.grid.show(state, limit, [g.state for g in compare.groups])
            if main.grid.pending:
                pacer.mark_dirty()
            main.marks.update(main.grid.panels, main.grid.group_size)
        main.summary.show_compare(compare, origin=origin)

    # -- keys and the palette -------------------------------------------------------------

    def action_across(self) -> None:
        """``x``: candidate 0 of each server side by side."""
        compare = self.shown
        if compare is None:
            why = ("Run first: the comparison shows candidate 0 of each server" if self.comparing else
                   "Nothing to compare across: compare with a server first (ctrl+p: Compare with a server…)")
            self.main.notify(why, title="Not comparing", severity="warning", markup=False)
            return
        self.main.app.push_screen(CompareAcrossScreen(compare.groups))

    def commands(self) -> Iterator[SystemCommand]:
        yield SystemCommand("Compare with a server…", "Send each run to one more server too, side by side",
                            self.ask_url)
        if self.comparing:
            yield SystemCommand("Stop comparing", f"Runs go to {self.main.app.session.label} alone again",
                                self.stop)
        if self.shown is not None:
            yield SystemCommand("Compare across servers", "Candidate 0 of each server side by side (x)",
                                self.action_across)

    def ask_url(self) -> None:
        labels = self.labels()
        self.main.app.push_screen(CompareUrlScreen(len(labels), set(labels), labels), self._url_chosen)

    def _url_chosen(self, target: ServerTarget | None) -> None:
        if target is None:
            return
        session = self.main.app.session
        session.set_compare([*(t for t, _ in session.compare_with), target], label=session.label)
        self.show_in_header()
        self.main.reserve_panels()  # the next run's panels for this server too
        self.main.notify(make_inert(f"From the next run on, each run goes to {', '.join(self.labels())} "
                                    f"({target.label}: {without_userinfo(target.url)})"), markup=False)

    def stop(self) -> None:
        session = self.main.app.session
        session.set_compare([])
        self.show_in_header()
        self.main.reserve_panels()  # before the first run: the panels staged for one server again
        self.main.notify(make_inert(f"Not comparing: runs go to {without_userinfo(session.config.url)} alone"),
                         markup=False)
