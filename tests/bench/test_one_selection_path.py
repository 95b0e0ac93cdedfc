"""The benchmark selects through the loop's own selection: from one store state, the loop's
round step (``steps.select_images``) and the benchmark (``bench_select``) pick the same
images, for strategies that need the labelled set's embeddings and a mirrored pass too."""

from __future__ import annotations

from pathlib import Path

import pytest

from hitl_active.bench.selection import bench_select
from hitl_active.loop import steps
from hitl_active.loop.registry import ModelRegistry
from hitl_active.sampling.cost import CostModel
from hitl_active.store.rows import boxes_to_labels
from hitl_active.workspace.workspace import LoopConfig, Workspace

pytestmark = pytest.mark.slow


def _workspace(tmp_path, tiny_model, strategy: str) -> tuple[Workspace, object]:
    cfg = LoopConfig(
        images=str(tiny_model.dataset.images_dir), classes=list(tiny_model.class_names),
        strategy=strategy, round_size=4, gold_size=0, conf_threshold=0.05, seed=3,
    )  # fmt: skip
    ws = Workspace.create(tmp_path / "ws", cfg)
    reg = ModelRegistry(ws.store, ws.models_dir)
    name = reg.begin_version(None)
    reg.finish_version(name, None, tiny_model.onnx, {}, {"gold": {"map50_95": 0.1}})
    reg.promote(name, force=True)
    images = ws.store.images("pool")
    for k, img in enumerate(images[:5]):  # labelled: sent and annotated
        ws.store.add_task(img.id, None, None, None, name)
        box = {"xyxy": [1, 1, 20, 20], "class_id": k % 2, "source": "human"}
        ws.store.add_annotation(img.id, f"t:{img.id}", "1", [box] * (k + 1), lead_time=30.0)
    return ws, ws.store.model_version(name)


@pytest.mark.parametrize(
    "strategy", ["entropy-sum", "hybrid", "flip-stability", "random", "entropy-sum+knapsack"]
)
def test_loop_and_benchmark_pick_the_same_images(tmp_path, tiny_model, strategy):
    ws, version = _workspace(tmp_path, tiny_model, strategy)
    with ws:
        labelled_ids = sorted(ws.store.annotated_ids())
        candidates = [img for img in ws.store.images("pool") if img.id not in labelled_ids]
        steps.prelabel(ws, version, candidates)
        loop_pick = [i for i, _, _ in steps.select_images(ws, 2, version, candidates)]

        by_id = {img.id: img for img in ws.store.images()}
        labelled = [
            (Path(by_id[a.image_id].path), boxes_to_labels(by_id[a.image_id].path, 1, 1, a.boxes))
            for a in ws.store.annotations()
        ]
        sel, _, timing = bench_select(
            ws.config, 2, Path(version.onnx), [img.path for img in candidates], labelled,
            CostModel(),
        )  # fmt: skip
        bench_pick = [candidates[j].id for j in sel.indices.tolist()]
    assert len(loop_pick) == 4
    assert bench_pick == loop_pick
    assert timing["inference_s"] > 0
    if strategy == "flip-stability":
        assert timing["extra_inference_s"] > 0
