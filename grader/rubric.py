"""Rubric models: what an instructor writes in `rubrics/<hw>.yaml`.

The check kinds are a closed set of frozen Pydantic models discriminated by `kind`; adding a kind
means one model here (its parts, points and answer-sheet block as methods), one judge module in
`grader.judges` and one row in `grader.judges.kinds`. Points, tolerances, partial credit and
accepted variants live here, never in code. Invalid rubrics are reported with file, line and
field (`load_rubric`), because an instructor fixing a rubric needs to know where to look.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from grader.errors import RubricError
from grader.ingest.exprs import FUNCTION_NAMES

SCHEMA_VERSION = 1
#: The validation context's key for the aspects of the analyses a rubric may name (`load_rubric`).
ANALYSES = "analyses"
#: The aspects an analysis judges, by its name, for one rubric; ValueError says why a name cannot
#: be used (unknown, or its checks file does not import). The judges know the analyses, so they
#: give this to `load_rubric` (`grader.judges.analysis.load_with_analyses`).
AnalysisAspects = Callable[[str], Sequence[str]]
#: The most reference runs one `compare_run` check may replay (seeds x variant combinations).
MAX_REPLAYS = 500
#: The most runs of one student script under the rubric's `seeds`, and the most sandbox time
#: they may take together (each run has the check's `timeout_s`).
MAX_SEED_RUNS = 5
MAX_SEED_RUNS_S = 3600.0
#: A `seeds` entry that runs the script with the seeds it sets itself (as written).
STARTER: Literal["starter"] = "starter"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RefValue(_Model):
    """A value computed by the reference implementation (`reference/<hw>/`), by name."""

    ref: str = Field(description="Name of a function in the homework's reference package.")
    args: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for it.")


Expected = Annotated[
    RefValue | float | int | list[str],
    Field(description="A literal, or {ref: name} computed by the reference."),
]


def _ref_values(model: BaseModel) -> list[RefValue]:
    """The `{ref: ...}` values anywhere in a model's fields."""
    found: list[RefValue] = []
    stack: list[Any] = [getattr(model, name) for name in type(model).model_fields]
    while stack:
        value = stack.pop()
        if isinstance(value, RefValue):
            found.append(value)
        elif isinstance(value, BaseModel):
            stack.extend(getattr(value, name) for name in type(value).model_fields)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return found


#: A check's block on a blank answer sheet: (section, commented lines); section "" is the top.
TemplateEntry = tuple[str, list[str]]


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


#: Who sees a check before grading (`_CheckBase.visibility`).
Visibility = Literal["public", "public_without_answer", "hidden"]
#: Kinds whose expected value is an answer a student writes down: never confirmable unless the
#: rubric says `visibility: public`.
ANSWER_KINDS = frozenset({"number", "choice", "formula", "values", "table"})


class _CheckBase(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="Unique within the problem.")
    title: str = Field(default="", description="One line shown in the report.")
    points: float = Field(ge=0, description="Points for this check.")
    answer: str | None = Field(
        default=None,
        description="Answer-sheet key 'section.key'; defaults to '<problem id>.<check id>'.",
    )
    visibility: Literal["public", "public_without_answer", "hidden", "visible"] | None = Field(
        default=None,
        description="Who sees this check before grading. public: students' bundle runs it "
        "against the expected value (answers shipped as salted hashes or precomputed data); "
        "public_without_answer: listed and its answer's form checked, its expected value never "
        "shipped (it is judged at grading time); hidden: left out of every student-facing "
        "output and of the bundle. Default: public_without_answer for answer kinds (number, "
        "choice, formula, values, table: an answer is never confirmable unless the instructor "
        "says so), public for the rest. 'visible' (older rubrics) means the default.",
    )

    @property
    def shown(self) -> Visibility:
        """The visibility in force: the rubric's, or the default that protects answers."""
        if self.visibility in ("public", "public_without_answer", "hidden"):
            return self.visibility
        kind = getattr(self, "kind", "")
        return "public_without_answer" if kind in ANSWER_KINDS else "public"

    # What a check becomes for grading: its parts (one pytest item each) and what each is worth.
    # Kinds judged in parts (module aspects, script aspects) override `parts` and `points_of`;
    # nothing else switches on the kind.
    def parts(self) -> list[str | None]:
        """The pytest items this check becomes: one per part, `None` for a check judged whole."""
        return [None]

    def points_of(self, part: str | None) -> float:
        """Points one part is worth."""
        return float(self.points)

    def part_id(self, part: str | None) -> str:
        """How results name a part: `stm.equivalence`, or the check id for a whole check."""
        return f"{self.id}.{part}" if part else self.id

    def recognised_by(self) -> list[str]:
        """Names only an answer to this check contains (a class, a script's stem): what
        recognises the homework of a folder that does not state it."""
        return []

    def reference_names(self) -> list[str]:
        """Every name this check needs from the homework's reference package: its `{ref: ...}`
        values, and the reference class or function it compares with."""
        names = [v.ref for v in _ref_values(self)]
        own = getattr(self, "reference", None)
        return [*names, *([own] if isinstance(own, str) else [])]

    def template_entry(self, problem_id: str, key: str) -> TemplateEntry | None:
        """What `grade template` prints for this check on a blank answer sheet: the section
        (`""` for the top level) and commented lines; None for a check that asks for nothing
        on the sheet. `key` is the check's answer key (`answer_key`)."""
        return None

    def _heading(self, problem_id: str) -> str:
        return f"# {problem_id}: {self.title or self.id} ({_points(self.points)})"


