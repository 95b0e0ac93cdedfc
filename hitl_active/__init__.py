"""hitl-active."""
