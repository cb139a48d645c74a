"""The frame pacer and its GC policy, driven by a fake app (no event loop)."""

from __future__ import annotations

import gc
from collections.abc import Callable

from tui_client.ui.rendering.gc_policy import GCPolicy
from tui_client.ui.rendering.pacer import FramePacer


class FakeApp:
    """Queues what the pacer schedules; ``run()`` runs it (refreshes happen at once)."""

    def __init__(self) -> None:
        self.queue: list[Callable[[], object]] = []
        self.timers: list[tuple[float, Callable[[], object]]] = []

    def call_later(self, callback: Callable[..., object], *args: object) -> bool:
        self.queue.append(lambda: callback(*args))
        return True

    call_after_refresh = call_later

    def set_timer(self, delay: float, callback: Callable[[], object]) -> None:
        self.timers.append((delay, callback))

    def run(self) -> None:
        while self.queue or self.timers:
            while self.queue:
                self.queue.pop(0)()
            if self.timers:
                self.timers.pop(0)[1]()


class Observer:
    def __init__(self) -> None:
        self.draws: list[tuple[float, float]] = []
        self.after: list[tuple[float, float]] = []

    def drawn(self, started: float, ended: float) -> None:
        self.draws.append((started, ended))

    def after_paint(self, started: float, ended: float) -> None:
        self.after.append((started, ended))


def test_changes_while_a_frame_is_on_its_way_make_one_more_frame() -> None:
    app, drawn = FakeApp(), []
    pacer = FramePacer(app, lambda: drawn.append(1))  # type: ignore[arg-type]
    pacer.mark_dirty()
    pacer.mark_dirty()
    app.run()
    assert len(drawn) == 1 and pacer.frames == 1
    pacer.mark_dirty()
    app.run()
    assert len(drawn) == 2 and pacer.frames == 2


def test_the_observer_sees_every_draw_and_every_post_paint_step() -> None:
    app, drawn = FakeApp(), []
    pacer = FramePacer(app, lambda: drawn.append(1))  # type: ignore[arg-type]
    observer = Observer()
    pacer.observe(observer)
    pacer.flush()
    app.run()
    pacer.mark_dirty()
    app.run()
    assert len(drawn) == 2 and len(observer.draws) == 2 and len(observer.after) == 2
    assert all(a <= b for a, b in observer.draws + observer.after)


def test_gc_policy_pauses_full_collections_and_restores_them() -> None:
    if not gc.isenabled():
        return
    app = FakeApp()
    before = gc.get_threshold()
    policy = GCPolicy(app.call_later, app.set_timer)  # type: ignore[arg-type]
    try:
        policy.pause()
        assert policy.paused and gc.get_threshold()[2] == 1 << 30
        policy.after_paint()  # the first frame: its set-up is frozen
        policy.resume()
        assert not policy.paused
        assert app.timers, "the full collection waits for the final frame"
        app.run()
        assert gc.get_threshold() == before
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_resume_now_collects_at_once() -> None:
    if not gc.isenabled():
        return
    app = FakeApp()
    before = gc.get_threshold()
    policy = GCPolicy(app.call_later, app.set_timer)  # type: ignore[arg-type]
    try:
        policy.pause()
        policy.resume(now=True)
        assert not app.timers and gc.get_threshold() == before
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
