"""A finished run built in memory (no server), for the history and export tests."""

from __future__ import annotations

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
