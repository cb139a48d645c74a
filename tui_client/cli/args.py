"""The command line's parsers and what their flags mean: the request, the client
config and the one-line flag errors. Every default shown in ``--help`` comes from
:mod:`tui_client.core.defaults`."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import NoReturn

from tui_client import __version__
from tui_client.core.defaults import (
    DEFAULT_HOST,
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_MAX_TOTAL_CHARS,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    DEMO_HOST,
    DEMO_PORT,
    DEMO_TOKEN_DELAY,
    GENERATE_DEFAULTS,
    GREEDY_FALLBACK_TEMPERATURE,
    HISTORY_LIST_LIMIT,
    LIMITS,
    MAX_N,
    TUI_DEFAULTS,
    VLLM_MAX_LOGPROBS,
)
from tui_client.cli.streams import read_prompt_file
from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ClientError,
    ErrorKind,
    GenerationRequest,
    SamplingParams,
    api_key_from_env,
)
from tui_client.core.protocol.extra_fields import OWN_FIELDS, merge, parse_extra, parse_param
from tui_client.core.storage.config import APIS, Config
from tui_client.core.storage.export import FORMATS

__all__ = [
    "DESCRIPTION", "FLAG_OF_FIELD", "build_parsers", "config_from_args", "flag_error", "request_error",
    "request_from_args",
]

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
    "length_penalty": "--length-penalty",
    "logprobs": "--logprobs",
    "url": "--url",
    "prompt": "--prompt",
    "model": "--model",
    "stream": "--stream/--no-stream",
    "system": "--system",
    "extra": "--param/--extra",
}
"""The flag that sets each request field, for naming it in an error."""

DESCRIPTION = """\
A terminal client for vLLM: type a prompt, pick n, and watch the n candidates
stream side by side. Speaks vLLM's OpenAI-compatible API (`vllm serve`) and the
legacy demo protocol (POST /generate).

commands:
  tui-client [options]             the full-screen app (default)
  tui-client generate [options]    headless: print the candidates, like vLLM's api_client.py
  tui-client serve-demo [options]  run the embedded demo server (no GPU needed)
  tui-client server [options]      the server's version, models and load, once (--json)
  tui-client history ACTION        past runs: list, show ID, export ID, delete ID
  tui-client config path|show      the config file, and the settings in effect
  tui-client COMMAND --help        options of a command

