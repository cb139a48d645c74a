"""The ``tui-client`` entry point: parse and dispatch to the TUI, ``generate`` (headless),
``serve-demo``, ``history``, ``config`` or ``server``. The parsers are in :mod:`tui_client.cli.args`,
each command in its own module."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace

from tui_client.cli.args import build_parsers, config_from_args, flag_error, request_error, request_from_args
from tui_client.cli.config_cmd import print_config_path, print_settings
from tui_client.cli.history_cmd import history_command, save_compare_to_history, save_to_history
from tui_client.cli.streams import quiet_broken_pipe, read_stdin_prompt, tolerant_stdio
from tui_client.cli.tui import run_tui
from tui_client.core.defaults import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEMO_TOKEN_DELAY,
    GENERATE_DEFAULTS,
    LIMITS,
    MAX_N,
    TUI_DEFAULTS,
)
from tui_client.core.protocol import ClientError, normalize_url
from tui_client.core.protocol.compare import ServerTarget, compare_configs, targets_from
from tui_client.core.protocol.errors import without_userinfo
from tui_client.core.storage.config import Config, ConfigError, load_config

__all__ = ["main", "server_url"]

_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}
"""Writing stdout failed for good: one line, not a traceback (history errors are handled where they happen)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the command; returns the exit status
    (141 when stdout's reader went away, as ``| head`` does)."""
    tolerant_stdio()
    try:
        return _main(argv)
    except BrokenPipeError:
        return quiet_broken_pipe()
    except OSError as err:  # stdout on a full disk (`> /dev/full`) or a failing device
        if err.errno not in _OUTPUT_ERRNOS:
            raise
        with contextlib.suppress(OSError):
            print(f"tui-client: error: cannot write the output: {os.strerror(err.errno)}", file=sys.stderr, flush=True)
        quiet_broken_pipe()  # the flush at exit would fail again
        return 1
    except KeyboardInterrupt:  # ctrl+c before a run began (reading stdin, say)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parsers = build_parsers()
    command = argv[0] if argv and argv[0] in parsers and argv[0] != "tui" else "tui"
    if command != "tui":
        argv = argv[1:]
    args = parsers[command].parse_args(argv)
    if command == "serve-demo":
        return _serve_demo(args)
    if command == "history":
        return history_command(args)
    if command == "config" and args.action == "path":
        return print_config_path()
    try:
        settings = load_config()
    except ConfigError as err:
        print(f"tui-client: error: {err}", file=sys.stderr)
        return 2
    if command == "config":
        return print_settings(settings)
    targets = _targets(command, args, parsers[command], settings)
    if command == "server":
        return _server(args, parsers[command], settings)
    return _generate_or_tui(command, args, parsers[command], settings, targets)


def _targets(command: str, args: argparse.Namespace, parser: argparse.ArgumentParser,
             settings: Config) -> list[ServerTarget]:
    """The servers --url names (or the config file's servers, without a URL flag): ``args.url`` becomes the
    first one's URL; the others are returned (empty: no comparison)."""
    texts, where = list(args.url or []), "--url"
    if getattr(args, "demo", False):
        given = [flag for flag, value in (("--url", args.url), ("--host", args.host), ("--port", args.port))
                 if value is not None]
        if given:  # the demo server is the server: a URL beside it would be silently ignored
            parser.error(f"--demo starts its own server, so {' and '.join(given)} would be ignored: give one or the other"
                         " (compare servers with --url A --url B; start demo servers with serve-demo)")
    if not texts and args.host is None and args.port is None and not args.demo and settings.servers.value:
        texts, where = list(settings.servers.value), f"{settings.where('servers')}: servers"
    if not texts:
        args.url, args.label = None, None
        return []
    try:
        targets = targets_from(texts)
    except ValueError as err:
        parser.error(f"{where}: {err}")
    if len(targets) > 1 and command == "server":
        parser.error("--url: `server` asks one server; give --url once")
    for target in targets[1:]:
        try:
            normalize_url(target.url)
        except ClientError as err:
            parser.error(f"{where}: {target.label}: {err.message}")
    args.url, args.label = targets[0].url, targets[0].label
    return targets[1:]


def _generate_or_tui(command: str, args: argparse.Namespace, parser: argparse.ArgumentParser, settings: Config,
                     targets: list[ServerTarget]) -> int:
    """Check the request, connect (or start the demo server), then run headless or the TUI."""
    defaults = GENERATE_DEFAULTS if command == "generate" else TUI_DEFAULTS
    if command == "generate" and args.prompt_file is None:
        args.prompt = read_stdin_prompt(args.prompt)
    if targets and command == "generate" and args.continue_from is not None:
        parser.error("--continue-from goes on from one server's candidate: give one --url")
    if command == "generate" and args.continue_from is not None:
        from tui_client.cli.continuation import ContinuationError, continued_request

        try:
            request = continued_request(args, defaults)
        except ContinuationError as err:
            print(f"tui-client: error: {err}", file=sys.stderr)
            return 2
    else:
        request = request_from_args(args, defaults, settings.sampling, configured_params=settings.params,
                                    system=settings.system.value)
    # A live beam search's width limit, logprobs and a system prompt depend on the protocol:
    # checked here when it is known, else by the client once it knows.
    api = _known_api(args, settings)
    if args.system and api != "chat":
        parser.error("--system: a system prompt is for the chat API: use --api chat (completions and /generate "
                     "take the prompt alone)")
    if api != "chat":
        request = replace(request, system=None)  # the config file's: the chat API's default
    problems = request.problems(client_beams=api in ("completions", "chat"), legacy=api == "generate",
                                max_n=LIMITS["n"] if command == "generate" else MAX_N)
    if args.insecure and args.ca_bundle:
        parser.error("--insecure and --ca-bundle contradict each other")
    # The TUI shows other problems next to their field; n it cannot show (the slider's range).
    if problems and (command == "generate" or args.run or "n" in problems):
        field = "n" if "n" in problems else next(iter(problems))
        parser.error(request_error(args, settings, field, problems[field], tui=command == "tui"))
    try:
        with server_url(args, settings) as url:
            config = config_from_args(args, url, settings)
            if command == "generate":
                from tui_client.cli.generate import run_headless

                if args.insecure:
                    shown = ", ".join(without_userinfo(u) for u in [url, *(t.url for t in targets)])
                    print(f"warning: TLS verification is off (--insecure) for {shown}", file=sys.stderr)

                if targets:
                    from tui_client.cli.compare import run_compare_headless

                    return asyncio.run(run_compare_headless(
                        compare_configs(config, args.label, targets), request, json_output=args.json,
                        on_end=None if args.no_history else save_compare_to_history))
                on_end = None if args.no_history else save_to_history
                return asyncio.run(run_headless(config, request, json_output=args.json, on_end=on_end))
            return run_tui(config, request, settings, run_on_start=args.run, demo=args.demo, insecure=args.insecure,
                           compare=targets, label=args.label)
    except ClientError as err:  # a bad --url and the like
        print(f"tui-client: error: {flag_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _server(args: argparse.Namespace, parser: argparse.ArgumentParser, settings: Config) -> int:
    """`tui-client server`: the server's facts, once."""
    from tui_client.cli.server_cmd import server_command

    if args.insecure and args.ca_bundle:
        parser.error("--insecure and --ca-bundle contradict each other")
    try:
        with server_url(args, settings) as url:
            return asyncio.run(server_command(config_from_args(args, url, settings), json_output=args.json))
    except ClientError as err:  # a bad --url and the like
        print(f"tui-client: error: {flag_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _known_api(args: argparse.Namespace, settings: Config) -> str:
    """The protocol chosen (--api, $TUI_CLIENT_API, the file) or implied by the URL's endpoint; ``auto``
    when it is left to detection (a URL that cannot be used is reported later)."""
    api = args.api or settings.api.value
    if api != "auto" or args.demo:
        return api
    url = args.url or (None if args.host is not None or args.port is not None else settings.url.value)
    try:
        implied = normalize_url(url)[1] if url else None
    except ClientError:
        return api
    return implied.value if implied else api


@contextlib.contextmanager
def server_url(args: argparse.Namespace, settings: Config, *, token_delay: float = DEMO_TOKEN_DELAY) -> Iterator[str]:
    """The URL to talk to; with --demo, an embedded demo server for the duration."""
    if not args.demo:
        if args.url:
            yield args.url
        elif args.host is not None or args.port is not None:
            yield f"http://{args.host or DEFAULT_HOST}:{args.port or DEFAULT_PORT}"
        else:
            yield settings.url.value
        return
    from tui_client.demo.server import DemoServer

    with DemoServer(token_delay=token_delay) as demo:
        yield demo.url


def _serve_demo(args: argparse.Namespace) -> int:
    """`tui-client serve-demo`: serve until Ctrl-C."""
    from tui_client.demo.server import DemoServerError, serve

    try:
        serve(args.host, args.port, token_delay=args.token_delay, api_key=args.api_key, metrics=not args.no_metrics,
              models=args.models)
    except DemoServerError as err:
        print(f"tui-client serve-demo: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
