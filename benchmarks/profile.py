"""Profile one measurement with py-spy (``pip install py-spy`` into the venv first).

``python -m benchmarks.profile legacy-n16-t4096 [app|floor] [--top 40] [--subprocesses]``

Starts the scenario's stream server, runs :mod:`benchmarks.measure` under
``py-spy record --format raw`` (collapsed stacks, saved to
``benchmarks/results/profile-<scenario>-<mode>.txt``) and prints the functions with
the most samples, by own time and by total time (including callees). With
``--subprocesses`` the app's stream worker process is sampled too (its share is printed first).
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.run import HERE, PYTHON, Server
from benchmarks.streams import Scenario, compared, paced, recordings, synthetic, with_logprobs


def find(name: str) -> Scenario:
    for s in recordings() + paced() + synthetic() + with_logprobs() + compared():
        if s.name == name:
            return s
    raise SystemExit(f"no scenario {name!r}")


def summarize(raw: Path, top: int) -> None:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    processes: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        if frames[0].startswith("process "):  # --subprocesses: the processes (parent first) are the root frames
            ps = [f for f in frames[:4] if f.startswith("process ")]
            processes[ps[-1].partition(":")[2][:100]] += n
            frames = frames[len(ps):] or ps[-1:]
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{samples} samples")
    for process, n in processes.most_common():
        print(f"{100 * n / samples:5.1f}%  {process}")
    for title, counter in (("own", own), ("total", total)):
        print(f"\n-- by {title} time --")
        for frame, n in counter.most_common(top):
            print(f"{100 * n / samples:5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("mode", nargs="?", default="app", choices=["app", "floor"])
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--subprocesses", action="store_true", help="also sample the app's stream worker process")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    scenario = find(args.scenario)
    servers = [Server(scenario) for _ in range(scenario.servers)]
    raw = HERE / "results" / f"profile-{scenario.name.replace(':', '_')}-{args.mode}.txt"
    raw.parent.mkdir(exist_ok=True)
    try:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run([spy, "record", "--format", "raw", "-r", str(args.rate), "-o", str(raw),
                            *(["--subprocesses"] if args.subprocesses else []), "--",
                            PYTHON, "-m", "benchmarks.measure", args.mode, ",".join(s.url for s in servers),
                            json.dumps(scenario.to_json()), out.name], cwd=HERE.parent, check=True)
            result = json.loads(Path(out.name).read_text())
    finally:
        for server in servers:
            server.close()
    for key in ("frame_ms", "key_ms"):
        result.pop(key, None)
    print(json.dumps(result), file=sys.stderr)
    summarize(raw, args.top)


if __name__ == "__main__":
    main()
