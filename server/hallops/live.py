"""Live pictures: each edge PUTs a periodic low-resolution JPEG of every camera; the server keeps only the
latest one per camera on disk (``<data_dir>/live/<hall>/<camera>.jpg``, written atomically) and the console
shows it on the live page, on the board and next to an alert. These pictures are not evidence: they are
replaced at every upload and never listed in a finding.

Live video: a console user watching one camera gets its pictures as an MJPEG stream (``stream_parts``: each new
picture on disk as one ``multipart/x-mixed-replace`` part, whichever server process stored it). While a stream
is open the camera is marked *watched* (``<camera>.watch`` touched, shared by every process on the data
directory) and the answer to the edge's next upload asks for one picture every ``FAST_INTERVAL_S`` seconds
instead of its usual period; when nobody watches, the edge goes back to its period."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import time
from pathlib import Path

MAX_BYTES = 1024 * 1024
FAST_INTERVAL_S = 1.0  # what an edge is asked for while someone watches the camera
WATCH_S = 15.0  # a camera counts as watched this long after a stream last said so
BOUNDARY = "hallwatchframe"
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class LiveError(ValueError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def live_dir(data_dir: Path) -> Path:
    return (Path(data_dir) / "live").resolve()


def picture_path(root: Path, hall_id: str, camera: str) -> Path:
    if not _CODE.match(hall_id) or not _CODE.match(camera):
        raise LiveError(422, "bad hall or camera id")
    return root / hall_id / f"{camera}.jpg"


def check_jpeg(data: bytes) -> None:
    """A live picture must be a JPEG (SOI … EOI) of at most 1 MiB."""
    if not data:
        raise LiveError(422, "empty picture")
    if len(data) > MAX_BYTES:
        raise LiveError(413, f"picture larger than {MAX_BYTES // 1024} KiB")
    if data[:3] != b"\xff\xd8\xff" or b"\xff\xd9" not in data[-16:]:
        raise LiveError(415, "not a JPEG picture")


def save_picture(root: Path, hall_id: str, camera: str, data: bytes) -> Path:
    check_jpeg(data)
    path = picture_path(root, hall_id, camera)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def picture_time(root: Path, hall_id: str, camera: str) -> dt.datetime | None:
    try:
        st = picture_path(root, hall_id, camera).stat()
    except (FileNotFoundError, LiveError):
        return None
    return dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc)


def watch_path(root: Path, hall_id: str, camera: str) -> Path:
    return picture_path(root, hall_id, camera).with_suffix(".watch")


def mark_watched(root: Path, hall_id: str, camera: str) -> None:
    path = watch_path(root, hall_id, camera)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def is_watched(root: Path, hall_id: str, camera: str, now: float | None = None) -> bool:
    """Whether a console stream of the camera said so within ``WATCH_S`` (wall-clock seconds, as file times)."""
    try:
        mtime = watch_path(root, hall_id, camera).stat().st_mtime
    except (FileNotFoundError, LiveError):
        return False
    return (time.time() if now is None else now) - mtime <= WATCH_S


def read_new(path: Path, last: tuple[int, int] | None) -> tuple[tuple[int, int] | None, bytes | None]:
    """(the picture's version, its bytes when the version differs from ``last`` and it is a JPEG, else None)."""
    try:
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)
        if key == last:
            return last, None
        data = path.read_bytes()
    except FileNotFoundError:
        return last, None
    try:
        check_jpeg(data)
    except LiveError:
        return key, None
    return key, data


_NEXT = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n".encode()


def first_boundary() -> bytes:
    """How the stream starts: the first part's boundary and headers."""
    return _NEXT


def part(data: bytes) -> bytes:
    """One picture of a ``multipart/x-mixed-replace`` stream followed at once by the boundary and headers of the
    next part: a browser shows a part only once the next one has begun (the stream starts with
    ``first_boundary()``)."""
    return data + b"\r\n" + _NEXT
