"""Live pictures: each edge PUTs a periodic low-resolution JPEG of every camera; the server keeps only the
latest one per camera on disk (``<data_dir>/live/<hall>/<camera>.jpg``, written atomically) and the console
shows it on the live page, on the board and next to an alert. These pictures are not evidence: they are
replaced at every upload and never listed in a finding."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path

MAX_BYTES = 1024 * 1024
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
