"""Training device choice (torch.cuda monkeypatched: no GPU is needed) and the watchdog."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from hitl_active.models.device import cpu_training_threads, gpu_ids, resolve_device
from hitl_active.models.train import TrainConfig, TrainingTimeoutError, train_detector


@pytest.fixture
def gpus(monkeypatch):
    """Pretend torch sees ``n`` CUDA GPUs."""
    import torch

    def set_count(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)

    return set_count


@pytest.mark.parametrize(
    ("visible", "asked", "expected"),
    [
        (0, None, "cpu"),
        (1, None, "0"),
        (4, None, "0,1,2,3"),
        (2, "auto", "0,1"),
        (2, "cpu", "cpu"),
        (2, "1", "1"),
        (3, " 0, 2 ", "0,2"),
        (0, "mps", "mps"),
    ],
)
def test_the_device_is_every_visible_gpu_or_the_cpu(gpus, visible, asked, expected):
    gpus(visible)
    assert resolve_device(asked) == expected


@pytest.mark.parametrize(
    ("visible", "asked", "message"),
    [
        (0, "0", "asks for GPU 0 but torch sees no CUDA GPU"),
        (2, "0,2", "asks for GPU 2 but torch sees GPUs 0-1"),
        (1, "cuda:0", "is not cpu, mps or a GPU list"),
    ],
)
def test_a_device_the_machine_lacks_is_refused_before_training(gpus, visible, asked, message):
    gpus(visible)
    with pytest.raises(ValueError, match=message):
        resolve_device(asked)


def test_gpu_ids():
    assert gpu_ids("0,3") == [0, 3] and gpu_ids("cpu") == [] and gpu_ids("1") == [1]


def test_train_detector_refuses_a_missing_gpu_before_starting(gpus, tmp_path):
    gpus(0)
    data = tmp_path / "data.yaml"
    data.write_text("path: .\ntrain: images\nval: images\nnames: {0: a}\n")
    with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
        train_detector(data, tmp_path / "runs", TrainConfig(device="0", epochs=1, imgsz=64))
    assert not (tmp_path / "runs").exists()


def test_the_watchdog_kills_a_late_run_and_says_so(tiny_dataset, tmp_path):
    data = tmp_path / "data.yaml"
    data.write_text(
        f"path: {tiny_dataset.root}\ntrain: images\nval: images\n"
        f"names: {dict(enumerate(tiny_dataset.class_names))}\n"
    )
    config = TrainConfig(epochs=500, imgsz=64, batch=8, device="cpu", timeout_s=3.0)
    start = time.perf_counter()
    with pytest.raises(TrainingTimeoutError, match=r"train_timeout_s=3 s and was stopped") as info:
        train_detector(data, tmp_path / "runs", config)
    assert time.perf_counter() - start < 3.0 + 15.0  # limit plus the kill's grace period
    with pytest.raises(ProcessLookupError):  # the child's whole process group is gone
        os.killpg(info.value.pid, 0)


@pytest.mark.slow
def test_a_watched_run_that_finishes_returns_its_weights(tiny_dataset, tmp_path):
    data = tmp_path / "data.yaml"
    data.write_text(
        f"path: {tiny_dataset.root}\ntrain: images\nval: images\n"
        f"names: {dict(enumerate(tiny_dataset.class_names))}\n"
    )
    config = TrainConfig(epochs=1, imgsz=64, batch=8, timeout_s=600.0, extra={"val": False})
    result = train_detector(data, tmp_path / "runs", config)
    assert result.weights.is_file() and result.epochs_run == 1


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def test_cpu_training_takes_every_core_unless_the_user_set_omp_num_threads(monkeypatch):
    from hitl_active.models import ultra

    # Ultralytics imported by us with OMP_NUM_THREADS unset: its own "1" is not the user's
    monkeypatch.setattr(ultra, "_imported_here", True)
    monkeypatch.setattr(ultra, "_omp_before_import", None)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_training_threads() == _cores()
    monkeypatch.setattr(ultra, "_omp_before_import", "3")  # the user's, before the import
    assert cpu_training_threads() == 3
    monkeypatch.setattr(ultra, "_omp_before_import", "lots")  # not a count: ignored
    assert cpu_training_threads() == _cores()
    # Ultralytics not imported through us (yet): the environment is the user's
    monkeypatch.setattr(ultra, "_imported_here", False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert cpu_training_threads() == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert cpu_training_threads() == _cores()


@pytest.mark.parametrize("omp", [None, "1"])
def test_the_thread_count_survives_the_real_ultralytics_import(omp, tmp_path):
    """In a fresh process: Ultralytics' import sets OMP_NUM_THREADS=1, which must not count
    as the user's choice; a 1 the user set does."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if omp is not None:
        env["OMP_NUM_THREADS"] = omp
    env["YOLO_CONFIG_DIR"] = str(tmp_path / "ycfg")
    code = (
        "import os\n"
        "from hitl_active.models.ultra import ultralytics_yolo\n"
        "from hitl_active.models.device import cpu_training_threads\n"
        "ultralytics_yolo()\n"
        "print(os.environ['OMP_NUM_THREADS'], cpu_training_threads())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "1"  # what Ultralytics (or the user) left in the environment
    assert int(out[1]) == (_cores() if omp is None else 1)
