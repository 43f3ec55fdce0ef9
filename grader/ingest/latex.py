"""Turn formulas written in LaTeX (or unicode math) into expressions `grader.ingest.exprs`
evaluates.

Why: students answer symbolic questions (HW6 p2: the variance of y_L) in their writeup as
LaTeX, e.g. ``\\frac{1}{3^L} + \\sum_{i=0}^{L-1} \\frac{1}{n_i}\\frac{1}{3^{L-i}}``. The grader
compares formula answers numerically (`grader.ingest.exprs`), so the LaTeX is translated into that
evaluator's Python subset: ``\\frac`` -> ``/``, ``^`` -> ``**``, ``n_i`` -> ``n[i]`` for list
variables, ``\\sum_{i=0}^{L-1}`` -> ``sum(... for i in range(0, (L-1)+1))``, implicit products
-> ``*``.

The translator is deliberately strict: any symbol it cannot place (an unknown letter,
``\\mathbb{E}``, a ``\\text{Var}``, an index on a number, an ambiguous ``3^10``) raises
`LatexError`, because a wrong guess would fail a student for our parser's mistake; the grader turns
the error into a pending TA item. The output is always checked with
`grader.ingest.exprs.parse_expression` before it is returned.

`find_formulas` / `find_final_formula` locate the student's final (boxed, else last) formula in a
section of a writeup.
"""

from __future__ import annotations

import ast
import bisect
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass

from grader.ingest.exprs import ExpressionError, parse_expression
from grader.ingest.writeup import scan_fences, split_lines

__all__ = [
    "MEAN",
    "VARIANCE",
    "Formula",
    "LatexError",
    "find_final_formula",
    "find_formulas",
    "latex_to_python",
]

MAX_TEX_CHARS = 4000
"""Longer formulas are refused (a real answer is < 300 characters)."""
MAX_DEPTH = 60
"""Nesting depth of groups/fractions/sums; keeps the recursive parser far from the stack limit."""
MAX_FORMULAS = 5000
"""Formulas collected from one section."""
MAX_SECTION_CHARS = 200_000
"""Characters of a section searched for formulas (a real section is a few kB)."""
MAX_BOXES = 100
"""\\boxed{...} groups read per math segment."""

MEAN = "mean"
VARIANCE = "variance"


class LatexError(ValueError):
    """The formula cannot be translated with confidence; `message` says why, for a TA."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- unicode math -------------------------------------------------------------------------------
_SUPERSCRIPT = dict(
    zip(
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿᴸᴺˡʲᵏᵐᵗᵀᵃᵇᶜᵈᵉᶠᵍʰᵒᵖʳˢᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴹᴼᴾᴿᵁⱽᵂ",
        "0123456789+-=()inLNljkmtTabcdefghoprsuvwxyzABDEGHIJKMOPRUVW",
        strict=True,
    )
)
_SUBSCRIPT = dict(
    zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ᵢⱼₖₗₘₙₐₑₒₓₜₚₛₕᵣᵤᵥ", "0123456789+-=()ijklmnaeoxtpshruv", strict=True)
)
_UNICODE = {
    "·": r" \cdot ",
    "⋅": r" \cdot ",
    "∙": r" \cdot ",
    "×": r" \times ",
    "÷": " / ",
    "−": "-",
    "–": "-",
    "Σ": r" \sum ",
    "∑": r" \sum ",
    "∏": r" \prod ",
    "√": r" \sqrt ",
    "π": r" \pi ",
    "ℓ": r" \ell ",
    "≤": r" \le ",
    "≥": r" \ge ",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
}


def from_unicode(text: str) -> str:
    """Unicode math to LaTeX: runs of superscripts become ^{...}, of subscripts _{...}."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        for table, mark in ((_SUPERSCRIPT, "^"), (_SUBSCRIPT, "_")):
            if char in table:
                end = index
                while end < len(text) and text[end] in table:
                    end += 1
                out.append(mark + "{" + "".join(table[c] for c in text[index:end]) + "}")
                index = end
                break
        else:
            out.append(_UNICODE.get(char, char))
            index += 1
    return "".join(out)


# --- preprocessing ------------------------------------------------------------------------------
_DROP = re.compile(
    r"\\[,;:!>]|\\(?:displaystyle|textstyle|limits|nolimits|nonumber|notag|q?quad|big[lr]?"
    r"|Big[lr]?|bigg[lr]?|Bigg[lr]?)(?![A-Za-z])|~|&"
)
_LEFT_RIGHT = re.compile(
    r"\\(?:left|right)\s*(\\[{}|]|[()\[\]|.]|\\[lr]?[vV]ert|\\langle|\\rangle)"
)
_RELATIONS = re.compile(r":=|=|\\approx(?![A-Za-z])|\\equiv(?![A-Za-z])")
_IMPLIES = re.compile(r"\\(?:therefore|Rightarrow|implies|Longrightarrow)(?![A-Za-z])")
_BAD_RELATION = re.compile(
    r"<|>|\\(?:le|leq|ge|geq|lt|gt|neq|ne|in|subset|sim|propto|pm|mp)(?![A-Za-z])"
)


