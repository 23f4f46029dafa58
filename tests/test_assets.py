"""Demo assets: local folders win; otherwise downloads are verified by SHA-256; offline fails clearly."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import threading
from pathlib import Path

import pytest

from edge import assets


@pytest.fixture
def file_server(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_local_shared_folder_is_used_without_download(models_dir: Path, media_dir: Path) -> None:
    assert assets.ensure_demo_assets() == (models_dir, media_dir)


def test_download_verifies_checksums(tmp_path: Path, monkeypatch, file_server, models_dir: Path) -> None:
    root, base = file_server
    src = models_dir / "yolo11n_int8_openvino_model" / "metadata.yaml"
    (root / "metadata.yaml").write_bytes(src.read_bytes())
    (root / "tampered.yaml").write_bytes(src.read_bytes() + b"#")
    good = dataclasses.replace(assets.DEMO_ASSETS[2], url=f"{base}/metadata.yaml")
    bad = dataclasses.replace(assets.DEMO_ASSETS[2], url=f"{base}/tampered.yaml", relpath="x/tampered.yaml")
    monkeypatch.setenv("HALLWATCH_SHARED_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("HALLWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HALLWATCH_MODELS_DIR", raising=False)
    monkeypatch.delenv("HALLWATCH_MEDIA_DIR", raising=False)
    monkeypatch.setattr(assets, "DEMO_ASSETS", (good,))
    models, _ = assets.ensure_demo_assets()
    assert (models / good.relpath).read_bytes() == src.read_bytes()
    monkeypatch.setattr(assets, "DEMO_ASSETS", (bad,))
    with pytest.raises(assets.AssetsUnavailable, match="checksum mismatch"):
        assets.ensure_demo_assets()
    assert not (tmp_path / "cache" / "models" / bad.relpath).exists()


def test_unreachable_source_says_how_to_provide_files(tmp_path: Path, monkeypatch) -> None:
    unreachable = dataclasses.replace(assets.DEMO_ASSETS[0], url="http://127.0.0.1:9/yolo11n.xml")
    monkeypatch.setenv("HALLWATCH_SHARED_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("HALLWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HALLWATCH_MODELS_DIR", raising=False)
    monkeypatch.delenv("HALLWATCH_MEDIA_DIR", raising=False)
    monkeypatch.setattr(assets, "DEMO_ASSETS", (unreachable,))
    with pytest.raises(assets.AssetsUnavailable, match="HALLWATCH_SHARED_DIR"):
        assets.ensure_demo_assets()
