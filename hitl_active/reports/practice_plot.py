"""A trainee's progress: mastery per skill over paid practice minutes (PNG).

Mastery is replayed attempt by attempt from the trainee's graded practice
(:meth:`hitl_active.team.practice_track.PracticeTrack.mastery`): after each task, every
skill's probability of being learned (Bayesian Knowledge Tracing) against the minutes
practised so far, with the "ready" threshold drawn. Matplotlib's Agg backend and bundled font.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hitl_active.workforce.mastery import Mastery

__all__ = ["mastery_curves", "progress_png"]


def mastery_curves(state: Any) -> tuple[list[float], dict[str, list[float]]]:
    """From a replayed :class:`~hitl_active.workforce.mastery.Mastery`: the cumulative minutes
    after each task, and per skill its P(learned) after each task."""

    replay = Mastery(state.trainee, state.params, default=state.default, threshold=state.threshold)
    skills = sorted({a.skill for a in state.attempts})
    minutes: list[float] = [0.0]
    curves: dict[str, list[float]] = {s: [replay.p_learned(s)] for s in skills}
    by_task: dict[int, list[Any]] = {}
    for a in state.attempts:
        by_task.setdefault(a.task_no, []).append(a)
    for no in sorted(by_task):
        for a in by_task[no]:
            replay.add(a)
        minutes.append(minutes[-1] + sum(a.minutes for a in by_task[no]))
        for s in skills:
            curves[s].append(replay.p_learned(s))
    return minutes, curves


def progress_png(state: Any, path: str | Path, title: str = "") -> Path:
    """Draw ``state``'s mastery per skill over practice minutes into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes, curves = mastery_curves(state)
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    for skill, values in curves.items():
        ax.plot(minutes, values, marker="o", markersize=2.5, linewidth=1.4, label=skill)
    ax.axhline(state.threshold, color="0.3", linestyle="--", linewidth=1)
    ax.text(minutes[-1], state.threshold, " ready", va="bottom", ha="right", fontsize=8)
    ax.set_xlabel("paid practice minutes")
    ax.set_ylabel("mastery, P(learned)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title or f"{state.trainee}: mastery per skill")
    ax.legend(fontsize=7, ncol=2, loc="lower right", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
