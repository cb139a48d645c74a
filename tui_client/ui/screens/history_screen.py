"""F2: the saved runs, newest first; search them, load one, re-run it, edit it, delete it.

The list is read when the screen opens (never at startup) and again as the search
changes, in a thread (SQLite never blocks the event loop); each read opens the store
through the function the app hands in (the run session's: one store per thread).
Choosing a run reads it whole, then the screen dismisses with a :class:`HistoryChoice`
that the main screen acts on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from tui_client.core.defaults import HISTORY_LIST_PREVIEW_CHARS
from tui_client.core.storage.export import tree_lines
from tui_client.core.storage.history import (
    HistoryError,
    HistoryStore,
    RunSummary,
    StoredRun,
)
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.keys import bindings_for
from tui_client.ui.rendering.tuning import TEXT_INPUT_MAX_CHARS
from tui_client.ui.screens.confirm_screen import ConfirmScreen
from tui_client.ui.widgets.controls.folded_input import FoldedInput

LIST_LIMIT = 500
"""Runs listed at most (the newest); a search looks through all of them."""

SEARCH_DELAY = 0.15
"""Seconds of quiet typing before the search runs."""

Action = Literal["load", "rerun", "edit"]


@dataclass(frozen=True)
class HistoryChoice:
    """What the user picked: ``load`` into the panels, ``rerun`` now, or ``edit`` in the controls."""

    action: Action
    run: StoredRun


def one_line(text: str) -> str:
    """A prompt preview on one line: inert, newlines shown as ``⏎``, runs of spaces squeezed."""
    return " ".join(make_inert(text, tab_size=1).replace("\n", " ⏎ ").split())


class RunTable(DataTable[object]):
    """The run list; enter loads the run under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("history.table")

    def action_scroll_home(self) -> None:
        """home: the newest run."""
        self.move_cursor(row=0)

    def action_scroll_end(self) -> None:
        """end: the oldest run listed."""
        self.move_cursor(row=max(self.row_count - 1, 0))


