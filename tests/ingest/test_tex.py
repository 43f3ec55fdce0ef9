"""LaTeX writeups (grader.ingest.tex): laid out as the text the Markdown path reads, every line
mapped back to the .tex file and line it came from, nothing read outside the submission.

The graded comparison at the end uses tests/data/tex/seed-000-tex/report.tex: the LaTeX source a
student would have typed for the seed-000 writeup (tests/data/writeups-graded/seed-000, the text
converted from that student's PDF). A careful TA gives both the same verdicts, and so must we.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.ingest.documents import read_document
from grader.ingest.latex import find_final_formula, latex_to_python
from grader.ingest.submission import ingest
from grader.ingest.tex import MAX_INCLUDE_DEPTH, read_tex
from grader.ingest.writeup import assemble_class
from grader.results import Status, SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
TEX = ROOT / "tests" / "data" / "tex"
SEED_MD = ROOT / "tests" / "data" / "writeups-graded" / "seed-000"


def _doc(text: str, rel: str = "report.tex", others: dict[str, bytes] | None = None):
    others = others or {}
    return read_document(textwrap.dedent(text).encode(), rel, others.get)


def _line_of(text: str, needle: str) -> int:
    hits = [i for i, line in enumerate(textwrap.dedent(text).split("\n"), 1) if needle in line]
    assert hits, needle
    return hits[0]


PREAMBLE = r"""
\documentclass{article}
\usepackage{amsmath,listings,minted}
\newcommand{\E}{\mathbb{E}}
\DeclareMathOperator{\Var}{Var}
\lstnewenvironment{python}{\lstset{language=Python}}{}
\newminted{python}{fontsize=\small}
\newenvironment{code}{\verbatim}{\endverbatim}
\title{Homework 6}
\begin{document}
\maketitle
"""


# --- sections -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # starred sections and subsections numbered by hand
        (
            r"\section*{1} x \section*{4} \subsection*{a} y \subsection*{b} z",
            ["1", "4", "4a", "4b"],
        ),
        # keyword titles, numbered or not
        (
            "\\section{Problem 1}\nx\n\\section{Problem 4}\n\\subsection*{(a)}\ny\n"
            "\\subsection*{(b) Implement}\nz",
            ["1", "4", "4a", "4b"],
        ),
        # unstarred plain titles get LaTeX's numbers, as the PDF prints them
        (
            "\\section{Dropout}\nx\n\\section{Initialisation}\ny\n\\section{Resnets}\nz\n"
            "\\section{Convolutions}\n\\subsection*{a}\nw",
            ["1", "2", "3", "4", "4a"],
        ),
        # enumerate items inside a problem are its sub-parts
        (
            "\\section*{Problem 4}\n\\begin{enumerate}\n\\item first\n\\item second\n"
            "\\end{enumerate}",
            ["4", "4a", "4b"],
        ),
        # an explicit label wins; nested lists are not sub-parts
        (
            "\\section*{Problem 3}\n\\begin{enumerate}[label=(\\roman*)]\n\\item x\n"
            "\\begin{enumerate}\\item inner\\end{enumerate}\n\\item y\n\\end{enumerate}",
            ["3", "3i", "3ii"],
        ),
        # problems as a top-level enumerate, sub-parts nested
        (
            "\\begin{enumerate}\n\\item dropout\n\\item variance\n\\begin{enumerate}\n"
            "\\item mean\n\\item var\n\\end{enumerate}\n\\end{enumerate}",
            ["1", "2", "2a", "2b"],
        ),
    ],
)
def test_sections_as_the_pdf_shows_them(body: str, expected: list[str]) -> None:
    doc = _doc(PREAMBLE + body + "\n\\end{document}\n")
    assert [s.problem for s in doc.sections] == expected


def test_section_lines_map_to_the_tex_file() -> None:
    text = PREAMBLE + "\\section*{4}\n\\subsection*{b}\nThe answer.\n\\end{document}\n"
    doc = _doc(text)
    (four_b,) = [s for s in doc.sections if s.problem == "4b"]
    assert doc.describe(four_b.start_line) == f"report.tex:{_line_of(text, 'subsection*{b}')}"
    assert doc.ref(four_b.start_line).line == _line_of(text, "subsection*{b}")


# --- math ---------------------------------------------------------------------------------------
def test_math_is_kept_for_the_formula_reader_with_macros_expanded() -> None:
    text = PREAMBLE + textwrap.dedent(
        r"""
        \section*{2}
        The mean is $\E[y_L] = 0$ and, % not this: $\Var[y_L] = 7$
        \begin{align*}
          \Var[y_L] &= \frac{1}{3^L} \\
                    &= 3^{-L}
        \end{align*}
        \end{document}
        """
    )
    doc = _doc(text)
    found = find_final_formula(doc.text, "variance", 1)
    assert found is not None
    tex, line = found
    assert latex_to_python(tex, {"L": "scalar"}) == "(3)**((-L))"
    assert (
        doc.describe(line) == f"report.tex:{_line_of(text, 'Var[y_L] &=')}"
    )  # the formula's first row
    assert "= 7" not in doc.text  # comments are gone


# --- code ---------------------------------------------------------------------------------------
CLASS = """class Net(nn.Module):
    def forward(self, x):  # 100% right
        return x
