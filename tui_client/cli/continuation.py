"""``generate --continue-from RUN:CANDIDATE``: the request that goes on from a history run's candidate."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import replace

from tui_client.cli.args import request_from_args
from tui_client.core.protocol import Api, GenerationRequest, Parent
from tui_client.core.protocol.continuation import continue_from
from tui_client.core.storage.history import HistoryError, HistoryStore

__all__ = ["ContinuationError", "continued_request"]


class ContinuationError(Exception):
    """The run or candidate to go on from cannot be used; ``str()`` is one line."""


def continued_request(args: argparse.Namespace, defaults: Mapping[str, object]) -> GenerationRequest:
    """The flags' request, going on from ``args.continue_from``; its API becomes ``args.api`` when none is given.

    The parameters, system prompt and extra fields are the parent run's, changed by the flags
    given; ``--prompt`` (or ``--prompt-file``) is the next user turn (chat) or text appended
    after the candidate's (completions, ``/generate``).
    """
    run_id, index = args.continue_from
    flag = f"--continue-from {run_id}:{index}"
    try:
        with HistoryStore(read_only=True) as store:
            run = store.get(run_id)
    except HistoryError as err:
        raise ContinuationError(f"{flag}: {err}") from None
    if run is None:
        raise ContinuationError(f"{flag}: no run {run_id} in the history (`tui-client history list` shows them)")
    candidates = run.state.candidates
    if index not in candidates:
        have = ", ".join(str(i) for i in sorted(candidates)) or "none"
        raise ContinuationError(f"{flag}: run {run_id} has no candidate {index} (it has {have})")
    parent = run.request()
    api = run.state.server.api
    if args.api is None and api is not None:
        args.api = api.value
    chat = (args.api or "") == Api.CHAT.value
    if chat != (api is Api.CHAT) and api is not None:
        raise ContinuationError(f"{flag}: run {run_id} was a {api.value} run; go on from it with --api {api.value} "
                                "(a chat conversation and a plain prompt do not convert)")
    inherited: dict[str, object] = {**parent.params.as_dict(), "stream": parent.stream, "prompt": ""}
    flags = request_from_args(args, defaults, inherited, configured_params=parent.extra, system=parent.system)
    params = replace(flags.params, beam_search=flags.params.beam_search or parent.params.beam_search,
                     length_penalty=parent.params.length_penalty if args.length_penalty is None else args.length_penalty)
    base = replace(parent, params=params, stream=flags.stream, system=flags.system, extra=flags.extra)
    return continue_from(base, candidates[index].text, chat=chat, next_turn=flags.prompt,
                         parent=Parent(run_id, index))
