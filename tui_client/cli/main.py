"""Command line: ``tui-client`` (the TUI), ``tui-client generate`` (headless, like
vLLM's example client), ``tui-client serve-demo`` (the embedded demo server),
``tui-client history`` (past runs) and ``tui-client config`` (the config file)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from tui_client import __version__
from tui_client.core.defaults import (
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_MAX_TOTAL_CHARS,
    DEFAULT_TIMEOUT,
    GENERATE_DEFAULTS,
    GREEDY_FALLBACK_TEMPERATURE,
    TUI_DEFAULTS,
)
from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ClientError,
    ErrorKind,
    GenerationRequest,
    RunState,
    SamplingParams,
    api_key_from_env,
)
from tui_client.core.storage.config import APIS, SAMPLING_TYPES, Config, ConfigError, load_config
from tui_client.core.storage.config import default_path as config_path
from tui_client.core.storage.export import FORMATS
from tui_client.core.storage.history import HistoryError, HistoryStore
from tui_client.core.text.inert_text import make_inert

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
  tui-client history ACTION        past runs: list, show ID, export ID, delete ID
  tui-client config path|show      the config file, and the settings in effect
  tui-client COMMAND --help        options of a command

Settings come from the flags, then $TUI_CLIENT_URL / $TUI_CLIENT_API /
$TUI_CLIENT_MODEL, then the config file (`tui-client config path`; url, api, model,
timeout, theme, [sampling], [keys]; never the API key), then the defaults below.
"""


