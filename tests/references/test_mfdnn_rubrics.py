"""The mfdnn rubrics against their references: every name a rubric refers to resolves.

A rubric names reference functions (`ref:`), classes (module checks, with their variants'
arguments), script references and custom check functions; a typo in any of them is only found
when a class is graded. Here each is looked up and called (or built) once.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from grader.rubric import CustomCheck, ModuleCheck, NumberCheck, RefValue, ScriptCheck, load_rubric

COURSE = Path(__file__).resolve().parents[2] / "rubrics" / "mfdnn"
RUBRICS = sorted(COURSE.glob("*.yaml"))


def test_the_course_has_its_homeworks() -> None:
    assert [p.stem for p in RUBRICS] == ["hw2", "hw3", "hw4"]


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.stem)
def test_every_reference_name_resolves(path: Path) -> None:
    rubric = load_rubric(path)
    assert rubric.homework == path.stem and rubric.reference == f"mfdnn.{path.stem}"
    reference = importlib.import_module(f"reference.{rubric.reference}")
    checks_file = path.with_name(f"{path.stem}_checks.py")
    for problem in rubric.problems:
        for check in problem.checks:
            if isinstance(check, NumberCheck) and isinstance(check.expected, RefValue):
                value = getattr(reference, check.expected.ref)(**check.expected.args)
                assert isinstance(value, int | float), (problem.id, check.id)
            elif isinstance(check, ModuleCheck):
                for variant in check.variants:
                    module = getattr(reference, check.reference)(*check.init_args, **variant.args)
                    for shape, out in zip(check.inputs, check.output_shapes, strict=True):
                        assert list(module(torch.randn(*shape)).shape) == out
            elif isinstance(check, ScriptCheck):
                assert callable(getattr(reference, check.reference))
            elif isinstance(check, CustomCheck):
                spec = importlib.util.spec_from_file_location(f"mfdnn_{path.stem}", checks_file)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
                assert callable(getattr(module, check.function)), check.function
