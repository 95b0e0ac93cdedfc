"""Train hitl-active's photo base detector on the pre-training corpus, resumably.

    .venv/bin/python scripts/train_base.py --data /work/corpus/data.yaml \
        --out ~/.cache/hitl-active/base-train --epochs 40 --imgsz 320

Every epoch leaves ``OUT/train/weights/last.pt`` (weights, optimiser state, epoch): run the
same command again and training picks up where it stopped (Ultralytics' resume), across
restarts and machines, as long as OUT is kept. ``--ship PATH`` then writes the best weights
so far without the optimiser (what `init` starts from) and ``PATH.json`` with the held-out
metrics of the corpus's own val split and the runs that made it (``OUT/run.json`` names what a
run started from: a run from the file shipped before adds to its history). docs/base_model.md
lists the corpus and the command that made the shipped file. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import uuid
from pathlib import Path

from hitl_active.models import TrainConfig, train_detector
from hitl_active.models.start import weights_sha256

logger = logging.getLogger("train_base")


def last_checkpoint(out: Path) -> Path | None:
    last = out / "train" / "weights" / "last.pt"
    return last if last.is_file() else None


def progress(out: Path) -> dict:
    """Epochs done and the latest val metrics, from Ultralytics' results.csv."""
    table = out / "train" / "results.csv"
    if not table.is_file():
        return {"epochs_done": 0}
    rows = [r.split(",") for r in table.read_text().splitlines() if r.strip()]
    head = [h.strip() for h in rows[0]]
    last = dict(zip(head, (v.strip() for v in rows[-1]), strict=False))
    keep = ("metrics/mAP50-95(B)", "metrics/mAP50(B)", "metrics/precision(B)", "metrics/recall(B)")
    return {"epochs_done": len(rows) - 1, **{k: float(last[k]) for k in keep if k in last}}


def record_run(out: Path, model: str, schedule: str) -> dict:
    """``OUT/run.json``: what a new run starts from (its sha256 when a file), its schedule and
    an id (when it started), written once, before its first epoch; a resumed run keeps it
    (Ultralytics' own args then name ``last.pt``)."""
    start = Path(model).expanduser()
    run = {
        "id": time.strftime("%Y-%m-%dT%H:%M:%SZ-", time.gmtime()) + uuid.uuid4().hex[:6],
        "from": f"{start.name} (random weights)" if start.suffix == ".yaml" else start.name,
        "sha256": weights_sha256(start) if start.suffix == ".pt" and start.is_file() else None,
        "schedule": schedule,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    return run


def history(before: dict | None, run: dict | None, epochs_done: int, shipped_sha: str | None):
    """``runs`` and total ``epochs`` of a file shipped over ``before`` (the JSON there, if any).

    The same run shipped again (further on) replaces its own entry; a run that started from
    the file shipped before (same sha256) adds itself to that file's history; any other run
    starts a new one. Without ``run`` (a folder from before runs were recorded) the history
    there is kept as it was."""
    before = before or {}
    if run is None:
        return {k: before[k] for k in ("epochs", "runs") if k in before}
    this = {"run": run["id"], "from": run["from"], "epochs": epochs_done,
            "schedule": run["schedule"]}  # fmt: skip
    runs = list(before.get("runs", []))
    if runs and runs[-1].get("run") == run["id"]:
        runs[-1] = this
    elif shipped_sha is not None and run.get("sha256") == shipped_sha:
        runs.append(this)
    else:
        runs = [this]
    return {"runs": runs, "epochs": sum(int(r["epochs"]) for r in runs)}


def ship(out: Path, target: Path, data: Path, imgsz: int) -> dict:
    """The best weights so far, stripped of the optimiser, and their held-out metrics."""
    from hitl_active.models.ultra import quiet_ultralytics, ultralytics_yolo

    weights = out / "train" / "weights"
    source = next(p for p in (weights / "best.pt", weights / "last.pt") if p.is_file())
    YOLO = ultralytics_yolo()
    from ultralytics.utils.torch_utils import strip_optimizer

    record = target.with_suffix(".json")
    before = json.loads(record.read_text()) if record.is_file() else None
    shipped_sha = weights_sha256(target) if target.is_file() else None
    run_file = out / "run.json"
    run = json.loads(run_file.read_text()) if run_file.is_file() else None
    target.parent.mkdir(parents=True, exist_ok=True)
    strip_optimizer(str(source), str(target))
    with quiet_ultralytics():
        val = YOLO(str(target)).val(
            data=str(data), imgsz=imgsz, batch=16, plots=False, verbose=False, workers=0
        )
    metrics = {
        "mAP50-95": float(val.box.map),
        "mAP50": float(val.box.map50),
        "precision": float(val.box.mp),
        "recall": float(val.box.mr),
        "imgsz": imgsz,
        "from": source.name,
        **progress(out),
    }
    metrics |= history(before, run, metrics["epochs_done"], shipped_sha)
    record.write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="the corpus's YOLO data.yaml")
    p.add_argument("--out", type=Path, default=Path.home() / ".cache/hitl-active/base-train")
    p.add_argument(
        "--model",
        default="yolo11n.yaml",
        help="what a new run starts from: an architecture YAML (random weights) or a .pt "
        "(e.g. the shipped base, for a further schedule); a run that has a last.pt resumes it",
    )
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument(
        "--warmup-epochs", type=float, default=3.0, help="1 is enough from trained weights"
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default=None, help="cpu, 0, 0,1 (default: every GPU, else cpu)")
    p.add_argument("--ship", type=Path, default=None, help="write the stripped best weights")
    p.add_argument("--no-train", action="store_true", help="only --ship what is there now")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = args.out.expanduser()
    last = last_checkpoint(out)
    done = progress(out)["epochs_done"]
    if done < args.epochs and not args.no_train:
        extra = {
            "cache": "ram",
            "optimizer": "SGD",
            "lr0": 0.01,
            "cos_lr": True,
            "warmup_epochs": args.warmup_epochs,
        }
        if last is not None:
            extra = {"resume": True}
            logger.info("resuming from %s (%d epochs done)", last, done)
        else:
            cosine = "cosine" if extra["cos_lr"] else "linear"
            record_run(out, args.model, f"{extra['optimizer']} lr0 {extra['lr0']}, {cosine} "
                       f"over {args.epochs}, warmup {args.warmup_epochs:g}")  # fmt: skip
        config = TrainConfig(
            model=str(last) if last else args.model,
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=args.batch,
            workers=args.workers,
            device=args.device,
            patience=1000,
            extra=extra,
        )
        started = time.perf_counter()
        train_detector(args.data, out, config)
        logger.info("trained for %.0f s", time.perf_counter() - started)
    summary = {"out": str(out), **progress(out)}
    if args.ship:
        summary["shipped"] = str(args.ship)
        summary["held_out"] = ship(out, args.ship, args.data, args.imgsz)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
