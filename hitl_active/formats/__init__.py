"""Pure converters between label files and :class:`ImageLabels`."""

from hitl_active.formats.core import ImageLabels

__all__ = ["ImageLabels"]
