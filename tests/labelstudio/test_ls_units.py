"""Label Studio integration pieces that need no server: sink, diff, events, config, URLs."""

from __future__ import annotations

import socket
import time

import httpx
import numpy as np
import pytest

from hitl_active.formats import ImageLabels
from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio import (
    LabelMismatchError,
    LabelStudioAuthError,
    LabelStudioClient,
    LabelStudioUnavailable,
    ProjectInfo,
    check_labels,
    diff_boxes,
    handle_event,
    image_url,
    label_config,
)
from hitl_active.labelstudio.project import local_path, parse_label_config
from hitl_active.labelstudio.records import build_record, normalize_timestamp
from hitl_active.store import Store
from tests.labelstudio.ls_helpers import recorded

CLASSES = ("cat", "dog")
PROJECT = ProjectInfo(7, "pets", CLASSES)


def _pred_labels() -> ImageLabels:
    return ImageLabels(
        "a.jpg",
        200,
        100,
        xyxy=[[10, 10, 50, 50], [100, 20, 150, 80], [160, 60, 190, 90]],
        class_id=[0, 1, 0],
        scores=[0.9, 0.6, 0.3],
    )


def _event(
    action: str,
    result: list,
    annotation_id: int = 11,
    updated: str = "2026-01-01T00:00:01Z",
    cancelled: bool = False,
) -> dict:
    return {
        "action": action,
        "project": {"id": 7, "title": "pets", "label_config": label_config(CLASSES)},
        "task": {
            "id": 3,
            "data": {"image": "x", "image_key": "a.jpg", "width": 200, "height": 100},
        },
        "annotation": {
            "id": annotation_id,
            "task": 3,
            "result": result,
            "completed_by": 1,
            "lead_time": 4.5,
            "was_cancelled": cancelled,
            "updated_at": updated,
        },
    }


def test_diff_classifies_every_kind_of_change() -> None:
    pred = _pred_labels()
    pred.box_meta = [{"region_id": "r0"}, {"region_id": "r1"}, {"region_id": "r2"}]
    ann = ImageLabels(
        "a.jpg",
        200,
        100,
        xyxy=[[10.4, 10, 50, 50.5], [100, 20, 150, 80], [5, 70, 30, 95], [160, 60, 199, 95]],
        class_id=[0, 0, 1, 0],
        box_meta=[{"region_id": "r0"}, {"region_id": "r1"}, {"region_id": "new"}, {}],
    )
    diff = diff_boxes(pred, ann)
    assert diff.kept == [(0, 0)]
    assert diff.relabelled == [(1, 1)]
    assert diff.moved == [(2, 3)]  # paired by IoU: no region id on the annotation box
    assert diff.added == [2] and diff.deleted == []
    assert not diff.unchanged
    assert diff_boxes(pred, pred).unchanged


def test_sink_records_once_replaces_newer_and_ignores_older() -> None:
    sink = Store.standalone()
    results = to_ls_results(_pred_labels(), CLASSES)
    ev = _event("ANNOTATION_CREATED", results)
    record = build_record(PROJECT, ev["task"], ev["annotation"])
    assert sink.record_annotation(record) is True
    assert sink.record_annotation(record) is False  # the same version again
    newer = _event("ANNOTATION_UPDATED", results[:1], updated="2026-01-01T00:00:05Z")
    assert sink.record_annotation(build_record(PROJECT, newer["task"], newer["annotation"]))
    older = _event("ANNOTATION_UPDATED", results[:2], updated="2026-01-01T00:00:03Z")
    assert not sink.record_annotation(build_record(PROJECT, older["task"], older["annotation"]))
    (stored,) = recorded(sink, 7)
    assert len(stored["xyxy"]) == 1 and stored["annotator"] == "user-1"
    assert sink.annotation_ids(7, 3) == {11}
    assert sink.record_deletion(7, [11, 99]) == 1
    assert recorded(sink, 7) == []


def test_sink_keeps_tasks_and_cursor_in_a_file(tmp_path) -> None:
    path = tmp_path / "ls.db"
    sink = Store.standalone(path)
    sink.record_task(7, "a.jpg", 3)
    sink.set_cursor(7, "2030-01-01T00:00:00.000000+00:00")
    sink.close()
    again = Store.standalone(path)
    assert again.task_for_image(7, "a.jpg") == 3 and again.task_for_image(7, "b.jpg") is None
    assert again.get_cursor(7) == "2030-01-01T00:00:00.000000+00:00"


