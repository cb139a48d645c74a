"""The one-line inputs under load (faults 20 and 21): a key typed in a sampling field or the
history search repaints the field, not the screen's layout; a long paste that arrives as keys,
its tabs moving focus into the inputs, costs an edit per burst and is cut at the field's cap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pilot import SIZE, make_app, run_to_end, wait_idle
from textual import events
from textual.screen import Screen
from textual.widget import Widget

from tui_client.ui.rendering.tuning import SHORT_INPUT_MAX_CHARS, TEXT_INPUT_MAX_CHARS
from tui_client.ui.widgets.controls.folded_input import FoldedInput
from tui_client.ui.widgets.controls.prompt_area import PromptArea


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


def key(char: str) -> events.Key:
    name = {" ": "space", "\t": "tab"}.get(char, char)
    return events.Key(name, char)


async def test_a_long_paste_as_keys_with_tabs_costs_an_edit_per_burst_and_is_cut(unused_url: str,
                                                                                 work: Work) -> None:
    app = make_app(unused_url, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        stop = app.query_one("#field-stop", FoldedInput)
        logprobs = app.query_one("#field-logprobs", FoldedInput)
        stop.focus()
        await pilot.pause()
        work.edits = work.chars = 0
        # 40,000 keys into the stop field, a tab (focus to logprobs), 20,000 more (which field the
        # keys after the tab reach is Textual's: it forwards keys before the tab's binding runs).
        for char in "x" * 40_000 + "\t" + "7" * 20_000:
            app.post_message(key(char))
        while not (app.focused is logprobs and len(stop.value) == TEXT_INPUT_MAX_CHARS):
            await pilot.pause()
        for _ in range(5):
            await pilot.pause()
        assert stop.value.startswith("x" * 4_000) and set(logprobs.value) <= {"7"}
        assert len(logprobs.value) <= SHORT_INPUT_MAX_CHARS
        # Key by key this was 60,000 edits building ~900 million characters; now a few per burst.
        assert work.edits < 20 and work.chars < 4 * TEXT_INPUT_MAX_CHARS, (work.edits, work.chars)
        said = [n.message for n in app._notifications]
        assert any(m.startswith(f"The stop field takes at most {TEXT_INPUT_MAX_CHARS:,} characters: ") for m in said)
        # A short field's cap: a number is 64 characters at most.
        logprobs.value = ""
        for char in "7" * 20_000:
            app.post_message(key(char))
        while len(logprobs.value) < SHORT_INPUT_MAX_CHARS:
            await pilot.pause()
        await pilot.pause()
        assert logprobs.value == "7" * SHORT_INPUT_MAX_CHARS
        assert any(n.message == f"The logprobs field takes at most {SHORT_INPUT_MAX_CHARS} characters: "
                   f"{20_000 - SHORT_INPUT_MAX_CHARS:,} typed were left out" for n in app._notifications)


async def test_a_burst_refused_whole_goes_in_key_by_key_as_typing_does(unused_url: str, work: Work) -> None:
    app = make_app(unused_url, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        seed = app.query_one("#field-seed", FoldedInput)
        seed.value = ""
        seed.focus()
        await pilot.pause()
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        for char in "12ab34":  # an integer field: the letters are refused, the digits kept
            app.post_message(key(char))
        while seed.value != "1234":
            await pilot.pause()
        assert len(bells) == 1  # one bell for the burst, not one a letter
        await pilot.press("backspace", "x", "5")
        assert seed.value == "1235" and len(bells) == 2


async def test_a_long_paste_into_more_params_goes_in_as_one_edit(unused_url: str) -> None:
    app = make_app(unused_url, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        extra = app.query_one("#field-extra", PromptArea)
        extra.load_text("")
        extra.focus()
        await pilot.pause()
        for char in "min_p=0.05" + "9" * 20_000:
            app.post_message(key(char))
        while len(extra.document.text) < 20_010:
            await pilot.pause()
        assert extra.text == "min_p=0.05" + "9" * 20_000