class WriteupRule(_Model):
    """How a number check reads its answer from a writeup's section for the problem.

    A section often states several results (a sub-total, then the answer; two counts asked in one
    sub-part); which one answers this check is the instructor's call, stated here, because the
    grader must never pick the number that happens to equal the expected value.
    """

    pick: Literal["first", "last", "only"] = Field(
        default="only",
        description="The first or last result stated in the section; 'only': the section "
        "states one result (several different ones make the answer pending for a TA).",
    )


class NumberCheck(_CheckBase):
    """A number, exact or within tolerance."""

    kind: Literal["number"]
    expected: Expected
    atol: float = Field(default=0.0, ge=0, description="Absolute tolerance.")
    rtol: float = Field(default=0.0, ge=0, description="Relative tolerance.")
    writeup: WriteupRule | None = Field(
        default=None, description="Which stated result of a writeup answers this check."
    )
    share: bool = Field(
        default=False,
        description="The answer is a share of a whole, expected as a fraction (0.9306): "
        "'93.06%' and a bare 93.06 (a share cannot exceed 1) are read as percents.",
    )

    def template_entry(self, problem_id: str, key: str) -> TemplateEntry | None:
        section, _, name = key.rpartition(".")
        if self.share:
            example = ['# a share: a fraction (0.25) or a percent in quotes ("25%")']
        else:
            example = ['# a number: 1234, 1_234 or "1,234" (not the answer)']
        return section, [self._heading(problem_id), *example, f"# {name} = 0"]


class ChoiceCheck(_CheckBase):
    """Pick the subset of options that satisfy a property; credit per option classified right."""

    kind: Literal["choice"]
    options: list[str] = Field(min_length=1, description="All options the student chooses from.")
    expected: Expected
    aliases: dict[str, list[str]] = Field(
        default_factory=dict, description="Other accepted spellings per option."
    )

    def template_entry(self, problem_id: str, key: str) -> TemplateEntry | None:
        section, _, name = key.rpartition(".")
        options = ", ".join(f'"{o}"' for o in self.options)
        lines = [f"# choose any of: {options}", f"# {name} = []"]
        return section, [self._heading(problem_id), *lines]


class IntVar(_Model):
    kind: Literal["int"]
    low: int
    high: int


class FloatVar(_Model):
    kind: Literal["float"]
    low: float
    high: float


class IntListVar(_Model):
    """A list of ints whose length is another (int) variable, e.g. widths n[0..L-1]."""

    kind: Literal["int_list"]
    low: int
    high: int
    length: str = Field(description="Name of the int variable giving the length.")
    then: list[int] = Field(
        default_factory=list,
        max_length=8,
        description="Values that follow the drawn ones, fixed by the statement (n_L = 1 after "
        "the widths n_0..n_{L-1}): an answer may index them; the reference gets only the drawn.",
    )


Variable = Annotated[IntVar | FloatVar | IntListVar, Field(discriminator="kind")]


class FormulaCheck(_CheckBase):
    """An expression in named variables, compared with the reference at sampled points."""

    kind: Literal["formula"]
    variables: dict[str, Variable]
    expected: RefValue
    samples: int = Field(default=200, ge=1, le=100_000)
    rtol: float = Field(default=1e-6, ge=0)
    atol: float = Field(default=1e-12, ge=0)
    functions: list[str] | None = Field(
        default=None,
        description="The functions an answer may call (default: all the evaluator knows); "
        "'tanh in terms of sigmoid' lists sigmoid, not tanh.",
    )
    max_calls: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="At most this many calls of a function: {relu: 1} asks for ReLU(ReLU(z)) "
        "simplified, not restated.",
    )
    max_total_calls: int | None = Field(
        default=None,
        ge=0,
        description="At most this many calls of any functions together: ReLU(ReLU(z)) "
        "simplified is one call of relu, max, min or abs; max(max(z, 0), 0) restates it.",
    )
    must_call: list[str] = Field(
        default_factory=list,
        description="Functions an answer must call: 'tanh in terms of sigmoid' requires "
        "sigmoid, since `functions` only forbids and (e**z - e**-z)/(e**z + e**-z) calls nothing.",
    )
    lhs: str | None = Field(
        default=None,
        description="In a writeup, the answer is the last formula whose left side matches this "
        "regex (commands, braces, spaces dropped, lowercase: '^sigma' for \\sigma_l); default: "
        "read from the check's id and title (Var, E).",
    )
    rename: dict[str, str] = Field(
        default_factory=dict,
        description="Writeup spellings read as a variable, spaces ignored: {'d_{l-1}': 'd'}.",
    )

    @model_validator(mode="after")
    def _functions_known(self) -> FormulaCheck:
        """Every function named is one the evaluator knows, and the limits can be met: a typo
        ('sigmod') would otherwise fail every student's answer at grading time."""
        named = {
            "functions": self.functions or [],
            "max_calls": list(self.max_calls),
            "must_call": self.must_call,
        }
        for option, names in named.items():
            unknown = sorted(set(names) - FUNCTION_NAMES)
            if unknown:
                raise ValueError(
                    f"{option}: unknown function(s) {', '.join(unknown)}; the evaluator knows "
                    f"{', '.join(sorted(FUNCTION_NAMES))}"
                )
        allowed = FUNCTION_NAMES if self.functions is None else set(self.functions)
        for option in ("max_calls", "must_call"):
            barred = sorted(set(named[option]) - allowed)
            if barred:
                raise ValueError(f"{option}: {', '.join(barred)} not in functions")
        required = set(self.must_call)
        if any(self.max_calls.get(f) == 0 for f in required) or (
            self.max_total_calls is not None and len(required) > self.max_total_calls
        ):
            raise ValueError("must_call: max_calls or max_total_calls forbid a required call")
        return self

    @model_validator(mode="after")
    def _lengths_name_int_vars(self) -> FormulaCheck:
        for name, var in self.variables.items():
            if isinstance(var, IntListVar):
                target = self.variables.get(var.length)
                if not isinstance(target, IntVar):
                    raise ValueError(f"variable {name!r}: length {var.length!r} is not an int var")
        return self

    def template_entry(self, problem_id: str, key: str) -> TemplateEntry | None:
        section, _, name = key.rpartition(".")
        names = []
        for var_name, var in self.variables.items():
            if not isinstance(var, IntListVar):
                names.append(var_name)
                continue
            fixed = [f"{var_name}[{var.length}+{i}] = {v}" for i, v in enumerate(var.then)]
            fixed = [f.replace("+0]", "]") for f in fixed]
            names.append(", ".join([f"{var_name}[0..{var.length}-1]", *fixed]))
        calls = (
            [f"# it may call: {', '.join(self.functions) or 'no functions'}"]
            if self.functions is not None
            else []
        )
        if self.max_total_calls is not None:
            most = self.max_total_calls
            calls.append(f"# simplify: at most {most} function call{'s' * (most != 1)} in all")
        if self.must_call:
            calls.append(f"# it must call: {', '.join(self.must_call)}")
        lines = [
            f'# a Python expression in {", ".join(names)}, in quotes, e.g. "1/n[0]"',
            *calls,
            f'# {name} = ""',
        ]
        return section, [self._heading(problem_id), *lines]


