"""Camera capture: PyAV sources, timestamp sampling, ring buffer for clips, reader threads, camera health.

- ``edge.capture.source.VideoSource``: open RTSP/HTTP/file/device, yield frames stamped with real time.
- ``edge.capture.buffer.Sampler`` / ``FrameRing``: sample by timestamp; keep recent frames for clips.
- ``edge.capture.reader.CameraReader``: one thread per camera with reconnect back-off and a stall check.
- ``edge.capture.health.CameraHealthMonitor``: camera_offline / camera_frozen / camera_covered findings.
"""

from edge.capture.buffer import FrameRing, Sampler
from edge.capture.health import CameraHealthMonitor
from edge.capture.reader import CameraFrame, CameraReader, LatestFrame
from edge.capture.source import VideoSource, source_kind

__all__ = ["CameraFrame", "CameraHealthMonitor", "CameraReader", "FrameRing", "LatestFrame", "Sampler",
           "VideoSource", "source_kind"]
