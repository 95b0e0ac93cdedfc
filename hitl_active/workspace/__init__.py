"""A workspace on disk: its configuration (``hitl-active.yaml``), the writer's lock and the
state store it opens."""

from hitl_active.workspace.config import LoopConfig, WorkspaceError
from hitl_active.workspace.workspace import Workspace

__all__ = ["LoopConfig", "Workspace", "WorkspaceError"]
