"""Default backend: the raw OpenVINO runtime, no torch. Letterbox, decode and NMS in numpy/OpenCV.

Batching: the IR is reshaped to a dynamic batch at load, so ``detect()`` on N frames
(e.g. one frame from each of N cameras) is one inference call. ``bench/detector_crops.py``
and ``bench/detector_batch.py`` measure what it pays.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import yaml

from edge.detect import ov_rect
from edge.detect.postprocess import decode, letterbox, to_tensor
from edge.detections import Detections

log = logging.getLogger(__name__)


def _find_xml(path: Path) -> Path:
    """The file OpenVINO reads: an IR .xml (or its folder), or an .onnx file."""
    if path.is_file() and path.suffix in (".xml", ".onnx"):
        return path
    if path.is_dir():
        xmls = sorted(path.glob("*.xml"))
        if len(xmls) == 1:
            return xmls[0]
        raise FileNotFoundError(f"{path}: expected exactly one OpenVINO .xml, found {len(xmls)}")
    raise FileNotFoundError(f"{path}: not an OpenVINO IR (.xml file or folder) or .onnx file")


def _metadata(xml: Path) -> dict:
    meta = xml.parent / "metadata.yaml"
    if meta.is_file():
        with open(meta, encoding="utf-8") as f:
            return yaml.safe_load(f) or {}
    return {}


def _usable(frame: object) -> bool:
    return (
        isinstance(frame, np.ndarray)
        and frame.dtype == np.uint8
        and frame.ndim == 3
        and frame.shape[2] == 3
        and frame.shape[0] >= 2
        and frame.shape[1] >= 2
    )


def resolve_device(available: list[str], wanted: str) -> str:
    """The OpenVINO device to compile for: ``wanted`` (CPU, GPU, AUTO, ...) when this machine has it, else CPU."""
    wanted = (wanted or "CPU").upper()
    if wanted == "AUTO" or wanted.startswith(("AUTO:", "MULTI", "HETERO")):
        return wanted
    if any(d == wanted or d.startswith(wanted + ".") for d in available):
        return wanted
    log.warning("OpenVINO device %s not available here (devices: %s); using CPU", wanted, ", ".join(available))
    return "CPU"


BATCH_CHUNK = 4  # frames per call of a model with a batch dimension: memory bounded whatever the batch
RECT_SIZES_MAX = 8  # rebuilt input sizes kept compiled per model (frame shapes the cameras send, capped crop sizes)
UPSCALE_STEP = 128  # a capped input side is rounded up to a multiple of this: few sizes to compile


def _stream_queue(queue, tensors: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Batch-1 requests on an AsyncInferQueue, each output yielded in input order as soon as it and those before
    it are done: one request infers while Python prepares the next input (``tensors`` may be a generator) or
    handles the previous output. At most the queue's length of inputs and outputs are held at a time, so memory
    does not grow with the number of frames (a camera's share of a batch is freed before the next is made)."""
    results: dict[int, np.ndarray] = {}

    def done(request, i: int) -> None:
        results[i] = request.get_output_tensor(0).data.copy()

    queue.set_callback(done)
    n = nxt = 0
    try:
        for i, t in enumerate(tensors):
            queue.start_async({0: t if t.ndim == 4 else t[None]}, i)
            n = i + 1
            while nxt in results:
                yield results.pop(nxt)
                nxt += 1
        queue.wait_all()
        while nxt < n:
            yield results.pop(nxt)
            nxt += 1
    finally:
        queue.wait_all()  # a consumer that stopped early leaves no request writing into this call's results


class _Net:
    """A compiled network (the export's own input or one rebuilt for a frame shape): one request for a frame, a
    queue for several, one request more than the network has inference streams (two for one stream): every stream
    has a frame while Python prepares the next. Requests and queues are per thread (several analysis threads share
    one compiled network)."""

    def __init__(self, compiled, streams: int = 1) -> None:
        self.compiled = compiled
        self.depth = max(1, streams) + 1
        self._local = threading.local()
        self._local.request = compiled.create_infer_request()  # the loading thread's, made now: fails early

    @property
    def request(self):  # noqa: ANN201 - openvino.InferRequest
        if getattr(self._local, "request", None) is None:
            self._local.request = self.compiled.create_infer_request()
        return self._local.request

    def stream(self, tensors: Iterable[np.ndarray], count: int) -> Iterator[np.ndarray]:
        """The raw output of each of ``count`` input tensors, in order."""
        if count == 1:
            (t,) = tensors
            yield np.asarray(self.request.infer({0: t})[self.compiled.outputs[0]]).copy()[0]
            return
        import openvino as ov

        if getattr(self._local, "queue", None) is None:
            self._local.queue = ov.AsyncInferQueue(self.compiled, self.depth)
        for raw in _stream_queue(self._local.queue, tensors):
            yield raw[0]


