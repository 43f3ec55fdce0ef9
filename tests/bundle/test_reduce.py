"""The rubric and facts a students' bundle gets (fast: no bundle is written, no curve computed)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from grader.bundle import WITHHELD, _rubric_yaml, precompute, reduce_rubric
from grader.courses import load_catalog
from grader.reference import NotPrecomputed, decode_fact, encode_fact, load_reference
from grader.rubric import ANSWER_KINDS, ManualCheck, load_rubric

ROOT = Path(__file__).resolve().parents[2]
HOMEWORKS = sorted(load_catalog([ROOT / "rubrics"]).homeworks, key=lambda h: h.qualified)


@pytest.mark.parametrize("homework", HOMEWORKS, ids=lambda h: h.qualified)
def test_probed_checks_reload_as_the_staff_has_them(homework: object, tmp_path: Path) -> None:
    """A probe's plan is hashed from its check: a bundled check that reloads with `60.0` where
    the staff's has the default `60` would make the same submission another job (and another
    cache entry, and no recording)."""
    rubric = load_rubric(homework.rubric_path)  # type: ignore[attr-defined]
    reduced, _ = reduce_rubric(rubric)
    path = tmp_path / "hw.yaml"
    path.write_text(_rubric_yaml(reduced))
    reloaded = load_rubric(path)
    staff = {(p.id, c.id): c for p in rubric.problems for c in p.checks}
    for problem in reloaded.problems:
        for check in problem.checks:
            theirs = staff[problem.id, check.id]
            if check.kind in ("module", "script", "custom"):
                # repr, not a JSON dump: the dump writes 60 and 60.0 alike, the plan does not
                assert [(k, repr(v)) for k, v in check] == [(k, repr(v)) for k, v in theirs]
            if isinstance(check, ManualCheck):
                assert check.prompt == ""
            if check.kind in ANSWER_KINDS and check.shown != "public":
                assert check.expected == WITHHELD  # type: ignore[union-attr]
    assert reloaded.description == ""


def test_hidden_checks_leave_only_their_points_per_problem() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "mfdnn" / "hw6.yaml")
    hidden = rubric.model_copy(
        update={
            "problems": [
                p.model_copy(
                    update={
                        "checks": [c.model_copy(update={"visibility": "hidden"}) for c in p.checks]
                    }
                )
                if p.id in ("p2", "p3")
                else p
                for p in rubric.problems
            ]
        }
    )
    reduced, points = reduce_rubric(hidden)
    assert points == {"p2": 4.0, "p3": 6.0}
    assert [p.id for p in reduced.problems] == ["p1", "p4a", "p4b", "p5"]
    text = _rubric_yaml(reduced)
    assert "variance" not in text and "derivation" not in text


def test_only_public_checks_get_facts_from_the_reference() -> None:
    """A module check the instructor marks `public_without_answer` ships no parameter count:
    what it needs of the reference waits for grading like an answer's expected value."""
    homework = load_catalog([ROOT / "rubrics"]).find("mfdnn/hw4")
    rubric = load_rubric(homework.rubric_path)
    reference = load_reference(rubric, homework.reference_root)
    assert reference is not None
    _, memo = precompute(rubric, reference, 0, set())
    assert any(key.startswith("count:") for key in memo)  # public by default: its count ships
    withheld = rubric.model_copy(
        update={
            "problems": [
                p.model_copy(
                    update={
                        "checks": [
                            c.model_copy(update={"visibility": "public_without_answer"})
                            for c in p.checks
                        ]
                    }
                )
                for p in rubric.problems
            ]
        }
    )
    _, memo = precompute(withheld, load_reference(rubric, homework.reference_root), 0, set())  # type: ignore[arg-type]
    assert memo == {}


def test_a_stored_result_object_never_reads_absent_where_the_reference_would_answer() -> None:
    @dataclasses.dataclass
    class Result:
        curve: np.ndarray
        label: str

        @property
        def peak(self) -> float:
            return float(self.curve.max())

    stored = decode_fact(json.loads(json.dumps(encode_fact(Result(np.arange(3.0), "mse")))))
    assert stored.label == "mse" and stored.curve.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(NotPrecomputed):
        getattr(stored, "peak", None)  # a property is not stored: undecided, not None
