"""``hitl-active demo`` (``make demo``): the real loop on a generated dataset, offline, on CPU.

It generates a synthetic client dataset, creates a workspace with a gold set imported from
the dataset's labels, and runs rounds of the real loop (engine, sampler, training, registry)
with the simulated annotator standing in for people; then it exports the dataset and
writes the learning curve. With ``label_studio`` the same rounds go through a local Label
Studio (started with ``scripts/label-studio``), the simulated annotator submitting its
corrections through Label Studio's API. Re-running resumes where a run stopped.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hitl_active.bench.annotator import SimulatedAnnotator
from hitl_active.data.synthetic import SyntheticDataset, SyntheticSpec, make_synthetic_dataset
from hitl_active.delivery import export_dataset
from hitl_active.loop.backends import LabelStudioBackend, LocalBackend, load_truths
from hitl_active.loop.policy import EveryRound
from hitl_active.loop.rounds import Loop, RoundSummary
from hitl_active.loop.table import format_table
from hitl_active.reports.report import write_report
from hitl_active.sampling.registry import DEFAULT_STRATEGY
from hitl_active.workspace.workspace import CONFIG_NAME, LoopConfig, Workspace

__all__ = ["DemoConfig", "demo_dataset", "run_demo"]

logger = logging.getLogger(__name__)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "label-studio"


@dataclass
class DemoConfig:
    """Demo sizes; the defaults finish in a few minutes on 2 CPU cores."""

    workspace: Path = Path("demo-workspace")
    n_images: int | None = None
    rounds: int | None = None
    round_size: int | None = None
    epochs: int | None = None
    imgsz: int | None = None
    gold_size: int = 40
    strategy: str | None = None
    label_studio: bool = False
    ls_port: int = 8093
    fresh: bool = False
    progress: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        self.workspace = Path(self.workspace)
        self.n_images = self.n_images or 240
        self.rounds = self.rounds or 5
        self.round_size = self.round_size or 20
        self.epochs = self.epochs or 15
        self.imgsz = self.imgsz or 96
        self.strategy = self.strategy or DEFAULT_STRATEGY
        self.gold_size = min(self.gold_size, max(self.n_images // 5, 1))


def demo_dataset(cfg: DemoConfig) -> Path:
    """The demo's generated images and labels (made once, in ``WORKSPACE/data``)."""

    data = cfg.workspace / "data"
    if not (data / "manifest.json").is_file():
        spec = SyntheticSpec(
            n_images=int(cfg.n_images or 0), min_side=96, max_side=144, object_scale=(0.2, 0.45),
            seed=cfg.seed,
        )  # fmt: skip
        make_synthetic_dataset(data, spec, progress=cfg.progress)
    return data


def _workspace(cfg: DemoConfig, data: Path):

    ws_dir = cfg.workspace / "workspace"
    if (ws_dir / CONFIG_NAME).is_file():
        return Workspace.open(ws_dir)
    names = SyntheticDataset.load(data).class_names
    # Small data, few CPU epochs: AdamW with a short warm-up learns fastest from scratch, and
    # each retrain continues from the newest version so training accumulates over rounds.
    config = LoopConfig(
        images=str(data / "images"), classes=names, imgsz=int(cfg.imgsz or 96),
        epochs=int(cfg.epochs or 1), train_batch=8, round_size=int(cfg.round_size or 1),
        gold_size=cfg.gold_size, strategy=str(cfg.strategy), seed=cfg.seed,
        fine_tune_from="latest",
        train_args={"optimizer": "AdamW", "lr0": 0.005, "warmup_epochs": 0.5},
    )  # fmt: skip
    ws = Workspace.create(ws_dir, config)
    ws.freeze_gold(np.random.default_rng(cfg.seed), labels_dir=data / "labels")
    return ws


def _start_label_studio(cfg: DemoConfig, data: Path) -> tuple[str, str, Path]:
    ls_dir = (cfg.workspace / "label-studio").resolve()
    flags = ["--port", str(cfg.ls_port), "--data-dir", str(ls_dir), "--images",
             str((data / "images").resolve())]  # fmt: skip
    status = subprocess.run([str(SCRIPT), "status", *flags], capture_output=True, text=True)
    if status.returncode != 0:
        subprocess.run([str(SCRIPT), "start", "--background", *flags], check=True)
    env = subprocess.run([str(SCRIPT), "env", *flags], capture_output=True, text=True, check=True)
    values = dict(line.split("=", 1) for line in env.stdout.splitlines() if "=" in line)
    return values["LABEL_STUDIO_URL"], values["LABEL_STUDIO_API_KEY"], data.resolve()


def _stop_label_studio(cfg: DemoConfig) -> None:
    ls_dir = (cfg.workspace / "label-studio").resolve()
    subprocess.run([str(SCRIPT), "stop", "--data-dir", str(ls_dir)], check=False)


def run_demo(cfg: DemoConfig, out: Callable[[str], object] = print) -> list[RoundSummary]:
    """Run the demo and return one summary per finished round."""

    start = time.perf_counter()
    if cfg.fresh and cfg.workspace.exists():
        shutil.rmtree(cfg.workspace)
    data = demo_dataset(cfg)
    ws = _workspace(cfg, data)
    backend = None
    try:
        ws.lock("hitl-active demo")  # one writer, as for ``loop``
        annotator = SimulatedAnnotator(
            load_truths(ws, data / "labels"), display_threshold=ws.config.conf_threshold
        )
        if cfg.label_studio:
            url, token, files_root = _start_label_studio(cfg, data)
            backend = LabelStudioBackend(url, token, "hitl-active demo", files_root, annotator,
                                         poll_s=1.0, progress=cfg.progress)  # fmt: skip
            out(f"Label Studio at {url} (project 'hitl-active demo')")
        else:
            backend = LocalBackend(annotator)
        loop = Loop(ws, backend, EveryRound(), progress=cfg.progress)
        counts = ws.store.count_images()
        out(
            f"demo: {counts['pool']} pool images, {counts['gold']} gold images, "
            f"{cfg.rounds} rounds of {cfg.round_size} images, {cfg.epochs} epochs at "
            f"imgsz {cfg.imgsz}, strategy {cfg.strategy}"
        )
        out(format_table([]))
        done = [r for r in ws.store.rounds() if r.step == "done"]
        for r in done:
            out(format_table([RoundSummary.from_round(ws, r)], header=False))
        for _ in range(int(cfg.rounds or 0) - len(done)):
            summary = loop.run_round()
            if summary is None:
                raise RuntimeError("a round ended with open tasks; re-run the demo to resume")
            out(format_table([summary], header=False))
        summaries = [RoundSummary.from_round(ws, r) for r in ws.store.rounds()]
        res = export_dataset(ws, cfg.workspace / "export", "yolo", overwrite=True)
        png, page = write_report(ws, cfg.workspace / "reports")
        out(
            f"\nexported {res.n_images} images / {res.n_boxes} boxes "
            f"({res.card['human_verified_share']:.1%} human-verified) to {res.out_dir}\n"
            f"learning curve: {png}\nreport: {page}\n"
            f"demo finished in {time.perf_counter() - start:.0f} s"
        )
        return summaries
    finally:
        if isinstance(backend, LabelStudioBackend):
            backend.close()
            _stop_label_studio(cfg)
        ws.close()
