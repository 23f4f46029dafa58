"""Accelerators: the OpenVINO device and FFmpeg hardware decode are chosen in config, fall back to what the box
has, and the heartbeat says what runs. Tests that need an Intel iGPU or a VAAPI/QSV device skip without one."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from edge import contract
from edge.capture.reader import CameraReader
from edge.capture.source import hwaccel_device_error, make_hwaccel
from edge.detect.openvino_backend import resolve_device

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)
CLIP = "video/bwssytems_5977270-sd_640_360_25fps.mp4"


@pytest.mark.parametrize(
    "available, wanted, expected",
    [
        (["CPU"], "CPU", "CPU"),
        (["CPU"], "GPU", "CPU"),  # no iGPU: falls back
        (["CPU", "GPU"], "GPU", "GPU"),
        (["CPU", "GPU.0", "GPU.1"], "GPU", "GPU"),
        (["CPU"], "AUTO", "AUTO"),  # OpenVINO picks among what exists
        (["CPU", "GPU"], "gpu", "GPU"),
        (["CPU"], "NPU", "CPU"),
    ],
)
def test_device_resolution(available, wanted, expected):  # noqa: ANN001
    assert resolve_device(available, wanted) == expected


def _openvino_devices() -> list[str]:
    import openvino as ov

    return list(ov.Core().available_devices)


@pytest.mark.parametrize("device", ["AUTO", "GPU"])
def test_detector_runs_on_the_configured_device(models_dir, media_dir, device):  # noqa: ANN001
    import cv2

    from edge.detect.base import load_detector

    if device == "GPU" and not any(d.startswith("GPU") for d in _openvino_devices()):
        pytest.skip(f"no OpenVINO GPU device on this machine (devices: {_openvino_devices()})")
    det = load_detector("yolo11n-coco-int8", "openvino", models_dir, device=device)
    assert det.device == device
    img = cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))  # a man at his desk
    (d,) = det.detect([img])
    assert "person" in d.labels


def test_heartbeat_reports_accelerators_additively():
    hb = contract.Heartbeat(hall_id="h", edge_id="e",
                            accel=contract.EdgeAccel(device="CPU", hwaccel="none", device_wanted="GPU",
                                                     hwaccel_wanted="vaapi", streams=2))
    back = contract.parse_message(hb.model_dump_json().encode())
    assert back.accel == hb.accel and back.accel.streams == 2
    old = hb.model_dump(mode="json")
    del old["accel"]["streams"]  # an edge from before the streams field
    assert contract.parse_message(old).accel.streams is None
    del old["accel"]  # an older edge's heartbeat still parses
    assert contract.parse_message(old).accel is None


@pytest.mark.parametrize("streams", [1, 2])
def test_the_heartbeat_says_how_many_frames_the_detector_infers_at_once(tmp_path, models_dir, media_dir,  # noqa: ANN001
                                                                        streams):
    from edge.agent.runtime import EdgeAgent
    from edge.site import SiteConfig

    cfg = SiteConfig.model_validate({
        "hall": {"id": "h", "name": "h"},
        "windows": [{"id": "W01", "number": 1, "name": "w"}],
        "cameras": [{"id": "cam", "name": "cam", "source": str(media_dir / CLIP)}],
        "edge": {"data_dir": str(tmp_path), "models_dir": str(models_dir), "inference_threads": 1,
                 "inference_streams": streams},
    })
    agent = EdgeAgent(cfg, tmp_path / "site.yaml", sensors=False)  # built, not started
    try:
        accel = agent.accel()
        assert (accel.device, accel.streams) == ("CPU", streams)
    finally:
        agent.outbox.stop()


@pytest.mark.parametrize("kind", ["vaapi", "qsv", "cuda"])
def test_unknown_or_absent_hwaccel_decodes_in_software(media_dir, kind):  # noqa: ANN001
    """A kind missing from this FFmpeg build, or in it without its device (PyAV's wheels carry cuda: without an
    NVIDIA device its open raised and the camera never opened), decodes in software."""
    assert make_hwaccel("none") is None
    got = []
    r = CameraReader("cam", str(media_dir / CLIP), 2.0, got.append, realtime=False, start_at=T0, hwaccel=kind)
    r.run()
    assert got and r.state == "ended"
    assert r.hwaccel_used in ("none", kind)  # the kind only where its device decoded the stream
    if hwaccel_device_error(kind) or make_hwaccel(kind) is None:
        assert r.hwaccel_used == "none"


DEVICE_NODES = {"vaapi": "/dev/dri", "qsv": "/dev/dri", "cuda": "/dev/nvidia0"}


@pytest.mark.parametrize("kind", ["vaapi", "qsv", "cuda"])
def test_hardware_decode_when_present(media_dir, kind):  # noqa: ANN001
    from av.codec.hwaccel import hwdevices_available

    if kind not in hwdevices_available():
        pytest.skip(f"this FFmpeg build has no {kind} ({hwdevices_available()})")
    if not os.path.exists(DEVICE_NODES[kind]):
        pytest.skip(f"no {DEVICE_NODES[kind]}: no GPU for {kind} decode on this machine")
    got = []
    r = CameraReader("cam", str(media_dir / CLIP), 2.0, got.append, realtime=False, start_at=T0, hwaccel=kind)
    r.run()
    assert got and got[0].image.shape == (360, 640, 3)
    assert r.hwaccel_used == kind, f"{kind} present but FFmpeg decoded in software"
