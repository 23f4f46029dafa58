"""Camera inputs with roles: the single ``source`` still serves every role; ``inputs`` are validated with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import site

HEAD = "hall: {id: zh, name: x}\nwindows: [{id: W1, number: 1, name: a}]\ncameras:\n  - id: c1\n    name: c\n"


def _load(tmp_path: Path, body: str) -> site.SiteConfig:
    p = tmp_path / "hall.yaml"
    p.write_text(HEAD + body)
    return site.load_site_config(p)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("    source: main.mp4\n", [("main.mp4", {"detect", "record", "stills"})]),
        ("    inputs:\n      - {path: sub.mp4, roles: [detect]}\n      - {url: main.mp4, roles: [record, stills]}\n",
         [("sub.mp4", {"detect"}), ("main.mp4", {"record", "stills"})]),
        ("    inputs:\n      - {path: sub.mp4, roles: [detect]}\n      - {path: main.mp4, roles: [record]}\n",
         [("sub.mp4", {"detect", "stills"}), ("main.mp4", {"record"})]),
        ("    inputs:\n      - {path: only.mp4, roles: [detect]}\n", [("only.mp4", {"detect", "record", "stills"})]),
    ],
)
def test_streams_serve_every_role(tmp_path: Path, body: str, expected: list) -> None:
    cam = _load(tmp_path, body).cameras[0]
    assert [(i.path, set(i.roles)) for i in cam.streams()] == expected
    assert cam.stream_for("detect").path == expected[0][0]


@pytest.mark.parametrize(
    "body, line, loc, fragment",
    [
        ("    fps: 2\n", 4, "cameras.0", "either 'source' or 'inputs'"),
        ("    source: a.mp4\n    inputs: [{path: b.mp4, roles: [detect]}]\n", 4, "cameras.0", "either 'source'"),
        ("    inputs:\n      - {path: a.mp4, roles: [record]}\n", 4, "cameras.0", "'detect' role"),
        ("    inputs:\n      - {path: a.mp4, roles: [detect]}\n      - {path: b.mp4, roles: [detect, record]}\n",
         4, "cameras.0", "'detect' role"),
        ("    inputs:\n      - {path: a.mp4, roles: [detect, record]}\n      - {path: b.mp4, roles: [record]}\n",
         4, "cameras.0", "'record' role is given to 2"),
        ("    inputs:\n      - {path: a.mp4, roles: [detect, decode]}\n", 7, "cameras.0.inputs.0.roles.1",
         "Input should be"),
        ("    inputs:\n      - {path: a.mp4, roles: []}\n", 7, "cameras.0.inputs.0.roles", "at least 1"),
        ("    inputs:\n      - {path: a.mp4, roles: [detect, detect]}\n", 7, "cameras.0.inputs.0.roles", "twice"),
        ("    inputs:\n      - {path: a.mp4, url: b.mp4, roles: [detect]}\n", 7, "cameras.0.inputs.0", "not both"),
        ("    source: a.mp4\n    detect_width: 20\n", 7, "cameras.0.detect_width", "greater than"),
    ],
)
def test_input_errors_point_at_lines(tmp_path: Path, body: str, line: int, loc: str, fragment: str) -> None:
    with pytest.raises(site.ConfigError) as err:
        _load(tmp_path, body)
    problems = err.value.problems
    assert any(fragment in msg and ln == line and loc_.startswith(loc) for loc_, ln, msg in problems), problems


@pytest.mark.parametrize("key, value, ok", [("device", "GPU", True), ("device", "AUTO", True), ("device", "NPU", False),
                                            ("hwaccel", "vaapi", True), ("hwaccel", "cuda", True),
                                            ("hwaccel", "nvdec", False)])
def test_accelerator_keys(tmp_path: Path, key: str, value: str, ok: bool) -> None:
    body = f"    source: a.mp4\nedge:\n  {key}: {value}\n"
    if ok:
        assert getattr(_load(tmp_path, body).edge, key) == value
    else:
        with pytest.raises(site.ConfigError) as err:
            _load(tmp_path, body)
        assert any(ln == 8 and loc_ == f"edge.{key}" for loc_, ln, _ in err.value.problems), err.value.problems
