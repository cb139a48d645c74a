"""Emoji with VS16, ZWJ or a skin tone (issue #16, item 14) leave every line as wide as the screen.

rich counts ``❤️`` as 2 cells and tmux advances 1, so a line holding it came out one cell
short and the border after it moved. The width a terminal gives each line is computed here
per code point (as tmux 3.3a, xterm and VTE do: East Asian Wide or Fullwidth is 2, marks and
format characters 0, else 1), independently of rich.
"""

from __future__ import annotations

import unicodedata

from hostile_server2 import EMOJI_TOKENS, HostileServer2
from pilot import SIZE, make_app, panels, run_to_end, wait_idle
from textual.widgets import Input

from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.controls.prompt_area import PromptArea

FOLDED = "\ufe0f\u200d\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"


def terminal_cells(text: str) -> int:
    cells = 0
    for char in text:
        if unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        cells += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return cells


def screen_lines(app: TuiClientApp) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def assert_lines_fill_the_screen(app: TuiClientApp) -> None:
    lines = screen_lines(app)
    assert len(lines) == SIZE[1]
    widths = {y: terminal_cells(line) for y, line in enumerate(lines)}
    assert all(width == SIZE[0] for width in widths.values()), {y: (w, lines[y]) for y, w in widths.items() if w != SIZE[0]}


def test_the_width_measure_agrees_with_tmux() -> None:
    # Measured in tmux 3.3a: printf 'X%sX' then #{cursor_x}, minus 2.
    assert [terminal_cells(s) for s in ("☺", "❤", "🏳🌈", "👍", "1⃣", "👨👩👧", "中", "é")] == [1, 1, 3, 2, 1, 6, 2, 1]


async def test_emoji_in_the_panels_keep_the_borders_in_place() -> None:
    with HostileServer2("emoji") as server:
        app = make_app(server.url, n=2)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            await run_to_end(app, pilot)
            expected = "".join(EMOJI_TOKENS * 8)
            assert [c.text for c in app.run_state.candidates.values()] == [expected, expected]  # the text is exact
            for panel in panels(app):
                assert panel.raw_text == expected
                assert not any(char in panel.display_text for char in FOLDED)
                assert panel.display_text.startswith("I ❤ tea ☺ 🏳🌈 👍 1⃣ 👨👩👧 and more")
            assert "❤" in "".join(screen_lines(app))
            assert_lines_fill_the_screen(app)


async def test_emoji_in_the_probability_view_keep_the_borders_in_place() -> None:
    with HostileServer2("emoji") as server:
        app = make_app(server.url, n=2)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            await pilot.press("ctrl+o")
            await pilot.press("p")
            await run_to_end(app, pilot)
            assert_lines_fill_the_screen(app)


async def test_emoji_in_the_prompt_keep_its_border_in_place(unused_url: str) -> None:
    prompt_text = "I ❤️ it 🏳️‍🌈 👍🏽 1️⃣ ☺️\nand 👨‍👩‍👧 ❤️❤️❤️ the end"
    app = make_app(unused_url, prompt=prompt_text)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        prompt = app.query_one("#prompt", PromptArea)
        prompt.focus()
        prompt.move_cursor((0, 0))
        await pilot.press("end", "x")
        await pilot.pause()
        assert prompt.text == prompt_text.replace("\n", "x\n", 1)  # what is sent keeps every code point
        shown = "".join(screen_lines(app))
        assert "I ❤ it 🏳🌈 👍 1⃣ ☺x" in shown and not any(char in shown for char in FOLDED)
        assert_lines_fill_the_screen(app)
        stop = app.query_one("#field-stop", Input)
        stop.value = "❤️❤️❤️, 👍🏽"
        await pilot.pause()
        assert stop.value == "❤️❤️❤️, 👍🏽"
        assert "❤❤❤, 👍" in "".join(screen_lines(app))
        assert_lines_fill_the_screen(app)
