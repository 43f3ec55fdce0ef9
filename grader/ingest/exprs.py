"""Safe evaluation of student-written formula answers.

Students answer symbolic questions (e.g. HW6 p2, the variance of y_L) with a Python-syntax
expression in named variables, such as ``3**-L + sum(1/(n[i]*3**(L-i)) for i in range(L))``.
The grader checks such an answer by evaluating it at random points and comparing it with the
reference closed form.

Why not ``eval``: the answer sheet is untrusted input and, unlike student *code*, these strings
are evaluated inside the grader's own process (no sandbox). ``eval``/``compile`` with an empty
``__builtins__`` is famously escapable (``().__class__.__mro__`` ...), and even "harmless"
arithmetic such as ``9**9**9**9`` or ``sum(1 for i in range(10**12))`` can hang the grader. So
the expression is parsed with ``ast.parse`` only, checked against an explicit whitelist of node
types, names and functions (`parse_expression`), and then interpreted by a small tree walker
(`Expression.evaluate`) that

- computes in ``float`` (no unbounded Python ints; overflow becomes an `ExpressionError`),
- counts loop iterations and evaluated nodes against fixed budgets per evaluation, and against a
  caller's `StepBudget` over all the evaluations of one answer,
- never touches attributes, builtins or anything that was not whitelisted.

Every failure the student can cause is an `ExpressionError` whose ``message`` is written for the
student and names the offending construct (with a 1-based ``column`` into the original source
when it is known). Mistakes of the *caller* (missing variable values, bad variable names) are
``TypeError``/``ValueError`` instead, so they surface as grader bugs.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, NoReturn

__all__ = [
    "FUNCTION_NAMES",
    "Expression",
    "ExpressionError",
    "StepBudget",
    "StepBudgetExceeded",
    "parse_expression",
]

# --- resource limits (module constants so tests can shrink them) -------------------------------
MAX_SOURCE_LENGTH = 2000
"""Characters; a real answer is well under 200."""
MAX_NODES = 1000
"""AST nodes after parsing."""
MAX_DEPTH = 100
"""AST nesting depth; keeps the recursive validator/evaluator far from Python's stack limit."""
MAX_LITERAL_DIGITS = 50
"""Integer literals with more digits than this are rejected."""
MAX_LITERAL = 1e300
"""Number literals larger in magnitude than this are rejected."""
MAX_ITERATIONS = 100_000
"""Loop iterations (comprehensions, sum/min/max/prod/len over sequences) per evaluation."""
MAX_STEPS = 250_000
"""Evaluated AST nodes per evaluation: bounds time even when each iteration is expensive
(about 0.5 s of CPU at the limit on the development machine). A check that evaluates an answer
at many points bounds the total as well, with a `StepBudget`."""


class ExpressionError(ValueError):
    """The student's expression cannot be parsed or evaluated.

    `message` is meant for the student; `column` (1-based, counted in characters of the original
    source) points at the offending construct when known.
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


class StepBudgetExceeded(ExpressionError):
    """The evaluations of one answer together took more steps than its `StepBudget` allows."""


@dataclass
class StepBudget:
    """Evaluation steps shared by every evaluation of one answer.

    MAX_STEPS bounds one evaluation, but a check evaluates an answer at hundreds of points (each
    sampled point of a formula, each entry of each network of the HW1 parameter map): an answer
    padded with loops to just under MAX_STEPS costs the grader a minute of CPU and earns
    nothing. One budget, passed to every `Expression.evaluate` of the answer, bounds the whole.
    """

    limit: int
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


# --- what the student may call or name ----------------------------------------------------------
_Value = float | tuple[float, ...] | list[Any] | range


def _log(x: float, base: float | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _sigmoid(x: float) -> float:
    """1 / (1 + e^-x), computed on the side where the exponential cannot overflow."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    """log(1 + e^x) without overflow for large x."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# Activation functions are here so claims about them (HW1: ReLU(ReLU(z)) = ReLU(z), tanh via
# sigmoid) can be answered as formulas; a check can restrict which ones an answer may call.
_MATH: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": _log,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": math.tanh,
    "softplus": _softplus,
}


