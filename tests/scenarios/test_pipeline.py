"""Tests for grader.pipeline's gathering of submissions.

Grading itself: tests/scenarios/test_cli.py.
"""

from __future__ import annotations

from pathlib import Path

from grader.pipeline import ingest_all

ROOT = Path(__file__).resolve().parents[2]


def test_class_folder_name_gives_the_homework_when_nothing_else_does(tmp_path: Path) -> None:
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "hw6.yaml").write_text("not read here\n")
    (rubrics / "hw2.yaml").write_text("not read here\n")
    cls = tmp_path / "submissions"
    (cls / "hw2" / "amir").mkdir(parents=True)
    (cls / "hw2" / "amir" / "notes.md").write_text("My answers.\n\n## 1\n\nSee below.\n")
    (cls / "hw2" / "bea").mkdir()
    (cls / "hw2" / "bea" / "answers.toml").write_text('homework = "hw6"\n')
    (cls / "carl").mkdir()
    (cls / "carl" / "notes.md").write_text("Nothing that names a homework.\n")
    subs = {s.student: s for s in ingest_all([cls], rubrics)}
    assert subs["amir"].homework == "hw2"
    assert "homework hw2 taken from the class folder's name" in subs["amir"].notes
    assert subs["bea"].homework == "hw6"  # the answer sheet says so: it wins
    assert subs["carl"].homework is None  # `submissions` is no homework's name
