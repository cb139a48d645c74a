"""One measurement in a fresh process: the floor (no UI) or the app (headless), on one stream.

``python -m benchmarks.measure floor|app URL '<scenario json>' OUT.json``

Floor: :meth:`VLLMClient.generate` consumed with no UI: wall and CPU time from the
request to :class:`RunEnded`.

App: :class:`TuiClientApp` headless at 200x60, run started through its action,
wall and CPU time (UI process + its stream worker process) from the action to the
screen painted with the final state. Instrumented from outside (the app is not
changed for this; what the stream worker reads is known from the run's state):

- frames: the pacer's observer hook (:meth:`FramePacer.observe`) times each draw; a frame's time is its draw plus the
  screen update (layout + compositor) that paints it, both on the UI thread;
- last byte to final frame: from the moment the response body ended (as the
  protocol layer records it, in the app's stream worker process) to the end of the
  first screen paint after which every panel in view shows the final state;
- panel wait: while streaming, the longest time a panel in view held text older than its
  candidate's (left out of frames over their allowance: :attr:`CandidatePanel.stale`),
  from the draw that left it out to the draw that showed it;
- key latency: a thread sends key events through the driver, as a terminal's input
  thread does (alternately ``x`` and ``backspace`` into the focused prompt), each
  stamped when sent; its latency is the time until a screen paint shows the prompt
  changed. One key at a time, 50-150 ms apart, while the stream is being read;
- memory: peak RSS (``ru_maxrss``) after the run minus the peak with the app started
  and idle, plus the worker's growth (its ``VmHWM`` after minus ``VmRSS`` before),
  next to the text held and the bytes received.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import inspect
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.streams import Scenario
from tui_client.core.protocol import ClientConfig, RunState, VLLMClient, apis
from tui_client.core.storage.paths import DATA_DIR_ENV

SIZE = (200, 60)
RUN_TIMEOUT = 600.0


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def digest(texts: list[str]) -> str:
    return hashlib.sha1("\0".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


class StreamProbe:
    """Counts what the protocol layer is fed and stamps the first and the last byte."""

    def __init__(self) -> None:
        self.bytes = 0
        self.reads = 0
        self.first_read: float | None = None
        self.last_byte: float | None = None
        probe = self
        for cls in (apis.GenerateAdapter, apis._OpenAIAdapter):
            feed, end = cls.feed, cls.end_of_stream

            def wrapped_feed(self, chunk, _feed=feed):
                if probe.first_read is None:
                    probe.first_read = time.perf_counter()
                probe.bytes += len(chunk)
                probe.reads += 1
                return _feed(self, chunk)

            def wrapped_end(self, _end=end):
                probe.last_byte = time.perf_counter()
                return _end(self)

            cls.feed = wrapped_feed  # type: ignore[method-assign]
            cls.end_of_stream = wrapped_end  # type: ignore[method-assign]


class GCProbe:
    """Every garbage collection (automatic or not): its generation and how long it took."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []  # (generation, started, seconds)
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], self._started, time.perf_counter() - self._started))

    def summary(self, start: float, end: float) -> dict[str, object]:
        inside = [p for p in self.pauses if start <= p[1] <= end]
        return {
            "gc_count": len(inside),
            "gc_ms": round(sum(p[2] for p in inside) * 1000, 1),
            "gc_max_ms": round(max((p[2] for p in inside), default=0.0) * 1000, 1),
            "gc_full": sum(1 for p in inside if p[0] == 2),
            "gc_ms_by_generation": [round(sum(p[2] for p in inside if p[0] == g) * 1000, 1) for g in range(3)],
            "gc_max_ms_by_generation": [round(max((p[2] for p in inside if p[0] == g), default=0) * 1000, 1)
                                        for g in range(3)],
        }


