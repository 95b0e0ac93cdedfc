"""What every benchmark script ends with: its summary as JSON on stdout, and with ``--docs
DIR`` the same in ``DIR/<name>.json`` (the figures the README quotes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(summary: dict[str, Any], docs: Path | None, name: str) -> None:
    text = json.dumps(summary, indent=2)
    print(text)
    if docs is not None:
        docs.mkdir(parents=True, exist_ok=True)
        (docs / f"{name}.json").write_text(text + "\n")
