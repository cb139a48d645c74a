"""The three wire protocols as three small adapters over one interface.

An adapter knows its path, how to build a request body, and how to apply what the
server sends to a :class:`RunState`. It does no I/O; :mod:`.client` does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from tui_client.core.protocol.errors import ClientError, ErrorKind
from tui_client.core.protocol.framing import RecordSplitter, SSEDecoder
from tui_client.core.protocol.params import GenerationRequest
from tui_client.core.protocol.state import Api, Candidate, RankedBeam, RunState, Status, Usage
from tui_client.core.protocol.token_logprobs import TokenAligner, WireToken, chat_tokens, completions_tokens
from tui_client.core.text.wording import count_of


def loads(raw: bytes) -> Any:
    """Parse JSON; invalid UTF-8 inside is replaced (U+FFFD), never fatal."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return orjson.loads(raw.decode("utf-8", "replace"))


class Adapter:
    """Base: one protocol. Subclasses fill in the body and the parsing."""

    api: ClassVar[Api]
    path: ClassVar[str]

    def __init__(self, state: RunState, *, max_line_bytes: int) -> None:
        self.state = state
        self.max_line_bytes = max_line_bytes
        self.malformed = 0  # records / events that were not valid JSON of the right shape
        self.done = False  # the server said the run is over ([DONE]); the legacy stream never does
        self.valid = 0
        self.late_text: set[int] = set()  # candidates that got text after their finish_reason

    def body(self, request: GenerationRequest, model: str | None) -> dict[str, object]:
        raise NotImplementedError

    def request_body(self, request: GenerationRequest, model: str | None) -> dict[str, object]:
        """The body sent: :meth:`body`, then the request's extra fields. An extra field the
        body already has (a front end lets none through) is refused, never sent twice."""
        body = self.body(request, model)
        taken = [key for key in request.extra if key in body]
        if taken:
            raise ClientError(ErrorKind.INVALID, f"{taken[0]} is set by the app itself in this request, not as an "
                              "extra field", field="extra")
        body.update(request.extra)
        return body

    def feed(self, chunk: bytes) -> set[int]:
        """Apply one network read of a streaming answer; return the changed indices."""
        raise NotImplementedError

    def end_of_stream(self) -> set[int]:
        """The body ended; apply what is left. Raise if the stream was cut short."""
        raise NotImplementedError

    def apply_complete(self, data: Any) -> None:
        """Apply a whole non-streaming answer."""
        raise NotImplementedError

    def _index(self, choice: Any) -> int | None:
        """The choice's candidate index, or None (noted) when it is not a sane one.

        A choice without one is candidate 0 when n is 1 (single-choice servers leave it out)."""
        index = choice.get("index") if isinstance(choice, dict) else None
        n = self.state.request.params.n
        if index is None and n == 1 and isinstance(choice, dict):
            return 0
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < max(4 * n, n + 64):
            self._note_malformed()
            return None
        return index

    def _bad_shape(self, what: str) -> ClientError:
        return ClientError(ErrorKind.BAD_RESPONSE, f"the server's answer is not a vLLM {self.api.value} response ({what})")

    def _note_malformed(self) -> None:
        self.malformed += 1

    def notes(self) -> list[str]:
        """What the user should know about how the server behaved."""
        out = []
        if self.malformed:
            out.append(f"skipped {self.malformed} malformed line(s) from the server")
        n, got = self.state.request.params.n, len(self.state.candidates)
        if got > n:
            out.append(f"the server sent {got} candidates for n={n}")
        late = sorted(self.late_text)
        if late:
            out.append(f"candidate(s) {_list(late)} got text after it finished (kept)")
        return out


IDLE_LINES_DONE = 2
"""A legacy candidate unchanged for this many lines in a row while others grow is shown as
finished (old vLLM kept finished candidates in every line; it goes on if it grows again)."""


