"""Answers that cannot be read are not "not answered" (issue 12, point 7; issue 14).

An item goes to a TA, pointing at the file (and the section when there is one), whenever the
submission holds a writeup or notebook that may contain the answer but none was read from it;
"not answered" is only for submissions where nothing could hold it (code and an answer sheet
without the key, or a README that says how to run the code).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, Status

SHEET = 'homework = "hw6"\n[p4a]\nparams_naive = 213504\nparams_stm = 78592\n'
TEX = (
    "\\documentclass{article}\n\\begin{document}\n\\section*{1}\nReLU commutes.\n\\end{document}\n"
)


def _mean(folder: Path) -> CheckResult:
    (sub,) = grade([folder], GradeOptions(select="p2")).submissions
    (check,) = [c for p in sub.problems if p.id == "p2" for c in p.checks if c.id == "mean"]
    return check


@pytest.mark.parametrize(
    ("files", "status", "says", "source"),
    [
        # a writeup answering other problems: problem 2 may be in it, unmarked
        (
            {"writeup.md": "## 1\nReLU commutes.\n\n## 4\n(a) 213,504\n"},
            Status.PENDING,
            "no section for problem 2 found in writeup.md",
            "writeup.md",
        ),
        (
            {"report.tex": TEX},
            Status.PENDING,
            "no section for problem 2 found in report.tex",
            "report.tex",
        ),
        # a section for the problem with no formula in it: the section is the place to look
        (
            {"notes.md": "## 2\nI ran out of time, see the derivation on paper.\n"},
            Status.PENDING,
            "no formula for E[...] found in section 2",
            "notes.md",
        ),
        # forms the grader does not read
        ({"report.pdf": "%PDF-1.4\n"}, Status.PENDING, "report.pdf (", "report.pdf"),
        ({"hw6.docx": "PK"}, Status.PENDING, "hw6.docx (Word documents", "hw6.docx"),
        ({"hw6.ipynb": "{not json"}, Status.PENDING, "hw6.ipynb (", "hw6.ipynb"),
        # nothing that could hold it
        ({"stm.py": "x = 1\n"}, Status.FAILED, "not answered", None),
        ({"README.md": "# Code\nRun `python stm.py`.\n"}, Status.FAILED, "not answered", None),
    ],
)
def test_an_answer_not_read_goes_to_a_ta_with_the_place_to_look(
    tmp_path: Path, files: dict[str, str], status: Status, says: str, source: str | None
) -> None:
    (tmp_path / "answers.toml").write_text(SHEET)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    check = _mean(tmp_path)
    assert check.status is status, check.message
    assert says in check.message
    assert check.score == 0.0
    if source is not None:
        assert check.source is not None and check.source.file == source
