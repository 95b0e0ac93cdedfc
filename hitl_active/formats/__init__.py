"""Pure converters between label files and :class:`ImageLabels`.

All boxes are continuous pixel coordinates ``x1, y1, x2, y2`` of the displayed image
(EXIF orientation applied). Format-specific conventions are documented in each module.
"""

from hitl_active.formats.coco import from_coco, read_coco, to_coco, write_coco
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.voc import (
    from_voc_xml,
    raw_to_displayed,
    read_voc_dir,
    to_voc_xml,
    write_voc_dir,
)
from hitl_active.formats.yolo import (
    default_labels_dir,
    from_yolo_lines,
    read_class_names,
    read_yolo_dataset,
    read_yolo_labels,
    to_yolo_lines,
    write_class_names,
    write_yolo_dataset,
    write_yolo_labels,
)

__all__ = [
    "ImageLabels",
    "default_labels_dir",
    "from_coco",
    "from_voc_xml",
    "from_yolo_lines",
    "raw_to_displayed",
    "read_class_names",
    "read_coco",
    "read_voc_dir",
    "read_yolo_dataset",
    "read_yolo_labels",
    "to_coco",
    "to_voc_xml",
    "to_yolo_lines",
    "write_class_names",
    "write_coco",
    "write_voc_dir",
    "write_yolo_dataset",
    "write_yolo_labels",
]
