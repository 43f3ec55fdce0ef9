"""Read LaTeX writeups (.tex) as the text the Markdown path reads, with lines mapped to the .tex.

Why a translation and not a second reader: every answer extractor of `grader.ingest.writeup`
(sections, code blocks, class and script assembly, prose numbers and choices) and the formula
reader of `grader.ingest.latex` already work on Markdown-like text, and students who typeset their
writeup hand in the same answers as students who convert their PDF to text. So a .tex file is
laid out as that text:

- `\\section*{4}`, `\\section{Problem 4}` -> "## 4", "## Problem 4" (an unstarred section with a
  plain title gets LaTeX's number, as the PDF shows it); `\\subsection*{b}` -> "### b";
  the items of a top-level `enumerate` inside a problem -> sub-parts "### (a)", "### (b)"
  (an `enumerate` outside any problem numbers the problems);
- math (`$..$`, `\\[..\\]`, `$$..$$`, equation/align/...) is kept as written, so the LaTeX
  formula reader reads it; zero-argument macros of the preamble (`\\newcommand{\\E}{\\mathbb{E}}`,
  `\\DeclareMathOperator{\\Var}{Var}`) are expanded first, as the PDF shows them;
- code in `lstlisting`, `minted`, `verbatim`, `Verbatim` and the code environments the preamble
  defines (`\\lstnewenvironment`, `\\newminted`, `\\newtcblisting`, a `\\newenvironment` built on
  one of those) -> fenced blocks; `\\lstinputlisting{f.py}` / `\\inputminted{python}{f.py}`
  -> the file's lines as a fenced block;
- `\\input` / `\\include` / `\\subfile` of a file of the submission -> its lines in place;
- `tabular` rows -> tab-separated lines (the table reader's format); `\\includegraphics{f}` ->
  a "[figure: f]" line (saying when the file is missing).

Every line of the laid-out text remembers the .tex file and line it came from (`TexText.origins`),
so answers, sections and crashes cite "report.tex:42" or "parts/p4.tex:7".

Safety: nothing is read but the files the caller lists (`fetch` returns the bytes of a file of the
submission folder, or None): a path with "..", an absolute path, a file that is not there, a
cycle (`\\input` of a file that is being read) and reads past the bounds (`MAX_INCLUDES`,
`MAX_INCLUDE_DEPTH`, `MAX_TOTAL_CHARS`) end in a note naming the file and line, never in a read
outside the folder. Work is linear in the input: per-line regular expressions without nested
quantifiers, lines cut at `MAX_LINE_CHARS`, macro expansion bounded in passes and length.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["TEX_SUFFIX", "TexText", "is_main_tex", "read_tex"]

TEX_SUFFIX = ".tex"
MAX_TOTAL_CHARS = 2**20
"""Characters read over the main file and everything it includes (a real writeup's source is
tens of kB; the bound keeps the line-by-line translation to seconds)."""
MAX_INCLUDES = 64
MAX_INCLUDE_DEPTH = 8
MAX_LINE_CHARS = 10_000
MAX_MACROS = 200
MAX_MACRO_BODY = 200
MAX_OUTPUT_LINES = 200_000

Fetch = Callable[[str], bytes | None]
"""The bytes of a file of the submission (a path relative to its root), None when absent."""


@dataclass(frozen=True)
class TexText:
    """The laid-out text, the (file, line) each of its lines came from, and notes for the report.

    `notes` are (file, line, message): what was not read and why (a cycle, a file outside the
    folder, a bound reached). `figures` are the image files named by `\\includegraphics`
    (resolved against the submission when present).
    """

    text: str
    origins: tuple[tuple[str, int], ...]
    notes: tuple[tuple[str, int, str], ...] = ()
    figures: tuple[str, ...] = ()
    included: tuple[str, ...] = ()


def is_main_tex(raw: bytes) -> bool:
    """A .tex file that LaTeX compiles (not a fragment another file `\\input`s)."""
    return b"\\begin{document}" in raw or b"\\documentclass" in raw


# --- small helpers ------------------------------------------------------------------------------
_COMMENT = re.compile(r"(?<!\\)(?:\\\\)*%")


def _strip_comment(line: str) -> str:
    match = _COMMENT.search(line)
    if match is None:
        return line
    return line[: match.end() - 1]


def _group(text: str, start: int) -> tuple[str, int] | None:
    """The balanced {...} group opening at `text[start]` (after spaces): (content, end)."""
    i = start
    while i < len(text) and text[i] in " \t":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth = 0
    for j in range(i, len(text)):
        c = text[j]
        if c == "\\":
            continue
        if c == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif c == "}" and (j == 0 or text[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
    return None


def _optional(text: str, start: int) -> tuple[str, int]:
    """An optional [...] argument at `start` (after spaces): (content, end), or ('', start)."""
    i = start
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == "[":
        end = text.find("]", i)
        if end != -1:
            return text[i + 1 : end], end + 1
    return "", start


# --- preamble -----------------------------------------------------------------------------------
_CODE_ENVS = {"lstlisting", "verbatim", "verbatim*", "Verbatim", "minted", "BVerbatim", "comment"}
_NEWCOMMAND = re.compile(r"\\(?:re)?newcommand\*?\s*\{?\\([A-Za-z]+)\}?\s*(\[\d\])?")
_DEF = re.compile(r"\\def\s*\\([A-Za-z]+)\s*(?=\{)")
_OPERATOR = re.compile(r"\\DeclareMathOperator\*?\s*\{?\\([A-Za-z]+)\}?")
_CODE_ENV_DEF = re.compile(
    r"\\(?:lstnewenvironment|newtcblisting|DeclareTCBListing|newtcbinputlisting"
    r"|DefineVerbatimEnvironment|RecustomVerbatimEnvironment)\s*\{([A-Za-z*]+)\}"
)
_NEWMINTED = re.compile(r"\\newminted\s*(?:\[([A-Za-z]+)\])?\s*\{([A-Za-z0-9]+)\}")
_NEWENV = re.compile(r"\\(?:re)?newenvironment\s*\{([A-Za-z*]+)\}")


@dataclass
class _Preamble:
    code_envs: set[str] = field(default_factory=lambda: set(_CODE_ENVS))
    macros: dict[str, str] = field(default_factory=dict)
    title: list[str] = field(default_factory=list)
    _pattern: re.Pattern[str] | None = None
    _known: int = 0

    def read(self, line: str) -> None:
        """Learn code environments and zero-argument macros from one preamble line."""
        for match in _CODE_ENV_DEF.finditer(line):
            self.code_envs.add(match.group(1))
        for match in _NEWMINTED.finditer(line):
            self.code_envs.add(match.group(1) or f"{match.group(2)}code")
        for match in _NEWENV.finditer(line):
            rest = line[match.end() :]
            if re.search(r"\\(?:begin\{(?:lstlisting|minted|Verbatim)|verbatim)", rest):
                self.code_envs.add(match.group(1))
        if len(self.macros) >= MAX_MACROS:
            return
        for match in _NEWCOMMAND.finditer(line):
            if match.group(2):  # arguments: not expanded (a guess would change the formula)
                continue
            body = _group(line, match.end())
            if body is not None and len(body[0]) <= MAX_MACRO_BODY and "#" not in body[0]:
                self.macros[match.group(1)] = body[0]
        for match in _DEF.finditer(line):
            body = _group(line, match.end())
            if body is not None and len(body[0]) <= MAX_MACRO_BODY and "#" not in body[0]:
                self.macros[match.group(1)] = body[0]
        for match in _OPERATOR.finditer(line):
            body = _group(line, match.end())
            if body is not None and len(body[0]) <= MAX_MACRO_BODY:
                self.macros[match.group(1)] = f"\\operatorname{{{body[0]}}}"
        for command in ("title", "author", "date"):
            found = re.search(rf"\\{command}\s*(?=\{{)", line)
            if found:
                group = _group(line, found.end())
                if group is not None and group[0].strip():
                    self.title.append(group[0])

    def expand(self, line: str) -> str:
        """The line with the preamble's zero-argument macros replaced (bounded)."""
        if not self.macros or "\\" not in line:
            return line
        if self._pattern is None or self._known != len(self.macros):
            names = sorted(self.macros, key=len, reverse=True)
            self._pattern = re.compile(
                r"\\(" + "|".join(re.escape(m) for m in names) + r")(?![A-Za-z])"
            )
            self._known = len(self.macros)
        pattern = self._pattern
        for _ in range(4):
            expanded = pattern.sub(lambda m: self.macros[m.group(1)], line)
            if expanded == line or len(expanded) > 4 * MAX_LINE_CHARS:
                break
            line = expanded
        return line


