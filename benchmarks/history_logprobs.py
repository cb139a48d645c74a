"""The history with a big ``--logprobs`` run: 64 candidates x 1024 tokens x 5 alternatives.

``.venv/bin/python -m benchmarks.history_logprobs`` saves such a run, the same texts without
logprobs and 200 small runs to a history in a temporary directory, then times listing it and
opening the runs, in process and through ``tui-client history``; the figures go to
``benchmarks/notes/core.md``.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

from benchmarks.streams import _WORDS
from tui_client.core.protocol import Api, GenerationRequest, RunState, SamplingParams, ServerInfo, Status
from tui_client.core.storage.history import HistoryStore
from tui_client.core.storage.paths import DATA_DIR_ENV

N, TOKENS, K = 64, 1024, 5


def big_run() -> RunState:
    """Word-like tokens, logprobs as vLLM sends them (float32 values)."""
    rng = random.Random(7)

    def value() -> float:
        return array("f", [-rng.expovariate(0.7)])[0]

    words = [" " + w for w in _WORDS]
    params = SamplingParams(n=N, temperature=1.0, max_tokens=TOKENS, logprobs=K)
    state = RunState(GenerationRequest("Once upon a time", params), ServerInfo("http://h:8000", Api.COMPLETIONS, "m"))
    for i in range(N):
        cand = state.candidate(i)
        texts = [rng.choice(words) for _ in range(TOKENS)]
        values = [value() for _ in range(TOKENS)]
        tops = [tuple(sorted(((rng.choice(words), value()) for _ in range(K)), key=lambda p: -p[1]))
                for _ in range(TOKENS)]
        state.append_text(cand, "".join(texts), 0.1)
        cand.add_tokens(texts, values, tops)
        cand.finish_reason = "length"
    state.finish(Status.FINISHED)
    return state


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite3"
        state = big_run()
        small = RunState(GenerationRequest("hi", SamplingParams(n=2)), ServerInfo("http://h", Api.COMPLETIONS, "m"))
        for i in range(2):
            small.append_text(small.candidate(i), "word " * 200, 0.1)
        small.finish(Status.FINISHED)
        with HistoryStore(path) as store:
            for _ in range(100):
                store.save(small)
            started = time.perf_counter()
            run_id = store.save(state)
            save = time.perf_counter() - started
            plain = RunState(state.request.with_params(logprobs=0), state.server)
            for cand in state.ordered():
                plain.append_text(plain.candidate(cand.index), cand.text, 0.1)
            plain.finish(Status.FINISHED)
            plain_id = store.save(plain)
            for _ in range(100):
                store.save(small)
            blob = store._db.execute("SELECT length(data) FROM run_tokens WHERE run_id = ?", (run_id,)).fetchone()[0]

        def listing() -> None:
            with HistoryStore(path) as store:
                store.list()

        def opening(which: int) -> None:
            with HistoryStore(path) as store:
                store.get(which)

        env = {**os.environ, DATA_DIR_ENV: tmp}
        cli = [sys.executable, "-m", "tui_client", "history"]
        print(f"run of {N} x {TOKENS} tokens x {K} alternatives, among 200 ordinary runs")
        print(f"blob {blob / 2**20:.2f} MB, file {path.stat().st_size / 2**20:.1f} MB, save {save * 1000:.0f} ms")
        with_tokens, text_only = timed(lambda: opening(run_id)), timed(lambda: opening(plain_id))
        print(f"list (open + 100 runs) {timed(listing) * 1000:.1f} ms; open the run {with_tokens * 1000:.0f} ms "
              f"(its text alone: {text_only * 1000:.0f} ms)")
        for args in (["list"], ["export", str(run_id), "--output", os.path.join(tmp, "run.json")]):
            wall = timed(lambda: subprocess.run(cli + args, env=env, check=True, capture_output=True), repeat=3)
            print(f"tui-client history {args[0]}: {wall * 1000:.0f} ms (process included)")


if __name__ == "__main__":
    main()
