"""Every use of Textual's private API, in one place, checked against the pinned version.

Textual is pinned (``pyproject.toml``); ``tests/unit/test_textual_compat.py`` fails
when an upgrade removes or renames what this module reaches into.
"""

from __future__ import annotations

TEXTUAL_VERSION = "8.2.8"
"""The version every function below was written against (the pin in pyproject.toml)."""


# -- the app and its screens ---------------------------------------------------------

from collections.abc import Callable, Mapping
from typing import Any

from textual.app import App
from textual.message_pump import MessagePump


def call_after_refresh_scheduled(node: MessagePump, callback: Callable[..., object], *args: Any) -> bool:
    """``node.call_after_refresh(callback, *args)``; False when it could not be scheduled
    (the message pump is closing: the return value is not in Textual's guide)."""
    return node.call_after_refresh(callback, *args)


def app_is_exiting(app: App[Any]) -> bool:
    """True once ``app.exit()`` was called (Textual's private ``App._exit``)."""
    return bool(app._exit)


def app_keymap(app: App[Any]) -> Mapping[str, str]:
    """The keymap set with ``app.set_keymap`` (binding id -> keys; Textual's private ``App._keymap``)."""
    return app._keymap


def stylesheet_mentions(app: App[Any], text: str) -> bool:
    """True when some CSS the app loaded contains ``text`` (Textual's private ``Stylesheet.source``)."""
    return any(text in source.content for source in app.stylesheet.source.values())





# -- widgets ---------------------------------------------------------------------------
