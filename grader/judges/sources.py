"""Grade writeups and notebooks as they come: build what the rubric asks for from them.

Why on demand: what a writeup must yield (the class `STMConvLayer`, a script defining
`num_params`, the answer to `p4a.params_stm`) is only known from the rubric, which ingest does
not see. So the observer asks `ensure_class` / `ensure_script` while planning the sandbox run,
and judges ask `document_answer` when a key is not on the answer sheet. Everything built is
recorded on the `Submission` (generated sources, their classes, document answers, reasons for
what could not be built), so the report can always say where a verdict came from.

Two rules run through this module:
- Precedence: the answer sheet and `.py` files first; then notebooks; then writeups.
- Doubt is not failure: what cannot be read with confidence (an unclear verdict in prose, a
  formula the LaTeX reader refuses, a class pasted as plain text) becomes a pending item for a
  TA, with the excerpt it came from. The grader never searches a writeup for the expected
  value: which stated result answers a check follows from the text's structure and the rubric.
"""

from __future__ import annotations

import hashlib
import re

from grader.ingest.documents import WRITEUP, Document, GeneratedSource
from grader.ingest.submission import CodeUnit, ParseProblem, Submission, python_units
from grader.ingest.writeup import (
    AssembledSource,
    assemble_class,
    assemble_script,
    split_lines,
)
from grader.judges.readers import problem_section, section_span
from grader.results import SourceRef
from grader.rubric import Problem


# --- code: classes and scripts ------------------------------------------------------------------
def ensure_class(sub: Submission, symbol: str) -> GeneratedSource | None:
    """A module defining `symbol`, assembled from the submission's notebooks or writeups.

    Called when no `.py` file defines the class. The first document (notebooks first) whose code
    defines `symbol` exactly wins, else the first with a near-miss name. The module is recorded
    in `sub.generated` and its classes join `sub.classes` with `origin` set, so `find_class`
    finds them like classes in files. When nothing can be built, `sub.unassembled[symbol]` says
    why (for a pending item) and None is returned.
    """
    for gen in sub.generated.values():
        if gen.symbol == symbol and gen.name:
            return gen
    if symbol in sub.unassembled:
        return None
    if not sub.documents:
        unread = _unread_code(sub, symbol)
        if unread is not None:  # a scanned writeup and no .py file: the code may be there
            sub.unassembled[symbol] = unread
        return None
    built: list[tuple[Document, AssembledSource]] = []
    for doc in sub.documents:
        assembled = assemble_class(list(doc.blocks), symbol)
        if assembled is not None:
            built.append((doc, assembled))
    if not built:
        sub.unassembled[symbol] = _why_no_class(sub, symbol)
        return None
    doc, assembled = next(((d, a) for d, a in built if a.name == symbol), built[0])
    if assembled.syntax_error and doc.kind == WRITEUP:
        # A PDF conversion can break code (lost indentation, merged lines): a TA decides whose
        # mistake it is, the grader does not fail the student for it.
        sub.unassembled[symbol] = (
            f"the {assembled.name or symbol} code in {doc.file} does not parse "
            f"({_cited(doc, assembled.syntax_error)}); the conversion of your writeup may have "
            "damaged it"
        )
        return None
    gen = _register(sub, doc, assembled, f"_from_{doc.kind}/{symbol}.py", symbol)
    found = python_units(gen.source, gen.path)
    units = found if isinstance(found, list) else [_unparsed_unit(gen, found)]
    sub.classes.extend(CodeUnit(**{**u.__dict__, "origin": doc.file}) for u in units)
    sub.notes.append(
        f"{gen.name} taken from {gen.span()}"
        + (f" ({_cited(doc, '; '.join(gen.notes))})" if gen.notes else "")
    )
    return gen


def _cited(doc: Document, said: str) -> str:
    """The assembler's 'at writeup line N', 'line N' and 'lines A-B' as the student finds them
    (`report.tex:42`, `report.pdf, page 2, line 7`) where the writeup was laid out from a .tex
    or a PDF: there the numbers are lines of the grader's own text."""
    if doc.origins is None:
        return said
    said = re.sub(r"\blines (\d+)-(\d+)", lambda m: doc.lines_of(*map(int, m.groups())), said)
    return re.sub(
        r"\b(?:at writeup )?line (\d+)",
        lambda m: ("at " if m.group(0).startswith("at") else "") + doc.describe(int(m.group(1))),
        said,
    )


