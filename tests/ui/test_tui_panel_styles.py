"""A panel's rows are cached as drawn strips: a change of state (border colour) keeps
them, a change of the text's look (the theme, focus) draws them again in the new style."""

from __future__ import annotations

import dataclasses

from pilot import make_app, panels, wait_idle
from rich.style import Style

from tui_client.ui.widgets.candidates.panel import CandidatePanel


def row_colours(panel: CandidatePanel) -> set[tuple[object, object]]:
    """(foreground, background) of the text cells on screen (the scrollbar column left out)."""
    colours = set()
    for y in range(panel.scrollable_content_region.height):
        for segment in list(panel.render_line(y))[:-1]:
            if segment.text.strip():
                style = segment.style or Style()
                colours.add((style.color, style.bgcolor))
    return colours


async def test_rows_follow_the_theme_and_focus(demo_url: str) -> None:
    app = make_app(demo_url, n=2, max_tokens=40)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        panel = panels(app)[1]
        base = panel.rich_style
        assert row_colours(panel) == {(base.color, base.bgcolor)}

        app.theme = "nord"
        await pilot.pause()
        await pilot.pause()
        nord = panel.rich_style
        assert nord.bgcolor != base.bgcolor
        assert row_colours(panel) == {(nord.color, nord.bgcolor)}

        panel.focus()  # a tinted background
        await pilot.pause()
        focused = panel.rich_style
        assert focused.bgcolor != nord.bgcolor
        assert row_colours(panel) == {(focused.color, focused.bgcolor)}


async def test_divergence_marks_follow_the_theme(demo_url: str) -> None:
    """Also a theme that changes only the accent (the panel's own text style stays: the
    shared text styles tell the panels)."""
    app = make_app(demo_url, n=3, max_tokens=40)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        await pilot.press("ctrl+o", "d")  # panels focused; divergence marks on
        await wait_idle(app, pilot)
        panel = next(p for p in panels(app) if p.unique_span() is not None)
        base = panel.rich_style
        before = row_colours(panel)
        assert len(before) >= 2, "marked rows have more than the text's own colours"
        red = dataclasses.replace(app.available_themes[app.theme], name="accent-red", accent="#ff0000")
        app.register_theme(red)
        app.theme = "accent-red"
        await pilot.pause()
        await pilot.pause()
        assert panel.rich_style == base
        after = row_colours(panel)
        assert len(after) >= 2 and after != before, "the highlight kept the old accent"

        app.theme = "gruvbox"
        await pilot.pause()
        await pilot.pause()
        final = row_colours(panel)
        assert len(final) >= 2 and not (final & before), "a colour of the old theme is left"


def test_a_state_class_change_goes_to_the_callers_restyle_batch() -> None:
    """Given a batch, the panel changes its class and leaves the restyle to the caller, once."""
    from tui_client.ui.widgets.candidates.panel_view import FINISHED, STREAMING

    panel = CandidatePanel(0)
    assert panel.has_class("-live")
    batch: list[CandidatePanel] = []
    panel.panel_state = STREAMING  # waiting and streaming share a class: nothing to restyle
    panel.apply_state_class(batch)
    assert batch == []
    panel.panel_state = FINISHED
    panel.apply_state_class(batch)
    panel.apply_state_class(batch)
    assert batch == [panel]
    assert panel.has_class("-finished") and not panel.has_class("-live")