class HistoryScreen(Screen[HistoryChoice | None]):
    """The history browser. Keys: enter load, r re-run, e edit, delete/x delete, / search, p parent,
    c child, escape back; the selected run's tree is under its details."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("history")
    CSS_PATH = "history_screen.tcss"

    def __init__(self, open_store: Callable[[], HistoryStore]) -> None:
        super().__init__()
        self._open_store = open_store
        self._runs: dict[int, RunSummary] = {}
        self._search_timer: Timer | None = None
        self._busy = False  # a run is being read whole (one choice at a time)
        self._tree: tuple[int, list[str], list[int]] | None = None  # (run, its tree's lines, its children)

    def compose(self) -> ComposeResult:
        with Vertical(id="history"):
            with Horizontal(id="history-top"):
                yield Static(Content("History"), id="history-title")
                yield FoldedInput(placeholder="Search prompts and candidates… (/)", compact=True, id="history-search",
                                  what="the search", max_length=TEXT_INPUT_MAX_CHARS)
            yield Static(id="history-count", markup=False)
            yield RunTable(cursor_type="row", zebra_stripes=True, id="history-table")
            yield Static(id="history-detail", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(RunTable)
        table.add_column("#", key="id")
        table.add_column("when", key="when")
        table.add_column("api", key="api")
        table.add_column("model", key="model")
        table.add_column("n", key="n")
        table.add_column("status", key="status")
        table.add_column("from", key="from")
        table.add_column("prompt", key="prompt")
        table.focus()
        self.query_one("#history-count", Static).update("loading…")
        self.load_runs("")

    # -- listing ------------------------------------------------------------------------

    @property
    def search_text(self) -> str:
        search = self.query_one("#history-search", FoldedInput)
        search.insert_typed()
        return search.value

    @work(thread=True, exclusive=True, group="history-list", exit_on_error=False)
    def load_runs(self, search: str) -> None:
        """Read the list (in a thread) and show it."""
        try:
            with self._open_store() as store:
                runs = store.list(limit=LIST_LIMIT, search=search or None)
        except HistoryError as err:
            self._from_thread(self._show_error, str(err))
            return
        self._from_thread(self._show_runs, search, runs, store.skipped)

    def _from_thread(self, callback: object, *args: object) -> None:
        try:
            self.app.call_from_thread(callback, *args)  # type: ignore[arg-type]
        except RuntimeError:  # the app is shutting down
            pass

    def _show_runs(self, search: str, runs: list[RunSummary], skipped: list[str] | None = None) -> None:
        if not self.is_attached or search != self.search_text:
            return  # closed, or a newer search is on its way
        table = self.query_one(RunTable)
        selected, old_row = self.selected_id, table.cursor_row
        table.clear()
        self._runs = {run.id: run for run in runs}
        for run in runs:
            table.add_row(
                Text(str(run.id), justify="right"),
                Text(f"{run.created:%Y-%m-%d %H:%M}"),
                Text(run.api or "-"),
                Text(make_inert(run.model or "-")[:32]),
                Text(str(run.n), justify="right"),
                Text(run.status.value, style=_STATUS_STYLES.get(run.status.value, "")),
                Text(f"↳ #{run.parent}" if run.parent is not None else "", style="dim"),
                Text(one_line(run.prompt_preview)[:80]) if run.prompt_preview or run.parent is None
                else Text("(the reply, continued)", style="dim"),  # chat, going on with the model's turn
                key=str(run.id),
            )
        if selected in self._runs:
            table.move_cursor(row=table.get_row_index(str(selected)))
        elif runs:  # the selected run went (deleted): stay on the same row
            table.move_cursor(row=min(old_row, len(runs) - 1))
        count = len(runs)
        if search:
            head = f"{count} run{'s' if count != 1 else ''} matching {one_line(search)!r}" if count else f"no run matches {one_line(search)!r}"
        elif count:
            head = f"{count} run{'s' if count != 1 else ''}, newest first" + (" (the newest)" if count == LIST_LIMIT else "")
        else:
            head = "No runs yet: every run is saved here when it ends."
        if skipped:
            head += f" · {len(skipped)} unreadable, not shown ({skipped[0]})"
        self.query_one("#history-count", Static).update(make_inert(head))
        self._show_detail()

    def _show_error(self, message: str) -> None:
        if self.is_attached:
            self.query_one("#history-count", Static).update(make_inert(message))
        self.notify(make_inert(message), title="History unavailable", severity="error", markup=False)

    @property
    def selected_id(self) -> int | None:
        """The id of the run under the cursor, or None when the list is empty."""
        table = self.query_one(RunTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        detail = self.query_one("#history-detail", Static)
        run = self._runs.get(self.selected_id or -1)
        if run is None:
            detail.update("")
            return
        where = f"#{run.id} · {run.created:%Y-%m-%d %H:%M:%S} · {run.url} · {run.api or '?'}"
        if run.model:
            where += f" · {run.model}"
        text = make_inert(where) + "\n" + make_inert(run.prompt_preview, tab_size=4)
        tree = self._tree
        if tree is not None and tree[0] == run.id and len(tree[1]) > 1:
            text += "\n" + "\n".join(make_inert(line, tab_size=1) for line in tree[1])
        detail.update(Content(text))
        if tree is None or tree[0] != run.id:
            self.load_tree(run.id)

    @work(thread=True, exclusive=True, group="history-tree", exit_on_error=False)
    def load_tree(self, run_id: int) -> None:
        """Read the tree the run belongs to (in a thread), then show it under the run's details."""
        try:
            with self._open_store() as store:
                lines = store.tree(store.root_of(run_id))
                children = [child.id for child in store.children(run_id)]
        except HistoryError:
            return  # the details without the tree; the list says what is wrong
        self._from_thread(self._tree_loaded, run_id, tree_lines(lines, mark=run_id), children)

    def _tree_loaded(self, run_id: int, lines: list[str], children: list[int]) -> None:
        self._tree = (run_id, lines, children)
        if self.is_attached and self.selected_id == run_id:
            self._show_detail()

    @on(Input.Changed, "#history-search")
    def _search_changed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self.load_runs(self.search_text))

    @on(Input.Submitted, "#history-search")
    def _search_submitted(self) -> None:
        self.query_one(RunTable).focus()

    def on_key(self, event: events.Key) -> None:
        # Down from the search field goes to the list.
        if event.key == "down" and self.focused is self.query_one("#history-search"):
            event.stop()
            self.query_one(RunTable).focus()

    # -- actions ------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_parent(self) -> None:
        run = self._runs.get(self.selected_id or -1)
        if run is None or run.parent is None:
            self.notify("This run was not continued or forked from another", markup=False)
            return
        self._go_to(run.parent)

    def action_child(self) -> None:
        tree = self._tree
        if tree is None or tree[0] != self.selected_id or not tree[2]:
            self.notify("No run was continued or forked from this one", markup=False)
            return
        self._go_to(tree[2][0])

    def _go_to(self, run_id: int) -> None:
        if run_id not in self._runs:
            why = "clear the search to see it" if self.search_text else "it is older than the list shows, or deleted"
            self.notify(f"Run #{run_id} is not in this list ({why})", severity="warning", markup=False)
            return
        table = self.query_one(RunTable)
        table.move_cursor(row=table.get_row_index(str(run_id)))
        table.focus()

    def action_search(self) -> None:
        self.query_one("#history-search", Input).focus()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_choose("load")

    def action_choose(self, action: Action) -> None:
        run_id = self.selected_id
        if run_id is None:
            self.notify("No run selected", severity="warning", markup=False)
            return
        if not self._busy:
            self._busy = True
            self.read_run(run_id, action)

    @work(thread=True, exclusive=True, group="history-read", exit_on_error=False)
    def read_run(self, run_id: int, action: Action) -> None:
        try:
            with self._open_store() as store:
                run = store.get(run_id)
        except HistoryError as err:
            self._from_thread(self._read_failed, str(err))
            return
        if run is None:
            self._from_thread(self._read_failed, f"run #{run_id} is no longer in the history")
            return
        self._from_thread(self._chosen, HistoryChoice(action, run))

    def _read_failed(self, message: str) -> None:
        self._busy = False
        self.notify(make_inert(message), severity="error", markup=False)
        self.load_runs(self.search_text)

    def _chosen(self, choice: HistoryChoice) -> None:
        self._busy = False
        if self.is_attached and self.app.screen is self:
            self.dismiss(choice)

    def action_delete(self) -> None:
        run_id = self.selected_id
        if run_id is None:
            self.notify("No run selected", severity="warning", markup=False)
            return
        run = self._runs[run_id]
        preview = one_line(run.prompt_preview)
        preview = preview[:HISTORY_LIST_PREVIEW_CHARS] + ("…" if len(preview) > HISTORY_LIST_PREVIEW_CHARS else "")
        question = f"Delete run #{run_id} ({run.created:%Y-%m-%d %H:%M}, n={run.n})?\n{preview}\nThis cannot be undone."

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_run(run_id)

        self.app.push_screen(ConfirmScreen(question, yes="Delete", no="Keep"), answered)

    @work(thread=True, group="history-delete", exit_on_error=False)
    def delete_run(self, run_id: int) -> None:
        try:
            with self._open_store() as store:
                deleted = store.delete(run_id)
        except HistoryError as err:
            self._from_thread(self._read_failed, str(err))
            return
        self._from_thread(self._deleted, run_id, deleted)

    def _deleted(self, run_id: int, deleted: bool) -> None:
        self.notify(f"Deleted run #{run_id}" if deleted else f"Run #{run_id} was already gone", markup=False)
        if self.is_attached:
            self.load_runs(self.search_text)


_STATUS_STYLES = {"finished": "green", "cancelled": "yellow", "failed": "red"}
