"""Command line: ``tui-client`` (the TUI), ``tui-client generate`` (headless, like
vLLM's example client) and ``tui-client serve-demo`` (the embedded demo server)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

from . import __version__
from .protocol import (
    Api,
    ClientConfig,
    ClientError,
    ErrorKind,
    GenerationRequest,
    SamplingParams,
    api_key_from_env,
)
from .protocol.client import DEFAULT_MAX_TOTAL_CHARS, DEFAULT_TIMEOUT
from .protocol.framing import DEFAULT_MAX_LINE_BYTES

SEED_PROMPT = "San Francisco is a"  # vLLM's example client's default prompt

# Per front end: what a flag left unset means. `generate` keeps the seed client's
# choices (greedy, 16 tokens, no streaming); the TUI starts where exploring is useful.
GENERATE_DEFAULTS = {"prompt": SEED_PROMPT, "n": 1, "temperature": 0.0, "max_tokens": 16, "stream": False}
GREEDY_FALLBACK_TEMPERATURE = 0.8
TUI_DEFAULTS = {"prompt": "", "n": 4, "temperature": 0.8, "max_tokens": 128, "stream": True}

FLAG_OF_FIELD = {
    "n": "--n",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "top_k": "--top-k",
    "max_tokens": "--max-tokens",
    "seed": "--seed",
    "stop": "--stop",
    "presence_penalty": "--presence-penalty",
    "frequency_penalty": "--frequency-penalty",
    "beam_search": "--beam-search",
    "url": "--url",
}

DESCRIPTION = """\
A terminal client for vLLM: type a prompt, pick n, and watch the n candidates
stream side by side. Speaks vLLM's OpenAI-compatible API (`vllm serve`) and the
legacy demo protocol (POST /generate).

commands:
  tui-client [options]             the full-screen app (default)
  tui-client generate [options]    headless: print the candidates, like vLLM's api_client.py
  tui-client serve-demo [options]  run the embedded demo server (no GPU needed)
  tui-client COMMAND --help        options of a command
