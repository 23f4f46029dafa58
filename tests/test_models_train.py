"""`hallwatch models train` really trains: one epoch at imgsz 160 on 8 real labelled images (CPU, ~10 s)."""

from __future__ import annotations

import importlib.util
import shutil
import sys

import pytest

from edge.detect import load_detector
from models.cli import main as models_main
from tests.conftest import need


@pytest.mark.e2e
@pytest.mark.slow
def test_train_one_epoch_then_load(models_dir, media_dir, tmp_path, capsys):
    need(importlib.util.find_spec("ultralytics") is not None, "ultralytics extra not installed")
    src = media_dir / "datasets" / "cigarette" / "valid"
    ds = tmp_path / "ds"
    (ds / "images").mkdir(parents=True)
    (ds / "labels").mkdir()
    for img in sorted((src / "images").glob("*.jpg"))[:8]:
        (ds / "images" / img.name).symlink_to(img)  # Ultralytics writes a label cache: keep it out of ../shared
        shutil.copy(src / "labels" / f"{img.stem}.txt", ds / "labels")
    data = ds / "data.yaml"
    data.write_text(f"path: {ds}\ntrain: images\nval: images\nnames: {{0: cigarette}}\n")
    rc = models_main(["train", "--base", str(models_dir / "cigarette_yolov8s.pt"), "--data", str(data),
                      "--out", str(tmp_path / "runs"), "--epochs", "1", "--imgsz", "160", "--batch", "4"])
    assert rc == 0
    best = tmp_path / "runs" / "train" / "weights" / "best.pt"
    assert best.is_file() and str(best) in capsys.readouterr().out
    trained = load_detector(best, backend="ultralytics")
    assert trained.names == {0: "cigarette"} and trained.task == "detect"


@pytest.mark.e2e
def test_train_refuses_a_missing_dataset(models_dir, tmp_path, capsys):
    need(importlib.util.find_spec("ultralytics") is not None, "ultralytics extra not installed")
    rc = models_main(["train", "--base", str(models_dir / "cigarette_yolov8s.pt"), "--data", str(tmp_path / "no.yaml"),
                      "--out", str(tmp_path / "runs"), "--epochs", "1"])
    assert rc == 2 and "not found" in capsys.readouterr().err


@pytest.mark.parametrize("cmd, missing", [
    (["train", "--base", "x.pt", "--data", "x.yaml", "--out", "runs"], "ultralytics"),
    (["export", "x.pt", "--to", "onnx", "--name", "x", "--out", "out"], "ultralytics"),
])
def test_train_and_export_say_how_to_install_the_tooling(monkeypatch, capsys, cmd, missing):
    """`make demo` installs no torch: the model tools name the one command that adds them."""
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed
    assert models_main(cmd) == 2
    err = capsys.readouterr().err.strip()
    assert f"missing package {missing!r}" in err and "make tools" in err and len(err.splitlines()) == 1
