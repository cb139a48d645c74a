#!/usr/bin/env python
"""Make SVG screenshots of the TUI's main states from the real app and the demo server.

    .venv/bin/python scripts/make_screenshots.py [--out screenshots]

Writes ``demo-run-n4.svg`` (160x48), ``demo-run-n8-wide.svg`` (200x60, caught
mid-stream), ``narrow-80x24.svg``, ``server-down.svg``, ``help.svg``,
``divergence-n4.svg`` (d: shared prefix dimmed, unique words highlighted),
``history.svg`` (F2 after a few runs), ``beams-n4.svg`` (a real engine's streamed beam
search on legacy /generate, replayed from ``tests/fixtures``, caught mid-search) and
``beams-live-n4.svg`` (the client's own beam search on the demo's OpenAI API, caught as a
rank is taken over), ``tokens-probabilities-n3.svg`` (p: tokens shaded by probability, with
logprobs from the demo) and ``tokens-inspector.svg`` (a real vLLM's logprobs replayed from
``tests/fixtures``: p, d and i at the point where the candidates part), ``server-panel.svg``
(F5 while 16 candidates stream from the demo: requests, KV cache, tokens/s), ``switch-model.svg``
(a chat run on one model, the model picker open on a demo serving two), ``compare.svg`` (the demo
beside a legacy /generate recording, four candidates each). ``--only STEM`` makes
one of them. Runs use a fixed seed, so the texts are the
same each time; the history lives in a temporary directory (not yours).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input, TextArea  # noqa: E402

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, SamplingParams  # noqa: E402
from tui_client.core.protocol.compare import ServerTarget  # noqa: E402
from tui_client.demo.server import DemoServer  # noqa: E402
from tui_client.ui.app import TuiClientApp  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "support"))
from replay_server import LEGACY, OPENAI, Recording, ReplayServer  # noqa: E402

PROMPT = "Once upon a time"


def free_port(preferred: int = 8000) -> int:
    """``preferred`` if nothing listens there (nicer URLs in the pictures), else any free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def shoot(
    app: TuiClientApp,
    size: tuple[int, int],
    path: Path,
    steps: Callable[[TuiClientApp, Pilot], Awaitable[None]] | None = None,
) -> None:
    async with app.run_test(size=size) as pilot:
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        for widget in [*app.query(TextArea), *app.query(Input)]:
            widget.cursor_blink = False
        if steps is not None:
            await steps(app, pilot)
        await pilot.pause()
        path.write_text(app.export_screenshot(title=path.stem))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


async def run_to_end(app: TuiClientApp, pilot: Pilot) -> None:
    await pilot.press("ctrl+j")
    await asyncio.wait_for(app.workers.wait_for_complete(), 60)


async def catch_mid_stream(app: TuiClientApp, pilot: Pilot) -> None:
    await pilot.press("ctrl+j")
    for _ in range(500):
        await asyncio.sleep(0.02)
        state = app.run_state
        if state is not None and state.candidates and min(len(c.text) for c in state.candidates.values()) > 300:
            break
    await asyncio.sleep(0.1)


async def open_help(app: TuiClientApp, pilot: Pilot) -> None:
    await pilot.press("f1")


async def show_divergence(app: TuiClientApp, pilot: Pilot) -> None:
    await run_to_end(app, pilot)
    await pilot.press("ctrl+o", "d")


async def open_history(app: TuiClientApp, pilot: Pilot) -> None:
    for prompt, n in (("The sea was", 3), ("It was a dark and stormy night;", 8), (PROMPT, 4)):
        app.main.sidebar.set_request(request(n, 48, prompt=prompt))
        await run_to_end(app, pilot)
    await pilot.press("f2")
    await asyncio.sleep(0.3)
    await asyncio.wait_for(app.workers.wait_for_complete(), 30)


async def catch_beams_mid_search(app: TuiClientApp, pilot: Pilot) -> None:
    await pilot.press("ctrl+j")
    for _ in range(500):
        await asyncio.sleep(0.02)
        state = app.run_state
        if state is not None and state.beam_step >= 30:
            break
    await asyncio.sleep(0.05)


async def catch_live_beams_overtaken(app: TuiClientApp, pilot: Pilot) -> None:
    await pilot.press("ctrl+j")
    for _ in range(1000):
        await asyncio.sleep(0.01)
        state = app.run_state
        panels = app.main.grid.panels
        if state is not None and state.beam_step >= 12 and any(p.fork_highlight is not None for p in panels):
            break


