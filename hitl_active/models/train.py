"""Train (or fine-tune) a YOLO detector with Ultralytics, quietly and without downloads."""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hitl_active.models.dataset import prepare_yolo_dataset
from hitl_active.models.device import cpu_training_threads, resolve_device, use_cpu_threads
from hitl_active.models.start import resolve_start
from hitl_active.models.ultra import quiet_ultralytics, ultralytics_yolo
from hitl_active.models.watchdog import TrainingTimeoutError, run_watched

if TYPE_CHECKING:
    from hitl_active.formats.core import ImageLabels

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingTimeoutError",
    "train_detector",
    "train_on_labels",
    "train_watched",
]

logger = logging.getLogger(__name__)

# Arguments we set ourselves; ``TrainConfig.extra`` may not override them silently.
_RESERVED = {"data", "project", "name", "exist_ok"}


@dataclass
class TrainConfig:
    """How to train.

    Attributes:
        model: where training starts (see :mod:`hitl_active.models.start`): ``base`` (the
            shipped photo-trained detector), ``scratch`` or a model YAML (random init), a local
            ``.pt`` to fine-tune, or a name Ultralytics publishes (downloaded when online).
        epochs, imgsz, batch, seed, workers, patience, lr0: as in Ultralytics.
        device: ``None`` (every visible GPU, else the CPU; see
            :func:`~hitl_active.models.device.resolve_device`), ``"cpu"``, ``"0"`` or
            ``"0,1"`` (several GPUs: Ultralytics launches DDP itself).
        timeout_s: wall-clock limit; when set, training runs in a child process that is
            killed with its workers when late (:mod:`hitl_active.models.watchdog`).
        extra: further Ultralytics training arguments (e.g. ``{"mosaic": 0.0}``).
    """

    model: str = "yolo11n.yaml"
    epochs: int = 30
    imgsz: int = 320
    batch: int = 16
    seed: int = 0
    device: str | None = None
    workers: int = 0
    patience: int = 50
    lr0: float | None = None
    timeout_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.imgsz < 32 or self.imgsz % 32:
            raise ValueError(f"imgsz must be a multiple of 32 (>= 32), got {self.imgsz}")
        if self.batch < 1:
            raise ValueError(f"batch must be at least 1, got {self.batch}")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive seconds, got {self.timeout_s}")
        clash = _RESERVED & set(self.extra)
        if clash:
            raise ValueError(
                f"TrainConfig.extra may not set {sorted(clash)}: they are set from "
                "train_detector's arguments"
            )


@dataclass(frozen=True)
class TrainResult:
    """Where the trained weights are and how training went."""

    weights: Path
    metrics: dict[str, float]
    epochs_run: int
    seconds: float


