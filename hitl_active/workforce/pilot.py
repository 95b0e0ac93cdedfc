"""A pilot's effect: difference in differences with an interval, and when not to conclude.

A pilot tries a change of working conditions (a higher rate, a daily cap, paid breaks, the
training track) on one group of people for a period, while a control group works as before.
For one measure (the WHO-5 well-being score, active hours, effective wage, skips, honeypot
quality...) each person gives a value before and after the start; the estimate is

    (mean change in the pilot group) - (mean change in the control group)

which takes out what changed for everyone (the season, the task mix). Each person's own
change is the unit, so their level before the pilot cancels out; the interval is Welch's t
interval for the difference of two means (unequal variances). People with a value in only one
period are left out and counted.

No conclusion is drawn from groups under :data:`MIN_GROUP` people (also the smallest group
whose well-being figures a manager may see): the estimate is withheld and the result says
"too small". Above it, the result gives the smallest effect the design could detect (80%
power at the 5% level), so a null result is read as "no effect this large", not "no effect".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy import stats

from hitl_active.i18n import N_

__all__ = ["MIN_GROUP", "WHO5_ITEMS", "PilotEffect", "did_estimate", "who5_score"]

#: Fewer people than this in either group: no estimate, and no well-being figure shown.
MIN_GROUP = 5


#: The WHO-5 Well-Being Index (WHO, 1998), each "over the last two weeks", answered from
#: 5 (all of the time) to 0 (at no time).
WHO5_ITEMS = (
    N_("I have felt cheerful and in good spirits"),
    N_("I have felt calm and relaxed"),
    N_("I have felt active and vigorous"),
    N_("I woke up feeling fresh and rested"),
    N_("My daily life has been filled with things that interest me"),
)


def who5_score(answers: list[int]) -> int:
    """The WHO-5 percentage score, 0-100: the five answers (0-5 each) summed, times four.

    Raises:
        ValueError: not five answers from 0 to 5.
    """
    if len(answers) != len(WHO5_ITEMS) or any(
        not isinstance(a, int) or isinstance(a, bool) or not 0 <= a <= 5 for a in answers
    ):
        raise ValueError(f"WHO-5 needs {len(WHO5_ITEMS)} answers from 0 to 5, got {answers!r}")
    return 4 * sum(answers)


@dataclass(frozen=True)
class PilotEffect:
    """The difference-in-differences estimate of one measure (``None`` when too small)."""

    measure: str
    estimate: float | None
    low: float | None
    high: float | None
    pilot_n: int
    control_n: int
    pilot_change: float | None
    control_change: float | None
    too_small: bool
    detectable: float | None
    left_out: int

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}

    def sentence(self) -> str:
        if self.too_small:
            return (f"{self.measure}: groups too small to conclude ({self.pilot_n} in the "
                    f"pilot and {self.control_n} in control with a value before and after; "
                    f"{MIN_GROUP} each at least)")  # fmt: skip
        assert self.estimate is not None and self.low is not None and self.high is not None
        side = "no clear effect" if self.low <= 0 <= self.high else (
            "up" if self.estimate > 0 else "down")  # fmt: skip
        return (f"{self.measure}: {self.estimate:+.2f} (95% interval {self.low:+.2f} to "
                f"{self.high:+.2f}; {side}; the design detects effects of about "
                f"{self.detectable:.2f} or more)")  # fmt: skip


def _changes(values: Mapping[str, tuple[float | None, float | None]]) -> tuple[list[float], int]:
    out, missing = [], 0
    for before, after in values.values():
        if before is None or after is None or not (math.isfinite(before) and math.isfinite(after)):
            missing += 1
            continue
        out.append(float(after) - float(before))
    return out, missing


def _mean_var(x: list[float]) -> tuple[float, float]:
    m = sum(x) / len(x)
    return m, sum((v - m) ** 2 for v in x) / (len(x) - 1)


def did_estimate(
    measure: str,
    pilot: Mapping[str, tuple[float | None, float | None]],
    control: Mapping[str, tuple[float | None, float | None]],
    level: float = 0.95,
) -> PilotEffect:
    """The effect on ``measure`` from ``(before, after)`` values per person of each group."""
    dp, mp = _changes(pilot)
    dc, mc = _changes(control)
    small = min(len(dp), len(dc)) < MIN_GROUP
    if small:
        return PilotEffect(measure, None, None, None, len(dp), len(dc), None, None, True, None,
                           mp + mc)  # fmt: skip
    (mean_p, var_p), (mean_c, var_c) = _mean_var(dp), _mean_var(dc)
    se2_p, se2_c = var_p / len(dp), var_c / len(dc)
    se = math.sqrt(se2_p + se2_c)
    # Welch-Satterthwaite degrees of freedom (the pooled variance when both are zero)
    denom = (se2_p**2 / (len(dp) - 1) if se2_p else 0.0) + (
        se2_c**2 / (len(dc) - 1) if se2_c else 0.0
    )
    dof = (se2_p + se2_c) ** 2 / denom if denom > 0 else len(dp) + len(dc) - 2
    t = float(stats.t.ppf(0.5 + level / 2, dof))
    estimate = mean_p - mean_c
    detectable = (t + float(stats.t.ppf(0.8, dof))) * se
    return PilotEffect(measure, estimate, estimate - t * se, estimate + t * se, len(dp), len(dc),
                       mean_p, mean_c, False, detectable, mp + mc)  # fmt: skip