# --- text mode ----------------------------------------------------------------------------------
_MATH_ENVS = (
    "equation|equation\\*|align|align\\*|aligned|gather|gather\\*|multline|multline\\*"
    "|eqnarray|eqnarray\\*|displaymath|math|flalign|flalign\\*|alignat|alignat\\*"
)
_MATH_OPEN = re.compile(r"(?<!\\)(\$\$|\$|\\\(|\\\[|\\begin\{(" + _MATH_ENVS + r")\})")
_VERB = re.compile(r"\\(?:verb|lstinline)\*?(?:\[[^\]]*\])?([^A-Za-z\s{])(.*?)\1")
_MINTINLINE = re.compile(r"\\mintinline\s*(?:\[[^\]]*\])?\s*\{[^}]*\}\s*\{([^}]*)\}")
_KEEP_ARG = (
    "textit|emph|textrm|textsf|textsc|textnormal|textup|textsl|underline|text|mbox|hbox"
    "|caption|footnote|url|uline|textcolor\\{[^}]*\\}|colorbox\\{[^}]*\\}|fbox|framebox"
    "|centerline|textmd|title|author|date"
)
_DROP_WITH_ARG = re.compile(
    r"\\(?:label|vspace\*?|hspace\*?|cite|citep|citet|pagestyle|thispagestyle|setlength"
    r"|addtolength|setcounter|addcontentsline|bibliographystyle|bibliography|newcommand"
    r"|renewcommand|color|usepackage|documentclass|geometry|pagenumbering)"
    r"\s*(?:\[[^\]]*\])?(?:\s*\{[^{}]*\})*"
)
_DROP = re.compile(
    r"\\(?:noindent|centering|newpage|clearpage|pagebreak|maketitle|tableofcontents|medskip"
    r"|bigskip|smallskip|hfill|vfill|linebreak|par|indent|raggedright|raggedleft|newline"
    r"|small|footnotesize|scriptsize|tiny|large|Large|LARGE|huge|Huge|normalsize"
    r"|bfseries|itshape|ttfamily|rmfamily|sffamily|item)(?![A-Za-z])"
)
_ENV_MARK = re.compile(r"\\(?:begin|end)\s*\{[A-Za-z*]+\}(?:\s*\[[^\]]*\])?")
_REF = re.compile(r"\\(?:ref|eqref|autoref|cref|Cref|pageref)\s*\{([^{}]*)\}")
_HREF = re.compile(r"\\href\s*\{[^{}]*\}\s*\{([^{}]*)\}")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")


