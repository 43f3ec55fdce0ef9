"""The single door to the reference solutions.

Students get the grader without `reference/`, so every use of a reference goes through
`Reference`, and `load_reference` answers `None` when it is not installed: checks that need it are
then skipped ("graded by the course staff") instead of crashing. The reference is trusted code
written by the instructors and runs in the grader's own process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import math
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import torch

from grader.errors import RubricError
from grader.rubric import RefValue, Rubric

DEFAULT_REFERENCE_ROOT = Path(__file__).resolve().parent.parent / "reference"


class Reference:
    """A homework's reference package, with memoised values (references can be slow to compute)."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self._values: dict[str, Any] = {}
        self.memo: dict[str, Any] = {}  # for judges: facts derived from the reference, per run

    def attribute(self, name: str) -> Any:
        try:
            return getattr(self.module, name)
        except AttributeError:
            raise RubricError(
                Path(self.module.__file__ or self.module.__name__),
                [f"the reference has no {name!r}; the rubric refers to it"],
            ) from None

    def instance(self, name: str, *args: Any, double: bool = False, **kwargs: Any) -> Any:
        """A reference class's instance (an `nn.Module`) in its pristine state, to transplant
        weights into.

        Building one draws its default initialisation, which costs more than judging a student
        (24 ms for the 32-path STM layer; a deep copy, 34 ms): each is built once per run and
        reset to its first state (parameters, buffers, no gradients) whenever it is asked for, in
        about a millisecond. The same object comes back each time: a judge uses it until it asks
        again, and changes its tensors in place only (as `transplant_weights` does).
        """
        key = f"module:{name}{args}{sorted(kwargs.items())}{double}"
        if key not in self.memo:
            built = self.attribute(name)(*args, **kwargs)
            built = built.double() if double else built
            tensors = [*built.parameters(), *built.buffers()]
            self.memo[key] = (built, tensors, [t.detach().clone() for t in tensors])
        module, tensors, pristine = self.memo[key]
        with torch.no_grad():
            for tensor, first in zip(tensors, pristine, strict=True):
                tensor.copy_(first)
        for param in module.parameters():
            param.grad = None
        return module

    def missing(self, rubric: Rubric) -> list[str]:
        """What the rubric asks of this reference that it does not have, one line per check:
        a typo in `{ref: ...}` is the instructor's to fix before any student is graded."""
        return [
            f"problem {problem.id}, check {check.id}: the reference has no {name!r}"
            for problem in rubric.problems
            for check in problem.checks
            for name in dict.fromkeys(check.reference_names())
            if not hasattr(self.module, name)
        ]

    def value(self, ref: RefValue) -> Any:
        key = value_key(ref)
        if key not in self._values:
            self._values[key] = self.attribute(ref.ref)(**ref.args)
        return self._values[key]


def value_key(ref: RefValue) -> str:
    """How a `{ref: ...}` value is memoised, and stored in a students' bundle."""
    return f"{ref.ref}{sorted(ref.args.items())}"


#: What a students' run says of a check (or part) it cannot decide: its hidden checks, and what
#: needs more of the reference than the bundle ships. Never a pass, never a zero.
GRADING_TIME = "checked at grading time (not in the students' copy)"


class NotPrecomputed(LookupError):
    """A judge asked the students' bundle for a reference fact it does not ship (reference code,
    an expected value the instructor keeps back): that check is decided at grading time."""


class PrecomputedReference(Reference):
    """The reference door of a students' bundle: facts computed from the reference when the
    bundle was built (`grader.bundle`), and nothing else.

    No reference code is loaded: `attribute` and `instance` raise `NotPrecomputed`, and so does
    `value` for a value the bundle does not hold. The judges' run-wide memo starts with what the
    build recorded (formula samples, parameter counts), keyed as the judges key it, so a judge
    reads it exactly as it would have computed it.
    """

    def __init__(
        self,
        values: dict[str, Any],
        memo: dict[str, Any],
        version: str,
        hidden: dict[str, float] | None = None,
    ) -> None:
        self.module = ModuleType("_precomputed_reference")
        self._values = dict(values)
        self.memo = dict(memo)
        self.version = version
        self.hidden = dict(hidden or {})  # problem id -> points of its hidden checks

    def note(self) -> str:
        """What a student's result says about the bundle it was checked with."""
        said = f"self-check with the students' bundle {self.version}"
        if self.hidden:
            points = sum(self.hidden.values())
            where = ", ".join(f"{p}: {v:g}" for p, v in self.hidden.items())
            said += (
                f"; {points:g} points in checks not shown here ({where}) are checked at "
                "grading time"
            )
        return said

    def attribute(self, name: str) -> Any:
        raise NotPrecomputed(f"the reference's {name!r} is not in the students' bundle")

    def instance(self, name: str, *args: Any, double: bool = False, **kwargs: Any) -> Any:
        raise NotPrecomputed(f"the reference class {name!r} is not in the students' bundle")

    def missing(self, rubric: Rubric) -> list[str]:
        return []

    def value(self, ref: RefValue) -> Any:
        key = value_key(ref)
        if key not in self._values:
            raise NotPrecomputed(f"{ref.ref!r} is not in the students' bundle")
        return self._values[key]


