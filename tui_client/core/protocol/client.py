"""HTTP: find out what a server speaks, send a request, turn the answer into events.

:class:`VLLMClient` is the one entry point the CLI, the TUI and the tests use::

    async with VLLMClient("http://localhost:8000") as client:
        async for event in client.generate(GenerationRequest("Hi", SamplingParams(n=4))):
            ...  # event.state is the live RunState

``generate`` never raises for a failed run: the last event is :class:`RunEnded` and
``state.error`` says what went wrong, with all text received before it kept.
Cancelling the consuming task closes the connection (vLLM then aborts the request)
and marks the run cancelled.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import httpx

from tui_client import __version__
from tui_client.core.defaults import (
    AFTER_DONE_GRACE,
    CONNECT_TIMEOUT,
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_MAX_TOTAL_CHARS,
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
)
from tui_client.core.protocol.apis import ADAPTERS, Adapter, error_message, loads
from tui_client.core.protocol.beam_runner import BeamRunner, find_eos
from tui_client.core.protocol.errors import ClientError, ErrorKind
from tui_client.core.protocol.params import GenerationRequest
from tui_client.core.protocol.state import (
    Api,
    CandidatesChanged,
    RunEnded,
    RunEvent,
    RunStarted,
    RunState,
    ServerInfo,
    Status,
)

# Paths people paste along with the server's address, and what they imply.
_KNOWN_SUFFIXES: list[tuple[str, Api | None]] = [
    ("/v1/chat/completions", Api.CHAT),
    ("/v1/completions", Api.COMPLETIONS),
    ("/v1/models", None),
    ("/generate", Api.GENERATE),
    ("/v1", None),
]


def normalize_url(url: str) -> tuple[str, Api | None]:
    """Base URL (scheme, host, port, proxy prefix) and the API an endpoint path implies.

    ``localhost:8000`` -> ``http://localhost:8000``; ``http://h/generate`` -> base
    ``http://h`` and :attr:`Api.GENERATE`; ``https://h/prefix/v1`` -> ``https://h/prefix``.
    """
    raw = url.strip()
    if "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
    except ValueError as err:  # "http://[::1": Invalid IPv6 URL
        raise ClientError(ErrorKind.INVALID, f"not a URL ({err}): {url!r}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(ErrorKind.INVALID, f"not an http(s) URL: {url!r}", field="url")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ClientError(ErrorKind.INVALID, f"bad port in URL {url!r}", field="url") from None
    try:  # what urlsplit lets through and httpx refuses: "http://256.256.256.256", "http://xn--.com"
        httpx.URL(urlunsplit((parts.scheme, parts.netloc, "", "", ""))).host  # noqa: B018
    except (httpx.InvalidURL, ValueError) as err:  # idna's errors are ValueErrors
        raise ClientError(ErrorKind.INVALID, f"not a URL ({err}): {url!r}", field="url") from None
    path = parts.path.rstrip("/")
    implied: Api | None = None
    for suffix, api in _KNOWN_SUFFIXES:
        if path.endswith(suffix):
            path, implied = path[: -len(suffix)], api
            break
    # user:password@ goes into an Authorization header (see _credentials), the query onto
    # every request (url_query), never into the base URL that messages, the header bar and
    # the history show.
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], path, "", "")), implied


def url_query(url: str) -> list[tuple[str, str]]:
    """The query of a URL (``?api-version=...``, a gateway's token): sent on every request, never shown."""
    raw = url.strip()
    return parse_qsl(urlsplit(raw if "://" in raw else "http://" + raw).query, keep_blank_values=True)


def shown_url(url: str | httpx.URL) -> str:
    """A URL fit to show: its query's values (which may be secrets) as ``…``, the keys kept."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    keys = "&".join(f"{key}=…" for key, _ in parse_qsl(parts.query, keep_blank_values=True)) or "…"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) + "?" + keys


def _credentials(url: str) -> tuple[str, str] | None:
    """``user:password`` from a URL, for HTTP Basic auth."""
    parts = urlsplit(url.strip() if "://" in url else "http://" + url.strip())
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


API_KEY_ENV_VARS = ("VLLM_API_KEY", "OPENAI_API_KEY")
"""The variables the API key is read from without ``--api-key``; the first one set wins."""


def api_key_from_env() -> str | None:
    """``$VLLM_API_KEY``, else ``$OPENAI_API_KEY``, else ``None`` (an empty variable is unset)."""
    return next((os.environ[var] for var in API_KEY_ENV_VARS if os.environ.get(var)), None)


def _header_safe_key(key: str) -> str:
    """The API key without surrounding whitespace (a key file's newline); refused, never shown,
    when it cannot be a header value (httpx would raise, and its message holds the key)."""
    key = key.strip()
    if not all(" " <= char <= "~" for char in key):
        what = "a control character (a newline?)" if any(char < " " or char == "\x7f" for char in key) else "non-ASCII text"
        raise ClientError(ErrorKind.INVALID, f"the API key (--api-key, $VLLM_API_KEY or $OPENAI_API_KEY) has {what}: "
                          "it cannot be sent in an HTTP header (the key is not shown)", field="api_key")
    return key


@dataclass(frozen=True)
class ModelCard:
    """One model ``/v1/models`` lists: its id and, when the server says, ``max_model_len``."""

    id: str
    max_model_len: int | None = None


def _context_length(value: object) -> int | None:
    """``max_model_len`` when it is a positive integer, else None (not said, or nonsense)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True)
class ClientConfig:
    """How to reach the server. ``api`` None means auto-detect."""

    url: str = DEFAULT_URL
    api: Api | None = None
    model: str | None = None
    api_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    verify: bool | str = True  # False with --insecure, a path with --ca-bundle
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_total_chars: int = DEFAULT_MAX_TOTAL_CHARS


class VLLMClient:
    """Talks to one server; detects its protocol once and remembers it."""

    def __init__(self, config: ClientConfig | str = DEFAULT_URL, **overrides: Any) -> None:
        if isinstance(config, str):
            config = ClientConfig(url=config, **overrides)
        elif overrides:
            config = ClientConfig(**{**config.__dict__, **overrides})
        self.config = config
        self.base_url, implied = normalize_url(config.url)
        self._api = config.api or implied
        self._server: ServerInfo | None = None
        self._eos: dict[str | None, int | None] = {}  # model -> its end-of-sequence id, once learnt
        self.cards_seen: tuple[dict[str, Any], ...] = ()
        """The model cards the last protocol detection read from ``/v1/models`` (max_model_len...)."""
        headers = {"User-Agent": f"tui-client/{__version__}"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {_header_safe_key(config.api_key)}"
        try:
            verify: bool | ssl.SSLContext = config.verify if isinstance(config.verify, bool) else _ca_context(config.verify)
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                headers=headers,
                timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, CONNECT_TIMEOUT)),
                verify=verify,
                auth=_credentials(config.url),
                params=url_query(config.url),
                follow_redirects=True,
                trust_env=False,
            )
        except (OSError, ssl.SSLError) as exc:  # --ca-bundle: missing, unreadable or not PEM
            raise ClientError(
                ErrorKind.TLS, f"cannot use CA bundle {config.verify!r}: {_short(str(exc))}", field="ca_bundle"
            ) from None

    async def __aenter__(self) -> VLLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def server(self) -> ServerInfo | None:
        """What :meth:`connect` found; None before it succeeded."""
        return self._server

    def assume_server(self, server: ServerInfo) -> None:
        """Take ``server`` as what :meth:`connect` found (another client detected it)."""
        self._server = server

    def describe(self) -> ServerInfo:
        """What is known so far, for display before/without a connection."""
        return self._server or ServerInfo(self.base_url, self._api, self.config.model)

    async def connect(self, *, refresh: bool = False) -> ServerInfo:
        """Check the server and settle protocol and model. Raises :class:`ClientError`."""
        if self._server is not None and not refresh:
            return self._server
        api, model = self._api, self.config.model
        if api is None or (api is not Api.GENERATE and model is None):
            found_models = await self._models(required=api is not None)
            if found_models is None:
                api = Api.GENERATE
                await self._reachable("/health")
            else:
                api = api or Api.COMPLETIONS
                model = model or (found_models[0] if found_models else None)
        else:
            await self._reachable("/health" if api is Api.GENERATE else "/v1/models")
        self._server = ServerInfo(self.base_url, api, model if api is not Api.GENERATE else None)
        return self._server

    async def _models(self, *, required: bool) -> list[str] | None:
        """Model ids from ``/v1/models``; None when the server has no OpenAI API."""
        cards = await self.model_cards(required=required)
        if cards is not None:
            self.cards_seen = tuple(cards)
        return None if cards is None else [card["id"] for card in cards]

    async def list_models(self) -> list[ModelCard] | None:
        """What ``/v1/models`` lists (ids and context lengths); None: the server has no OpenAI API
        (a legacy ``/generate`` server answers 404). Raises :class:`ClientError`."""
        cards = await self.model_cards(required=False, answer_404=True)
        return None if cards is None else [ModelCard(m["id"], _context_length(m.get("max_model_len"))) for m in cards]

    async def model_cards(self, *, required: bool = True, timeout: float | None = None,
                          answer_404: bool = False) -> list[dict[str, Any]] | None:
        """The model cards of ``/v1/models`` (each a dict with a string ``id``: root, parent,
        max_model_len...); None when the server has no OpenAI API (only when not ``required``);
        ``answer_404``: only a 404 is None, any other unusable answer raises."""
        resp = await self._request("GET", "/v1/models", timeout=timeout)
        if resp.status_code == 404 and not required:
            return None
        if resp.status_code >= 400:
            raise self._http_error(resp, resp.content)
        try:
            data = loads(resp.content)
        except Exception:
            if required or answer_404:
                raise self._not_json(resp, resp.content) from None
            return None
        try:
            cards = [m for m in data["data"] if isinstance(m.get("id"), str)]
        except Exception:
            if required or answer_404:  # JSON, but not {"data": [{"id": ...}]}: saying "not with JSON" misled
                url = shown_url(resp.request.url)
                raise ClientError(ErrorKind.BAD_RESPONSE, f"{url} answered {resp.status_code} with JSON that is not a "
                                  f'model list ({{"data": [{{"id": ...}}]}}): is this a vLLM server?', url=url,
                                  status=resp.status_code) from None
            return None
        return cards

    def with_choice(self, *, api: Api | None, model: str | None) -> VLLMClient:
        """A new client for the same server with another API (None: detect) and model (None: the
        first listed); it detects again. Closing this one is the caller's (once no run uses it)."""
        return VLLMClient(replace(self.config, api=api, model=model))

    async def _reachable(self, path: str) -> None:
        """The server answers. A 404 is fine (forks of the legacy server may lack /health);
        refusals and server errors are not."""
        resp = await self._request("GET", path)
        if resp.status_code >= 400 and resp.status_code != 404:
            raise self._http_error(resp, resp.content)

    async def _request(self, method: str, path: str, *, timeout: float | None = None) -> httpx.Response:
        try:
            if timeout is None:
                return await self._http.request(method, path)
            limit = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
            return await self._http.request(method, path, timeout=limit)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, path) from None

    async def get(self, path: str, *, timeout: float | None = None) -> httpx.Response:
        """One GET (``/version``, ``/metrics``) on this client's connection, headers and auth; any status.
        Raises :class:`ClientError` when no answer came (``timeout``: seconds, else the client's)."""
        return await self._request("GET", path, timeout=timeout)

    def status_error(self, resp: httpx.Response) -> ClientError:
        """An answer's error status (or an unexpected body) as the one line a run's failure would give."""
        return self._http_error(resp, resp.content)

    async def post_json(
        self, path: str, body: object, *, method: str = "POST", optional: bool = False, state: RunState | None = None
    ) -> Any:
        """One JSON request and its parsed answer; ``optional``: None for a 4xx answer.

        Raises :class:`ClientError` for a failed request, an error status or a non-JSON body.
        """
        for attempt in (1, 2):
            try:
                resp = await self._http.request(method, path, json=body) if body is not None else await self._http.request(method, path)
                break
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                # A kept-alive connection the server closed as this request went out: nothing of
                # an answer came, and these requests change nothing, so once more on a fresh one.
                if attempt == 2:
                    raise self._transport_error(exc, path, answered=False) from None
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, path) from None
        if state is not None:
            state.bytes_received += len(resp.content)
        if optional and 400 <= resp.status_code < 500:
            return None
        if resp.status_code >= 400:
            raise self._http_error(resp, resp.content)
        try:
            return loads(resp.content)
        except Exception:
            raise self._not_json(resp, resp.content) from None

    async def eos_token_id(self, model: str | None, prompt_ids: list[int], template_strs: list[str]) -> int | None:
        """The model's end-of-sequence id (learnt once per model): see :func:`.beam_runner.find_eos`."""
        if model not in self._eos:
            self._eos[model] = await find_eos(self, model, prompt_ids, template_strs)
        return self._eos[model]

    async def generate(self, request: GenerationRequest) -> AsyncIterator[RunEvent]:
        """Run one generation; yield events; the last one is :class:`RunEnded`."""
        state = RunState(request, self.describe())
        error: ClientError | None = None
        status = Status.FINISHED
        try:
            request.validate()
            state.server = await self.connect()
            legacy = state.server.api is Api.GENERATE
            request.validate(client_beams=not legacy, legacy=legacy, chat=state.server.api is Api.CHAT)
            if legacy and self.config.model:
                state.notes.append(f"model {self.config.model!r} ignored: the legacy /generate API takes no model name")
            async for event in self._events(request, state):
                yield event
        except ClientError as exc:
            if exc.url is None:
                exc.url = self.base_url
            error, status = exc, Status.FAILED
        except httpx.HTTPError as exc:
            error, status = self._transport_error(exc, state.server.url), Status.FAILED
        except (asyncio.CancelledError, GeneratorExit):
            state.finish(Status.CANCELLED)
            raise
        if status is Status.FINISHED and not state.candidates:
            n = request.params.n
            error, status = ClientError(
                ErrorKind.BAD_RESPONSE,
                f"{self.base_url} ended the run without a single candidate (0 of {n} returned)"
                + ("; see the notes for what it sent" if state.notes else ""),
                url=self.base_url,
            ), Status.FAILED
        state.finish(status, error)
        yield RunEnded(state)

    async def _events(self, request: GenerationRequest, state: RunState) -> AsyncIterator[RunEvent]:
        """The run's events up to its end; a live beam search where vLLM does not stream beams."""
        state.started = time.monotonic()  # time the request, not the detection
        if request.params.beam_search and request.stream and state.server.api is not Api.GENERATE:
            runner = BeamRunner(self, state)
            search = await runner.prepare()
            if not isinstance(search, str):
                if request.extra:
                    state.notes.append(f"the live beam search does not send the extra fields ({', '.join(request.extra)})")
                async for event in runner.run(search):
                    yield event
                return
            state.notes.append(f"{search}, which a live beam search needs: this is vLLM's own, shown when it ends")
            request = replace(request, stream=False)
        adapter = ADAPTERS[state.server.api](state, max_line_bytes=self.config.max_line_bytes)
        body = adapter.request_body(request, state.server.model)
        try:
            resp = await self._send_generation(adapter.path, body)
            try:
                yield RunStarted(state)
                if resp.status_code >= 400:
                    raise self._http_error(resp, await self._read_capped(resp))
                if request.stream and not (_is_json(resp) and state.server.api is not Api.GENERATE):
                    async for event in self._consume_stream(resp, adapter, state):
                        yield event
                else:
                    if request.stream:
                        state.notes.append("the server answered the stream request with one JSON body")
                    raw = await self._read_capped(resp)
                    state.bytes_received, state.body_ended_at = len(raw), state.now()
                    try:
                        data = loads(raw)
                    except Exception:
                        raise self._not_json(resp, raw) from None
                    if isinstance(data, dict) and "error" in data and "choices" not in data and "text" not in data:
                        raise ClientError(ErrorKind.HTTP, f"{shown_url(resp.request.url)} answered {resp.status_code} "
                                          f"with an error: {error_message(data)}", url=shown_url(resp.request.url),
                                          status=resp.status_code)
                    adapter.apply_complete(data)
                    self._check_size(state)
                    if request.stream:
                        yield CandidatesChanged(state, frozenset(state.candidates))
            finally:
                await resp.aclose()
        finally:
            state.notes.extend(adapter.notes())

    async def _send_generation(self, path: str, body: object) -> httpx.Response:
        """The generation request, its body left to read. A connection closed or reset before a
        byte of the answer (a kept-alive one the server dropped as the request went out) is tried
        once more, on a fresh connection: nothing was generated for this client."""
        for attempt in (1, 2):
            try:
                return await self._http.send(self._http.build_request("POST", path, json=body), stream=True)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if attempt == 2:
                    raise self._transport_error(exc, path, answered=False) from None
        raise AssertionError("unreachable")

    async def _consume_stream(self, resp: httpx.Response, adapter: Adapter, state: RunState) -> AsyncIterator[RunEvent]:
        received = 0
        limit = self.config.max_total_chars
        chunks = resp.aiter_bytes()
        async for chunk in chunks:
            received += len(chunk)
            state.bytes_received = received
            changed = adapter.feed(chunk)
            if changed:
                if received > limit:  # each character takes a byte at least: below that, no need to count
                    self._check_size(state)
                yield CandidatesChanged(state, frozenset(changed))
            if adapter.done:
                break
        state.body_ended_at = state.now()
        if adapter.done:
            await self._after_done(chunks, adapter)
        changed = adapter.end_of_stream()
        if changed:
            yield CandidatesChanged(state, frozenset(changed))

    @staticmethod
    async def _after_done(chunks: AsyncIterator[bytes], adapter: Adapter) -> None:
        """``[DONE]`` ended the run: what follows is read for :data:`AFTER_DONE_GRACE` at most, to be
        counted, never applied; then the connection is closed (a server may keep it open)."""
        try:
            async with asyncio.timeout(AFTER_DONE_GRACE):
                async for chunk in chunks:
                    adapter.feed(chunk)
        except (TimeoutError, httpx.HTTPError, ClientError):
            pass  # the run is over: nothing after [DONE] changes it

    def _check_size(self, state: RunState) -> None:
        limit = self.config.max_total_chars
        if state.total_chars > limit:
            raise ClientError(
                ErrorKind.TOO_LARGE,
                f"the run passed {limit:,} characters of text; stopped (the text so far is kept; "
                "raise the cap with --max-total-chars)",
            )

    async def _read_capped(self, resp: httpx.Response) -> bytes:
        out = bytearray()
        async for chunk in resp.aiter_bytes():
            out += chunk
            if len(out) > self.config.max_line_bytes:
                raise ClientError(
                    ErrorKind.TOO_LARGE,
                    f"the answer from {self.base_url} is larger than {self.config.max_line_bytes:,} bytes; stopped reading",
                )
        return bytes(out)

    # -- turning failures into one line each ---------------------------------------

    def _transport_error(self, exc: httpx.HTTPError, where: str, *, answered: bool = True) -> ClientError:
        """One line for a failed request; ``answered`` False: no byte of an answer had come."""
        url = self.base_url
        text = str(exc) or type(exc).__name__
        low = text.lower()
        if isinstance(exc, httpx.ConnectTimeout):
            return ClientError(ErrorKind.TIMEOUT, f"timed out connecting to {url}: is the host up and the port right?", url=url)
        if isinstance(exc, httpx.TimeoutException):
            return ClientError(
                ErrorKind.TIMEOUT,
                f"{url} sent nothing for {self.config.timeout:g} s; the text so far is kept "
                "(raise --timeout for long generations)",
                url=url,
            )
        if isinstance(exc, httpx.ConnectError):
            if any(s in low for s in ("name or service not known", "nodename nor servname", "name resolution", "getaddrinfo", "no address associated")):
                host = urlsplit(url).hostname
                return ClientError(ErrorKind.DNS, f"cannot resolve host {host!r} of {url}: check the spelling of --url", url=url)
            if isinstance(getattr(exc, "__context__", None), ssl.SSLError) or "certificate" in low or "ssl" in low:
                return ClientError(
                    ErrorKind.TLS,
                    f"TLS failed for {url} ({_short(text)}): pass --ca-bundle PATH, or --insecure to skip verification",
                    url=url,
                )
            return ClientError(
                ErrorKind.CONNECT,
                f"cannot connect to {url} (connection refused): is vLLM running there? "
                "Start one with `vllm serve MODEL`, pass --url, or try --demo",
                url=url,
            )
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)) and not answered:
            return ClientError(
                ErrorKind.DISCONNECTED,
                f"{url} closed the connection before answering ({_short(text)}), twice: no answer started; "
                "is the server restarting, or a proxy in between dropping requests?",
                url=url,
            )
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return ClientError(
                ErrorKind.DISCONNECTED,
                f"{url} closed the connection mid-answer ({_short(text)}); the text so far is kept",
                url=url,
            )
        if isinstance(exc, httpx.DecodingError):
            return ClientError(ErrorKind.BAD_RESPONSE, f"{url} sent a body that cannot be decoded ({_short(text)})", url=url)
        if isinstance(exc, httpx.TooManyRedirects):
            return ClientError(ErrorKind.HTTP, f"{url} redirects in a loop: check --url", url=url)
        return ClientError(ErrorKind.CONNECT, f"request to {url} failed: {_short(text)}", url=url)

    def _http_error(self, resp: httpx.Response, body: bytes) -> ClientError:
        url = shown_url(resp.request.url)
        status = resp.status_code
        wait = _retry_after(resp.headers.get("retry-after"))
        message: str | None = None
        if body.strip():  # an empty body: the status says it all (not "an empty text/plain")
            try:
                message = error_message(loads(body))
            except Exception:
                message = _describe_non_json(resp, body)
        if status in (401, 403):
            return ClientError(
                ErrorKind.AUTH,
                f"{url} answered {status} {message or _reason(status)}: pass the server's key with --api-key or VLLM_API_KEY",
                url=url,
                status=status,
            )
        head = f"{url} answered {status}: {message}" if message else f"{url} answered {status} {_reason(status)}"
        hint = ""
        if status == 404 and resp.request.url.path.endswith("/generate"):
            hint = " (this server has no legacy /generate: try --api completions, vLLM 0.25+ only speaks the OpenAI API)"
        elif status == 500 and resp.request.url.path.endswith("/generate"):
            hint = (" (the legacy server answers 500 to any parameter vLLM rejects, e.g. n > 1 with"
                    " temperature 0 on vLLM 0.32: see the server's log)")
        elif status == 404 and "/v1/" in resp.request.url.path and message in ("Not Found", "Not found"):
            hint = " (this server has no OpenAI API: try --api generate)"
        elif status == 429 and not wait:
            hint = ": wait a moment, then retry" if not message else " (wait a moment, then retry)"
        retry = (f"; retry in {wait}" if message else f": retry in {wait}") if wait else ""
        return ClientError(ErrorKind.HTTP, f"{head}{hint}{retry}", url=url, status=status)

    def _not_json(self, resp: httpx.Response, body: bytes) -> ClientError:
        url = shown_url(resp.request.url)
        return ClientError(
            ErrorKind.BAD_RESPONSE,
            f"{url} answered {resp.status_code} but not with JSON ({_describe_non_json(resp, body)}): "
            "is this a vLLM server, or a proxy page?",
            url=url,
            status=resp.status_code,
        )


