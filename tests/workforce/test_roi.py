"""ROI on a hand-built learning curve and provenance counts; figures worked out by hand."""

import pytest

from hitl_active.workforce.roi import Step, hours_per_map_point, roi

CURVE = [(0.0, 0.10), (2.0, 0.30), (5.0, 0.36), (6.0, 0.35), (8.0, 0.40)]
HUMAN = ("human", "human_corrected", "human_accepted")


def test_hours_per_map_point_over_the_curve_and_per_step():
    overall, steps = hours_per_map_point(CURVE)
    assert overall == pytest.approx(8 / 30)  # 8 hours for 30 points
    assert [s.hours_per_point for s in steps] == pytest.approx([0.1, 0.5, None, 0.4])
    assert steps[2] == Step(5.0, 6.0, pytest.approx(-1.0), None)  # a loss: no figure


def test_roi_figures():
    prov = {"human": 300, "human_corrected": 150, "human_accepted": 50, "model": 500}
    r = roi(CURVE, cost=1000.0, currency="EUR", provenance=prov, human=HUMAN)
    assert (r.hours, r.accepted_boxes, r.boxes) == (8.0, 500, 1000)
    assert r.cost_per_accepted_box == pytest.approx(2.0)
    assert r.human_verified_share == pytest.approx(0.5)
    assert r.hours_per_point == pytest.approx(8 / 30)


def test_no_gain_and_no_boxes_give_no_figure():
    overall, _ = hours_per_map_point([(0.0, 0.4), (3.0, 0.4)])
    assert overall is None
    assert hours_per_map_point([(1.0, 0.2)]) == (None, [])
    r = roi([], cost=0.0, currency="EUR", provenance={}, human=HUMAN)
    assert (r.cost_per_accepted_box, r.human_verified_share, r.hours) == (None, None, 0.0)


@pytest.mark.parametrize(
    "curve, message",
    [
        ([(0, 0.1), (2, 1.2)], r"mAP in \[0, 1\]"),
        ([(3, 0.1), (2, 0.2)], "hours go down"),
        ([(-1, 0.1)], "hours >= 0"),
    ],
)
def test_bad_curves_are_refused(curve, message):
    with pytest.raises(ValueError, match=message):
        hours_per_map_point(curve)