class ModuleVariant(_Model):
    name: str = Field(description="How the feedback names this accepted reading of the problem.")
    args: dict[str, Any] = Field(default_factory=dict, description="Reference constructor args.")


ModuleAspect = Literal[
    "instantiate", "param_count", "independent", "output_shape", "equivalence", "backward"
]


class ModuleCheck(_CheckBase):
    """A class found by name in the submission, probed in the sandbox, judged per aspect."""

    kind: Literal["module"]
    symbol: str = Field(description="Class name students were asked to write.")
    reference: str = Field(description="Reference class name in the homework's package.")
    init_args: list[Any] = Field(default_factory=list)
    inputs: list[list[int]] = Field(min_length=1, description="Input shapes for forward passes.")
    output_shapes: list[list[int]] = Field(description="Expected output shape per input.")
    variants: list[ModuleVariant] = Field(default_factory=lambda: [ModuleVariant(name="default")])
    aspects: dict[ModuleAspect, float] = Field(
        min_length=1, description="Points per aspect; they add up to `points`."
    )
    misnamed_penalty: float = Field(
        default=0.0, ge=0, description="Deducted when the class is found under a near-miss name."
    )
    rtol: float = Field(default=1e-4, ge=0)
    atol: float = Field(default=1e-5, ge=0, description="Relative to the largest output value.")
    timeout_s: float = Field(default=60, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> ModuleCheck:
        if len(self.inputs) != len(self.output_shapes):
            raise ValueError("inputs and output_shapes need one entry each")
        total = sum(self.aspects.values())
        if abs(total - self.points) > 1e-9:
            raise ValueError(f"aspect points add up to {total:g}, but points is {self.points:g}")
        return self

    def parts(self) -> list[str | None]:
        """One item per aspect, and a `name` item when a misnamed class costs a deduction."""
        parts: list[str | None] = list(self.aspects)
        if self.misnamed_penalty > 0:
            parts.append("name")
        return parts

    def points_of(self, part: str | None) -> float:
        """An aspect's points; the misnaming deduction is worth nothing and can only take away."""
        if part is None:
            return float(self.points)
        return 0.0 if part == "name" else float(self.aspects[part])  # type: ignore[index]

    def recognised_by(self) -> list[str]:
        return [self.symbol]


_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=_IDENTIFIER)]


class DrawnInput(_Model):
    """An input the grader draws for a probe (never the student, never an expected value)."""

    shape: list[Annotated[int, Field(ge=1, le=100_000)]] = Field(
        default_factory=list, max_length=6, description="Its shape; [] for a scalar."
    )
    draw: Literal["grid", "uniform", "normal"] = Field(
        default="uniform",
        description="grid: evenly spaced from low to high (in C order over the shape); "
        "uniform: on [low, high); normal: mean + std * N(0, 1).",
    )
    low: float = -1.0
    high: float = 1.0
    mean: float = 0.0
    std: float = Field(default=1.0, ge=0)
    dtype: Literal["float32", "float64"] = Field(
        default="float32", description="float32 for networks; float64 for NumPy code."
    )

    @model_validator(mode="after")
    def _bounds(self) -> DrawnInput:
        if self.draw != "normal" and not self.low <= self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        if math.prod(self.shape) > 1_000_000:
            raise ValueError("at most 1,000,000 values per drawn input")
        return self


