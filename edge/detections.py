"""One typed detections structure shared by every detector backend and every rule.

Modelled on supervision's ``Detections``: parallel numpy arrays, boxes in pixel
coordinates of the frame they were detected on (x1, y1, x2, y2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Detections:
    xyxy: np.ndarray  # (N, 4) float32, pixels of the source frame
    confidence: np.ndarray  # (N,) float32
    class_id: np.ndarray  # (N,) int32
    names: dict[int, str] = field(default_factory=dict)  # class id → name for the model that produced them
    keypoints: np.ndarray | None = None  # (N, K, 3) float32: x, y (pixels), visibility score; pose models only

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or self.confidence.shape != (n,) or self.class_id.shape != (n,):
            raise ValueError(
                f"inconsistent shapes: xyxy {self.xyxy.shape}, confidence {self.confidence.shape}, "
                f"class_id {self.class_id.shape}"
            )
        if self.keypoints is not None and self.keypoints.shape[0] != n:
            raise ValueError(f"keypoints {self.keypoints.shape} do not match {n} boxes")

    @classmethod
    def empty(cls, names: dict[int, str] | None = None) -> "Detections":
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros((0,), np.float32),
            class_id=np.zeros((0,), np.int32),
            names=dict(names or {}),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> "Detections":
        """Select by boolean mask, index array or slice."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            names=self.names,
            keypoints=None if self.keypoints is None else self.keypoints[index],
        )

    @property
    def labels(self) -> list[str]:
        return [self.names.get(int(c), str(int(c))) for c in self.class_id]

    def of_class(self, *names: str) -> "Detections":
        wanted = [cid for cid, n in self.names.items() if n in names]
        mask = np.zeros(len(self.class_id), bool)
        for cid in wanted:  # a class or two: comparisons cost a fraction of np.isin's set-up on a few boxes
            mask |= self.class_id == cid
        return self[mask]

    def above(self, threshold: float) -> "Detections":
        return self[self.confidence >= threshold]

    @staticmethod
    def merge(parts: list["Detections"]) -> "Detections":
        parts = [p for p in parts]
        if not parts:
            return Detections.empty()
        names: dict[int, str] = {}
        for p in parts:
            names.update(p.names)
        kps = None
        if all(p.keypoints is not None for p in parts) and parts:
            kps = np.concatenate([p.keypoints for p in parts])  # type: ignore[misc]
        return Detections(
            xyxy=np.concatenate([p.xyxy for p in parts]).astype(np.float32),
            confidence=np.concatenate([p.confidence for p in parts]).astype(np.float32),
            class_id=np.concatenate([p.class_id for p in parts]).astype(np.int32),
            names=names,
            keypoints=kps,
        )

    def to_json(self) -> list[dict]:
        out = []
        for i in range(len(self)):
            d = {
                "label": self.labels[i],
                "class_id": int(self.class_id[i]),
                "confidence": round(float(self.confidence[i]), 4),
                "xyxy": [round(float(v), 1) for v in self.xyxy[i]],
            }
            if self.keypoints is not None:
                d["keypoints"] = [[round(float(a), 1) for a in kp] for kp in self.keypoints[i]]
            out.append(d)
        return out
