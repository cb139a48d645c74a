"""A one-row integer slider for choosing how many candidates (n) to generate."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import events
from textual.binding import BindingType
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui_client.core.defaults import MAX_N
from tui_client.ui.keys import bindings_for


class NSlider(Widget, can_focus=True):
    """Integer slider rendered as `n  ━━━━━━●──────────  16`.

    Styles: `n_slider.tcss`, beside this module (the slider's `DEFAULT_CSS`).
    """

    DEFAULT_CSS = Path(__file__).with_name("n_slider.tcss").read_text()

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("nslider")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "nslider--label",
        "nslider--track",
        "nslider--filled",
        "nslider--thumb",
        "nslider--value",
    }

    ALLOW_SELECT = False

    LABEL: ClassVar[str] = "n  "
    """Text left of the track (its width is part of the layout)."""

    value: reactive[int] = reactive(4, init=False)
    """The current value, always within `[minimum, maximum]`."""

    class Changed(Message):
        """Posted when the slider's value changes."""

        def __init__(self, slider: NSlider, value: int) -> None:
            super().__init__()
            self.slider: NSlider = slider
            self.value: int = value

        @property
        def control(self) -> NSlider:
            """The slider that changed (enables `@on(NSlider.Changed, "#id")`)."""
            return self.slider

    def __init__(
        self,
        value: int = 4,
        *,
        minimum: int = 1,
        maximum: int = MAX_N,
        step: int = 1,
        page: int = 8,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Create a slider; `value` is clamped into `[minimum, maximum]`."""
        if minimum >= maximum:
            raise ValueError(f"minimum ({minimum}) must be below maximum ({maximum})")
        if step < 1 or page < 1:
            raise ValueError("step and page must be positive")
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
        self.page = page
        digits = max(2, len(str(minimum)), len(str(maximum)))
        self._value_width = digits + 2
        self._dragging = False  # the pointer holds the slider (it captured the mouse)
        self.set_reactive(NSlider.value, self.validate_value(value))

    def validate_value(self, value: int) -> int:
        """Clamp `value` into `[minimum, maximum]`."""
        return max(self.minimum, min(self.maximum, value))

    def watch_value(self, value: int) -> None:
        """Announce the new value."""
        self.post_message(self.Changed(self, value))

    @property
    def track_width(self) -> int:
        """Number of cells in the track (at least 1)."""
        return max(1, self.content_size.width - len(self.LABEL) - self._value_width)

    def value_at(self, x: int) -> int:
        """Map content column `x` to a value (columns off the track clamp to its ends).

        The first track cell gives `minimum`, the last gives `maximum`, and cells in
        between are rounded to the nearest value on the `step` grid.
        """
        last = self.track_width - 1
        cell = min(max(x - len(self.LABEL), 0), last)
        span = self.maximum - self.minimum
        offset = (cell * span + last // 2) // last if last else 0
        if offset < span:
            offset = (offset + self.step // 2) // self.step * self.step
        return self.validate_value(self.minimum + offset)

    def thumb_cell(self) -> int:
        """Index of the track cell holding the thumb for the current value."""
        span = self.maximum - self.minimum
        return (
            (self.value - self.minimum) * (self.track_width - 1) + span // 2
        ) // span

    def render(self) -> Content:
        """Render label, filled track, thumb, empty track and the value."""
        style = self.get_visual_style
        thumb = self.thumb_cell()
        return Content.assemble(
            (self.LABEL, style("nslider--label")),
            ("━" * thumb, style("nslider--filled")),
            ("●", style("nslider--thumb")),
            ("─" * (self.track_width - thumb - 1), style("nslider--track")),
            (f"{self.value:>{self._value_width}}", style("nslider--value")),
        )

    def action_step(self, direction: int) -> None:
        """Move by `direction` steps."""
        self.value += direction * self.step

    def action_page(self, direction: int) -> None:
        """Move by `direction` pages."""
        self.value += direction * self.page

    def action_to_minimum(self) -> None:
        """Jump to the minimum."""
        self.value = self.minimum

    def action_to_maximum(self) -> None:
        """Jump to the maximum."""
        self.value = self.maximum

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Jump to the pressed track cell and start dragging."""
        offset = event.get_content_offset(self)
        if event.button != 1 or offset is None:
            return
        if not 0 <= offset.x - len(self.LABEL) < self.track_width:
            return
        event.stop()
        self.capture_mouse()
        self._dragging = True
        self.value = self.value_at(offset.x)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Follow the pointer while dragging."""
        if self._dragging:
            self.value = self.value_at(event.get_content_offset_capture(self).x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """Stop dragging."""
        self._dragging = False
        self.release_mouse()

    def on_mouse_release(self, event: events.MouseRelease) -> None:
        """The mouse is no longer captured (released here, or taken by another widget)."""
        self._dragging = False

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Wheel up increases the value."""
        if not self.is_disabled:
            event.stop()
            self.action_step(1)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Wheel down decreases the value."""
        if not self.is_disabled:
            event.stop()
            self.action_step(-1)
