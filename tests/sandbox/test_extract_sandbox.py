"""Module checks on .py files that download data and train at import time, through the real
sandbox (grader/ingest/extract.py, grader/judges/planning.py): the class is graded without the
file's top level, and a class that needs a package the grading environment lacks goes to a TA."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from grader.pipeline import GradeOptions, grade
from grader.results import Status

REPO = Path(__file__).resolve().parents[2]
CORRECT = (REPO / "submissions" / "mfdnn" / "hw6" / "alice" / "stm.py").read_text()
STARTER_TOP = (
    "from torchvision import datasets, transforms\n"
    "from sklearn.model_selection import train_test_split\n"
)
STARTER_BOTTOM = (
    "\ntrain_set = datasets.MNIST(root='./mnist_data/', download=True)\n"
    "while True:  # the training loop, as far as the grader is concerned\n"
    "    pass\n"
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.skipif(
        importlib.util.find_spec("torchvision") is not None,
        reason="these cases need a grading environment without torchvision",
    ),
]


def test_starter_top_level_costs_a_correct_class_nothing(tmp_path: Path) -> None:
    honest = tmp_path / "starter-style"
    honest.mkdir()
    (honest / "stm.py").write_text(STARTER_TOP + CORRECT + STARTER_BOTTOM)
    needs = tmp_path / "needs-torchvision"
    needs.mkdir()
    body = CORRECT.replace(
        "out = torch.zeros_like(x)", "out = torch.zeros_like(x)\n        transforms.ToTensor()"
    )
    assert body != CORRECT
    (needs / "stm.py").write_text(STARTER_TOP + body + STARTER_BOTTOM)
    report = grade([honest, needs], GradeOptions(homework="hw6", select="stm", jobs=2))
    by_student = {s.student: s for s in report.submissions}
    checks = [c for p in by_student["starter-style"].problems for c in p.checks]
    stm = [c for c in checks if c.id.startswith("stm.") and c.id != "stm.name"]
    assert len(stm) == 6 and all(c.status is Status.PASSED for c in stm), [
        (c.id, c.message) for c in stm
    ]
    assert any("without running lines" in n for n in by_student["starter-style"].notes)
    checks = [c for p in by_student["needs-torchvision"].problems for c in p.checks]
    stm = [c for c in checks if c.id.startswith("stm.") and c.id != "stm.name"]
    assert len(stm) == 6
    for check in stm:
        assert check.status is Status.PENDING and check.score == 0
        assert "needs torchvision, which the grading environment lacks" in check.message