_TEXTBF = re.compile(r"\\textbf\s*\{([^{}]*)\}")
_TEXTTT = re.compile(r"\\texttt\s*\{([^{}]*)\}")
_KEEP = re.compile(rf"\\(?:{_KEEP_ARG})\s*\{{([^{{}}]*)\}}")
_BF_GROUP = re.compile(r"\{\\(?:bf|bfseries)\s+([^{}]*)\}")
_IT_GROUP = re.compile(r"\{\\(?:it|em|itshape|tt|ttfamily|sc|rm)\s+([^{}]*)\}")
_LINE_BREAK = re.compile(r"\\\\(?:\[[^\]]*\])?")
_DOTS = re.compile(r"\\(?:ldots|dots|cdots)(?![A-Za-z])")
_ESCAPED = re.compile(r"\\([%&_#{}])")
_SPACES = re.compile(r"\\[,;: ]")
_TIE = re.compile(r"(?<!\\)~")
_BARE_GROUP = re.compile(r"(?<![\\\w])\{([^{}]*)\}")


def _text_mode(text: str) -> str:
    """Text outside math and code as the PDF shows it (markup gone, bold kept as **..**)."""
    if "\\" in text:
        if "\\verb" in text or "\\lstinline" in text:
            text = _VERB.sub(lambda m: f"`{m.group(2)}`", text)
        if "\\mintinline" in text:
            text = _MINTINLINE.sub(lambda m: f"`{m.group(1)}`", text)
        if "\\href" in text:
            text = _HREF.sub(r"\1", text)
        if "ref" in text:
            text = _REF.sub(r"\1", text)
        text = _DROP_WITH_ARG.sub("", text)
        if "\\begin" in text or "\\end" in text:
            text = _ENV_MARK.sub("", text)
        for _ in range(4 if "{" in text else 0):  # nested markup, innermost first
            before = text
            text = _TEXTBF.sub(r"**\1**", text)
            text = _TEXTTT.sub(r"`\1`", text)
            text = _KEEP.sub(r"\1", text)
            text = _BF_GROUP.sub(r"**\1**", text)
            text = _IT_GROUP.sub(r"\1", text)
            if text == before:
                break
        text = _DROP.sub("", text)
        text = _LINE_BREAK.sub("", text)
        if "dots" in text:
            text = _DOTS.sub("...", text)
        text = text.replace("\\textendash", "–").replace("\\LaTeX", "LaTeX")
        text = _ESCAPED.sub(r"\1", text)
        text = _SPACES.sub(" ", text)
    if "~" in text:
        text = _TIE.sub(" ", text)
    if "`" in text or "'" in text:
        text = text.replace("``", '"').replace("''", '"')
    if "{" in text:
        text = _BARE_GROUP.sub(r"\1", text)  # bare groups: {,} and the like
    return text


