"""`tui-client history list|show|tree|export|delete`, and saving a headless run to the history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui_client.cli.streams import escape_json_for
from tui_client.core.defaults import HISTORY_LIST_PREVIEW_CHARS
from tui_client.core.protocol import RunState
from tui_client.core.protocol.compare import CompareState
from tui_client.core.storage.export import FORMATS, describe_parent, tree_lines
from tui_client.core.storage.history import HistoryError, HistoryStore
from tui_client.core.text.inert_text import make_inert

__all__ = ["history_command", "save_compare_to_history", "save_to_history"]


def history_command(args: argparse.Namespace) -> int:
    """Run one history action: 0 done, 1 no such run or unusable history."""
    try:
        with HistoryStore(read_only=args.action != "delete") as store:
            if args.action == "list":
                for summary in store.list(limit=args.limit, search=args.search):
                    preview = summary.prompt_preview
                    servers = f" ×{summary.servers} servers" if summary.servers > 1 else ""
                    preview = repr(preview[:HISTORY_LIST_PREVIEW_CHARS]) + (
                        "…" if len(preview) > HISTORY_LIST_PREVIEW_CHARS else "")
                    print(f"{summary.id}  {summary.created:%Y-%m-%d %H:%M}  {summary.api or '-'}  "
                          f"{make_inert(summary.model or '-', exact=True)}  n={summary.n}{servers}  {summary.status.value}  {preview}")
                for skipped in store.skipped:
                    print(f"note: {make_inert(skipped, exact=True)}", file=sys.stderr)
                return 0
            if args.action == "tree":
                lines = store.tree(args.id)
                if not lines:
                    return _no_such_run(args.id)
                root = store.get(args.id)
                origin = root.request().parent if root is not None else None
                for line in tree_lines(lines, origin_note=describe_parent(origin) if origin else None):
                    print(line)
                return 0
            if args.action == "delete":
                if store.delete(args.id):
                    print(f"deleted run {args.id}")
                    return 0
                return _no_such_run(args.id)
            run = store.get(args.id)
    except HistoryError as err:
        print(f"tui-client: error: {err}", file=sys.stderr)
        return 1
    if run is None:
        return _no_such_run(args.id)
    if args.action == "show" and not args.json:
        print(make_inert(FORMATS["md"](run), exact=True), end="")
        return 0
    fmt = "json" if args.action == "show" else args.format
    text = FORMATS[fmt](run)
    output = getattr(args, "output", None)
    if output in (None, "-"):  # "-": standard output, as the other tools read it (not a file called "-")
        if fmt == "json":
            text = escape_json_for(sys.stdout, text)  # stays JSON on an ASCII stdout
        print(make_inert(text, exact=True) if sys.stdout.isatty() else text, end="")  # a terminal obeys escapes
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as err:
        print(f"tui-client: error: cannot write {args.output}: {err.strerror}", file=sys.stderr)
        return 1
    print(f"wrote run {args.id} to {args.output}", file=sys.stderr)
    return 0


def save_to_history(state: RunState) -> None:
    """Save a run; a history that cannot be written costs a note, not the run."""
    try:
        with HistoryStore() as store:
            store.save(state)
    except HistoryError as err:
        print(f"note: not saved to the history: {err}", file=sys.stderr)


def save_compare_to_history(compare: CompareState) -> None:
    """Save a comparison as one run with every server's result (a note when the history cannot be written)."""
    try:
        with HistoryStore() as store:
            store.save(compare.groups[0].state, compare)
    except HistoryError as err:
        print(f"note: not saved to the history: {err}", file=sys.stderr)


def _no_such_run(run_id: int) -> int:
    print(f"tui-client: error: no run {run_id} in the history (see tui-client history list)", file=sys.stderr)
    return 1
