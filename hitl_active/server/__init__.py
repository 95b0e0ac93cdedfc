"""The HTTP server: Label Studio's ML backend and webhook receiver, wiring inference, Label
Studio and the workspace together (``hitl-active serve``)."""

from hitl_active.server.app import create_app
from hitl_active.server.settings import AppSettings

__all__ = ["AppSettings", "create_app"]