@dataclass(frozen=True)
class _Function:
    """A whitelisted function and its arity (checked at parse time, so students learn early)."""

    name: str
    min_args: int
    max_args: int | None  # None: unbounded (min/max)


_FUNCTIONS: dict[str, _Function] = {
    f.name: f
    for f in (
        _Function("sum", 1, 2),
        _Function("prod", 1, 1),
        _Function("min", 1, None),
        _Function("max", 1, None),
        _Function("abs", 1, 1),
        _Function("len", 1, 1),
        _Function("range", 1, 3),
        _Function("sqrt", 1, 1),
        _Function("exp", 1, 1),
        _Function("log", 1, 2),
        _Function("relu", 1, 1),
        _Function("sigmoid", 1, 1),
        _Function("tanh", 1, 1),
        _Function("softplus", 1, 1),
    )
}
FUNCTION_NAMES: frozenset[str] = frozenset(_FUNCTIONS)
"""Every function an answer can call: what a rubric may list in `functions` and the like."""
# Constants are always allowed, whatever `functions` says: `e**z` is an exponential even where
# exp is not, so "write it using sigmoid" needs a required call (`must_call` in a rubric).
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
_MODULES = frozenset({"math", "np", "numpy"})
# Attribute -> the bare name it means. `math.X` and `np.X` are spellings of the same whitelist.
_MODULE_ATTRS: dict[str, dict[str, str]] = {
    "math": {"sqrt": "sqrt", "exp": "exp", "log": "log", "prod": "prod", "fsum": "sum"}
    | {"tanh": "tanh", "pi": "pi", "e": "e"},
    "np": {"sqrt": "sqrt", "exp": "exp", "log": "log", "prod": "prod", "sum": "sum"}
    | {"abs": "abs", "tanh": "tanh", "pi": "pi", "e": "e"},
}
_MODULE_ATTRS["numpy"] = _MODULE_ATTRS["np"]
_RESERVED = frozenset(_FUNCTIONS) | _MODULES
_ALLOWED_FUNCTION_LIST = ", ".join(sorted(_FUNCTIONS)) + " (also as math.sqrt, np.exp, ...)"

