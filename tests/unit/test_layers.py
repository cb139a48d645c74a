"""The core must not depend on Textual (it serves the CLI, the TUI and tests).

A quick in-suite check; the full layer rules are import-linter contracts in
pyproject.toml, run by ``lint-imports`` in CI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parent.parent.parent / "tui_client"
# Everything but cli/tui.py (which starts the app) stays free of Textual and the UI.
UI_FREE = ["core", "demo", "cli/main.py", "cli/args.py", "cli/generate.py", "cli/history_cmd.py", "cli/config_cmd.py"]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level and node.module:
            names.add("." * node.level + node.module)
    return names


def test_core_demo_and_headless_import_nothing_from_textual_or_the_ui() -> None:
    files = [p for part in UI_FREE for p in ((PACKAGE / part).rglob("*.py") if (PACKAGE / part).is_dir() else [PACKAGE / part])]
    assert all(f.exists() for f in files), [f for f in files if not f.exists()]
    assert any("protocol" in str(f) for f in files)
    for path in files:
        for name in imported_modules(path):
            assert not name.split(".")[0] == "textual", f"{path} imports {name}"
            assert ".ui" not in name and not name.startswith("tui_client.ui"), f"{path} imports {name}"


def test_importing_the_protocol_layer_does_not_load_textual() -> None:
    code = "import sys, tui_client.core.protocol, tui_client.cli.generate; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_the_cli_does_not_load_textual() -> None:
    """`generate`, `history` and `config` start without paying for Textual."""
    code = "import sys, tui_client.cli.main, tui_client.core.storage.config; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
