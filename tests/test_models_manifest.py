"""Model manifests: schema, integrity check, `hallwatch models list`."""

from __future__ import annotations

import json

import pytest
import yaml

from models.cli import main as models_main
from models.manifest import MANIFEST_DIR, ModelManifest, all_manifests, load_manifest, sha256_file, write_manifest

BASE = {
    "name": "tiny", "task": "detect", "classes": {0: "thing"}, "format": "openvino", "path": "${HALLWATCH_MODELS_DIR}/tiny",
    "weights": "tiny.bin", "sha256": "0" * 64, "input_size": [640, 640], "precision": "int8",
    "licence": "MIT", "source": "test",
}


def test_shipped_manifests_are_valid_and_named_as_their_files():
    manifests = all_manifests()
    assert {"yolo11n-coco-int8", "yolov8n-pose-int8", "cigarette-yolov8s"} <= set(manifests)
    for p in MANIFEST_DIR.glob("*.yaml"):
        assert load_manifest(p).name == p.stem
    assert manifests["yolov8n-pose-int8"].keypoints == 17
    assert manifests["yolo11n-coco-int8"].classes[67] == "cell phone"


@pytest.mark.parametrize(
    "change, error",
    [
        ({"colour": "red"}, "Extra inputs are not permitted"),
        ({"task": "segment"}, "task"),
        ({"sha256": "abc"}, "sha256"),
        ({"format": "tflite"}, "format"),
        ({"classes": {}}, "classes"),
        ({"name": "Has Spaces"}, "name"),
    ],
)
def test_manifest_rejects(change, error):
    with pytest.raises(ValueError, match=error):
        ModelManifest.model_validate({**BASE, **change})


def test_square_input_size_shorthand():
    assert ModelManifest.model_validate({**BASE, "input_size": 320}).input_size == (320, 320)


def _tiny_model(tmp_path, content: bytes = b"weights") -> ModelManifest:
    folder = tmp_path / "models" / "tiny"
    folder.mkdir(parents=True)
    (folder / "tiny.bin").write_bytes(content)
    (folder / "tiny.xml").write_text("<net/>")
    return ModelManifest.model_validate({**BASE, "sha256": sha256_file(folder / "tiny.bin")})


@pytest.mark.parametrize(
    "damage, ok, message",
    [
        (None, True, "ok"),
        ("truncate", False, "sha256 mismatch"),
        ("remove-bin", False, "missing"),
        ("remove-xml", False, "missing"),
    ],
)
def test_verify(tmp_path, damage, ok, message):
    m = _tiny_model(tmp_path)
    folder = tmp_path / "models" / "tiny"
    if damage == "truncate":
        (folder / "tiny.bin").write_bytes(b"weigh")
    elif damage == "remove-bin":
        (folder / "tiny.bin").unlink()
    elif damage == "remove-xml":
        (folder / "tiny.xml").unlink()
    got_ok, got_msg = m.verify(tmp_path / "models")
    assert got_ok is ok and message in got_msg


def test_write_and_read_back(tmp_path):
    m = ModelManifest.model_validate(BASE)
    p = write_manifest(m, tmp_path / "tiny.yaml")
    raw = yaml.safe_load(p.read_text())
    assert raw["classes"] == {0: "thing"} and raw["input_size"] == [640, 640]
    assert load_manifest(p) == m


def test_models_list_verifies_the_shared_models(models_dir, capsys):
    assert models_main(["--models-dir", str(models_dir), "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["yolo11n-coco-int8"]["status"] == "ok"
    assert rows["cigarette-yolov8s"]["path"] == str(models_dir / "cigarette_yolov8s_openvino_model")


def test_models_list_fails_on_a_bad_models_dir(tmp_path, capsys):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    m = _tiny_model(tmp_path, b"right")
    write_manifest(m.model_copy(update={"sha256": "f" * 64}), manifests / "tiny.yaml")
    assert models_main(["--models-dir", str(tmp_path / "models"), "--manifests", str(manifests), "list"]) == 1
    out = capsys.readouterr().out
    assert "sha256 mismatch" in out and "tiny" in out


def test_duplicate_manifest_names_are_rejected(tmp_path):
    m = ModelManifest.model_validate(BASE)
    write_manifest(m, tmp_path / "a.yaml")
    write_manifest(m, tmp_path / "b.yaml")
    with pytest.raises(ValueError, match="duplicate"):
        all_manifests(tmp_path)