class ObservedValue(_Model):
    """What to observe after a script's run: a global by name, or by its type (and shape).

    Names are tried in order, the first one bound to a value of the right type wins; without a
    match, the one global of that type (and shape) is taken wherever the script bound it. Two
    candidates and no name to decide between them: the value counts as not found, and the
    candidates are reported (a custom check can hand that to a TA).
    """

    names: list[Identifier] = Field(
        default_factory=list, description="Global names, first defined (with the right type) wins."
    )
    type: Literal["any", "module", "array", "number"] = Field(
        default="any",
        description="module: a torch nn.Module (with parameters first: the trained network, not "
        "a loss); array: numbers as an array (lists, NumPy arrays, tensors); number: a scalar.",
    )
    shape: list[int] | None = Field(
        default=None, description="For arrays: the shape it must have; -1 matches any length."
    )

    @model_validator(mode="after")
    def _findable(self) -> ObservedValue:
        if not self.names and self.type == "any":
            raise ValueError("give names, or a type to find the value by")
        if self.shape is not None and self.type not in ("array", "any"):
            raise ValueError("shape applies to arrays only")
        return self


class ModelEvaluation(_Model):
    """The trained network a script left behind, evaluated on inputs the grader draws."""

    model: Identifier = Field(description="A key of the check's `observe`, of type module.")
    input: DrawnInput = Field(description="The input batch (e.g. a grid of shape [1024, 1]).")


class FunctionCall(_Model):
    """A function the student defined, called after the run on inputs the grader draws.

    Each convention is one way the statement lets students order or type the arguments; they
    are tried in order on the first sample, and the first that returns numbers is used for
    every sample. An argument is an input's name, or `name:float` (a scalar as a Python
    float), `name:tensor` (a torch tensor) or `name:list` (a Python list).
    """

    function: list[Identifier] = Field(
        min_length=1, description="Names the function may have; the first defined wins."
    )
    inputs: dict[Identifier, DrawnInput] = Field(min_length=1)
    conventions: list[list[str]] = Field(
        min_length=1, description="Argument lists to try, e.g. [[theta, x], [theta, 'x:float']]."
    )
    samples: int = Field(
        default=1, ge=1, le=1000, description="Calls, each on freshly drawn inputs."
    )

    @model_validator(mode="after")
    def _arguments_are_inputs(self) -> FunctionCall:
        for convention in self.conventions:
            for argument in convention:
                name, _, form = argument.partition(":")
                if name not in self.inputs:
                    raise ValueError(f"argument {argument!r} names no input ({list(self.inputs)})")
                if form not in ("", "float", "tensor", "list"):
                    raise ValueError(f"argument {argument!r}: use :float, :tensor or :list")
        return self


SeedEntry = Annotated[StrictInt, Field(ge=0, lt=2**32)] | Literal["starter"]


def _as_written() -> list[SeedEntry]:
    return [STARTER]


def seed_label(seed: int | str) -> str:
    """How a run under a `seeds` entry is named: `starter`, `seed1`."""
    return seed if isinstance(seed, str) else f"seed{seed}"


