"""Tests for grader.reference: the one door to the reference solutions."""

from __future__ import annotations

from pathlib import Path

import torch

from grader.courses import homework_at
from grader.reference import Reference, load_reference
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]


def _hw6() -> Reference:
    hw6 = homework_at(ROOT / "rubrics" / "mfdnn" / "hw6.yaml")
    reference = load_reference(load_rubric(hw6.rubric_path), hw6.reference_root)
    assert reference is not None
    return reference


def test_an_instance_comes_back_pristine_whatever_the_last_judge_did() -> None:
    reference = _hw6()
    first = reference.instance("STMConvLayer", double=True, final_relu=False)
    state = {k: v.clone() for k, v in first.state_dict().items()}
    with torch.no_grad():  # what transplanting a student's weights does
        for param in first.parameters():
            param.fill_(7.0)
    first(torch.ones(1, 256, 3, 3, dtype=torch.float64)).sum().backward()  # and a backward check
    again = reference.instance("STMConvLayer", double=True, final_relu=False)
    assert all(torch.equal(v, state[k]) for k, v in again.state_dict().items())
    assert all(p.grad is None for p in again.parameters())
    assert next(again.parameters()).dtype == torch.float64


def test_instances_differ_by_their_arguments() -> None:
    reference = _hw6()
    plain = reference.instance("STMConvLayer", final_relu=False)
    double = reference.instance("STMConvLayer", double=True, final_relu=False)
    assert next(plain.parameters()).dtype == torch.float32
    assert next(double.parameters()).dtype == torch.float64


def test_no_reference_installed_means_none(tmp_path: Path) -> None:
    """Students get the grader without reference/: checks needing it are then skipped."""
    assert load_reference(load_rubric(ROOT / "rubrics" / "mfdnn" / "hw6.yaml"), tmp_path) is None
