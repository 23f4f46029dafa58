"""Model manifests: which weights a detector name means, where they are, and how to check them.

A manifest is a small YAML file in ``models/manifests/``. ``sha256`` is the
SHA-256 of the weights file named by ``weights`` (for OpenVINO IR: the ``.bin``;
for ONNX / ``.pt``: the file itself), so a swapped or truncated download is
noticed by ``hallwatch models list``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.paths import export_defaults
from edge.site import expand_env

MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"

Task = Literal["detect", "pose"]
Format = Literal["openvino", "onnx", "pt"]


class ModelManifest(BaseModel):
    """One model the project can load, with provenance and integrity data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="Name used in configs, e.g. 'yolo11n-coco-int8'.")
    task: Task = Field(description="detect: boxes + classes; pose: person boxes + 17 COCO keypoints.")
    classes: dict[int, str] = Field(min_length=1, description="Class id -> name, as the model was trained.")
    format: Format = Field(description="openvino: IR folder (.xml + .bin); onnx: .onnx file; pt: Ultralytics checkpoint.")
    path: str = Field(min_length=1, description="Folder (openvino) or file (onnx/pt); ${VAR} is expanded, e.g. ${HALLWATCH_MODELS_DIR}/x.")
    weights: str = Field(min_length=1, description="Weights file, relative to 'path' for a folder (e.g. 'yolo11n.bin').")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the weights file.")
    input_size: tuple[int, int] = Field(description="Network input (width, height) in pixels.")
    precision: Literal["int8", "fp16", "fp32"] = Field(description="Numeric precision of the weights.")
    keypoints: int | None = Field(default=None, ge=1, description="Keypoints per person (pose models).")
    licence: str = Field(min_length=1, description="Licence of the weights.")
    source: str = Field(min_length=1, description="Where the weights came from and how they were made.")
    description: str | None = Field(default=None, description="Free text.")

    @field_validator("input_size", mode="before")
    @classmethod
    def _square(cls, v: object) -> object:
        return (v, v) if isinstance(v, int) else v

    def resolved_path(self, models_dir: str | os.PathLike[str] | None = None) -> Path:
        """Expand ${HALLWATCH_MODELS_DIR} (overridden by models_dir if given)."""
        export_defaults()
        env = dict(os.environ)
        if models_dir is not None:
            env["HALLWATCH_MODELS_DIR"] = str(Path(models_dir).resolve())
        return Path(expand_env(self.path, env))

    def weights_path(self, models_dir: str | os.PathLike[str] | None = None) -> Path:
        p = self.resolved_path(models_dir)
        return p / self.weights if self.format == "openvino" else p

    def model_file(self, models_dir: str | os.PathLike[str] | None = None) -> Path:
        """The file a runtime reads: the IR .xml next to the .bin, or the .onnx/.pt itself."""
        w = self.weights_path(models_dir)
        return w.with_suffix(".xml") if self.format == "openvino" else w

    def verify(self, models_dir: str | os.PathLike[str] | None = None) -> tuple[bool, str]:
        """(ok, message): weights present and their SHA-256 matches."""
        w = self.weights_path(models_dir)
        if not w.is_file():
            return False, f"missing: {w}"
        if self.format == "openvino" and not w.with_suffix(".xml").is_file():
            return False, f"missing: {w.with_suffix('.xml')}"
        digest = sha256_file(w)
        if digest != self.sha256:
            return False, f"sha256 mismatch: {digest[:12]}… != {self.sha256[:12]}…"
        return True, "ok"


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def load_manifest(path: str | os.PathLike[str]) -> ModelManifest:
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    try:
        return ModelManifest.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError, re-raised with the file name
        raise ValueError(f"{path}: {exc}") from exc


def all_manifests(directory: str | os.PathLike[str] | None = None) -> dict[str, ModelManifest]:
    d = Path(directory) if directory else MANIFEST_DIR
    out: dict[str, ModelManifest] = {}
    for p in sorted(d.glob("*.yaml")):
        m = load_manifest(p)
        if m.name in out:
            raise ValueError(f"{p}: duplicate manifest name {m.name!r}")
        out[m.name] = m
    return out


def find_manifest(name: str, directory: str | os.PathLike[str] | None = None) -> ModelManifest:
    manifests = all_manifests(directory)
    if name not in manifests:
        raise KeyError(f"no model manifest named {name!r}; known: {', '.join(sorted(manifests))}")
    return manifests[name]


def write_manifest(m: ModelManifest, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = m.model_dump(mode="json", exclude_none=True)
    data["input_size"] = list(m.input_size)
    data["classes"] = {int(k): v for k, v in m.classes.items()}
    p.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return p