_BINOPS: dict[type[ast.operator], tuple[str, Callable[[float, float], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
_BAD_BINOPS: dict[type[ast.operator], str] = {
    ast.BitAnd: "the bitwise operator '&' is not allowed",
    ast.BitOr: "the bitwise operator '|' is not allowed",
    ast.LShift: "the shift operator '<<' is not allowed",
    ast.RShift: "the shift operator '>>' is not allowed",
    ast.MatMult: "matrix multiplication '@' is not allowed; write products with *",
}
_COMPARISONS: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}

# Student-facing messages for constructs that are never allowed.
_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.NamedExpr: "the walrus operator ':=' is not allowed",
    ast.Starred: "starred '*' arguments are not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Set: "set literals are not allowed",
    ast.DictComp: "dict comprehensions are not allowed",
    ast.SetComp: "set comprehensions are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield from' is not allowed",
    ast.IfExp: "conditional expressions ('a if c else b') are not allowed",
    ast.Tuple: "tuples ('a, b') are not allowed: the answer must be a single expression",
    ast.Compare: "comparisons are allowed only in a comprehension's 'if'",
    ast.BoolOp: "'and'/'or' are allowed only in a comprehension's 'if'",
}
_NOT_MESSAGE = "'not' is allowed only in a comprehension's 'if'"
# What `sequences=False` refuses; without them an answer has no loops.
_SEQUENCE_NODES = (ast.List, ast.ListComp, ast.GeneratorExp, ast.Subscript)


_SEQUENCE_MESSAGE = (
    "lists, comprehensions and indexing are not allowed in this answer: it is arithmetic on "
    "single numbers"
)


def _forbidden(node: ast.AST) -> str:
    return _FORBIDDEN.get(type(node), f"{type(node).__name__} is not allowed here")


# --- source positions ---------------------------------------------------------------------------
# Operators as students type them, read as Python's: '^' is a power in every formula a student
# writes (Python's exclusive-or never answers one), and word processors turn '-' and '*' into
# these. A textual swap keeps math precedence: 2*3^L is 2*3**L, where the parsed '^' binds last.
_OPERATOR_SPELLINGS: dict[str, str] = {
    "^": "**",
    "\u2212": "-",  # minus sign
    "\u2013": "-",  # en dash
    "\u00d7": "*",  # multiplication sign
    "\u00b7": "*",  # middle dot
    "\u22c5": "*",  # dot operator
    "\u2217": "*",  # asterisk operator
    "\u00f7": "/",
    "\u03c0": "pi",
    "\u00a0": " ",  # no-break spaces
    "\u2009": " ",
    "\u202f": " ",
}


@dataclass(frozen=True)
class _Source:
    """The text handed to ast.parse and how to map AST positions back to the original source."""

    original: str
    text: str  # original with surrounding whitespace stripped, operators normalised
    lead: int  # characters stripped at the front
    positions: tuple[int, ...] = ()  # index in the stripped original of each character of text

    @classmethod
    def of(cls, original: str) -> _Source:
        stripped = original.strip()
        chars: list[str] = []
        positions: list[int] = []
        for index, char in enumerate(stripped):
            spelled = _OPERATOR_SPELLINGS.get(char, char)
            chars.append(spelled)
            positions.extend([index] * len(spelled))
        return cls(
            original, "".join(chars), len(original) - len(original.lstrip()), tuple(positions)
        )

    def column(self, lineno: int | None, col_offset: int | None, *, in_bytes: bool) -> int | None:
        """1-based character index into `original` for an AST (bytes) or SyntaxError position."""
        if lineno is None or col_offset is None:
            return None
        lines = self.text.split("\n")
        if not 1 <= lineno <= len(lines):
            return None
        before = sum(len(line) + 1 for line in lines[: lineno - 1])
        line = lines[lineno - 1]
        if in_bytes:
            chars = len(line.encode("utf-8")[:col_offset].decode("utf-8", errors="ignore"))
        else:
            chars = max(col_offset - 1, 0)  # SyntaxError.offset is 1-based characters
        index = before + chars
        if index < len(self.positions):
            index = self.positions[index]
        elif self.positions:
            index += self.positions[-1] + 1 - len(self.positions)
        return self.lead + index + 1

    def snippet(self, node: ast.AST, limit: int = 40) -> str:
        segment = ast.get_source_segment(self.text, node) or type(node).__name__
        segment = " ".join(segment.split())
        return segment if len(segment) <= limit else segment[: limit - 3] + "..."

    def error(self, node: ast.AST, message: str) -> ExpressionError:
        column = self.column(
            getattr(node, "lineno", None), getattr(node, "col_offset", None), in_bytes=True
        )
        where = f" at column {column}" if column is not None else ""
        return ExpressionError(f"{message}{where}: `{self.snippet(node)}`", column)


# --- parsing and validation ---------------------------------------------------------------------
def parse_expression(
    source: str,
    variables: Collection[str],
    functions: Collection[str] | None = None,
    *,
    sequences: bool = True,
) -> Expression:
    """Parse and validate an untrusted student expression over `variables`.

    `functions` narrows the whitelist for one question (None: every whitelisted function):
    "write tanh in terms of sigmoid" must not accept `tanh(z)`. `sequences=False` refuses lists,
    comprehensions and indexing, for answers that are arithmetic on single numbers (the HW1
    parameter map): without loops, evaluating costs at most one step per node. Raises
    `ExpressionError` (student-facing) for anything outside the whitelist, and
    `ValueError`/`TypeError` if `variables` or `functions` is unusable (a caller bug).
    """
    declared = _check_variables(variables)
    allowed = _check_functions(functions)
    if not isinstance(source, str):
        raise ExpressionError(f"the answer must be a text string, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"the expression is too long ({len(source)} characters; at most {MAX_SOURCE_LENGTH})"
        )
    src = _Source.of(source)
    if not src.text:
        raise ExpressionError("the answer is empty")
    tree = _parse(src)
    _check_size(tree, src)
    free: set[str] = set()
    validator = _Validator(src, declared, free, allowed, sequences=sequences)
    validator.check(tree.body, frozenset())
    calls = tuple(sorted(validator.calls.items()))
    return Expression(source, frozenset(free), declared, tree, src, calls)


def _check_functions(functions: Collection[str] | None) -> frozenset[str]:
    if functions is None:
        return frozenset(_FUNCTIONS)
    if isinstance(functions, str):
        raise TypeError("functions must be a collection of names, not a single string")
    unknown = sorted(set(functions) - set(_FUNCTIONS))
    if unknown:
        raise ValueError(f"not whitelisted function(s): {', '.join(unknown)}")
    return frozenset(functions)


def _check_variables(variables: Collection[str]) -> frozenset[str]:
    if isinstance(variables, str):
        raise TypeError("variables must be a collection of names, not a single string")
    declared = frozenset(variables)
    for name in declared:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
            raise ValueError(f"invalid variable name {name!r}")
        if name in _RESERVED:
            raise ValueError(f"variable name {name!r} collides with a whitelisted function/module")
    return declared


_IMPLICIT_PRODUCT_HINT = " (write products explicitly, as in 2*L)"
_ASSIGNMENT_HINT = " (write only the expression, without 'name =')"
_ASSIGNMENT = re.compile(r"(?<![=<>!])=(?!=)")


def _parse(src: _Source) -> ast.Expression:
    try:
        return ast.parse(src.text, mode="eval")
    except SyntaxError as exc:
        column = src.column(exc.lineno, exc.offset, in_bytes=False)
        where = f" at column {column}" if column is not None else ""
        hint = ""
        if exc.msg == "invalid decimal literal":
            hint = _IMPLICIT_PRODUCT_HINT
        elif _ASSIGNMENT.search(src.text):
            hint = _ASSIGNMENT_HINT
        message = f"cannot parse the expression: {exc.msg}{where}{hint}"
        raise ExpressionError(message, column) from None
    except (RecursionError, MemoryError):
        # CPython's parser gives up on very deep nesting with these instead of SyntaxError.
        raise ExpressionError("the expression is nested too deeply to parse") from None
    except ValueError as exc:  # e.g. null bytes on some Python versions
        raise ExpressionError(f"cannot parse the expression: {exc}") from None


def _check_size(tree: ast.Expression, src: _Source) -> None:
    """Node count and depth, computed iteratively so that the check itself cannot recurse."""
    count = 0
    # (node, depth, nearest node with a source position, for the error message)
    stack: list[tuple[ast.AST, int, ast.AST]] = [(tree.body, 1, tree.body)]
    while stack:
        node, depth, anchor = stack.pop()
        if isinstance(node, ast.expr):
            anchor = node
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the expression is too large (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise src.error(anchor, f"the expression is nested too deeply (more than {MAX_DEPTH})")
        stack.extend(
            (child, depth + 1, anchor)
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, ast.expr_context)  # Load/Store markers, not parts
        )


class _Validator:
    """Checks every node against the whitelist; records the declared variables that are used."""

    def __init__(
        self,
        src: _Source,
        declared: frozenset[str],
        free: set[str],
        allowed: frozenset[str],
        *,
        sequences: bool = True,
    ) -> None:
        self.src = src
        self.declared = declared
        self.free = free
        self.allowed = allowed
        self.sequences = sequences
        self.calls: dict[str, int] = {}  # function -> number of call sites, for `Expression.calls`

    def fail(self, node: ast.AST, message: str) -> NoReturn:
        raise self.src.error(node, message)

    def check(self, node: ast.AST, bound: frozenset[str]) -> None:
        """Validate `node`; `bound` are the comprehension variables in scope."""
        if not self.sequences and isinstance(node, _SEQUENCE_NODES):
            self.fail(node, _SEQUENCE_MESSAGE)
        if isinstance(node, ast.Constant):
            self.constant(node)
        elif isinstance(node, ast.Name):
            self.name(node, bound)
        elif isinstance(node, ast.BinOp):
            if type(node.op) in _BAD_BINOPS:
                self.fail(node, _BAD_BINOPS[type(node.op)])
            self.check(node.left, bound)
            self.check(node.right, bound)
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Invert):
                self.fail(node, "the bitwise operator '~' is not allowed")
            if isinstance(node.op, ast.Not):
                self.fail(node, _NOT_MESSAGE)
            self.check(node.operand, bound)
        elif isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice | ast.Tuple):
                self.fail(node, "only single indices like n[i] are allowed (no slices)")
            self.check(node.value, bound)
            self.check(node.slice, bound)
        elif isinstance(node, ast.Call):
            self.call(node, bound)
        elif isinstance(node, ast.Attribute):
            if self.attribute(node) not in _CONSTANTS:
                self.fail(node, f"'{self.src.snippet(node)}' is a function; call it")
        elif isinstance(node, ast.GeneratorExp | ast.ListComp):
            self.comprehension(node, bound)
        elif isinstance(node, ast.List):
            for element in node.elts:
                self.check(element, bound)
        else:
            self.fail(node, _forbidden(node))

    def condition(self, node: ast.AST, bound: frozenset[str]) -> None:
        """A comprehension's `if`: the only place for comparisons and and/or/not."""
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.condition(value, bound)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.condition(node.operand, bound)
        elif isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) not in _COMPARISONS:
                    self.fail(node, "only <, <=, >, >=, ==, != comparisons are allowed")
            for part in [node.left, *node.comparators]:
                self.check(part, bound)
        else:
            self.check(node, bound)

    def constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            self.fail(node, f"'{value!r}' is not allowed; use numbers")
        if isinstance(value, str | bytes):
            self.fail(node, "strings are not allowed")
        if isinstance(value, complex):
            self.fail(node, "complex numbers are not allowed")
        if isinstance(value, int) and len(str(value)) > MAX_LITERAL_DIGITS:
            self.fail(node, f"number literal with more than {MAX_LITERAL_DIGITS} digits")
        if not isinstance(value, int | float) or not abs(value) <= MAX_LITERAL:
            self.fail(node, f"number literal is too large (at most {MAX_LITERAL:g})")

    def name(self, node: ast.Name, bound: frozenset[str]) -> None:
        ident = node.id
        if ident.startswith("__"):
            self.fail(node, f"'{ident}' is not allowed (names with '__' never are)")
        if ident in bound:
            return
        if ident in self.declared:
            self.free.add(ident)
            return
        if ident in _CONSTANTS:
            return
        if ident in _FUNCTIONS:
            self.fail(node, f"'{ident}' is a function; call it, as in {ident}(...)")
        if ident in _MODULES:
            self.fail(node, f"'{ident}' can only be used as in {ident}.sqrt(...)")
        allowed = ", ".join(sorted(self.declared)) or "no variables"
        self.fail(node, f"unknown name '{ident}'; this answer may use: {allowed}")

    def function_of(self, func: ast.expr) -> str:
        """The whitelisted function a call target names, or fail naming the target."""
        if isinstance(func, ast.Name):
            if func.id.startswith("__"):
                self.fail(func, f"'{func.id}' is not allowed (names with '__' never are)")
            if func.id in _FUNCTIONS:
                return func.id
            self.fail(
                func, f"calling '{func.id}' is not allowed; allowed: {_ALLOWED_FUNCTION_LIST}"
            )
        if isinstance(func, ast.Attribute):
            target = self.attribute(func)
            if target in _FUNCTIONS:
                return target
        self.fail(func, f"calling this is not allowed; allowed: {_ALLOWED_FUNCTION_LIST}")

    def call(self, node: ast.Call, bound: frozenset[str]) -> None:
        name = self.function_of(node.func)
        if name not in self.allowed:
            allowed = ", ".join(sorted(self.allowed)) or "none"
            self.fail(node.func, f"this answer may not call '{name}'; it may call: {allowed}")
        self.calls[name] = self.calls.get(name, 0) + 1
        spec = _FUNCTIONS[name]
        if node.keywords:
            self.fail(node, f"keyword arguments are not allowed in {name}(...)")
        count = len(node.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            expected = (
                f"{spec.min_args}"
                if spec.min_args == spec.max_args
                else f"{spec.min_args} to {spec.max_args or 'any number of'}"
            )
            self.fail(node, f"{name}() takes {expected} argument(s), got {count}")
        for arg in node.args:
            self.check(arg, bound)

    def attribute(self, node: ast.Attribute) -> str:
        """`math.X`/`np.X` for whitelisted X; returns the bare name it stands for."""
        if node.attr.startswith("__"):
            self.fail(node, f"'{node.attr}' is not allowed (names with '__' never are)")
        module = node.value.id if isinstance(node.value, ast.Name) else None
        if module not in _MODULE_ATTRS:
            self.fail(node, "attribute access is not allowed (only math.sqrt, math.pi, ...)")
        target = _MODULE_ATTRS[module].get(node.attr)
        if target is None:
            allowed = ", ".join(f"{module}.{a}" for a in sorted(_MODULE_ATTRS[module]))
            self.fail(node, f"'{module}.{node.attr}' is not allowed; allowed: {allowed}")
        return target

    def comprehension(self, node: ast.GeneratorExp | ast.ListComp, bound: frozenset[str]) -> None:
        if len(node.generators) != 1:
            self.fail(node, "use exactly one 'for' per comprehension (nest sum(...) instead)")
        gen = node.generators[0]
        if gen.is_async:
            self.fail(node, "'async for' is not allowed")
        if not isinstance(gen.target, ast.Name):
            self.fail(gen.target, "the loop variable must be a single name, as in 'for i in ...'")
        loop_var = gen.target.id
        if loop_var.startswith("__"):
            self.fail(gen.target, f"'{loop_var}' is not allowed (names with '__' never are)")
        if loop_var in _RESERVED:
            self.fail(gen.target, f"'{loop_var}' cannot be used as a loop variable")
        # Python evaluates the first iterable in the enclosing scope.
        self.check(gen.iter, bound)
        inner = bound | {loop_var}
        for condition in gen.ifs:
            self.condition(condition, inner)
        self.check(node.elt, inner)


# --- evaluation ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expression:
    """A validated student expression; `evaluate` it at as many points as needed."""

    source: str
    free_names: frozenset[str]
    variables: frozenset[str] = field(repr=False)
    _tree: ast.Expression = field(repr=False, compare=False)
    _src: _Source = field(repr=False, compare=False)
    calls: tuple[tuple[str, int], ...] = ()
    """(function, number of call sites), e.g. (("relu", 2),): lets a check ask for a simplified
    form (`relu(relu(z))` restates the question it answers)."""

    def evaluate(
        self, budget: StepBudget | None = None, /, **values: float | int | Iterable[float]
    ) -> float:
        """Value of the expression; nan/inf results are returned as they are.

        Numbers are evaluated in float; sequences (lists, tuples, 1-d arrays) are indexed like
        Python lists. The steps taken are charged to `budget` when given (positional, so that
        a variable may be named 'budget'). Raises `ExpressionError` when the student's
        expression fails here (division by zero, overflow, bad index, too much work, ...),
        `StepBudgetExceeded` when `budget` runs out, `TypeError` when the caller omits a used
        variable or passes an undeclared one.
        """
        unknown = set(values) - self.variables
        if unknown:
            raise TypeError(f"values for undeclared variables: {sorted(unknown)}")
        missing = self.free_names - set(values)
        if missing:
            raise TypeError(f"missing values for variables: {sorted(missing)}")
        env: dict[str, _Value] = {name: _coerce(name, values[name]) for name in self.free_names}
        evaluator = _Evaluator(self._src, budget)
        try:
            result = evaluator.eval(self._tree.body, env)
        except RecursionError:
            # MAX_DEPTH keeps this far away; a caller already deep in the stack is the only way.
            raise ExpressionError("the expression is nested too deeply to evaluate") from None
        finally:
            if budget is not None:
                budget.used += evaluator.steps
        if not isinstance(result, float):
            raise ExpressionError(f"the answer is {_kind(result)}, not a single number")
        return result


def _resolve(node: ast.expr) -> str:
    """The whitelisted bare name a validated `math.X`/`np.X` attribute stands for."""
    assert isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)  # validated
    return _MODULE_ATTRS[node.value.id][node.attr]