# --- the reader ---------------------------------------------------------------------------------
_SECTION = re.compile(
    r"\\(?P<cmd>section|subsection|subsubsection|paragraph|subparagraph|chapter)"
    r"(?P<star>\*?)\s*(?:\[[^\]]*\])?\s*(?=\{)"
)
_LEVEL = {
    "chapter": 1,
    "section": 2,
    "subsection": 3,
    "subsubsection": 4,
    "paragraph": 4,
    "subparagraph": 5,
}
_PROBLEMISH = re.compile(
    r"^\s*(?:problem|question|exercise|task|prob\.|q|part|hw|homework)?\s*\#?\s*"
    r"(?:\d{1,3}|\(?[a-h]\)|\(?[ivx]{1,4}\))",
    re.I,
)
_INCLUDE = re.compile(
    r"\\(?P<cmd>input|include|subfile|import|subimport|lstinputlisting|inputminted)"
    r"(?![A-Za-z])\s*(?:\[[^\]]*\])?\s*"
)
_BEGIN = re.compile(r"\\begin\s*\{([A-Za-z*]+)\}")
_TABLE_ENVS = {"tabular", "tabular*", "tabularx", "longtable", "tabu", "array*", "supertabular"}
_RULES = re.compile(
    r"\\(?:hline|toprule|midrule|bottomrule|cline\{[^}]*\}|cmidrule(?:\([^)]*\))?\{[^}]*\}"
    r"|specialrule\{[^}]*\}\{[^}]*\}\{[^}]*\}|addlinespace(?:\[[^\]]*\])?|endhead|endfirsthead"
    r"|endfoot|endlastfoot)"
)
_MULTI = re.compile(r"\\multi(?:column|row)\s*\{(\d+)\}\s*\{[^{}]*\}\s*\{([^{}]*)\}")
_GRAPHICS = re.compile(r"\\includegraphics\s*(?:\[[^\]]*\])?\s*\{([^{}]*)\}")
_ITEM = re.compile(r"\\item(?![A-Za-z])\s*(?:\[([^\]]*)\])?")
_LIST_MARK = re.compile(
    r"\\(?:begin|end)\s*\{(?:enumerate|itemize|description)\}|\\item(?![A-Za-z])"
)
_LIST_BEGIN = re.compile(r"\\begin\s*\{(enumerate|itemize|description)\}\s*(?:\[(.*)\])?")
_TABLE_END = re.compile(r"\\end\s*\{(?:" + "|".join(re.escape(e) for e in _TABLE_ENVS) + r")\}")
_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]


@dataclass
class _Frame:
    file: str
    lines: list[str]
    first: int  # line number of lines[0]
    index: int = 0
    include: bool = True  # a file (cycle check); False: the rest of a line after an \input


@dataclass
class _List:
    role: str  # "problem" | "sub" | "list"
    style: str  # "letter" | "roman" | "arabic"
    count: int = 0