def _config(scenario: Scenario, url: str) -> ClientConfig:
    return ClientConfig(url=url, api=scenario.api, model=scenario.model)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def token_result(state: RunState) -> dict[str, object]:
    """With ``--logprobs``: each candidate's token count and cumulative logprob, and a digest
    of every token (text, logprob, alternatives), to compare the app's with the floor's."""
    if not state.request.params.logprobs:
        return {}
    cands = state.ordered()
    every = [repr((c.index, c.token_texts, c.token_logprobs, c.token_tops)) for c in cands]
    return {
        "token_counts": [len(c.token_texts) for c in cands],
        "cumulative_logprobs": [c.cumulative_logprob for c in cands],
        "token_digest": digest(every),
    }


def run_result(states: list[RunState], t0: float, t1: float, cpu: float, *, startup: float | None) -> dict[str, object]:
    """What the floor and the app both report about one run (of each server compared)."""
    state = states[0]
    failed = next((s for s in states if s.status.value != "finished"), None)
    return {
        **token_result(state),
        "wall": t1 - t0,
        "cpu": cpu,
        "status": (failed or state).status.value,
        "error": str(failed.error) if failed is not None and failed.error else None,
        "bytes_read": sum(s.bytes_received for s in states),
        "startup": startup,
        "text_chars": sum(s.total_chars for s in states),
        "digest": digest([c.text for s in states for c in s.ordered()]),
    }


def proc_status_mb(pid: int | None, field: str) -> float:
    """A memory field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``: peak) in MB; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the floor ------------------------------------------------------------------------


async def measure_floor(scenario: Scenario, urls: list[str]) -> dict[str, object]:
    """Every server's stream consumed at once (one, but when comparing), no UI."""
    probe = StreamProbe()
    gcp = GCProbe()
    request = scenario.request()
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(VLLMClient(_config(scenario, url))) for url in urls]
        for client in clients:
            await client.connect()
        base_peak = maxrss_mb()
        events = 0

        async def consume(client: VLLMClient) -> RunState:
            nonlocal events
            last = None
            async for event in client.generate(request):
                events += 1
                last = event
            assert last is not None
            return last.state

        c0, t0 = time.process_time(), time.perf_counter()
        states = await asyncio.gather(*(consume(client) for client in clients))
        t1, c1 = time.perf_counter(), time.process_time()
    return {
        **run_result(states, t0, t1, c1 - c0, startup=(probe.first_read - t0) if probe.first_read else None),
        "reads": probe.reads,
        "events": events,
        "rss_peak_mb": maxrss_mb(),
        "rss_growth_mb": maxrss_mb() - base_peak,
        **gcp.summary(t0, t1),
    }


# -- the app --------------------------------------------------------------------------


