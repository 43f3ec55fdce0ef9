"""Script analyses: how a `script` check's run is judged, one judge per aspect.

A rubric's script check names its analysis (`analysis: training_run`) and gives points to some of
the aspects that analysis judges (`aspects: {runs: 1, loss_decreases: 2}`). The grader holds no
closed list of analyses: a name is looked up among the analyses *registered* for the rubric:

- the grader's standard library, `grader.judges.standard_analyses` (`double_descent`,
  `training_run`, `observe`);
- the homework's own, in its checks file `<homework>_checks.py` beside the rubric (the file that
  holds its custom checks).

An analysis is registered by being a module-level `Analysis` in one of those modules, under the
name the rubric uses; the standard library is registered exactly so. A checks file may not reuse a
standard name. `load_with_analyses` (what grading, `grade check`, the bundle and the autograder
load rubrics with) resolves every script check's analysis and rejects, naming the file and line,
an unknown name, an aspect the analysis does not judge, and a checks file that does not import
(docs/writing-a-rubric.md, "Analyses of your own").

The API an analysis is written against (all in this module):

- `Analysis(aspects={"runs": runs, "fit": judge_fit}, plot=plot_fit, plot_with="figure")`;
- an aspect judge is `judge(check, ran, ctx) -> Verdict`: `check` the rubric's `ScriptCheck` (its
  `reads`, `globals`, `reference`, `reference_args`, `timeout_s`), `ran` the observed run (`Ran`:
  globals, figures, printed output, the crash if any), `ctx` the grading context (`reference_value`
  reads the check's reference value from it);
- a verdict is `(status, message, details, hint, source)`; `passed`, `failed` and `pending` build
  one (`pending` hands the aspect to a TA with the reason, never a zero);
- `runs` is the standard `runs` aspect (ran to the end; crashes explained), for reuse;
- `plot(check, ran, ctx) -> Plot | None` is drawn beside the `plot_with` aspect's verdict;
- `Status`, `Plot` and `Series` are re-exported here, so an analysis imports this module alone.

Judges run in the grader's process on what the sandbox sent back, validated: never on the
student's objects.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
import traceback
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import numpy as np

from grader.ingest.budget import BudgetExceeded
from grader.judges.context import GradingContext, Verdict
from grader.judges.crashes import Locator, describe_crash
from grader.reference import NotPrecomputed
from grader.results import Plot, Series, SourceRef, Status
from grader.rubric import AnalysisAspects, RefValue, Rubric, ScriptCheck, load_rubric
from grader.sandbox.observations import (
    ExceptionInfo,
    FigureInfo,
    ScriptObservation,
    plotted_series,
)

__all__ = [
    "STANDARD_LIBRARY",
    "Analysis",
    "AnalysisError",
    "AspectJudge",
    "Plot",
    "PlotMaker",
    "Ran",
    "Series",
    "Status",
    "Verdict",
    "aspects_of",
    "draw_plot",
    "failed",
    "judge_aspect",
    "load_with_analyses",
    "passed",
    "pending",
    "reference_value",
    "registered",
    "resolve",
    "runs",
]


@dataclass(frozen=True)
class Ran:
    """A script that was observed (finished or not), with its arrays.

    `file` is the script as the sandbox ran it, `obs` what the probe reported (validated), `arrays`
    its arrays by key (`global.<name>`, a figure series' `key`), `where` maps a line of a script
    assembled from a writeup or notebook back to the student's own text (`where.ref(file, line)`
    is a verdict's `source`, `where.name(file)` the name to show).
    """

    file: str
    obs: ScriptObservation
    arrays: dict[str, np.ndarray]
    where: Locator  # maps a script assembled from a writeup/notebook back to the student's text

    @property
    def finished(self) -> bool:
        """The script ran to the end (no exception, no time-out)."""
        return self.obs.error is None

    @property
    def error(self) -> ExceptionInfo | None:
        """What stopped it: type, message, the student's frames (`error.student_frame()`)."""
        return self.obs.error

    @property
    def stdout(self) -> str:
        """What it printed (capped by the probe)."""
        return self.obs.printed.stdout

    @property
    def figures(self) -> list[FigureInfo]:
        """Its figures as they stood before `close()`/`clf()`: axes, labels, titles, series."""
        return list(self.obs.figures)

    def global_value(self, name: str) -> np.ndarray | None:
        """A global named in the check's `globals` or `reads`, as an array (None: undefined, or
        not numbers; the globals stand as they were at the end, or at the crash)."""
        info = self.obs.global_info(name)
        array = self.arrays.get(f"global.{name}")
        if info is None or not info.defined or array is None:
            return None
        return array if info.shape is None or list(array.shape) == info.shape else None

    def series(self) -> list[tuple[str, np.ndarray]]:
        """Every curve of every figure: (its label, its points as an (n, 2) array)."""
        return plotted_series(self.obs.figures, self.arrays)


AspectJudge = Callable[[ScriptCheck, Ran, GradingContext], Verdict]
PlotMaker = Callable[[ScriptCheck, Ran, GradingContext], Plot | None]
_ASPECT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Analysis:
    """How one kind of script is judged: a judge per aspect, and the plot shown with one of them.

    The aspects' names are the ones a rubric gives points to; `plot`, if any, is drawn beside the
    verdict of the `plot_with` aspect.
    """

    aspects: Mapping[str, AspectJudge]
    plot: PlotMaker | None = None
    plot_with: str = "figure"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.aspects:
            raise ValueError("an analysis judges at least one aspect")
        for name, judge in self.aspects.items():
            if not isinstance(name, str) or not _ASPECT.match(name):
                raise ValueError(f"aspect name {name!r} is not an identifier")
            if not callable(judge):
                raise TypeError(f"the judge of aspect {name!r} is not a function")
        if self.plot is not None and self.plot_with not in self.aspects:
            raise ValueError(
                f"plot_with {self.plot_with!r} is not one of its aspects "
                f"({', '.join(self.aspects)})"
            )


def passed(message: str, details: list[str] | None = None) -> Verdict:
    """The aspect is right: its points."""
    return Status.PASSED, message, list(details or []), None, None


def failed(
    message: str,
    details: list[str] | None = None,
    hint: str | None = None,
    source: SourceRef | None = None,
) -> Verdict:
    """The aspect is wrong, for a reason the student can act on (`hint`: what to try)."""
    return Status.FAILED, message, list(details or []), hint, source


def pending(
    reason: str, details: list[str] | None = None, source: SourceRef | None = None
) -> Verdict:
    """The grader cannot decide: a TA does, with the reason and an excerpt (`details`)."""
    return Status.PENDING, f"for a TA: {reason}", list(details or []), None, source


def reference_value(check: ScriptCheck, ctx: GradingContext) -> Any:
    """The check's reference value (`reference` called with `reference_args`); None when the
    reference is not installed (the aspect is then for the staff: `Status.SKIPPED`)."""
    if ctx.reference is None:
        return None
    return ctx.reference.value(RefValue(ref=check.reference, args=check.reference_args))


# --- the standard `runs` aspect -------------------------------------------------------------
def runs(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Verdict:
    """The `runs` aspect every analysis may judge: the script ran to the end; a crash is an
    error with the student's line and a hint, a path of the student's own machine is for a TA."""
    error = ran.obs.error
    if error is None:
        return (
            Status.PASSED,
            f"{ran.where.name(ran.file)} ran to the end in {ran.obs.run_seconds:.0f} s",
            [],
            None,
            None,
        )
    crash = describe_crash(error, ran.where, ran.where.ref(ran.file))
    path = _path_of_their_machine(error)
    if path is not None:
        message = (
            f"for a TA: {ran.where.name(ran.file)} stopped{crash.where} on {path}, a path "
            "that exists on the student's machine, not on the grading machine"
        )
        return Status.PENDING, message, crash.details, None, crash.source
    hint = crash.hint
    if error.type == "ProbeTimeout":
        hint = f"the script did not finish within {check.timeout_s:g} s"
    message = f"{error.type}{crash.where}: {crash.first_line}"
    return Status.ERROR, message, crash.details, hint, crash.source


_FILE_ERRORS = ("FileNotFoundError", "PermissionError", "NotADirectoryError", "OSError")
_QUOTED_PATH = re.compile(r"""'((?:/|~|[A-Za-z]:[\\/])[^']*)'""")


def _path_of_their_machine(error: Any) -> str | None:
    """The path a script could not open when it is one of the student's machine: an absolute
    path (`plt.savefig('/Users/me/hw6/dd.png')`) or any path a `savefig` writes (a folder the
    student had, e.g. `figures/`). Other missing files (data the submission lacks) stay errors."""
    if error.type not in _FILE_ERRORS:
        return None
    found = re.search(r"""'([^']+)'""", error.message)
    if found is None:
        return None
    frame = error.student_frame()
    saving = frame is not None and "savefig" in frame.code
    absolute = _QUOTED_PATH.search(error.message) is not None
    return f"'{found.group(1)}'" if saving or absolute else None


# --- judging with an analysis ---------------------------------------------------------------
def judge_aspect(
    name: str, analysis: Analysis, aspect: str, check: ScriptCheck, ran: Ran, ctx: GradingContext
) -> Verdict:
    """One aspect's verdict by analysis `name`.

    The grader's own judges are called as they are: their exception is a grader bug and says so.
    A course's judge that raises, or returns something other than a verdict, decides nothing: the
    aspect goes to a TA with why, and the course staff learn that their analysis needs fixing.
    """
    judge = analysis.aspects[aspect]
    if standard().get(name) is analysis:
        return judge(check, ran, ctx)
    try:
        verdict = judge(check, ran, ctx)
    except (BudgetExceeded, NotPrecomputed):  # the student's budget, the bundle: as for any judge
        raise
    except Exception as exc:  # the course's code: its mistake must not cost the student
        return pending(
            f"the course's analysis {name} could not judge {aspect} "
            f"({type(exc).__name__}: {_capped(str(exc))}); please tell the course staff"
        )
    if not _is_verdict(verdict):
        return pending(
            f"the course's analysis {name} gave no verdict on {aspect} (it returned "
            f"{_capped(repr(verdict), 100)}); please tell the course staff"
        )
    return verdict


def draw_plot(
    name: str, analysis: Analysis, check: ScriptCheck, ran: Ran, ctx: GradingContext
) -> Plot | None:
    """The analysis' plot; a course's plot that fails is left out (it never changes a verdict)."""
    if analysis.plot is None:
        return None
    if standard().get(name) is analysis:
        return analysis.plot(check, ran, ctx)
    try:
        plot = analysis.plot(check, ran, ctx)
    except (BudgetExceeded, NotPrecomputed):
        raise
    except Exception:
        return None
    return plot if isinstance(plot, Plot) else None


def _is_verdict(verdict: object) -> bool:
    if not isinstance(verdict, tuple) or len(verdict) != 5:
        return False
    status, message, details, hint, source = verdict
    return (
        isinstance(status, Status)
        and isinstance(message, str)
        and isinstance(details, list)
        and all(isinstance(d, str) for d in details)
        and (hint is None or isinstance(hint, str))
        and (source is None or isinstance(source, SourceRef))
    )


def _capped(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}..."


# --- the registry ---------------------------------------------------------------------------
#: The grader's own analyses, registered as a course's are: module-level `Analysis` objects.
STANDARD_LIBRARY = "grader.judges.standard_analyses"


class AnalysisError(Exception):
    """A rubric names an analysis that cannot be used: the message says which file and why."""


def analyses_in(module: ModuleType) -> dict[str, Analysis]:
    """The analyses a module registers: its module-level `Analysis` objects, by name."""
    return {name: value for name, value in vars(module).items() if isinstance(value, Analysis)}


@functools.cache
def standard() -> Mapping[str, Analysis]:
    """The grader's standard library of analyses (read once: it is looked up per aspect)."""
    return MappingProxyType(analyses_in(importlib.import_module(STANDARD_LIBRARY)))


def checks_file(rubric_path: Path) -> Path:
    """Where a homework's own analyses live: its checks file, beside the rubric."""
    return rubric_path.with_name(f"{rubric_path.stem}_checks.py")


_LOADED: dict[tuple[str, int, int], dict[str, Analysis]] = {}


def course_analyses(path: Path) -> dict[str, Analysis]:
    """The analyses a homework's checks file registers (none when there is no such file).

    The file is imported by its path under a name of its own (never as `hw7_checks`, the name
    pytest gives it when it collects the custom checks), once per version of the file.
    """
    try:
        stat = path.stat()
    except OSError:
        return {}
    resolved = path.resolve()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        _LOADED[key] = _import_analyses(resolved)
    return _LOADED[key]


def _import_analyses(path: Path) -> dict[str, Analysis]:
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    name = f"_analyses_{stem}_{zlib.crc32(str(path).encode()):08x}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AnalysisError(f"{path.name} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses in the file look their module up there
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # an instructor's file: any error is theirs to see
        sys.modules.pop(name, None)
        raise AnalysisError(f"{path.name} does not import: {_why(exc, path)}") from exc
    found = analyses_in(module)
    library = standard()
    for alias, analysis in found.items():
        if alias in library and library[alias] is not analysis:
            raise AnalysisError(
                f"{path.name} defines an analysis {alias!r}, the name of one of the grader's: "
                "rename it"
            )
        for aspect, judge in analysis.aspects.items():
            if getattr(judge, "__name__", "").startswith("check_"):
                raise AnalysisError(
                    f"{path.name}: the judge of aspect {aspect!r} of analysis {alias!r} is named "
                    f"{judge.__name__}: pytest would collect it as a custom check; rename it"
                )
    return {alias: a for alias, a in found.items() if library.get(alias) is not a}


def _why(exc: BaseException, path: Path) -> str:
    """The error and the line of the file it came from."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    where = f" (line {line})" if line else ""
    return f"{type(exc).__name__}: {_capped(str(exc))}{where}"


def registered(rubric_path: Path | None) -> dict[str, Analysis]:
    """Every analysis a rubric may name: the standard library, then its homework's own."""
    found = dict(standard())
    if rubric_path is not None:
        found.update(course_analyses(checks_file(rubric_path)))
    return found


def aspects_of(rubric_path: Path | None) -> AnalysisAspects:
    """What `load_rubric` needs to validate a rubric's script checks against its analyses."""

    def aspects(name: str) -> tuple[str, ...]:
        try:
            return tuple(resolve(name, rubric_path).aspects)
        except AnalysisError as exc:
            raise ValueError(str(exc)) from None

    return aspects


def load_with_analyses(path: Path) -> Rubric:
    """Load a rubric to grade with (or check): every script check's analysis resolved, among the
    grader's and the homework's own, and its aspects checked (RubricError names file and line)."""
    return load_rubric(path, aspects_of(path))


def resolve(name: str, rubric_path: Path | None) -> Analysis:
    """The analysis a rubric names: a standard one without reading the checks file, else the
    homework's own (AnalysisError: no such analysis, or the checks file does not import)."""
    library = standard()
    if name in library:
        return library[name]
    own = course_analyses(checks_file(rubric_path)) if rubric_path is not None else {}
    if name in own:
        return own[name]
    known = f"the grader's are {', '.join(sorted(library))}"
    if rubric_path is not None:
        file = checks_file(rubric_path)
        theirs = ", ".join(sorted(own)) or "none"
        known += f"; {file.name} defines {theirs}" if file.is_file() else f" (no {file.name})"
    raise AnalysisError(f"no analysis {name!r}: {known}")