def _is_json(resp: httpx.Response) -> bool:
    """The answer says it is one JSON document (``application/json``, ``+json``)."""
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "(no reason given)"


def _retry_after(value: str | None) -> str | None:
    """``Retry-After`` (seconds, or an HTTP date) as ``30 s`` / ``5 min``; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = int(value)
    else:
        try:
            seconds = round(parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    seconds = max(seconds, 1)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{-(-seconds // 60)} min"
    # A broken server's (or a hostile one's) 10**14 s is not 1,666,666,666,667 min.
    return f"{-(-seconds // 3600)} h" if seconds <= 48 * 3600 else "more than 2 days (as the server says)"


def _ca_context(path: str) -> ssl.SSLContext:
    """TLS verification against a CA bundle file (or a c_rehash'ed folder)."""
    if os.path.isdir(path):
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


def describe_body(resp: httpx.Response, body: bytes) -> str:
    """A short, safe description of a body that is not what was expected (HTML title, first words)."""
    return _describe_non_json(resp, body)


def _describe_non_json(resp: httpx.Response, body: bytes) -> str:
    """A short, safe description of a body that is not JSON (HTML title, first words)."""
    text = body[:4096].decode("utf-8", "replace")
    ctype = resp.headers.get("content-type", "").split(";")[0].strip()
    low = text.lower()
    if "<html" in low or "<!doctype" in low or ctype == "text/html":
        start = low.find("<title>")
        end = low.find("</title>", start)
        title = text[start + 7 : end].strip() if start >= 0 and end > start else ""
        return f"an HTML page{': ' + _short(title) if title else ''}"
    snippet = _short(text)
    return repr(snippet) if snippet else f"an empty {ctype or 'body'}"


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
