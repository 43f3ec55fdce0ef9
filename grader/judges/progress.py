"""Which student is being judged and which are finished, told as pytest runs a homework.

A pytest plugin beside `GraderPlugin`, for the command line's progress: a batch of 200 students
takes minutes, and counting sandbox runs (as before) said neither who was running nor how far
the class was. A student is finished when every selected item of theirs has run, their
instructor's custom checks (`<homework>_checks.py`) included; those items are moved up beside the
student's other checks so that a student finishes as soon as their own checks are judged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from grader.ingest.submission import Submission


def _student_of(item: pytest.Item) -> Submission | None:
    """The submission an item judges: a rubric check's own, or a custom check's parameter."""
    found = getattr(item, "submission", None)
    if isinstance(found, Submission):
        return found
    params = getattr(getattr(item, "callspec", None), "params", {})
    found = params.get("submission")
    return found if isinstance(found, Submission) else None


class StudentProgress:
    """Calls `started(student)` before a student's first item and `finished(submission)` after
    their last; a student with nothing selected is finished when collection is."""

    def __init__(
        self,
        submissions: list[Submission],
        started: Callable[[str], None] | None,
        finished: Callable[[Submission], None] | None,
    ) -> None:
        self.order = {sub.student: i for i, sub in enumerate(submissions)}
        self.submissions = submissions
        self.started = started
        self.finished = finished
        self.left: dict[str, int] = {}
        self.owner: dict[str, Submission] = {}  # nodeid -> its student
        self.begun: set[str] = set()

    @pytest.hookimpl(trylast=True)  # after the selection, on the items that will run
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        def rank(item: pytest.Item) -> int:
            sub = _student_of(item)
            return self.order.get(sub.student, len(self.order)) if sub else len(self.order)

        items.sort(key=rank)  # stable: each student's checks keep their order

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            sub = _student_of(item)
            if sub is not None:
                self.owner[item.nodeid] = sub
                self.left[sub.student] = self.left.get(sub.student, 0) + 1
        for sub in self.submissions:
            if sub.student not in self.left and self.finished is not None:
                self.finished(sub)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        sub = self.owner.get(nodeid)
        if sub is not None and sub.student not in self.begun:
            self.begun.add(sub.student)
            if self.started is not None:
                self.started(sub.student)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        sub = self.owner.get(nodeid)
        if sub is None:
            return
        self.left[sub.student] -= 1
        if self.left[sub.student] == 0 and self.finished is not None:
            self.finished(sub)
