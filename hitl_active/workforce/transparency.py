"""The transparency report's figures: per project, the hours worked, the pay, the effective
wages (overall and the lowest person's) and the training paid, from :func:`.pay.pay_for_period`.

A project's hours are the active time attributed to its pieces (lead time plus its share of
the time around it, :meth:`~.hours.Session.shares`), so the projects' hours add up to the
team's active time and every practice and skipped minute is in some project's row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from hitl_active.workforce.pay import Pay

__all__ = ["ProjectFigures", "transparency"]


@dataclass(frozen=True)
class ProjectFigures:
    project: int
    currency: str
    people: int
    hours: float
    pay: float
    training_paid: float
    wage: float | None  # pay per hour over everyone
    lowest_wage: float | None  # the lowest person's pay per hour on this project

    def to_dict(self) -> dict:
        return asdict(self)


def transparency(pays: Mapping[str, Pay]) -> list[ProjectFigures]:
    """One row per project, in project order."""
    hours: dict[int, dict[str, float]] = {}
    money: dict[int, dict[str, float]] = {}
    training: dict[int, float] = {}
    currency: dict[int, str] = {}
    for who, p in pays.items():
        for project, s in p.project_seconds.items():
            hours.setdefault(project, {})[who] = s / 3600
            currency.setdefault(project, p.currency)
        for project, parts in p.by_project.items():
            money.setdefault(project, {})[who] = sum(parts.values())
            training[project] = training.get(project, 0.0) + parts.get("practice", 0.0)
    out = []
    for project in sorted(set(hours) | set(money)):
        h, m = hours.get(project, {}), money.get(project, {})
        total_h, total_m = sum(h.values()), sum(m.values())
        wages = [m.get(who, 0.0) / x for who, x in h.items() if x > 0]
        out.append(
            ProjectFigures(
                project, currency.get(project, ""), len(set(h) | set(m)), total_h, total_m,
                training.get(project, 0.0), total_m / total_h if total_h > 0 else None,
                min(wages) if wages else None,
            )
        )  # fmt: skip
    return out
