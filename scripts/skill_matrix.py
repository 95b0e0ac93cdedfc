"""The skill matrix of a simulated team, scored through the product's own path; prints JSON.

    .venv/bin/python scripts/skill_matrix.py --out docs/skill_matrix.png

8 simulated annotators with planted skills (``hitl_active.bench.annotator_bench.planted_team``)
answer 100 synthetic gold images as honeypots. Their answers go into a real workspace store as
the Label Studio sink records them (an assignment with its task id, an annotation by the
annotator's e-mail with its lead time; ``hitl_active.bench.team_store``), and
``hitl_active.team.team_skill`` scores them as it scores a real team; the PNG is the one
``hitl-active annotators matrix`` draws. No Label Studio is needed. The JSON holds the
planted and estimated recall per annotator (pooled over classes) and the Spearman ρ over
every annotator × class cell with enough data.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")


def main() -> None:
    import numpy as np
    from scipy.stats import spearmanr

    from hitl_active.bench.annotator_bench import BenchConfig, gold_truths, planted_team
    from hitl_active.bench.team_store import TeamWriter
    from hitl_active.data.synthetic import SyntheticDataset
    from hitl_active.reports.team_plot import skill_matrix_png
    from hitl_active.store.rows import labels_to_boxes
    from hitl_active.team.team_skill import team_skills
    from hitl_active.workforce.gold import ALL
    from hitl_active.workspace.workspace import LoopConfig, Workspace

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="docs/skill_matrix.png", help="the PNG to write")
    p.add_argument("--seed", type=int, default=200, help="the team and data seed (200)")
    args = p.parse_args()
    cfg = BenchConfig()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skill-matrix-") as tmp:
        truths, n_classes = gold_truths(args.seed, cfg.n_gold, Path(tmp))
        data = SyntheticDataset.load(Path(tmp) / f"gold-{args.seed}")
        rng = np.random.default_rng(args.seed)
        team = planted_team(rng, cfg.n_annotators, n_classes)
        config = LoopConfig(images=str(data.images_dir), classes=data.class_names)
        with Workspace.create(Path(tmp) / "ws", config) as ws:
            by_path = {Path(img.path).resolve(): img for img in ws.store.images()}
            gold = []
            for truth in truths:
                img = by_path[Path(truth.image).resolve()]
                ws.store.set_gold_labels(img.id, labels_to_boxes(truth), source="synthetic")
                gold.append((img, truth))
            writer = TeamWriter(ws.store, ws.store.start_round(None).id)
            answers = writer.answer_all(team, gold, "honeypot", rng)
            skills = team_skills(ws, rng_seed=args.seed)
            png = skill_matrix_png(skills, skills.class_names, args.out)
    planted, estimated = [], []
    for a in team:
        for c in range(n_classes):
            e = skills.gold[a.name].per_class.get(c)
            if e is not None and e.recall.known:
                planted.append(float(a.profile.recall[c]))
                estimated.append(e.recall.value)
    out = {
        "png": str(png),
        "seed": args.seed,
        "annotators": len(team),
        "gold_images": len(gold),
        "answers": answers,
        "recall_spearman": round(float(spearmanr(planted, estimated).statistic), 3),
        "recall_cells": len(planted),
        "per_annotator": {
            a.name: {
                "planted_recall": round(float(np.mean(a.profile.recall)), 3),
                "estimated_recall": round(skills.gold[a.name].per_class[ALL].recall.value, 3),
                "flags": [f.message() for f in skills.flags_of(a.name)],
            }
            for a in team
        },
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
