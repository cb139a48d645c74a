"""A panel's rows are framed by its own SideBorderCache (ui/textual_compat.py): every line it
draws must equal what Textual's own StylesCache draws for the same panel, in every look a
panel takes (live, finished, focused, shaded, marked, with the inspector's cursor, other
themes and sizes) and for any crop the compositor asks for."""

from __future__ import annotations

from pilot import make_app, panels, wait_drawn, wait_idle
from textual._styles_cache import StylesCache
from textual.geometry import Region

from tui_client.ui.textual_compat import SideBorderCache, SideBorders
from tui_client.ui.widgets.candidates.panel import CandidatePanel


def textuals_lines(panel: CandidatePanel, crop: Region) -> list[object]:
    """The lines as Textual's StylesCache draws them (a new one: nothing cached)."""
    panel._lines_thumb, panel._lines_top = panel._thumb(), panel.scroll_offset.y
    try:
        return list(StylesCache().render_widget(panel, crop))
    finally:
        panel._lines_thumb = panel._lines_top = None


def check(panel: CandidatePanel) -> int:
    """Every line of ``panel`` and some crops of it as Textual draws them; returns the lines checked."""
    assert isinstance(panel._styles_cache, SideBorderCache)
    width, height = panel.size
    crops = [Region(0, 0, width, height), Region(3, 1, max(1, width - 5), max(1, height - 2)),
             Region(0, height - 1, width, 1), Region(width // 2, 0, width - width // 2, 2)]
    checked = 0
    for crop in crops:
        ours = panel.render_lines(crop)
        assert [line.text for line in ours] == [line.text for line in textuals_lines(panel, crop)], crop
        assert ours == textuals_lines(panel, crop), f"panel {panel.index}, crop {crop}: styles differ"
        checked += len(ours)
    return checked


async def test_every_look_of_a_panel_draws_as_textual_would(demo_url: str) -> None:
    app = make_app(demo_url, n=3, max_tokens=160, logprobs=2)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        await pilot.pause(0.05)
        checked = sum(check(panel) for panel in panels(app))  # live (or waiting)
        await wait_idle(app, pilot)
        checked += sum(check(panel) for panel in panels(app))  # finished
        assert panels(app)[0]._styles_cache._sides is not None, "the panels' styles took Textual's own path"

        await pilot.press("ctrl+o")  # panel 0 focused: a tinted background
        await pilot.pause()
        assert app.focused is panels(app)[0]
        checked += check(panels(app)[0])
        for keys in (("p",), ("d",), ("i", "right", "right"), ("escape", "t")):  # shading, marks, cursor, tails
            await pilot.press(*keys)
            await wait_drawn(app, pilot)
            checked += sum(check(panel) for panel in panels(app))

        for theme in ("textual-light", "ansi-dark", "nord"):
            app.theme = theme
            await pilot.pause()
            await wait_drawn(app, pilot)
            checked += sum(check(panel) for panel in panels(app))

        await pilot.resize_terminal(70, 24)  # narrow: one column, the grid scrolls
        await pilot.pause()
        await wait_drawn(app, pilot)
        checked += sum(check(panel) for panel in panels(app) if panel.size.area)
        assert checked > 500


def test_styles_it_cannot_frame_are_left_to_textual() -> None:
    """An outline, a tint, padding above the text or a side without a border: None (Textual
    draws those); the same styles again give the same borders, a new background new ones."""
    from textual.color import Color
    from textual.css.styles import Styles
    from textual.geometry import Size

    def sides(last: SideBorders | None = None, background: Color = Color(9, 9, 9), **rules: object) -> SideBorders | None:
        styles = Styles()
        styles.border = ("round", Color(0, 0, 255))
        for name, value in rules.items():
            setattr(styles, name, value)
        return SideBorders.of(styles, Size(20, 6), Size(17, 4), styles.padding, Color(0, 0, 0), background, 1.0, last)

    assert sides(outline=("solid", Color(255, 0, 0))) is None
    assert sides(tint=Color(255, 0, 0, 0.3)) is None
    assert sides(padding=(1, 0, 0, 1)) is None
    assert sides(border_left=("none", Color(0, 0, 0))) is None
    assert sides(text_opacity=0.5) is None
    kept = sides(padding=(0, 0, 0, 1))
    assert kept is not None and sides(kept, padding=(0, 0, 0, 1)) is kept
    assert sides(kept, Color(200, 9, 9), padding=(0, 0, 0, 1)) not in (None, kept)
