"""The single door to the reference solutions.

Students get the grader without `reference/`, so every use of a reference goes through
`Reference`, and `load_reference` answers `None` when it is not installed: checks that need it are
then skipped ("graded by the course staff") instead of crashing. The reference is trusted code
written by the instructors and runs in the grader's own process.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

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
        key = f"{ref.ref}{sorted(ref.args.items())}"
        if key not in self._values:
            self._values[key] = self.attribute(ref.ref)(**ref.args)
        return self._values[key]


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
