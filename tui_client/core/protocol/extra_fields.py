"""More vLLM request fields than the app has fields for (``min_p``, ``ignore_eos``,
``structured_outputs``...): sent as they are, merged into the request body.

They come as ``KEY=VALUE`` (the value is JSON when it parses as JSON, else a string) or
as a JSON object. A key the app sets itself (:data:`OWN_FIELDS`) is not an extra field:
each front end refuses it, naming its own flag or field. A value of ``null`` removes the
key (a ``--param`` can take back a configured one).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "OWN_FIELDS", "extra_problem", "format_lines", "key_problem", "merge", "parse_extra", "parse_lines", "parse_param",
    "parse_value", "value_problem",
]

OWN_FIELDS: Mapping[str, str] = MappingProxyType({
    "prompt": "prompt",
    "messages": "prompt",
    "model": "model",
    "stream": "stream",
    "stream_options": "stream",
    "n": "n",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_tokens",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "use_beam_search": "beam_search",
    "length_penalty": "length_penalty",
    "logprobs": "logprobs",
    "top_logprobs": "logprobs",
})
"""Request body keys the app sets from its own settings, each mapped to that setting (a
:class:`~tui_client.core.protocol.params.SamplingParams` field, ``prompt``, ``model`` or ``stream``)."""

MAX_DEPTH = 32
"""The deepest nesting of lists and objects a value may have."""

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a request field name, or None."""
    if not key:
        return "no field name before '='"
    if not _KEY.match(key):
        return f"{key!r} is not a field name (letters, digits and _)"
    return None


def value_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` cannot be sent as JSON, or None: finite numbers, strings, booleans,
    null, lists and objects with string keys, nested at most :data:`MAX_DEPTH` deep."""
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} deep"
    if value is None or isinstance(value, (bool, str, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"numbers must be finite, not {value}"
    if isinstance(value, list):
        return next((p for item in value if (p := value_problem(item, depth + 1))), None)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return "object keys must be strings"
        return next((p for item in value.values() if (p := value_problem(item, depth + 1))), None)
    return f"{type(value).__name__} is not a JSON value"


class _TooDeep(ValueError):
    """JSON nested past what the parser recurses into."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """Strict JSON (no NaN or Infinity); ValueError when it is not."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise _TooDeep(f"nested more than {MAX_DEPTH} deep") from None


def parse_value(raw: str) -> Any:
    """A ``KEY=VALUE``'s value: JSON when it parses (``0.05`` a number, ``true`` a bool,
    ``"0.5"`` a string), else the text itself, spaces around it dropped."""
    text = raw.strip()
    try:
        value = _loads(text)
    except _TooDeep:
        raise
    except ValueError:
        return text
    problem = value_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def parse_param(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> (key, value); ValueError (one line) when it is not one."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise ValueError(f"KEY=VALUE, please: {_short(text)!r} has no '='")
    key = key.strip()
    problem = key_problem(key)
    if problem:
        raise ValueError(problem)
    return key, parse_value(raw)


def parse_extra(text: str) -> dict[str, Any]:
    """A JSON object of request fields; ValueError (one line) when it is not one."""
    try:
        value = _loads(text)
    except ValueError as err:
        raise ValueError(f"not JSON ({' '.join(str(err).split())})") from None
    if not isinstance(value, dict):
        raise ValueError(f"a JSON object ({{\"key\": value, ...}}) please, not {_json_kind(value)}")
    for key, item in value.items():
        problem = key_problem(key)
        if problem:
            raise ValueError(problem)
        problem = value_problem(item)
        if problem:
            raise ValueError(f"{key}: {problem}")
    return value


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """The layers merged, later ones winning key by key; a ``None`` value removes the key."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
    return out


def parse_lines(
    text: str, check: Callable[[str], str | None] | None = None
) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """``KEY=VALUE`` lines (blank lines and ``#`` comments skipped) -> the fields and the
    problems as (line number, message), ``check(key)`` saying what is wrong with a key
    (a front end's own fields); a later line wins over an earlier one."""
    fields: dict[str, Any] = {}
    problems: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may sit in a value
        line = line.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            key, value = parse_param(line)
        except ValueError as err:
            problems.append((number, str(err)))
            continue
        problem = check(key) if check is not None else None
        if problem:
            problems.append((number, problem))
            continue
        fields.pop(key, None)
        fields[key] = value
    return merge(fields), problems


def format_lines(extra: Mapping[str, Any]) -> str:
    """The fields as ``KEY=VALUE`` lines that :func:`parse_lines` reads back the same."""
    return "\n".join(f"{key}={_format_value(value)}" for key, value in extra.items())


def extra_problem(extra: Mapping[str, Any]) -> str | None:
    """The first reason ``extra`` cannot be sent as it is, or None (the front ends check each
    source first, naming their own flag or field)."""
    for key, value in extra.items():
        problem = key_problem(key)
        if problem:
            return problem
        if key in OWN_FIELDS:
            return f"{key} is set by the app's own {OWN_FIELDS[key]} setting, not as an extra field"
        problem = value_problem(value)
        if problem:
            return f"{key}: {problem}"
    return None


def _format_value(value: Any) -> str:
    if isinstance(value, str) and value.isprintable() and value == value.strip() and parse_value(value) == value:
        return value  # reads back as this very string
    text = json.dumps(value, ensure_ascii=False)
    return text.translate(_LINE_BREAKS)  # escaped, so that the line stays one line


_LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}
"""Line breaks to ``str.splitlines`` (and editors) that JSON leaves unescaped."""


def _json_kind(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
    return "null" if value is None else next((n for kind, n in names.items() if isinstance(value, kind)), "a value")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
