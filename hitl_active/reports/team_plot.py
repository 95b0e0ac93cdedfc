"""The skill matrix: annotator × class heat map of recall on gold items (honeypots).

Each cell reads the recall with its 90% interval, or "n/a" where there is not enough data
(fewer gold objects than the estimator's minimum); the last column pools every class.
Drawn with matplotlib's Agg backend and its bundled font, so nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hitl_active.team.team_skill import TeamSkills
from hitl_active.workforce.gold import ALL
from hitl_active.workforce.stats import Estimate

__all__ = ["recall_cells", "skill_matrix_png"]


def recall_cells(
    skills: TeamSkills, n_classes: int
) -> tuple[list[str], list[list[Estimate | None]]]:
    """Annotator names (rows) and, per row, the recall per class then pooled (``None``: the
    annotator answered no gold item of that class)."""
    names = list(skills.people) or sorted(skills.gold)
    rows = []
    for name in names:
        s = skills.gold.get(name)
        rows.append(
            [
                s.per_class[c].recall if s is not None and c in s.per_class else None
                for c in [*range(n_classes), ALL]
            ]
        )
    return names, rows


def _text(e: Estimate | None) -> str:
    if e is None or not e.known:
        return "n/a"
    return f"{e.value:.2f}\n[{e.low:.2f}–{e.high:.2f}]"


def skill_matrix_png(skills: TeamSkills, class_names: Sequence[str], path: str | Path) -> Path:
    """Write the annotator × class recall heat map to ``path`` (PNG) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, rows = recall_cells(skills, len(class_names))
    if not names:
        raise ValueError("no annotators to plot; they appear once they answer a task")
    values = np.array(
        [[np.nan if e is None or not e.known else e.value for e in row] for row in rows]
    )
    columns = [*class_names, "all classes"]
    fig, ax = plt.subplots(
        figsize=(2.0 + 1.35 * len(columns), 1.4 + 0.55 * len(names)), constrained_layout=True
    )
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    for i, row in enumerate(rows):
        for j, e in enumerate(row):
            v = values[i, j]
            dark = np.isfinite(v) and (v < 0.2 or v > 0.85)
            ax.text(j, i, _text(e), ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(names)), names)
    ax.axvline(len(class_names) - 0.5, color="white", lw=3)
    ax.tick_params(length=0)
    ax.set_xlabel("class (n/a: not enough gold objects)")
    fig.colorbar(image, ax=ax, label="recall on gold items", shrink=0.8)
    ax.set_title("Skill matrix: recall per annotator and class, with 90% intervals")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
