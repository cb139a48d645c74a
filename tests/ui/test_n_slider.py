"""Tests for the NSlider widget (keyboard, mouse, clamping, rendering)."""

from __future__ import annotations

import math
from pathlib import Path, PurePath
from typing import ClassVar

import pytest
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot

from tui_client.ui.widgets.controls import n_slider
from tui_client.ui.widgets.controls.n_slider import NSlider

TCSS = Path(n_slider.__file__).with_name("n_slider.tcss")
LABEL = len(NSlider.LABEL)  # track starts at this content column
VALUE = 4  # "  16": two spaces + two digits


class SliderApp(App[None]):
    """Minimal host app that loads the slider stylesheet like the real app."""

    CSS_PATH: ClassVar[list[str | PurePath]] = [TCSS]

    def __init__(self, slider: NSlider) -> None:
        super().__init__()
        self.slider = slider
        self.changes: list[int] = []

    def compose(self) -> ComposeResult:
        yield self.slider

    @on(NSlider.Changed, "#n")
    def record(self, event: NSlider.Changed) -> None:
        assert event.slider is self.slider
        assert event.control is self.slider
        self.changes.append(event.value)


def make(
    value: int = 4, *, step: int = 1, page: int = 8, disabled: bool = False
) -> SliderApp:
    slider = NSlider(value, step=step, page=page, disabled=disabled, id="n")
    return SliderApp(slider)


def line(slider: NSlider) -> str:
    return slider.render_line(0).text


def expected_at(cell: int, track: int, lo: int = 1, hi: int = 64) -> int:
    """Reference mapping: nearest value for a track cell (half rounds up)."""
    return lo + math.floor(cell * (hi - lo) / (track - 1) + 0.5)


async def focused(pilot: Pilot[None]) -> NSlider:
    app = pilot.app
    assert isinstance(app, SliderApp)
    app.slider.focus()
    await pilot.pause()
    return app.slider


# --- keyboard -------------------------------------------------------------


async def test_arrow_and_plus_minus_keys_step_and_post_changed() -> None:
    app = make(4)
    async with app.run_test() as pilot:
        slider = await focused(pilot)
        await pilot.press("right", "plus", "right", "left", "minus")
        await pilot.pause()
        assert slider.value == 5
        assert app.changes == [5, 6, 7, 6, 5]


async def test_step_size_applies_to_keys() -> None:
    app = make(4, step=4)
    async with app.run_test() as pilot:
        slider = await focused(pilot)
        await pilot.press("right")
        assert slider.value == 8
        await pilot.press("left", "left")
        assert slider.value == 1  # 0 clamps to minimum


async def test_keys_clamp_at_both_ends_without_spurious_messages() -> None:
    app = make(63)
    async with app.run_test() as pilot:
        slider = await focused(pilot)
        await pilot.press("right", "right", "right")
        assert slider.value == 64
        slider.value = 2
        await pilot.press("left", "left", "minus")
        await pilot.pause()
        assert slider.value == 1
        assert app.changes == [64, 2, 1]


async def test_home_and_end() -> None:
    app = make(20)
    async with app.run_test() as pilot:
        slider = await focused(pilot)
        await pilot.press("end")
        assert slider.value == 64
        await pilot.press("home")
        await pilot.pause()
        assert slider.value == 1
        assert app.changes == [64, 1]


async def test_pageup_pagedown_move_by_page_and_clamp() -> None:
    app = make(4)
    async with app.run_test() as pilot:
        slider = await focused(pilot)
        await pilot.press("pageup")
        assert slider.value == 12
        await pilot.press("pagedown", "pagedown")
        assert slider.value == 1
        await pilot.press(*["pageup"] * 9)
        assert slider.value == 64


async def test_bindings_have_ids_and_show_in_footer() -> None:
    bindings = [b for b in NSlider.BINDINGS if isinstance(b, Binding)]
    assert len(bindings) == len(NSlider.BINDINGS)
    ids = {b.id for b in bindings}
    assert ids == {
        "nslider.less",
        "nslider.more",
        "nslider.page_less",
        "nslider.page_more",
        "nslider.minimum",
        "nslider.maximum",
    }
    assert all(b.show and b.description for b in bindings)
    app = make()
    async with app.run_test() as pilot:
        await focused(pilot)
        keys = {"left", "right", "minus", "plus", "pageup", "pagedown", "home", "end"}
        assert keys <= set(app.active_bindings)