class GenerateAdapter(Adapter):
    """Legacy ``POST /generate``: cumulative ``{"text": [prompt + output, ...]}`` records."""

    api = Api.GENERATE
    path = "/generate"

    def __init__(self, state: RunState, *, max_line_bytes: int) -> None:
        super().__init__(state, max_line_bytes=max_line_bytes)
        self._splitter = RecordSplitter(max_line_bytes)
        self._prompt = state.request.prompt
        self._idle: dict[int, int] = {}  # candidate -> lines in a row it did not change while others did
        self.extra_beams = 0  # the most beams a line listed, when more than n

    def body(self, request: GenerationRequest, model: str | None) -> dict[str, object]:
        body = {"prompt": request.prompt, **request.params.vllm_fields(), "stream": request.stream}
        if request.params.beam_search:
            body["best_of"] = request.params.n  # the beam width (old vLLM: best_of beams, the top n returned)
        return body

    def _texts(self, data: Any) -> list[str] | None:
        texts = data.get("text") if isinstance(data, dict) else None
        if isinstance(texts, list) and all(isinstance(t, str) for t in texts):
            return texts
        return None

    def _parse(self, raw: bytes) -> list[str] | None:
        try:
            texts = self._texts(loads(raw))
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            texts = None
        if texts is None:
            self._note_malformed()
        else:
            self.valid += 1
        return texts

    def _apply_records(self, records: list[bytes]) -> set[int]:
        """Apply the records one network read completed.

        Records are cumulative, so the newest valid one usually holds everything and
        the others are skipped unparsed (the quadratic part of this protocol). Not
        when candidates dropped out of the list on the way: then every record counts.
        """
        if not records:
            return set()
        if self.state.beams:  # each line is a whole ranking: the newest is all that counts
            for pos in range(len(records) - 1, -1, -1):
                texts = self._parse(records[pos])
                if texts is not None:
                    self.state.beam_step += pos  # the lines skipped were steps too
                    return self._apply_ranking(texts)
            return set()
        open_before = sum(1 for c in self.state.candidates.values() if not c.status.done)
        for pos in range(len(records) - 1, -1, -1):
            texts = self._parse(records[pos])
            if texts is None:
                continue
            # (Before any candidate is known, a newest line shorter than n may hide drop-outs too.)
            if pos == 0 or len(texts) >= max(open_before, 0 if self.state.candidates else self.state.request.params.n):
                return self._apply_texts(texts)
            changed: set[int] = set()
            for raw in records[:pos]:
                older = self._parse(raw)
                if older is not None:
                    changed |= self._apply_texts(older)
            return changed | self._apply_texts(texts)
        return set()

    def _apply_texts(self, texts: list[str]) -> set[int]:
        if self.state.beams:
            return self._apply_ranking(texts)
        return self._apply_sampled(texts)

    def _apply_ranking(self, texts: list[str]) -> set[int]:
        """Beam search: each line is the current top n, best first (old vLLM's ``/generate``).

        A beam listed unchanged from the line before has ended (EOS: vLLM says nothing more).
        """
        state, prompt, n = self.state, self._prompt, self.state.request.params.n
        if len(texts) > n:
            self.extra_beams = max(self.extra_beams, len(texts))
        ranked = [full[len(prompt) :] if full.startswith(prompt) else full for full in texts[:n]]
        before = {c.text for c in state.candidates.values()} if state.beam_step else set()
        return state.apply_ranking([RankedBeam(text, finished=text in before) for text in ranked])

    def _apply_sampled(self, texts: list[str]) -> set[int]:
        """Match each entry to the candidate whose text it extends, wherever it stands.

        vLLM 0.32 lists the candidates still running, in index order: a finished one
        drops out (16 entries, then 14, then 13). Older releases sorted the entries by
        cumulative logprob on every line, so they change places, and kept finished ones
        in the list, unchanged. Either way an entry's position is not its index.
        """
        state, now, prompt = self.state, self.state.now(), self._prompt
        entries = [full[len(prompt) :] if full.startswith(prompt) else full for full in texts]
        matched = self._match(entries)
        changed: set[int] = set()
        seen: set[int] = set()
        for pos, text in enumerate(entries):
            cand = matched.get(pos)
            if cand is None:  # more entries than candidates so far (early lines may hold fewer than n)
                cand = state.candidate(max(state.candidates, default=-1) + 1)
            seen.add(cand.index)
            if text != cand.text:
                state.set_text(cand, text, now)
                if cand.status is Status.FINISHED:  # it only paused: it goes on
                    cand.status = Status.STREAMING
                self._idle.pop(cand.index, None)
                changed.add(cand.index)
        for cand in state.candidates.values():
            if cand.status.done or cand.index in changed:
                continue
            if cand.index not in seen:
                cand.status = Status.FINISHED  # it dropped out of the list
                changed.add(cand.index)
            elif changed:  # unchanged while others went on
                idle = self._idle[cand.index] = self._idle.get(cand.index, 0) + 1
                if idle >= IDLE_LINES_DONE:
                    cand.status = Status.FINISHED
                    changed.add(cand.index)
        if changed:
            state.version += 1
        return changed

    def _match(self, entries: list[str]) -> dict[int, Candidate]:
        """Entry position -> the candidate it continues (unmatched entries are new candidates)."""
        cands = self.state.ordered()
        live = [c for c in cands if not c.status.done]
        if len(entries) == len(live) and all(e.startswith(c.text) for e, c in zip(entries, live)):
            return dict(enumerate(live))  # the usual line: same candidates, same order
        # Longest text first (an empty text would match anything); then a candidate still open
        # (over one that dropped out with the same text); then the nearest position.
        pairs = sorted(
            (-len(c.text), c.status.done, abs(pos - k), pos, k)
            for pos, entry in enumerate(entries)
            for k, c in enumerate(cands)
            if c.text and entry.startswith(c.text)
        )
        matched: dict[int, Candidate] = {}
        taken: set[int] = set()
        for *_, pos, k in pairs:
            if pos not in matched and k not in taken:
                matched[pos] = cands[k]
                taken.add(k)
        # The rest go, in order, to candidates still open that no entry continues: empty ones
        # (nothing generated yet), or, on a line as long as the open ones, any (not cumulative).
        rest = [c for k, c in enumerate(cands) if k not in taken and not c.status.done
                and (not c.text or len(entries) == len(live))]
        for pos in range(len(entries)):
            if pos not in matched and rest:
                matched[pos] = rest.pop(0)
        return matched

    def feed(self, chunk: bytes) -> set[int]:
        return self._apply_records(self._splitter.feed(chunk))

    def notes(self) -> list[str]:
        out = super().notes()
        if self.extra_beams:
            out.append(f"the server listed {self.extra_beams} beams for n={self.state.request.params.n}: the top n are shown")
        return out

    def end_of_stream(self) -> set[int]:
        tail = self._splitter.close()
        changed = self._apply_records([tail]) if tail else set()
        if self.valid == 0 and self.malformed:
            raise self._bad_shape("no line was a JSON object with a \"text\" list")
        return changed

    def apply_complete(self, data: Any) -> None:
        texts = self._texts(data)
        if texts is None:
            raise self._bad_shape('expected {"text": [...]}')
        self._apply_texts(texts)