"""


class _Parser(argparse.ArgumentParser):
    """Errors in one line (no usage dump): `tui-client generate: error: --n: ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_connection_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server")
    g.add_argument("--host", default="localhost", help="server host (default: localhost)")
    g.add_argument("--port", type=int, default=8000, help="server port (default: 8000)")
    g.add_argument("--url", help="server URL, overrides --host/--port; may carry a path prefix "
                   "or an endpoint (http://h:8000/generate)")
    g.add_argument("--demo", action="store_true",
                   help="start the embedded demo server and use it (no vLLM needed)")
    g.add_argument("--api", choices=["auto", "generate", "completions", "chat"], default="auto",
                   help="protocol: auto asks /v1/models and falls back to /generate (default: auto)")
    g.add_argument("--model", help="model id (default: the first one /v1/models lists)")
    g.add_argument("--api-key", help="sent as a Bearer token (default: $VLLM_API_KEY or $OPENAI_API_KEY); never printed")
    g.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds to wait for the next byte (default: {DEFAULT_TIMEOUT:g})")
    g.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    g.add_argument("--ca-bundle", metavar="PATH", help="verify TLS with this CA bundle")
    g.add_argument("--max-line-bytes", type=int, default=DEFAULT_MAX_LINE_BYTES,
                   help="refuse a single streamed line larger than this (default: 64 MiB)")
    g.add_argument("--max-total-chars", type=int, default=DEFAULT_MAX_TOTAL_CHARS,
                   help="stop a run whose text passes this many characters, keeping it (default: 256 Mi)")


def _add_request_flags(p: argparse.ArgumentParser, defaults: dict[str, object]) -> None:
    g = p.add_argument_group("request")
    g.add_argument("--prompt", help=f"the prompt (default: {defaults['prompt']!r})")
    g.add_argument("--n", type=int, help=f"number of candidates (default: {defaults['n']})")
    g.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                   help=f"stream the candidates as they grow (default: {'on' if defaults['stream'] else 'off'})")
    g.add_argument("--temperature", type=float, help=f"(default: {defaults['temperature']}; 0 = greedy)")
    g.add_argument("--top-p", type=float, help="nucleus sampling, in (0, 1]")
    g.add_argument("--top-k", type=int, help="-1 = off, else at least 1")
    g.add_argument("--max-tokens", type=int, help=f"tokens per candidate (default: {defaults['max_tokens']})")
    g.add_argument("--seed", type=int, help="random seed, for reproducible candidates")
    g.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    g.add_argument("--presence-penalty", type=float, help="between -2 and 2")
    g.add_argument("--frequency-penalty", type=float, help="between -2 and 2")
    g.add_argument("--beam-search", action="store_true", help="beam search with width n (not with --stream)")


def build_parsers() -> dict[str, argparse.ArgumentParser]:
    fmt = argparse.RawDescriptionHelpFormatter
    tui = _Parser(prog="tui-client", description=DESCRIPTION, formatter_class=fmt)
    tui.add_argument("--version", action="version", version=f"tui-client {__version__}")
    _add_connection_flags(tui)
    _add_request_flags(tui, TUI_DEFAULTS)
    tui.add_argument("--run", action="store_true", help="start a run at once")

    gen = _Parser(
        prog="tui-client generate",
        description="Generate n candidates and print them: `Beam candidate i: '...'` lines, redrawn "
        "in place while streaming on a terminal, plain when piped; or one JSON document with --json. "
        "Exit status 0 on success, 1 when the run failed (the text received is still printed), 2 on bad flags.",
    )
    _add_connection_flags(gen)
    _add_request_flags(gen, GENERATE_DEFAULTS)
    gen.add_argument("--json", action="store_true", help="print one JSON document (also on failure)")

    demo = _Parser(
        prog="tui-client serve-demo",
        description="Serve the embedded demo server: a small Markov text generator behind vLLM's "
        "/generate, /v1/completions, /v1/chat/completions and /v1/models, for trying the app without a GPU.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    demo.add_argument("--token-delay", type=float, default=0.03, help="seconds per generation step (default: 0.03)")
    demo.add_argument("--api-key", help="require this Bearer token on /v1 routes, as `vllm serve --api-key`")
    return {"tui": tui, "generate": gen, "serve-demo": demo}


def request_from_args(args: argparse.Namespace, defaults: dict[str, object]) -> GenerationRequest:
    """The request the flags describe; raises ClientError naming the flag at fault."""

    def pick(name: str) -> object:
        value = getattr(args, name)
        return defaults.get(name) if value is None else value

    temperature = pick("temperature")
    if args.temperature is None and temperature == 0 and (args.n or 1) > 1 and not args.beam_search:
        # The example client's greedy default makes n identical candidates, and
        # vLLM 0.32 refuses it outright ("n must be 1 when using greedy sampling").
        temperature = GREEDY_FALLBACK_TEMPERATURE
        print(f"note: n > 1 needs sampling: using --temperature {temperature:g} (pass --temperature 0 to force greedy)",
              file=sys.stderr)

    params = SamplingParams(
        n=pick("n"),  # type: ignore[arg-type]
        temperature=temperature,  # type: ignore[arg-type]
        top_p=args.top_p,
        top_k=args.top_k,
        max_tokens=pick("max_tokens"),  # type: ignore[arg-type]
        seed=args.seed,
        stop=tuple(args.stop),
        presence_penalty=args.presence_penalty,
        frequency_penalty=args.frequency_penalty,
        beam_search=args.beam_search,
    )
    request = GenerationRequest(str(pick("prompt")), params, stream=bool(pick("stream")))
    return request


def flag_error(err: ClientError) -> str:
    flag = FLAG_OF_FIELD.get(err.field or "")
    if err.field == "beam_search" and "stream" in err.message:
        return "--beam-search: vLLM does not stream beam search; add --no-stream"
    return f"{flag}: {err.message}" if flag else err.message


def config_from_args(args: argparse.Namespace, url: str) -> ClientConfig:
    verify: bool | str = True
    if args.insecure:
        verify = False
    elif args.ca_bundle:
        verify = args.ca_bundle
    return ClientConfig(
        url=url,
        api=None if args.api == "auto" else Api(args.api),
        model=args.model,
        api_key=args.api_key or api_key_from_env(),
        timeout=args.timeout,
        verify=verify,
        max_line_bytes=args.max_line_bytes,
        max_total_chars=args.max_total_chars,
    )


@contextlib.contextmanager
def server_url(args: argparse.Namespace, *, token_delay: float = 0.03) -> Iterator[str]:
    """The URL to talk to; with --demo, an embedded demo server for the duration."""
    if not args.demo:
        yield args.url or f"http://{args.host}:{args.port}"
        return
    from .demo.server import DemoServer

    with DemoServer(token_delay=token_delay) as demo:
        yield demo.url


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parsers = build_parsers()
    command = argv[0] if argv and argv[0] in ("generate", "serve-demo") else "tui"
    if command != "tui":
        argv = argv[1:]
    args = parsers[command].parse_args(argv)
    if command == "serve-demo":
        from .demo.server import serve

        print(f"tui-client demo server on http://{args.host}:{args.port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        serve(args.host, args.port, token_delay=args.token_delay, api_key=args.api_key)
        return 0
    defaults = GENERATE_DEFAULTS if command == "generate" else TUI_DEFAULTS
    request = request_from_args(args, defaults)
    problems = request.params.problems(stream=request.stream)
    if args.insecure and args.ca_bundle:
        parsers[command].error("--insecure and --ca-bundle contradict each other")
    if problems and (command == "generate" or args.run):
        field, message = next(iter(problems.items()))
        parsers[command].error(flag_error(ClientError(ErrorKind.INVALID, message, field=field)))
    try:
        with server_url(args) as url:
            config = config_from_args(args, url)
            if command == "generate":
                from .headless import run_headless

                return asyncio.run(run_headless(config, request, json_output=args.json))
            return run_tui(config, request, run_on_start=args.run, demo=args.demo, insecure=args.insecure)
    except ClientError as err:  # a bad --url and the like
        print(f"tui-client: error: {flag_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def run_tui(config: ClientConfig, request: GenerationRequest, *, run_on_start: bool, demo: bool, insecure: bool) -> int:
    from .ui.app import TuiClientApp

    note = "embedded demo server" if demo else None
    if insecure:
        note = "TLS verification off (--insecure)" if note is None else f"{note}; TLS verification off"
    app = TuiClientApp(config, request, run_on_start=run_on_start, demo_url_note=note)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
