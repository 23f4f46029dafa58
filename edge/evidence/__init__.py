"""Evidence for findings: annotated JPEG snapshots, raw frames and H.264 MP4 clips, content-addressed by SHA-256.

- ``edge.evidence.annotate``: draw zones, boxes, labels and a caption (CJK via PIL when a font exists).
- ``edge.evidence.clip``: browser-playable MP4 (H.264 yuv420p, faststart) from timestamped frames.
- ``edge.evidence.writer.EvidenceWriter``: snapshots now, clips once their post-roll is recorded.
"""

from edge.evidence.annotate import annotate, jpeg
from edge.evidence.clip import encode_mp4, encode_mp4_bytes, pick_encoder
from edge.evidence.writer import EvidenceWriter, FinishedClip

__all__ = ["EvidenceWriter", "FinishedClip", "annotate", "encode_mp4", "encode_mp4_bytes", "jpeg", "pick_encoder"]