class AppProbe:
    """Frame, paint and key-latency instrumentation wrapped around a running app."""

    def __init__(self, app) -> None:
        from textual.screen import Screen

        self.app = app
        self.draws: list[tuple[float, float]] = []
        self.paints: list[tuple[float, float]] = []
        self.ended_view: float | None = None
        self.final_paint: float | None = None
        self.final_paint_cpu = 0.0
        self.final_painted = asyncio.Event()
        self.key_latencies: list[float] = []
        self.key_sent: list[float] = []  # when each key of key_latencies was sent
        self.key_timeouts = 0
        self._pending: tuple[int, float, bool] | None = None  # (prompt length expected, sent at, counted)
        self._key_done = threading.Event()
        self._lock = threading.Lock()
        self.stop_keys = threading.Event()
        self.streaming = False

        probe = self
        original_update = Screen._on_timer_update
        original_refresh = Screen._compositor_refresh

        def on_timer_update(screen):
            started = time.perf_counter()
            original_update(screen)
            probe.paints.append((started, time.perf_counter()))

        def compositor_refresh(screen):
            original_refresh(screen)
            probe._painted()

        Screen._on_timer_update = on_timer_update  # type: ignore[method-assign]
        Screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]

        self.panel_wait = 0.0  # the longest a panel in view waited for its text (see the module's doc)
        self._stale_since: dict[int, float] = {}
        self.after_paint_spans: list[tuple[float, float]] = []
        app.pacer.observe(self)  # every draw, and the pacer's own work after a paint (its GC pass)

    def drawn(self, started: float, ended: float) -> None:
        """The pacer's observer hook: a draw's span (and which panels it left out)."""
        self.draws.append((started, ended))
        if self.streaming and self.ended_view is None:
            since = self._stale_since
            for panel in self.app.main.grid.panels:
                if panel.stale:
                    since.setdefault(panel.index, ended)
                elif panel.index in since:
                    self.panel_wait = max(self.panel_wait, ended - since.pop(panel.index))

    def after_paint(self, started: float, ended: float) -> None:
        """The pacer's observer hook: its own work once a frame is painted."""
        self.after_paint_spans.append((started, ended))

    def _painted(self) -> None:
        now = time.perf_counter()
        # Final: the run ended and every panel in view shows it (a frame draws a few
        # panels at a time when they are slow to draw; the rest follow in the next ones).
        if self.ended_view is None and self.streaming:
            state, main = self.app.run_state, self.app.main
            if state is not None and state.status.done and not main.running:
                # The main screen drew the run's end (it turns ``running`` off as it does).
                self.ended_view = now
        if self.ended_view is not None and self.final_paint is None and not self.app.main.grid.pending:
            self.final_paint = now
            self.final_paint_cpu = time.process_time()
            self.final_painted.set()
        pending = self._pending
        if pending is not None:
            target, sent, counted = pending
            if len(self.app.main.prompt.text) == target:
                with self._lock:
                    self._pending = None
                if counted:
                    self.key_latencies.append(now - sent)
                    self.key_sent.append(sent)
                self._key_done.set()

    def key_thread(self, prompt_len: int, seed: int = 1) -> None:
        """Send one key at a time while the stream is read; wait for each to show."""
        from textual import events

        rng = random.Random(seed)
        driver = self.app._driver
        typed = False
        # Stop only with the prompt as it was (an "x" left over would change the next request).
        while not self.stop_keys.wait(rng.uniform(0.05, 0.15)) or typed:
            if not self.streaming and not typed:
                continue
            key = events.Key("backspace", None) if typed else events.Key("x", "x")
            key.set_sender(self.app)
            target = prompt_len if typed else prompt_len + 1
            self._key_done.clear()
            with self._lock:
                self._pending = (target, time.perf_counter(), self.streaming)
            driver.send_message(key)
            if not self._key_done.wait(3.0):
                self.key_timeouts += 1
                with self._lock:
                    self._pending = None
                return  # the prompt is in an unknown state: stop probing
            typed = not typed

    def frame_parts(self, start: float, end: float) -> dict[str, float | None]:
        """Median draw, paint and post-paint (GC pass) times of the frames in [start, end], in ms."""
        draws = [d1 - d0 for d0, d1 in self.draws if start <= d0 <= end]
        paints = [p1 - p0 for p0, p1 in self.paints if start <= p0 <= end]
        after = [a1 - a0 for a0, a1 in self.after_paint_spans if start <= a0 <= end]
        return {"draw_p50_ms": _ms(_pct(draws, 0.5)), "paint_p50_ms": _ms(_pct(paints, 0.5)),
                "paint_p95_ms": _ms(_pct(paints, 0.95)), "gc_pass_p50_ms": _ms(_pct(after, 0.5))}

    def frame_times(self, start: float, end: float) -> list[float]:
        """Each frame in [start, end]: the pacer's draw + the screen update that painted it
        (+ the pacer's own work once it is painted, if any). Draws painted by the same
        screen update are one frame (the screen showed them at once), their draw times
        added. Garbage collection is reported apart."""
        frames: dict[int, float] = {}  # by the index of the paint that showed them
        paints, after = self.paints, self.after_paint_spans
        k = j = 0
        for d0, d1 in self.draws:
            if d0 < start or d0 > end:
                continue
            while k < len(paints) and paints[k][0] < d1:
                k += 1
            if k in frames:
                frames[k] += d1 - d0
                continue
            paint = (paints[k][1] - paints[k][0]) if k < len(paints) else 0.0
            while j < len(after) and after[j][0] < d1:
                j += 1
            tail = 0.0
            if j < len(after) and (k + 1 >= len(paints) or after[j][0] < paints[k + 1][0]):
                tail = after[j][1] - after[j][0]
            frames[k] = (d1 - d0) + paint + tail
        return list(frames.values())


