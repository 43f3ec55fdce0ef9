"""Map a student's parameters onto the reference module, so both can be compared on equal weights.

Students name and order their parameters freely (a ModuleList of Sequentials, three ModuleLists,
raw ParameterLists, one stacked tensor). We try a few structural mappings and let the caller keep
one that reproduces the student's outputs. Trying several is safe: if the reference, loaded with
*some* arrangement of the student's own tensors, computes exactly what the student's module
computed on fresh random inputs, then the student's module *is* that computation.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from grader.observations import ParamInfo

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Piece:
    """One distinct student tensor (or one slice of a stacked tensor), named as registered."""

    name: str
    array: np.ndarray

    @property
    def shape(self) -> Shape:
        return tuple(self.array.shape)


RefParams = Sequence[tuple[str, Shape]]
Strategy = Callable[[RefParams, list[Piece]], list[Piece] | None]


def student_pieces(params: Sequence[ParamInfo], arrays: dict[str, np.ndarray]) -> list[Piece]:
    """Distinct tensors in registration order, each under the first name it was registered as."""
    pieces: list[Piece] = []
    seen: set[int] = set()
    for p in params:
        if p.tensor in seen or f"param{p.tensor}" not in arrays:
            continue
        seen.add(p.tensor)
        pieces.append(Piece(p.name, arrays[f"param{p.tensor}"]))
    return pieces


def candidate_assignments(ref: torch.nn.Module, pieces: list[Piece]) -> list[list[Piece]]:
    """Distinct ways of filling the reference's parameters (in its order) with student pieces."""
    ref_params: RefParams = [(n, tuple(p.shape)) for n, p in ref.named_parameters()]
    found: list[list[Piece]] = []
    for pool in (pieces, _unstacked(pieces, {s for _, s in ref_params})):
        for strategy in (by_owner, by_shape_order, by_role_major_shape_order):
            assignment = strategy(ref_params, pool)
            if assignment is not None and not any(_same(assignment, f) for f in found):
                found.append(assignment)
    return found


def transplant_weights(ref: torch.nn.Module, assignment: list[Piece]) -> None:
    """Copy the assigned student arrays into the reference module's parameters, in place."""
    with torch.no_grad():
        for param, piece in zip(ref.parameters(), assignment, strict=True):
            param.copy_(torch.from_numpy(np.ascontiguousarray(piece.array)).to(param.dtype))


def by_owner(ref_params: RefParams, pieces: list[Piece]) -> list[Piece] | None:
    """Match whole submodules (a conv's weight and bias together) by their shapes, in order."""
    ref_units = _units([(n, s) for n, s in ref_params])
    student_units = _units([(p.name, p.shape) for p in pieces])
    by_name = {p.name: p for p in pieces}
    queues: dict[tuple[tuple[str, Shape], ...], deque[str]] = defaultdict(deque)
    for owner, members in student_units.items():
        queues[_signature(members)].append(owner)
    assignment: dict[str, Piece] = {}
    for owner, members in ref_units.items():
        queue = queues.get(_signature(members))
        if not queue:
            return None
        student_owner = queue.popleft()
        for leaf, _ in members:
            full = f"{student_owner}.{leaf}" if student_owner else leaf
            assignment[f"{owner}.{leaf}" if owner else leaf] = by_name[full]
    if any(queues.values()):
        return None
    return [assignment[name] for name, _ in ref_params]


def by_shape_order(ref_params: RefParams, pieces: list[Piece]) -> list[Piece] | None:
    """The k-th student tensor of a shape fills the k-th reference parameter of that shape."""
    queues: dict[Shape, deque[Piece]] = defaultdict(deque)
    for piece in pieces:
        queues[piece.shape].append(piece)
    assignment = []
    for _, shape in ref_params:
        if not queues[shape]:
            return None
        assignment.append(queues[shape].popleft())
    return assignment if not any(queues.values()) else None


def by_role_major_shape_order(ref_params: RefParams, pieces: list[Piece]) -> list[Piece] | None:
    """Like `by_shape_order`, for students who list all first convs, then all second convs, ...

    The reference is enumerated role by role (`paths.#.0.bias` for every path, then the next role),
    which is how ParameterLists or parallel ModuleLists register their tensors.
    """
    roles: dict[str, list[int]] = defaultdict(list)
    for index, (name, _) in enumerate(ref_params):
        roles[re.sub(r"\.\d+(?=\.)", ".#", name, count=1)].append(index)
    order = [i for indices in roles.values() for i in indices]
    assignment = by_shape_order([ref_params[i] for i in order], pieces)
    if assignment is None:
        return None
    result: list[Piece | None] = [None] * len(ref_params)
    for position, index in enumerate(order):
        result[index] = assignment[position]
    return [p for p in result if p is not None]


def _units(named: list[tuple[str, Shape]]) -> dict[str, list[tuple[str, Shape]]]:
    units: dict[str, list[tuple[str, Shape]]] = defaultdict(list)
    for name, shape in named:
        owner, _, leaf = name.rpartition(".")
        units[owner].append((leaf, shape))
    return dict(units)


def _signature(members: list[tuple[str, Shape]]) -> tuple[tuple[str, Shape], ...]:
    return tuple(sorted(members))


def _unstacked(pieces: list[Piece], ref_shapes: set[Shape]) -> list[Piece]:
    """Split a (k, *s) tensor into k pieces when s is a reference shape and (k, *s) is not."""
    out: list[Piece] = []
    for piece in pieces:
        inner = piece.shape[1:]
        if piece.shape not in ref_shapes and inner in ref_shapes and piece.shape:
            out.extend(Piece(f"{piece.name}[{k}]", piece.array[k]) for k in range(piece.shape[0]))
        else:
            out.append(piece)
    return out


def _same(a: list[Piece], b: list[Piece]) -> bool:
    return all(x.name == y.name for x, y in zip(a, b, strict=True))
