"""Screenshots of the people's pages for the README; prints JSON.

    .venv/bin/python scripts/page_screenshots.py --out docs/

Builds the browser test's simulated team (``tests/server/pages_team.py``: four annotators
with planted skills, one trainee with graded practice, three rounds of honeypots, tasks and
overlap, pay per task against a living-wage floor) in a temporary workspace, serves it with a
real ``hitl-active serve -w``, and opens both pages in headless Chromium exactly as
``tests/e2e/test_pages_browser.py`` does: ``page_annotator.png`` (the trainee ``efua``, with
her page key: skill, training and pay on one page) and ``page_manager.png`` (the shared
secret).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("YOLO_OFFLINE", "1")


def main() -> None:
    sys.path.insert(0, str(REPO))
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_pages_browser import ARGS, CHROMIUM, DESKTOP, open_page, serve_workspace
    from tests.server.pages_team import build_team

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="docs", help="folder for the PNGs (docs)")
    p.add_argument("--seed", type=int, default=7, help="the simulated team's seed (7)")
    p.add_argument("--annotator", default="efua", help="whose page to show (efua)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="page-shots-") as tmp:
        site = build_team(Path(tmp), seed=args.seed)
        secret = uuid.uuid4().hex
        shots = Path(tmp) / "shots"
        with serve_workspace(site.ws, secret, Path(tmp) / "serve.log") as url, \
                sync_playwright() as pw:  # fmt: skip
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            pages = {
                "page_annotator.png": (f"{url}/me", args.annotator, site.keys[args.annotator]),
                "page_manager.png": (f"{url}/manager", "manager", secret),
            }
            status = {}
            for name, (page_url, user, password) in pages.items():
                status[name] = open_page(browser, page_url, user, password, DESKTOP,
                                         shots / name)[0]  # fmt: skip
                shutil.copy(shots / name, out / name)
            browser.close()
    result = {
        "pngs": [str(out / name) for name in pages],
        "status": status,
        "seed": args.seed,
        "annotator": args.annotator,
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(result, indent=2))
    if any(code != 200 for code in status.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
