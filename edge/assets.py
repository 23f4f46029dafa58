"""Model weights and demo footage: use a local folder when there is one, else fetch public copies once.

The project ships no weights or video. On a machine with ``../shared`` (or ``HALLWATCH_MODELS_DIR`` /
``HALLWATCH_MEDIA_DIR``) nothing is downloaded. Elsewhere ``ensure_demo_assets()`` downloads the public
files below into a cache folder (``~/.cache/hallwatch``), with a progress bar, and verifies each SHA-256;
offline with neither, it raises ``AssetsUnavailable`` with a message saying how to provide them.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from edge import paths

RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Asset:
    relpath: str  # path below the models/ or media/ folder
    url: str
    sha256: str
    area: str  # "models" or "media"


DEMO_ASSETS: tuple[Asset, ...] = (
    Asset("yolo11n_int8_openvino_model/yolo11n.xml",
          f"{RAW}/amendozag88/tflite_object_detection/94b75e2/yolo11n_int8_openvino_model/yolo11n.xml",
          "6cf2d7fccde468c306b4a42e7458f554e11924b03d39e836f0350c7ee9b9c9ff", "models"),
    Asset("yolo11n_int8_openvino_model/yolo11n.bin",
          f"{RAW}/amendozag88/tflite_object_detection/94b75e2/yolo11n_int8_openvino_model/yolo11n.bin",
          "bf0e8b62016deda0d99888497d23b90e0289a845951d9a8a48ce305984d6b668", "models"),
    Asset("yolo11n_int8_openvino_model/metadata.yaml",
          f"{RAW}/amendozag88/tflite_object_detection/94b75e2/yolo11n_int8_openvino_model/metadata.yaml",
          "2f13a5c199435aacf7198c79c61cfe846cfd6923dfae82894a7101083f8e8be2", "models"),
    Asset("video/intel-iot-devkit_one-by-one-person-detection.mp4",
          f"{RAW}/intel-iot-devkit/sample-videos/57978890822836f2b4743852f04f62fc511757e4/one-by-one-person-detection.mp4",
          "a5964aa259099a482a8b360ffc2c57b5a30f84d5919236a4dad01f8e929ac07c", "media"),
    Asset("video/coralFallacy1011_cctv_footage.mp4",
          f"{RAW}/coralFallacy1011/Effiscan-AI/a526dc9d584b707afa53e69911094baa0517c537/cctv_footage.mp4",
          "784c29a54554cf05cd9bf6874cff61ee23dd0be016eeb4230aff96f7db19e4b0", "media"),
    Asset("video/bwssytems_5977270-sd_640_360_25fps.mp4",
          f"{RAW}/bwssytems/phone-usage-computer-vision/d7e34baa0cfd4a5ef317be379dd65f307c35ef4d/"
          "videos/training/5977270-sd_640_360_25fps.mp4",
          "b666e9cce5c731bd9f2d3335611df58f78c7f7e77961d5b68400164487d83145", "media"),
    Asset("video/bwssytems_20250715_144536_9170ec05.mp4",
          f"{RAW}/bwssytems/phone-usage-computer-vision/d7e34baa0cfd4a5ef317be379dd65f307c35ef4d/"
          "videos/training/20250715_144536_9170ec05.mp4",
          "83649790acbedbd2b097a1d8b1b6004c7a3fde08d5bc316c91c32551f3a0b668", "media"),
)


class AssetsUnavailable(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("HALLWATCH_CACHE_DIR", Path.home() / ".cache" / "hallwatch"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(asset: Asset, dest: Path, out=sys.stderr) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    h = hashlib.sha256()
    with urllib.request.urlopen(asset.url, timeout=30) as resp, tmp.open("wb") as f:  # noqa: S310 (https only)
        total = int(resp.headers.get("Content-Length") or 0)
        done = 0
        while chunk := resp.read(1 << 16):
            f.write(chunk)
            h.update(chunk)
            done += len(chunk)
            if total:
                bar = "#" * int(30 * done / total)
                print(f"\r  {asset.relpath:<60} [{bar:<30}] {done * 100 // total:3d}%", end="", file=out)
        print(file=out)
    if h.hexdigest() != asset.sha256:
        tmp.unlink(missing_ok=True)
        raise AssetsUnavailable(f"checksum mismatch for {asset.url}: got {h.hexdigest()}, want {asset.sha256}")
    tmp.replace(dest)


def ensure_demo_assets(out=sys.stderr) -> tuple[Path, Path]:
    """Return (models_dir, media_dir) holding every demo asset, downloading into the cache if needed."""
    local_models, local_media = paths.models_dir(), paths.media_dir()
    if all((local_models if a.area == "models" else local_media).joinpath(a.relpath).is_file() for a in DEMO_ASSETS):
        return local_models, local_media
    root = cache_dir()
    missing = [a for a in DEMO_ASSETS if not (root / a.area / a.relpath).is_file()]
    if missing:
        print(f"Fetching {len(missing)} public demo file(s) into {root} (once):", file=out)
    for a in missing:
        try:
            _download(a, root / a.area / a.relpath, out)
        except AssetsUnavailable:
            raise
        except OSError as exc:
            raise AssetsUnavailable(
                f"cannot download {a.url} ({exc}).\n"
                "Provide the model and footage locally instead: set HALLWATCH_SHARED_DIR to a folder with models/ "
                "and media/ (or HALLWATCH_MODELS_DIR and HALLWATCH_MEDIA_DIR); see README 'Models and media'."
            ) from None
    return root / "models", root / "media"