def train_detector(data_yaml: Path, out_dir: Path, config: TrainConfig) -> TrainResult:
    """Train a detector on a YOLO ``data.yaml``; Ultralytics' run folder lives in ``out_dir``.

    Returns:
        The best weights (``out_dir/train/weights/best.pt``, falling back to ``last.pt``),
        the final validation metrics (``metrics/mAP50-95(B)`` etc.), epochs run and wall time.

    Raises:
        FileNotFoundError: ``data_yaml`` is missing.
        StartModelError: ``config.model`` cannot be had (a missing file; a download offline).
        ValueError: ``config.device`` names a device this machine lacks.
        RuntimeError: Ultralytics finished without writing weights.
        TrainingTimeoutError: training ran past ``config.timeout_s`` and was stopped.
    """
    data_yaml, out_dir = Path(data_yaml), Path(out_dir)
    if not data_yaml.is_file():
        raise FileNotFoundError(f"dataset file {data_yaml} not found; see prepare_yolo_dataset")
    model_ref = resolve_start(config.model)
    config = dataclasses.replace(config, device=resolve_device(config.device))
    out_dir.mkdir(parents=True, exist_ok=True)
    if config.timeout_s is not None:
        return train_watched(data_yaml, out_dir, config, config.timeout_s)

    YOLO = ultralytics_yolo()
    args: dict[str, Any] = {
        "data": str(data_yaml.resolve()),
        "epochs": config.epochs,
        "imgsz": config.imgsz,
        "batch": config.batch,
        "seed": config.seed,
        "deterministic": True,
        "device": config.device,
        "workers": config.workers,
        "patience": config.patience,
        "project": str(out_dir.resolve()),
        "name": "train",
        "exist_ok": True,
        "plots": False,  # plotting fetches a font from the internet
        # Ultralytics' AMP check downloads a checkpoint; opt in with extra={"amp": True} on a
        # GPU machine that has yolo26n.pt in Ultralytics' weights folder or internet access.
        "amp": False,
        "verbose": False,
        "val": True,
    }
    if config.lr0 is not None:
        args["lr0"] = config.lr0
    args.update(config.extra)
    logger.info(
        "training %s on %s for %d epochs at imgsz %d (%s)",
        model_ref,
        data_yaml,
        config.epochs,
        config.imgsz,
        config.device,
    )
    start = time.perf_counter()
    with quiet_ultralytics(), warnings.catch_warnings():
        # With Ray installed (the scale extra), Ultralytics' Ray Tune callback asks Ray for a
        # trial id at every epoch end and Ray warns that no tuner is running: not ours to show.
        warnings.filterwarnings("ignore", message=".*get_trial_id.*", category=UserWarning)
        model = YOLO(model_ref)
        if config.device == "cpu":  # after each of Ultralytics' own choices of the device
            threads = cpu_training_threads()
            for event in ("on_pretrain_routine_start", "on_val_start"):
                model.add_callback(event, lambda _: use_cpu_threads(threads))
        model.train(**args)
    seconds = time.perf_counter() - start
    trainer = model.trainer
    weights_dir = Path(trainer.save_dir) / "weights"
    weights = next(
        (p for p in (weights_dir / "best.pt", weights_dir / "last.pt") if p.is_file()), None
    )
    if weights is None:
        raise RuntimeError(f"Ultralytics wrote no weights under {weights_dir}; see its logs")
    metrics = {
        str(k): float(v)
        for k, v in (getattr(trainer, "metrics", None) or {}).items()
        if isinstance(v, (int, float))
    }
    epochs_run = int(getattr(trainer, "epoch", config.epochs - 1)) + 1
    logger.info(
        "trained %d epochs in %.1f s: mAP50-95 %.3f -> %s",
        epochs_run,
        seconds,
        metrics.get("metrics/mAP50-95(B)", float("nan")),
        weights,
    )
    return TrainResult(weights=weights, metrics=metrics, epochs_run=epochs_run, seconds=seconds)


def train_watched(
    data_yaml: Path, out_dir: Path, config: TrainConfig, timeout_s: float
) -> TrainResult:
    """:func:`train_detector` in a child process (:mod:`hitl_active.models.train_child`),
    stopped with its workers after ``timeout_s`` seconds (:func:`run_watched`)."""
    payload = {
        "data_yaml": str(data_yaml),
        "out_dir": str(out_dir),
        "config": dataclasses.asdict(config) | {"timeout_s": None},
        "log_level": logging.getLogger("hitl_active").getEffectiveLevel(),
    }
    outcome = run_watched("hitl_active.models.train_child", payload, timeout_s)
    if "weights" not in outcome:
        raise RuntimeError("the training process reported no weights; see its log above")
    return TrainResult(
        weights=Path(outcome["weights"]),
        metrics=outcome["metrics"],
        epochs_run=outcome["epochs_run"],
        seconds=outcome["seconds"],
    )


def train_on_labels(
    items: Sequence[tuple[str | Path, ImageLabels]],
    class_names: Sequence[str],
    work_dir: Path,
    config: TrainConfig,
    val_items: Sequence[tuple[str | Path, ImageLabels]] = (),
) -> TrainResult:
    """The one recipe that trains a model on labelled images: the loop's versions
    (:func:`hitl_active.loop.steps.train_version`) and the benchmark's models
    (:meth:`hitl_active.bench.runner.SimRunner.fit`) both go through it.

    The images are written as a YOLO dataset under ``work_dir/data`` and trained on under
    ``work_dir/runs`` without per-epoch validation (the gold set, or the benchmark's test
    split, measures the result; validating on the training images would only cost time).
    """

    data_yaml = prepare_yolo_dataset(list(items), list(val_items), class_names, work_dir / "data")
    config = dataclasses.replace(config, extra={"val": False, **config.extra})
    return train_detector(data_yaml, work_dir / "runs", config)
