"""The garbage-collector policy while a run streams: no automatic full collections, short
passes after frames instead, a full one after the run.

Textual's strips cache themselves (reference cycles), so every frame leaves cyclic
garbage that only a collection frees, and an automatic full collection walks every
object of the app: long enough to freeze the screen and the keys.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from tui_client.ui.rendering.tuning import FULL_GC_INTERVAL, POST_RUN_GC_DELAY

Callback = Callable[[], object]


class GCPolicy:
    """``GCPolicy(call_later, set_timer)``: ``pause()`` as a run starts, ``after_paint()`` after
    each of its frames, ``resume()`` when it ends (the callables schedule on the event loop).

    While paused, young collections stay automatic, full ones are off, the objects alive
    when the run starts and those its first frame made are frozen (:func:`gc.freeze`:
    never walked), and every :data:`FULL_GC_INTERVAL` a pass collects what the run made
    since the last one, after a frame, then freezes the survivors too.
    """

    def __init__(self, call_later: Callable[[Callback], object],
                 set_timer: Callable[[float, Callback], object]) -> None:
        self._call_later = call_later
        self._set_timer = set_timer
        self.paused = False
        self._settled = False  # the run's first frame is painted (and frozen)
        self._resuming = False  # a run ended; its full collection is still to come
        self._thresholds = gc.get_threshold()
        self._last = 0.0

    def pause(self) -> None:
        """A run starts streaming: full collections are the policy's from now on."""
        if not self.paused and gc.isenabled():
            if not self._resuming:
                self._thresholds = gc.get_threshold()
            young, middle, _ = self._thresholds
            gc.set_threshold(young, middle, 1 << 30)  # the oldest generation: never by itself
            gc.freeze()
            self.paused = True
            self._settled = False
            self._resuming = False

    def after_paint(self) -> None:
        """A frame is on screen: freeze the run's set-up once, then collect every interval."""
        if self.paused:
            if not self._settled:
                gc.freeze()  # the run's set-up (panels, first layout and paint) is long-lived: freeze it too
                self._settled = True
                self._last = time.perf_counter()
            elif time.perf_counter() - self._last >= FULL_GC_INTERVAL:
                self._last = time.perf_counter()
                self._call_later(self._collect_run)  # after the keys that came during the frame

    def resume(self, *, now: bool = False) -> None:
        """After a run: a full collection once the final frame is on screen, then automatic
        ones as before the run (``now``: at once, e.g. when the app closes)."""
        if self.paused:
            self.paused = False
            self._resuming = True
            gc.unfreeze()
            if not now:
                # Frozen objects that died in reference cycles are only found by a full pass:
                # a moment after the final frame, not at some later keypress.
                self._set_timer(POST_RUN_GC_DELAY, self._collect_all)
        if now:
            self._collect_all()

    def _collect_run(self) -> None:
        if self.paused:
            gc.collect()  # all but the frozen: the run's own objects since the last pass
            # What survived is mostly alive for the rest of the run (texts, rows on screen):
            # frozen too, the next pass walks only what the frames made since. Cycles among
            # them that die later are freed by the full collection after the run.
            gc.freeze()

    def _collect_all(self) -> None:
        if self._resuming:  # not paused again by a new run in the meantime
            self._resuming = False
            gc.collect()
            gc.set_threshold(*self._thresholds)
