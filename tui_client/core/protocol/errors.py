"""One typed error for everything that can go wrong talking to a server.

Every failure the protocol layer knows about becomes a :class:`ClientError` whose
``str()`` is a single line naming the URL and what to do about it. Front ends print
that line (CLI) or show it in a notification (TUI); they never see a traceback.
"""

from __future__ import annotations

import re
from enum import Enum

# ``scheme://user:pass@host``: everything up to the authority's last ``@``; and a URL
# typed without a scheme (``user:pass@host``), where a colon tells it from an e-mail.
_USERINFO = re.compile(r"(?<=//)[^\s/?#'\"]*@|(?<![^\s'\"(<=])[^\s/?#'\"@:(<=]+:[^\s/?#'\"]*@")


def without_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it removed, parsable or not."""
    return _USERINFO.sub("", text)


class ErrorKind(str, Enum):
    """What class of failure happened; front ends may style or react per kind."""

    INVALID = "invalid"  # a parameter or flag was rejected before anything was sent
    CONNECT = "connect"  # connection refused / unreachable
    DNS = "dns"  # the host name does not resolve
    TIMEOUT = "timeout"  # connect or read timed out
    DISCONNECTED = "disconnected"  # the server closed the connection mid-stream
    HTTP = "http"  # the server answered with an HTTP error status
    AUTH = "auth"  # 401/403
    BAD_RESPONSE = "bad-response"  # the body is not what the protocol says (HTML, garbage)
    TOO_LARGE = "too-large"  # a line or the run's text passed a configured cap
    TLS = "tls"  # certificate verification failed


class ClientError(Exception):
    """A failure with a one-line, human message.

    ``url`` is the address the failure concerns; ``status`` the HTTP status when
    there was one; ``field`` the parameter at fault for :attr:`ErrorKind.INVALID`.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        field: str | None = None,
    ) -> None:
        one_line = without_userinfo(" ".join(message.split()))
        super().__init__(one_line)
        self.kind = kind
        self.message = one_line
        self.url = None if url is None else without_userinfo(url)
        self.status = status
        self.field = field

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "message": self.message, "status": self.status, "url": self.url}
