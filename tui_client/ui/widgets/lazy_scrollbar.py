"""A vertical scrollbar that repaints only when it would look different.

Textual repaints a scroll view's scrollbar whenever its virtual size or position
moves, i.e. on every frame of a panel that grows while streaming. Rendering a
scrollbar goes through Rich (segments, then strips) and cost about a third of a
16-panel frame. But the thumb of a long text moves by a cell only now and then:
:class:`LazyScrollBar` works out where the thumb would be drawn (in eighths of a
cell, as :class:`~textual.scrollbar.ScrollBarRender` draws it) and skips repaints
that would draw the same bar. :class:`LazyScrollbars` gives a scroll view one.

While a panel streams, its thumb shrinks by an eighth of a cell every few lines
of text, i.e. nearly every frame: 16 bars of 10 rows were half the rows a 16-panel
frame rendered. A bar set :attr:`LazyScrollBar.coarse` repaints only when its thumb
moves by whole cells; turning ``coarse`` off repaints it exactly.
"""

from __future__ import annotations

from math import ceil

from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.widget import Widget

__all__ = ["LazyScrollBar", "LazyScrollbars"]


class LazyScrollBar(ScrollBar):
    """A :class:`ScrollBar` whose plain repaints are skipped while its look is unchanged."""

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1) -> None:
        super().__init__(vertical, name, thickness=thickness)
        self._drawn: tuple[object, ...] | None = None
        self._coarse = False

    @property
    def coarse(self) -> bool:
        """Repaint only when the thumb moves by whole cells (the view streams)."""
        return self._coarse

    @coarse.setter
    def coarse(self, value: bool) -> None:
        if value != self._coarse:
            self._coarse = value
            if not value and self.is_mounted:
                self._drawn = None
                self.refresh()

    def _look(self) -> tuple[object, ...]:
        """Everything the rendered bar depends on, the thumb in eighths of a cell."""
        size = self.size.height if self.vertical else self.size.width
        window = ceil(self.window_size if self.window_size < self.window_virtual_size else 0)
        virtual = ceil(self.window_virtual_size)
        thumb: tuple[int, int] | None = None
        if window and size and virtual and size != virtual:
            eighths = len(ScrollBarRender.VERTICAL_BARS if self.vertical else ScrollBarRender.HORIZONTAL_BARS)
            thumb_size = max(1, window / (virtual / size))
            position = (size - thumb_size) * (self.position / (virtual - window))
            start = int(position * eighths)
            thumb = (start, start + ceil(thumb_size * eighths))
            if self._coarse:
                thumb = (thumb[0] // eighths, -(-thumb[1] // eighths))
        # Colours come from the parent's styles: LazyScrollbars forgets the look when they change.
        return (self.size, thumb, self.thickness, self.mouse_over, self.grabbed, self.renderer)

    def notify_style_update(self) -> None:
        self._drawn = None
        super().notify_style_update()

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> LazyScrollBar:
        if repaint and not (regions or layout or recompose) and self.is_mounted:
            look = self._look()
            if look == self._drawn:
                return self
            self._drawn = look
        else:
            self._drawn = None
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self


class LazyScrollbars:
    """Mixin, first among a scroll view's bases: its vertical scrollbar is a :class:`LazyScrollBar`.

    Same as :attr:`Widget.vertical_scrollbar` in Textual 8.2 but for the class. Not a
    :class:`Widget` itself, so that the view still inherits its base's CSS.
    """

    def notify_style_update(self: Widget) -> None:  # type: ignore[misc]
        # The bar is drawn in its parent's scrollbar colours, over its parent's background.
        bar = self._vertical_scrollbar
        if isinstance(bar, LazyScrollBar):
            bar._drawn = None
        super().notify_style_update()  # type: ignore[misc]

    @property
    def vertical_scrollbar(self: Widget) -> ScrollBar:  # type: ignore[misc]
        if self._vertical_scrollbar is None:
            bar = LazyScrollBar(vertical=True, name="vertical", thickness=self.scrollbar_size_vertical)
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar
