"""The one simulated submission (``answer_task``) that the loop's Label Studio backend and the
team's queues both use: it answers an open task once, through the client's own methods."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hitl_active.formats.core import ImageLabels
from hitl_active.labelstudio.project import ProjectInfo
from hitl_active.loop import backends
from hitl_active.team import team

PROJECT = ProjectInfo(3, "p", ("cat", "dog"))


@dataclass
class Cost:
    seconds: float


class Person:
    def annotate(self, key, prelabels):
        return ImageLabels(key, 100, 80, np.array([[10, 10, 50, 40]], np.float32),
                           np.array([1])), Cost(42.0)  # fmt: skip


class Client:  # stands in for LabelStudioClient: the code under test sits above it
    def __init__(self, task):
        self.tasks = {task["id"]: task}
        self.posted = []

    def task(self, task_id):
        return self.tasks[task_id]

    def add_annotation(self, task_id, result, lead_time, parent_prediction=None):
        self.posted.append((task_id, result, lead_time, parent_prediction))
        self.tasks[task_id]["total_annotations"] = 1


def test_an_open_task_is_answered_once_from_the_prediction_it_showed() -> None:
    client = Client({"id": 7, "predictions": [{"id": 1}, {"id": 5}], "total_annotations": 0})
    assert backends.answer_task(client, PROJECT, 7, Person(), "a.jpg", None)
    ((task_id, result, seconds, parent),) = client.posted
    assert (task_id, seconds, parent) == (7, 42.0, 5)
    assert result[0]["value"]["rectanglelabels"] == ["dog"]
    assert not backends.answer_task(client, PROJECT, 7, Person(), "a.jpg", None)  # answered
    assert len(client.posted) == 1


def test_the_loop_and_the_team_submit_through_the_same_function() -> None:
    assert team.answer_task is backends.answer_task