class ScriptCheck(_CheckBase):
    """A student script run as written in the sandbox; its globals and figures are judged.

    `analysis` names the judge of the phenomenon (curves, not digits): one of the grader's
    standard library or one the homework's checks file registers (`grader.judges.analysis`);
    `reads` tells it which globals (or printed labels) hold what it looks at.
    """

    kind: Literal["script"]
    file: str = Field(description="Script file name, found anywhere in the submission.")
    globals: list[str] = Field(
        min_length=1,
        description="Globals the script must leave behind (a script rebuilt from a writeup is "
        "the code that defines them all).",
    )
    analysis: Identifier = Field(
        description="The analysis judging the run, by name: the grader's (double_descent, "
        "training_run, observe) or a module-level `Analysis` in the homework's checks file."
    )
    reads: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per quantity the analysis judges, where to find it: global names, first "
        "found wins (training_run: loss_curve, test_loss), or labels of a printed value "
        "(training_run: test_loss_printed, e.g. ['test loss']).",
    )
    reference: str = Field(description="Reference function giving what to compare with.")
    reference_args: dict[str, Any] = Field(default_factory=dict)
    aspects: dict[Identifier, float] = Field(
        min_length=1, description="Points per aspect; the analysis must judge each of them."
    )
    timeout_s: float = Field(default=900, gt=0, description="Wall-clock limit for the script.")
    observe: dict[Identifier, ObservedValue] = Field(
        default_factory=dict,
        description="Values to observe after the run, by role: by name with fallbacks, or by "
        "type and shape (the trained nn.Module wherever it is bound).",
    )
    evaluate: dict[Identifier, ModelEvaluation] = Field(
        default_factory=dict,
        description="Observed networks evaluated on grader-drawn inputs (outputs come back).",
    )
    calls: dict[Identifier, FunctionCall] = Field(
        default_factory=dict,
        description="Student functions called on grader-drawn inputs (results come back).",
    )
    seeds: list[SeedEntry] = Field(
        default_factory=_as_written,
        min_length=1,
        description="One run of the script per entry: `starter` runs it with the seeds it sets "
        "itself (as written), a number imposes that seed on every np.random.seed, "
        "np.random.default_rng, random.seed and torch.manual_seed call of the script (and seeds "
        "those generators before it runs). The aspects of this check judge the first run; "
        f"`compare_run` compares each. At most {MAX_SEED_RUNS} runs and, for several, "
        f"{MAX_SEED_RUNS_S:g} s in all (runs x timeout_s).",
    )

    def seed_runs(self) -> list[tuple[str, ScriptCheck]]:
        """One (label, check) per entry of `seeds`: the first is this check itself, the others
        copies of it with their own id (`run@seed1`, observed apart) and their seed first in
        `seeds` (a probe runs under the first entry)."""
        runs: list[tuple[str, ScriptCheck]] = [(seed_label(self.seeds[0]), self)]
        for seed in self.seeds[1:]:
            label = seed_label(seed)
            first = [seed, *(s for s in self.seeds if s != seed)]
            copy = self.model_copy(update={"id": f"{self.id}@{label}", "seeds": first})
            runs.append((label, copy))
        return runs

    @property
    def imposes_seeds(self) -> bool:
        """Whether the probe watches (and, for a number, imposes) the script's seeding calls:
        every `seeds` but the default, one run as written."""
        return self.seeds != [STARTER]

    @model_validator(mode="after")
    def _seed_runs_fit(self) -> ScriptCheck:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds {self.seeds} name a run twice")
        total = len(self.seeds) * self.timeout_s
        several = len(self.seeds) > 1  # one run is bounded by its timeout_s alone, as ever
        if len(self.seeds) > MAX_SEED_RUNS or (several and total > MAX_SEED_RUNS_S):
            raise ValueError(
                f"seeds: {len(self.seeds)} run(s) of up to timeout_s {self.timeout_s:g} s each "
                f"({total:g} s); at most {MAX_SEED_RUNS} runs and {MAX_SEED_RUNS_S:g} s in all"
            )
        return self

    @property
    def observed_globals(self) -> list[str]:
        """Every global the analysis may read: `globals`, then the names in `reads`."""
        names = [*self.globals]
        for role, values in self.reads.items():
            if not role.endswith("_printed"):
                names.extend(values)
        return list(dict.fromkeys(names))

    @model_validator(mode="after")
    def _evaluations_name_modules(self) -> ScriptCheck:
        for name, evaluation in self.evaluate.items():
            observed = self.observe.get(evaluation.model)
            if observed is None or observed.type != "module":
                raise ValueError(
                    f"evaluate.{name}: model {evaluation.model!r} must be a key of `observe` "
                    "with type: module"
                )
        return self

    @field_validator("analysis")
    @classmethod
    def _analysis_is_registered(cls, name: str, info: ValidationInfo) -> str:
        _analysis_aspects(name, info)
        return name

    @model_validator(mode="after")
    def _aspects_add_up(self, info: ValidationInfo) -> ScriptCheck:
        allowed = _analysis_aspects(self.analysis, info) or ()
        foreign = [a for a in self.aspects if allowed and a not in allowed]
        if foreign:
            raise ValueError(
                f"aspect(s) {', '.join(foreign)} are not judged by analysis {self.analysis} "
                f"(it judges {', '.join(allowed)})"
            )
        total = sum(self.aspects.values())
        if abs(total - self.points) > 1e-9:
            raise ValueError(f"aspect points add up to {total:g}, but points is {self.points:g}")
        return self

    def parts(self) -> list[str | None]:
        return list(self.aspects)

    def points_of(self, part: str | None) -> float:
        return float(self.points) if part is None else float(self.aspects[part])

    def recognised_by(self) -> list[str]:
        return [Path(self.file).stem]


def _analysis_aspects(name: str, info: ValidationInfo) -> Sequence[str] | None:
    """The aspects of the analysis a script check names, when the loader was told the analyses
    (`load_rubric(path, analyses)`); None when it was not (the structure alone is validated)."""
    context = info.context if isinstance(info.context, dict) else {}
    lookup = context.get(ANALYSES)
    return None if lookup is None else lookup(name)


class RunQuantity(_Model):
    """A quantity a script's run leaves (final parameters, data, losses), read from its globals.

    The student's value is the first of `names` bound to as many numbers as the reference run's
    value has (flattened), else the globals of one entry of `parts` concatenated (`a`, `b`, `u`
    kept apart); every name must be one the script check observes (`globals` or `reads`).
    """

    names: list[Identifier] = Field(
        default_factory=list, description="Globals that may hold it, first found wins."
    )
    parts: list[list[Identifier]] = Field(
        default_factory=list,
        description="Globals that together hold it, concatenated in order (e.g. [[a, b, u]]).",
    )
    reference: str | None = Field(
        default=None,
        description="Attribute (or key) of the reference run holding it; default: the "
        "quantity's own name.",
    )
    rtol: float = Field(default=1e-6, ge=0)
    atol: float = Field(default=1e-8, ge=0)

    @model_validator(mode="after")
    def _findable(self) -> RunQuantity:
        if not self.names and not self.parts:
            raise ValueError("give the globals that hold it: names, or parts")
        return self

    @property
    def globals(self) -> list[str]:
        return [*self.names, *(name for group in self.parts for name in group)]


class RunVariant(_Model):
    """One value of one axis of the runs the grader replays with the reference."""

    args: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the reference run."
    )
    mistake: str | None = Field(
        default=None,
        description="The feedback when a student's run is this one: a known mistake. None: an "
        "accepted way of doing it.",
    )


