"""Every private Textual name the project reaches (ui/textual_compat.py) exists in the pinned version."""

from __future__ import annotations

import tomllib
from pathlib import Path

import textual

from tui_client.ui import textual_compat

ROOT = Path(__file__).parent.parent.parent


def test_the_installed_textual_is_the_version_the_module_was_written_for() -> None:
    assert textual.__version__ == textual_compat.TEXTUAL_VERSION


def test_the_pin_in_pyproject_is_that_version() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"textual=={textual_compat.TEXTUAL_VERSION}" in [d.replace(" ", "") for d in dependencies]


def test_every_private_name_of_the_widgets_section_exists() -> None:
    for owner, name in textual_compat.WIDGET_PRIVATE_NAMES:
        assert hasattr(owner, name), f"{owner.__qualname__}.{name} is gone"
    assert textual_compat.FooterKey.__module__ == "textual.widgets._footer"
    key = textual_compat.FooterKey("a", "a", "A", "app.bell", disabled=True)
    assert textual_compat.footer_key_disabled(key) is True


def test_every_private_name_of_the_app_section_exists() -> None:
    from textual.app import App

    app = App()
    instances = {App: app, textual_compat.Stylesheet: app.stylesheet}
    for owner, name in textual_compat.APP_PRIVATE_NAMES:
        assert hasattr(instances[owner], name), f"{owner.__qualname__}.{name} is gone"
    assert textual_compat.app_is_exiting(app) is False and dict(textual_compat.app_keymap(app)) == {}
    assert textual_compat.stylesheet_mentions(app, "no such rule anywhere") is False


def test_size_updated_still_takes_a_layout_switch() -> None:
    import inspect

    from textual.widget import Widget

    assert "layout" in inspect.signature(Widget._size_updated).parameters


def test_the_styles_cache_methods_side_borders_override_keep_their_parameters() -> None:
    """SideBorderCache overrides StylesCache.render and render_line and calls them on: an
    upgrade that changes their parameters must fail here, not draw wrong lines."""
    import inspect

    from textual._styles_cache import StylesCache
    from textual.widget import Widget

    for name in ("render", "render_line"):
        theirs = list(inspect.signature(getattr(StylesCache, name)).parameters)
        ours = list(inspect.signature(getattr(textual_compat.SideBorderCache, name)).parameters)
        assert theirs == ours, name
    widget = Widget()
    assert isinstance(widget._styles_cache, StylesCache)
    textual_compat.use_side_border_cache(widget)
    assert isinstance(widget._styles_cache, textual_compat.SideBorderCache)
