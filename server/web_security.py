"""HTTP hardening for every response and request (a plain ASGI middleware, so live streams pass through):

- security headers (``nosniff``, frame denial, referrer policy, a same-origin CSP; HSTS in production) unless the
  route set its own (evidence files carry a stricter CSP);
- cookie-authenticated writes must come from the server's own origin (``Origin``, else ``Referer``) or a trusted
  one: a form on another site cannot act with a logged-in user's cookie (requests with a bearer token carry no
  ambient credential and are not checked);
- NUL bytes in the path or query string are refused with 400 before they reach a handler or the database.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from server.deps import COOKIE_NAME

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin",
           "content-security-policy": CSP, "cross-origin-opener-policy": "same-origin",
           "permissions-policy": "camera=(), microphone=(), geolocation=()"}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class SecurityMiddleware:
    def __init__(self, app: Any, *, trusted_origins: list[str] | None = None, public_url: str | None = None,
                 hsts: bool = False) -> None:
        self.app = app
        self.trusted = {o.rstrip("/").lower() for o in trusted_origins or []}
        if public_url and _origin(public_url):
            self.trusted.add(_origin(public_url))
        self.hsts = hsts

    async def _refuse(self, send: Any, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _cross_site_write(self, scope: dict[str, Any], headers: dict[bytes, bytes]) -> bool:
        if scope["method"] not in UNSAFE:
            return False
        if headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            return False
        cookie = headers.get(b"cookie", b"").decode("latin-1")
        if f"{COOKIE_NAME}=" not in cookie:
            return False
        claimed = headers.get(b"origin", b"").decode("latin-1").strip()
        if not claimed or claimed == "null":
            referer = headers.get(b"referer", b"").decode("latin-1")
            claimed = (_origin(referer) or "") if referer else ("null" if claimed == "null" else "")
        if not claimed:
            return False  # not sent by a browser: no ambient-credential attack to stop
        host = headers.get(b"host", b"").decode("latin-1").lower()
        own = {f"{scope.get('scheme', 'http')}://{host}", f"http://{host}", f"https://{host}"}
        return claimed.rstrip("/").lower() not in own | self.trusted

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"\x00" in unquote_to_bytes(scope.get("raw_path") or scope["path"].encode()) or \
                b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await self._refuse(send, 400, "NUL bytes are not allowed in the path or query string")
            return
        headers = dict(scope.get("headers") or [])
        if self._cross_site_write(scope, headers):
            await self._refuse(send, 403, "cross-site request refused: cookie-authenticated writes must come "
                                          "from this server's own pages (Origin check)")
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
                if self.hsts and b"strict-transport-security" not in present:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def out_of_range(request: Any, exc: Exception) -> Any:
    """A value the database cannot hold (an id beyond its integer range, a malformed literal): the client's
    fault, answered 422; the request's transaction has been rolled back."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"detail": "a value in the request is out of range or malformed for the database"},
                        status_code=422)
