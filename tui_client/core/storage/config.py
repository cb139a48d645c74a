"""The config file (TOML, example in README; path: :func:`~tui_client.core.storage.paths.config_path`):
the connection (``url``, or ``servers`` to compare), the chat API's ``system`` prompt, ``[sampling]``, ``[params]`` (extra vLLM
request fields, sent as they are) and ``[keys]``.
Precedence: flags > ``TUI_CLIENT_URL``/``_API``/``_MODEL`` > the file > :mod:`~tui_client.core.defaults`;
never the API key. A bad file raises :class:`ConfigError`: one line naming the file, line and key."""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

from tui_client.core.defaults import DEFAULT_API, DEFAULT_TIMEOUT, DEFAULT_URL
from tui_client.core.protocol import SamplingParams
from tui_client.core.protocol.client import normalize_url
from tui_client.core.protocol.compare import targets_from
from tui_client.core.protocol.errors import ClientError
from tui_client.core.protocol.extra_fields import OWN_FIELDS, key_problem, value_problem
from tui_client.core.storage.paths import CONFIG_ENV
from tui_client.core.storage.paths import config_path as default_path

__all__ = [
    "APIS", "CONFIG_ENV", "ENV_VARS", "SAMPLING_TYPES", "Config", "ConfigError", "Setting", "default_path", "load_config",
]

ENV_VARS = {"url": "TUI_CLIENT_URL", "api": "TUI_CLIENT_API", "model": "TUI_CLIENT_MODEL"}
APIS = ("auto", "generate", "completions", "chat")

# Expected type of each [sampling] key: int, float (an integer is fine) or a list of strings.
SAMPLING_TYPES: dict[str, type] = {
    "n": int,
    "temperature": float,
    "top_p": float,
    "top_k": int,
    "max_tokens": int,
    "seed": int,
    "stop": list,
    "presence_penalty": float,
    "frequency_penalty": float,
    "logprobs": int,
}
TOP_LEVEL = ("url", "servers", "api", "model", "timeout", "theme", "system", "sampling", "params", "keys")

_OWN_SETTING = {"prompt": "--prompt", "model": "model", "stream": "--stream/--no-stream",
                "beam_search": "--beam-search", "length_penalty": "--length-penalty"}
"""Where a request field the app sets itself is set, when not in [sampling] (for messages)."""

T = TypeVar("T")


class ConfigError(Exception):
    """The config file or a TUI_CLIENT_* variable is unusable; ``str()`` is one line."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    """An effective value and where it came from: ``default``, ``file`` or ``$VAR``."""

    value: T
    source: str = "default"


@dataclass(frozen=True)
class Config:
    """The effective settings below the command line (flags still override them)."""

    path: Path
    found: bool = False  # whether the file exists
    url: Setting[str] = Setting(DEFAULT_URL)
    api: Setting[str] = Setting(DEFAULT_API)  # one of APIS
    model: Setting[str | None] = Setting(None)  # None: the first model the server lists
    timeout: Setting[float] = Setting(DEFAULT_TIMEOUT)
    theme: Setting[str | None] = Setting(None)  # None: the TUI's default
    system: Setting[str | None] = Setting(None)  # the chat API's system prompt (other APIs: not used)
    servers: Setting[tuple[str, ...]] = Setting(())  # compare these (``URL`` or ``LABEL=URL``) without a URL flag
    sampling: dict[str, object] = field(default_factory=dict)  # only what the file sets ("stop" a tuple)
    params: dict[str, object] = field(default_factory=dict)  # [params]: extra request fields, sent as they are
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, for App.set_keymap
    lines: dict[str, int] = field(default_factory=dict)  # dotted key -> its line in the file

    def where(self, key: str) -> str:
        """``file:line`` where dotted ``key`` is set (the file alone when unknown), for messages."""
        line = self.lines.get(key)
        return f"{self.path}:{line}" if line else str(self.path)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the file (a missing file is an empty one) and apply the environment."""
    path = path or default_path()
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is not part of the TOML
    except FileNotFoundError:
        text, found = "", False
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it: {err.strerror}") from None
    else:
        found = True
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(_syntax_error(path, str(err))) from None
    except RecursionError:  # tomllib recurses into arrays and inline tables: "x = [[[[…"
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deep") from None
    except ValueError:  # int() refusing an integer of more than 4300 digits (sys.get_int_max_str_digits)
        raise ConfigError(f"{path}: invalid TOML: an integer too long to read") from None
    try:
        config = _from_file(path, found, data)
    except _KeyProblem as problem:
        line = _line_of(text, problem.key)
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: {problem.key}: {problem.message}") from None
    keys = [f"{table}.{key}" for table in ("sampling", "params", "keys") for key in getattr(config, table)]
    keys += ["servers"] if config.servers.value else []
    lines = {key: line for key in keys if (line := _line_of(text, key))}
    return _apply_env(replace(config, lines=lines), env)


