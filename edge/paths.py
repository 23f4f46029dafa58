"""Where shared models and media live on this machine.

The project never ships weights or footage. ``HALLWATCH_SHARED_DIR`` (default:
``../shared`` next to the project checkout) holds ``models/`` and ``media/``;
``HALLWATCH_MODELS_DIR`` and ``HALLWATCH_MEDIA_DIR`` override each part.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    return Path(os.environ.get("HALLWATCH_SHARED_DIR", PROJECT_ROOT.parent / "shared")).resolve()


def models_dir() -> Path:
    return Path(os.environ.get("HALLWATCH_MODELS_DIR", shared_dir() / "models")).resolve()


def media_dir() -> Path:
    return Path(os.environ.get("HALLWATCH_MEDIA_DIR", shared_dir() / "media")).resolve()


def export_defaults() -> None:
    """Put the resolved defaults into the environment so ${HALLWATCH_MODELS_DIR} etc. expand in configs."""
    os.environ.setdefault("HALLWATCH_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("HALLWATCH_MEDIA_DIR", str(media_dir()))