async def test_disabled_ignores_keys_clicks_and_wheel() -> None:
    app = make(10, disabled=True)
    async with app.run_test() as pilot:
        slider = await focused(pilot)
        assert not slider.has_focus
        await pilot.press("right", "end", "pageup")
        await pilot.click("#n", offset=(LABEL, 0))
        slider.post_message(scroll(events.MouseScrollUp, slider))
        await pilot.pause()
        assert slider.value == 10
        assert app.changes == []


async def test_disabling_a_focused_slider_stops_key_handling() -> None:
    app = make(10)
    async with app.run_test() as pilot:
        slider = await focused(pilot)
        slider.disabled = True
        await pilot.pause()
        await pilot.press("right")
        assert slider.value == 10


# --- programmatic value ---------------------------------------------------


async def test_programmatic_value_clamps_and_posts_changed() -> None:
    app = make(4)
    async with app.run_test() as pilot:
        slider = app.slider
        slider.value = 100
        assert slider.value == 64
        slider.value = -3
        assert slider.value == 1
        slider.value = 1  # unchanged: no message
        await pilot.pause()
        assert app.changes == [64, 1]


@pytest.mark.parametrize(("given", "stored"), [(0, 1), (99, 64), (16, 16)])
def test_constructor_clamps_initial_value(given: int, stored: int) -> None:
    assert NSlider(given).value == stored


@pytest.mark.parametrize(
    ("minimum", "maximum", "step", "page"),
    [(5, 5, 1, 8), (9, 2, 1, 8), (1, 64, 0, 8), (1, 64, 1, 0)],
)
def test_constructor_rejects_bad_ranges(
    minimum: int, maximum: int, step: int, page: int
) -> None:
    with pytest.raises(ValueError):
        NSlider(minimum=minimum, maximum=maximum, step=step, page=page)


async def test_no_changed_message_on_mount() -> None:
    app = make(16)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.changes == []


# --- mouse ----------------------------------------------------------------


@pytest.mark.parametrize("width", [16, 17, 30, 71, 80, 133])
async def test_click_left_right_middle_of_track(width: int) -> None:
    app = make(20)
    async with app.run_test(size=(width, 3)) as pilot:
        slider = app.slider
        track = width - LABEL - VALUE
        assert slider.track_width == track
        await pilot.click("#n", offset=(LABEL, 0))
        assert slider.value == 1
        await pilot.click("#n", offset=(LABEL + track - 1, 0))
        assert slider.value == 64
        middle = (track - 1) // 2
        await pilot.click("#n", offset=(LABEL + middle, 0))
        assert slider.value == expected_at(middle, track)
        assert 20 <= slider.value <= 40
        assert slider.has_focus


async def test_click_outside_track_does_not_change_value() -> None:
    app = make(20)
    async with app.run_test(size=(40, 3)) as pilot:
        await pilot.click("#n", offset=(0, 0))  # the label
        await pilot.click("#n", offset=(39, 0))  # the value digits
        assert app.slider.value == 20
        assert app.changes == []


async def test_value_at_is_exact_at_both_ends_for_every_width() -> None:
    app = make()
    async with app.run_test(size=(16, 3)) as pilot:
        slider = app.slider
        for width in [*range(16, 40), 66, 67, 70, 71, 72, 100, 127, 140]:
            await pilot.resize_terminal(width, 3)
            await pilot.pause()
            track = slider.track_width
            assert track == width - LABEL - VALUE
            values = [slider.value_at(LABEL + cell) for cell in range(track)]
            assert values[0] == 1 and values[-1] == 64
            assert values == sorted(values)
            assert values == [expected_at(cell, track) for cell in range(track)]
            assert slider.value_at(-10) == 1 and slider.value_at(10_000) == 64
            if track >= 64:  # enough cells: every value is reachable
                assert set(values) == set(range(1, 65))


async def test_value_at_snaps_to_step_but_keeps_maximum() -> None:
    app = make(step=5)
    async with app.run_test(size=(80, 3)) as pilot:
        await pilot.pause()
        slider = app.slider
        values = [slider.value_at(LABEL + cell) for cell in range(slider.track_width)]
        assert values[0] == 1 and values[-1] == 64
        assert all((v - 1) % 5 == 0 or v == 64 for v in values)
        assert 61 in values  # the last on-grid value is reachable too


