"""``tui-client server``: what the server says about itself, once (human text, or JSON with --json).

The same facts as the TUI's F5 panel (:mod:`tui_client.core.protocol.server_facts`): version,
models with max_model_len and LoRA adapters, and the load from ``/metrics``; a source the server
lacks is named with why. Exit 0 when the server answered, 1 when it could not be reached.
"""

from __future__ import annotations

import sys

import orjson

from tui_client.cli.streams import escape_json_for
from tui_client.core.protocol import ClientConfig, ClientError, ErrorKind, VLLMClient
from tui_client.core.protocol.server_facts import ServerFacts, ServerWatch
from tui_client.core.text.inert_text import make_inert

UNREACHABLE = (ErrorKind.CONNECT, ErrorKind.DNS, ErrorKind.TLS, ErrorKind.TIMEOUT)
"""Protocol detection failures that mean nothing answers: no facts to ask for."""


async def server_command(config: ClientConfig, *, json_output: bool = False) -> int:
    """Detect the protocol, ask the facts once, print them; the exit status."""
    async with VLLMClient(config) as client:
        try:
            await client.connect()
        except ClientError as err:
            if err.kind in UNREACHABLE:
                print(f"tui-client server: error: {make_inert(str(err))}", file=sys.stderr)
                return 1
        facts = await ServerWatch(client).refresh()
    if not facts.reachable:
        print(f"tui-client server: error: {make_inert(facts.unreachable or '')}", file=sys.stderr)
        return 1
    if json_output:
        text = orjson.dumps(facts.to_json(), option=orjson.OPT_INDENT_2).decode()
        sys.stdout.write(escape_json_for(sys.stdout, text) + "\n")
    else:
        sys.stdout.write(describe(facts))
    return 0


def describe(facts: ServerFacts) -> str:
    """The facts as aligned lines, every server string made inert."""
    lines = [("server", f"{make_inert(facts.url)} ({facts.api or 'protocol ?'})"),
             ("version", f"vLLM {make_inert(facts.version)}" if facts.version else "?")]
    if facts.models:
        width = max(len(make_inert(card.id)) for card in facts.models)
        for i, card in enumerate(facts.models):
            bits = [make_inert(card.id).ljust(width)]
            if card.adapter:
                bits.append(f"LoRA adapter of {make_inert(card.parent or '')}")
            elif card.root and card.root != card.id:
                bits.append(f"root {make_inert(card.root)}")
            if card.max_model_len:
                bits.append(f"max_model_len {card.max_model_len}")
            lines.append(("models" if i == 0 else "", "  ".join(bits)))
    metrics = facts.metrics
    if metrics is not None:
        def count(value: float | None) -> str:
            return "?" if value is None else f"{value:,.0f}"

        kv = "?" if metrics.kv_cache is None else f"{metrics.kv_cache * 100:.1f}%"
        lines.append(("load", f"{count(metrics.running)} running · {count(metrics.waiting)} waiting · KV cache {kv}"
                      + (f" · {metrics.engines} engines" if metrics.engines > 1 else "")))
        lines.append(("tokens", f"{count(metrics.prompt_tokens)} prompt · {count(metrics.generation_tokens)} generated "
                      f"· {count(metrics.preemptions)} preemptions (totals since the server started)"))
    for name, reason in facts.missing.items():
        lines.append(("missing", f"{name}: {make_inert(reason)}"))
    return "".join(f"{label:<8} {text}\n" for label, text in lines)
