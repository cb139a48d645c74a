"""`tui-client config path|show`: where the config file is, and each setting in effect with its source."""

from __future__ import annotations

import json
import os

from tui_client.core.defaults import GENERATE_DEFAULTS, TUI_DEFAULTS
from tui_client.core.protocol.client import API_KEY_ENV_VARS
from tui_client.core.protocol.errors import without_userinfo
from tui_client.core.storage.config import SAMPLING_TYPES, Config
from tui_client.core.storage.paths import config_path
from tui_client.core.text.inert_text import make_inert

__all__ = ["print_config_path", "print_settings", "show_config"]


def print_config_path() -> int:
    """`config path`: works even when the file is unusable (that is when it is needed)."""
    print(config_path())
    return 0


def print_settings(settings: Config) -> int:
    """`config show`, printed inert (the file's values are the user's text)."""
    print(make_inert(show_config(settings), exact=True), end="")
    return 0


def show_config(settings: Config) -> str:
    """Each setting, its effective value and its source, in aligned columns."""
    rows = [("config file", str(settings.path), "found" if settings.found else "not found")]
    for name in ("url", "api", "model", "timeout", "theme", "system"):
        setting = getattr(settings, name)
        shown = without_userinfo(_shown(setting.value)) if name == "url" else _shown(setting.value)
        rows.append((name, shown, setting.source))
    if settings.servers.value:
        rows.append(("servers", without_userinfo(_shown(settings.servers.value)), settings.servers.source))
    key_var = next((v for v in API_KEY_ENV_VARS if os.environ.get(v)), None)
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
    rows += [(f"params.{key}", json.dumps(value, ensure_ascii=False), "file") for key, value in settings.params.items()]
    rows += [(f"keys.{binding}", keys, "file") for binding, keys in settings.keys.items()]
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    return "".join(f"{name:<{width}}  {value:<{value_width}}  {source}\n" for name, value, source in rows)


def _shown(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and not value.isprintable():
        return json.dumps(value, ensure_ascii=False)  # a system prompt's newlines, on one line
    if isinstance(value, tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return f"{value:g}" if isinstance(value, float) else str(value)
