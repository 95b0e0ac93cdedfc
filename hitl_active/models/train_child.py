"""The child process of :func:`hitl_active.models.train.train_watched`:
``python -m hitl_active.models.train_child SPEC.json`` trains as the spec says and writes the
result (or the error) where the spec says, for the parent to read."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

from hitl_active.models.train import TrainConfig, train_detector

__all__ = ["main"]


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    logging.basicConfig(level=spec["log_level"], format="%(levelname)s %(name)s: %(message)s")
    result = Path(spec["result"])
    try:
        res = train_detector(
            Path(spec["data_yaml"]), Path(spec["out_dir"]), TrainConfig(**spec["config"])
        )
    except Exception as exc:  # reported to the parent, which raises it
        result.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    payload = dataclasses.asdict(res) | {"weights": str(res.weights)}
    result.write_text(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
