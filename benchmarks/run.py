"""Run every scenario: floor and app, each in a fresh process, against a server in another.

``.venv/bin/python -m benchmarks`` (or ``--quick``) prints a table and writes
``benchmarks/results/latest.json``; ``--markdown`` also rewrites ``benchmarks/RESULTS.md``.

For each scenario the orchestrator starts :mod:`benchmarks.server` (which builds the
stream's bytes once and serves them over loopback), then measures the floor and the
app alternately (:mod:`benchmarks.measure`), each run in its own interpreter so peak
RSS and the garbage of one run do not leak into another. Figures are medians over
the repeats (wall time picks the run; the others' details stay in the JSON).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.beams import live_beam_entry
from benchmarks.streams import Scenario, compared, paced, recordings, synthetic, with_logprobs

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
MAX_BYTES = 1_000_000_000
"""Streams larger than this are listed as skipped (legacy n=64 x 4096 is ~2.9 GB)."""

TARGETS = {"legacy-n16-t4096", "openai-n64-t1024", "openai-lp5-n64-t1024", "openai-n16-t1024 x2 servers"}
"""The scenarios the issues set targets for: measured ``--target-repeat`` times."""

PROCESS_TIMEOUT = 900


def scenarios(quick: bool) -> list[Scenario]:
    if quick:
        recs = [s for s in recordings() if s.name in ("rec:generate-stream-n16-long", "rec:completions-stream-n16-long")]
        return recs + paced() + [
            Scenario("legacy", 16, 1024), Scenario("legacy", 16, 4096),
            Scenario("openai", 16, 1024), Scenario("openai", 64, 1024), Scenario("openai", 64, 4096),
        ] + with_logprobs() + compared()[:1]
    return recordings() + paced() + synthetic() + with_logprobs() + compared()


class Server:
    """The stream server process for one scenario."""

    def __init__(self, scenario: Scenario) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.server", json.dumps(scenario.to_json())],
            cwd=HERE.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            self.close()
            raise RuntimeError(f"the stream server for {scenario.name} did not start")
        self.url = f"http://127.0.0.1:{line[1]}"
        self.payload = int(line[2])
        self.build_seconds = float(line[3])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure(mode: str, scenario: Scenario, url: str) -> dict[str, object]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out = tmp.name
    try:
        proc = subprocess.run(
            [PYTHON, "-m", "benchmarks.measure", mode, url, json.dumps(scenario.to_json()), out],
            cwd=HERE.parent, capture_output=True, text=True, timeout=PROCESS_TIMEOUT, check=False,
        )
        if proc.returncode != 0:
            return {"failed": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["exit " + str(proc.returncode)]}
        return json.loads(Path(out).read_text())
    except subprocess.TimeoutExpired:
        return {"failed": [f"timed out after {PROCESS_TIMEOUT} s"]}
    finally:
        os.unlink(out)


def percentile_95(values: list[float]) -> float:
    """The 95th percentile of ``values`` (not empty), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def median_run(runs: list[dict[str, object]]) -> dict[str, object] | None:
    good = [r for r in runs if "failed" not in r]
    if not good:
        return None
    ordered = sorted(good, key=lambda r: r["wall"])  # type: ignore[arg-type, return-value]
    return ordered[(len(ordered) - 1) // 2]


def run_scenario(scenario: Scenario, repeat: int, *, app: bool = True) -> dict[str, object]:
    entry: dict[str, object] = {"scenario": scenario.name, "spec": scenario.to_json(), "api": scenario.api.value,
                                "n": scenario.request().params.n}
    estimate = scenario.estimated_bytes()
    if estimate > MAX_BYTES:
        entry["skipped"] = (f"~{estimate / 1e9:.1f} GB of legacy lines: too big to build and replay in this "
                            f"run (the cap is {MAX_BYTES / 1e9:.0f} GB); legacy n=16 x 4096 shows the trend")
        return entry
    servers: list[Server] = []
    try:
        servers += [Server(scenario) for _ in range(scenario.servers)]
        url = ",".join(server.url for server in servers)  # more than one: the app compares them
        entry["bytes"] = sum(server.payload for server in servers)
        entry["build_seconds"] = sum(server.build_seconds for server in servers)
        floors, apps = [], []
        for _ in range(repeat):
            floors.append(measure("floor", scenario, url))
            if app:
                apps.append(measure("app", scenario, url))
    finally:
        for server in servers:
            server.close()
    entry["floor_runs"], entry["app_runs"] = floors, apps
    floor, app_run = median_run(floors), median_run(apps)
    entry["floor"], entry["app"] = floor, app_run
    problems = [r["failed"] for r in floors + apps if "failed" in r]
    keys = [k for r in apps for k in r.get("key_ms", [])]
    if keys:  # every key of every repeat: a p95 of a handful of keys says little
        entry["keys_pooled"] = len(keys)
        entry["key_p95_ms_pooled"] = percentile_95(keys)
    floor_walls = [r["wall"] for r in floors if "wall" in r]
    app_walls = [r["wall"] for r in apps if "wall" in r]
    if floor_walls:
        entry["floor_wall_median"] = statistics.median(floor_walls)
    if app_walls:
        entry["app_wall_median"] = statistics.median(app_walls)
    if floor and app_run:
        if floor.get("digest") != app_run.get("digest"):
            problems.append("the app's final texts differ from the floor's")
        problems += token_problems(scenario, floor, app_run)
        if "probability_view" in app_run:
            entry["probability_view"] = all(r.get("probability_view") for r in apps if "failed" not in r)
        if not app_run.get("panels_match_state"):
            problems.append("a panel does not show its candidate's final text")
        for r in (floor, app_run):
            if r.get("status") != "finished":
                problems.append(f"run ended {r.get('status')}: {r.get('error')}")
        entry["ratio"] = entry["app_wall_median"] / entry["floor_wall_median"]
    if problems:
        entry["problems"] = problems
    return entry


def token_problems(scenario: Scenario, floor: dict[str, object], app: dict[str, object]) -> list[str]:
    """With logprobs: the app's tokens (count, cumulative logprob, every token) are the floor's,
    and a synthetic stream's every token has its logprob."""
    if not scenario.request().params.logprobs:
        return []
    out = []
    for key, what in (("token_counts", "token counts"), ("cumulative_logprobs", "cumulative logprobs"),
                      ("token_digest", "tokens (texts, logprobs, alternatives)")):
        if floor.get(key) != app.get(key):
            out.append(f"the app's {what} differ from the floor's")
    if scenario.logprobs and floor.get("token_counts") != [scenario.tokens] * scenario.n:
        out.append(f"the floor did not read {scenario.tokens} tokens with logprobs for each candidate")
    return out


# -- the table ------------------------------------------------------------------------

COLUMNS = [
    ("scenario", "<"), ("MB", ">"), ("floor s", ">"), ("app s", ">"), ("ratio", ">"), ("app CPU s", ">"),
    ("frames", ">"), ("fps", ">"), ("frame p50/p95 ms", ">"), ("key p50/p95 ms", ">"), ("last byte->final ms", ">"),
    ("panel wait ms", ">"), ("RSS +MB", ">"), ("text MB", ">"),
]


def _f(value: object, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def row(entry: dict[str, object]) -> list[str]:
    name = str(entry["scenario"])
    if "skipped" in entry:
        return [name, "-", "skipped"] + [""] * (len(COLUMNS) - 3)
    floor, app = entry.get("floor") or {}, entry.get("app") or {}
    assert isinstance(floor, dict) and isinstance(app, dict)
    mb = _f(entry.get("bytes", 0) / 1e6, ".1f")  # type: ignore[operator]
    cells = [
        name + (" !" if entry.get("problems") else ""),
        mb,
        _f(entry.get("floor_wall_median"), ".3f"),
        _f(entry.get("app_wall_median"), ".3f"),
        _f(entry.get("ratio"), ".2f"),
        _f(app.get("cpu"), ".2f"),
        _f(app.get("frames"), "d"),
        _f(app["frames"] / app["wall"] if app.get("frames") and app.get("wall") else None, ".0f"),
        f"{_f(app.get('frame_p50_ms'), '.0f')}/{_f(app.get('frame_p95_ms'), '.0f')}",
        f"{_f(app.get('key_p50_ms'), '.0f')}/{_f(app.get('key_p95_ms'), '.0f')}" + (f" ({app['keys']})" if app.get("keys") is not None else ""),
        _f(app.get("last_byte_to_final_ms"), ".0f"),
        _f(app.get("panel_wait_max_ms"), ".0f"),
        _f(app.get("rss_growth_mb"), ".1f"),
        _f((app.get("text_chars") or floor.get("text_chars") or 0) / 1e6, ".2f"),  # type: ignore[operator]
    ]
    return cells


def table(entries: list[dict[str, object]], *, markdown: bool = False) -> str:
    rows = [[c for c, _ in COLUMNS]] + [row(e) for e in entries]
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(" --- " if a == "<" else " ---: " for _, a in COLUMNS) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    out = []
    for k, r in enumerate(rows):
        out.append("  ".join(cell.ljust(w) if a == "<" else cell.rjust(w) for cell, w, (_, a) in zip(r, widths, COLUMNS)))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def targets(entries: list[dict[str, object]]) -> list[tuple[str, bool | None, str]]:
    """The issue's targets: (what, met, measured figure)."""
    by = {e["scenario"]: e for e in entries}
    out: list[tuple[str, bool | None, str]] = []
    for name, label in (("legacy-n16-t4096", "legacy n=16 x 4096 at full speed: app total <= 1.5x floor"),
                        ("openai-n64-t1024", "OpenAI n=64 x 1024 at full speed: app total <= 1.5x floor"),
                        ("openai-lp5-n64-t1024", "OpenAI --logprobs 5 n=64 x 1024 at full speed: app total <= 1.5x floor"),
                        ("openai-n16-t1024 x2 servers", "comparing 2 servers, OpenAI n=16 x 1024 each at full speed: "
                                                        "app total <= 1.5x floor (both read at once)")):
        e = by.get(name)
        if e and "ratio" in e:
            ratio = e["ratio"]
            view = {True: "; probability view on", False: "; probability view not in this app (action_probabilities)"}.get(
                e.get("probability_view"), "")  # type: ignore[call-overload]
            out.append((label, ratio <= 1.5, f"{ratio:.2f}x ({e['app_wall_median']:.2f} s vs {e['floor_wall_median']:.2f} s)"  # type: ignore[operator, index]
                        + view))
        else:
            out.append((label, None, "not measured"))
    beams = next((e for e in entries if str(e["scenario"]).startswith("live-beam")), None)
    if beams:
        ratio = beams["ratio"]
        out.append((f"{beams['scenario']}: live beam search <= 1.3x vLLM's own", ratio <= 1.3,  # type: ignore[operator]
                    f"{ratio:.2f}x ({beams['app_wall_median']:.2f} s vs {beams['floor_wall_median']:.2f} s)"))
    measured = [e for e in entries if isinstance(e.get("app"), dict)]
    n16 = [e for e in measured if e.get("n") == 16 and (e.get("spec") or {}).get("servers", 1) == 1  # type: ignore[union-attr]
           and e["app"].get("frame_p95_ms") is not None]  # type: ignore[union-attr]
    if n16:
        worst = max(n16, key=lambda e: e["app"]["frame_p95_ms"])  # type: ignore[index]
        p95 = worst["app"]["frame_p95_ms"]  # type: ignore[index]
        # Also every frame of every n=16 run together: a run of 3 frames has its slowest as its p95.
        pooled = [f for e in n16 for r in e["app_runs"] for f in r.get("frame_ms", [])]  # type: ignore[attr-defined]
        pooled_p95 = percentile_95(pooled) if pooled else None
        out.append(("frame time p95 <= 33 ms at n=16, 200x60", p95 <= 33,
                    f"worst {p95:.0f} ms ({worst['scenario']}); " + ", ".join(
                        f"{e['scenario']} {e['app']['frame_p95_ms']:.0f}" for e in n16)  # type: ignore[index]
                    + (f"; all {len(pooled)} frames at n=16 together: p95 {pooled_p95:.0f} ms" if pooled_p95 else "")))
    keyed = [e for e in measured if e.get("key_p95_ms_pooled") is not None and (e["scenario"] in TARGETS | {
        s for s in by if "paced" in str(s)} or (e.get("spec") or {}).get("logprobs"))]  # type: ignore[union-attr]
    if keyed:
        worst = max(keyed, key=lambda e: e["key_p95_ms_pooled"])  # type: ignore[arg-type, return-value]
        p95 = worst["key_p95_ms_pooled"]
        out.append(("key-press latency p95 <= 50 ms while streaming", p95 <= 50,  # type: ignore[operator]
                    f"worst {p95:.0f} ms ({worst['scenario']}, {worst['keys_pooled']} keys); " + ", ".join(
                        f"{e['scenario']} {e['key_p95_ms_pooled']:.0f}" for e in keyed)))  # type: ignore[str-format]
    ends = [e for e in measured if e["app"].get("last_byte_to_final_ms") is not None]  # type: ignore[union-attr]
    if ends:
        worst = max(ends, key=lambda e: e["app"]["last_byte_to_final_ms"])  # type: ignore[index]
        ms = worst["app"]["last_byte_to_final_ms"]  # type: ignore[index]
        over = [e["scenario"] for e in ends if e["app"]["last_byte_to_final_ms"] > 100]  # type: ignore[index]
        out.append(("last byte to final frame <= 100 ms", ms <= 100,
                    f"worst {ms:.0f} ms ({worst['scenario']}); over 100 ms: {', '.join(over) or 'none'}"))  # type: ignore[arg-type]
    growth = memory_growth(measured)
    if growth:
        # Met when, from the shortest output to the longest, RSS grows by at most 4x the text's growth
        # plus a constant 16 MB per process (UI: Textual's caches and up to two seconds of frames'
        # garbage; stream worker: read buffers and the largest legacy line in its parsed forms),
        # whatever the length, so never in proportion to the bytes (the legacy series receive
        # 40 MB to 670 MB more).
        ok = all(g["rss_mb"] <= 4 * g["text_mb"] + 16 * g["processes"] for g in growth)
        out.append(("memory about the size of the texts held, not a multiple of the bytes received", ok, "; ".join(
            f"{g['series']} {g['from']}->{g['to']}: RSS {g['rss_mb']:+.0f} MB for text {g['text_mb']:+.1f} MB, "
            f"bytes {g['bytes_mb']:+.0f} MB" for g in growth)))
    return out


def memory_growth(measured: list[dict[str, object]]) -> list[dict[str, object]]:
    """How peak RSS grows with output length: shortest vs longest output of each (protocol, n)."""
    series: dict[tuple[str, int], list[dict[str, object]]] = {}
    for e in measured:
        spec = e["spec"]
        assert isinstance(spec, dict)
        if spec["kind"] in ("legacy", "openai"):
            kind = str(spec["kind"]) + (f" lp{spec['logprobs']}" if spec.get("logprobs") else "")
            series.setdefault((kind, int(spec["n"])), []).append(e)  # type: ignore[call-overload]
    out = []
    for (kind, n), es in sorted(series.items()):
        if len(es) < 2:
            continue
        es.sort(key=lambda e: e["spec"]["tokens"])  # type: ignore[index]
        a, b = es[0], es[-1]
        aa, ba = a["app"], b["app"]
        assert isinstance(aa, dict) and isinstance(ba, dict)
        out.append({
            "series": f"{kind} n={n}", "from": f"t{a['spec']['tokens']}", "to": f"t{b['spec']['tokens']}",  # type: ignore[index]
            "rss_mb": ba["rss_growth_mb"] - aa["rss_growth_mb"],
            "text_mb": (ba["text_chars"] - aa["text_chars"]) / 2**20,
            "bytes_mb": (b["bytes"] - a["bytes"]) / 2**20,  # type: ignore[operator]
            "processes": 2 if ba.get("stream_worker") else 1,
        })
    return out


def targets_text(entries: list[dict[str, object]], *, markdown: bool = False) -> str:
    lines = []
    for label, met, figure in targets(entries):
        mark = {True: "met", False: "NOT met", None: "?"}[met]
        lines.append(f"- {label}: **{mark}**, {figure}" if markdown else f"  {mark:8} {label}: {figure}")
    return "\n".join(lines)


def machine() -> dict[str, object]:
    import textual

    return {
        "python": platform.python_version(),
        "textual": textual.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_before": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller set (the two target scenarios and a few more), ~3 min")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario (median reported); default 1")
    parser.add_argument("--target-repeat", type=int, default=3, help="runs of the two target scenarios; default 3")
    parser.add_argument("--only", action="append", default=[], help="only scenarios whose name contains this (repeatable)")
    parser.add_argument("--floor-only", action="store_true", help="measure the floor only")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--markdown", action="store_true", help="also rewrite benchmarks/RESULTS.md with this run")
    args = parser.parse_args(argv)

    chosen = scenarios(args.quick)
    if args.only:
        chosen = [s for s in chosen if any(o in s.name for o in args.only)]
    started = time.perf_counter()
    info = machine()
    entries: list[dict[str, object]] = []
    print(f"{len(chosen)} scenarios; Python {info['python']}, Textual {info['textual']}, {info['cpus']} CPUs, "
          f"load {info['load_before'][0]:.2f}", flush=True)  # type: ignore[index]
    for k, scenario in enumerate(chosen, 1):
        repeat = max(args.repeat, args.target_repeat if scenario.name in TARGETS else 1)
        t = time.perf_counter()
        entry = run_scenario(scenario, repeat, app=not args.floor_only)
        entry["seconds"] = time.perf_counter() - t
        entries.append(entry)
        status = "skipped" if "skipped" in entry else f"ratio {_f(entry.get('ratio'), '.2f')}"
        print(f"[{k}/{len(chosen)}] {scenario.name}: {status} ({entry['seconds']:.0f} s)"
              + (f" PROBLEMS: {entry['problems']}" if entry.get("problems") else ""), flush=True)
    if not args.floor_only and (not args.only or any(o in "live-beam" for o in args.only)):
        t = time.perf_counter()
        entry = live_beam_entry(args.target_repeat)
        entry["seconds"] = time.perf_counter() - t
        entries.append(entry)
        print(f"[beams] {entry['scenario']}: ratio {_f(entry.get('ratio'), '.2f')} ({entry['seconds']:.0f} s)"
              + (f" PROBLEMS: {entry['problems']}" if entry.get("problems") else ""), flush=True)
    elapsed = time.perf_counter() - started
    doc = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": info,
        "seconds": elapsed,
        "scenarios": entries,
        "targets": [{"target": t, "met": m, "measured": f} for t, m, f in targets(entries)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1))
    print()
    print(table(entries))
    print()
    print("Targets:")
    print(targets_text(entries))
    for e in entries:
        if "skipped" in e:
            print(f"  skipped {e['scenario']}: {e['skipped']}")
        if e.get("problems"):
            print(f"  problems in {e['scenario']}: {e['problems']}")
    print(f"\n{elapsed:.0f} s in all; JSON: {args.out}")
    if args.markdown:
        write_markdown(doc, HERE / "RESULTS.md")
        print(f"Markdown: {HERE / 'RESULTS.md'}")
    return 0 if not any(e.get("problems") for e in entries) else 1


def write_markdown(doc: dict[str, object], path: Path) -> None:
    entries = doc["scenarios"]
    info = doc["machine"]
    assert isinstance(entries, list) and isinstance(info, dict)
    text = f"""# Benchmark results

Produced by `.venv/bin/python -m benchmarks{' --quick' if doc['quick'] else ''} --markdown` on {doc['when']}:
Python {info['python']}, Textual {info['textual']}, {info['cpus']} CPUs ({info['platform']}), shared
machine (load {info['load_before'][0]:.2f} at the start); the whole run took {doc['seconds']:.0f} s. Times are
medians; treat them as noisy. Column meanings: see `benchmarks/README.md`.

{table(entries, markdown=True)}

Targets:

{targets_text(entries, markdown=True)}
"""
    skipped = [e for e in entries if "skipped" in e]
    if skipped:
        text += "\nSkipped:\n\n" + "\n".join(f"- {e['scenario']}: {e['skipped']}" for e in skipped) + "\n"
    path.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
