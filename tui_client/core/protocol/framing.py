"""Byte-level framing of the two stream formats, free of I/O so it can be fuzzed.

* :class:`RecordSplitter`: the legacy ``/generate`` stream, JSON records ended by
  ``\\n`` (vLLM from 2024 on) or ``\\0`` (older releases). Records are cumulative,
  so when one network read completes several, only the newest matters.
* :class:`SSEDecoder`: Server-Sent Events as the WHATWG spec defines them
  (``\\n``, ``\\r\\n`` or ``\\r`` line ends, ``:`` comments, ``event:`` fields,
  multi-line ``data:``), fed arbitrary byte chunks.

Both work on bytes and cut only at ASCII delimiters, so a UTF-8 character split
across chunks is never decoded in halves.
"""

from __future__ import annotations

from tui_client.core.defaults import DEFAULT_MAX_LINE_BYTES
from tui_client.core.protocol.errors import ClientError, ErrorKind


def _too_large(limit: int) -> ClientError:
    return ClientError(
        ErrorKind.TOO_LARGE,
        f"the server sent a single line longer than {limit:,} bytes; stopped reading "
        "(raise the limit with --max-line-bytes if this is expected)",
    )


class RecordSplitter:
    """Split a byte stream into records at ``\\n`` or ``\\0``.

    A legacy record can be megabytes long and arrive in many reads: the reads are
    kept as they are and joined once, when the record is complete (each byte is
    copied twice in all: the join and the split, whatever the record's size).
    """

    def __init__(self, max_record_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._pieces: list[bytes | memoryview] = []  # the unterminated record so far
        self._size = 0
        self._max = max_record_bytes

    def feed(self, chunk: bytes) -> list[bytes]:
        """Return the records this chunk completed (non-empty, oldest first)."""
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\0")) + 1
        if end == 0:
            if chunk:
                self._pieces.append(chunk)
                self._size += len(chunk)
                if self._size > self._max:
                    raise _too_large(self._max)
            return []
        view = memoryview(chunk)
        if self._pieces:
            self._pieces.append(view[:end])
            data = b"".join(self._pieces)
        else:
            data = chunk if end == len(chunk) else chunk[:end]
        rest = len(chunk) - end
        self._pieces = [view[end:]] if rest else []
        self._size = rest
        if rest > self._max:
            raise _too_large(self._max)
        if b"\0" in data:
            data = data.replace(b"\0", b"\n")
        return [r for r in data.split(b"\n") if r and not r.isspace()]

    def close(self) -> bytes:
        """The unterminated tail left when the stream ended (may be a last record)."""
        tail = b"".join(self._pieces)
        self._pieces, self._size = [], 0
        return tail if tail.strip() else b""


class SSEDecoder:
    """Turn bytes into SSE events; each event is returned as ``(event_type, data)``."""

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._size = 0
        self._event = b""
        self._max = max_event_bytes
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the \n of a \r\n split across chunks
        self._pending_cr = False
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            if buf.endswith(b"\r"):
                self._pending_cr = True
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = buf.rfind(b"\n")
        if end < 0:
            self._buf = buf
            if len(buf) + self._size > self._max:
                raise _too_large(self._max)
            return []
        self._buf = buf[end + 1 :]
        events: list[tuple[str, bytes]] = []
        for line in buf[:end].split(b"\n"):
            if not line:
                if self._data:
                    events.append((self._event.decode("utf-8", "replace") or "message", b"\n".join(self._data)))
                self._data, self._size, self._event = [], 0, b""
                continue
            if line.startswith(b":"):
                continue  # comment / keep-alive
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                self._data.append(value)
                self._size += len(value)
                if self._size > self._max:
                    raise _too_large(self._max)
            elif name == b"event":
                self._event = value
            # id:, retry: and unknown fields are ignored, as the spec says
        return events

    def close(self) -> list[tuple[str, bytes]]:
        """Flush at end of stream: a last event without its blank line still counts."""
        events = self.feed(b"\n\n") if (self._buf or self._data) else []
        return events
