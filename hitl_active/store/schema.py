"""The state database's tables, defined once for every backend (SQLite, PostgreSQL).

Alembic revisions (``hitl_active/store/alembic/versions``) create and change these tables;
:class:`hitl_active.store.store.Store` queries them through SQLAlchemy Core. Flags are
integers (0/1) and times are seconds since the epoch as floats, as the first SQLite
schema stored them, so databases written before Alembic keep their rows as they are.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "ASSIGNMENT_KINDS",
    "CONTEST_STATES",
    "JOB_STATES",
    "SPLITS",
    "TIERS",
    "annotations",
    "annotators",
    "assignments",
    "drafts",
    "gold_contests",
    "gold_labels",
    "images",
    "jobs",
    "kv",
    "metadata",
    "model_versions",
    "peer_tips",
    "practice_attempts",
    "prediction_chunks",
    "predictions",
    "rounds",
    "selections",
    "tasks",
]

SPLITS = ("pool", "gold", "train")
VERSION_STATES = ("training", "candidate", "promoted", "retired", "rejected")
JOB_STATES = ("pending", "running", "done", "failed")
TIERS = ("trainee", "annotator", "reviewer")
# task: the image's one annotator; overlap: one of several on the image; honeypot: a gold
# image with known truth, served like any task (its answers score the annotator, never train)
ASSIGNMENT_KINDS = ("task", "overlap", "honeypot")
CONTEST_STATES = ("open", "upheld", "corrected")

metadata = sa.MetaData()
Double = sa.Float(precision=53)  # REAL on SQLite, DOUBLE PRECISION on PostgreSQL


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


images = sa.Table(
    "images", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("sha1", sa.Text),
    sa.Column("split", sa.Text, nullable=False),
    sa.Column("added_at", Double, nullable=False),
    sa.CheckConstraint(_in("split", SPLITS)),
    sa.Index("images_split", "split"),
)  # fmt: skip

gold_labels = sa.Table(
    "gold_labels", metadata,
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), primary_key=True,
              autoincrement=False),
    sa.Column("boxes_json", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
)  # fmt: skip

model_versions = sa.Table(
    "model_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("parent", sa.Text),
    sa.Column("created_at", Double, nullable=False),
    sa.Column("weights", sa.Text),
    sa.Column("onnx", sa.Text),
    sa.Column("metrics_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("train_snapshot_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("promoted_at", Double),
    sa.CheckConstraint(_in("status", VERSION_STATES)),
)  # fmt: skip

prediction_chunks = sa.Table(
    "prediction_chunks", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model_version", sa.Text, nullable=False),
    sa.Column("num_classes", sa.Integer, nullable=False),
    sa.Column("embedding_dim", sa.Integer, nullable=False),
    sa.Column("counts", sa.LargeBinary, nullable=False),
    sa.Column("boxes", sa.LargeBinary, nullable=False),
    sa.Column("embeddings", sa.LargeBinary),
    sa.Column("sizes", sa.LargeBinary, nullable=False),
    sa.Column("meta_json", sa.Text),
    sa.Index("prediction_chunks_version", "model_version"),
)  # fmt: skip

predictions = sa.Table(
    "predictions", metadata,
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), primary_key=True,
              autoincrement=False),
    sa.Column("model_version", sa.Text, primary_key=True),
    sa.Column("error", sa.Text),
    sa.Column("score", Double),
    sa.Column("created_at", Double, nullable=False),
    sa.Column("chunk_id", sa.Integer, sa.ForeignKey("prediction_chunks.id")),
    sa.Column("chunk_row", sa.Integer),
    sa.Index("predictions_chunk", "chunk_id"),
)  # fmt: skip

rounds = sa.Table(
    "rounds", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", Double, nullable=False),
    sa.Column("finished_at", Double),
    sa.Column("step", sa.Text, nullable=False),
    sa.Column("model_version", sa.Text),
    sa.Column("candidate_version", sa.Text),
    sa.Column("info_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("owner", sa.Text),  # who runs the round (a loop's project); NULL: any loop
)  # fmt: skip

selections = sa.Table(
    "selections", metadata,
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id"), primary_key=True),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), primary_key=True),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("score", Double),
    sa.Column("est_cost", Double),
)  # fmt: skip

tasks = sa.Table(
    "tasks", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False, unique=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id")),
    sa.Column("ls_task_id", sa.Integer, unique=True),
    sa.Column("project_id", sa.Integer),
    sa.Column("image_key", sa.Text),
    sa.Column("pushed_at", Double, nullable=False),
    sa.Column("prediction_model_version", sa.Text),
    sa.Index("tasks_key", "project_id", "image_key"),
)  # fmt: skip

annotations = sa.Table(
    "annotations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False),
    sa.Column("ls_task_id", sa.Integer),
    sa.Column("external_id", sa.Text, nullable=False),
    sa.Column("revision", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("boxes_json", sa.Text, nullable=False),
    sa.Column("result_json", sa.Text),
    sa.Column("annotator", sa.Text),
    sa.Column("lead_time", Double),
    sa.Column("cancelled", sa.Integer, nullable=False, server_default="0"),
    sa.Column("deleted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("diff_json", sa.Text),
    sa.Column("updated_at", sa.Text),
    sa.Column("recorded_at", Double, nullable=False),
    sa.Column("is_current", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.Text),  # Label Studio's first submission (revision 0005)
    sa.Column("draft_created_at", sa.Text),  # the start of the draft it was made from
    sa.UniqueConstraint("source", "external_id", "revision"),
    sa.Index("annotations_image", "image_id", "is_current"),
    sa.Index("annotations_external", "source", "external_id"),
)  # fmt: skip

kv = sa.Table(
    "kv", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)  # fmt: skip

# Work that several processes (or machines) may race for: each row is claimed by one worker.
jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("payload_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("worker", sa.Text),
    sa.Column("created_at", Double, nullable=False),
    sa.Column("claimed_at", Double),
    sa.Column("finished_at", Double),
    sa.Column("result_json", sa.Text),
    sa.Column("error", sa.Text),
    sa.CheckConstraint(_in("status", JOB_STATES)),
    sa.UniqueConstraint("kind", "key"),
    sa.Index("jobs_pending", "kind", "status"),
)  # fmt: skip

# People who annotate, created as they first appear (or added by a manager).
annotators = sa.Table(
    "annotators", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("email", sa.Text, unique=True),
    sa.Column("ls_user_id", sa.Integer, unique=True),
    sa.Column("tier", sa.Text, nullable=False, server_default="annotator"),
    sa.Column("languages", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("queue_project_id", sa.Integer),  # the annotator's Label Studio queue project
    sa.Column("created_at", Double, nullable=False),
    sa.Column("location", sa.Text),  # where they live: the key of their living-wage floor
    sa.Column("page_key_hash", sa.Text),  # SHA-256 of the key that opens their own page
    sa.Column("sensitive_opt_out", sa.Integer, nullable=False, server_default="0"),
    sa.Column("practice_project_id", sa.Integer),  # their practice project (training track)
    sa.Column("active", sa.Integer, nullable=False, server_default="1"),  # 0: not routed
    # 1: a manager cleared this trainee for client work before the training track says ready
    sa.Column("client_work", sa.Integer, nullable=False, server_default="0"),
    sa.Column("client_work_by", sa.Text),  # who set client_work last
    sa.Column("client_work_at", Double),  # and when
    sa.CheckConstraint(_in("tier", TIERS)),
)  # fmt: skip

# Which annotator got which image in which round, as which kind, in which Label Studio task.
assignments = sa.Table(
    "assignments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id")),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("project_id", sa.Integer),
    sa.Column("ls_task_id", sa.Integer, unique=True),
    sa.Column("pushed_at", Double, nullable=False),
    sa.CheckConstraint(_in("kind", ASSIGNMENT_KINDS)),
    sa.UniqueConstraint("image_id", "annotator_id"),  # nobody sees an image twice
    sa.Index("assignments_round", "round_id"),
)  # fmt: skip

# A gold item an annotator contests: left out of their gold scores until a reviewer decides.
gold_contests = sa.Table(
    "gold_contests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("reviewer", sa.Text),
    sa.Column("corrected_json", sa.Text),
    sa.Column("created_at", Double, nullable=False),
    sa.Column("reviewed_at", Double),
    sa.CheckConstraint(_in("status", CONTEST_STATES)),
)  # fmt: skip

# Practice tasks of the training track: made from labelled images, paid, graded with feedback.
practice_attempts = sa.Table(
    "practice_attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("task_key", sa.Text, nullable=False),  # the practice task's id
    sa.Column("task_type", sa.Text, nullable=False),
    sa.Column("skills_json", sa.Text, nullable=False, server_default="[]"),
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id")),
    sa.Column("project_id", sa.Integer),
    sa.Column("ls_task_id", sa.Integer, unique=True),
    sa.Column("pushed_at", Double, nullable=False),
    sa.Column("answered_at", Double),
    sa.Column("seconds", Double),
    sa.Column("outcome_json", sa.Text),  # per skill: right or not
    sa.Column("feedback_json", sa.Text),  # what the trainee is shown after submitting
    sa.UniqueConstraint("annotator_id", "task_key"),
)  # fmt: skip

# Peer recommendations: "this set helped me with X", prior evidence for the curriculum.
peer_tips = sa.Table(
    "peer_tips", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("skill", sa.Text, nullable=False),
    sa.Column("task_type", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", Double, nullable=False),
)  # fmt: skip

# Label Studio drafts, read while they exist (it deletes a draft once it is submitted): the
# latest state of each, for the hours a draft's lead time stands for (revision 0005).
pilots = sa.Table(
    "pilots", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("pilot_group", sa.Text, nullable=False),
    sa.Column("control_group", sa.Text, nullable=False),
    sa.Column("start", Double, nullable=False),
    sa.Column("end", Double),
    sa.Column("baseline_days", sa.Integer, nullable=False, server_default="14"),
    sa.Column("created_at", Double, nullable=False),
)  # fmt: skip

wellbeing = sa.Table(
    "wellbeing", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("respondent", sa.Text, nullable=False),
    sa.Column("answers", sa.Text, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("answered_at", Double, nullable=False),
    sa.Index("wellbeing_respondent", "respondent", "answered_at"),
)  # fmt: skip

drafts = sa.Table(
    "drafts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("draft_id", sa.Integer, nullable=False),
    sa.Column("ls_task_id", sa.Integer, nullable=False),
    sa.Column("annotator", sa.Text, nullable=False),
    sa.Column("annotation_id", sa.Integer),  # the annotation it edits; NULL: a task's first
    sa.Column("lead_time", Double, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.Column("recorded_at", Double, nullable=False),
    sa.UniqueConstraint("project_id", "draft_id"),
    sa.Index("drafts_task", "ls_task_id"),
)  # fmt: skip
