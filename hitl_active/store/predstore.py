"""Predictions in the state database as compact binary chunks.

A pre-label pass writes its predictions a chunk at a time (the images of one write, e.g. 32):
one ``prediction_chunks`` row holds their boxes as fixed-size little-endian records
(``xyxy`` 4×float32, ``confidence`` float32, ``class_id`` int32, ``class_probs`` C×float32),
their boxes-per-image counts (int32), image sizes (int32, -1 when unknown) and embeddings
(D×float32 each). The ``predictions`` table keeps one index row per image (chunk id and row,
error, score). A chunk and its index rows are written in one transaction, so an interrupted
pass keeps every chunk it finished and a re-run predicts only the images without a row.

Reading a whole pool joins the chunks' bytes and views them as arrays: no JSON is decoded,
and the result is a :class:`~hitl_active.sampling.packed.PackedDetections` directly. Values
are stored exactly as given (float32), so what is read equals what was written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from hitl_active.detections import Detections
from hitl_active.sampling.packed import PackedDetections
from hitl_active.store.db import dialect_insert
from hitl_active.store.schema import prediction_chunks as chunks_t
from hitl_active.store.schema import predictions as index_t

__all__ = ["PredictionRow", "read_detections", "read_packed", "write_predictions"]

PredictionRow = tuple[int, "Detections | dict[str, Any] | None", "str | None", "float | None"]

# Above this many ids, reading every index row of the version beats an IN (...) query.
_IN_LIMIT = 500


def box_dtype(num_classes: int) -> np.dtype:
    """The record of one stored box for a model with ``num_classes`` classes."""
    return np.dtype(
        [
            ("xyxy", "<f4", (4,)),
            ("confidence", "<f4"),
            ("class_id", "<i4"),
            ("class_probs", "<f4", (num_classes,)),
        ]
    )


def _as_detections(value: Detections | dict[str, Any]) -> Detections:
    return value if isinstance(value, Detections) else Detections.from_dict(value)


def _signature(det: Detections) -> tuple[int, int]:
    return det.num_classes, 0 if det.embedding is None else len(det.embedding)


def _encode(model_version: str, dets: Sequence[Detections]) -> dict[str, Any]:
    num_classes, dim = _signature(dets[0])
    records = np.zeros(sum(len(d) for d in dets), box_dtype(num_classes))
    start = 0
    for d in dets:
        end = start + len(d)
        records["xyxy"][start:end] = d.xyxy
        records["confidence"][start:end] = d.confidence
        records["class_id"][start:end] = d.class_id
        records["class_probs"][start:end] = d.class_probs
        start = end
    sizes = np.array([d.image_size or (-1, -1) for d in dets], "<i4").reshape(-1, 2)
    meta = {
        str(row): {"model_version": d.model_version, "extra": d.extra}
        for row, d in enumerate(dets)
        if d.model_version != model_version or d.extra
    }
    return {
        "num_classes": num_classes,
        "embedding_dim": dim,
        "counts": np.array([len(d) for d in dets], "<i4").tobytes(),
        "boxes": records.tobytes(),
        "embeddings": np.stack([d.embedding for d in dets]).astype("<f4").tobytes()
        if dim
        else None,
        "sizes": sizes.tobytes(),
        "meta_json": json.dumps(meta) if meta else None,
    }


def write_predictions(
    conn: sa.Connection, model_version: str, rows: Iterable[PredictionRow]
) -> None:
    """Store ``(image_id, detections | None, error | None, score)`` rows inside a transaction.

    ``detections`` is a :class:`Detections` (or its ``to_dict`` form). An image stored again
    replaces its earlier row; a chunk no row refers to any more is deleted.
    """
    now = time.time()
    rows = [(int(i), None if d is None else _as_detections(d), e, s) for i, d, e, s in rows]
    ids = [i for i, *_ in rows]
    old_chunks = set()
    for start in range(0, len(ids), _IN_LIMIT):
        part = ids[start : start + _IN_LIMIT]
        old_chunks |= {
            int(r[0])
            for r in conn.execute(
                sa.select(index_t.c.chunk_id).where(
                    index_t.c.model_version == model_version,
                    index_t.c.image_id.in_(part),
                    index_t.c.chunk_id.is_not(None),
                )
            )
        }
    groups: dict[tuple[int, int], list[tuple[int, Detections, float | None]]] = {}
    index = []
    for image_id, det, error, score in rows:
        if det is None:
            index.append((image_id, model_version, None, None, error, score, now))
        else:
            groups.setdefault(_signature(det), []).append((image_id, det, score))
    for members in groups.values():
        chunk = _encode(model_version, [d for _, d, _ in members])
        cur = conn.execute(sa.insert(chunks_t).values(model_version=model_version, **chunk))
        chunk_id = int(cur.inserted_primary_key[0])
        index += [
            (i, model_version, chunk_id, row, None, s, now) for row, (i, _, s) in enumerate(members)
        ]
    keys = ("image_id", "model_version", "chunk_id", "chunk_row", "error", "score", "created_at")
    upsert = dialect_insert(conn.dialect.name, index_t)
    upsert = upsert.on_conflict_do_update(  # an image stored again replaces its row
        index_elements=["image_id", "model_version"],
        set_={k: upsert.excluded[k] for k in keys[2:]},
    )
    if index:
        conn.execute(upsert, [dict(zip(keys, row, strict=True)) for row in index])
    for chunk_id in old_chunks:
        used = sa.select(index_t.c.image_id).where(index_t.c.chunk_id == chunk_id).limit(1)
        if conn.execute(used).first() is None:
            conn.execute(sa.delete(chunks_t).where(chunks_t.c.id == chunk_id))


@dataclass
class _Loaded:
    """The requested images that have detections, in request order, and their arrays.

    ``wanted`` holds ``image_id, chunk_id, chunk_row`` per image; per-image extras (the
    model version and ``extra`` dict, and embeddings when the chunks' sizes differ) are
    looked up from ``chunks`` only when asked for.
    """

    wanted: np.ndarray
    chunks: list[Any]
    packed: PackedDetections
    sizes: np.ndarray

    @property
    def ids(self) -> list[int]:
        return self.wanted[:, 0].tolist()

    def meta(self, model_version: str) -> list[dict[str, Any]]:
        metas = {c["id"]: json.loads(c["meta_json"]) for c in self.chunks if c["meta_json"]}
        plain = {"model_version": model_version, "extra": {}}
        return [
            metas[c].get(str(r), plain) if c in metas else plain
            for c, r in self.wanted[:, 1:].tolist()
        ]

    def embeddings(self) -> list[np.ndarray | None]:
        if self.packed.embeddings is not None:
            return list(self.packed.embeddings)
        arrays = {
            c["id"]: np.frombuffer(c["embeddings"], "<f4").reshape(-1, c["embedding_dim"])
            for c in self.chunks
            if c["embedding_dim"]
        }
        return [arrays[c][r] if c in arrays else None for c, r in self.wanted[:, 1:].tolist()]


def _index(conn: sa.Connection, model_version: str, image_ids: Sequence[int] | None) -> np.ndarray:
    """``(K, 3)`` int64 ``image_id, chunk_id, chunk_row`` of stored detections."""
    sql = sa.select(index_t.c.image_id, index_t.c.chunk_id, index_t.c.chunk_row).where(
        index_t.c.model_version == model_version, index_t.c.chunk_id.is_not(None)
    )
    if image_ids is not None and len(image_ids) <= _IN_LIMIT:
        sql = sql.where(index_t.c.image_id.in_([int(i) for i in image_ids]))
    found = [tuple(r) for r in conn.execute(sql)]
    return np.array(found, np.int64).reshape(-1, 3)


def _wanted(index: np.ndarray, image_ids: Sequence[int] | None) -> np.ndarray:
    """Rows of ``index`` for ``image_ids`` in their order (all rows by image id for None)."""
    order = np.argsort(index[:, 0], kind="stable")
    if image_ids is None:
        return index[order]
    ids = np.asarray(image_ids, np.int64).reshape(-1)
    if not len(order):
        return index[:0]
    pos = np.minimum(np.searchsorted(index[order, 0], ids), len(order) - 1)
    hit = index[order[pos], 0] == ids
    return index[order[pos[hit]]]


def _load(conn: sa.Connection, model_version: str, image_ids: Sequence[int] | None) -> _Loaded:
    wanted = _wanted(_index(conn, model_version, image_ids), image_ids)
    chunks = _chunks(conn, model_version, np.unique(wanted[:, 1]))
    if not chunks:
        empty = _empty_packed(conn, model_version)
        return _Loaded(wanted[:0], [], empty, np.zeros((0, 2), np.int64))
    num_classes = {c["num_classes"] for c in chunks}
    if len(num_classes) > 1:
        raise ValueError(
            f"predictions of {model_version} mix models with {sorted(num_classes)} classes; "
            "re-predict the pool with one model version"
        )
    counts = np.concatenate([np.frombuffer(c["counts"], "<i4") for c in chunks]).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    records = np.frombuffer(b"".join(c["boxes"] for c in chunks), box_dtype(num_classes.pop()))
    sizes = np.frombuffer(b"".join(c["sizes"] for c in chunks), "<i4").reshape(-1, 2)
    # Position of each wanted image in the concatenated chunks (chunks are sorted by id).
    chunk_ids = np.array([c["id"] for c in chunks], np.int64)
    chunk_base = np.cumsum([0] + [len(c["counts"]) // 4 for c in chunks[:-1]])
    rows = chunk_base[np.searchsorted(chunk_ids, wanted[:, 1])] + wanted[:, 2]
    dims = {c["embedding_dim"] for c in chunks}
    embeddings = None
    if len(dims) == 1 and 0 not in dims:
        flat = np.frombuffer(b"".join(c["embeddings"] for c in chunks), "<f4")
        embeddings = flat.reshape(len(counts), dims.pop())[rows]
    picked = records[_box_rows(offsets, rows)]
    packed = PackedDetections(
        class_probs=picked["class_probs"],
        confidence=picked["confidence"],
        class_id=picked["class_id"],
        xyxy=picked["xyxy"],
        offsets=np.concatenate([[0], np.cumsum(counts[rows])]),
        embeddings=embeddings,
        image_sizes=sizes[rows] if len(rows) and (sizes[rows] > 0).all() else None,
    )
    return _Loaded(wanted, chunks, packed, sizes[rows])


def _box_rows(offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Indices of the boxes of images ``rows`` (in that order) in CSR arrays with ``offsets``."""
    counts = offsets[rows + 1] - offsets[rows]
    starts = np.repeat(offsets[rows], counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return starts + within


def _chunks(conn: sa.Connection, model_version: str, chunk_ids: np.ndarray) -> list[Any]:
    """The chunks' rows (as mappings, bytes columns as ``bytes``), sorted by id."""
    sql = sa.select(chunks_t).order_by(chunks_t.c.id)
    if len(chunk_ids) > _IN_LIMIT:
        keep = set(chunk_ids.tolist())
        found = conn.execute(sql.where(chunks_t.c.model_version == model_version)).mappings()
        rows = [c for c in found if c["id"] in keep]
    else:
        found = conn.execute(sql.where(chunks_t.c.id.in_([int(c) for c in chunk_ids])))
        rows = list(found.mappings())
    blobs = ("counts", "boxes", "embeddings", "sizes")  # PostgreSQL hands back memoryviews
    return [
        {k: bytes(v) if k in blobs and v is not None else v for k, v in c.items()} for c in rows
    ]


def _empty_packed(conn: sa.Connection, model_version: str) -> PackedDetections:
    row = conn.execute(
        sa.select(chunks_t.c.num_classes).where(chunks_t.c.model_version == model_version).limit(1)
    ).first()
    c = 0 if row is None else int(row[0])
    return PackedDetections(
        class_probs=np.zeros((0, c), np.float32),
        confidence=np.zeros(0, np.float32),
        class_id=np.zeros(0, np.int64),
        xyxy=np.zeros((0, 4), np.float32),
        offsets=np.zeros(1, np.int64),
    )


def read_packed(
    conn: sa.Connection, model_version: str, image_ids: Sequence[int]
) -> tuple[list[int], PackedDetections]:
    """The detections of ``image_ids`` that have some, in their order, as packed arrays.

    Images without a prediction, or whose prediction is an error, are left out; the
    returned ids say which images the packed rows are.
    """
    loaded = _load(conn, model_version, image_ids)
    return loaded.ids, loaded.packed


def read_detections(
    conn: sa.Connection, model_version: str, image_ids: Sequence[int] | None = None
) -> dict[int, Detections | None]:
    """Per-image :class:`Detections` (None for an error row) of ``image_ids`` or every image."""
    loaded = _load(conn, model_version, image_ids)
    out: dict[int, Detections | None] = {}
    if image_ids is None:
        errors = conn.execute(
            sa.select(index_t.c.image_id).where(
                index_t.c.model_version == model_version, index_t.c.chunk_id.is_(None)
            )
        ).fetchall()
        out = {int(r[0]): None for r in errors}
    metas, embeddings = loaded.meta(model_version), loaded.embeddings()
    for k, image_id in enumerate(loaded.ids):
        s, e = int(loaded.packed.offsets[k]), int(loaded.packed.offsets[k + 1])
        meta = metas[k]
        w, h = (int(v) for v in loaded.sizes[k])
        out[image_id] = Detections(
            xyxy=loaded.packed.xyxy[s:e],
            confidence=loaded.packed.confidence[s:e],
            class_id=loaded.packed.class_id[s:e],
            class_probs=loaded.packed.class_probs[s:e],
            image_size=(w, h) if w > 0 and h > 0 else None,
            embedding=embeddings[k],
            model_version=meta["model_version"],
            extra=dict(meta["extra"]),
        )
    return out