class _Reader:
    def __init__(self, rel: str, text: str, fetch: Fetch) -> None:
        self.rel = rel
        self.fetch = fetch
        self.out: list[str] = []
        self.origins: list[tuple[str, int]] = []
        self.notes: list[tuple[str, int, str]] = []
        self.figures: list[str] = []
        self.included: list[str] = []
        self.preamble = _Preamble()
        self.total = len(text)
        self.stack = [_Frame(rel, text.split("\n"), 1)]
        self.in_body = "\\begin{document}" not in text
        self.code_end: str | None = None  # "\\end{lstlisting}" while inside code
        self.math_end: re.Pattern[str] | None = None  # closes the display math we are in
        self.table: list[str] | None = None  # cells of the row being read
        self.table_origin = (rel, 0)
        self.lists: list[_List] = []
        self.section_count = 0
        self.in_problem = False
        self.in_subpart = False
        self.stopped = False

    # output
    def emit(self, line: str, origin: tuple[str, int]) -> None:
        if len(self.out) >= MAX_OUTPUT_LINES:
            if not self.stopped:
                self.notes.append((*origin, "too many lines: the rest of the writeup is not read"))
                self.stopped = True
            return
        self.out.append(line)
        self.origins.append(origin)

    def run(self) -> TexText:
        while self.stack and not self.stopped:
            frame = self.stack[-1]
            if frame.index >= len(frame.lines):
                self.stack.pop()
                continue
            raw = frame.lines[frame.index]
            origin = (frame.file, frame.first + frame.index)
            frame.index += 1
            if len(raw) > MAX_LINE_CHARS:
                self.notes.append((*origin, f"line cut at {MAX_LINE_CHARS} characters"))
                raw = raw[:MAX_LINE_CHARS]
            self.line(raw.rstrip("\r"), origin)
        if self.code_end is not None:
            self.emit("```", self.origins[-1] if self.origins else (self.rel, 1))
        return TexText(
            "\n".join(self.out),
            tuple(self.origins),
            tuple(self.notes),
            tuple(dict.fromkeys(self.figures)),
            tuple(dict.fromkeys(self.included)),
        )

    # one line of a .tex file
    def line(self, raw: str, origin: tuple[str, int]) -> None:
        if self.code_end is not None:
            at = raw.find(self.code_end)
            if at == -1:
                self.emit(raw, origin)
                return
            if raw[:at].strip():
                self.emit(raw[:at], origin)
            rest = raw[at + len(self.code_end) :]
            self.emit("```", origin)
            self.code_end = None
            if rest.strip():
                self.line(rest, origin)
            return
        line = _strip_comment(raw)
        if not self.in_body:
            self.preamble.read(line)
            if "\\begin{document}" in line:
                self.in_body = True
                for title in self.preamble.title:
                    self.emit(_text_mode(self.preamble.expand(title)), origin)
                line = line.split("\\begin{document}", 1)[1]
            else:
                if _INCLUDE.search(line):  # a preamble kept in another file (macros, envs)
                    self.include(line, origin, preamble=True)
                return
        if not line.strip():
            if self.table is None:
                self.emit("", origin)
            return
        line = self.preamble.expand(line)
        if "\\end{document}" in line:
            line = line.split("\\end{document}", 1)[0]
            self.stack = self.stack[:0]
            if line.strip():
                self.line(line, origin)
            return
        self.body(line, origin)

    def body(self, line: str, origin: tuple[str, int]) -> None:
        if self.math_end is not None:  # inside display math: kept as written
            match = self.math_end.search(line)
            if match is None:
                self.emit(line, origin)
                return
            self.emit(line[: match.end()], origin)
            self.math_end = None
            rest = line[match.end() :]
            if rest.strip():
                self.body(rest, origin)
            return
        # code environments: a fenced block
        begin = _BEGIN.search(line)
        code_env = begin.group(1) if begin and begin.group(1) in self.preamble.code_envs else None
        if begin is not None and code_env is not None and not self._in_math_before(line, begin):
            before = line[: begin.start()]
            if before.strip():
                self.body(before, origin)
            after = line[begin.end() :]
            _, after_end = _optional(after, 0)
            after = after[after_end:]
            language = "python"
            if code_env == "minted":
                group = _group(after, 0)
                if group is not None:
                    language, after = group[0].strip() or "python", after[group[1] :]
            elif code_env == "verbatim":
                language = ""
            self.emit(f"```{language}", origin)
            self.code_end = f"\\end{{{code_env}}}"
            if after.strip():
                self.line(after, origin)
            return
        # \input and friends
        if _INCLUDE.search(line) and not self._include_in_math(line):
            self.include(line, origin)
            return
        # sectioning
        section = _SECTION.search(line)
        if section is not None:
            self.section(line, section, origin)
            return
        # lists
        if re.search(
            r"\\(?:begin|end)\s*\{(?:enumerate|itemize|description)\}|\\item(?![A-Za-z])", line
        ):
            self.lists_in(line, origin)
            return
        # tables
        if self.table is not None or any(m.group(1) in _TABLE_ENVS for m in _BEGIN.finditer(line)):
            self.tabular(line, origin)
            return
        if _GRAPHICS.search(line):
            for graphic in _GRAPHICS.finditer(line):
                self.figure(graphic.group(1), origin)
            line = _GRAPHICS.sub("", line)
            if not line.strip():
                return
        self.emit_text(line, origin)

    def _in_math_before(self, line: str, begin: re.Match[str]) -> bool:
        return line[: begin.start()].count("$") % 2 == 1

    def _include_in_math(self, line: str) -> bool:
        match = _INCLUDE.search(line)
        return match is not None and line[: match.start()].count("$") % 2 == 1

    def emit_text(self, line: str, origin: tuple[str, int]) -> None:
        """A line of running text: math kept, text-mode markup translated; display math that
        does not close on this line is followed (`math_end`)."""
        parts: list[str] = []
        kept: list[str] = []
        i = 0
        while i < len(line):
            match = _MATH_OPEN.search(line, i)
            if match is None:
                parts.append(line[i:])
                break
            parts.append(line[i : match.start()])
            opener = match.group(1)
            if opener == "$$":
                close = re.compile(r"(?<!\\)\$\$")
            elif opener == "$":
                close = re.compile(r"(?<!\\)\$")
            elif opener == "\\(":
                close = re.compile(r"\\\)")
            elif opener == "\\[":
                close = re.compile(r"\\\]")
            else:
                close = re.compile(r"\\end\{" + re.escape(match.group(2)) + r"\}")
            end = close.search(line, match.end())
            if end is None:
                if opener == "$":  # a lone dollar: text
                    parts.append(line[match.start() : match.end()])
                    i = match.end()
                    continue
                text = "".join(parts)
                head = _restore(_text_mode(text), kept)
                if head.strip():
                    self.emit(head, origin)
                self.emit(line[match.start() :], origin)
                self.math_end = close
                return
            kept.append(line[match.start() : end.end()])
            parts.append(f"\x00{len(kept) - 1}\x00")
            i = end.end()
        self.emit(_restore(_text_mode("".join(parts)), kept), origin)

    def section(self, line: str, match: re.Match[str], origin: tuple[str, int]) -> None:
        before = line[: match.start()]
        if before.strip():
            self.emit_text(before, origin)
        group = _group(line, match.end())
        title, rest = (group[0], line[group[1] :]) if group else (line[match.end() :], "")
        title = _restore(_text_mode(_protect(title)[0]), _protect(title)[1]).strip()
        level = _LEVEL[match.group("cmd")]
        if match.group("cmd") == "section":
            self.lists = []
            if not match.group("star"):
                self.section_count += 1
                if not _PROBLEMISH.match(title):
                    title = f"{self.section_count} {title}"
            self.in_problem = bool(_PROBLEMISH.match(title))
            self.in_subpart = False
        elif level >= 3 and self.in_problem:
            self.in_subpart = self.in_subpart or bool(_PROBLEMISH.match(title))
        self.emit(f"{'#' * level} {title}", origin)
        if rest.strip():
            self.body(rest, origin)

    def lists_in(self, line: str, origin: tuple[str, int]) -> None:
        pieces = re.split(
            r"(\\(?:begin|end)\s*\{(?:enumerate|itemize|description)\}(?:\s*\[[^\]]*\])?"
            r"|\\item(?![A-Za-z])\s*(?:\[[^\]]*\])?)",
            line,
        )
        text = ""
        for piece in pieces:
            if not piece:
                continue
            begin = re.match(
                r"\\begin\s*\{(enumerate|itemize|description)\}\s*(?:\[(.*)\])?", piece
            )
            if begin:
                text = self._flush(text, origin)
                self.lists.append(self._new_list(begin.group(1), begin.group(2) or ""))
                continue
            if re.match(r"\\end\s*\{(?:enumerate|itemize|description)\}", piece):
                text = self._flush(text, origin)
                if self.lists:
                    self.lists.pop()
                continue
            item = _ITEM.match(piece)
            if item and item.end() == len(piece):
                text = self._flush(text, origin)
                self._item(item.group(1), origin)
                continue
            text += piece
        self._flush(text, origin)

    def _flush(self, text: str, origin: tuple[str, int]) -> str:
        if text.strip():
            self.body(text, origin)
        return ""

    def _new_list(self, kind: str, options: str) -> _List:
        if kind != "enumerate":
            return _List("list", "bullet")
        style = "arabic"
        if re.search(r"\\alph|\\Alph|(?<![\\A-Za-z])[aA](?![A-Za-z])", options):
            style = "letter"
        elif re.search(r"\\roman|\\Roman|(?<![\\A-Za-z])[iI](?![A-Za-z])", options):
            style = "roman"
        roles = [lst.role for lst in self.lists]
        if "sub" in roles:
            return _List("list", style)
        if not roles and not self.in_problem:
            return _List("problem", style)
        if (not roles and not self.in_subpart) or roles[-1:] == ["problem"]:
            return _List("sub", "roman" if style == "roman" else "letter")
        return _List("list", style)

    def _item(self, label: str | None, origin: tuple[str, int]) -> None:
        if not self.lists:
            self.emit("- ", origin)
            return
        current = self.lists[-1]
        current.count += 1
        if label is not None:
            shown = _text_mode(label).strip()
        elif current.style == "letter":
            shown = f"({chr(ord('a') + min(current.count, 26) - 1)})"
        elif current.style == "roman":
            shown = f"({_ROMAN[min(current.count, len(_ROMAN)) - 1]})"
        elif current.style == "arabic":
            shown = f"{current.count}."
        else:
            shown = "-"
        if current.role == "problem":
            number = re.sub(r"[^0-9]", "", shown) or str(current.count)
            self.emit(f"## {number}", origin)
            self.in_problem = True
        elif current.role == "sub":
            self.emit(f"### {shown}", origin)
        else:
            self.emit(shown, origin)

    def tabular(self, line: str, origin: tuple[str, int]) -> None:
        if self.table is None:
            begin = next(m for m in _BEGIN.finditer(line) if m.group(1) in _TABLE_ENVS)
            before = line[: begin.start()]
            if before.strip():
                self.emit_text(before, origin)
            rest = line[begin.end() :]
            _, at = _optional(rest, 0)
            if begin.group(1) in ("tabular*", "tabularx"):
                width = _group(rest, at)
                at = width[1] if width else at
            spec = _group(rest, at)
            rest = rest[spec[1] :] if spec else rest[at:]
            self.table = []
            self.table_origin = origin
            line = rest
        end = re.search(
            r"\\end\s*\{(?:" + "|".join(re.escape(e) for e in _TABLE_ENVS) + r")\}", line
        )
        body, after = (line[: end.start()], line[end.end() :]) if end else (line, None)
        body = _RULES.sub("", body)
        rows = re.split(r"(?<!\\)\\\\(?:\[[^\]]*\])?", body)
        for k, row in enumerate(rows):
            if not "".join(self.table).strip() and row.strip():
                self.table_origin = origin
            self.table.append(row)
            if k < len(rows) - 1:
                self._row(self.table_origin)
        if after is not None:
            if "".join(self.table).strip():
                self._row(self.table_origin)
            self.table = None
            if after.strip():
                self.body(after, origin)

    def _row(self, origin: tuple[str, int]) -> None:
        row = " ".join(part.strip() for part in (self.table or []))
        self.table = []
        if not row.strip():
            return
        cells: list[str] = []
        for cell in re.split(r"(?<!\\)&", row):
            multi = _MULTI.search(cell)
            span = 1
            if multi:
                span, cell = int(multi.group(1)), multi.group(2)
            protected, kept = _protect(cell)
            shown = _restore(_text_mode(protected), kept).strip()
            shown = re.sub(r"^\$([^$]*)\$$", r"\1", shown).replace("{,}", ",")
            cells += [shown] + [""] * (min(span, 50) - 1)
        self.emit("\t".join(cells), origin)

    def figure(self, name: str, origin: tuple[str, int]) -> None:
        base = posixpath.dirname(self.rel)
        path = _inside(base, name.strip())
        found = None
        if path is not None:
            for candidate in (path, *(path + ext for ext in (".png", ".pdf", ".jpg", ".jpeg"))):
                if self.fetch(candidate) is not None:
                    found = candidate
                    break
        if found is not None:
            self.figures.append(found)
            self.emit(f"[figure: {found}]", origin)
        else:
            self.emit(f"[figure: {name.strip()} (not in the submission)]", origin)

    def include(self, line: str, origin: tuple[str, int], preamble: bool = False) -> None:
        match = _INCLUDE.search(line)
        assert match is not None
        command = match.group("cmd")
        after = line[match.end() :]
        language = "python"
        if command == "inputminted":
            lang = _group(after, 0)
            if lang is not None:
                language, after = lang[0].strip(), after[lang[1] :]
        folder = ""
        if command in ("import", "subimport"):
            directory = _group(after, 0)
            if directory is not None:
                folder, after = directory[0].strip(), after[directory[1] :]
        group = _group(after, 0)
        if group is None:  # \input file (TeX's form without braces)
            bare = re.match(r"\s*([\w./-]+)", after)
            name, rest = (bare.group(1), after[bare.end() :]) if bare else ("", after)
        else:
            name, rest = group[0].strip(), after[group[1] :]
        before = line[: match.start()]
        if before.strip() and not preamble:
            self.body(before, origin)
        if rest.strip() and not preamble:
            self.stack.append(_Frame(origin[0], [rest], origin[1], include=False))
        code = command in ("lstinputlisting", "inputminted")
        self.open(posixpath.join(folder, name) if folder else name, origin, code, language)

    def open(self, name: str, origin: tuple[str, int], code: bool, language: str) -> None:
        where = f"\\input{{{name}}}"
        base = posixpath.dirname(self.rel)
        path = _inside(base, name)
        if path is None:
            self.notes.append((*origin, f"{where} names a file outside the submission: not read"))
            return
        raw = None
        for candidate in (
            (path,) if code or path.endswith(TEX_SUFFIX) else (path + TEX_SUFFIX, path)
        ):
            raw = self.fetch(candidate)
            if raw is not None:
                path = candidate
                break
        if raw is None:
            self.notes.append((*origin, f"{where}: no such file in the submission"))
            return
        chain = [f.file for f in self.stack if f.include]
        if path in chain:
            self.notes.append(
                (*origin, f"{where} includes {path}, which is being read (a cycle): not read again")
            )
            return
        if len(chain) >= MAX_INCLUDE_DEPTH or len(self.included) >= MAX_INCLUDES:
            self.notes.append((*origin, f"{where}: too many nested or included files, not read"))
            return
        if self.total + len(raw) > MAX_TOTAL_CHARS:
            self.notes.append((*origin, f"{where}: the writeup is too large, {path} not read"))
            return
        self.total += len(raw)
        self.included.append(path)
        text = raw.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
        if code:
            self.emit(f"```{language}", origin)
            for k, code_line in enumerate(text.split("\n"), 1):
                self.emit(code_line[:MAX_LINE_CHARS], (path, k))
            self.emit("```", origin)
            return
        self.stack.append(_Frame(path, text.split("\n"), 1))