def _coerce(name: str, value: object) -> float | tuple[float, ...]:
    if isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"value for {name!r} must be a number or a sequence of numbers")
    items = tuple(value)
    if not all(isinstance(x, Real) and not isinstance(x, bool) for x in items):
        raise TypeError(f"value for {name!r} must be a flat sequence of numbers")
    return tuple(float(x) for x in items)


def _kind(value: object) -> str:
    if isinstance(value, float):
        return "a number"
    if isinstance(value, range):
        return "a range"
    return "a list"


class _Evaluator:
    """Interprets a validated AST. One instance per evaluation: it carries the work budgets."""

    def __init__(self, src: _Source, budget: StepBudget | None = None) -> None:
        self.src = src
        self.steps = 0
        self.iterations = 0
        self.budget = budget
        self.max_steps = MAX_STEPS if budget is None else min(MAX_STEPS, budget.remaining)

    def too_long(self, node: ast.AST) -> NoReturn:
        """Over MAX_STEPS in this evaluation, or over the budget of all of them."""
        if self.budget is not None and self.max_steps < MAX_STEPS:
            raise StepBudgetExceeded(
                "the expression takes too long to evaluate at all the points checked "
                f"(more than {self.budget.limit:,} steps in all)"
            )
        self.fail(node, f"the expression takes too long to evaluate (>{MAX_STEPS} steps)")

    def fail(self, node: ast.AST, message: str) -> NoReturn:
        raise self.src.error(node, message)

    def eval(self, node: ast.AST, env: dict[str, _Value]) -> _Value:
        self.steps += 1
        if self.steps > self.max_steps:
            self.too_long(node)
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, int | float)  # validated
            return float(node.value)
        if isinstance(node, ast.Name):
            return env[node.id] if node.id in env else _CONSTANTS[node.id]
        if isinstance(node, ast.Attribute):
            return _CONSTANTS[_resolve(node)]
        if isinstance(node, ast.BinOp):
            return self.binop(node, env)
        if isinstance(node, ast.UnaryOp):
            return self.unaryop(node, env)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, env)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.GeneratorExp | ast.ListComp):
            return self.comprehension(node, env)
        if isinstance(node, ast.List):
            return [self.number(e, env, "a list element") for e in node.elts]
        # Compare/BoolOp only appear in comprehension filters (see `truth`); the validator
        # guarantees nothing else reaches here.
        raise AssertionError(f"unvalidated node {type(node).__name__}")

    def number(self, node: ast.AST, env: dict[str, _Value], role: str) -> float:
        value = self.eval(node, env)
        if not isinstance(value, float):
            self.fail(node, f"{role} must be a number, but this is {_kind(value)}")
        return value

    def binop(self, node: ast.BinOp, env: dict[str, _Value]) -> float:
        symbol, func = _BINOPS[type(node.op)]
        left = self.number(node.left, env, f"the left side of '{symbol}'")
        right = self.number(node.right, env, f"the right side of '{symbol}'")
        try:
            result = func(left, right)
        except ZeroDivisionError:
            self.fail(node, "division by zero")
        except OverflowError:
            self.fail(node, "number too large (overflow)")
        if isinstance(result, complex):
            self.fail(node, "a negative number raised to a fractional power is not real")
        return float(result)

    def unaryop(self, node: ast.UnaryOp, env: dict[str, _Value]) -> float:
        value = self.number(node.operand, env, "the operand of a sign")
        return -value if isinstance(node.op, ast.USub) else value

    def subscript(self, node: ast.Subscript, env: dict[str, _Value]) -> float:
        seq = self.eval(node.value, env)
        if not isinstance(seq, tuple | list | range):
            self.fail(node, "only lists can be indexed; this is a number")
        index = self.number(node.slice, env, "an index")
        if not index.is_integer():
            self.fail(node, f"the index must be a whole number, got {index:g}")
        position = int(index)
        if not -len(seq) <= position < len(seq):
            what = self.src.snippet(node.value)
            self.fail(node, f"index {position} is out of range for '{what}' of length {len(seq)}")
        element = seq[position]
        return float(element) if isinstance(element, int) else element

    def comprehension(self, node: ast.GeneratorExp | ast.ListComp, env: dict[str, _Value]) -> list:
        # Materialised eagerly: nothing lazy can escape the budgets, and every consumer
        # (sum, min, max, prod, len, indexing) reads the whole sequence anyway.
        gen = node.generators[0]
        assert isinstance(gen.target, ast.Name)  # validated
        loop_var = gen.target.id
        items = self.iterate(gen.iter, env)
        scope = dict(env)
        out: list[Any] = []
        for item in items:
            scope[loop_var] = item
            if all(self.truth(condition, scope) for condition in gen.ifs):
                out.append(self.eval(node.elt, scope))
        return out

    def iterate(self, node: ast.AST, env: dict[str, _Value]) -> Iterable[_Value]:
        """Elements of an iterable value, charged against the iteration budget up front."""
        value = self.eval(node, env)
        if not isinstance(value, tuple | list | range):
            self.fail(node, "can only loop over range(...) or a list, not a number")
        self.charge(node, len(value))
        return (float(v) for v in value) if isinstance(value, range) else value

    def charge(self, node: ast.AST, count: int) -> None:
        self.iterations += count
        if self.iterations > MAX_ITERATIONS:
            self.fail(node, f"too many iterations (more than {MAX_ITERATIONS} in total)")

    def truth(self, node: ast.AST, env: dict[str, _Value]) -> bool:
        self.steps += 1
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self.truth(v, env) for v in node.values)
            return any(self.truth(v, env) for v in node.values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self.truth(node.operand, env)
        if isinstance(node, ast.Compare):
            left = self.number(node.left, env, "a compared value")
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.number(right_node, env, "a compared value")
                if not _COMPARISONS[type(op)](left, right):
                    return False
                left = right
            return True
        return self.number(node, env, "a condition") != 0.0

    def call(self, node: ast.Call, env: dict[str, _Value]) -> _Value:
        name = node.func.id if isinstance(node.func, ast.Name) else _resolve(node.func)
        if name in ("sum", "prod", "len"):
            items = self.numbers(node.args[0], env, name)
            if name == "len":
                return float(len(items))
            if name == "prod":
                return self.guard(node, lambda: math.prod(items, start=1.0))
            start = self.number(node.args[1], env, "the start of sum") if node.args[1:] else 0.0
            return self.guard(node, lambda: sum(items, start))
        if name in ("min", "max"):
            if len(node.args) == 1:
                items = self.numbers(node.args[0], env, name)
            else:
                items = [self.number(a, env, f"an argument of {name}") for a in node.args]
            if not items:
                self.fail(node, f"{name}() of an empty sequence")
            return min(items) if name == "min" else max(items)
        if name == "range":
            return self.range(node, env)
        args = [self.number(a, env, f"the argument of {name}") for a in node.args]
        if name == "abs":
            return abs(args[0])
        func = _MATH[name]
        return self.guard(node, lambda: func(*args))

    def numbers(self, node: ast.AST, env: dict[str, _Value], name: str) -> list[float]:
        """The argument of sum/prod/len/min/max: a sequence of numbers, counted as iterations."""
        items: list[float] = []
        for item in self.iterate(node, env):
            if not isinstance(item, float):
                self.fail(node, f"{name}() needs a sequence of numbers, but it contains a list")
            items.append(item)
        return items

    def range(self, node: ast.Call, env: dict[str, _Value]) -> range:
        bounds = []
        for arg in node.args:
            value = self.number(arg, env, "an argument of range")
            if not value.is_integer():
                self.fail(arg, f"range() needs whole numbers, got {value:g}")
            bounds.append(int(value))
        if len(bounds) == 3 and bounds[2] == 0:
            self.fail(node, "range() step must not be zero")
        result = range(*bounds)
        if len(result) > MAX_ITERATIONS - self.iterations:
            self.fail(
                node, f"range() is too long ({len(result)} elements; at most {MAX_ITERATIONS})"
            )
        return result

    def guard(self, node: ast.AST, compute: Callable[[], float]) -> float:
        """Run a math library call, turning its failures into student-facing errors."""
        try:
            return float(compute())
        except ZeroDivisionError:
            self.fail(node, "division by zero")
        except OverflowError:
            self.fail(node, "number too large (overflow)")
        except ValueError:
            self.fail(node, "math domain error (e.g. log or sqrt of a negative number)")