class CompareRunCheck(_CheckBase):
    """A script's run compared with the reference's run under the same starter and seed.

    The reference function (trusted code, run in the grader's process) replays the starter's run
    for each combination of the `variants` axes (with each of `seeds`): a student's run whose
    `compare` quantities match an accepted combination passes; one that matches a combination
    with a `mistake` fails with it (the first mistake of the combination, in axis order); one
    that matches none, or whose `given` quantities (the data the starter draws) differ from the
    reference run's, goes to a TA, as does a run that stopped early.
    """

    kind: Literal["compare_run"]
    run: Identifier = Field(description="Id of the script check of this problem whose run is read.")
    reference: str = Field(
        description="Reference function returning a run: an object (or mapping) with the "
        "quantities as attributes (or keys)."
    )
    reference_args: dict[str, Any] = Field(default_factory=dict)
    seeds: list[int] = Field(
        default_factory=list,
        description="Seeds passed to the reference as `seed`: empty keeps the reference's "
        "default (the starter's); several accept a run with any of them.",
    )
    compare: dict[Identifier, RunQuantity] = Field(
        min_length=1, description="Quantities that must match a replayed run's."
    )
    given: dict[Identifier, RunQuantity] = Field(
        default_factory=dict,
        description="Quantities the starter fixes (its data): when they differ from the "
        "reference run's, the runs cannot be compared and a TA decides.",
    )
    variants: dict[str, list[RunVariant]] = Field(
        default_factory=dict,
        description="Axes of replayed runs (e.g. draw, step), each a list of values; every "
        "combination is replayed, accepted ones first.",
    )
    missing: Literal["fail", "pending"] = Field(
        default="fail",
        description="A run that finished without the quantities (or with NaN in them): fail "
        "(this check is where that costs) or pending (another check already says so).",
    )
    diverged: Literal["fail", "pending"] | None = Field(
        default=None,
        description="A run whose quantities hold NaN or infinite values, where that is judged "
        "apart from `missing` (quantities under a name of the student's own go to a TA, a "
        "diverged run fails): fail or pending; default: as `missing`.",
    )
    for_ta: str = Field(
        default="", description="What a TA should read when the run cannot be placed."
    )

    @model_validator(mode="after")
    def _axes_have_values(self) -> CompareRunCheck:
        empty = [axis for axis, values in self.variants.items() if not values]
        if empty:
            raise ValueError(f"variant axis {', '.join(empty)} has no values")
        replays = max(len(self.seeds), 1) * math.prod(len(v) for v in self.variants.values())
        if replays > MAX_REPLAYS:
            raise ValueError(
                f"{replays} replays of the reference (seeds x variant combinations); at most "
                f"{MAX_REPLAYS}"
            )
        return self


class ManualCheck(_CheckBase):
    """Graded by a TA: shown as pending with its points."""

    kind: Literal["manual"]
    prompt: str = Field(
        default="", description="What the TA should look for; never shown to students."
    )


class Quantity(_Model):
    """One named number of a `values` check (h1, dL_dw9, w1_new), and how a writeup names it."""

    symbol: list[str] = Field(
        min_length=1,
        description="What the writeup calls it ('h_1', 'w_9'); substituted for {} in the form.",
    )
    form: str = Field(default="plain", description="A key of the check's `forms`.")
    carried: str | None = Field(
        default=None,
        description="Error carried forward: an expression in other quantities of the section "
        "('0.9 - 0.01*dL_dw9'); a value that follows from the student's own inputs earns "
        "`carried_credit`.",
    )