def balanced_group(text: str, open_at: int) -> int | None:
    """Index just past the '}' matching the '{' at `open_at`, or None if unbalanced."""
    depth = 0
    for index in range(open_at, len(text)):
        if text[index] == "{" and (index == 0 or text[index - 1] != "\\"):
            depth += 1
        elif text[index] == "}" and (index == 0 or text[index - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _unbox(text: str) -> str:
    """The content of the last \\boxed{...}, or the text itself."""
    starts = [m.end() - 1 for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text)]
    for start in reversed(starts):
        end = balanced_group(text, start)
        if end is not None:
            return text[start + 1 : end - 1]
    return text


def top_level_split(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Split on `pattern` where it occurs outside every {...}, (...) and [...]."""
    parts: list[str] = []
    last = 0
    for match in top_level_matches(text, pattern):
        parts.append(text[last : match.start()])
        last = match.end()
    parts.append(text[last:])
    return parts


def top_level_matches(text: str, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    """Non-empty matches of `pattern` outside every {...}, (...) and [...], left to right."""
    found: list[re.Match[str]] = []
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        escaped = index > 0 and text[index - 1] == "\\"
        if char in "{([" and not escaped:
            depth += 1
        elif char in "})]" and not escaped:
            depth = max(depth - 1, 0)
        elif depth == 0:
            match = pattern.match(text, index)
            if match and match.end() > index:
                found.append(match)
                index = match.end()
                continue
        index += 1
    return found


def _prepare(tex: str) -> str:
    text = from_unicode(tex.strip())
    text = text.strip().strip("`").strip()
    text = re.sub(r"^\$+|\$+$", "", text).strip()
    text = re.sub(r"^\\\[|\\\]$|^\\\(|\\\)$", "", text).strip()
    text = _unbox(text)
    text = re.sub(r"\\tag\*?\{[^{}]*\}", " ", text)
    text = _LEFT_RIGHT.sub(lambda m: _delimiter(m.group(1)), text)
    text = _DROP.sub(" ", text)
    text = re.sub(
        r"\\text\{\s*(?:so|then|thus|hence|and|therefore|finally)\b[^{}]*\}", " ", text, flags=re.I
    )
    text = re.sub(r"\\(?:text|mbox)\s*\{[\s,.;:]*\}", " ", text)
    text = top_level_split(text, _IMPLIES)[-1]
    text = top_level_split(text, _RELATIONS)[-1]
    return text.strip().rstrip(".,;").strip()


def _delimiter(token: str) -> str:
    if token in (".",):
        return " "
    if token in ("\\{", "(", "["):
        return "("
    if token in ("\\}", ")", "]"):
        return ")"
    return token  # | and norms: refused later


# --- tokens -------------------------------------------------------------------------------------
_FUNCTION_WORDS = ("sqrt", "exp", "log", "ln", "sum", "prod")
ACTIVATIONS = frozenset({"relu", "sigmoid", "tanh", "softplus"})
"""Activations a formula may call by name: `\\mathrm{ReLU}(z)`, `\\operatorname{relu}(z)`,
`\\text{ReLU}(z)`, `\\tanh z` and `ReLU(z)` are all `relu(z)` / `tanh(z)` (any case)."""
_MAX_MIN = frozenset({"max", "min"})
_TOKEN = re.compile(
    r"\s*(?:(?P<cmd>\\[A-Za-z]+)|(?P<esc>\\[{}])|(?P<num>\d+(?:\.\d+)?|\.\d+)"
    r"|(?P<pow>\*\*)|(?P<word>[A-Za-z]+)|(?P<sym>[-+*/^_()\[\]{},!|'=<>]))"
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # cmd | num | id | sym
    value: str


def _tokenize(text: str, variables: dict[str, str]) -> list[_Tok]:
    tokens: list[_Tok] = []
    long_names = sorted((v for v in variables if len(v) > 1), key=len, reverse=True)
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        match = _TOKEN.match(text, index)
        if not match or match.end() == index:
            raise LatexError(f"cannot read {text[index : index + 12]!r} in the formula")
        index = match.end()
        if match.group("cmd"):
            tokens.append(_Tok("cmd", match.group("cmd")[1:]))
        elif match.group("esc"):
            tokens.append(_Tok("sym", "(" if match.group("esc") == "\\{" else ")"))
        elif match.group("num"):
            tokens.append(_Tok("num", match.group("num")))
        elif match.group("pow"):
            tokens.append(_Tok("sym", "^"))
        elif match.group("word"):
            tokens.extend(_words(match.group("word"), long_names))
        else:
            tokens.append(_Tok("sym", match.group("sym")))
    return tokens


def _words(word: str, long_names: list[str]) -> list[_Tok]:
    """Letters: whole function words and declared multi-letter names, otherwise one per letter
    (LaTeX convention: `nL` is n times L). An activation or max/min written as a word
    (`ReLU(z)`, `max(z, 0)`) is that function, as in a plain-text answer."""
    if word in _FUNCTION_WORDS:
        return [_Tok("cmd", word)]
    for name in long_names:
        if word == name:
            return [_Tok("id", name)]
    if word in _MAX_MIN:
        return [_Tok("cmd", word)]
    if word.lower() in ACTIVATIONS:
        return [_Tok("cmd", word.lower())]
    return [_Tok("id", letter) for letter in word]


# --- parser -------------------------------------------------------------------------------------
_FRACTIONS = {"frac", "dfrac", "tfrac", "cfrac"}
_FONTS = {"mathbf", "mathit", "boldsymbol", "bm", "mathnormal", "mathsf", "mathrm", "boxed"}
_TEXTS = {"text", "textrm", "mbox", "textit", "operatorname", "textnormal"}
_TIMES = {"cdot", "times", "ast", "cdotp"}
_STARTS_FACTOR_CMDS = (
    _FRACTIONS
    | _FONTS
    | _TEXTS
    | ACTIVATIONS
    | _MAX_MIN
    | {"sqrt", "sum", "prod", "exp", "log", "ln", "pi", "ell"}
)
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "varphi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Phi", "Psi", "Omega",
}  # fmt: skip


class _Parser:
    """Recursive descent over the tokens; every method returns Python source text."""

    def __init__(self, tokens: list[_Tok], variables: dict[str, str], depth: int = 0) -> None:
        self.tokens = tokens
        self.pos = 0
        self.variables = variables
        self.scope: list[str] = []
        self.depth = depth

    # -- helpers --
    def peek(self, offset: int = 0) -> _Tok | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == kind and (value is None or tok.value == value)

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise LatexError("the formula ends too early")
        self.pos += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok.kind != "sym" or tok.value != value:
            raise LatexError(f"expected {value!r} but found {tok.value!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LatexError("the formula is nested too deeply")

    # -- grammar --
    def parse(self) -> str:
        out = self.expression()
        if self.peek() is not None:
            raise LatexError(f"unexpected {self.peek().value!r} in the formula")  # type: ignore[union-attr]
        return out

    def expression(self) -> str:
        self.enter()
        parts = [self.term()]
        while self.at("sym", "+") or self.at("sym", "-"):
            parts.append(self.take().value)
            parts.append(self.term())
        self.depth -= 1
        return " ".join(parts)

    def starts_factor(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        if tok.kind in ("num", "id"):
            return True
        if tok.kind == "sym":
            return tok.value in ("(", "[", "{")
        return tok.value in _STARTS_FACTOR_CMDS or tok.value in _GREEK

    def term(self) -> str:
        out = self.unary()
        while True:
            tok = self.peek()
            if tok is None:
                return out
            if (tok.kind == "sym" and tok.value == "*") or (
                tok.kind == "cmd" and tok.value in _TIMES
            ):
                self.take()
                out = f"{out}*{self.unary()}"
            elif (tok.kind == "sym" and tok.value == "/") or (
                tok.kind == "cmd" and tok.value == "div"
            ):
                self.take()
                out = f"{out}/{self.unary()}"
            elif self.starts_factor():
                out = f"{out}*{self.unary()}"
            else:
                return out

    def unary(self) -> str:
        if self.at("sym", "-"):
            self.take()
            return f"(-{self.unary()})"
        if self.at("sym", "+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> str:
        base = self.primary()
        if self.at("sym", "!") or self.at("sym", "'"):
            raise LatexError(f"{self.peek().value!r} (factorial/prime) is not supported")  # type: ignore[union-attr]
        if self.at("sym", "^"):
            self.take()
            exponent = self.script()
            if self.at("sym", "^") or self.at("sym", "_"):
                raise LatexError("a double superscript/subscript is ambiguous")
            return f"({base})**({exponent})"
        return base

    def script(self) -> str:
        """The argument of ^ or _: {group}, (group) in plain text, or one token."""
        tok = self.peek()
        if tok is None:
            raise LatexError("a ^ or _ has nothing after it")
        if tok.kind == "sym" and tok.value in ("{", "("):
            self.take()
            inner = self.expression()
            self.expect("}" if tok.value == "{" else ")")
            return inner
        if tok.kind == "sym" and tok.value == "-":
            self.take()
            return f"-({self.script()})"
        if tok.kind == "num":
            if len(tok.value) > 1:
                raise LatexError(
                    f"^{tok.value} / _{tok.value} is ambiguous: write ^{{{tok.value}}}"
                )
            self.take()
            return tok.value
        if tok.kind == "id":
            self.take()
            if self.at("sym", "_"):
                raise LatexError("a subscript inside a superscript/subscript is not supported")
            return self.name(tok.value, None)
        return self.primary()

    def argument(self) -> str:
        """A macro argument: {group} or a single token (`\\frac12` is 1/2)."""
        tok = self.peek()
        if tok is None:
            raise LatexError("a command is missing its argument")
        if tok.kind == "num" and len(tok.value) > 1 and "." not in tok.value:
            self.tokens[self.pos : self.pos + 1] = [
                _Tok("num", tok.value[0]),
                _Tok("num", tok.value[1:]),
            ]
            tok = self.take()
            return tok.value
        if tok.kind == "sym" and tok.value == "{":
            self.take()
            inner = self.expression()
            self.expect("}")
            return inner
        return self.primary()

    def primary(self) -> str:
        self.enter()
        try:
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> str:
        tok = self.take()
        if tok.kind == "num":
            return tok.value
        if tok.kind == "id":
            subscript = self.subscript()
            return self.name(tok.value, subscript)
        if tok.kind == "sym":
            closing = {"(": ")", "[": "]", "{": "}"}.get(tok.value)
            if closing is None:
                raise LatexError(f"unexpected {tok.value!r} in the formula")
            inner = self.expression()
            self.expect(closing)
            return f"({inner})"
        return self.command(tok.value)

    def subscript(self) -> str | None:
        if not self.at("sym", "_"):
            return None
        self.take()
        return self.script()

    def name(self, name: str, subscript: str | None) -> str:
        if name in self.scope:
            if subscript is not None:
                raise LatexError(f"the summation index {name} has a subscript")
            return name
        kind = self.variables.get(name)
        if kind is not None:
            if "list" in kind.lower():
                if subscript is None:
                    raise LatexError(f"{name} is a list: it needs an index, as in {name}_i")
                return f"{name}[{subscript}]"
            if subscript is not None:
                raise LatexError(f"{name} is a number but has a subscript (_{subscript})")
            return name
        if name == "e" and subscript is None:
            return "e"
        allowed = ", ".join(sorted(self.variables)) or "none"
        raise LatexError(f"unknown symbol {name!r} (the answer's variables: {allowed})")

    def command(self, name: str) -> str:
        if name in _FRACTIONS:
            top = self.argument()
            bottom = self.argument()
            return f"(({top})/({bottom}))"
        if name == "sqrt":
            if self.at("sym", "["):
                self.take()
                degree = self.expression()
                self.expect("]")
                return f"(({self.argument()})**(1/({degree})))"
            return f"sqrt({self.argument()})"
        if name in ("sum", "prod"):
            return self.big_operator(name)
        if name in ("exp", "log", "ln"):
            return self.function("exp" if name == "exp" else "log")
        if name in ACTIVATIONS:  # \\tanh, or a name read from a word or a font group
            return self.function(name)
        if name in _MAX_MIN:
            return self.max_min(name)
        if name == "pi":
            return "pi"
        if name == "ell":
            return self.name("l", self.subscript())
        if name in _GREEK:
            if name in self.variables or name in self.scope:
                return self.name(name, self.subscript())
            raise LatexError(f"unknown symbol \\{name}")
        if name in _FONTS:
            if not self.at("sym", "{"):
                raise LatexError(f"\\{name} without braces")
            named = self.font_function()
            if named is not None:  # \\mathrm{relu}(z), \\mathrm{max}(0, z)
                return self.command(named)
            self.take()
            inner = self.expression()
            self.expect("}")
            return f"({inner})"
        if name in _TEXTS:
            return self.text_group(name)
        raise LatexError(f"\\{name} cannot be translated with confidence")

    def text_group(self, name: str) -> str:
        if not self.at("sym", "{"):
            raise LatexError(f"\\{name} without braces")
        self.take()
        words: list[str] = []
        while not self.at("sym", "}"):
            tok = self.take()
            words.append(tok.value)
        self.take()
        word = "".join(words)
        if word in self.variables and "list" not in self.variables[word].lower():
            return word
        if word in ("exp", "log", "ln", "sqrt"):
            return self.function("log" if word == "ln" else word)
        if word.lower() in ACTIVATIONS:  # \\operatorname{ReLU}(z), \\text{ReLU}(z)
            return self.function(word.lower())
        if word in _MAX_MIN:  # \\operatorname{max}(0, z)
            return self.max_min(word)
        raise LatexError(f"\\{name}{{{word}}} cannot be translated with confidence")

    def font_function(self) -> str | None:
        """The function a font group names (`\\mathrm{relu}`, `\\mathrm{ReLU}`: letters only,
        split one per letter by the tokenizer), consumed with its braces; None otherwise."""
        end = self.pos + 1
        letters = ""
        while end < len(self.tokens) and self.tokens[end].kind in ("id", "cmd"):
            letters += self.tokens[end].value
            end += 1
        if end >= len(self.tokens) or self.tokens[end] != _Tok("sym", "}"):
            return None
        name = letters.lower() if letters.lower() in ACTIVATIONS else letters
        if name not in ACTIVATIONS and name not in _MAX_MIN:
            return None
        if letters in self.variables:
            return None
        self.pos = end + 1
        return name

    def max_min(self, name: str) -> str:
        """`\\max(0, z)`, `\\max\\{z, 0\\}`: a call with its arguments. `\\max_i` (a maximum over
        an index) is refused: which values it ranges over is for a TA to read."""
        if not self.at("sym", "("):
            raise LatexError(f"\\{name} without its arguments in parentheses")
        self.take()
        arguments = [self.expression()]
        while self.at("sym", ","):
            self.take()
            arguments.append(self.expression())
        self.expect(")")
        return f"{name}({', '.join(arguments)})"

    def function(self, name: str) -> str:
        base = None
        if name == "log" and self.at("sym", "_"):
            self.take()
            base = self.script()
        if self.at("sym", "^"):
            raise LatexError(f"a power of \\{name} (\\{name}^2 x) is ambiguous")
        if self.at("sym", "(") or self.at("sym", "{") or self.at("sym", "["):
            argument = self.primary()
        else:
            argument = self.power()
        return f"{name}({argument}, {base})" if base is not None else f"{name}({argument})"

    def big_operator(self, name: str) -> str:
        lower: list[_Tok] | None = None
        upper: str | None = None
        for _ in range(2):
            if self.at("sym", "_") and lower is None:
                self.take()
                lower = self.group_tokens()
            elif self.at("sym", "^") and upper is None:
                self.take()
                upper = self.script()
        if lower is None:
            raise LatexError(f"\\{name} without a lower limit (like _{{i=0}})")
        variable, start, stop = self.limits(lower, upper, name)
        self.scope.append(variable)
        try:
            body = self.term()
        finally:
            self.scope.pop()
        function = "sum" if name == "sum" else "prod"
        return f"{function}(({body}) for {variable} in range({start}, ({stop})+1))"

    def group_tokens(self) -> list[_Tok]:
        """Tokens of a {group} (or a single token) without parsing them."""
        if not self.at("sym", "{"):
            return [self.take()]
        self.take()
        depth = 1
        collected: list[_Tok] = []
        while True:
            tok = self.take()
            if tok.kind == "sym" and tok.value == "{":
                depth += 1
            elif tok.kind == "sym" and tok.value == "}":
                depth -= 1
                if depth == 0:
                    return collected
            collected.append(tok)

    def sub_expression(self, tokens: list[_Tok]) -> str:
        if not tokens:
            raise LatexError("an empty summation limit")
        parser = _Parser(list(tokens), self.variables, self.depth + 1)
        parser.scope = list(self.scope)
        return parser.parse()

    def limits(self, lower: list[_Tok], upper: str | None, name: str) -> tuple[str, str, str]:
        """(index variable, first value, last value) from _{i=0}^{L-1} or _{0 <= i < L}."""
        relations = [
            k
            for k, t in enumerate(lower)
            if (t.kind == "sym" and t.value in "<>=")
            or (t.kind == "cmd" and t.value in ("le", "leq", "lt"))
        ]
        if len(relations) == 1 and lower[relations[0]].value == "=":
            head, rest = lower[: relations[0]], lower[relations[0] + 1 :]
            variable = self.index_name(head)
            if upper is None:
                raise LatexError(f"\\{name} without an upper limit")
            return variable, self.sub_expression(rest), upper
        if len(relations) == 2 and upper is None:
            k1, k2 = relations
            variable = self.index_name(lower[k1 + 1 : k2])
            start = self.sub_expression(lower[:k1])
            stop = self.sub_expression(lower[k2 + 1 :])
            if lower[k1].value in ("<", "lt"):
                start = f"({start})+1"
            if lower[k2].value in ("<", "lt"):
                stop = f"({stop})-1"
            if any(lower[k].value in (">", "=") for k in relations):
                raise LatexError(f"cannot read the limits of \\{name}")
            return variable, start, stop
        raise LatexError(f"cannot read the limits of \\{name} (write _{{i=0}}^{{L-1}})")

    def index_name(self, tokens: list[_Tok]) -> str:
        if len(tokens) == 1 and tokens[0].kind == "id":
            variable = tokens[0].value
        elif len(tokens) == 1 and tokens[0].kind == "cmd" and tokens[0].value == "ell":
            variable = "l"
        else:
            raise LatexError("the summation index must be a single letter")
        if variable in self.variables or variable in self.scope or variable == "e":
            raise LatexError(f"the summation index {variable} clashes with a variable")
        if keyword.iskeyword(variable):
            raise LatexError(f"the summation index {variable} is a Python keyword")
        return variable


def _already_python(text: str, variables: dict[str, str]) -> str | None:
    """Plain Python answers ('3**-L + sum(...)', '0') pass through unchanged."""
    candidate = text.strip().strip("`").strip()
    if not candidate or re.search(r"[\\^{}$_]", candidate):
        return None
    try:
        parse_expression(candidate, list(variables))
        tree = ast.parse(candidate, mode="eval")
    except (ExpressionError, ValueError, TypeError, SyntaxError):
        return None
    lists = {name for name, kind in variables.items() if "list" in kind.lower()}
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            allowed.add(id(node.value))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in _LIST_FUNCTIONS:
            allowed.update(id(arg) for arg in node.args)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in lists and id(node) not in allowed:
            return None  # a list used as a number: let the LaTeX path explain it
    return candidate


_LIST_FUNCTIONS = frozenset({"len", "sum", "min", "max", "prod"})


def latex_to_python(tex: str, variables: dict[str, str]) -> str:
    """Translate a LaTeX/unicode formula into a `grader.ingest.exprs` expression over `variables`.

    `variables` maps each answer variable to its rubric kind ({"L": "int", "n": "int_list"});
    list kinds take subscripts as indices (n_i, n_{l-1} -> n[i], n[l-1]). Bound variables of sums
    and products keep the names the student wrote. When the text holds an equation chain
    ("\\text{Var}(X_L) = ... = RHS", "\\boxed{...}", "\\therefore ..."), the last right-hand side
    is translated. Raises `LatexError` whenever a symbol cannot be placed with confidence.
    """
    if not isinstance(tex, str):
        raise LatexError("the formula is not text")
    if not isinstance(variables, dict) or not all(isinstance(k, str) for k in variables):
        raise TypeError("variables must map names to kinds")
    kinds = {name: str(kind) for name, kind in variables.items()}
    if len(tex) > MAX_TEX_CHARS:
        raise LatexError(f"the formula is too long ({len(tex)} characters)")
    passthrough = _already_python(tex, kinds)
    if passthrough is not None:
        return passthrough
    text = _prepare(tex)
    if not text:
        raise LatexError("the formula is empty")
    if "\\\\" in text:
        raise LatexError("the formula spans several lines; pass one line")
    if len(top_level_split(text, _BAD_RELATION)) > 1:
        raise LatexError("the formula contains an inequality or a relation other than '='")
    tokens = _tokenize(text, kinds)
    try:
        result = _Parser(tokens, kinds).parse()
    except RecursionError:
        raise LatexError("the formula is nested too deeply") from None
    try:
        parse_expression(result, list(kinds))
    except ExpressionError as exc:
        raise LatexError(f"the translation was rejected by the evaluator: {exc.message}") from None
    return result


# --- locating formulas in a section -------------------------------------------------------------
@dataclass(frozen=True)
class Formula:
    """One equation (row) the student wrote: `lhs = ... = rhs` on writeup line `line`."""

    lhs: str
    rhs: str
    line: int
    boxed: bool
    display: bool
    syntax: str  # "latex" | "code" (an inline `code` span) | "plain" (unicode math on a line)


DISPLAY_MATH = re.compile(
    r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\begin\{(equation|align|gather|multline)(\*?)\}(.+?)\\end\{\3\4\}",
    re.S,
)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]{1,2000}?)(?<!\\)\$(?!\$)")
_CODE_SPAN = re.compile(r"`([^`\n]{1,2000})`")
_UNICODE_MATH = re.compile(r"[Σ∑∏√·×⋅⁻⁰¹²³⁴⁵⁶⁷⁸⁹ᴸⁱⁿ₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₗ]")
_PLAIN_EQUATION = re.compile(r"^\s*(?:[A-Za-z ]{1,20}:\s*)?[A-Za-z][\w\[\]()^{}]{0,30}\s*=[^=]")
_NESTED_ENV = re.compile(
    r"\\begin\{(cases|[pbvBV]?matrix|array|smallmatrix|subarray)\}.*?\\end\{\1\}", re.S
)
_ROW_NOISE = [
    re.compile(r"\\(?:begin|end)\{[A-Za-z]+\*?\}(?:\{[^{}]*\})?"),
    re.compile(r"\\tag\*?\{[^{}]*\}"),
    re.compile(r"\\q?quad\s*\(\s*\\because.*$", re.S),
    re.compile(r"(?:\\q?quad)?\s*\(\d{1,2}\)\s*$"),
    re.compile(r"^\s*(?:\\therefore|\\Rightarrow|\\implies|\\because)(?![A-Za-z])"),
    re.compile(r"\\text\{\s*(?:so|then|thus|hence|and|therefore|finally)\b[^{}]*\}", re.I),
]


_NESTED_OPEN = re.compile(r"\\begin\{(cases|[pbvBV]?matrix|array|smallmatrix|subarray)\}")
_NESTED_CLOSE = re.compile(r"\\end\{(cases|[pbvBV]?matrix|array|smallmatrix|subarray)\}")
_DISPLAY_OPEN = re.compile(r"(?=(\$\$|\\\[|\\begin\{(?:equation|align|gather|multline)\*?\}))")
_DISPLAY_CLOSE = re.compile(r"(?=(\$\$|\\\]|\\end\{(?:equation|align|gather|multline)\*?\}))")


def _display_closing(opener: str) -> str:
    return {"$$": "$$", "\\[": "\\]"}.get(opener) or opener.replace("\\begin", "\\end", 1)


def closed_matches(
    pattern: re.Pattern[str],
    text: str,
    opener: re.Pattern[str],
    closer: re.Pattern[str],
    closing: Callable[[str], str] = str,
    gap: int = 0,
) -> list[re.Match[str]]:
    """`pattern.finditer(text)` for a pattern `OPEN (.*?) CLOSE`, in linear time.

    The regex engine tries a lazy `OPEN(.*?)CLOSE` at every opener and, when no closer follows,
    scans to the end of the text each time: quadratic in unclosed openers (a few thousand
    `\\[` lines took minutes). Here each opener (found by `opener`, overlapping ones included)
    is tried only if a closer of its kind (`closer`'s group 1; `closing` maps an opener's
    group 1 to it; the same text by default) starts at least `gap` characters after it: the
    match, which then stops at that closer, costs only its own length, and matches never
    overlap. The matches are exactly `finditer`'s.
    """
    ends: dict[str, list[int]] = {}
    for match in closer.finditer(text):
        ends.setdefault(match.group(1), []).append(match.start())
    found: list[re.Match[str]] = []
    position = 0
    for match in opener.finditer(text):
        start = match.start()
        if start < position:
            continue
        token = match.group(1)
        stops = ends.get(closing(token), [])
        first = start + len(token) + gap
        if bisect.bisect_left(stops, first) == len(stops):
            continue
        full = pattern.match(text, start)
        if full is not None and full.end() > full.start():
            found.append(full)
            position = full.end()
    return found


def _rows(segment: str) -> list[tuple[int, str]]:
    """(offset, row) of an aligned/multi-line formula, rows split at top-level \\\\."""
    nested = closed_matches(_NESTED_ENV, segment, _NESTED_OPEN, _NESTED_CLOSE)
    pieces, last = [], 0
    for match in nested:
        pieces += [segment[last : match.start()], match.group(0).replace("\\\\", "\u0000")]
        last = match.end()
    protected = "".join([*pieces, segment[last:]])
    rows: list[tuple[int, str]] = []
    offset = 0
    for row in re.split(r"\\\\", protected):
        rows.append((offset, row.replace("\u0000", "\\\\")))
        offset += len(row) + 2
    return rows


def _clean_row(row: str) -> str:
    for pattern in _ROW_NOISE:
        row = pattern.sub(" ", row)
    return row.replace("&", " ").strip()


def _equations(segment: str, line: int, display: bool, syntax: str) -> list[Formula]:
    """Formulas of one math segment; `line` is the segment's first line."""
    found: list[Formula] = []
    boxed_spans = list(re.finditer(r"\\(?:boxed|fbox)\s*\{", segment))[:MAX_BOXES]
    for match in boxed_spans:
        end = balanced_group(segment, match.end() - 1)
        if end is None:
            continue
        inner = segment[match.end() : end - 1]
        row_line = line + segment[: match.start()].count("\n")
        parts = top_level_split(_clean_row(inner), _RELATIONS)
        if parts[-1].strip():
            found.append(
                Formula(
                    parts[0].strip() if len(parts) > 1 else "",
                    parts[-1].strip(),
                    row_line,
                    True,
                    display,
                    syntax,
                )
            )
    if boxed_spans:
        return found
    chain_lhs = ""
    row_line, counted = line, 0
    for offset, row in _rows(segment):
        row_line += segment.count("\n", counted, offset)  # counted once: rows can be many
        counted = max(counted, offset)
        for piece in _pieces(_clean_row(row)):
            parts = top_level_split(piece, _RELATIONS)
            if len(parts) == 1:
                found.append(Formula(chain_lhs, parts[0].strip(), row_line, False, display, syntax))
                continue
            lhs = parts[0].strip() or chain_lhs
            if parts[0].strip():
                chain_lhs = lhs
            rhs = parts[-1].strip()
            if rhs:
                found.append(Formula(lhs, rhs, row_line, False, display, syntax))
    return found


_BLANKS = re.compile(r"[^\S\n]+")
_SEPARATOR = re.compile(r"[,;]?\s*\\q?quad(?![A-Za-z])|\\text\{\s*(?:and|,)\s*\}|;")


def _pieces(row: str) -> list[str]:
    """Equations written side by side on one row: 'E = 0, \\qquad Var = ...' is two."""
    pieces: list[str] = []
    for part in top_level_split(row, _SEPARATOR):
        commas = top_level_split(part, re.compile(r","))
        if len(commas) > 1 and all(len(top_level_split(c, _RELATIONS)) > 1 for c in commas):
            pieces.extend(commas)
        else:
            pieces.append(part)
    return [p.strip() for p in pieces if p.strip()]


def find_formulas(section_text: str, first_line: int = 1) -> list[Formula]:
    """Every formula in `section_text`, in order: display math ($$..$$, \\[..\\], equation/align
    environments), inline $..$, inline code spans holding an expression, and plain lines of
    unicode math ("Var = 3⁻ᴸ + Σ ..."). `first_line` is the writeup line of the text's first line.
    Aligned rows are split; a row starting with '=' continues the previous row's left side.
    """
    if not isinstance(section_text, str):
        return []
    lines = split_lines(section_text[:MAX_SECTION_CHARS])
    _, outside = scan_fences(lines)
    # Runs of blanks squashed to one space (line breaks kept, so lines keep their numbers): the
    # row patterns (`\s*` before optional parts) backtrack over long runs, and no formula needs
    # more than one space.
    text = "\n".join(
        _BLANKS.sub(" ", line) if out else "" for line, out in zip(lines, outside, strict=True)
    )
    found: list[tuple[int, Formula]] = []

    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        return first_line + bisect.bisect_right(starts, offset) - 1

    masked = list(text)
    closing = _display_closing
    for match in closed_matches(DISPLAY_MATH, text, _DISPLAY_OPEN, _DISPLAY_CLOSE, closing, gap=1):
        body = match.group(1) or match.group(2) or match.group(5) or ""
        start = match.start(1) if match.group(1) is not None else match.start(0)
        for formula in _equations(body, line_of(start), True, "latex"):
            found.append((start, formula))
        masked[match.start() : match.end()] = " " * (match.end() - match.start())
        if len(found) > MAX_FORMULAS:
            break
    rest = "".join(masked)
    for match in INLINE_MATH.finditer(rest):
        for formula in _equations(match.group(1), line_of(match.start()), False, "latex"):
            found.append((match.start(), formula))
        if len(found) > MAX_FORMULAS:
            break
    for match in _CODE_SPAN.finditer(rest):
        inner = match.group(1)
        if "=" in inner or re.search(r"[\d)\]]\s*[-+*/]", inner):
            for formula in _equations(inner, line_of(match.start()), False, "code"):
                found.append((match.start(), formula))
    offset = 0
    for line in rest.split("\n"):
        plain = _PLAIN_EQUATION.match(line) and "$" not in line
        if "=" in line and "`" not in line and (_UNICODE_MATH.search(line) or plain):
            candidate = re.sub(r"^\s*(?:[-*•]\s+)?(?:\*\*[^*]*\*\*:?)?", "", line)
            candidate = re.sub(r"^\s*[A-Za-z ]{1,20}:\s*(?=\S+\s*=)", "", candidate)
            for formula in _equations(candidate.strip(), line_of(offset), True, "plain"):
                found.append((offset, formula))
        offset += len(line) + 1
    found.sort(key=lambda item: (item[1].line, item[0]))
    return [formula for _, formula in found[:MAX_FORMULAS]]


def _normalised_lhs(lhs: str) -> str:
    text = re.sub(r"\\(?:left|right|mathbb|mathbf|mathrm|text|operatorname|boldsymbol|bm)", "", lhs)
    text = re.sub(r"[{}\s\\]", "", text)
    return text.lower()


def _matches_quantity(lhs: str, quantity: str) -> bool:
    text = _normalised_lhs(lhs)
    if not text:
        return False
    squared = bool(re.search(r"\^\(?2\)?|²", text))
    if quantity == VARIANCE:
        return (
            "var" in text
            or bool(re.search(r"sigma\^2|σ\^?2", text))
            or (bool(re.match(r"^(?:e|mean)[\[(]", text)) and squared)
        )
    if quantity == MEAN:
        return (
            bool(re.match(r"^(?:e[\[(]|mean|mu\b|μ|expect)", text))
            and not squared
            and "var" not in text
        )
    try:
        return re.search(quantity, text) is not None
    except re.error:
        return quantity.lower() in text


def find_final_formula(
    section_text: str, quantity: str | None = None, first_line: int = 1
) -> tuple[str, int] | None:
    """The student's final formula in a section: (right-hand side, writeup line) or None.

    The last \\boxed one if any, else the last one. `quantity` keeps only formulas whose left
    side names it: `VARIANCE` (Var(..), E[(..)^2], sigma^2), `MEAN` (E[..], mean, mu, not
    squared) or a regex tested on the left side with commands, braces and spaces removed,
    lowercased. `first_line` is the writeup line of the section's first line.
    """
    candidates = [f for f in find_formulas(section_text, first_line) if f.rhs.strip()]
    if quantity is not None:
        candidates = [f for f in candidates if _matches_quantity(f.lhs, quantity)]
    if not candidates:
        return None
    boxed = [f for f in candidates if f.boxed]
    chosen = boxed[-1] if boxed else candidates[-1]
    return chosen.rhs, chosen.line
