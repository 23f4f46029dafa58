"""Password hashing (stdlib scrypt), signed login tokens (stdlib HMAC) and edge API tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

_N, _R, _P = 2**14, 8, 1


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, digest = stored.split("$")
        if algo != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(_unb64(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    username: str
    token_version: int
    expires_at: float


def sign_token(secret: str, user_id: int, username: str, token_version: int, ttl_s: int) -> str:
    """``v1.<payload>.<hmac>``; payload is base64url JSON {uid, u, tv, exp}."""
    payload = _b64(json.dumps({"uid": user_id, "u": username, "tv": token_version,
                               "exp": int(time.time() + ttl_s)}, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"v1.{payload}".encode(), hashlib.sha256).digest()
    return f"v1.{payload}.{_b64(sig)}"


def read_token(secret: str, token: str, now: float | None = None) -> TokenClaims | None:
    """Claims of a valid, unexpired token; None otherwise."""
    try:
        version, payload, sig = token.split(".")
        if version != "v1":
            return None
        want = hmac.new(secret.encode(), f"v1.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, _unb64(sig)):
            return None
        data = json.loads(_unb64(payload))
        claims = TokenClaims(int(data["uid"]), str(data["u"]), int(data["tv"]), float(data["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
    if claims.expires_at < (time.time() if now is None else now):
        return None
    return claims


def new_edge_token() -> str:
    """A fresh high-entropy edge API token (shown once; only its hash is stored)."""
    return "hwe_" + secrets.token_urlsafe(32)


def edge_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