async def shade_tokens(app: TuiClientApp, pilot: Pilot) -> None:
    await run_to_end(app, pilot)
    await pilot.press("ctrl+o")
    await pilot.pause()
    await pilot.press("p")


async def inspect_where_they_part(app: TuiClientApp, pilot: Pilot) -> None:
    await shade_tokens(app, pilot)
    await pilot.press("d")
    await pilot.pause()
    await pilot.press("i")


async def chat_on(app: TuiClientApp, pilot: Pilot) -> None:
    """Two chat turns gone on from candidates, a third run streamed; then a fork shown in the tree."""
    await run_to_end(app, pilot)
    app.main.grid.panels[1].focus()
    await pilot.press("enter")
    await pilot.pause()
    app.main.prompt.load_text("And what happened next?")
    await run_to_end(app, pilot)
    app.main.grid.panels[0].focus()
    await pilot.press("enter")
    await pilot.pause()
    app.main.prompt.load_text("Tell it as a poem.")
    await run_to_end(app, pilot)
    app.main.grid.panels[2].focus()


async def history_tree(app: TuiClientApp, pilot: Pilot) -> None:
    """A run, two continuations and a fork at a token, then F2 on the fork."""
    await run_to_end(app, pilot)
    for panel, keys in ((1, ["enter"]), (0, ["enter"]), (2, ["i", "right", "right", "a", "enter"])):
        app.main.grid.panels[panel].focus()
        await pilot.press(*keys)
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
    await pilot.press("f2")
    await asyncio.sleep(0.3)
    await asyncio.wait_for(app.workers.wait_for_complete(), 30)
    await pilot.pause()


async def server_panel_mid_run(app: TuiClientApp, pilot: Pilot) -> None:
    """F5 during a run, once the sparklines hold a few seconds of it."""
    app.main.server_polling.interval = 0.5  # denser sparklines for the picture
    await pilot.press("ctrl+j")
    await asyncio.sleep(0.3)
    await pilot.press("f5")
    watch = None
    for _ in range(600):
        await asyncio.sleep(0.02)
        watch = app.main.server_polling.watch
        if watch is not None and len(watch.samples) >= 16:
            break


async def open_model_picker(app: TuiClientApp, pilot: Pilot) -> None:
    await run_to_end(app, pilot)
    app.query_one("#model-choice").focus()
    await pilot.press("enter", "down")
    await pilot.pause()


def request(n: int, max_tokens: int = 96, seed: int = 42, prompt: str = PROMPT) -> GenerationRequest:
    return GenerationRequest(prompt, SamplingParams(n=n, temperature=0.8, max_tokens=max_tokens, seed=seed))


