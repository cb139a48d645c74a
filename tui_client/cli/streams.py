"""What the CLI's output survives: a reader that quits early (``| head``), a terminal or
pipe that cannot encode the text, and the prompt read from stdin or a file."""

from __future__ import annotations

import os
import re
import signal
import sys
from typing import TextIO

from tui_client.core.defaults import PROMPT_FILE_MAX_BYTES

__all__ = [
    "BROKEN_PIPE_STATUS", "escape_json_for", "quiet_broken_pipe", "read_prompt_file", "read_stdin_prompt",
    "tolerant_stdio",
]

BROKEN_PIPE_STATUS = 128 + signal.SIGPIPE
"""Exit status when the reader of stdout went away: what a tool killed by SIGPIPE returns."""

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def tolerant_stdio() -> None:
    """stdout and stderr write what their encoding cannot hold as escapes (``\\xe9``), not a traceback;
    one that was closed (``>&-``, Python makes it None) writes to /dev/null."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def quiet_broken_pipe() -> int:
    """stdout's reader is gone: point stdout at /dev/null (the flush at exit stays quiet)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return BROKEN_PIPE_STATUS


def escape_json_for(out: TextIO, text: str) -> str:
    """JSON ``text`` as ``out`` can encode it: if it cannot hold every character, every
    non-ASCII one becomes a ``\\uXXXX`` escape (only strings hold them, so it stays the same JSON)."""
    try:
        text.encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return _NON_ASCII.sub(_json_escape, text)
    return text


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def read_stdin_prompt(prompt: str | None, stdin: TextIO | None = None) -> str | None:
    """The prompt ``generate`` uses: ``-`` reads stdin; no ``--prompt`` reads piped stdin
    (not a terminal), when it holds something. One final newline (``echo``'s) is dropped;
    bytes that do not decode become U+FFFD."""
    stdin = sys.stdin if stdin is None else stdin
    if stdin is None:  # closed (`<&-`): nothing to read, as from /dev/null
        return "" if prompt == "-" else prompt
    if prompt is not None and prompt != "-":
        return prompt
    if prompt is None and stdin.isatty():
        return None
    buffer = getattr(stdin, "buffer", None)
    text = stdin.read() if buffer is None else buffer.read().decode(stdin.encoding or "utf-8", "replace")
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    if prompt is None and not text:
        return None  # nothing piped (stdin is /dev/null, say): the default prompt
    return text


def read_prompt_file(path: str, limit: int = PROMPT_FILE_MAX_BYTES) -> str:
    """``--prompt-file``: the whole file, newlines kept (``\\r\\n`` too; a UTF-8 BOM is not
    part of it). ValueError (one line) when it is missing, unreadable, too big or not UTF-8."""
    shown = repr(path)
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except OSError as err:
        raise ValueError(f"cannot read {shown}: {err.strerror or err}") from None
    if len(data) > limit:
        raise ValueError(f"{shown} is over {limit // (1024 * 1024)} MiB: too big for a prompt")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{shown} is not UTF-8 text (byte {data[err.start]:#04x} at offset {err.start})") from None
