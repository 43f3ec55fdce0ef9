"""The grader's exceptions.

    GraderError                    anything the user can fix; carries a message meant for them
    ├── UsageError                 bad command line (unknown homework, missing folder, ...)
    ├── RubricError                an instructor's rubric is invalid (file, line, field)
    └── SubmissionError            a student's files cannot be read as they are
        └── AnswerSheetError       answers.toml is not valid TOML (file, line)

Anything else escaping the engine is a grader bug and is reported as such.
"""

from __future__ import annotations

from pathlib import Path


class GraderError(Exception):
    """Base class: an error whose message tells the user what to fix."""


class UsageError(GraderError):
    """The command line asks for something that cannot be done."""


class RubricError(GraderError):
    """A rubric file is invalid; names the file, the line and the field."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        joined = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid rubric {path}:\n{joined}")


class SubmissionError(GraderError):
    """A submission's files cannot be used as they are."""


class AnswerSheetError(SubmissionError):
    """The answer sheet is broken; `path` and `line` point the student at it."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path.name}:{line}" if line else path.name
        super().__init__(f"{where}: {reason}")
