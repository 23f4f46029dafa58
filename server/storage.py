"""Evidence storage: content-addressed by SHA-256.

``EvidenceStore`` is the interface; ``LocalDiskStore`` keeps files under ``<root>/ab/cd/<sha>``.
An S3-compatible store implements the same five methods (``put`` streaming to a temporary key,
then copy-on-verify; ``url`` returning a presigned URL).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


class EvidenceError(ValueError):
    """``reason``: bad_hash | hash_mismatch | too_large."""

    def __init__(self, reason: str, detail: str):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")


@runtime_checkable
class EvidenceStore(Protocol):
    def put(self, sha256: str, stream: BinaryIO) -> tuple[bool, int]:
        """Store the stream if its SHA-256 equals ``sha256``. Returns (created, size).
        Idempotent: an existing file returns (False, size) without rewriting. Raises EvidenceError."""

    def open(self, sha256: str) -> BinaryIO:
        """Open the stored file for reading (FileNotFoundError if absent)."""

    def exists(self, sha256: str) -> bool: ...

    def url(self, sha256: str) -> str | None:
        """A direct URL for clients (S3 presigned), or None when the server streams the file."""

    def delete(self, sha256: str) -> int:
        """Remove the file (retention); returns the bytes freed, 0 when it was not there."""


def check_sha(sha256: str) -> str:
    if not SHA_RE.match(sha256):
        raise EvidenceError("bad_hash", "expected 64 lowercase hex characters")
    return sha256


class LocalDiskStore:
    def __init__(self, root: str | os.PathLike[str], max_bytes: int = 64 * 1024 * 1024) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        check_sha(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def url(self, sha256: str) -> str | None:
        return None

    def delete(self, sha256: str) -> int:
        target = self.path(sha256)
        try:
            size = target.stat().st_size
            target.unlink()
        except FileNotFoundError:
            return 0
        return size

    def files(self) -> Iterator[tuple[str, float, int]]:
        """(sha256, mtime, size) of every stored file (retention looks for files without a database row)."""
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if SHA_RE.match(path.name) and path.is_file():
                st = path.stat()
                yield path.name, st.st_mtime, st.st_size

    def put(self, sha256: str, stream: BinaryIO) -> tuple[bool, int]:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise EvidenceError("too_large", f"more than {self.max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            got = digest.hexdigest()
            if got != sha256:
                raise EvidenceError("hash_mismatch", f"content hashes to {got}")
            if target.is_file():
                return False, target.stat().st_size
            os.replace(tmp, target)  # atomic: readers never see a partial file
            tmp = ""
            return True, size
        finally:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)


# Evidence types of the contract (snapshot/frame JPEG, chart PNG, clip MP4), recognised by their first bytes.
EVIDENCE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}
SNIFF_BYTES = 16


def sniff_media_type(head: bytes) -> str | None:
    """The evidence MIME type the leading bytes prove (JPEG SOI, PNG signature, ISO-BMFF ``ftyp`` box), else None."""
    if head[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/mp4"
    return None


class VerifiedFiles:
    """Remembers which stored files re-hashed to their name, keyed by (inode, size, ctime): any rewrite of the
    file changes its ctime, so a tampered file is hashed again (and refused) on its next read."""

    def __init__(self, limit: int = 4096) -> None:
        import threading

        self._ok: dict[str, tuple[int, int, int]] = {}
        self._limit = limit
        self._lock = threading.Lock()

    @staticmethod
    def _key(path: Path) -> tuple[int, int, int]:
        st = path.stat()
        return st.st_ino, st.st_size, st.st_ctime_ns

    def check(self, sha256: str, path: Path) -> bool:
        key = self._key(path)
        with self._lock:
            if self._ok.get(sha256) == key:
                return True
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            with self._lock:
                self._ok.pop(sha256, None)
            return False
        with self._lock:
            if len(self._ok) >= self._limit:
                self._ok.pop(next(iter(self._ok)))
            self._ok[sha256] = key
        return True
