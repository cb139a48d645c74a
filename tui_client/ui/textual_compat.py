"""Every use of Textual's private API, in one place, checked against the pinned version.

Textual is pinned (``pyproject.toml``); ``tests/unit/test_textual_compat.py`` fails
when an upgrade removes or renames what this module reaches into.
"""

from __future__ import annotations

TEXTUAL_VERSION = "8.2.8"
"""The version every function below was written against (the pin in pyproject.toml)."""


# -- the app and its screens ---------------------------------------------------------




# -- widgets ---------------------------------------------------------------------------
