"""Client delivery: the labelled dataset with per-box provenance and a dataset card."""

from hitl_active.delivery.export import ExportFormat, ExportResult, collect_labels, export_dataset

__all__ = ["ExportFormat", "ExportResult", "collect_labels", "export_dataset"]
