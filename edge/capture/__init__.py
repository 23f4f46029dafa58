"""Camera capture: PyAV sources, timestamp sampling, packet and frame rings, reader threads, camera health.

- ``edge.capture.source.VideoSource``: open RTSP/HTTP/file/device, demux packets and decode frames stamped
  with real time.
- ``edge.capture.buffer.Sampler`` / ``FrameRing``: sample by timestamp; keep recent decoded frames (offline
  analysis).
- ``edge.capture.packets.PacketRing``: a record stream's packets, never decoded; clips by stream copy and
  stills decoded on demand.
- ``edge.capture.reader.CameraReader``: one thread per camera input (roles detect / record / stills) with
  reconnect back-off and a stall check; ``StillSlot`` keeps a stills input's newest keyframe.
- ``edge.capture.health.CameraHealthMonitor``: camera_offline / camera_frozen / camera_covered findings.
"""

from edge.capture.buffer import FrameRing, Sampler
from edge.capture.health import CameraHealthMonitor
from edge.capture.packets import PacketClip, PacketRing
from edge.capture.reader import CameraFrame, CameraReader, LatestFrame, StillSlot
from edge.capture.source import TimedPacket, VideoSource, source_kind

__all__ = ["CameraFrame", "CameraHealthMonitor", "CameraReader", "FrameRing", "LatestFrame", "PacketClip",
           "PacketRing", "Sampler", "StillSlot", "TimedPacket", "VideoSource", "source_kind"]
