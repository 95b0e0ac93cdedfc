from __future__ import annotations

import pytest

from hitl_active.delivery.export import ExportFormat
from hitl_active.sampling.select import BudgetUnit
from hitl_active.sampling.uncertainty import Aggregation, BoxUncertainty


@pytest.mark.parametrize(
    ("enum", "good", "message"),
    [
        (ExportFormat, "coco", "unknown export format 'x'; choose one of: yolo, coco, voc"),
        (BudgetUnit, "seconds", "unknown budget unit 'x'; choose one of: images, seconds"),
        (Aggregation, "max", "unknown aggregation 'x'; choose one of: max, mean, sum"),
        (BoxUncertainty, "margin", "unknown box uncertainty 'x'"),
    ],
)
def test_choices_parse_and_list_valid_values(enum, good, message):
    assert enum.from_value(good) is enum(good)
    assert enum.from_value(enum(good)) is enum(good)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        enum.from_value("x")