async def main(out: Path, only: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    note = "embedded demo server"
    if only is None or only == "tokens-probabilities-n3":
        with DemoServer(port=free_port(), token_delay=0.0) as fast:
            lp = GenerationRequest("The old lighthouse keeper", SamplingParams(n=3, temperature=0.9, max_tokens=90, seed=5,
                                                                               logprobs=5))
            await shoot(TuiClientApp(ClientConfig(url=fast.url), lp, demo_url_note=note), (160, 40),
                        out / "tokens-probabilities-n3.svg", shade_tokens)
    if only is None or only == "tokens-inspector":
        rec = Recording.load(OPENAI / "completions-stream-logprobs-n2.json")
        body = rec.request["json"]
        lp = GenerationRequest(body["prompt"], SamplingParams(n=2, temperature=body["temperature"], seed=body["seed"],
                                                              max_tokens=body["max_tokens"], logprobs=body["logprobs"]))
        with ReplayServer(rec) as server:
            await shoot(TuiClientApp(ClientConfig(url=server.url), lp, demo_url_note="replay of a real vLLM"),
                        (140, 30), out / "tokens-inspector.svg", inspect_where_they_part)
    if only is None or only == "chat-conversation":
        with DemoServer(port=free_port(), token_delay=0.0) as fast:
            chat = GenerationRequest("Tell me about the sea.", SamplingParams(n=3, temperature=0.9, max_tokens=40, seed=4))
            await shoot(TuiClientApp(ClientConfig(url=fast.url, api=Api.CHAT), chat, demo_url_note=note), (160, 36),
                        out / "chat-conversation.svg", chat_on)
    if only is None or only == "history-tree":
        with DemoServer(port=free_port(), token_delay=0.0) as fast:
            lp = GenerationRequest("The old lighthouse keeper", SamplingParams(n=3, temperature=0.9, max_tokens=24, seed=8,
                                                                               logprobs=5))
            await shoot(TuiClientApp(ClientConfig(url=fast.url), lp, demo_url_note=note), (140, 30),
                        out / "history-tree.svg", history_tree)
    if only is None or only == "switch-model":
        with DemoServer(port=free_port(), token_delay=0.0, models=("Qwen/Qwen3-0.6B", "meta-llama/Llama-3.2-1B")) as two:
            chat = GenerationRequest("Tell me about the sea.", SamplingParams(n=2, temperature=0.9, max_tokens=40, seed=4))
            await shoot(TuiClientApp(ClientConfig(url=two.url, api=Api.CHAT), chat, demo_url_note=note), (120, 40),
                        out / "switch-model.svg", open_model_picker)
    if only is None or only == "beams-live-n4":
        with DemoServer(port=0, token_delay=0.15) as slow:
            live = GenerationRequest("The capital of France is", SamplingParams(n=4, temperature=0.0, max_tokens=48, beam_search=True))
            await shoot(TuiClientApp(ClientConfig(url=slow.url), live, demo_url_note=note), (160, 40),
                        out / "beams-live-n4.svg", catch_live_beams_overtaken)
    if only is None or only == "server-panel":
        with DemoServer(port=free_port(), token_delay=0.03) as paced:
            busy = GenerationRequest(PROMPT, SamplingParams(n=16, temperature=0.8, max_tokens=600, seed=42))
            await shoot(TuiClientApp(ClientConfig(url=paced.url), busy, demo_url_note=note), (120, 36),
                        out / "server-panel.svg", server_panel_mid_run)
    if only is None or only == "compare":
        with DemoServer(port=free_port(), token_delay=0.02) as new, ReplayServer(LEGACY / "generate-stream-n4.json",
                                                                             time_scale=0.5) as old:
            both = GenerationRequest("San Francisco is a", SamplingParams(n=4, temperature=0.9, max_tokens=48, seed=7))
            await shoot(TuiClientApp(ClientConfig(url=new.url), both, demo_url_note=note,
                                     compare=[ServerTarget("legacy", old.url)], label="demo"), (160, 48),
                        out / "compare.svg", run_to_end)
    if only is not None:
        return  # (the others are made together, from shared servers)
    with DemoServer(port=free_port(), token_delay=0.0) as fast, DemoServer(port=0, token_delay=0.03) as paced:
        config = ClientConfig(url=fast.url)
        await shoot(TuiClientApp(config, request(4), demo_url_note=note), (160, 48), out / "demo-run-n4.svg", run_to_end)
        await shoot(
            TuiClientApp(ClientConfig(url=paced.url), request(8, max_tokens=400), demo_url_note=note),
            (200, 60),
            out / "demo-run-n8-wide.svg",
            catch_mid_stream,
        )
        await shoot(TuiClientApp(config, request(3, 64), demo_url_note=note), (80, 24), out / "narrow-80x24.svg", run_to_end)
        await shoot(TuiClientApp(config, request(4), demo_url_note=note), (120, 44), out / "help.svg", open_help)
        await shoot(TuiClientApp(config, request(4, max_tokens=60, seed=7), demo_url_note=note), (160, 48),
                    out / "divergence-n4.svg", show_divergence)
        await shoot(TuiClientApp(config, request(4), demo_url_note=note), (120, 36), out / "history.svg", open_history)
    await shoot(TuiClientApp(ClientConfig(url=closed_url()), request(4)), (120, 36), out / "server-down.svg")
    beams = Recording.load(LEGACY / "generate-beam-stream-n4-long.json")
    body = beams.request["json"]
    beam_request = GenerationRequest(body["prompt"], SamplingParams(n=4, temperature=0.0, max_tokens=body["max_tokens"],
                                                                    beam_search=True))
    with ReplayServer(beams, time_scale=1.0) as server:
        await shoot(TuiClientApp(ClientConfig(url=server.url), beam_request, demo_url_note="replay of a real vLLM"),
                    (160, 40), out / "beams-n4.svg", catch_beams_mid_search)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="folder for the SVGs")
    parser.add_argument("--only", help="make only this screenshot (its file name without .svg): beams-live-n4, "
                                       "tokens-probabilities-n3, tokens-inspector, chat-conversation, history-tree, "
                                       "server-panel, switch-model or compare")
    args = parser.parse_args()
    out_dir = args.out.resolve()
    with tempfile.TemporaryDirectory(prefix="tui-client-shots-") as data:
        os.environ["TUI_CLIENT_DATA_DIR"] = data  # runs are saved there, not in your history
        asyncio.run(main(out_dir, args.only))
