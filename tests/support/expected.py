"""What a recording must come out as, read from its bytes with a plain, independent
reading of the wire format (never with the code under test)."""

from __future__ import annotations

import json

from replay_server import Recording

from tui_client.core.protocol import GenerationRequest, SamplingParams


def expected_openai(rec: Recording) -> tuple[dict[int, str], dict[int, str | None], dict | None]:
    """Texts, finish reasons and usage, read naively from the recorded body."""
    texts: dict[int, str] = {}
    reasons: dict[int, str | None] = {}
    usage = None
    body = rec.body.decode("utf-8")
    if not body.startswith("data:"):
        doc = json.loads(body)
        for ch in doc["choices"]:
            texts[ch["index"]] = ch.get("text", (ch.get("message") or {}).get("content"))
            reasons[ch["index"]] = ch["finish_reason"]
        return texts, reasons, doc["usage"]
    for event in body.split("\n\n"):
        if not event.startswith("data: ") or event == "data: [DONE]":
            continue
        doc = json.loads(event[len("data: ") :])
        usage = doc.get("usage") or usage
        for ch in doc["choices"]:
            piece = ch["text"] if "text" in ch else ch["delta"].get("content", "")
            texts[ch["index"]] = texts.get(ch["index"], "") + (piece or "")
            if ch["finish_reason"]:
                reasons[ch["index"]] = ch["finish_reason"]
    return texts, reasons, usage


def expected_legacy(rec: Recording) -> list[str]:
    """Final texts, sorted: an entry is final when no entry of the next line extends it.

    (vLLM drops finished candidates from the list, so the last line does not hold them all.)
    """
    prompt = rec.request["json"]["prompt"]
    lines = [json.loads(ln)["text"] for ln in rec.body.replace(b"\0", b"\n").split(b"\n") if ln.strip()]
    final = []
    for line, after in zip(lines, lines[1:] + [[]]):
        rest = list(after)
        for entry in line:
            successor = next((e for e in rest if e.startswith(entry)), None)
            if successor is None:
                final.append(entry[len(prompt) :])
            else:
                rest.remove(successor)
    return sorted(final)


SAMPLING_KEYS = ("n", "temperature", "top_p", "top_k", "max_tokens", "seed")
WIRE_KEYS = ("model", "prompt", "messages", "stream", "stream_options", "stop", "use_beam_search", "best_of",
             "length_penalty", "logprobs", "top_logprobs", *SAMPLING_KEYS)
"""The recorded body's keys a request's own fields make; any other key is an extra field."""


def request_for(rec: Recording) -> GenerationRequest:
    """The request that sends the recorded body: its own fields, the system message, the rest as extra."""
    body = rec.request["json"]
    roles = {m["role"]: m["content"] for m in body.get("messages", [])}
    prompt = body.get("prompt") or roles["user"]
    fields = {k: body[k] for k in SAMPLING_KEYS if k in body}
    logprobs = body.get("top_logprobs") if body.get("logprobs") is True else body.get("logprobs")  # chat | completions
    params = SamplingParams(**fields, stop=tuple(body.get("stop", ())), beam_search=body.get("use_beam_search", False),
                            length_penalty=body.get("length_penalty"), logprobs=logprobs)
    extra = {k: v for k, v in body.items() if k not in WIRE_KEYS}
    return GenerationRequest(prompt, params, stream=body.get("stream", False), system=roles.get("system"), extra=extra)


Token = tuple[str, float, list[tuple[str, float]]]


def expected_tokens(rec: Recording) -> dict[int, list[Token]]:
    """Each candidate's tokens (text piece, logprob, alternatives most probable first), read
    naively: completions pieces cut from the text at the recorded ``text_offset``s, chat
    pieces decoded from the recorded ``bytes``. -9999.0 is minus infinity."""
    def lp(value: float) -> float:
        return float("-inf") if value == -9999.0 else value

    def alts(pairs) -> list[tuple[str, float]]:
        return sorted(((t, lp(v)) for t, v in pairs), key=lambda pair: -pair[1])  # stable: ties keep the order

    out: dict[int, list[Token]] = {}
    texts: dict[int, str] = {}
    body = rec.body.decode("utf-8")
    choices = json.loads(body)["choices"] if not body.startswith("data:") else [
        ch for event in body.split("\n\n") if event.startswith("data: {")
        for ch in json.loads(event[len("data: "):])["choices"]]
    pending: dict[int, tuple[bytes, float, list]] = {}
    for ch in choices:
        i = ch["index"]
        before = texts.get(i, "")
        piece = ch.get("text", (ch.get("delta") or ch.get("message") or {}).get("content")) or ""
        texts[i] = after = before + piece
        lps = ch.get("logprobs")
        if not lps:
            continue
        if "tokens" in lps:  # completions: offsets into the text (from 0 for a whole answer)
            offsets = lps["text_offset"]
            ends = offsets[1:] + [len(after)]
            for k, token in enumerate(lps["tokens"]):
                out.setdefault(i, []).append((after[offsets[k]:ends[k]], lp(lps["token_logprobs"][k]),
                                              alts(lps["top_logprobs"][k].items())))
            continue
        for item in lps["content"]:  # chat: bytes, joined until they decode
            raw, total, top = pending.pop(i, (b"", 0.0, None))
            raw, total = raw + bytes(item["bytes"]), total + lp(item["logprob"])
            top = top if top is not None else alts((a["token"], a["logprob"]) for a in item["top_logprobs"])
            try:
                out.setdefault(i, []).append((raw.decode("utf-8"), total, top))
            except UnicodeDecodeError:
                pending[i] = (raw, total, top)
    return out