class _OpenAIAdapter(Adapter):
    """Shared by completions and chat: SSE deltas per choice, usage, ``[DONE]``."""

    def __init__(self, state: RunState, *, max_line_bytes: int) -> None:
        super().__init__(state, max_line_bytes=max_line_bytes)
        self._sse = SSEDecoder(max_line_bytes)
        self.after_done = 0  # events that came after [DONE] (ignored)
        self._logprobs = bool(state.request.params.logprobs)
        self._aligners: dict[int, TokenAligner] = {}  # only for candidates whose tokens did not simply match
        self.text_without_logprobs = 0  # events with text but no token logprobs, though asked for
        self.reasoning_chars: dict[int, int] = {}  # chat: candidate -> characters of reasoning text (not shown)

    def _common_body(self, request: GenerationRequest, model: str | None) -> dict[str, object]:
        body: dict[str, object] = {}
        if model:
            body["model"] = model
        body.update(request.params.vllm_fields())
        if request.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    @staticmethod
    def _delta_text(choice: dict[str, Any]) -> Any:
        raise NotImplementedError

    @staticmethod
    def _final_text(choice: dict[str, Any]) -> Any:
        raise NotImplementedError

    @staticmethod
    def _wire_tokens(logprobs: Any) -> list[WireToken] | None:
        raise NotImplementedError

    def _add_tokens(self, cand: Candidate, text: Any, logprobs: Any, final: bool) -> bool:
        """Append the tokens of one choice's event (or whole answer); True if any were added."""
        text = text if isinstance(text, str) else ""
        tokens = self._wire_tokens(logprobs) if logprobs is not None else None
        if not tokens:
            if text:
                self.text_without_logprobs += 1
            tokens = []
        aligner = self._aligners.get(cand.index)
        if tokens and (aligner is None or aligner.idle):
            if len(tokens) == 1 and tokens[0][0] == text:  # the usual event: one token, its text
                token = tokens[0]
                cand.add_tokens([text], [token[2]], [token[3]])
                return True
            if "".join([t[0] for t in tokens]) == text:
                cand.add_tokens([t[0] for t in tokens], [t[2] for t in tokens], [t[3] for t in tokens])
                return True
        if not tokens and not text and (aligner is None or not final):
            return False
        if aligner is None:
            aligner = self._aligners[cand.index] = TokenAligner()
        texts, values, tops = aligner.feed(text, tokens, final=final)
        if texts:
            cand.add_tokens(texts, values, tops)
        return bool(texts)

    def _count_reasoning(self, index: int, choice: dict[str, Any]) -> None:
        """Chat: the reasoning text a vLLM reasoning parser sends beside the content (``reasoning``,
        before vLLM 0.10 ``reasoning_content``) is counted, for a note: the panels show the content."""

    @staticmethod
    def _is_token(choice: dict[str, Any]) -> bool:
        """Whether this choice's event stands for one generated token (vLLM sends one per token,
        with empty text while a character's bytes are incomplete)."""
        return True

    def notes(self) -> list[str]:
        out = super().notes()
        if self.text_without_logprobs:
            out.append(f"the server sent {self.text_without_logprobs} piece(s) of text without logprobs")
        if self.after_done:
            out.append(f"ignored {count_of(self.after_done, 'event')} the server sent after [DONE]")
        if self.reasoning_chars:
            total = sum(self.reasoning_chars.values())
            out.append(f"the server sent {count_of(total, 'character')} of reasoning text (its reasoning parser) "
                       f"beside the replies of {count_of(len(self.reasoning_chars), 'candidate')}: not shown, not saved")
        return out

    def _apply_events(self, events: list[tuple[str, bytes]]) -> set[int]:
        state, now = self.state, self.state.now()
        changed: set[int] = set()
        for kind, data in events:
            if self.done:
                self.after_done += 1
                continue
            if not data.startswith(b"{") and data.strip() == b"[DONE]":
                self.done = True
                continue
            try:
                obj = loads(data)
            except (orjson.JSONDecodeError, UnicodeDecodeError):
                self._note_malformed()
                continue
            if not isinstance(obj, dict):
                self._note_malformed()
                continue
            if "error" in obj or kind == "error":
                raise ClientError(ErrorKind.HTTP, f"the server reported an error mid-stream: {error_message(obj)}")
            choices = obj.get("choices")
            usage = obj.get("usage")
            if choices is None and isinstance(usage, dict):
                choices = []  # the usage event, said with "choices": null
            if not isinstance(choices, list):
                self._note_malformed()
                continue
            self.valid += 1
            if usage:
                state.usage = Usage.from_json(usage)
            for choice in choices:
                index = self._index(choice)
                if index is None:
                    continue
                cand = state.candidate(index)
                delta = self._delta_text(choice)
                self._count_reasoning(index, choice)
                if self._is_token(choice):
                    cand.tokens = (cand.tokens or 0) + 1
                if isinstance(delta, str) and delta:
                    if cand.finish_reason is not None:
                        self.late_text.add(index)
                    state.append_text(cand, delta, now)
                    changed.add(index)
                elif cand.status is Status.WAITING:
                    cand.status = Status.STREAMING
                reason = choice.get("finish_reason")
                if self._logprobs and self._add_tokens(cand, delta, choice.get("logprobs"), bool(reason)):
                    changed.add(index)
                if reason:
                    cand.finish_reason = str(reason)
                    cand.stop_reason = choice.get("stop_reason")
                    cand.status = Status.FINISHED
                    changed.add(index)
        if changed:
            state.version += 1
        return changed

    def feed(self, chunk: bytes) -> set[int]:
        return self._apply_events(self._sse.feed(chunk))

    def end_of_stream(self) -> set[int]:
        changed = self._apply_events(self._sse.close())
        self._usage_tokens()
        if self.valid == 0 and self.malformed:
            raise self._bad_shape("no event was a JSON object with \"choices\"")
        unfinished = [c.index for c in self.state.ordered() if c.finish_reason is None]
        if not self.done and (unfinished or not self.state.candidates):
            raise ClientError(
                ErrorKind.DISCONNECTED,
                "the stream ended before [DONE]"
                + (f" with candidate(s) {_list(unfinished)} unfinished" if unfinished else "")
                + "; the text received so far is kept",
            )
        return changed

    def apply_complete(self, data: Any) -> None:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list):
            raise self._bad_shape('expected {"choices": [...]}')
        state, now = self.state, self.state.now()
        for choice in choices:
            index = self._index(choice)
            if index is None:
                continue
            cand = state.candidate(index)
            text = self._final_text(choice)
            self._count_reasoning(index, choice)
            if isinstance(text, str):
                state.set_text(cand, text, now)
            if self._logprobs:
                self._add_tokens(cand, text, choice.get("logprobs"), True)
            cand.finish_reason = choice.get("finish_reason")
            cand.stop_reason = choice.get("stop_reason")
            cand.status = Status.FINISHED
        state.usage = Usage.from_json(data.get("usage"))
        self._usage_tokens()
        state.version += 1

    def _usage_tokens(self) -> None:
        """One candidate: its token count is the server's ``usage``, when sent (it counts what no event shows)."""
        usage, cands = self.state.usage, self.state.candidates
        if usage and usage.completion_tokens is not None and len(cands) == 1:
            next(iter(cands.values())).tokens = usage.completion_tokens


