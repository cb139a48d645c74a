"""The one-line inputs under load (faults 20 and 21): a key typed in a sampling field or the
history search repaints the field, not the screen's layout; a long paste that arrives as keys,
its tabs moving focus into the inputs, costs an edit per burst and is cut at the field's cap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pilot import SIZE, make_app, run_to_end, wait_idle
from textual.screen import Screen
from textual.widget import Widget

from tui_client.ui.widgets.controls.folded_input import FoldedInput


class Work:
    """Counts the screen's layouts, the inputs' layout refreshes and their edits (with the
    characters each edit built)."""

    def __init__(self) -> None:
        self.layouts = self.input_layouts = self.edits = self.chars = 0


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    counted = Work()
    layout, refresh, replace = Screen._refresh_layout, Widget.refresh, FoldedInput.replace

    def counted_layout(self: Screen, *args: object, **kwargs: object) -> None:
        counted.layouts += 1
        layout(self, *args, **kwargs)  # type: ignore[arg-type]

    def counted_refresh(self: Widget, *args: object, layout: bool = False, **kwargs: object) -> Widget:
        if layout and isinstance(self, FoldedInput):
            counted.input_layouts += 1
        return refresh(self, *args, layout=layout, **kwargs)  # type: ignore[arg-type]

    def counted_replace(self: FoldedInput, text: str, start: int, end: int) -> None:
        counted.edits += 1
        counted.chars += len(self.value) + len(text)
        replace(self, text, start, end)

    monkeypatch.setattr(Screen, "_refresh_layout", counted_layout)
    monkeypatch.setattr(Widget, "refresh", counted_refresh)
    monkeypatch.setattr(FoldedInput, "replace", counted_replace)
    yield counted


async def test_typing_in_a_sampling_field_lays_out_nothing_at_n16(demo_url: str, work: Work) -> None:
    app = make_app(demo_url, n=16, max_tokens=8)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        stop = app.query_one("#field-stop", FoldedInput)
        stop.focus()
        await pilot.pause()
        work.layouts = work.input_layouts = 0
        typed = "The end of the story, and then some more words"  # wider than the field
        await pilot.press(*("space" if ch == " " else ch for ch in typed))
        await pilot.pause()
        assert stop.value == typed
        # One at most: when the text first passes the field's width (Textual's hidden scrollbar
        # flag flips once); before the fix, one a key (46 here).
        assert work.layouts <= 1 and work.input_layouts <= 1, (work.layouts, work.input_layouts)
        # Still drawn and scrolled as before: the end of the text and the cursor in view.
        assert stop.scroll_x > 0 and "more words" in stop.render_line(0).text
        await pilot.press("home")
        await pilot.pause()
        assert stop.scroll_x == 0 and stop.render_line(0).text.startswith("The end")


async def test_typing_in_the_history_search_lays_out_no_input(demo_url: str, work: Work) -> None:
    app = make_app(demo_url, n=2, max_tokens=4)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await pilot.press("f2")
        await wait_idle(app, pilot)
        search = app.screen.query_one("#history-search", FoldedInput)
        search.focus()
        await pilot.pause()
        work.input_layouts = 0
        await pilot.press(*"upon")
        await wait_idle(app, pilot)
        assert search.value == "upon" and work.input_layouts == 0
