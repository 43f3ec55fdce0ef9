"""Answers read from a student's writeups and notebooks, when the answer sheet does not hold them.

Each answer kind's judge passes its reader (`read_number`, `read_choice`, `read_formula`,
`read_table`); `document_answer` applies it to the problem's section of each document, prefers a
confident reading (notebooks before writeups), and otherwise returns a pending answer that says
why and shows the excerpt, for a TA.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from grader.ingest.documents import Document
from grader.ingest.latex import (
    MEAN,
    VARIANCE,
    LatexError,
    find_final_formula,
    find_formulas,
    latex_to_python,
)
from grader.ingest.submission import Answer, Submission
from grader.ingest.writeup import (
    SCIENTIFIC,
    Section,
    extract_choices,
    extract_result_numbers,
    split_lines,
)
from grader.judges.tabular import StudentTable, find_table
from grader.results import SourceRef
from grader.rubric import (
    AnswerCheck,
    ChoiceCheck,
    FormulaCheck,
    NumberCheck,
    Problem,
    TableCheck,
    answer_key,
)

CHOICE_CONFIDENCE = 0.75


# --- answers ------------------------------------------------------------------------------------
#: How a judge reads its kind of answer from one document's section for the problem:
#: (document, answer key, problem, check, section, section text) -> an Answer, confident or
#: pending. Each answer kind's judge passes its own (`read_number`, `read_choice`, ...).
DocumentReader = Callable[[Document, str, Problem, Any, Section, str], Answer]


def document_answer(
    sub: Submission, problem: Problem, check: AnswerCheck, read: DocumentReader
) -> Answer | None:
    """The answer to `check` read from the submission's notebooks and writeups, or None.

    A confident Answer (notebooks before writeups), else a pending one saying why and where to
    look (issue 12, point 7: an answer that could not be read is not "not answered"): the
    document's section for the problem; else a document that may hold it without a section we
    recognise (a notebook, a writeup other than a README); else a writeup the grader does not
    read (a PDF, a Word file, a broken notebook). None only when nothing in the submission could
    hold the answer: the caller says "not answered". Results are kept in `sub.document_answers`.
    """
    if not sub.documents and not sub.unread_documents:
        return None
    key = answer_key(problem, check)
    if key in sub.document_answers:
        return sub.document_answers[key]
    found = [_answer_from(doc, problem, check, key, read) for doc in sub.documents]
    confident = [a for a in found if a.pending_reason is None]
    in_section = [a for a in found if a.confidence > 0]
    holders = [a for doc, a in zip(sub.documents, found, strict=True) if may_hold_answers(doc)]
    if confident or in_section or holders:
        answer = (confident or in_section or holders)[0]
    elif sub.unread_documents:
        answer = _unread(sub, key, problem)
    elif found and not sub.answers:
        answer = found[0]  # no answer sheet: the only document there is, for a TA
    else:
        return None  # an answer sheet without this key, and only a README beside it
    sub.document_answers[key] = answer
    return answer


def may_hold_answers(doc: Document) -> bool:
    """Whether a document may hold answers the grader did not find: any notebook or writeup,
    except a README without a single problem section (it says how to run the code)."""
    stem = doc.file.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    return doc.notebook is not None or bool(doc.sections) or stem != "readme"


def _unread(sub: Submission, key: str, problem: Problem) -> Answer:
    """Pending: the answer may be in a writeup the grader could not read; name it for a TA."""
    number, part = problem_label(problem.id)
    files = [f"{file} ({why})" for file, why in sub.unread_documents[:5]]
    first = sub.unread_documents[0][0]
    return Answer(
        key,
        None,
        SourceRef(file=first),
        confidence=0.0,
        pending_reason=(
            f"no answer to problem {number}{part} was read, and {'; '.join(files)} may hold it"
        ),
        excerpt=tuple(f"look in {file}" for file, _ in sub.unread_documents[:5]),
        origin=first,
        where=first,
    )


_PROBLEM_ID = re.compile(r"[a-z]*?(\d{1,3})[._\-]?([a-z]{0,4})", re.I)


def problem_label(problem_id: str) -> tuple[str, str]:
    """('4', 'a') for 'p4a', ('2', '') for 'p2': how writeups number the problem and sub-part."""
    match = _PROBLEM_ID.fullmatch(problem_id.strip())
    if match is None:
        return problem_id.lower(), ""
    return str(int(match.group(1))), match.group(2).lower()


def _section(doc: Document, problem_id: str) -> tuple[Section, str] | None:
    """The section answering `problem_id`, and its text with other sub-parts blanked out.

    'p4a' is section '4a' (sub-part a of 4); without one, problem 4 minus its other sub-parts
    (their numbers must not answer 4a). Line numbers are kept, so extractors report writeup lines.
    """
    number, sub = problem_label(problem_id)
    lines = split_lines(doc.text)

    def text_of(section: Section, blank: list[Section]) -> str:
        kept = []
        for n in range(section.start_line, section.end_line + 1):
            hidden = any(b.start_line <= n <= b.end_line for b in blank)
            kept.append("" if hidden or n > len(lines) else lines[n - 1])
        return "\n".join(kept)

    exact = [s for s in doc.sections if s.problem.lower() == number + sub]
    if exact:
        return exact[0], text_of(exact[0], [])
    if not sub:
        return None
    parents = [s for s in doc.sections if s.problem.lower() == number]
    if not parents:
        return None
    parent = parents[0]
    siblings = [
        s
        for s in doc.sections
        if s.problem.lower().startswith(number)
        and s.problem.lower() != number
        and s.problem[len(number) :].isalpha()
        and parent.start_line <= s.start_line <= parent.end_line
    ]
    return parent, text_of(parent, siblings)


def problem_section(doc: Document, problem_id: str) -> tuple[Section, str] | None:
    """The public face of `_section`: the section answering a problem, other sub-parts blanked."""
    return _section(doc, problem_id)


MANUAL_EXCERPT_LINES = 60


def section_excerpt(sub: Submission, problem: Problem) -> tuple[list[str], SourceRef] | None:
    """What the student wrote for `problem` (first document with a section for it), for a TA
    grading a manual check: a header and up to `MANUAL_EXCERPT_LINES` numbered lines."""
    for doc in sub.documents:
        found = _section(doc, problem.id)
        if found is None:
            continue
        section, _ = found
        lines = doc.excerpt(section.start_line, section.end_line, limit=MANUAL_EXCERPT_LINES)
        return [f"{doc.file}, {section_span(doc, section)}:", *lines], doc.ref(section.start_line)
    return None


def section_span(doc: Document, section: Section) -> str:
    if doc.notebook is not None:
        first = doc.notebook.locate(section.start_line)
        return f"cell {first[0]}" if first else "section"
    return doc.lines_of(section.start_line, section.end_line)


def _pending(
    doc: Document,
    key: str,
    reason: str,
    section: Section | None,
    focus: int | None = None,
    confidence: float = 0.0,
) -> Answer:
    if section is not None:
        excerpt = doc.excerpt(section.start_line, section.end_line, focus, limit=5)
        header = f"{doc.file}, {section_span(doc, section)}:"
    else:
        excerpt = doc.excerpt(1, len(split_lines(doc.text)), limit=5)
        header = f"{doc.file} (beginning):"
    line = focus or (section.start_line if section else None)
    if doc.ocr_pages:  # the excerpt is what OCR read from a scan, not what the student typed
        header = header[:-1] + " (text read by OCR from the scanned page; its image is attached):"
    return Answer(
        key,
        None,
        doc.ref(line),
        confidence=confidence,
        pending_reason=reason,
        excerpt=(header, *excerpt),
        origin=doc.file,
        where=doc.describe(line),
    )


def _answer_from(
    doc: Document, problem: Problem, check: AnswerCheck, key: str, read: DocumentReader
) -> Answer:
    found = _section(doc, problem.id)
    number, sub = problem_label(problem.id)
    if found is None:
        return _pending(
            doc,
            key,
            f"no section for problem {number}{sub} found in {doc.file}",
            None,
        )
    section, text = found
    return read(doc, key, problem, check, section, text)


def read_table(
    doc: Document, key: str, problem: Problem, check: TableCheck, section: Section, text: str
) -> Answer:
    """The section's layer table (grader.judges.tabular.find_table), read from the document's own
    lines:
    `text` has tabs expanded, and a tab-separated table needs them to keep its empty cells."""
    raw = doc.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = split_lines(text)
    lines = [
        raw[n - 1] if n <= len(raw) and i < len(kept) and kept[i].strip() else ""
        for i, n in enumerate(range(section.start_line, section.end_line + 1))
    ]
    found = find_table("\n".join(lines), section.start_line, check)
    if isinstance(found, str):
        confidence = 0.1 if found.startswith("no table") else 0.5
        reason = f"{found} in section {section.problem}"
        return _pending(doc, key, reason, section, None, confidence)
    first = next((line for line in found.lines if isinstance(line, int)), section.start_line)
    return _confident(doc, key, _cited(doc, found), first)


def _cited(doc: Document, table: StudentTable) -> StudentTable:
    """A table from a .tex or a PDF with its rows cited where the student finds them
    (`report.tex:42`, `report.pdf, page 2, line 7`): the laid-out text's lines are the grader's."""
    if doc.origins is None:
        return table
    labels = tuple(doc.describe(n) if isinstance(n, int) else n for n in table.lines)
    skipped = tuple(
        re.sub(r"\(line (\d+)\)", lambda m: f"({doc.describe(int(m.group(1)))})", s)
        for s in table.skipped
    )
    return StudentTable(table.rows, labels, skipped)


def _confident(doc: Document, key: str, value: Any, line: int, confidence: float = 1.0) -> Answer:
    return Answer(
        key,
        value,
        doc.ref(line),
        confidence=confidence,
        origin=doc.file,
        where=doc.describe(line),
    )


def _show(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def read_number(
    doc: Document, key: str, problem: Problem, check: NumberCheck, section: Section, text: str
) -> Answer:
    # Bold results ("**213,504** parameters") read as plain ones; only for numbers, since `**`
    # is a power in the formulas and inline code of the same section.
    results = extract_result_numbers(re.sub(r"\*\*|__", "", text), section.start_line)
    pick = check.writeup.pick if check.writeup else "only"
    where = f"section {section.problem} of {doc.file}"
    if not results:
        return _pending(doc, key, f"no result ('... = N') stated in {where}", section, None, 0.1)
    if pick == "only":
        distinct = list(dict.fromkeys(v for v, _ in results))
        if len(distinct) > 1:
            shown = ", ".join(_show(v) for v in distinct[:6])
            return _pending(
                doc,
                key,
                f"{where} states several results ({shown}); which one answers "
                f"{check.title or key} is for a TA to say",
                section,
                results[-1][1],
                0.5,
            )
        value, line = results[-1]
    else:
        asked = sum(
            1
            for c in problem.checks
            if isinstance(c, NumberCheck) and c.writeup and c.writeup.pick in ("first", "last")
        )
        if len(results) < asked:
            return _pending(
                doc,
                key,
                f"{where} states {len(results)} result(s) for the {asked} numbers asked",
                section,
                results[0][1],
                0.5,
            )
        distinct = list(dict.fromkeys(v for v, _ in results))
        if pick != "first" and len(distinct) < asked:
            # '1,516 parameters ... by hand: ... = 1516': one number stated twice. The first
            # result answers the first question; read last, the same number would answer
            # another one too, while its own answer may be stated in words the reader does
            # not take as a result ('900 fewer'): a TA reads the section
            return _pending(
                doc,
                key,
                f"{where} states {len(distinct)} distinct result(s) "
                f"({', '.join(_show(v) for v in distinct[:6])}) for the {asked} numbers asked: "
                f"which one answers {check.title or key} is for a TA to say",
                section,
                results[-1][1],
                0.5,
            )
        value, line = results[0] if pick == "first" else results[-1]
    others = tuple(dict.fromkeys(v for v, _ in results if v != value))
    separated = _TYPESET_SEPARATOR.search(_line_text(doc, line)) if doc.typeset else None
    if separated is not None:
        # typeset math puts a space after every comma: '213, 504' is 213,504 or a list of two
        return _pending(
            doc,
            key,
            f"{doc.describe(line)} has a number typeset with a comma and a space "
            f"('{separated.group(0)}'): a thousands separator or two numbers, for a TA to read",
            section,
            line,
            0.5,
        )
    written = _as_written(text, line - section.start_line, value)
    if written is not None:  # '2.1 \\times 10^5': the judge knows it as a rounded count
        return replace(_confident(doc, key, written, line), others=others)
    value = int(value) if float(value).is_integer() else value
    return replace(_confident(doc, key, value, line), others=others)


_TYPESET_SEPARATOR = re.compile(r"\d+,\s+\d{3}(?!\d)")


def _line_text(doc: Document, line: int) -> str:
    lines = split_lines(doc.text)
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def _as_written(text: str, index: int, value: float) -> str | None:
    """'2.1e5' for a result written '2.1 \\times 10^5' on line `index` of `text`: scientific
    notation keeps the digits the student wrote, which say whether the count was rounded."""
    lines = split_lines(text)
    if not 0 <= index < len(lines):
        return None
    for match in SCIENTIFIC.finditer(lines[index]):
        mantissa, exponent = match.group(1), match.group(2).replace("−", "-")
        if abs(int(exponent)) <= 300 and float(mantissa) * 10.0 ** int(exponent) == value:
            return f"{mantissa}e{exponent}"
    for match in _DOTTED_GROUPS.finditer(lines[index]):
        if float(match.group(0)) == value:  # '4.353': the judge asks whether '.' groups digits
            return match.group(0)
    return None


#: '4.353', '78.592': a number whose '.' may group thousands (as many countries write counts).
_DOTTED_GROUPS = re.compile(r"(?<![\d.,])\d{1,3}\.\d{3}(?![\d.,]\d|\d)")


def _spellings(option: str, aliases: list[str]) -> list[str]:
    return list(dict.fromkeys([option, option.replace("_", " "), *aliases]))


def read_choice(
    doc: Document, key: str, problem: Problem, check: ChoiceCheck, section: Section, text: str
) -> Answer:
    spellings = {
        option: _spellings(option, check.aliases.get(option, [])) for option in check.options
    }
    chosen, confidence = extract_choices(text, spellings)
    focus = _last_mention(text, section.start_line, spellings)
    if confidence == 0.0:
        return _pending(
            doc,
            key,
            f"no verdict on {', '.join(check.options)} found in section {section.problem}",
            section,
            None,
            0.1,
        )
    if confidence < CHOICE_CONFIDENCE:
        read = ", ".join(sorted(chosen)) or "none"
        return _pending(
            doc,
            key,
            f"the verdict in section {section.problem} is not clear enough to grade "
            f"automatically (read as: {read}; confidence {confidence:.2f})",
            section,
            focus,
            confidence,
        )
    return _confident(doc, key, sorted(chosen), focus or section.start_line, confidence)


def _last_mention(text: str, first_line: int, spellings: dict[str, list[str]]) -> int | None:
    """The last line naming an option (multi-letter spellings only): where the verdict is."""
    words = [w for names in spellings.values() for w in names if len(w.strip("() ")) > 1]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.I) if words else None
    hits = [
        first_line + i
        for i, line in enumerate(split_lines(text))
        if pattern is not None and pattern.search(line)
    ]
    return hits[-1] if hits else None


def formula_quantity(check: FormulaCheck) -> str | None:
    """Which quantity a formula check asks for, from its id or title (E[..], Var(..))."""
    words = f"{check.id} {check.title}".lower()
    if re.search(r"var|sigma\^2|σ", words):
        return VARIANCE
    if re.search(r"mean|expect|\be\[", words):
        return MEAN
    return None


def read_formula(
    doc: Document, key: str, problem: Problem, check: FormulaCheck, section: Section, text: str
) -> Answer:
    quantity = check.lhs or formula_quantity(check)
    found: tuple[str, int] | None
    if quantity is None:  # no left side to go by: only a boxed formula is the answer
        boxed = [f for f in find_formulas(text, section.start_line) if f.boxed and f.rhs.strip()]
        different = {re.sub(r"\s+", "", f.rhs) for f in boxed}
        if len(different) > 1:
            # Cases (`= \boxed{0}` for z < 0, `= \boxed{z}` for z >= 0) or a result and a step
            # towards it: which box is the answer is the student's meaning, for a TA to read.
            lines = ", ".join(str(f.line) for f in boxed[:6])
            reason = (
                f"{len(different)} different boxed formulas in section {section.problem} "
                f"(lines {lines}): which one answers {check.title or key} is for a TA to read"
            )
            return _pending(doc, key, reason, section, boxed[-1].line, 0.3)
        found = (boxed[-1].rhs, boxed[-1].line) if boxed else None
    else:
        found = find_final_formula(text, quantity, section.start_line)
    what = {VARIANCE: "Var(...)", MEAN: "E[...]"}.get(quantity or "", check.title or key)
    if found is None:
        reason = f"no formula for {what} found in section {section.problem}"
        return _pending(doc, key, reason, section, None, 0.1)
    tex, line = found
    doc_lines = split_lines(doc.text)
    written = doc_lines[line - 1] if line <= len(doc_lines) else ""
    if doc.typeset and not re.search(r"[$\\]", written):
        # a formula typeset in a PDF: its fractions and limits are laid out in two dimensions
        # and text cannot say which glyph belongs where; never guessed, for a TA to read
        return _pending(
            doc,
            key,
            f"the formula for {what} at {doc.describe(line)} is typeset in a PDF and cannot be "
            "read unambiguously",
            section,
            line,
            0.5,
        )
    kinds: dict[str, str] = {name: var.kind for name, var in check.variables.items()}
    try:
        expression = latex_to_python(_sigmoid(_renamed(tex, check.rename), check), kinds)
    except LatexError as exc:
        return _pending(
            doc,
            key,
            f"the formula for {what} at {doc.describe(line)} could not be read with "
            f"confidence ({exc})",
            section,
            line,
            0.5,
        )
    return _confident(doc, key, expression, line)


_SIGMA_CALL = re.compile(r"\\sigma(?![A-Za-z])\s*(?=\(|\\left\s*\(|\\big[lg]?\s*\()")


def _sigmoid(tex: str, check: FormulaCheck) -> str:
    """`\\sigma(z)` is the sigmoid where the rubric names sigmoid among the functions an answer
    may call and no variable is called sigma ('tanh in terms of sigmoid': 2\\sigma(2z) - 1).
    Elsewhere a sigma may be a standard deviation: not guessed, for a TA."""
    if "sigmoid" not in (check.functions or ()) or "sigma" in check.variables:
        return tex
    return _SIGMA_CALL.sub(r"\\operatorname{sigmoid}", tex)


def _renamed(tex: str, rename: Mapping[str, str]) -> str:
    """The rubric's spellings of a variable replaced by its name ('d_{l-1}' -> 'd'), spaces
    inside the spelling ignored, so the LaTeX reader sees the answer's variables."""
    for spelling, name in rename.items():
        pattern = r"\s*".join(re.escape(c) for c in spelling if not c.isspace())
        tex = re.sub(pattern, lambda _m, n=name: f" {n} ", tex)  # type: ignore[misc]
    return tex
