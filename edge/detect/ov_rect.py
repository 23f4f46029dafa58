"""Rectangular input for a static YOLO detect IR (what Ultralytics calls rect inference).

A 640x360 substream letterboxed into the exported 640x640 input spends 44 % of the network on grey padding. The
smallest input that holds the frame at the same scale is 640x384 (sides rounded up to the largest stride, 32).
A static Ultralytics export cannot simply be reshaped to it: its head decodes boxes against anchor and stride
constants made for 640x640, and YOLO11's attention block (C2PSA) reshapes to the 20x20 grid it was traced at.

``rect_model`` rebuilds the network for another input size: the graph is cut at the head's per-level outputs (the
``Concat`` of box distributions and class logits, ``4 * reg_max + nc`` channels at strides 8, 16, 32), the
attention reshapes that name the traced grid are given the new one, and the decode is appended again with the
same operations Ultralytics' ``Detect`` head uses (DFL softmax expectation, ``dist2bbox`` against anchors at
cell centres, sigmoid class scores) for the new grid. The output keeps the export's layout, ``(1, 4 + nc, anchors)``
with ``(cx, cy, w, h)`` in input pixels, so ``postprocess.decode`` reads it unchanged. The weights (INT8 included)
are the export's own; at the export's size the rebuilt network gives the export's output (tested).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

REG_MAX = 16  # DFL bins of YOLOv8 / YOLO11 heads


def fit_input(frame_hw: tuple[int, int], square: int, stride: int = 32) -> tuple[int, int]:
    """(width, height) of the smallest stride-multiple input holding a ``frame_hw`` frame at the scale a
    ``square`` x ``square`` letterbox would give it."""
    h, w = int(frame_hw[0]), int(frame_hw[1])
    r = square / max(h, w)
    return (min(square, math.ceil(round(w * r) / stride) * stride),
            min(square, math.ceil(round(h * r) / stride) * stride))


def dynamic_hw(model: Any) -> bool:
    """Whether an IR's input height and width are dynamic (exported with ``dynamic=True``): such a network is
    reshaped to another input size as it is (its head computes its anchors from the feature maps' shapes)."""
    shape = model.inputs[0].get_partial_shape()
    return shape.rank.is_static and shape.rank.get_length() == 4 and not (shape[2].is_static and shape[3].is_static)


def _static_input_hw(model: Any) -> tuple[int, int]:
    shape = model.inputs[0].get_partial_shape()
    if not shape.is_static:
        raise ValueError("the IR's input is not static (a dynamic export reshapes without this)")
    _, _, h, w = (d.get_length() for d in shape)
    return h, w


def head_levels(model: Any, num_classes: int) -> list[tuple[Any, int]]:
    """The head's per-level outputs ``(node, stride)``, finest first: ``Concat`` nodes of shape
    ``(1, 4 * REG_MAX + num_classes, H, W)``."""
    in_h, _ = _static_input_hw(model)
    width = 4 * REG_MAX + num_classes
    levels = []
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Concat":
            continue
        shape = op.get_output_partial_shape(0)
        if shape.rank.is_static and shape.rank.get_length() == 4 and shape.is_static and \
                shape[1].get_length() == width:
            levels.append((op, in_h // shape[2].get_length()))
    if len(levels) != 3 or sorted(s for _, s in levels) != [8, 16, 32]:
        raise ValueError(f"not a YOLOv8/YOLO11 detect head: per-level outputs at strides {[s for _, s in levels]}")
    return sorted(levels, key=lambda x: x[1])


def _free_grid_reshapes(model: Any, grids: dict[int, tuple[int, int]]) -> int:
    """Make every Reshape whose constant target names a traced grid follow its input instead: a flattening
    target ``(..., gh * gw)`` ends in -1, an unflattening one ``(..., gh, gw)`` takes the spatial size from the
    tensor the same block flattened. Returns how many were changed."""
    from openvino import opset13 as ops

    changed = 0
    flattened: dict[int, Any] = {}  # stride -> the 4-D tensor a block flattened
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Reshape":
            continue
        src = op.input_value(1).get_node()
        if src.get_type_name() != "Constant":
            continue
        target = [int(v) for v in src.get_data()]
        if len(target) < 3 or -1 in target:
            continue
        for stride, (gh0, gw0) in grids.items():
            if target[-1] == gh0 * gw0 and op.get_input_partial_shape(0).rank.get_length() == 4:
                flattened[stride] = op.input_value(0)
                new = ops.constant(np.array([*target[:-1], -1], np.int64)).output(0)
            elif target[-2:] == [gh0, gw0] and stride in flattened:
                hw = ops.gather(ops.shape_of(flattened[stride], "i64"), ops.constant(np.array([2, 3], np.int64)),
                                ops.constant(np.int64(0)))
                new = ops.concat([ops.constant(np.array(target[:-2], np.int64)), hw], 0).output(0)
            else:
                continue
            op.input(1).replace_source_output(new)
            changed += 1
            break
    return changed


def _detach(outputs: list[Any]) -> None:
    """Feed whatever consumes ``outputs`` from a constant of the same shape instead (both ends of each edge updated,
    so the cut-off nodes stay consistent until they are freed)."""
    from openvino import opset13 as ops

    for out in outputs:
        for consumer in list(out.get_target_inputs()):
            dummy = ops.constant(np.zeros(out.get_partial_shape().to_shape(), np.float32))
            consumer.replace_source_output(dummy.output(0))


def anchors(width: int, height: int, strides: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Anchor points (cell centres, in grid units) ``(2, N)`` and their strides ``(1, N)``, level by level,
    row-major within a level (Ultralytics' ``make_anchors`` with offset 0.5)."""
    points, scale = [], []
    for s in strides:
        gh, gw = height // s, width // s
        ys, xs = np.meshgrid(np.arange(gh, dtype=np.float32) + 0.5, np.arange(gw, dtype=np.float32) + 0.5,
                             indexing="ij")
        points.append(np.stack([xs.ravel(), ys.ravel()]))
        scale.append(np.full((1, gh * gw), s, np.float32))
    return np.concatenate(points, 1), np.concatenate(scale, 1)


def rect_model(model: Any, num_classes: int, width: int, height: int) -> Any:
    """The detect IR ``model`` (an ``openvino.Model``, taken apart: pass a fresh read) rebuilt for a
    ``width`` x ``height`` input (multiples of 32), output ``(1, 4 + num_classes, anchors)`` as the export's."""
    import openvino as ov
    from openvino import opset13 as ops

    if width % 32 or height % 32:
        raise ValueError(f"input {width}x{height} is not a multiple of 32")
    in_h, in_w = _static_input_hw(model)
    levels = head_levels(model, num_classes)
    strides = [s for _, s in levels]
    new = {s: (height // s, width // s) for s in strides}
    outputs = [op.output(0) for op, _ in levels]
    _detach(outputs)  # the export's own decode hangs off the level outputs
    cut = ov.Model(outputs, model.get_parameters(), f"{model.get_friendly_name()}-rect")
    _free_grid_reshapes(cut, {s: (in_h // s, in_w // s) for s in strides})
    cut.reshape([1, 3, height, width])
    for result in list(cut.get_results()):  # the new decode, not these, consumes the level outputs
        cut.remove_result(result)
    _detach(outputs)
    channels = 4 * REG_MAX + num_classes
    flat = [ops.reshape(out, ops.constant(np.array([1, channels, -1], np.int64)), special_zero=False)
            for out in outputs]
    cat = ops.concat(flat, axis=2)
    box, cls = ops.variadic_split(cat, ops.constant(np.int64(1)),
                                  ops.constant(np.array([4 * REG_MAX, num_classes], np.int64))).outputs()
    n = sum(h * w for h, w in new.values())
    dist = ops.reshape(box, ops.constant(np.array([1, 4, REG_MAX, n], np.int64)), special_zero=False)
    bins = ops.constant(np.arange(REG_MAX, dtype=np.float32).reshape(1, 1, REG_MAX, 1))
    dist = ops.reduce_sum(ops.multiply(ops.softmax(dist, 2), bins), ops.constant(np.int64(2)), keep_dims=False)
    lt, rb = ops.split(dist, ops.constant(np.int64(1)), 2).outputs()
    points, scale = anchors(width, height, strides)
    points_c = ops.constant(points[None])
    x1y1, x2y2 = ops.subtract(points_c, lt), ops.add(points_c, rb)
    centre = ops.multiply(ops.add(x1y1, x2y2), ops.constant(np.float32(0.5)))
    boxes = ops.multiply(ops.concat([centre, ops.subtract(x2y2, x1y1)], axis=1), ops.constant(scale[None]))
    out = ops.concat([boxes, ops.sigmoid(cls)], axis=1)
    return ov.Model([out.output(0)], model.get_parameters(), cut.get_friendly_name())