async def measure_app(scenario: Scenario, urls: list[str], *, keys: bool = True) -> dict[str, object]:
    from tui_client.core.protocol.compare import ServerTarget
    from tui_client.ui.app import TuiClientApp
    from tui_client.ui.widgets.candidates.grid import CandidateGrid

    gcp = GCProbe()
    request = scenario.request()
    others = [ServerTarget(chr(ord("B") + k), url) for k, url in enumerate(urls[1:])]  # comparing: B, C, …
    app = TuiClientApp(_config(scenario, urls[0]), request, compare=others)
    probe = AppProbe(app)
    result: dict[str, object] = {}
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        assert app.server_info is not None, "the app did not connect"
        if request.params.logprobs:
            result["probability_view"] = await probability_view(app, pilot)
        prompt_len = len(app.main.prompt.text)
        # Key latency with the app idle, for reference.
        idle_thread = threading.Thread(target=probe.key_thread, args=(prompt_len, 2), daemon=True)
        probe.streaming = True
        idle_thread.start()
        await asyncio.sleep(1.0)
        probe.stop_keys.set()
        await asyncio.to_thread(idle_thread.join)
        idle_keys = list(probe.key_latencies)
        probe.key_latencies.clear()
        probe.key_sent.clear()
        probe.stop_keys.clear()
        probe.streaming = False
        await pilot.pause()
        prompt_len = len(app.main.prompt.text)

        base_peak, base_rss = maxrss_mb(), rss_mb()
        worker = app.session.stream_worker.pid if app.session.stream_worker is not None else None
        worker_rss0 = proc_status_mb(worker, "VmRSS")
        thread = threading.Thread(target=probe.key_thread, args=(prompt_len,), daemon=True)
        if keys:
            thread.start()
        probe.draws.clear()
        probe.panel_wait = 0.0
        probe._stale_since.clear()
        probe.paints.clear()
        probe.after_paint_spans.clear()
        w0 = process_cpu(worker)
        c0, t0 = time.process_time(), time.perf_counter()
        probe.streaming = True
        app.main.action_run()
        await asyncio.wait_for(probe.final_painted.wait(), RUN_TIMEOUT)
        t1, c1 = probe.final_paint, probe.final_paint_cpu
        w1 = process_cpu(worker)
        assert t1 is not None
        probe.streaming = False
        probe.stop_keys.set()
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        if keys:
            await asyncio.to_thread(thread.join, 5)
        state = app.run_state
        assert state is not None
        compare = app.session.compare
        states = [group.state for group in compare.groups] if compare is not None else [state]
        def expected_text(index: int) -> str:
            """Panel ``index``'s candidate's text (comparing: panel ``g * n + i`` is server g's i)."""
            group, i = divmod(index, request.params.n) if compare is not None else (0, index)
            cand = states[group].candidates.get(i)
            return cand.text if cand is not None else ""

        panels = app.query_one(CandidateGrid).panels
        shown_ok = all(p.raw_text == expected_text(p.index) for p in panels)
        # The stream is read where the app reads it (its worker process): the state says
        # when the response body ended, on the monotonic clock (perf_counter's, on Linux).
        ends = [s.started + s.body_ended_at for s in states if s.body_ended_at is not None]
        last_byte = max(ends) if len(ends) == len(states) else None  # comparing: the last server's last byte
        first_text = state.started + state.first_text_at if state.first_text_at is not None else None
        frames = probe.frame_times(t0, t1)
        stream_end = last_byte or t1
        worker_peak = proc_status_mb(worker, "VmHWM")
        ui_growth = maxrss_mb() - base_peak
        worker_growth = max(0.0, worker_peak - worker_rss0) if worker else 0.0
        result = {
            **result,
            **run_result(states, t0, t1, (c1 - c0) + (w1 - w0), startup=(first_text - t0) if first_text else None),
            "ui_cpu": c1 - c0,
            "worker_cpu": w1 - w0,
            "stream_worker": worker is not None,
            "panels_match_state": shown_ok,
            "frames": len(frames),
            "frame_ms": [round(f * 1000, 2) for f in frames],
            "frame_p50_ms": _ms(_pct(frames, 0.5)),
            "frame_p95_ms": _ms(_pct(frames, 0.95)),
            "frame_max_ms": _ms(max(frames) if frames else None),
            **probe.frame_parts(t0, t1),
            "paints": len(probe.paints),
            "last_byte_to_final_ms": _ms(probe.final_paint - last_byte) if (probe.final_paint and last_byte) else None,
            "panel_wait_max_ms": _ms(probe.panel_wait),
            "keys": len(probe.key_latencies),
            "key_timeouts": probe.key_timeouts,
            "key_ms": [round(k * 1000, 2) for k in probe.key_latencies],
            "key_p50_ms": _ms(_pct(probe.key_latencies, 0.5)),
            "key_p95_ms": _ms(_pct(probe.key_latencies, 0.95)),
            "key_idle_p50_ms": _ms(_pct(idle_keys, 0.5)),
            # When things happened, in ms from the run action (to see which frame a slow key met).
            "timeline": {
                "draws": [[_ms(a - t0), _ms(b - a)] for a, b in probe.draws if t0 <= a <= t1],
                "paints": [[_ms(a - t0), _ms(b - a)] for a, b in probe.paints if t0 <= a <= t1],
                "keys": [[_ms(a - t0), _ms(k)] for a, k in zip(probe.key_sent, probe.key_latencies)],
                "last_byte": _ms(last_byte - t0) if last_byte else None,
            },
            "stream_seconds": (stream_end - (first_text or t0)),
            "rss_base_mb": base_rss,
            "rss_peak_mb": maxrss_mb(),
            "rss_growth_mb": ui_growth + worker_growth,
            "ui_rss_growth_mb": ui_growth,
            "worker_rss_base_mb": worker_rss0,
            "worker_rss_peak_mb": worker_peak,
            "worker_rss_growth_mb": worker_growth,
            "rss_after_mb": rss_mb(),
            **gcp.summary(t0, t1),
        }
        after = gcp.summary(t1, time.perf_counter())
        result["gc_after_run_ms"] = after["gc_ms"]
        result["gc_after_run_max_ms"] = after["gc_max_ms"]
        gc.collect()
        result["rss_after_gc_mb"] = rss_mb()
    return result


async def probability_view(app, pilot) -> bool:
    """Turn the probability view on (``MainScreen.action_probabilities``), if the app has it;
    the keys still go to the prompt."""
    action = getattr(app.main, "action_probabilities", None)
    if action is None:
        return False
    outcome = action()
    if inspect.isawaitable(outcome):
        await outcome
    await pilot.pause()
    if app.focused is not app.main.prompt:
        app.main.prompt.focus()
        await pilot.pause()
    return True


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def main() -> None:
    mode, url, scenario_json, out = sys.argv[1:5]
    urls = url.split(",")  # more than one: the servers compared
    scenario = Scenario.from_json(json.loads(scenario_json))
    if mode == "floor":
        result = asyncio.run(measure_floor(scenario, urls))
    elif mode == "app":
        # The app saves each run to the history: to a throwaway one, not the user's.
        with tempfile.TemporaryDirectory(prefix="bench-data-") as data:
            os.environ[DATA_DIR_ENV] = data
            result = asyncio.run(measure_app(scenario, urls))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