class _KeyProblem(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


def _from_file(path: Path, found: bool, data: dict[str, object]) -> Config:
    if "api_key" in data:
        raise _KeyProblem("api_key", "the API key is not read from the config file (it would sit in plain "
                          "text there): set VLLM_API_KEY in the environment or pass --api-key")
    for key in data:
        if key not in TOP_LEVEL:
            raise _KeyProblem(key, f"unknown key (known: {', '.join(TOP_LEVEL)})")
    values: dict[str, object] = {"path": path, "found": found}
    if "url" in data:
        url = _string(data, "url")
        try:
            normalize_url(url)
        except ClientError as err:
            raise _KeyProblem("url", err.message) from None
        values["url"] = Setting(url, "file")
    if "api" in data:
        api = _string(data, "api")
        if api not in APIS:
            raise _KeyProblem("api", f"must be one of {', '.join(APIS)}, not {api!r}")
        values["api"] = Setting(api, "file")
    if "servers" in data:
        values["servers"] = Setting(_servers(data["servers"]), "file")
    for key in ("model", "theme", "system"):
        if key in data:
            values[key] = Setting(_string(data, key), "file")
    if "timeout" in data:
        timeout = _number(data, "timeout", float, "timeout")
        if not (math.isfinite(timeout) and timeout > 0):
            raise _KeyProblem("timeout", f"must be a positive number of seconds, not {timeout}")
        values["timeout"] = Setting(timeout, "file")
    values["sampling"] = _sampling(_table(data, "sampling"))
    values["params"] = _params(_table(data, "params"))
    keys = _table(data, "keys")
    values["keys"] = {binding: _string(keys, binding, f"keys.{binding}") for binding in keys}
    return Config(**values)  # type: ignore[arg-type]


def _servers(value: object) -> tuple[str, ...]:
    """``servers``: an array of ``"URL"``, ``"LABEL=URL"`` or ``{url = "...", label = "..."}``."""
    if not isinstance(value, list) or not value:
        raise _KeyProblem("servers", f"must be a non-empty array of server URLs, not {_kind(value)}")
    texts = []
    for i, item in enumerate(value, 1):
        if isinstance(item, dict):
            unknown = [k for k in item if k not in ("url", "label")]
            if unknown or "url" not in item:
                raise _KeyProblem("servers", f"server {i}: a table takes url and label, not {', '.join(unknown) or 'no url'}")
            url = _string(item, "url", "servers")
            item = f"{_string(item, 'label', 'servers')}={url}" if "label" in item else url
        if not isinstance(item, str) or not item.strip():
            raise _KeyProblem("servers", f"server {i} must be a URL (or LABEL=URL), not {_kind(item)}")
        texts.append(item)
    try:
        targets = targets_from(texts)
    except ValueError as err:
        raise _KeyProblem("servers", str(err)) from None
    for i, target in enumerate(targets, 1):
        try:
            normalize_url(target.url)
        except ClientError as err:
            raise _KeyProblem("servers", f"server {i} ({target.label}): {err.message}") from None
    return tuple(texts)


def _sampling(table: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        name = f"sampling.{key}"
        kind = SAMPLING_TYPES.get(key)
        if kind is None:
            raise _KeyProblem(name, f"unknown key (known: {', '.join(SAMPLING_TYPES)})")
        if kind is list:
            stops = [value] if isinstance(value, str) else value
            if not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
                raise _KeyProblem(name, f"must be a string or an array of strings, not {_kind(value)}")
            out[key] = tuple(stops)
        else:
            out[key] = _number(table, key, kind, name)
    problems = SamplingParams(**out).problems()  # type: ignore[arg-type]
    if problems:
        key, message = next(iter(problems.items()))
        raise _KeyProblem(f"sampling.{key}", message)
    return out


def _params(table: dict[str, object]) -> dict[str, object]:
    """[params]: request fields the app has no setting for, each a JSON value."""
    for key, value in table.items():
        name = f"params.{key}"
        problem = key_problem(key)
        if problem is None and key in OWN_FIELDS:
            own = OWN_FIELDS[key]
            where = f"[sampling] {own}" if own in SAMPLING_TYPES else _OWN_SETTING.get(own, own)
            problem = f"{key} has a setting of its own ({where}), not in [params]"
        problem = problem or value_problem(value)
        if problem:
            raise _KeyProblem(name, problem)
    return dict(table)


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    changes: dict[str, Setting[str]] = {}
    for key, var in ENV_VARS.items():
        value = env.get(var, "").strip()
        if not value:
            continue
        if key == "url":
            try:
                normalize_url(value)
            except ClientError as err:
                raise ConfigError(f"${var}: {err.message}") from None
        if key == "api" and value not in APIS:
            raise ConfigError(f"${var}: must be one of {', '.join(APIS)}, not {value!r}")
        changes[key] = Setting(value, f"${var}")
    return replace(config, **changes)


def _string(table: Mapping[str, object], key: str, name: str | None = None) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise _KeyProblem(name or key, f"must be a non-empty string, not {_kind(value)}")
    return value


def _number(table: Mapping[str, object], key: str, kind: type, name: str) -> int | float:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        raise _KeyProblem(name, f"must be {'a number' if kind is float else 'an integer'}, not {_kind(value)}")
    return float(value) if kind is float else value


def _table(data: Mapping[str, object], key: str) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _KeyProblem(key, f"must be a table ([{key}]), not {_kind(value)}")
    return value


def _kind(value: object) -> str:
    """What a TOML value is, for messages (values themselves are not repeated)."""
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "a string"
    names = {bool: "a boolean", int: "an integer", float: "a float", list: "an array", dict: "a table"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), "a date or time")


def _syntax_error(path: Path, message: str) -> str:
    """``file:line:column: invalid TOML: reason`` from tomllib's "reason (at line L, column C)"."""
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message)
    if found is None:
        return f"{path}: invalid TOML: {message}"
    return f"{path}:{found[2]}:{found[3]}: invalid TOML: {found[1]}"


def _line_of(text: str, dotted: str) -> int | None:
    """The line where a key is set, for ``[table]`` + ``key =`` and ``table.key =``."""
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$", line)
        if header:
            table = _unquote(header[1])
            continue
        assignment = re.match(r"\s*((?:\"[^\"]*\"|'[^']*'|[\w.\s-])+?)\s*=", line)
        if assignment and ".".join(filter(None, (table, _unquote(assignment[1])))) == dotted:
            return number
    return None


def _unquote(key: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in key.split("."))
