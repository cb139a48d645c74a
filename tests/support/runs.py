"""A finished run built in memory (no server), for the history and export tests."""

from __future__ import annotations

import math
from dataclasses import replace

from tui_client.core.protocol import Api, GenerationRequest, RunState, SamplingParams, ServerInfo, Status, Usage


def ended_run(prompt: str = "Once upon", texts: tuple[str, ...] = (" a time", " a mattress"), **kw: object) -> RunState:
    params = SamplingParams(n=len(texts), temperature=0.7, top_k=40, max_tokens=12, seed=3, stop=("\n", "|"))
    server = ServerInfo("http://h:8000", Api.COMPLETIONS, "m1", "0.32.0")
    state = RunState(GenerationRequest(prompt, params, stream=True), server)
    for i, text in enumerate(texts):
        cand = state.candidate(i)
        state.append_text(cand, text, now=0.1 + i)
        cand.finish_reason, cand.stop_reason, cand.tokens = "stop", "\n", 3 + i
    state.usage = Usage(5, 7, 12)
    state.notes.append("1 of 2 candidates returned")
    state.finish(kw.get("status", Status.FINISHED), kw.get("error"))  # type: ignore[arg-type]
    return state


def logprob_run() -> RunState:
    """A finished ``--logprobs 2`` run with the awkward cases: minus infinity, a token without a
    logprob (NaN), an end-of-sequence token with no text, pipes, backticks, non-ASCII."""
    state = ended_run(texts=(" a | `b`", " 日本"))
    state.request = GenerationRequest(state.request.prompt, replace(state.request.params, logprobs=2), stream=True)
    first, second = state.candidates[0], state.candidates[1]
    first.add_tokens([" a", " |", " `b`", ""], [-0.5, -math.inf, math.nan, -1.25],
                     [((" a", -0.5), (" the", -1.0)), ((" |", -math.inf),), (), (("<|im_end|>", -1.25), ("\n", -2.0))])
    second.add_tokens([" 日", "本"], [-2.0, -0.125], [((" 日", -2.0), (" 月", -2.0)), (("本", -0.125),)])
    return state