"""


@pytest.mark.parametrize(
    ("begin", "end"),
    [
        (r"\begin{lstlisting}[language=Python, caption={A}]", r"\end{lstlisting}"),
        (r"\begin{minted}[linenos]{python}", r"\end{minted}"),
        (r"\begin{verbatim}", r"\end{verbatim}"),
        (r"\begin{python}", r"\end{python}"),  # \lstnewenvironment in the preamble
        (r"\begin{pythoncode}", r"\end{pythoncode}"),  # \newminted{python}
        (r"\begin{code}", r"\end{code}"),  # \newenvironment on verbatim
    ],
)
def test_code_environments_are_code_blocks_at_their_tex_lines(begin: str, end: str) -> None:
    text = PREAMBLE + f"\\section*{{4}}\n{begin}\n{CLASS}{end}\n\\end{{document}}\n"
    doc = _doc(text)
    (block,) = doc.blocks
    assert block.text == CLASS.rstrip("\n")  # comments and % kept verbatim in code
    assert doc.describe(block.first_line) == f"report.tex:{_line_of(text, 'class Net')}"
    built = assemble_class(list(doc.blocks), "Net")
    assert built is not None and built.syntax_error is None


def test_lstinputlisting_reads_a_file_of_the_submission() -> None:
    text = PREAMBLE + "\\section*{4}\n\\lstinputlisting[language=Python]{code/net.py}\n"
    doc = _doc(text + "\\end{document}\n", others={"code/net.py": CLASS.encode()})
    (block,) = doc.blocks
    assert block.text == CLASS.rstrip("\n")
    assert doc.describe(block.first_line + 1) == "code/net.py:2"


# --- \input -------------------------------------------------------------------------------------
def test_input_lays_out_the_included_file_in_place_with_its_own_lines() -> None:
    main = PREAMBLE + "\\input{parts/p1}\n\\include{parts/p4.tex}\nEnd.\n\\end{document}\n"
    p4 = "\\section*{4}\n\\subsection*{a}\nThe layer has $213{,}504$ parameters.\n"
    doc = _doc(
        main, others={"parts/p1.tex": b"\\section*{1}\nReLU.\n", "parts/p4.tex": p4.encode()}
    )
    assert [s.problem for s in doc.sections] == ["1", "4", "4a"]
    (four_a,) = [s for s in doc.sections if s.problem == "4a"]
    assert doc.describe(four_a.start_line + 1) == "parts/p4.tex:3"
    assert "$213,504$" in doc.text
    assert doc.text.rstrip().endswith("End.")
    assert doc.notes == ()


def test_ingest_reads_the_main_file_once_with_its_parts(tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "main.tex").write_text(PREAMBLE + "\\input{parts/p1}\n\\end{document}\n")
    (tmp_path / "parts" / "p1.tex").write_text("\\section*{1}\nReLU.\n")
    sub = ingest(tmp_path)
    assert [d.file for d in sub.documents] == ["main.tex"]
    assert [s.problem for s in sub.documents[0].sections] == ["1"]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (r"\input{report}", "(a cycle)"),
        (r"\input{report.tex}", "(a cycle)"),
        (r"\input{../../etc/passwd}", "outside the submission"),
        (r"\input{/etc/passwd}", "outside the submission"),
        (r"\include{~/secrets}", "outside the submission"),
        (r"\input{missing}", "no such file"),
    ],
)
def test_inputs_that_cannot_be_read_end_in_a_note(line: str, says: str) -> None:
    asked: list[str] = []
    text = PREAMBLE + f"\\section*{{1}}\nbefore\n{line}\nafter\n\\end{{document}}\n"
    raw = textwrap.dedent(text).encode()

    def fetch(path: str) -> bytes | None:
        asked.append(path)
        return raw if path == "report.tex" else None

    out = read_tex(raw, "report.tex", fetch)
    (note,) = out.notes
    assert note[:2] == ("report.tex", _line_of(text, line)) and says in note[2]
    assert "before" in out.text and "after" in out.text
    assert all(not p.startswith(("/", "..")) and "/../" not in p for p in asked)


def test_a_cycle_through_two_files_is_read_once() -> None:
    files = {"a.tex": b"A\n\\input{b}\n", "b.tex": b"B\n\\input{a}\n"}
    out = read_tex(files["a.tex"], "a.tex", files.get)
    assert out.text.split("\n")[:2] == ["A", "B"]
    assert [n[:2] for n in out.notes] == [("b.tex", 2)]


def test_deep_includes_stop_at_the_bound() -> None:
    files = {f"f{k}.tex": f"level {k}\n\\input{{f{k + 1}}}\n".encode() for k in range(50)}
    out = read_tex(files["f0.tex"], "f0.tex", files.get)
    assert f"level {MAX_INCLUDE_DEPTH - 1}" in out.text
    assert f"level {MAX_INCLUDE_DEPTH + 1}" not in out.text
    assert any("too many" in n[2] for n in out.notes)


def test_a_symlink_out_of_the_folder_is_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.tex"
    outside.write_text("\\section*{9}\nSECRET\n")
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "leak.tex").symlink_to(outside)
    (folder / "main.tex").write_text(PREAMBLE + "\\input{leak}\n\\end{document}\n")
    sub = ingest(folder)
    assert "SECRET" not in sub.documents[0].text
    assert any("no such file" in note for note in sub.notes)


# --- tables and figures -------------------------------------------------------------------------
def test_tabular_rows_become_tab_separated_lines() -> None:
    text = PREAMBLE + textwrap.dedent(
        r"""
        \section*{4}
        \begin{tabular}{|l|r|}
        \hline
        \textbf{Layer} & Params \\ \hline
        conv1 & $33{,}024$ \\
        \multicolumn{2}{c}{total} \\
        \end{tabular}
        \end{document}
        """
    )
    doc = _doc(text)
    lines = doc.text.split("\n")
    rows = [n for n, line in enumerate(lines, 1) if "\t" in line]
    assert [lines[n - 1] for n in rows] == ["**Layer**\tParams", "conv1\t33,024", "total\t"]
    assert doc.describe(rows[1]) == f"report.tex:{_line_of(text, 'conv1')}"


def test_includegraphics_is_noted_with_the_file_when_present() -> None:
    text = PREAMBLE + "\\includegraphics[width=3in]{figs/loss}\n\\includegraphics{gone.png}\n"
    doc = _doc(text + "\\end{document}\n", others={"figs/loss.png": b"\x89PNG"})
    assert "[figure: figs/loss.png]" in doc.text
    assert "[figure: gone.png (not in the submission)]" in doc.text


# --- bounds, measured in a subprocess with limits -----------------------------------------------
_PROBE = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
resource.setrlimit(resource.RLIMIT_CPU, (30, 30))
from pathlib import Path
from grader.ingest.submission import ingest
sub = ingest(Path(sys.argv[1]))
print(len(sub.documents), len(sub.documents[0].text) if sub.documents else 0)
for note in sub.notes + [p.message for p in sub.parse_problems]:
    print(note)
"""