class ValuesCheck(_CheckBase):
    """A set of named numbers (a computation by hand), each judged to the precision written.

    A value is right when the true value, rounded (or truncated, if `truncation`) to the last
    digit the student wrote, gives it: "0.0765" for 0.076535. The answer sheet holds one key per
    quantity under `section` (strings keep the written digits); a writeup states each as the left
    side of an equation whose last '=' is followed by the number.
    """

    kind: Literal["values"]
    expected: RefValue | dict[str, float] = Field(
        description="Name -> true value, or a reference function returning that mapping."
    )
    quantities: dict[str, Quantity] = Field(min_length=1)
    forms: dict[str, list[str]] = Field(
        default_factory=lambda: {"plain": ["{}"]},
        description="Left-hand-side spellings per form, {} standing for the symbol; "
        "compared after normalisation (spaces, braces, \\text, _ and case dropped).",
    )
    section: str | None = Field(
        default=None, description="Answer-sheet table of the keys; defaults to the problem id."
    )
    truncation: bool = Field(
        default=False, description="Also accept the true value truncated at the written digit."
    )
    min_decimals: int = Field(
        default=0, ge=0, description="Fewer decimals than this is too coarse to judge: a TA."
    )
    min_significant: int = Field(
        default=2,
        ge=1,
        description='Fewer significant digits than this is too coarse to judge ("1" for '
        '0.987, "0.1" for 0.0772 agree only within 50%): a TA.',
    )
    carried_credit: float = Field(default=1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _forms_known(self) -> ValuesCheck:
        for name, quantity in self.quantities.items():
            if quantity.form not in self.forms:
                raise ValueError(f"quantity {name!r}: form {quantity.form!r} is not in forms")
            if not re.fullmatch(r"[A-Za-z_]\w*", name):
                raise ValueError(f"quantity {name!r}: not a valid answer-sheet key")
        if isinstance(self.expected, dict):
            absent = sorted(set(self.quantities) - set(self.expected))
            if absent:
                raise ValueError(f"no expected value for {', '.join(absent)}")
        return self

    def template_entry(self, problem_id: str, key: str) -> TemplateEntry | None:
        """One commented key per quantity; strings, because the digits written are judged."""
        share = self.points / len(self.quantities)
        lines = [
            f"# {problem_id}: {self.title or self.id} ({_points(self.points)}, {share:g} each)",
            '# numbers in quotes, with the digits you computed: "0.1234" is judged at 4 decimals',
        ]
        lines.extend(f'# {name} = ""' for name in self.quantities)
        return self.section or problem_id, lines


TableColumnKind = Literal["layer", "shape", "count"]

_TABLE_EXAMPLE = {"layer": '"CONV3-32"', "shape": '"32x32x32"', "count": "896"}
"""One made-up row per column kind (a 3x3 conv of 32 maps on a 32x32 RGB image), never a row of
the answer: the sheet is generated without the reference."""
LayerKind = Literal["input", "conv", "pool", "fc", "relu", "softmax", "dropout", "flatten", "norm"]


class TableColumn(_Model):
    """One column of a table answer: its key in the reference's rows, and how cells are read."""

    name: str = Field(description="Key in the reference rows; how feedback names the column.")
    kind: TableColumnKind = Field(
        description="layer: the row's key (CONV3-64, maxpool, FC-4096, ...); shape: 224x224x64, "
        "(224, 224, 64), 4096; count: an integer, 1,792 or an expression such as 3*3*3*64+64."
    )
    headers: list[str] = Field(
        default_factory=list,
        description="Words that name this column in a student's header row ('output', 'shape').",
    )


class TableCheck(_CheckBase):
    """A per-row table (the VGG layer table): rows aligned by layer, every wrong cell named.

    Credit is per cell of the required rows (the rows of kinds not in `optional`); the judge,
    `grader.judges.tabular`, states the policy for missing, extra, out-of-order and optional rows.
    """

    kind: Literal["table"]
    expected: RefValue = Field(description="Reference rows: dicts keyed by the column names.")
    columns: list[TableColumn] = Field(min_length=2, description="The first is the layer.")
    optional: list[LayerKind] = Field(
        default_factory=list,
        description="Layer kinds a table may leave out; their rows are graded when present.",
    )

    @model_validator(mode="after")
    def _one_layer_column_first(self) -> TableCheck:
        kinds = [c.kind for c in self.columns]
        if kinds[0] != "layer" or kinds.count("layer") != 1:
            raise ValueError("the first column, and only it, must be of kind 'layer'")
        names = [c.name for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError("column names must be unique")
        return self

    def template_entry(self, problem_id: str, key: str) -> TemplateEntry | None:
        section, _, name = key.rpartition(".")
        columns = ", ".join(c.name for c in self.columns)
        row = ", ".join(_TABLE_EXAMPLE[c.kind] for c in self.columns)
        optional = f" ({', '.join(self.optional)} rows may be left out)" if self.optional else ""
        lines = [
            f"# one row per layer, in order, each [{columns}]{optional}",
            f"# for example [{row}]; shapes as HxWxC, counts as integers",
            f"# {name} = [[{row}]]",
        ]
        return section, [self._heading(problem_id), *lines]


class CustomCheck(_CheckBase):
    """An instructor's plain pytest function in `rubrics/<homework>_checks.py`.

    It asks for the fixtures `submission` (parametrised over students), `reference`,
    `observation` and `script_run`; passing earns `points`, an assertion failure earns nothing
    and its message is the feedback, `raise Partial(points, "why")` earns part of the points and
    `raise Pending("why")` (or `pytest.skip("pending: why")`) leaves the check to a TA
    (`grader.judges.custom`; docs/writing-a-rubric.md).
    """

    kind: Literal["custom"]
    function: str = Field(pattern=r"^check_\w+$", description="Function name, starting check_.")
    template: list[str] = Field(
        default_factory=list,
        description="Commented lines `grade template` prints under [<answer key>]: the keys the "
        "function reads, so students write to its contract.",
    )

    def template_entry(self, problem_id: str, key: str) -> TemplateEntry | None:
        if not self.template:
            return None
        return key, [self._heading(problem_id), *(f"# {line}".rstrip() for line in self.template)]


Check = Annotated[
    NumberCheck
    | ChoiceCheck
    | FormulaCheck
    | ModuleCheck
    | ScriptCheck
    | ManualCheck
    | ValuesCheck
    | CustomCheck
    | TableCheck
    | CompareRunCheck,
    Field(discriminator="kind"),
]

#: The kinds whose answer a student writes down (the sheet, or a writeup's section).
AnswerCheck = NumberCheck | ChoiceCheck | FormulaCheck | TableCheck
#: The kinds whose grading runs student code in the sandbox.
ProbedCheck = ModuleCheck | ScriptCheck


class Problem(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = ""
    points: float = Field(ge=0, description="Must equal the sum of the checks' points.")
    checks: list[Check]

    @model_validator(mode="after")
    def _points_add_up(self) -> Problem:
        total = sum(c.points for c in self.checks)
        if abs(total - self.points) > 1e-9:
            raise ValueError(
                f"checks add up to {_points(total)}, but the problem says {self.points:g}"
            )
        ids = [c.id for c in self.checks]
        if len(ids) != len(set(ids)):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate check id(s) {', '.join(twice)} in problem {self.id}")
        return self

    @model_validator(mode="after")
    def _compared_runs_are_observed(self) -> Problem:
        scripts = {c.id: c for c in self.checks if isinstance(c, ScriptCheck)}
        for check in self.checks:
            if not isinstance(check, CompareRunCheck):
                continue
            script = scripts.get(check.run)
            if script is None:
                raise ValueError(
                    f"{check.id}: run {check.run!r} is not a script check of problem {self.id}"
                )
            observed = set(script.observed_globals)
            for name, quantity in {**check.compare, **check.given}.items():
                unread = [g for g in quantity.globals if g not in observed]
                if unread:
                    raise ValueError(
                        f"{check.id}.{name}: {', '.join(unread)} not observed by {script.id} "
                        "(add them to its globals or reads)"
                    )
        return self


class Rubric(_Model):
    schema_version: int = Field(
        description=f"Must be {SCHEMA_VERSION}; rubrics of other versions need upgrading."
    )
    homework: str = Field(pattern=r"^[a-z0-9_\-]+$")
    title: str
    description: str = ""
    reference: str | None = Field(
        default=None, description="Package under reference/ holding the reference solutions."
    )
    recognise: list[str] = Field(
        default_factory=list,
        description="Names only an answer to this homework contains (identifiers of its "
        "starter, say): with the class and script names its checks ask for, they recognise the "
        "homework of a folder that does not say which it is.",
    )
    problems: list[Problem]
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file it was loaded from (`load_rubric`): where its homework's analyses and custom
        checks are looked up; None for a rubric built in memory."""
        return self._source

    @field_validator("schema_version")
    @classmethod
    def _supported_version(cls, version: int) -> int:
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {version} is not supported; this grader reads version "
                f"{SCHEMA_VERSION}"
            )
        return version

    @model_validator(mode="after")
    def _unique_problems(self) -> Rubric:
        ids = [p.id for p in self.problems]
        if len(ids) != len(set(ids)):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate problem id(s): {', '.join(twice)}")
        return self

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.problems)

    def problem(self, problem_id: str) -> Problem:
        for p in self.problems:
            if p.id == problem_id:
                return p
        raise KeyError(problem_id)


def answer_key(problem: Problem, check: _CheckBase) -> str:
    """The answer-sheet key a check reads ('p2.variance')."""
    return check.answer or f"{problem.id}.{check.id}"


#: libyaml's safe loader where PyYAML was built with it (about 15x faster on a rubric: loading
#: every course's rubrics is on the path of every `grade` and of many tests), else the
#: pure-Python one; both accept the same documents.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_rubric(path: Path, analyses: AnalysisAspects | None = None) -> Rubric:
    """Read and validate a rubric, turning every problem into 'line N: field: reason'.

    `analyses` gives the aspects of the script analyses this rubric may name: with it, an unknown
    analysis or an aspect it does not judge is an error here; without it (listing a catalog,
    printing a template) only the rubric's own structure is validated.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(path, [f"cannot read: {exc.strerror}"]) from exc
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise RubricError(path, [f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    duplicates = _duplicate_ids(node)
    if duplicates:
        raise RubricError(path, duplicates)
    try:
        rubric = Rubric.model_validate(data, context={ANALYSES: analyses})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            line, field = _locate(node, list(err["loc"]))
            where = f"line {line}: " if line else ""
            problems.append(f"{where}{field or '(top level)'}: {err['msg']}")
        raise RubricError(path, problems) from exc
    rubric._source = path
    return rubric


def _duplicate_ids(node: yaml.Node | None) -> list[str]:
    """Problem ids, and check ids within a problem, used twice: each named, at the line of its
    second use, with where it was first used (the models only see the values, not the lines)."""
    found: list[str] = []
    problems = _child(node, "problems")
    if not isinstance(problems, yaml.SequenceNode):
        return found
    found += _repeats(problems, "problems", "problem id(s)", "")
    for i, problem in enumerate(problems.value):
        checks = _child(problem, "checks")
        if isinstance(checks, yaml.SequenceNode):
            pid = _child(problem, "id")
            where = f" in problem {pid.value}" if isinstance(pid, yaml.ScalarNode) else ""
            found += _repeats(checks, f"problems.{i}.checks", "check id(s)", where)
    return found


def _repeats(items: yaml.SequenceNode, field: str, what: str, where: str) -> list[str]:
    first: dict[str, int] = {}
    found = []
    for i, item in enumerate(items.value):
        ident = _child(item, "id")
        if not isinstance(ident, yaml.ScalarNode):
            continue
        line = ident.start_mark.line + 1
        if ident.value in first:
            found.append(
                f"line {line}: {field}.{i}.id: duplicate {what} {ident.value!r}{where} "
                f"(first used at line {first[ident.value]})"
            )
        else:
            first[ident.value] = line
    return found


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if k.value == key), None)


def _locate(node: yaml.Node | None, loc: list[int | str]) -> tuple[int | None, str]:
    """Follow a Pydantic error location through the YAML node tree to a 1-based line.

    Pydantic inserts the discriminator value (`module`, `int_list`) into locations of union
    members; those parts match no YAML key and are skipped, so the field reads as the user wrote it.
    """
    if node is None:
        return None, ".".join(str(p) for p in loc)
    line = node.start_mark.line + 1
    field: list[str] = []
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        if child is None:
            if isinstance(node, yaml.MappingNode) and _is_tag(node, part):
                continue
            field.append(str(part))
            continue
        field.append(str(part))
        node = child
        line = node.start_mark.line + 1
    return line, ".".join(field)


def _is_tag(node: yaml.MappingNode, part: int | str) -> bool:
    return any(k.value == "kind" and v.value == part for k, v in node.value)