Compare servers: --url A --url B (or LABEL=URL, or the config file's servers)
sends the same request to each and shows one labelled group of candidates each.

Settings come from the flags, then $TUI_CLIENT_URL / $TUI_CLIENT_API /
$TUI_CLIENT_MODEL, then the config file (`tui-client config path`; url, servers, api,
model, timeout, theme, system, [sampling], [params], [keys]; never the API key), then
the defaults below.
"""

EXTRA_HELP = """More vLLM request fields (min_p, repetition_penalty, min_tokens, ignore_eos, logit_bias,
structured_outputs, ...) are sent as they are: the config file's [params], then each
--param KEY=VALUE (the VALUE is JSON when it parses as JSON: min_p=0.05 a number,
ignore_eos=true a boolean, "0.5" a string; else the text itself), then each --extra JSON
object, merged last; a later one wins key by key and null removes a key. A field the app
sets itself (prompt, messages, model, stream, n, temperature, ...: each has its flag) is
refused, naming its flag.
"""

_MI = 1024 * 1024


class _Parser(argparse.ArgumentParser):
    """Errors in one line (no usage dump): `tui-client generate: error: --n: ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_up_to(high: int, low: int = 1) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high`` (see :data:`LIMITS`)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text}")
    return value


def _param(text: str) -> tuple[str, object]:
    """An argparse type: ``KEY=VALUE``, an extra request field (see :data:`EXTRA_HELP`)."""
    try:
        key, value = parse_param(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    _refuse_own_field(key, "--param")
    return key, value


def _extra(text: str) -> dict[str, object]:
    """An argparse type: a JSON object of extra request fields."""
    try:
        fields = parse_extra(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    for key in fields:
        _refuse_own_field(key, "--extra")
    return fields


def _refuse_own_field(key: str, flag: str) -> None:
    if key in OWN_FIELDS:
        own = OWN_FIELDS[key]
        raise argparse.ArgumentTypeError(f"{key} is set by {FLAG_OF_FIELD.get(own, own)}, not {flag}")


def _prompt_file(path: str) -> str:
    """An argparse type: the whole file at ``path``, as the prompt."""
    try:
        return read_prompt_file(path)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _delay(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more (inf made the demo server never answer)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more, got {text}")
    return value


def build_parsers() -> dict[str, argparse.ArgumentParser]:
    """One parser per command: ``tui`` (no command word), ``generate``, ``serve-demo``, ``history``, ``config``, ``server``."""
    return {"tui": _tui_parser(), "generate": _generate_parser(), "serve-demo": _demo_parser(),
            "history": _history_parser(), "config": _config_parser(), "server": _server_parser()}


def _add_connection_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server")
    g.add_argument("--host", help=f"server host (default: {DEFAULT_HOST}, or the configured url)")
    g.add_argument("--port", type=_int_up_to(LIMITS["port"]), help=f"server port (default: {DEFAULT_PORT}, or the configured url)")
    g.add_argument("--url", action="append", metavar="[LABEL=]URL",
                   help="server URL, overrides --host/--port; may carry a path prefix or an endpoint "
                   "(http://h:8000/generate). Repeat it to compare servers: the same request goes to each, "
                   "labelled A, B, … or LABEL; the others' protocol and model are detected "
                   f"(default: the configured url or servers, else {DEFAULT_HOST}:{DEFAULT_PORT})")
    g.add_argument("--demo", action="store_true",
                   help="start the embedded demo server and use it (no vLLM needed)")
    g.add_argument("--api", choices=list(APIS),
                   help="protocol: auto asks /v1/models and falls back to /generate (default: configured, else auto)")
    g.add_argument("--model", help="model id (default: the first one /v1/models lists)")
    g.add_argument("--api-key", help="sent as a Bearer token (default: $VLLM_API_KEY or $OPENAI_API_KEY); never printed")
    g.add_argument("--timeout", type=_seconds,
                   help=f"seconds to wait for the next byte (default: configured, else {DEFAULT_TIMEOUT:g})")
    g.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    g.add_argument("--ca-bundle", metavar="PATH", help="verify TLS with this CA bundle")
    g.add_argument("--max-line-bytes", type=_int_up_to(LIMITS["max_line_bytes"]), default=DEFAULT_MAX_LINE_BYTES,
                   help=f"refuse a single streamed line larger than this (default: {DEFAULT_MAX_LINE_BYTES // _MI} MiB)")
    g.add_argument("--max-total-chars", type=_int_up_to(LIMITS["max_total_chars"]), default=DEFAULT_MAX_TOTAL_CHARS,
                   help="stop a run whose text passes this many characters, keeping it "
                   f"(default: {DEFAULT_MAX_TOTAL_CHARS // _MI} Mi)")


def _add_request_flags(p: argparse.ArgumentParser, defaults: Mapping[str, object]) -> None:
    g = p.add_argument_group("request", "a [sampling] value in the config file replaces the default shown")
    prompt = g.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", help=f"the prompt (default: {defaults['prompt']!r})")
    prompt.add_argument("--prompt-file", type=_prompt_file, metavar="PATH",
                        help="the prompt is this file, whole: its newlines kept, the last one too (UTF-8)")
    g.add_argument("--system", metavar="TEXT",
                   help="the chat API's system prompt, sent as the first message (needs --api chat; "
                   "default: the config file's system, in chat mode)")
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
    g.add_argument("--beam-search", action="store_true",
                   help="beam search with width n; with --stream the beams are shown at every step")
    g.add_argument("--length-penalty", type=float, help="beam search: score = cumulative logprob / length ** this")
    g.add_argument("--logprobs", type=int, metavar="K",
                   help=f"each token's logprob and its K most likely alternatives, 0 to {VLLM_MAX_LOGPROBS} "
                   f"(vLLM's default --max-logprobs); not on /generate (default: {defaults['logprobs']}, off)")
    x = p.add_argument_group("extra request fields", EXTRA_HELP)
    x.add_argument("--param", action="append", default=[], type=_param, metavar="KEY=VALUE",
                   help="an extra field: min_p=0.05, ignore_eos=true (repeatable)")
    x.add_argument("--extra", action="append", default=[], type=_extra, metavar="JSON",
                   help='a JSON object merged into the request body: \'{"structured_outputs": {"choice": ["yes", "no"]}}\' '
                   "(repeatable)")


def _tui_parser() -> argparse.ArgumentParser:
    tui = _Parser(prog="tui-client", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    tui.add_argument("--version", action="version", version=f"tui-client {__version__}")
    _add_connection_flags(tui)
    _add_request_flags(tui, TUI_DEFAULTS)
    tui.add_argument("--run", action="store_true", help="start a run at once")
    return tui


def _run_candidate(value: str) -> tuple[int, int]:
    """``12:0`` -> (12, 0)."""
    run, sep, candidate = value.partition(":")
    if not (sep and re.fullmatch("[0-9]{1,19}", run) and re.fullmatch("[0-9]{1,5}", candidate)) \
            or not 1 <= int(run) <= LIMITS["run_id"]:
        raise argparse.ArgumentTypeError(f"{value!r}: give a history run and one of its candidates, as RUN:CANDIDATE "
                                         "(12:0; `tui-client history list` shows the runs)")
    return int(run), int(candidate)


def _generate_parser() -> argparse.ArgumentParser:
    gen = _Parser(
        prog="tui-client generate",
        description="Generate n candidates and print them: `Beam candidate i: '...'` lines, redrawn "
        "in place while streaming on a terminal, plain when piped; or one JSON document with --json. "
        "Exit status 0 on success, 1 when the run failed (the text received is still printed; comparing servers: "
        "when every server failed), 3 when some compared servers failed and others answered, 2 on bad flags, "
        "130 on ctrl+c, 143 on SIGTERM and 129 on SIGHUP (the text so far is printed and saved; ctrl+c twice "
        "quits at once), 141 when "
        "stdout's reader quits (| head).",
    )
    _add_connection_flags(gen)
    _add_request_flags(gen, GENERATE_DEFAULTS)
    prompt = next(a for a in gen._actions if a.dest == "prompt")
    prompt.help = (f"the prompt; - reads it from stdin, as does piped stdin without --prompt "
                   f"(default: {GENERATE_DEFAULTS['prompt']!r})")
    gen.add_argument("--continue-from", type=_run_candidate, metavar="RUN:CANDIDATE",
                     help="go on from a history run's candidate (12:0): completions and /generate send its prompt + "
                     "that text (+ --prompt, appended); chat sends the conversation with that text as the "
                     "assistant's turn, then --prompt as the next user turn (without --prompt the model goes on "
                     "with its reply). Its parameters, unless flags change them")
    gen.add_argument("--json", action="store_true", help="print one JSON document (also on failure)")
    gen.add_argument("--no-history", action="store_true", help="do not save the run to the history")
    return gen


def _demo_parser() -> argparse.ArgumentParser:
    demo = _Parser(
        prog="tui-client serve-demo",
        description="Serve the embedded demo server: a small Markov text generator behind vLLM's "
        "/generate, /v1/completions, /v1/chat/completions and /v1/models (and /version, /metrics), for trying the app without a GPU.",
    )
    demo.add_argument("--host", default=DEMO_HOST, help=f"address to bind (default: {DEMO_HOST})")
    demo.add_argument("--port", type=_int_up_to(LIMITS["port"]), default=DEMO_PORT, help=f"port (default: {DEMO_PORT})")
    demo.add_argument("--token-delay", type=_delay, default=DEMO_TOKEN_DELAY,
                      help=f"seconds per generation step (default: {DEMO_TOKEN_DELAY:g})")
    demo.add_argument("--api-key", help="require this Bearer token on /v1 routes, as `vllm serve --api-key`")
    demo.add_argument("--no-metrics", action="store_true",
                      help="answer no /metrics (404), as vLLM's legacy server or a proxy that hides it")
    demo.add_argument("--models", type=_model_names, default=(), metavar="A,B",
                      help="the model ids to serve and list on /v1/models, comma-separated, as "
                      "`vllm serve --served-model-name A B` (default: demo-markov)")
    return demo


def _server_parser() -> argparse.ArgumentParser:
    server = _Parser(
        prog="tui-client server",
        description="Print what the server says about itself, once: its vLLM version (GET /version), every "
        "model of GET /v1/models with root and max_model_len (a LoRA adapter as one whose parent is set), and "
        "its load from GET /metrics (requests running and waiting, KV cache usage, prompt and generation token "
        "and preemption counters). A source the server lacks (no /metrics behind a proxy or on the legacy "
        "server) is named with why. The TUI shows the same, live, with F5. Exit status 0 when the server "
        "answered, 1 when it could not be reached, 2 on bad flags.",
    )
    _add_connection_flags(server)
    server.add_argument("--json", action="store_true", help="print one JSON object (url, api, reachable, version, "
                        "models, metrics, rates, missing, unreachable)")
    return server


def _model_names(text: str) -> tuple[str, ...]:
    """An argparse type: ``a,b`` as model ids (none empty, no repeats)."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"expected model ids separated by commas, none empty or repeated: {text!r}")
    return names


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
    listing.add_argument("--limit", type=_int_up_to(LIMITS["history_limit"]), default=HISTORY_LIST_LIMIT,
                         help=f"at most this many runs (default: {HISTORY_LIST_LIMIT})")
    listing.add_argument("--search", metavar="TEXT", help="only runs whose prompt or a candidate contains TEXT")
    show = actions.add_parser("show", help="a run in full (Markdown, or JSON with --json)",
                              description="Print a run in full, as Markdown; with --json as `history export`'s "
                              "JSON (prompt, system, params, extra, candidates...).")
    show.add_argument("id", type=_int_up_to(LIMITS["run_id"]), metavar="ID")
    show.add_argument("--json", action="store_true", help="print the run's JSON document instead (with its parent, when it has one)")
    tree = actions.add_parser("tree", help="a run and the runs continued or forked from it, as a tree",
                              description="Print a run and its descendants, one line each, indented: ID, which "
                              "candidate of its parent it goes on from (and where, for a fork), n, status, and "
                              "the end of its prompt.")
    tree.add_argument("id", type=_int_up_to(LIMITS["run_id"]), metavar="ID")
    export = actions.add_parser("export", help="a run as JSON or Markdown",
                                description="Write a run as JSON (generate --json's document plus prompt and "
                                "params) or Markdown.")
    export.add_argument("id", type=_int_up_to(LIMITS["run_id"]), metavar="ID")
    export.add_argument("--format", choices=list(FORMATS), default="json", help="(default: json)")
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default, or -: standard output)")
    delete = actions.add_parser("delete", help="remove a run", description="Remove a run from the history.")
    delete.add_argument("id", type=_int_up_to(LIMITS["run_id"]), metavar="ID")
    return hist


def _config_parser() -> argparse.ArgumentParser:
    conf = _Parser(
        prog="tui-client config",
        description="The config file is TOML: url, servers (an array of URL or LABEL=URL to compare), api, model, "
        "timeout, theme, a [sampling] table (n, "
        "temperature, top_p, top_k, max_tokens, seed, stop, presence_penalty, frequency_penalty, logprobs) and a "
        "[keys] table (binding id = keys). Not the API key: use $VLLM_API_KEY. $TUI_CLIENT_CONFIG "
        "names another file.",
    )
    actions = conf.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    actions.add_parser("path", help="print the config file's path", description="Print the config file's path.")
    actions.add_parser("show", help="the settings in effect and where each comes from",
                       description="Print the settings in effect (without flags) and where each comes from.")
    return conf


def request_from_args(
    args: argparse.Namespace, defaults: Mapping[str, object], configured: Mapping[str, object] | None = None,
    *, configured_params: Mapping[str, object] | None = None, system: str | None = None,
) -> GenerationRequest:
    """The request the flags describe: each field from its flag, else the config
    file's [sampling] (``configured``), else the front end's ``defaults``; the extra fields
    are the file's [params] (``configured_params``), then --param, then --extra; the system
    prompt --system, else the file's ``system``."""
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
        length_penalty=args.length_penalty,
        logprobs=pick("logprobs"),  # type: ignore[arg-type]
    )
    prompt = args.prompt_file if getattr(args, "prompt_file", None) is not None else pick("prompt")
    extra = merge(configured_params or {}, dict(getattr(args, "param", [])), *getattr(args, "extra", []))
    system_text = system if getattr(args, "system", None) is None else args.system
    return GenerationRequest(str(prompt), params, stream=bool(pick("stream")), system=system_text or None,
                             extra=extra)


def flag_error(err: ClientError) -> str:
    """A request or URL problem as the flag that causes it: ``--n: n must be between 1 and 1024, got 0``."""
    flag = FLAG_OF_FIELD.get(err.field or "")
    return f"{flag}: {err.message}" if flag else err.message


def request_error(args: argparse.Namespace, settings: Config, field: str, message: str, *, tui: bool = False) -> str:
    """A request problem named by where the value came from: its flag, else the config file's line."""
    n = settings.sampling.get("n") if args.n is None else args.n
    if field == "n" and tui and isinstance(n, int) and n > MAX_N:
        message += f" (the TUI shows at most {MAX_N} candidates; generate takes up to {LIMITS['n']})"
    if field in settings.sampling and getattr(args, field, None) in (None, []):
        return f"{settings.where(f'sampling.{field}')}: sampling.{field}: {message}"
    return flag_error(ClientError(ErrorKind.INVALID, message, field=field))


def config_from_args(args: argparse.Namespace, url: str, settings: Config) -> ClientConfig:
    """The client config: the connection flags over the config file's settings."""
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