class _Parser(argparse.ArgumentParser):
    """Errors in one line (no usage dump): `tui-client generate: error: --n: ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_connection_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server")
    g.add_argument("--host", help="server host (default: localhost, or the configured url)")
    g.add_argument("--port", type=int, help="server port (default: 8000, or the configured url)")
    g.add_argument("--url", help="server URL, overrides --host/--port; may carry a path prefix "
                   "or an endpoint (http://h:8000/generate) (default: the configured url, else localhost:8000)")
    g.add_argument("--demo", action="store_true",
                   help="start the embedded demo server and use it (no vLLM needed)")
    g.add_argument("--api", choices=list(APIS),
                   help="protocol: auto asks /v1/models and falls back to /generate (default: configured, else auto)")
    g.add_argument("--model", help="model id (default: the first one /v1/models lists)")
    g.add_argument("--api-key", help="sent as a Bearer token (default: $VLLM_API_KEY or $OPENAI_API_KEY); never printed")
    g.add_argument("--timeout", type=float,
                   help=f"seconds to wait for the next byte (default: configured, else {DEFAULT_TIMEOUT:g})")
    g.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    g.add_argument("--ca-bundle", metavar="PATH", help="verify TLS with this CA bundle")
    g.add_argument("--max-line-bytes", type=int, default=DEFAULT_MAX_LINE_BYTES,
                   help="refuse a single streamed line larger than this (default: 64 MiB)")
    g.add_argument("--max-total-chars", type=int, default=DEFAULT_MAX_TOTAL_CHARS,
                   help="stop a run whose text passes this many characters, keeping it (default: 256 Mi)")


def _add_request_flags(p: argparse.ArgumentParser, defaults: dict[str, object]) -> None:
    g = p.add_argument_group("request", "a [sampling] value in the config file replaces the default shown")
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
    gen.add_argument("--no-history", action="store_true", help="do not save the run to the history")

    demo = _Parser(
        prog="tui-client serve-demo",
        description="Serve the embedded demo server: a small Markov text generator behind vLLM's "
        "/generate, /v1/completions, /v1/chat/completions and /v1/models, for trying the app without a GPU.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    demo.add_argument("--token-delay", type=float, default=0.03, help="seconds per generation step (default: 0.03)")
    demo.add_argument("--api-key", help="require this Bearer token on /v1 routes, as `vllm serve --api-key`")
    return {"tui": tui, "generate": gen, "serve-demo": demo, "history": _history_parser(), "config": _config_parser()}


def _history_parser() -> argparse.ArgumentParser:
    hist = _Parser(
        prog="tui-client history",
        description="Runs are saved when they end (the TUI's, and generate's unless --no-history), with "
        "prompt, parameters and candidates; never the API key. The database is history.sqlite3 in "
        "$TUI_CLIENT_DATA_DIR, else in the platform's data directory.",
    )
    actions = hist.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    listing = actions.add_parser("list", help="one run per line, newest first: ID  date  api  model  n  status  prompt",
                                 description="One run per line, newest first: ID  date  api  model  n  status  prompt.")
    listing.add_argument("--limit", type=int, default=100, help="at most this many runs (default: 100)")
    listing.add_argument("--search", metavar="TEXT", help="only runs whose prompt or a candidate contains TEXT")
    show = actions.add_parser("show", help="a run in full (Markdown)", description="Print a run in full, as Markdown.")
    show.add_argument("id", type=int, metavar="ID")
    export = actions.add_parser("export", help="a run as JSON or Markdown",
                                description="Write a run as JSON (generate --json's document plus prompt and "
                                "params) or Markdown.")
    export.add_argument("id", type=int, metavar="ID")
    export.add_argument("--format", choices=["json", "md"], default="json", help="(default: json)")
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: standard output)")
    delete = actions.add_parser("delete", help="remove a run", description="Remove a run from the history.")
    delete.add_argument("id", type=int, metavar="ID")
    return hist


def _config_parser() -> argparse.ArgumentParser:
    conf = _Parser(
        prog="tui-client config",
        description="The config file is TOML: url, api, model, timeout, theme, a [sampling] table (n, "
        "temperature, top_p, top_k, max_tokens, seed, stop, presence_penalty, frequency_penalty) and a "
        "[keys] table (binding id = keys). Not the API key: use $VLLM_API_KEY. $TUI_CLIENT_CONFIG "
        "names another file.",
    )
    actions = conf.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    actions.add_parser("path", help="print the config file's path", description="Print the config file's path.")
    actions.add_parser("show", help="the settings in effect and where each comes from",
                       description="Print the settings in effect (without flags) and where each comes from.")
    return conf


def request_from_args(
    args: argparse.Namespace, defaults: dict[str, object], configured: Mapping[str, object] | None = None
) -> GenerationRequest:
    """The request the flags describe: each field from its flag, else the config
    file's [sampling] (``configured``), else the front end's ``defaults``."""
    configured = configured or {}

    def pick(name: str) -> object:
        value = getattr(args, name)
        return configured.get(name, defaults.get(name)) if value is None else value

    temperature = pick("temperature")
    n = pick("n")
    greedy_by_default = temperature == 0 and args.temperature is None and "temperature" not in configured
    if greedy_by_default and n > 1 and not args.beam_search:  # type: ignore[operator]
        # The example client's greedy default makes n identical candidates, and
        # vLLM 0.32 refuses it outright ("n must be 1 when using greedy sampling").
        temperature = GREEDY_FALLBACK_TEMPERATURE
        print(f"note: n > 1 needs sampling: using --temperature {temperature:g} (pass --temperature 0 to force greedy)",
              file=sys.stderr)

    params = SamplingParams(
        n=n,  # type: ignore[arg-type]
        temperature=temperature,  # type: ignore[arg-type]
        top_p=pick("top_p"),  # type: ignore[arg-type]
        top_k=pick("top_k"),  # type: ignore[arg-type]
        max_tokens=pick("max_tokens"),  # type: ignore[arg-type]
        seed=pick("seed"),  # type: ignore[arg-type]
        stop=tuple(args.stop) or tuple(configured.get("stop", ())),  # type: ignore[arg-type]
        presence_penalty=pick("presence_penalty"),  # type: ignore[arg-type]
        frequency_penalty=pick("frequency_penalty"),  # type: ignore[arg-type]
        beam_search=args.beam_search,
    )
    request = GenerationRequest(str(pick("prompt")), params, stream=bool(pick("stream")))
    return request


def flag_error(err: ClientError) -> str:
    flag = FLAG_OF_FIELD.get(err.field or "")
    if err.field == "beam_search" and "stream" in err.message:
        return "--beam-search: vLLM does not stream beam search; add --no-stream"
    return f"{flag}: {err.message}" if flag else err.message


def config_from_args(args: argparse.Namespace, url: str, settings: Config) -> ClientConfig:
    verify: bool | str = True
    if args.insecure:
        verify = False
    elif args.ca_bundle:
        verify = args.ca_bundle
    api = args.api or settings.api.value
    return ClientConfig(
        url=url,
        api=None if api == "auto" else Api(api),
        model=args.model or settings.model.value,
        api_key=args.api_key or api_key_from_env(),
        timeout=settings.timeout.value if args.timeout is None else args.timeout,
        verify=verify,
        max_line_bytes=args.max_line_bytes,
        max_total_chars=args.max_total_chars,
    )


@contextlib.contextmanager
def server_url(args: argparse.Namespace, settings: Config, *, token_delay: float = 0.03) -> Iterator[str]:
    """The URL to talk to; with --demo, an embedded demo server for the duration."""
    if not args.demo:
        if args.url:
            yield args.url
        elif args.host is not None or args.port is not None:
            yield f"http://{args.host or 'localhost'}:{args.port or 8000}"
        else:
            yield settings.url.value
        return
    from tui_client.demo.server import DemoServer

    with DemoServer(token_delay=token_delay) as demo:
        yield demo.url


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parsers = build_parsers()
    command = argv[0] if argv and argv[0] in parsers and argv[0] != "tui" else "tui"
    if command != "tui":
        argv = argv[1:]
    args = parsers[command].parse_args(argv)
    if command == "serve-demo":
        from tui_client.demo.server import serve

        print(f"tui-client demo server on http://{args.host}:{args.port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        serve(args.host, args.port, token_delay=args.token_delay, api_key=args.api_key)
        return 0
    if command == "history":
        return history_command(args)
    if command == "config" and args.action == "path":
        print(config_path())
        return 0
    try:
        settings = load_config()
    except ConfigError as err:
        print(f"tui-client: error: {err}", file=sys.stderr)
        return 2
    if command == "config":
        print(make_inert(show_config(settings)), end="")
        return 0
    defaults = GENERATE_DEFAULTS if command == "generate" else TUI_DEFAULTS
    request = request_from_args(args, defaults, settings.sampling)
    problems = request.params.problems(stream=request.stream)
    if args.insecure and args.ca_bundle:
        parsers[command].error("--insecure and --ca-bundle contradict each other")
    if problems and (command == "generate" or args.run):
        field, message = next(iter(problems.items()))
        parsers[command].error(flag_error(ClientError(ErrorKind.INVALID, message, field=field)))
    try:
        with server_url(args, settings) as url:
            config = config_from_args(args, url, settings)
            if command == "generate":
                from tui_client.cli.generate import run_headless

                if args.insecure:
                    print(f"warning: TLS verification is off (--insecure) for {url}", file=sys.stderr)

                on_end = None if args.no_history else save_to_history
                return asyncio.run(run_headless(config, request, json_output=args.json, on_end=on_end))
            return run_tui(config, request, settings, run_on_start=args.run, demo=args.demo, insecure=args.insecure)
    except ClientError as err:  # a bad --url and the like
        print(f"tui-client: error: {flag_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def save_to_history(state: RunState) -> None:
    """Save a run; a history that cannot be written costs a note, not the run."""
    try:
        with HistoryStore() as store:
            store.save(state)
    except HistoryError as err:
        print(f"note: not saved to the history: {err}", file=sys.stderr)


def history_command(args: argparse.Namespace) -> int:
    """`tui-client history list|show|export|delete`: 0 done, 1 no such run or unusable history."""
    try:
        with HistoryStore() as store:
            if args.action == "list":
                for summary in store.list(limit=args.limit, search=args.search):
                    preview = summary.prompt_preview
                    preview = repr(preview[:60]) + ("…" if len(preview) > 60 else "")
                    print(f"{summary.id}  {summary.created:%Y-%m-%d %H:%M}  {summary.api or '-'}  "
                          f"{make_inert(summary.model or '-')}  n={summary.n}  {summary.status.value}  {preview}")
                return 0
            if args.action == "delete":
                if store.delete(args.id):
                    print(f"deleted run {args.id}")
                    return 0
                return _no_such_run(args.id)
            run = store.get(args.id)
    except HistoryError as err:
        print(f"tui-client: error: {err}", file=sys.stderr)
        return 1
    if run is None:
        return _no_such_run(args.id)
    if args.action == "show":
        print(make_inert(FORMATS["md"](run)), end="")
        return 0
    text = FORMATS[args.format](run)
    if args.output is None:
        print(make_inert(text) if sys.stdout.isatty() else text, end="")  # a terminal obeys escapes
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as err:
        print(f"tui-client: error: cannot write {args.output}: {err.strerror}", file=sys.stderr)
        return 1
    print(f"wrote run {args.id} to {args.output}", file=sys.stderr)
    return 0


def _no_such_run(run_id: int) -> int:
    print(f"tui-client: error: no run {run_id} in the history (see tui-client history list)", file=sys.stderr)
    return 1


def show_config(settings: Config) -> str:
    """`tui-client config show`: each setting, its effective value and its source."""
    rows = [("config file", str(settings.path), "found" if settings.found else "not found")]
    for name in ("url", "api", "model", "timeout", "theme"):
        setting = getattr(settings, name)
        rows.append((name, _shown(setting.value), setting.source))
    key_var = next((v for v in ("VLLM_API_KEY", "OPENAI_API_KEY") if os.environ.get(v)), None)
    rows.append(("api-key", "set (not shown)", f"${key_var}") if key_var else
                ("api-key", "not set", "(--api-key or $VLLM_API_KEY)"))
    for name in SAMPLING_TYPES:
        if name in settings.sampling:
            rows.append((f"sampling.{name}", _shown(settings.sampling[name]), "file"))
        elif name in TUI_DEFAULTS:
            both = f"{_shown(TUI_DEFAULTS[name])} (TUI), {_shown(GENERATE_DEFAULTS[name])} (generate)"
            rows.append((f"sampling.{name}", both, "default"))
        else:
            rows.append((f"sampling.{name}", "-", "default (the server's)"))
    rows += [(f"keys.{binding}", keys, "file") for binding, keys in settings.keys.items()]
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    return "".join(f"{name:<{width}}  {value:<{value_width}}  {source}\n" for name, value, source in rows)


def _shown(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return f"{value:g}" if isinstance(value, float) else str(value)


def run_tui(
    config: ClientConfig, request: GenerationRequest, settings: Config, *, run_on_start: bool, demo: bool, insecure: bool
) -> int:
    from tui_client.ui.app import TuiClientApp

    note = "embedded demo server" if demo else None
    if insecure:
        note = "TLS verification off (--insecure)" if note is None else f"{note}; TLS verification off"
    theme = settings.theme.value
    app = TuiClientApp(config, request, run_on_start=run_on_start, demo_url_note=note, theme=theme,
                       keymap=settings.keys)
    if theme is not None and theme not in app.available_themes:
        print(f"tui-client: error: {settings.path}: theme: unknown theme {theme!r} "
              f"(one of {', '.join(sorted(app.available_themes))})", file=sys.stderr)
        return 2
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
