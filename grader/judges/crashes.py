"""A student's crash as they should read it: the exception, the line in their own file, a hint.

Code assembled from a writeup or notebook runs from a generated file; `Locator` maps its lines
back to the student's own text, so a crash points at what the student wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from grader.ingest.documents import GeneratedSource
from grader.ingest.submission import Submission
from grader.judges.hints import hint_for
from grader.results import SourceRef
from grader.sandbox.observations import ExceptionInfo


@dataclass(frozen=True)
class Locator:
    """Turns file:line as the sandbox reports it into what the student wrote.

    Lines of a generated module map back to the writeup line or notebook cell they were copied
    from; a line the grader added (a default import) maps to the document alone.
    """

    generated: Mapping[str, GeneratedSource]

    def ref(self, file: str, line: int | None = None) -> SourceRef:
        gen = self.generated.get(file)
        if gen is None:
            return SourceRef(file=file, line=line)
        return gen.origin.ref(gen.origin_line(line))

    def text(self, file: str, line: int | None = None) -> str:
        gen = self.generated.get(file)
        if gen is None:
            return f"{file}:{line}" if line else file
        return gen.origin.describe(gen.origin_line(line))

    def name(self, file: str) -> str:
        """How to call a file in a message: 'ddescent.py (assembled from writeup.md ...)'."""
        gen = self.generated.get(file)
        if gen is None:
            return file
        return f"{gen.symbol if not gen.name else gen.path} (assembled from {gen.span()})"


@dataclass(frozen=True)
class Crash:
    """A student's exception as the report shows it: where in their own text, and a hint."""

    where: str  # " at writeup.md:112", or "" when no frame is the student's
    first_line: str
    details: list[str]
    hint: str | None
    source: SourceRef


def describe_crash(error: ExceptionInfo, where: Locator, fallback: SourceRef) -> Crash:
    frame = error.student_frame()
    first = error.message.strip().splitlines()[0][:300] if error.message.strip() else ""
    if frame is None:
        return Crash("", first, [], hint_for(error), fallback)
    at = where.text(frame.file, frame.line)
    details = [f"{at}: {frame.code}"] if frame.code else []
    return Crash(f" at {at}", first, details, hint_for(error), where.ref(frame.file, frame.line))


def locator(sub: Submission) -> Locator:
    return Locator(sub.generated)