async def test_drag_with_pilot_captures_follows_and_releases() -> None:
    app = make(30)
    async with app.run_test(size=(80, 3)) as pilot:
        slider = app.slider
        slider.styles.width = 40
        slider.styles.margin = (0, 0, 0, 10)
        await pilot.pause()
        track = slider.track_width
        assert track == 40 - LABEL - VALUE

        await pilot.mouse_down("#n", offset=(LABEL, 0))
        assert app.mouse_captured is slider
        assert slider.value == 1
        await pilot.hover("#n", offset=(LABEL + track // 2, 0))
        assert slider.value == expected_at(track // 2, track)
        await pilot.hover("#n", offset=(60, 0))  # far right of the widget
        assert slider.value == 64
        await pilot.hover("#n", offset=(-8, 0))  # left of the widget
        assert slider.value == 1
        await pilot.hover("#n", offset=(LABEL + track - 1, 1))  # below the widget
        assert slider.value == 64
        await pilot.mouse_up("#n", offset=(LABEL + track - 1, 0))
        assert app.mouse_captured is None

        await pilot.hover("#n", offset=(LABEL, 0))  # no longer dragging
        await pilot.pause()
        assert slider.value == 64
        assert app.changes == [1, expected_at(track // 2, track), 64, 1, 64]


async def test_mouse_move_without_press_does_not_change_value() -> None:
    app = make(30)
    async with app.run_test(size=(40, 3)) as pilot:
        slider = app.slider
        slider.post_message(
            events.MouseMove(slider, LABEL, 0, 0, 0, 0, False, False, False)
        )
        await pilot.hover("#n", offset=(LABEL, 0))
        assert slider.value == 30


def scroll(kind: type[events.MouseEvent], slider: NSlider) -> events.MouseEvent:
    return kind(slider, LABEL, 0, 0, 0, 0, False, False, False)


async def test_mouse_wheel_steps_value() -> None:
    app = make(10, step=2)
    async with app.run_test() as pilot:
        slider = app.slider
        slider.post_message(scroll(events.MouseScrollUp, slider))
        slider.post_message(scroll(events.MouseScrollUp, slider))
        await pilot.pause()
        assert slider.value == 14
        slider.post_message(scroll(events.MouseScrollDown, slider))
        await pilot.pause()
        assert slider.value == 12
        assert app.changes == [12, 14, 12]


# --- rendering ------------------------------------------------------------


async def test_rendered_line_shows_label_track_and_value() -> None:
    app = make(16)
    async with app.run_test(size=(30, 3)) as pilot:
        await pilot.pause()
        text = line(app.slider)
        assert len(text) == 30
        assert text.startswith("n  ")
        assert text.endswith("  16")
        assert text.count("●") == 1
        assert set(text[LABEL:-VALUE]) <= {"━", "●", "─"}
        app.slider.value = 7
        await pilot.pause()
        assert line(app.slider).endswith("   7")


async def test_thumb_moves_right_as_value_grows() -> None:
    app = make(1)
    async with app.run_test(size=(40, 3)) as pilot:
        slider = app.slider
        positions = []
        for value in (1, 2, 8, 16, 32, 63, 64):
            slider.value = value
            await pilot.pause()
            text = line(slider)
            positions.append(text.index("●"))
            assert text[LABEL : text.index("●")] == "━" * (positions[-1] - LABEL)
        assert positions == sorted(set(positions))
        assert positions[0] == LABEL
        assert positions[-1] == 40 - VALUE - 1


async def test_narrow_width_still_renders_a_track() -> None:
    app = make(64)
    async with app.run_test(size=(16, 3)) as pilot:
        await pilot.pause()
        assert line(app.slider) == "n  ━━━━━━━━●  64"


async def test_focus_and_disabled_change_styles() -> None:
    app = make(16)
    async with app.run_test() as pilot:
        slider = app.slider
        slider.blur()  # the only focusable widget is auto-focused
        await pilot.pause()
        assert not slider.has_focus
        blurred = slider.get_visual_style("nslider--thumb")
        slider.focus()
        await pilot.pause()
        focused_style = slider.get_visual_style("nslider--thumb")
        assert focused_style.foreground != blurred.foreground
        slider.disabled = True
        await pilot.pause()
        disabled = slider.get_visual_style("nslider--thumb")
        assert disabled.foreground not in (blurred.foreground, focused_style.foreground)
