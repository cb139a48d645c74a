"""The frame pacer: draws the latest state after changes, at a rate the screen can keep up with."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from textual.app import App

from tui_client.ui.rendering.gc_policy import GCPolicy
from tui_client.ui.rendering.tuning import FRAME_INTERVAL, LOADED_IDLE_FACTOR, MIN_IDLE
from tui_client.ui.textual_compat import call_after_refresh_scheduled


class FrameObserver(Protocol):
    """Told the wall-clock span of every draw and of the pacer's own work after each paint."""

    def drawn(self, started: float, ended: float) -> None: ...

    def after_paint(self, started: float, ended: float) -> None: ...


class FramePacer:
    """Calls ``draw`` after changes, never more often than the screen can keep up with.

    After a frame is drawn and painted, the pacer stays idle for at least
    ``min_interval`` per frame in all, and for longer the busier the rest of the app
    was during the previous idle gap (its share of the CPU, ``load``): up to
    :data:`LOADED_IDLE_FACTOR` times the frame's work when reading the stream took
    all the CPU. Slow frames lower the frame rate instead of piling up, and keys stay
    responsive. The :class:`GCPolicy` runs after each paint.
    """

    def __init__(self, app: App[object], draw: Callable[[], None], *, min_interval: float = FRAME_INTERVAL) -> None:
        self._app = app
        self._draw = draw
        self._after_paint = self._painted
        self.min_interval = min_interval
        self.gc = GCPolicy(app.call_later, app.set_timer)
        """The garbage-collector policy (paused while a run streams)."""
        self._dirty = False
        self._busy = False  # a frame is scheduled, being painted, or the idle gap after it runs
        self.frames = 0
        self.last_frame_work = 0.0
        """CPU time the UI thread spent from the last frame's draw to its paint (work, not waits)."""
        self._frame_cpu = 0.0
        self._key_waiting = False
        self.load = 1.0  # share of the CPU the app used between the last two frames (0..1)
        self._gap_started = (0.0, 0.0)  # (wall, CPU) clocks when the last idle gap began

    def observe(self, observer: FrameObserver) -> None:
        """Time every draw and every post-paint step for ``observer`` (the benchmark's hook).

        The timing wraps the two callables once, here: an unobserved pacer pays nothing.
        """
        draw, after_paint = self._draw, self._after_paint

        def timed_draw() -> None:
            started = time.perf_counter()
            draw()
            observer.drawn(started, time.perf_counter())

        def timed_after_paint(*args: object) -> None:
            started = time.perf_counter()
            after_paint(*args)  # type: ignore[arg-type]
            observer.after_paint(started, time.perf_counter())

        self._draw = timed_draw
        self._after_paint = timed_after_paint  # type: ignore[assignment]

    def mark_dirty(self) -> None:
        """Something changed: a frame will come (now if idle, else after the current one)."""
        self._dirty = True
        if not self._busy:
            self._busy = True
            self._app.call_later(self._frame)

    def flush(self) -> None:
        """Draw now (a run's first or final state), whatever the schedule, as a frame of
        its own: what changes next is drawn once this is painted.

        A run's first frame lays the screen out (its panels appear), the costliest paint
        there is: the stream's first text then comes in the frame after, not on top of it.
        """
        if not self._busy:
            self._busy = True
            self._dirty = True
            self._frame(loaded=False)
            return
        # A frame is on its way (scheduled, being painted, or its idle gap): this draw
        # is painted with the next screen update, the pacer's schedule stands.
        self._dirty = False
        if self._key_waiting:
            self._app.call_after_refresh(self._draw)
        else:
            self._draw()

    def key_pressed(self) -> None:
        """Input came in: the next frame waits until the screen shows what the key did.

        That paint is small (the widget the key changed) when no frame is drawn with it;
        a frame's paint (every panel) would hold the key's effect back.
        """
        self._key_waiting = True

    def pause_gc(self) -> None:
        """A run streams: see :meth:`GCPolicy.pause`."""
        self.gc.pause()

    def resume_gc(self, *, now: bool = False) -> None:
        """A run ended (or the app closes, ``now``): see :meth:`GCPolicy.resume`."""
        self.gc.resume(now=now)

    def _frame(self, loaded: bool = True) -> None:
        if self._key_waiting:
            self._key_waiting = False
            if call_after_refresh_scheduled(self._app, self._frame, loaded):
                return
        self._dirty = False
        started = time.perf_counter()
        self._frame_cpu = time.thread_time()
        try:
            self._draw()
        finally:
            if not call_after_refresh_scheduled(self._app, self._after_paint, started, loaded):
                self._busy = False

    def _painted(self, started: float, loaded: bool = True) -> None:
        """A frame is on screen: the idle gap before the next (``loaded`` False: the
        frame rate's floor only, the gap for the stream's reading is not needed)."""
        self.frames += 1
        # The UI thread's own work for it (not the wait for the screen's refresh in between).
        self.last_frame_work = time.thread_time() - self._frame_cpu
        self.gc.after_paint()
        finished = time.perf_counter()
        work = finished - started  # draw and paint (and what ran in between)
        self._gap_started = (finished, time.process_time())
        idle = max(self.min_interval - work, work * LOADED_IDLE_FACTOR * self.load if loaded else 0.0)
        if idle < MIN_IDLE:
            # No gap (Textual's timers cannot take 0 s): after whatever is queued (keys first).
            self._app.call_later(self._idle_over)
        else:
            self._app.set_timer(idle, self._idle_over)

    def _idle_over(self) -> None:
        wall0, cpu0 = self._gap_started
        wall = time.perf_counter() - wall0
        if wall > 0:
            self.load = min(1.0, (time.process_time() - cpu0) / wall)
        if self._dirty:
            self._frame()
        else:
            self._busy = False