def ensure_script(
    sub: Submission, file_name: str, must_define: list[str]
) -> GeneratedSource | None:
    """A script assembled from the documents' code that defines every name in `must_define`.

    Written at the submission's top level under its own name (`ddescent.py`: it runs from the
    folder the student's data files are in); None, with `sub.unassembled[file_name]` set, when
    no document's code defines those names.
    """
    for gen in sub.generated.values():
        if gen.symbol == file_name and not gen.name:
            return gen
    if file_name in sub.unassembled or not sub.documents:
        return None
    for doc in sub.documents:
        assembled = assemble_script(list(doc.blocks), must_define)
        if assembled is None:
            continue
        if assembled.syntax_error and doc.kind == WRITEUP:
            sub.unassembled[file_name] = (
                f"the {file_name} code in {doc.file} does not parse "
                f"({_cited(doc, assembled.syntax_error)}); the conversion of your writeup may "
                "have damaged it"
            )
            return None
        path = file_name if file_name not in sub.files else f"_from_{doc.kind}/{file_name}"
        gen = _register(sub, doc, assembled, path, file_name)
        sub.notes.append(
            f"{file_name} taken from {gen.span()}"
            + (f" ({_cited(doc, '; '.join(gen.notes))})" if gen.notes else "")
        )
        return gen
    names = ", ".join(must_define)
    files = ", ".join(d.file for d in sub.documents)
    sub.unassembled[file_name] = (
        f"no {file_name} in your files, and no code in {files} defines {names}"
    )
    return None


def _register(
    sub: Submission, doc: Document, assembled: AssembledSource, path: str, symbol: str
) -> GeneratedSource:
    base, suffix = path.rsplit(".", 1)
    count = 1
    while path in sub.files or path in sub.generated:
        count += 1
        path = f"{base}_{count}.{suffix}"
    gen = GeneratedSource(
        path=path,
        source=assembled.source,
        line_map=assembled.line_map,
        origin=doc,
        symbol=symbol,
        name=assembled.name,
        notes=assembled.notes,
        syntax_error=assembled.syntax_error,
    )
    sub.generated[path] = gen
    return gen


def _unparsed_unit(gen: GeneratedSource, problem: ParseProblem) -> CodeUnit:
    """A notebook class whose code does not parse: still sent to the sandbox, whose import
    reports the student's SyntaxError at its cell and line, as for a `.py` file."""
    match = re.search(rf"^class\s+{re.escape(gen.name)}\b", gen.source, flags=re.M)
    line = gen.source[: match.start()].count("\n") + 1 if match else problem.line or 1
    return CodeUnit(gen.name, gen.path, line, (), (), {}, is_module=True)


def _why_no_class(sub: Submission, symbol: str) -> str:
    prose = [
        (doc, block)
        for doc in sub.documents
        for block in doc.blocks
        if block.kind == "prose" and any(re.search(r"\bself\.", c) for _, c in block.lines)
    ]
    if prose:
        doc = prose[0][0]
        first = min(b.first_line for d, b in prose if d is doc)
        last = max(b.last_line for d, b in prose if d is doc)
        return (
            f"no class {symbol} in your .py files; the code pasted as plain text in "
            f"{doc.describe(first)}-{last} lost its indentation, so the class cannot be "
            "rebuilt from it unambiguously"
        )
    files = ", ".join(d.file for d in sub.documents)
    return f"no class {symbol} in your .py files, and none could be found in {files}"


def code_hash(gen: GeneratedSource) -> str:
    """Goes into the probe plan, so cached observations follow the generated source."""
    return hashlib.sha256(gen.source.encode()).hexdigest()[:16]


def _unread_code(sub: Submission, symbol: str) -> str | None:
    """Why `symbol` may be in a writeup the grader could not read (a scanned or handwritten PDF,
    a Word file), when the submission has no `.py` file at all; None otherwise."""
    if not sub.unread_documents or any(f.endswith(".py") for f in sub.files):
        return None
    unread = ", ".join(file for file, _ in sub.unread_documents[:3])
    return f"no {symbol} in a .py file, and the code may be in {unread}, which was not read"


def missing(
    sub: Submission, symbol: str, problem: Problem
) -> tuple[str, list[str], SourceRef] | None:
    """Why `symbol` (a class or script) could not be built from the documents, an excerpt of
    the problem's section, and where: a pending TA item. None when the verdict should stay
    the plain 'not found' failure: no documents, or `.py` files beside documents holding no code
    at all (a README next to the code).

    A submission without `.py` files whose writeup could not be read (a scanned or handwritten
    PDF, a Word file) may hold the code there: a TA looks, never a zero."""
    why = sub.unassembled.get(symbol)
    if not sub.documents and (why or _unread_code(sub, symbol)):
        unread = _unread_code(sub, symbol)
        if unread is None:
            return None
        return (
            unread,
            [f"look in {file} ({reason})" for file, reason in sub.unread_documents[:3]],
            SourceRef(file=sub.unread_documents[0][0]),
        )
    if why is None or not sub.documents:
        return None
    has_code = any(doc.blocks for doc in sub.documents)
    if not has_code and any(f.endswith(".py") for f in sub.files):
        return None
    for doc in sub.documents:
        found = problem_section(doc, problem.id)
        if found is not None:
            section, _ = found
            details = [
                f"{doc.file}, {section_span(doc, section)}:",
                *doc.excerpt(section.start_line, section.end_line, limit=5),
            ]
            return why, details, doc.ref(section.start_line)
    doc = sub.documents[0]
    details = [f"{doc.file} (beginning):", *doc.excerpt(1, len(split_lines(doc.text)), limit=5)]
    return why, details, doc.ref(None)
