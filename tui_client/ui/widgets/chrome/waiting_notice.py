"""Shown while a non-streaming run waits for the whole answer."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label, LoadingIndicator


class WaitingNotice(Vertical):
    """A spinner and ``Waiting for 4 candidates (streaming off) · 3.2 s``."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._count = 0
        self._started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield LoadingIndicator()
        yield Label(id="waiting-text")

    def on_mount(self) -> None:
        self.display = False

    def start(self, count: int) -> None:
        self._count = count
        self._started = time.monotonic()
        self.display = True
        self.tick()

    def tick(self) -> None:
        if not self.display:
            return
        elapsed = time.monotonic() - self._started
        plural = "s" if self._count != 1 else ""
        self.query_one("#waiting-text", Label).update(
            Content(f"Waiting for {self._count} candidate{plural} · {elapsed:.1f} s\nstreaming is off · escape cancels")
        )

    def stop(self) -> None:
        self.display = False