def test_webhook_events_are_idempotent_and_others_ignored() -> None:
    sink = Store.standalone()
    results = to_ls_results(_pred_labels(), CLASSES)
    ev = _event("ANNOTATION_CREATED", results)
    ev["task"]["predictions"] = [{"id": 1, "result": results, "model_version": "m1"}]
    first = handle_event(ev, sink, users={1: "ann@example.com"})
    assert (first.handled, first.recorded) == (True, 1)
    assert handle_event(ev, sink).recorded == 0
    (stored,) = recorded(sink, 7)
    assert stored["annotator"] == "ann@example.com" and stored["model_version"] == "m1"
    assert stored["diff"]["counts"]["kept"] == 3 and stored["lead_time"] == 4.5
    assert not handle_event({"action": "PROJECT_UPDATED", "project": {"id": 7}}, sink).handled
    skipped = _event("ANNOTATION_CREATED", [], annotation_id=12, cancelled=True)
    assert handle_event(skipped, sink).recorded == 1
    assert [r["was_cancelled"] for r in recorded(sink, 7)] == [False, True]
    gone = {"action": "ANNOTATIONS_DELETED", "project": {"id": 7}, "annotations": [{"id": 11}]}
    assert handle_event(gone, sink).deleted == 1
    with pytest.raises(LabelMismatchError, match=r"\['bird'\]"):
        handle_event(ev, sink, class_names=["bird"])


def test_label_config_round_trip_and_mismatch_lists_both() -> None:
    xml = label_config(["cat", 'd"og'], from_name="lbl", to_name="img")
    assert parse_label_config(xml) == ("lbl", "img", "image", ["cat", 'd"og'])
    check_labels(["cat", "dog"], ["cat", "dog"])
    with pytest.raises(LabelMismatchError) as err:
        check_labels(["cat", "bird"], ["cat", "dog"])
    assert "['cat', 'bird']" in str(err.value) and "['cat', 'dog']" in str(err.value)
    with pytest.raises(LabelMismatchError, match="different order"):
        check_labels(["dog", "cat"], ["cat", "dog"])
    with pytest.raises(LabelMismatchError, match="RectangleLabels"):
        parse_label_config("<View><Image name='i' value='$image'/></View>")


def test_image_urls_and_local_paths(tmp_path) -> None:
    root = tmp_path / "root"
    (root / "images" / "a b").mkdir(parents=True)
    url = image_url(root / "images" / "a b" / "x.jpg", root)
    assert url == "/data/local-files/?d=images/a%20b/x.jpg"
    assert local_path(url, root) == (root / "images" / "a b" / "x.jpg").resolve()
    assert image_url("https://h/x.jpg", None) == "https://h/x.jpg"
    assert image_url("s3://bucket/x.jpg", root) == "s3://bucket/x.jpg"
    with pytest.raises(ValueError, match="outside the local-files root"):
        image_url(tmp_path / "x.jpg", root)
    with pytest.raises(ValueError, match="escapes"):
        local_path("/data/local-files/?d=../../etc/passwd", root)


def test_timestamps_normalize_to_one_form() -> None:
    a = normalize_timestamp("2030-01-01T00:00:01.5Z")
    assert a == normalize_timestamp("2030-01-01T01:00:01.500000+01:00")
    assert a == "2030-01-01T00:00:01.500000+00:00"


def test_server_down_gives_bounded_retries_and_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    client = LabelStudioClient(f"http://127.0.0.1:{port}", "tok", retries=2, backoff=0.05)
    start = time.monotonic()
    with pytest.raises(LabelStudioUnavailable) as err:
        client.projects()
    assert time.monotonic() - start < 5
    assert f"http://127.0.0.1:{port}" in str(err.value) and "3 attempts" in str(err.value)
    assert "scripts/label-studio status" in str(err.value)
    assert not client.health()


def test_client_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="http"):
        LabelStudioClient("localhost:8080", "tok")
    with pytest.raises(ValueError, match="LABEL_STUDIO_API_KEY"):
        LabelStudioClient("http://localhost:8080", "")


def test_records_convert_results_back_to_pixels() -> None:
    labels = _pred_labels()
    ev = _event("ANNOTATION_CREATED", to_ls_results(labels, CLASSES))
    record = build_record(PROJECT, ev["task"], ev["annotation"])
    assert np.abs(record.labels.xyxy - labels.xyxy).max() < 1e-3
    assert record.image == "a.jpg" and record.diff is None