@dataclass(frozen=True)
class SaltedAnswer:
    """An exact number a students' bundle lets students confirm without showing it: the
    SHA-256 of a per-bundle salt and the number's canonical text (as nbgrader's hashed tests).

    It keeps the answer out of plain sight, not out of reach: an integer answer can be found by
    trying them all, so only answers the instructor would let students confirm are made public.
    """

    salt: str
    sha256: str

    @staticmethod
    def canonical(value: float) -> str:
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)

    @classmethod
    def of(cls, value: float, salt: str) -> SaltedAnswer:
        text = f"{salt}:{cls.canonical(value)}".encode()
        return cls(salt, hashlib.sha256(text).hexdigest())

    def matches(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return SaltedAnswer.of(value, self.salt).sha256 == self.sha256


class Fact(SimpleNamespace):
    """A reference result object as a bundle stores it: its fields, nothing else.

    A name it lacks (a property or a method of the reference's class) raises `NotPrecomputed`,
    not `AttributeError`: a judge's `getattr(result, name, None)` must not read "absent" where
    the reference would have answered, so that check waits for grading instead.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotPrecomputed(f"the reference result's {name!r} is not in the students' bundle")


def encode_fact(value: Any) -> Any:
    """A reference fact as JSON: arrays and tensors as tagged lists, a result object (a
    dataclass, a namespace) as its public fields; anything else must already be plain."""
    if isinstance(value, SaltedAnswer):
        return {"__salted__": {"salt": value.salt, "sha256": value.sha256}}
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): encode_fact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_fact(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    fields = getattr(value, "__dict__", None)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if fields is None:
        raise TypeError(f"cannot store a {type(value).__name__} in a students' bundle")
    public = {k: encode_fact(v) for k, v in fields.items() if not k.startswith("_")}
    return {"__object__": public}


def decode_fact(value: Any) -> Any:
    """The inverse of `encode_fact`: arrays back as NumPy arrays, objects as namespaces."""
    if isinstance(value, list):
        return [decode_fact(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return np.asarray(value["__array__"], dtype=value.get("dtype", "float64"))
    if "__salted__" in value:
        return SaltedAnswer(**value["__salted__"])
    if "__object__" in value:
        return Fact(**{k: decode_fact(v) for k, v in value["__object__"].items()})
    return {k: decode_fact(v) for k, v in value.items()}


def precomputed_path(rubric_path: Path) -> Path:
    """Where a students' bundle keeps a homework's precomputed reference: beside its rubric."""
    return rubric_path.with_name(f"{rubric_path.stem}.precomputed.json")


def load_precomputed(rubric_path: Path) -> PrecomputedReference | None:
    """The precomputed reference beside a bundled rubric; None outside a bundle."""
    path = precomputed_path(rubric_path)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    values = {k: decode_fact(v) for k, v in data.get("values", {}).items()}
    memo = {k: decode_fact(v) for k, v in data.get("memo", {}).items()}
    hidden = {str(k): float(v) for k, v in data.get("hidden", {}).items()}
    return PrecomputedReference(values, memo, str(data.get("version", "unknown")), hidden)


def load_reference(rubric: Rubric, root: Path | None = None) -> Reference | None:
    """Import the package `<root>/<rubric.reference>`; None when the reference is not installed.

    `root` is the course's reference folder (`Homework.reference_root`). The package is imported
    by its path under a name of its own (`_reference_<folder>_<package>`), so two courses may
    both have an `hw2` and a course kept outside this repository needs nothing on `sys.path`;
    a reference package imports its own modules relatively (`from .ddescent import ...`).
    """
    if rubric.reference is None:
        return None
    root = (root or DEFAULT_REFERENCE_ROOT).resolve()
    folder = root / rubric.reference
    init = folder / "__init__.py"
    if not init.is_file():
        return None
    name = "_reference_" + "_".join(
        "".join(c if c.isalnum() else "_" for c in part) for part in (root.name, rubric.reference)
    )
    name = f"{name}_{zlib.crc32(str(folder).encode()):08x}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(folder)]
        )
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
    return Reference(module)
