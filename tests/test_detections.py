"""``Detections`` selection helpers, table-driven."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detections import Detections

NAMES = {0: "person", 1: "bicycle", 41: "cup", 67: "cell phone"}
DET = Detections(xyxy=np.arange(24, dtype=np.float32).reshape(6, 4),
                 confidence=np.array([0.9, 0.2, 0.5, 0.7, 0.3, 0.6], np.float32),
                 class_id=np.array([0, 67, 0, 41, 1, 67]), names=NAMES)


@pytest.mark.parametrize(("names", "rows"), [
    (("person",), [0, 2]),
    (("cell phone", "cup"), [1, 3, 5]),  # several names: every box of any of them, in the original order
    (("cup", "cup"), [3]),
    (("dog",), []),  # a name the model does not know
    ((), []),
])
def test_of_class(names, rows):  # noqa: ANN001
    got = DET.of_class(*names)
    assert got.xyxy.tolist() == DET.xyxy[rows].tolist() and got.class_id.tolist() == DET.class_id[rows].tolist()
    assert got.names == NAMES


def test_of_class_of_nothing():
    assert len(Detections.empty(NAMES).of_class("person")) == 0