def test_slow_server_times_out_with_bounded_retries() -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = LabelStudioClient(url, "tok", timeout=0.2, retries=1, backoff=0.01)
        start = time.monotonic()
        with pytest.raises(LabelStudioUnavailable, match="2 attempts") as err:
            client.whoami()
    assert time.monotonic() - start < 3
    assert "ReadTimeout" in str(err.value) and url in str(err.value)


def test_a_create_that_timed_out_is_not_repeated_blindly() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = LabelStudioClient(url, "tok", timeout=0.2, retries=3, backoff=0.01)
        with pytest.raises(LabelStudioUnavailable, match="may or may not have been applied"):
            client.import_tasks(1, [{"data": {}}])


def test_a_later_pull_fills_in_a_missing_diff_once() -> None:
    sink = Store.standalone()
    results = to_ls_results(_pred_labels(), CLASSES)
    ev = _event("ANNOTATION_CREATED", results)
    assert sink.record_annotation(build_record(PROJECT, ev["task"], ev["annotation"]))
    predictions = [{"id": 1, "result": results, "model_version": "m1"}]
    with_diff = build_record(PROJECT, ev["task"], ev["annotation"], predictions)
    assert sink.record_annotation(with_diff) is True
    assert sink.record_annotation(with_diff) is False
    assert recorded(sink, 7)[0]["diff"]["counts"]["kept"] == 3


@pytest.mark.parametrize(
    ("total", "server_cap", "concurrency"),
    [(0, 100, 2), (7, 100, 2), (1003, 100, 2), (1003, 100, 1), (250, 40, 3)],
)
def test_task_pages_come_back_complete_and_in_order(total, server_cap, concurrency) -> None:
    """Concurrent page fetches keep the order; a server that caps page_size is trusted."""
    import httpx

    asked: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["page_size"])
        size = min(size, server_cap)
        asked.append(page)
        ids = list(range((page - 1) * size, min(page * size, total)))
        if page > 1 and not ids:
            return httpx.Response(404, json={"detail": "Invalid page."})
        return httpx.Response(200, json={"tasks": [{"id": i} for i in ids], "total": total})

    client = LabelStudioClient("http://ls.test", "tok", retries=0)
    client._http = httpx.Client(base_url="http://ls.test", transport=httpx.MockTransport(handler))
    got = [t["id"] for t in client.iter_tasks(1, page_size=500, concurrency=concurrency)]
    assert got == list(range(total))
    assert len(asked) == max(1, -(-total // server_cap)), "no page fetched twice or skipped"


class _ExpiringAccessTokens:
    """Label Studio's token endpoints as seen by a client: each access token made from the
    personal access token answers ``uses`` requests, then 401 (expired)."""

    PAT = "header.payload.signature"

    def __init__(self, uses: int) -> None:
        self.uses, self.made, self.left = uses, 0, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/token/refresh/":
            import json

            if json.loads(request.content)["refresh"] != self.PAT:
                return httpx.Response(401, json={"detail": "token not valid"})
            self.made += 1
            self.left = self.uses
            return httpx.Response(200, json={"access": f"access-{self.made}"})
        if request.headers.get("Authorization") != f"Bearer access-{self.made}" or not self.left:
            return httpx.Response(401, json={"detail": "expired"})
        self.left -= 1
        if request.url.path == "/data/upload/image.png":
            return httpx.Response(200, content=_png_bytes())
        return httpx.Response(200, json={"id": 1, "username": "annotator"})


def _png_bytes() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_an_expired_access_token_is_renewed_from_the_personal_access_token() -> None:
    server = _ExpiringAccessTokens(uses=2)
    client = LabelStudioClient(
        "http://ls.test", server.PAT, retries=0, transport=httpx.MockTransport(server)
    )
    for _ in range(5):
        assert client.whoami()["username"] == "annotator"
    assert server.made == 3  # at construction, then after every second request
    with pytest.raises(LabelStudioAuthError, match="refused"):
        LabelStudioClient(
            "http://ls.test", "other.personal.token", transport=httpx.MockTransport(server)
        )


def test_task_images_are_fetched_with_a_renewed_access_token() -> None:
    from hitl_active.labelstudio.media import TaskImageError, fetch_task_image

    server = _ExpiringAccessTokens(uses=1)
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        for _ in range(3):
            img = fetch_task_image(
                "/data/upload/image.png", None, "http://ls.test", server.PAT, http
            )
            assert img.pixels.shape == (6, 8, 3) and img.size == (8, 6)
        assert server.made == 3
        with pytest.raises(TaskImageError) as err:
            fetch_task_image("/data/upload/image.png", None, "http://ls.test", "bad.token.x", http)
        assert "cannot authenticate" in err.value.detail  # logged; the caller learns less