def _protect(text: str) -> tuple[str, list[str]]:
    """Inline math of `text` replaced by placeholders (kept verbatim by `_restore`)."""
    kept: list[str] = []

    def hide(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    return re.sub(r"(?<!\\)\$[^$]*(?<!\\)\$|\\\(.*?\\\)", hide, text), kept


def _restore(text: str, kept: list[str]) -> str:
    def back(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return kept[index].replace("{,}", ",") if index < len(kept) else ""

    return _PLACEHOLDER.sub(back, text)


def _inside(base: str, name: str) -> str | None:
    """`name` (relative to the folder `base` of the including file) as a path of the submission,
    or None when it is absolute or leaves the submission."""
    name = name.strip().strip('"')
    if not name or name.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", name):
        return None
    joined = posixpath.normpath(posixpath.join(base, name))
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


def read_tex(raw: bytes, rel: str, fetch: Fetch) -> TexText:
    """The laid-out text of a .tex writeup (and the files it includes), with its origins."""
    text = raw[:MAX_TOTAL_CHARS].decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    reader = _Reader(rel, text, fetch)
    if len(raw) > MAX_TOTAL_CHARS:
        reader.notes.append((rel, 1, f"only the first {MAX_TOTAL_CHARS} bytes are read"))
    return reader.run()
