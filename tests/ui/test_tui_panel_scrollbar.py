"""The scrollbar a candidate panel draws itself: shown when the text overflows, driven by
mouse and keys, and never a layout of the screen (Textual's own scrollbar widget laid out
the whole screen when it appeared, and cost a repaint of its own per panel)."""

from __future__ import annotations

from pilot import make_app, panels, wait_idle
from rich.style import Style
from textual.pilot import Pilot

from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.candidates.panel import CandidatePanel

SIZE = (120, 36)


def bar_rows(panel: CandidatePanel) -> list[int]:
    """The rows of the panel whose last cell (the scrollbar column) is not the text's background."""
    text_bg = panel.rich_style.bgcolor
    rows = []
    for y in range(panel.scrollable_content_region.height):
        strip = panel.render_line(y)
        assert strip.cell_length == panel.scrollable_content_region.width
        last = list(strip)[-1]
        assert last.text == " "
        if (last.style or Style()).bgcolor != text_bg:
            rows.append(y)
    return rows


async def run_long(app: TuiClientApp, pilot: Pilot) -> CandidatePanel:
    """Run to the end; the first panel, scrolled to the end of its text (a text that came
    all at once, as from this fast demo server, is shown from the top)."""
    await wait_idle(app, pilot)
    await pilot.press("ctrl+j")
    await wait_idle(app, pilot)
    panel = panels(app)[0]
    assert panel.max_scroll_y > 0, "the text should be longer than the panel"
    panel.action_follow()
    await pilot.pause()
    return panel


async def test_thumb_only_when_the_text_overflows(demo_url: str) -> None:
    app = make_app(demo_url, n=2, max_tokens=4)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        short = panels(app)[0]
        assert short.raw_text and short.max_scroll_y == 0
        assert bar_rows(short) == []

    app = make_app(demo_url, n=2, max_tokens=600)
    async with app.run_test(size=SIZE) as pilot:
        panel = await run_long(app, pilot)
        height = panel.scrollable_content_region.height
        rows = bar_rows(panel)
        # Following the end: the thumb is one block at the bottom, shorter than the panel.
        assert rows and rows[-1] == height - 1 and len(rows) < height
        assert rows == list(range(rows[0], rows[-1] + 1))
        panel.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert bar_rows(panel) == list(range(len(rows)))
        # The text's rows end before the scrollbar column.
        assert all(len(line) < panel.scrollable_content_region.width for line in panel.visible_lines())


async def test_a_growing_text_never_lays_out_the_screen(demo_url: str) -> None:
    app = make_app(demo_url, n=4, max_tokens=400)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        layouts: list[str] = []
        started = False  # showing the panels at the start of a run lays out, once
        for panel in app.main.grid.query(CandidatePanel):
            refresh = panel.refresh

            def spy(*regions, _refresh=refresh, _panel=panel, **kwargs):  # type: ignore[no-untyped-def]
                if started and kwargs.get("layout"):
                    layouts.append(_panel.id or "?")
                return _refresh(*regions, **kwargs)

            panel.refresh = spy  # type: ignore[method-assign]
        prepare = app.main.grid.prepare

        async def prepared(n: int, **kwargs: object) -> None:
            nonlocal started
            await prepare(n, **kwargs)  # type: ignore[arg-type]
            started = True

        app.main.grid.prepare = prepared  # type: ignore[method-assign]
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        assert all(p.max_scroll_y > 0 for p in panels(app)), "every text should overflow its panel"
        assert started and layouts == []


async def test_click_and_drag_on_the_scrollbar(demo_url: str) -> None:
    app = make_app(demo_url, n=2, max_tokens=600)
    async with app.run_test(size=SIZE) as pilot:
        panel = await run_long(app, pilot)
        region = panel.content_region
        bar_x = region.right - 1
        assert panel.scroll_y == panel.max_scroll_y and panel.following
        # A click on the track at the top: the thumb goes there.
        await pilot.click(offset=(bar_x, region.y))
        assert panel.scroll_y == 0 and not panel.following
        # Drag the thumb down to the bottom: back at the end, following again.
        await pilot.mouse_down(offset=(bar_x, region.y))
        await pilot.hover(offset=(bar_x, region.bottom))  # past the text, on the border: still held
        await pilot.mouse_up(offset=(bar_x, region.bottom))
        await pilot.pause()
        assert panel.scroll_y == panel.max_scroll_y and panel.following
        # Halfway down: about halfway through the text.
        await pilot.mouse_down(offset=(bar_x, region.bottom - 1))
        await pilot.hover(offset=(bar_x, region.y + region.height // 2))
        await pilot.mouse_up(offset=(bar_x, region.y + region.height // 2))
        await pilot.pause()
        assert 0.2 * panel.max_scroll_y < panel.scroll_y < 0.8 * panel.max_scroll_y
        # A click in the text is not a scrollbar click.
        before = panel.scroll_y
        await pilot.click(offset=(region.x + 2, region.y))
        assert panel.scroll_y == before


async def test_keys_scroll_a_panel_without_a_textual_scrollbar(demo_url: str) -> None:
    app = make_app(demo_url, n=2, max_tokens=600)
    async with app.run_test(size=SIZE) as pilot:
        panel = await run_long(app, pilot)
        panel.focus()
        await pilot.pause()
        end = panel.scroll_y
        await pilot.press("pageup")
        assert panel.scroll_y < end and not panel.following
        await pilot.press("home")
        assert panel.scroll_y == 0
        await pilot.press("down", "down")
        assert panel.scroll_y == 2
        await pilot.press("end")
        assert panel.scroll_y == panel.max_scroll_y and panel.following