class OpenVinoDetector:
    """A YOLOv8/YOLO11 detect or pose IR run with ``openvino.Core``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        names: dict[int, str] | None = None,
        task: str | None = None,
        device: str = "CPU",
        batch: int | None = None,
        threads: int | None = None,
        imgsz: int | None = None,
        rect: bool = True,
        streams: int = 1,
    ) -> None:
        """``imgsz`` overrides the input size; static Ultralytics exports bake their anchors for the
        export size and refuse any other (ValueError). ``rect``: a detect model runs a frame that is not square
        at the smallest input that holds it at the square's scale (640x384 for 16:9; ``edge.detect.ov_rect``),
        instead of letterboxing it into the square. ``streams``: frames of one call inferred at once (OpenVINO
        ``NUM_STREAMS``), each on ``threads`` threads (default: the cores shared out), one request per frame even
        where the export has a batch dimension; 1 is one frame (or one batch) at a time on all of them."""
        import openvino as ov

        self.path = _find_xml(Path(path))
        meta = _metadata(self.path)
        self.names: dict[int, str] = {int(k): str(v) for k, v in (names or meta.get("names") or {}).items()}
        if not self.names:
            raise ValueError(f"{self.path}: no class names (no manifest and no metadata.yaml)")
        self.task = task or meta.get("task", "detect")
        if self.task not in ("detect", "pose"):
            raise ValueError(f"{self.path}: unsupported task {self.task!r}")
        meta_size = meta.get("imgsz", [640, 640])
        h, w = (meta_size, meta_size) if isinstance(meta_size, int) else meta_size
        self.input_size = (int(imgsz), int(imgsz)) if imgsz else (int(w), int(h))
        self.num_keypoints = int((meta.get("kpt_shape") or [17, 3])[0]) if self.task == "pose" else 0

        core = ov.Core()
        device = self.device = resolve_device(core.available_devices, device)
        config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY"}
        self.streams = max(1, int(streams))
        if self.streams > 1 and device == "CPU":
            config["NUM_STREAMS"] = self.streams
        else:
            self.streams = 1
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads) * self.streams
        h_in, w_in = self.input_size[1], self.input_size[0]
        # Several frames in one call need a batch dimension. Some exports hard-code batch 1 inside
        # (YOLO11's attention reshapes to (1, ...)): probe a batch of 2 and fall back to batch 1 +
        # an asynchronous request queue, which keeps both cores busy without a batch dimension. With several
        # streams the queue is used whatever the export: one request's batch runs on one stream, so a batch
        # would leave the other streams idle.
        self.batching = "none"
        self._fixed_batch: int | None = 1
        ir = core.read_model(str(self.path))  # each attempt reshapes its own copy
        if batch != 1 and (batch or self.streams == 1):
            try:
                model = ir.clone()
                model.reshape([batch if batch else -1, 3, h_in, w_in])
                out_batch = model.output(0).get_partial_shape()[0]
                if out_batch.is_static and (not batch or out_batch.get_length() != batch):
                    # never run it: a batch fed to a graph that fixes batch 1 inside writes past its buffers
                    raise RuntimeError(f"the graph fixes the output batch at {out_batch}")
                compiled = core.compile_model(model, device, config)
                probe = 2 if not batch else batch
                out = compiled.create_infer_request().infer({0: np.zeros((probe, 3, h_in, w_in), np.float32)})
                got = np.asarray(out[compiled.outputs[0]]).shape[0]
                if got != probe:  # a batch-1 reshape inside the graph may compile and silently drop frames
                    raise RuntimeError(f"a batch of {probe} gave {got} result(s)")
                self._compiled, self._fixed_batch, self.batching = compiled, batch, "batch"
            except RuntimeError as exc:
                log.info("%s: no batch dimension (%s); using batch 1 + async queue", self.path.name, str(exc)[:80])
        if self.batching != "batch":
            model = ir.clone()
            try:
                model.reshape([1, 3, h_in, w_in])
                self._compiled = core.compile_model(model, device, config)
            except RuntimeError as exc:
                raise ValueError(f"{self.path.name} cannot run at input {w_in}x{h_in}: {str(exc)[:200]}") from exc
            self.batching = "async"
        rows = self._compiled.outputs[0].get_partial_shape()[1]
        expected = 4 + len(self.names) + 3 * self.num_keypoints
        if rows.is_static and rows.get_length() != expected:
            raise ValueError(
                f"{self.path}: head has {rows.get_length()} rows, expected {expected} for "
                f"{len(self.names)} classes and {self.num_keypoints} keypoints"
            )
        self._net = _Net(self._compiled, self.streams)
        self.bad_frames = 0  # frames refused by detect() (wrong shape/dtype), for health reporting
        self._core, self._config = core, config
        self.rect = rect and self.task == "detect" and self.input_size[0] == self.input_size[1]
        # an IR exported with a dynamic input size (the pose model) is reshaped to a capped crop's input as it is;
        # frames without a cap keep the export's square
        self._resizable = rect and ov_rect.dynamic_hw(ir)
        self._rect_nets: dict[tuple[int, int], _Net] = {}
        self._compiling = threading.Lock()  # analysis threads asking for the same new input size compile it once

    def __repr__(self) -> str:
        return f"OpenVinoDetector({self.path.name}, task={self.task}, classes={len(self.names)})"

    def infer_raw(self, tensor: np.ndarray) -> np.ndarray:
        """Run the network on an NCHW float32 batch; returns the raw head (N, C, anchors)."""
        if self.batching == "async" and len(tensor) > 1:
            return self._infer_async(tensor)
        if self._fixed_batch and tensor.shape[0] != self._fixed_batch:
            outs = [self.infer_raw(tensor[i : i + self._fixed_batch]) for i in range(0, len(tensor), self._fixed_batch)]
            return np.concatenate(outs)
        result = self._net.request.infer({0: tensor})
        return np.asarray(result[self._compiled.outputs[0]]).copy()

    def _infer_async(self, tensors: list[np.ndarray] | np.ndarray) -> np.ndarray:
        """Batch-1 requests on a queue of two: one infers while Python prepares the next."""
        return np.stack(list(self._net.stream(tensors, len(tensors))))

    def detect(
        self,
        frames: list[np.ndarray],
        conf: float = 0.25,
        iou: float = 0.45,
        classes: list[int] | None = None,
        max_upscale: float | None = None,
    ) -> list[Detections]:
        """One ``Detections`` per frame. A frame that is not an HxWx3 uint8 picture is logged, counted in
        ``bad_frames`` and gets empty detections; the other frames of the batch are still analysed.
        ``max_upscale``: see ``input_for``."""
        if not frames:
            return []
        good = [i for i, f in enumerate(frames) if _usable(f)]
        if len(good) < len(frames):
            for i in set(range(len(frames))) - set(good):
                shape = getattr(frames[i], "shape", type(frames[i]).__name__)
                log.error("%s: frame %d of %d is not an HxWx3 uint8 picture (%s); skipped", self.path.name, i,
                          len(frames), shape)
            self.bad_frames += len(frames) - len(good)
            results = self.detect([frames[i] for i in good], conf, iou, classes, max_upscale) if good else []
            out = [Detections.empty(self.names) for _ in frames]
            for i, r in zip(good, results):
                out[i] = r
            return out
        sizes = [self.input_for(f, max_upscale) for f in frames]
        if all(size == self.input_size for size in sizes):
            return self._detect_at(frames, self.input_size, conf, iou, classes)
        found: dict[int, Detections] = {}
        for size in dict.fromkeys(sizes):
            idx = [i for i, s in enumerate(sizes) if s == size]
            found.update(zip(idx, self._detect_at([frames[i] for i in idx], size, conf, iou, classes)))
        return [found[i] for i in range(len(frames))]

    def input_for(self, frame: np.ndarray, max_upscale: float | None = None) -> tuple[int, int]:
        """The network input (width, height) this frame is analysed at. ``max_upscale``: a frame smaller than the
        input (a crop) is enlarged at most this many times, analysed at the smallest square input (a multiple of
        ``UPSCALE_STEP``) that holds it so enlarged instead of at the whole input (rect detect models; models
        exported with a dynamic input size, such as the pose model, only with a cap)."""
        if not (self.rect or (max_upscale and self._resizable)):
            return self.input_size
        side = self.input_size[0]
        if max_upscale:
            enlarged = max(frame.shape[:2]) * max_upscale
            side = min(side, max(UPSCALE_STEP, math.ceil(enlarged / UPSCALE_STEP) * UPSCALE_STEP))
        size = ov_rect.fit_input(frame.shape[:2], side)
        if size != self.input_size and self._rect_net(size) is None:
            return self.input_size
        return size

    def _rect_net(self, size: tuple[int, int]) -> _Net | None:
        """The network rebuilt (a dynamic export: reshaped) for ``size`` (compiled once; None, and rect off, where
        the export is not a YOLOv8/YOLO11 detect head the rebuild knows)."""
        with self._compiling:
            return self._rect_net_locked(size)

    def _rect_net_locked(self, size: tuple[int, int]) -> _Net | None:
        if size not in self._rect_nets:
            if len(self._rect_nets) >= RECT_SIZES_MAX:
                return None
            try:
                model = self._core.read_model(str(self.path))
                if self._resizable:
                    model.reshape([1, 3, size[1], size[0]])
                else:
                    model = ov_rect.rect_model(model, len(self.names), *size)
                self._rect_nets[size] = _Net(self._core.compile_model(model, self.device, self._config), self.streams)
                log.info("%s: frames of this shape analysed at %dx%d instead of %dx%d", self.path.name, *size,
                         *self.input_size)
            except (ValueError, RuntimeError) as exc:
                log.warning("%s: no rectangular input (%s); frames are letterboxed into %dx%d", self.path.name,
                            str(exc)[:200], *self.input_size)
                self.rect = self._resizable = False
                return None
        return self._rect_nets[size]

    def _detect_at(self, frames: list[np.ndarray], size: tuple[int, int], conf: float, iou: float,
                   classes: list[int] | None) -> list[Detections]:
        """Frames of one input size, one at a time through letterbox, inference and decode (the next one's
        inference overlapping this one's decode): at most a few frames' tensors and outputs are held at once,
        however many frames (cameras, seat squares, hand crops) the call has."""
        maps: list = []

        def prepared(chunk: list[np.ndarray]) -> Iterator[np.ndarray]:
            for f in chunk:
                img, lb = letterbox(f, size)
                maps.append(lb)
                yield to_tensor([img])

        if size != self.input_size or self.batching == "async":
            net = self._rect_nets[size] if size != self.input_size else self._net
            heads = net.stream(prepared(frames), len(frames))
        else:
            heads = (head for i in range(0, len(frames), BATCH_CHUNK)
                     for head in self.infer_raw(np.concatenate(list(prepared(frames[i:i + BATCH_CHUNK])))))
        out: list[Detections] = []
        for head in heads:
            out.append(self._decoded(head, maps[len(out)], conf, iou, classes))
        if len(out) != len(frames):
            raise RuntimeError(f"{self.path.name}: {len(frames)} frames gave {len(out)} results")
        return out

    def _decoded(self, head: np.ndarray, lb, conf: float, iou: float, classes: list[int] | None) -> Detections:
        xyxy, score, cls, kpts = decode(head, len(self.names), conf, iou, classes, self.num_keypoints)
        if kpts is not None:
            kpts = kpts.astype(np.float32)
            if len(kpts):
                k = kpts.shape[1]
                kpts[..., :2] = lb.to_source(kpts[..., :2].reshape(len(kpts), 2 * k)).reshape(len(kpts), k, 2)
        return Detections(xyxy=lb.to_source(xyxy), confidence=score.astype(np.float32), class_id=cls,
                          names=self.names, keypoints=kpts)