class CompletionsAdapter(_OpenAIAdapter):
    api = Api.COMPLETIONS
    path = "/v1/completions"

    def body(self, request: GenerationRequest, model: str | None) -> dict[str, object]:
        body = {"prompt": request.prompt, **self._common_body(request, model)}
        if request.params.logprobs:
            body["logprobs"] = request.params.logprobs
        return body

    @staticmethod
    def _delta_text(choice: dict[str, Any]) -> Any:
        return choice.get("text")

    _final_text = _delta_text
    _wire_tokens = staticmethod(completions_tokens)


class ChatAdapter(_OpenAIAdapter):
    api = Api.CHAT
    path = "/v1/chat/completions"

    def body(self, request: GenerationRequest, model: str | None) -> dict[str, object]:
        body = {"messages": request.messages(), **self._common_body(request, model)}
        if request.continues_reply:  # vLLM's fields for going on with the last assistant message
            body.update(add_generation_prompt=False, continue_final_message=True)
        if request.params.logprobs:
            body.update(logprobs=True, top_logprobs=request.params.logprobs)
        return body

    @staticmethod
    def _delta_text(choice: dict[str, Any]) -> Any:
        delta = choice.get("delta")
        return delta.get("content") if isinstance(delta, dict) else None

    @staticmethod
    def _is_token(choice: dict[str, Any]) -> bool:
        delta = choice.get("delta")
        return not (isinstance(delta, dict) and "role" in delta and not delta.get("content"))  # the role is no token

    def _count_reasoning(self, index: int, choice: dict[str, Any]) -> None:
        part = choice.get("delta") or choice.get("message")
        if isinstance(part, dict):
            reasoning = part.get("reasoning") or part.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                self.reasoning_chars[index] = self.reasoning_chars.get(index, 0) + len(reasoning)

    @staticmethod
    def _final_text(choice: dict[str, Any]) -> Any:
        message = choice.get("message")
        return message.get("content") if isinstance(message, dict) else None

    _wire_tokens = staticmethod(chat_tokens)


ADAPTERS: dict[Api, type[Adapter]] = {a.api: a for a in (GenerateAdapter, CompletionsAdapter, ChatAdapter)}


def error_message(obj: Any) -> str:
    """The human message in any of vLLM's / FastAPI's / OpenAI's error shapes."""
    if isinstance(obj, dict):
        err = obj.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        detail = obj.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail:  # FastAPI validation errors
            first = detail[0]
            if isinstance(first, dict):
                loc = ".".join(str(p) for p in first.get("loc", []) if p != "body")
                return f"{loc}: {first.get('msg', first)}" if loc else str(first.get("msg", first))
        if isinstance(obj.get("message"), str):
            return obj["message"]
    return str(obj)[:200]


def _list(items: list[int]) -> str:
    shown = ", ".join(str(i) for i in items[:8])
    return shown + (f" and {len(items) - 8} more" if len(items) > 8 else "")