def _ingest_limited(folder: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


@pytest.mark.slow  # each case runs a bounded child process to its limit
@pytest.mark.parametrize(
    "kind", ["self", "passwd", "huge-lines", "huge-line", "braces", "fan-out", "too-large"]
)
def test_pathological_tex_ends_in_bounded_time_and_memory(tmp_path: Path, kind: str) -> None:
    main = tmp_path / "main.tex"
    head = "\\documentclass{article}\\begin{document}\n"
    if kind == "self":
        main.write_text(head + "\\input{main}\n" * 1000)
    elif kind == "passwd":
        main.write_text(head + "\\input{../../etc/passwd}\n\\input{/etc/passwd}\n")
    elif kind == "huge-lines":  # just under the writeup cap, all markup
        main.write_text(head + "\\section*{1} $x$ \\textbf{y} & \\\\\n" * 60_000)
    elif kind == "huge-line":
        main.write_text(head + "{" * 500_000 + "$" * 500_000 + "\\begin{tabular}{" * 50_000)
    elif kind == "braces":
        main.write_text(head + "\\section*{" + "{" * 200_000 + "\n\\textbf{" * 50_000)
    elif kind == "fan-out":  # each file includes the next one ten times: 10**8 reads unbounded
        for k in range(8):
            (tmp_path / f"p{k}.tex").write_text(f"\\input{{p{k + 1}}}\n" * 10 + "x\n")
        main.write_text(head + "\\input{p0}\n" * 10)
    else:
        main.write_text(head + "x" * (3 * 2**20))
    out = _ingest_limited(tmp_path)
    documents = int(out[0].split()[0])
    notes = "\n".join(out[1:])
    if kind == "self":
        assert documents == 1 and "(a cycle)" in notes
    elif kind == "passwd":
        assert "outside the submission" in notes and "root:" not in notes
    elif kind == "fan-out":
        assert "too many" in notes
    elif kind == "too-large":
        assert documents == 0 and "too large" in notes
    else:
        assert documents == 1


# --- graded like the converted text ------------------------------------------------------------
def _verdicts(sub: SubmissionResult) -> list[tuple[str, str, Status, float]]:
    return [(p.id, c.id, c.status, c.score) for p in sub.problems for c in p.checks]


@pytest.mark.sandbox
def test_the_tex_and_its_pdf_get_the_verdicts_of_its_converted_text(tmp_path: Path) -> None:
    """seed-000 typed in LaTeX, and printed to PDF: the verdicts and scores of its converted
    text, citing .tex lines and PDF pages.

    The PDF is written at test time from the converted text with a known layout
    (tests/ingest/pdfmake: a header and page numbers on every page, the listings in Courier with
    their indentation as x offsets and a page break inside one, the class name letter-spaced in
    the prose), so it
    carries what the conversion kept, and must be graded the same.
    """
    from grader.pipeline import GradeOptions, grade
    from grader.sandbox.runner import SandboxRunner
    from tests.scenarios.test_writeup_grading import WithoutScripts

    folders = [SEED_MD, TEX / "seed-000-tex"]
    try:
        import pypdf  # noqa: F401

        from tests.ingest.pdfmake import pdf_from_markdown
    except ImportError:
        pdf_folder = None
    else:
        pdf_folder = tmp_path / "seed-000-pdf"
        pdf_folder.mkdir()
        converted = (SEED_MD / "writeup.md").read_text()
        (pdf_folder / "report.pdf").write_bytes(
            pdf_from_markdown(
                converted,
                header="Mathematical Foundation of DNN : HW 6",
                lines_per_page=44,
                spaced=("STMConvLayer",),
            )
        )
        folders.append(pdf_folder)
    report = grade(
        folders,
        GradeOptions(select="p1 or p2 or p4a or p4b", runner=WithoutScripts(SandboxRunner())),
    )
    by_student = {s.student: s for s in report.submissions}
    md, tex = by_student["seed-000"], by_student["seed-000-tex"]
    assert _verdicts(tex) == _verdicts(md)
    assert tex.score == md.score
    pairs = [
        (a, b)
        for pa, pb in zip(md.problems, tex.problems, strict=True)
        for a, b in zip(pa.checks, pb.checks, strict=True)
    ]
    source = (TEX / "seed-000-tex" / "report.tex").read_text().split("\n")
    cited = {b.id: b.source for _, b in pairs if b.source is not None}
    assert cited["params_naive"].file == "report.tex"
    assert "= 213,504" in source[cited["params_naive"].line - 1]
    assert "78,592" in source[cited["params_stm"].line - 1]
    assert cited["stm.output_shape"].file == "report.tex"
    assert "def forward" in source[cited["stm.output_shape"].line - 1]
    json.dumps(report.model_dump(mode="json"))  # serialisable as --json writes it
    if pdf_folder is not None:
        pdf = by_student["seed-000-pdf"]
        assert _verdicts(pdf) == _verdicts(md)
        checks = {c.id: c for p in pdf.problems for c in p.checks}
        assert checks["params_naive"].source is not None
        assert checks["params_naive"].source.file == "report.pdf"
        assert "report.pdf, page " in checks["stm.output_shape"].message


def test_a_folder_with_only_a_tex_writeup_is_a_submission(tmp_path: Path) -> None:
    from grader.discover import discover

    (tmp_path / "report.tex").write_text(PREAMBLE + "\\section*{1}\n\\end{document}\n")
    assert discover(tmp_path) == [tmp_path]
