"""The pre-labelling engine: an exported YOLO model run by ONNX Runtime.

Pipeline per image: decode (threads, OpenCV releases the GIL) -> letterbox to the smallest
stride-aligned rectangle -> images of the same input shape batched together -> one
``session.run`` per batch -> class-aware NMS -> boxes in original pixels with per-class
probabilities and the image embedding. Paths are streamed through a bounded window, so
memory does not grow with the size of the pool, and results come out in input order.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from hitl_active.data.images import ImageReadError, read_image_bgr
from hitl_active.detections import Detections
from hitl_active.serving.batching import Batcher, EngineStats, Pending
from hitl_active.serving.metadata import (
    EMBEDDING_OUTPUT,
    check_head_shape,
    read_model_metadata,
)
from hitl_active.serving.postprocess import decode_yolo
from hitl_active.serving.preprocess import letterbox, to_batch
from hitl_active.serving.session import (
    CUDA,
    ModelLoadError,
    create_session,
    default_threads,
    ort_errors,
    select_providers,
)

__all__ = ["Engine", "EngineConfig", "ModelLoadError", "PathPrediction"]

logger = logging.getLogger(__name__)


@dataclass
class EngineConfig:
    """How the engine runs.

    Attributes:
        conf_floor: keep candidate boxes whose best class score exceeds this (low on purpose:
            the sampler needs the uncertain boxes; the display threshold is applied later).
        iou: NMS IoU threshold (class-aware).
        max_det: most boxes kept per image.
        batch_size: images per ``session.run`` (same input shape within a batch).
        providers: ONNX Runtime providers; ``None`` = CUDA when available, else CPU.
        intra_op_threads: ONNX Runtime threads per ``session.run``; ``None`` = the cores
            divided among the inference workers.
        infer_workers: batches run concurrently (one ``session.run`` each); ``None`` = 2 on
            CPU with at least 2 cores (faster than one run over all cores for small
            models), 1 with CUDA.
        decode_workers: threads decoding and letterboxing images ahead of inference.
        rect: letterbox to the smallest stride-aligned rectangle (needs a dynamic model).
        imgsz: inference size (long side); ``None`` = the size the model was exported at.
        spin: let idle ONNX Runtime threads busy-wait (faster only on an otherwise idle
            machine with no decode threads competing for the cores).
    """

    conf_floor: float = 0.01
    iou: float = 0.7
    max_det: int = 300
    batch_size: int = 8
    providers: list[str] | None = None
    intra_op_threads: int | None = None
    infer_workers: int | None = None
    decode_workers: int = 2
    rect: bool = True
    imgsz: int | None = None
    spin: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.conf_floor < 1.0:
            raise ValueError(f"conf_floor must be in [0, 1), got {self.conf_floor}")
        if not 0.0 < self.iou <= 1.0:
            raise ValueError(f"iou must be in (0, 1], got {self.iou}")
        for name in ("max_det", "batch_size", "decode_workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("infer_workers", "intra_op_threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or None for automatic), got {value}")
        if self.imgsz is not None and (self.imgsz < 32 or self.imgsz % 32):
            raise ValueError(f"imgsz must be a multiple of 32 (the model stride), got {self.imgsz}")


@dataclass(frozen=True)
class PathPrediction:
    """The result for one image file: detections, or the reason it could not be read.

    ``warning`` says what was noticed while reading a readable file (a truncated JPEG
    restored, say).
    """

    path: Path
    detections: Detections | None
    error: str | None = None
    warning: str | None = None


class Engine:
    """Runs an exported detector on images or image files (see the module docstring)."""

    def __init__(
        self,
        onnx_path: str | Path,
        config: EngineConfig | None = None,
        model_version: str | None = None,
    ) -> None:
        self.onnx_path = Path(onnx_path)
        self.config = config or EngineConfig()
        meta = read_model_metadata(self.onnx_path)
        self.metadata = meta
        self.class_names: list[str] = meta.class_names
        self.stride = meta.stride
        self.model_version = model_version or meta.version or self.onnx_path.stem
        chosen = select_providers(self.config.providers)
        cores = default_threads()
        workers = self.config.infer_workers
        if workers is None:
            workers = 1 if CUDA in chosen else min(2, cores)
        self.infer_workers = max(1, int(workers))
        threads = self.config.intra_op_threads or max(1, cores // self.infer_workers)
        self.session = create_session(self.onnx_path, chosen, threads, self.config.spin)
        self.providers: list[str] = list(self.session.get_providers())
        logger.info("%s runs on %s", self.onnx_path.name, self.provider)
        if CUDA in chosen and self.provider != CUDA:
            logger.warning(
                "CUDA was asked for but ONNX Runtime runs %s on %s: its CUDA libraries did not "
                "load (check the CUDA and cuDNN versions onnxruntime-gpu needs)",
                self.onnx_path.name,
                self.provider,
            )
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        dims = list(model_input.shape)
        static_hw = all(isinstance(d, int) for d in dims[2:])
        if static_hw and self.config.imgsz is not None:
            logger.warning(
                "%s has a fixed input size %sx%s; imgsz=%d is ignored (export with dynamic=True "
                "to choose the size at inference)",
                self.onnx_path.name,
                dims[3],
                dims[2],
                self.config.imgsz,
            )
        if static_hw:
            self.imgsz: tuple[int, int] = (int(dims[2]), int(dims[3]))
        elif self.config.imgsz is not None:
            self.imgsz = (int(self.config.imgsz), int(self.config.imgsz))
        else:
            self.imgsz = meta.imgsz
        self.rect = self.config.rect and not static_hw
        self.batch_size = dims[0] if isinstance(dims[0], int) else self.config.batch_size
        outputs = [o.name for o in self.session.get_outputs()]
        self.output_names = [outputs[0]] + ([EMBEDDING_OUTPUT] if meta.has_embedding else [])
        self._check_head(static_hw, dims[0])
        self.stats = EngineStats()
        # Images waiting for a full batch of their shape (uint8, under 1 MB each at 640).
        self.window = 8 * self.batch_size

    @property
    def provider(self) -> str:
        """The execution provider the session actually runs on (e.g. ``CPUExecutionProvider``)."""
        return self.providers[0]

    def _check_head(self, static_hw: bool, batch: int | str) -> None:
        """Run the smallest input once: the head must give ``4 + len(class_names)`` channels
        (an exported graph often leaves that dimension symbolic)."""
        h, w = self.imgsz if static_hw else (self.stride, self.stride)
        x = np.zeros((batch if isinstance(batch, int) else 1, 3, h, w), np.float32)
        try:
            head = self.session.run(self.output_names[:1], {self.input_name: x})[0]
        except (RuntimeError, ValueError, *ort_errors()) as exc:
            raise ModelLoadError(self.onnx_path, f"a test run failed ({exc})") from exc
        check_head_shape(self.onnx_path, head.shape, len(self.class_names))

    # ------------------------------------------------------------------ core
    def _prepare(self, image: np.ndarray, bgr: bool) -> Pending:
        boxed, info = letterbox(image, self.imgsz, self.stride, self.rect)
        return Pending(image=boxed, info=info, bgr=bgr)

    def _run_batch(self, batch: Sequence[Pending]) -> list[Detections]:
        x = to_batch([p.image for p in batch], bgr=batch[0].bgr)
        with self.stats.timing(x.shape):
            outputs = self.session.run(self.output_names, {self.input_name: x})
        embeddings = outputs[1] if len(outputs) > 1 else None
        return decode_yolo(
            outputs[0],
            [p.info for p in batch],
            conf_floor=self.config.conf_floor,
            iou=self.config.iou,
            max_det=self.config.max_det,
            embeddings=embeddings,
            model_version=self.model_version,
        )

    # ------------------------------------------------------------------ public API
    def predict(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detections for in-memory ``(H, W, 3)`` uint8 **RGB** images, in the same order."""
        for i, image in enumerate(images):
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(
                    f"image {i}: expected an (H, W, 3) uint8 RGB array, "
                    f"got {image.dtype} {image.shape}"
                )
        with self._inference_pool() as infer:
            batcher = Batcher(
                self._run_batch, self.batch_size, max(len(images), 1), infer, self.infer_workers
            )
            for i, image in enumerate(images):
                batcher.add(i, self._prepare(np.asarray(image), bgr=False))
            batcher.flush()
            return [batcher.pop(i) for i in range(len(images))]  # type: ignore[misc]

    def _inference_pool(self) -> contextlib.AbstractContextManager[ThreadPoolExecutor | None]:
        """Threads running batches concurrently, or nothing when one worker suffices."""
        if self.infer_workers <= 1:
            return contextlib.nullcontext(None)
        return ThreadPoolExecutor(self.infer_workers, "infer")

    def _load(self, path: Path) -> tuple[Pending, str | None]:
        notes: list[str] = []
        pending = self._prepare(read_image_bgr(path, notes), bgr=True)
        return pending, "; ".join(notes) or None

    def predict_paths(
        self, paths: Iterable[str | Path], progress: bool = True
    ) -> Iterator[PathPrediction]:
        """Stream predictions for image files, in input order, decoding ahead in threads.

        Unreadable files yield a :class:`PathPrediction` with ``error`` set and do not stop
        the run. At most a few batches of images are held in memory at any time.
        """
        import cv2

        total = len(paths) if hasattr(paths, "__len__") else None  # type: ignore[arg-type]
        prefetch = self.batch_size * self.infer_workers + 2 * self.config.decode_workers
        in_flight: deque[tuple[int, Path, Future[tuple[Pending, str | None]]]] = deque()
        names: dict[int, Path] = {}
        warnings: dict[int, str] = {}
        next_out = 0
        bar = tqdm(total=total, disable=not progress, unit="img", desc="prelabel")
        with (
            ThreadPoolExecutor(self.config.decode_workers, "decode") as pool,
            self._inference_pool() as infer,
        ):
            batcher = Batcher(
                self._run_batch, self.batch_size, self.window, infer, self.infer_workers
            )
            source = iter(enumerate(paths))
            exhausted = drain = False
            while not drain:
                while not exhausted and len(in_flight) < prefetch:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                        break
                    index, path = item[0], Path(item[1])
                    in_flight.append((index, path, pool.submit(self._load, path)))
                if in_flight:
                    index, path, future = in_flight.popleft()
                    names[index] = path
                    try:
                        pending, warning = future.result()
                        batcher.add(index, pending)
                        if warning is not None:
                            warnings[index] = warning
                            logger.warning("%s: %s", path, warning)
                    except ImageReadError as exc:
                        batcher.fail(index, exc.reason)
                    except (ValueError, OSError, cv2.error) as exc:
                        batcher.fail(index, f"cannot be pre-processed ({exc})")
                elif not batcher.flush_oldest():
                    drain = True  # everything is submitted: wait for the rest in order
                while next_out in names and (drain or batcher.ready(next_out)):
                    result = batcher.pop(next_out)
                    path = names.pop(next_out)
                    next_out += 1
                    bar.update(1)
                    if isinstance(result, str):
                        yield PathPrediction(path, None, result)
                    else:
                        yield PathPrediction(path, result, None, warnings.pop(next_out - 1, None))
        bar.close()
