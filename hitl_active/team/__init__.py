"""Annotation by a team: rounds routed by skill with overlap and honeypots, the skill
estimates read from the store, hours, pay and workload, and the practice track."""
